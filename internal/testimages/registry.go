package testimages

import (
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// StartRegistry serves every test image from go-containerregistry's
// in-memory registry on 127.0.0.1 (a free port) until the test ends. Images
// sit at Docker Hub's repository paths (library/busybox, library/nginx,
// polinux/stress, orca/testapp, library/nonroot, library/rootuser), so a
// docker.io mirror pointing at the registry serves the names users write.
// busybox and nginx are served as image indexes with one linux manifest,
// as Docker Hub serves official images; the others as plain manifests.
//
// It returns the registry's host:port and a k3s-style registries.yaml
// naming it as the docker.io mirror.
func StartRegistry(t testing.TB) (hostport string, registriesYAML string) {
	t.Helper()
	s, err := built()
	if err != nil {
		t.Fatalf("build test images: %v", err)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	hostport = strings.TrimPrefix(srv.URL, "http://")

	todo := map[name.Reference]remote.Taggable{}
	for n, img := range s.images {
		ref, err := mirrorRef(hostport, n)
		if err != nil {
			t.Fatal(err)
		}
		if s.indexed[n] {
			todo[ref] = singleIndex(img)
		} else {
			todo[ref] = img
		}
	}
	if err := remote.MultiWrite(todo, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("push test images to %s: %v", hostport, err)
	}
	return hostport, fmt.Sprintf("mirrors:\n  docker.io:\n    endpoint:\n      - \"http://%s\"\n", hostport)
}

// mirrorRef is where name lives in a docker.io mirror at hostport:
// "busybox:latest" -> hostport/library/busybox:latest.
func mirrorRef(hostport, n string) (name.Tag, error) {
	tag, err := name.NewTag(n)
	if err != nil {
		return name.Tag{}, err
	}
	return name.NewTag(hostport + "/" + tag.RepositoryStr() + ":" + tag.TagStr())
}

// singleIndex wraps img in an OCI image index with its platform.
func singleIndex(img v1.Image) v1.ImageIndex {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	cf, err := img.ConfigFile()
	platform := &v1.Platform{OS: "linux"}
	if err == nil {
		platform.Architecture = cf.Architecture
	}
	return mutate.AppendManifests(idx, mutate.IndexAddendum{
		Add:        img,
		Descriptor: v1.Descriptor{Platform: platform},
	})
}
