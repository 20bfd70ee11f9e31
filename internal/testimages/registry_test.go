package testimages

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestStartRegistryServesEveryImageAtItsDockerHubPath(t *testing.T) {
	hostport, yaml := StartRegistry(t)
	want := "mirrors:\n  docker.io:\n    endpoint:\n      - \"http://" + hostport + "\"\n"
	if yaml != want {
		t.Errorf("registries.yaml:\n%s\nwant:\n%s", yaml, want)
	}
	paths := map[string]string{
		"busybox:latest": "library/busybox:latest", "busybox:1.36": "library/busybox:1.36",
		"busybox:1.37": "library/busybox:1.37", "nginx:alpine": "library/nginx:alpine",
		"nginx:1.27": "library/nginx:1.27", "polinux/stress:latest": "polinux/stress:latest",
		"orca/testapp:latest": "orca/testapp:latest", "nonroot:latest": "library/nonroot:latest",
		"rootuser:latest": "library/rootuser:latest",
	}
	platform := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	for n, img := range Build(t) {
		ref, err := name.ParseReference(hostport + "/" + paths[n])
		if err != nil {
			t.Fatal(err)
		}
		pulled, err := remote.Image(ref, remote.WithPlatform(platform), remote.WithContext(t.Context()))
		if err != nil {
			t.Errorf("pull %s: %v", ref, err)
			continue
		}
		if got, want := digest(t, pulled), digest(t, img); got != want {
			t.Errorf("%s: pulled digest %s, built %s", ref, got, want)
		}
		// Layers must be fetchable too, not only the manifest.
		layers, err := pulled.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range layers {
			rc, err := l.Compressed()
			if err != nil {
				t.Fatalf("%s: layer: %v", ref, err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				t.Errorf("%s: read layer: %v", ref, err)
			}
			rc.Close()
		}
	}
}

func TestRegistryServesOfficialImagesAsIndexes(t *testing.T) {
	hostport, _ := StartRegistry(t)
	for repo, wantIndex := range map[string]bool{
		"library/busybox:latest": true, "library/nginx:alpine": true,
		"polinux/stress:latest": false, "orca/testapp:latest": false,
	} {
		ref, err := name.ParseReference(hostport + "/" + repo)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Get(ref, remote.WithContext(t.Context()))
		if err != nil {
			t.Fatal(err)
		}
		want := types.OCIManifestSchema1
		if wantIndex {
			want = types.OCIImageIndex
		}
		if desc.MediaType != want {
			t.Errorf("%s served as %s, want %s", repo, desc.MediaType, want)
		}
	}
}

func TestWriteArchiveWritesADockerArchiveOfTheNamedImages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "images.tar")
	WriteArchive(t, path, Busybox, Nginx)

	manifest := readArchiveManifest(t, path)
	var tags []string
	for _, m := range manifest {
		tags = append(tags, m.RepoTags...)
	}
	if diff := cmp.Diff([]string{"busybox:latest", "nginx:alpine"}, tags); diff != "" {
		t.Errorf("RepoTags (-want +got):\n%s", diff)
	}
	imgs := Build(t)
	for _, n := range []string{Busybox, Nginx} {
		tag, err := name.NewTag(n)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(path, &tag)
		if err != nil {
			t.Fatalf("%s from archive: %v", n, err)
		}
		got, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		want, err := imgs[n].ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: archive config %s, built %s", n, got, want)
		}
	}
}

func readArchiveManifest(t *testing.T, path string) tarball.Manifest {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no manifest.json in %s: %v", path, err)
		}
		if hdr.Name == "manifest.json" {
			var m tarball.Manifest
			if err := json.NewDecoder(tr).Decode(&m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
}
