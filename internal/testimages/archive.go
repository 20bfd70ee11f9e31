package testimages

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// WriteArchive writes the named images (all of them if none are named) to
// path as one docker-archive tarball, "docker save" style, for air-gapped
// import tests. Each image is tagged with the name as given, e.g.
// "busybox:latest", which importers normalize to docker.io/library/busybox.
func WriteArchive(t testing.TB, path string, names ...string) {
	t.Helper()
	images := Build(t)
	if len(names) == 0 {
		names = Names()
	}
	refs := map[name.Reference]v1.Image{}
	for _, n := range names {
		img, ok := images[n]
		if !ok {
			t.Fatalf("no test image %q (have %v)", n, Names())
		}
		ref, err := name.NewTag(n)
		if err != nil {
			t.Fatalf("test image name %q: %v", n, err)
		}
		refs[ref] = img
	}
	if err := tarball.MultiRefWriteToFile(path, refs); err != nil {
		t.Fatalf("write image archive %s: %v", path, err)
	}
}
