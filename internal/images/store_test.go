package images

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestRestartedStoreFindsImagesByEveryName(t *testing.T) {
	requireRoot(t)
	host := newRegistry(t, nil)
	img := newImage(t, "persist", newLayer(t, file("p", "p")))
	digest := push(t, host+"/library/app:v1", img)
	root := t.TempDir()
	pulled, _, err := newTestStore(t, root, RegistryConfig{}).Pull(context.Background(), host+"/library/app:v1", nil)
	if err != nil {
		t.Fatal(err)
	}

	s := newTestStore(t, root, RegistryConfig{}) // a restarted agent
	id := configDigest(t, img)
	for _, ref := range []string{
		host + "/library/app:v1",
		host + "/library/app@" + digest.String(),
		id,
		strings.TrimPrefix(id, "sha256:"),
		strings.TrimPrefix(id, "sha256:")[:12],
	} {
		got, err := s.Get(ref)
		if err != nil {
			t.Errorf("Get(%q): %v", ref, err)
			continue
		}
		if got.ID != id || len(got.Layers) != 1 || got.Layers[0] != pulled.Layers[0] {
			t.Errorf("Get(%q) = %+v", ref, got)
		}
	}
	list, err := s.List()
	if err != nil || len(list) != 1 || list[0].Name != host+"/library/app:v1" {
		t.Errorf("List = %+v, %v", list, err)
	}
	if _, err := os.Stat(list[0].Layers[0] + "/p"); err != nil {
		t.Errorf("layer content after restart: %v", err)
	}
}

func TestGetUnknownImageIsErrNotFound(t *testing.T) {
	s := newTestStore(t, "", RegistryConfig{})
	_, err := s.Get("busybox")
	if !errors.Is(err, ErrNotFound) || err.Error() != `image "busybox": not found` {
		t.Errorf("err = %v", err)
	}
}

func TestRemoveDeletesNamesAndOnlyUnsharedLayers(t *testing.T) {
	requireRoot(t)
	host := newRegistry(t, nil)
	shared := newLayer(t, file("shared", "s"))
	push(t, host+"/a:v1", newImage(t, "a", shared, newLayer(t, file("a", "a"))))
	push(t, host+"/b:v1", newImage(t, "b", shared))
	s := newTestStore(t, "", RegistryConfig{})
	a, _, err := s.Pull(context.Background(), host+"/a:v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := s.Pull(context.Background(), host+"/b:v1", nil)
	if err != nil {
		t.Fatal(err)
	}

	if err := s.Remove(host + "/a:v1"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	for _, ref := range []string{host + "/a:v1", a.RepoDigest, a.ID} {
		if _, err := s.Get(ref); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) after Remove: %v, want ErrNotFound", ref, err)
		}
	}
	if _, err := os.Stat(a.Layers[1]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a's own layer survived: %v", err)
	}
	if _, err := os.Stat(b.Layers[0]); err != nil {
		t.Errorf("shared layer was removed: %v", err)
	}
	if err := s.Remove(host + "/a:v1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove: %v, want ErrNotFound", err)
	}
	if tmp := tmpEntries(t, s); len(tmp) != 0 {
		t.Errorf("tmp/ left behind: %q", tmp)
	}
}

func TestRetaggedNameMovesToTheNewImage(t *testing.T) {
	requireRoot(t)
	host := newRegistry(t, nil)
	old := newImage(t, "old", newLayer(t, file("v", "1")))
	push(t, host+"/app:latest", old)
	s := newTestStore(t, "", RegistryConfig{})
	if _, _, err := s.Pull(context.Background(), host+"/app:latest", nil); err != nil {
		t.Fatal(err)
	}
	newer := newImage(t, "new", newLayer(t, file("v", "2")))
	push(t, host+"/app:latest", newer)
	if _, _, err := s.Pull(context.Background(), host+"/app:latest", nil); err != nil {
		t.Fatal(err)
	}

	got, err := s.Get(host + "/app:latest")
	if err != nil || got.ID != configDigest(t, newer) {
		t.Fatalf("Get = %v, %v; want the new image", got, err)
	}
	// The old image stays (a running container may use it), untagged but
	// still known by its repo digest, until the kubelet's GC removes it.
	prev, err := s.Get(configDigest(t, old))
	if err != nil || len(prev.Names) != 0 || len(prev.RepoDigests) != 1 {
		t.Errorf("old image = %+v, %v", prev, err)
	}
}
