package images

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPullByTagUnpacksLayersAndReportsConfig(t *testing.T) {
	requireRoot(t)
	host := newRegistry(t, nil)
	img := newImage(t, "echo hi",
		newLayer(t, dir("etc/"), file("etc/hostname", "base\n")),
		newLayer(t, file("etc/motd", "hello\n")))
	digest := push(t, host+"/team/app:v1", img)
	s := newTestStore(t, "", RegistryConfig{})

	got, stats, err := s.Pull(context.Background(), host+"/team/app:v1", nil)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if want := host + "/team/app:v1"; got.Name != want || !cmp.Equal(got.Names, []string{want}) {
		t.Errorf("Name %q Names %q, want %q", got.Name, got.Names, want)
	}
	if want := host + "/team/app@" + digest.String(); got.RepoDigest != want {
		t.Errorf("RepoDigest = %q, want %q", got.RepoDigest, want)
	}
	if want := configDigest(t, img); got.ID != want {
		t.Errorf("ID = %q, want config digest %q", got.ID, want)
	}
	if len(got.Layers) != 2 {
		t.Fatalf("Layers = %q, want 2", got.Layers)
	}
	if c := readFileString(t, filepath.Join(got.Layers[0], "etc/hostname")); c != "base\n" {
		t.Errorf("lowest layer etc/hostname = %q", c)
	}
	if c := readFileString(t, filepath.Join(got.Layers[1], "etc/motd")); c != "hello\n" {
		t.Errorf("top layer etc/motd = %q", c)
	}
	wantCfg := ImageConfig{
		Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"echo hi"}, Env: []string{"PATH=/usr/bin:/bin"},
		WorkingDir: "/srv", User: "1000:1000", ExposedPorts: []string{"53/udp", "8080/tcp"},
		StopSignal: "SIGQUIT", Labels: map[string]string{"app": "test"},
	}
	if diff := cmp.Diff(wantCfg, got.Config); diff != "" {
		t.Errorf("Config (-want +got):\n%s", diff)
	}
	if stats.Bytes <= 0 || stats.Duration <= 0 {
		t.Errorf("stats = %+v, want bytes and duration", stats)
	}
	if got.Size <= 0 {
		t.Errorf("Size = %d", got.Size)
	}
	if tmp := tmpEntries(t, s); len(tmp) != 0 {
		t.Errorf("tmp/ left behind: %q", tmp)
	}
}

func TestPullByDigestFindsSameImageAndRecordsRepoDigest(t *testing.T) {
	requireRoot(t)
	host := newRegistry(t, nil)
	img := newImage(t, "by digest", newLayer(t, file("a", "a")))
	digest := push(t, host+"/app:v1", img)
	s := newTestStore(t, "", RegistryConfig{})

	ref := host + "/app@" + digest.String()
	got, _, err := s.Pull(context.Background(), ref, nil)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if got.Name != ref || got.RepoDigest != ref || len(got.Names) != 0 {
		t.Errorf("Name %q RepoDigest %q Names %q, want digest name only", got.Name, got.RepoDigest, got.Names)
	}
	if byDigest, err := s.Get(ref); err != nil || byDigest.ID != configDigest(t, img) {
		t.Errorf("Get(%s) = %v, %v", ref, byDigest, err)
	}
	if _, err := s.Get(host + "/app:v1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get by tag after digest pull: err = %v, want ErrNotFound (the tag was never pulled)", err)
	}
}

func TestPullMultiArchIndexPicksLinuxAmd64(t *testing.T) {
	requireRoot(t)
	host := newRegistry(t, nil)
	arm := newImage(t, "arm", newLayer(t, file("arch", "arm64")))
	amd := newImage(t, "amd", newLayer(t, file("arch", "amd64")))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	ref, _ := name.ParseReference(host + "/multi:latest")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	s := newTestStore(t, "", RegistryConfig{})

	got, _, err := s.Pull(context.Background(), host+"/multi", nil)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if got.ID != configDigest(t, amd) {
		t.Errorf("ID = %s, want the amd64 image %s", got.ID, configDigest(t, amd))
	}
	if c := readFileString(t, filepath.Join(got.Layers[0], "arch")); c != "amd64" {
		t.Errorf("unpacked arch file = %q", c)
	}
	// Like containerd, the repo digest is the index digest: what a user
	// pulled, and what pulls the same thing again on any platform.
	if want := host + "/multi@" + idxDigest.String(); got.RepoDigest != want {
		t.Errorf("RepoDigest = %q, want %q", got.RepoDigest, want)
	}
}

func TestPullIndexWithoutAmd64IsNotFoundNamingPlatforms(t *testing.T) {
	requireRoot(t)
	host := newRegistry(t, nil)
	arm := newImage(t, "arm", newLayer(t, file("arch", "arm64")))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	ref, _ := name.ParseReference(host + "/armonly:latest")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	s := newTestStore(t, "", RegistryConfig{})

	_, _, err := s.Pull(context.Background(), host+"/armonly", nil)
	want := fmt.Sprintf("%s/armonly:latest: not found: no matching platform: index %s has no linux/amd64 image (it has linux/arm64)", host, idxDigest)
	if !errors.Is(err, ErrNotFound) || err.Error() != want {
		t.Errorf("err = %v\nwant %s (wrapping ErrNotFound)", err, want)
	}
}

func TestPullUnknownTagIsErrNotFoundWithRegistryMessage(t *testing.T) {
	host := newRegistry(t, nil)
	push(t, host+"/x/y:v1", newImage(t, "v1", newLayer(t, file("a", "a"))))
	s := newTestStore(t, "", RegistryConfig{})

	_, _, err := s.Pull(context.Background(), host+"/x/y:v99", nil)
	want := fmt.Sprintf("%s/x/y:v99: not found: GET http://%s/v2/x/y/manifests/v99: MANIFEST_UNKNOWN: Unknown manifest", host, host)
	if !errors.Is(err, ErrNotFound) || err.Error() != want {
		t.Errorf("err = %v\nwant %s (wrapping ErrNotFound)", err, want)
	}
}

func TestPullUnreachableRegistryIsErrRegistryUnavailable(t *testing.T) {
	s := newTestStore(t, "", RegistryConfig{})
	_, _, err := s.Pull(context.Background(), "127.0.0.1:1/app:v1", nil)
	if !errors.Is(err, ErrRegistryUnavailable) {
		t.Fatalf("err = %v, want ErrRegistryUnavailable", err)
	}
	t.Logf("message: %v", err)
}

// basicAuth answers like a registry that wants a login.
func basicAuth(user, pass string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestPullFromRegistryRequiringAuth(t *testing.T) {
	requireRoot(t)
	img := newImage(t, "secret", newLayer(t, file("s", "s")))
	digest, _ := img.Digest()
	locked := newRegistry(t, basicAuth("alice", "s3cret"))
	lockedRef, _ := name.ParseReference(locked + "/private/app:v1")
	if err := remote.Write(lockedRef, img, remote.WithAuth(&authn.Basic{Username: "alice", Password: "s3cret"})); err != nil {
		t.Fatal(err)
	}
	ref := locked + "/private/app:v1"

	t.Run("without credentials", func(t *testing.T) {
		s := newTestStore(t, "", RegistryConfig{})
		_, _, err := s.Pull(context.Background(), ref, nil)
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
		want := fmt.Sprintf("%s: unauthorized: GET http://%s/v2/private/app/manifests/v1: UNAUTHORIZED: authentication required", ref, locked)
		if err.Error() != want {
			t.Errorf("err = %v\nwant %s", err, want)
		}
	})
	t.Run("with wrong password", func(t *testing.T) {
		creds, err := CredentialsFromDockerConfigJSON([]byte(fmt.Sprintf(`{"auths":{%q:{"username":"alice","password":"nope"}}}`, locked)))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = newTestStore(t, "", RegistryConfig{}).Pull(context.Background(), ref, creds)
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
	})
	t.Run("with pull secret", func(t *testing.T) {
		secret := fmt.Sprintf(`{"auths":{"https://%s/v1/":{"auth":"YWxpY2U6czNjcmV0"}}}`, locked) // alice:s3cret
		creds, err := CredentialsFromDockerConfigJSON([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := newTestStore(t, "", RegistryConfig{}).Pull(context.Background(), ref, creds)
		if err != nil {
			t.Fatalf("Pull: %v", err)
		}
		if want := locked + "/private/app@" + digest.String(); got.RepoDigest != want {
			t.Errorf("RepoDigest = %q, want %q", got.RepoDigest, want)
		}
	})
	t.Run("with registries.yaml auth", func(t *testing.T) {
		regs := RegistryConfig{Configs: map[string]RegistryHostConfig{locked: {Auth: &RegistryAuth{Username: "alice", Password: "s3cret"}}}}
		if _, _, err := newTestStore(t, "", regs).Pull(context.Background(), ref, nil); err != nil {
			t.Fatalf("Pull: %v", err)
		}
	})
}

func TestConcurrentPullsOfImagesSharingALayerUnpackItOnce(t *testing.T) {
	requireRoot(t)
	host := newRegistry(t, nil)
	shared := newLayer(t, dir("usr/"), file("usr/shared", "shared bytes"))
	a := newImage(t, "a", shared, newLayer(t, file("a", "only in a")))
	b := newImage(t, "b", shared, newLayer(t, file("b", "only in b")))
	push(t, host+"/a:v1", a)
	push(t, host+"/b:v1", b)
	s := newTestStore(t, "", RegistryConfig{})

	var wg sync.WaitGroup
	imgs := make([]*Image, 2)
	stats := make([]PullStats, 2)
	errs := make([]error, 2)
	for i, ref := range []string{host + "/a:v1", host + "/b:v1"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			imgs[i], stats[i], errs[i] = s.Pull(context.Background(), ref, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("pull %d: %v", i, err)
		}
	}
	if imgs[0].Layers[0] != imgs[1].Layers[0] {
		t.Errorf("shared layer dirs differ: %s vs %s", imgs[0].Layers[0], imgs[1].Layers[0])
	}
	if got := layerDirs(t, s); len(got) != 3 {
		t.Errorf("layer dirs = %q, want 3 (one shared + one each)", got)
	}
	// Exactly one of the pulls downloaded the shared layer.
	sharedSize, _ := shared.Size()
	var total int64
	for _, img := range []v1.Image{a, b} {
		m, _ := img.RawManifest()
		c, _ := img.RawConfigFile()
		ls, _ := img.Layers()
		top, _ := ls[1].Size()
		total += int64(len(m)+len(c)) + top
	}
	if got := stats[0].Bytes + stats[1].Bytes; got != total+sharedSize {
		t.Errorf("bytes fetched = %d, want %d (shared layer once)", got, total+sharedSize)
	}
	if _, err := os.Stat(filepath.Join(imgs[0].Layers[0], "usr/shared")); err != nil {
		t.Errorf("shared layer content: %v", err)
	}
}

func TestPullWithCanceledContextStopsWithoutTryingOtherEndpoints(t *testing.T) {
	var hits atomic.Int32
	host := newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			next.ServeHTTP(w, r)
		})
	})
	regs := RegistryConfig{Mirrors: map[string]Mirror{"*": {Endpoints: []string{"http://127.0.0.1:1", "http://" + host}}}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := newTestStore(t, "", regs).Pull(ctx, "quay.io/team/app:v1", nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if hits.Load() != 0 {
		t.Errorf("a later endpoint was tried after cancellation")
	}
}
