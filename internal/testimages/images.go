// Package testimages builds the container images orca's tests run, from
// programs in this repository and the host's static busybox, so tests are
// hermetic: nothing is pulled from the internet or another project.
//
// Users' manifests name busybox, nginx:alpine and polinux/stress; tests use
// those names and get look-alikes. nginx, curl, apk, stress and testapp are
// small Go programs under test/images that mimic the real tools' behaviour
// and output where Pods observe it (see each program's doc comment).
//
// Build gives the images in memory, StartRegistry serves them from an
// in-process registry that a docker.io mirror entry can point at, and
// WriteArchive writes a docker-archive tarball for import tests.
package testimages

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image names as users write them. Build's map has these and the other
// tags of the same images: busybox:1.36, busybox:1.37 and nginx:1.27.
const (
	Busybox  = "busybox:latest"
	Nginx    = "nginx:alpine"
	Stress   = "polinux/stress:latest"
	TestApp  = "orca/testapp:latest"
	NonRoot  = "nonroot:latest"  // busybox running as uid 1000 ("app")
	RootUser = "rootuser:latest" // busybox with USER root stated explicitly
)

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// spec describes one image: the names it goes by, its layers above the
// base, and its configuration.
type spec struct {
	names  []string
	layers []string // program layers, by layerSpecs key
	config v1.Config
	// index: the registry serves it as an image index, as Docker Hub does
	// for official images; other images are served as plain manifests.
	index bool
}

var specs = []spec{
	{
		names:  []string{Busybox, "busybox:1.36", "busybox:1.37"},
		config: v1.Config{Env: []string{defaultPath}, Cmd: []string{"sh"}},
		index:  true,
	},
	{
		names:  []string{Nginx, "nginx:1.27"},
		layers: []string{"nginx"},
		config: v1.Config{
			Env:          []string{defaultPath, "NGINX_VERSION=1.27.5", "PKG_RELEASE=1"},
			Cmd:          []string{"nginx", "-g", "daemon off;"},
			ExposedPorts: map[string]struct{}{"80/tcp": {}},
			StopSignal:   "SIGQUIT",
			Labels:       map[string]string{"maintainer": "NGINX Docker Maintainers <docker-maint@nginx.com>"},
		},
		index: true,
	},
	{
		// polinux/stress's Dockerfile says CMD ['/usr/local/bin/stress']:
		// single quotes are not JSON, so Docker stored the shell form, and
		// running the image without a command fails in sh. Pods always
		// give a command ("stress", ...), found on PATH.
		names:  []string{Stress},
		layers: []string{"stress"},
		config: v1.Config{
			Env: []string{defaultPath, "RELEASE_VERSION=1.0.4"},
			Cmd: []string{"/bin/sh", "-c", "['/usr/local/bin/stress']"},
		},
	},
	{
		names:  []string{TestApp},
		layers: []string{"testapp"},
		config: v1.Config{
			Env:          []string{defaultPath},
			Entrypoint:   []string{"/usr/local/bin/testapp"},
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		},
	},
	{
		names:  []string{NonRoot},
		config: v1.Config{Env: []string{defaultPath}, Cmd: []string{"sh"}, User: "1000"},
	},
	{
		names:  []string{RootUser},
		config: v1.Config{Env: []string{defaultPath}, Cmd: []string{"sh"}, User: "root"},
	},
}

// imageSet is everything Build makes, once per process.
type imageSet struct {
	images   map[string]v1.Image
	indexed  map[string]bool // names served as an image index
	programs string          // directory of the built programs
}

// built caches the process's one build. Package-level state is deliberate:
// building is the slow part and every test in the process wants the same
// immutable result.
var built = sync.OnceValues(build)

// Build builds every test image (see the name constants) and returns them
// by name. The first call in a process compiles the programs, or reuses a
// compilation cached under os.TempDir() by an earlier process, and takes a
// few seconds; later calls return at once. The images are identical,
// digest for digest, from build to build. A failure fails t.
func Build(t testing.TB) map[string]v1.Image {
	t.Helper()
	s, err := built()
	if err != nil {
		t.Fatalf("build test images: %v", err)
	}
	return maps.Clone(s.images)
}

// Names returns every name Build's map has, sorted.
func Names() []string {
	var names []string
	for _, s := range specs {
		names = append(names, s.names...)
	}
	slices.Sort(names)
	return names
}

// Program returns the host path of a test program ("nginx", "curl", "apk",
// "stress" or "testapp"), for tests that run it outside a container.
func Program(t testing.TB, name string) string {
	t.Helper()
	s, err := built()
	if err != nil {
		t.Fatalf("build test images: %v", err)
	}
	p, err := programPath(s.programs, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func build() (*imageSet, error) {
	dir, err := buildPrograms()
	if err != nil {
		return nil, err
	}
	bins := map[string][]byte{}
	for _, p := range programNames {
		if bins[p], err = os.ReadFile(filepath.Join(dir, p)); err != nil {
			return nil, err
		}
	}
	baseFiles, err := baseEntries()
	if err != nil {
		return nil, err
	}
	base, err := newLayer(baseFiles, dir)
	if err != nil {
		return nil, err
	}
	layers := map[string]v1.Layer{}
	for key, mk := range layerSpecs {
		entries, err := mk(bins)
		if err != nil {
			return nil, fmt.Errorf("%s layer: %w", key, err)
		}
		if layers[key], err = newLayer(entries, dir); err != nil {
			return nil, fmt.Errorf("%s layer: %w", key, err)
		}
	}

	s := &imageSet{images: map[string]v1.Image{}, indexed: map[string]bool{}, programs: dir}
	for _, sp := range specs {
		adds := []mutate.Addendum{{Layer: base, History: history("ADD busybox rootfs / # static busybox, applet links, users")}}
		for _, l := range sp.layers {
			adds = append(adds, mutate.Addendum{Layer: layers[l], History: history(layerHistory[l])})
		}
		img, err := newImage(adds, sp.config)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", sp.names[0], err)
		}
		for _, n := range sp.names {
			s.images[n] = img
			s.indexed[n] = sp.index
		}
	}
	return s, nil
}

func history(createdBy string) v1.History {
	return v1.History{Created: v1.Time{Time: epoch}, CreatedBy: createdBy, Comment: "orca test image"}
}

// newImage stacks the layers into an OCI image for linux on this machine's
// architecture (the busybox inside is the host's).
func newImage(adds []mutate.Addendum, cfg v1.Config) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture = runtime.GOARCH
	cf.OS = "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Config = cfg
	return mutate.ConfigFile(img, cf)
}
