package testimages

import (
	"archive/tar"
	"bytes"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestBuildReturnsEveryImageUsersName(t *testing.T) {
	want := []string{
		"busybox:1.36", "busybox:1.37", "busybox:latest", "nginx:1.27", "nginx:alpine",
		"nonroot:latest", "orca/testapp:latest", "polinux/stress:latest", "rootuser:latest",
	}
	got := slices.Sorted(func(yield func(string) bool) {
		for n := range Build(t) {
			if !yield(n) {
				return
			}
		}
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Build names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
}

func TestTagsOfOneImageShareADigest(t *testing.T) {
	imgs := Build(t)
	for _, group := range [][]string{{"busybox:latest", "busybox:1.36", "busybox:1.37"}, {"nginx:alpine", "nginx:1.27"}} {
		first := digest(t, imgs[group[0]])
		for _, n := range group[1:] {
			if d := digest(t, imgs[n]); d != first {
				t.Errorf("%s digest %s, want %s's %s", n, d, group[0], first)
			}
		}
	}
}

func TestImageConfigsMatchTheRealImages(t *testing.T) {
	path := []string{defaultPath}
	tests := []struct {
		name string
		want v1.Config
	}{
		{"busybox:latest", v1.Config{Env: path, Cmd: []string{"sh"}}},
		{"nginx:alpine", v1.Config{
			Env:          append(path, "NGINX_VERSION=1.27.5", "PKG_RELEASE=1"),
			Cmd:          []string{"nginx", "-g", "daemon off;"},
			ExposedPorts: map[string]struct{}{"80/tcp": {}},
			StopSignal:   "SIGQUIT",
			Labels:       map[string]string{"maintainer": "NGINX Docker Maintainers <docker-maint@nginx.com>"},
		}},
		{"polinux/stress:latest", v1.Config{
			Env: append(path, "RELEASE_VERSION=1.0.4"),
			Cmd: []string{"/bin/sh", "-c", "['/usr/local/bin/stress']"},
		}},
		{"orca/testapp:latest", v1.Config{
			Env:          path,
			Entrypoint:   []string{"/usr/local/bin/testapp"},
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		}},
		{"nonroot:latest", v1.Config{Env: path, Cmd: []string{"sh"}, User: "1000"}},
		{"rootuser:latest", v1.Config{Env: path, Cmd: []string{"sh"}, User: "root"}},
	}
	imgs := Build(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := imgs[tt.name]
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cf.Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
				t.Errorf("platform %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
			}
			if !cf.Created.Time.Equal(epoch) {
				t.Errorf("created %v, want %v", cf.Created, epoch)
			}
			assertOCIMediaTypes(t, img)
		})
	}
}

func assertOCIMediaTypes(t *testing.T, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("manifest %s with config %s, want OCI types", m.MediaType, m.Config.MediaType)
	}
	for _, l := range m.Layers {
		if l.MediaType != types.OCILayer {
			t.Errorf("layer %s has media type %s, want %s", l.Digest, l.MediaType, types.OCILayer)
		}
	}
}

// fsEntry is a file of an image's flattened filesystem.
type fsEntry struct {
	hdr  *tar.Header
	data []byte
}

// imageFS reads an image's flattened filesystem, keyed by absolute path.
func imageFS(t *testing.T, img v1.Image) map[string]fsEntry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]fsEntry{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		if hdr.Typeflag == tar.TypeReg && hdr.Size < 1<<20 {
			if data, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
		files["/"+strings.TrimSuffix(hdr.Name, "/")] = fsEntry{hdr, data}
	}
}

func TestBaseLayerHasBusyboxAppletsUsersAndDirectories(t *testing.T) {
	files := imageFS(t, Build(t)["busybox:latest"])
	if e, ok := files["/bin/busybox"]; !ok || e.hdr.Typeflag != tar.TypeReg || e.hdr.Mode&0o111 == 0 {
		t.Errorf("/bin/busybox missing or not an executable file")
	}
	for _, applet := range []string{"sh", "ls", "cat", "date", "sleep", "echo", "wget", "env", "id", "ps",
		"mkdir", "rm", "touch", "grep", "head", "tail", "tr", "true", "false", "hostname", "kill", "nc", "test", "["} {
		e, ok := files["/bin/"+applet]
		if !ok || e.hdr.Typeflag != tar.TypeSymlink || e.hdr.Linkname != "busybox" {
			t.Errorf("/bin/%s is not a symlink to busybox", applet)
		}
	}
	dirs := map[string]int64{"/tmp": 0o1777, "/root": 0o700, "/var": 0o755, "/usr/share/nginx/html": 0o755, "/home/app": 0o755}
	for d, mode := range dirs {
		e, ok := files[d]
		if !ok || e.hdr.Typeflag != tar.TypeDir || e.hdr.Mode != mode {
			t.Errorf("%s: want a directory with mode %o, got %+v", d, mode, e.hdr)
		}
	}
	if e := files["/home/app"]; e.hdr == nil || e.hdr.Uid != 1000 || e.hdr.Gid != 1000 {
		t.Errorf("/home/app is not owned by 1000:1000")
	}
	wantPasswd := "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
	if got := string(files["/etc/passwd"].data); got != wantPasswd {
		t.Errorf("/etc/passwd:\n%s\nwant:\n%s", got, wantPasswd)
	}
	if got := string(files["/etc/group"].data); got != "root:x:0:\napp:x:1000:\nnobody:x:65534:\n" {
		t.Errorf("/etc/group:\n%s", got)
	}
}

func TestProgramsSitWhereTheRealImagesHaveThem(t *testing.T) {
	tests := []struct {
		image string
		files []string
	}{
		{"nginx:alpine", []string{"/usr/sbin/nginx", "/usr/bin/curl", "/sbin/apk"}},
		{"polinux/stress:latest", []string{"/usr/local/bin/stress", "/sbin/apk"}},
		{"orca/testapp:latest", []string{"/usr/local/bin/testapp"}},
	}
	imgs := Build(t)
	for _, tt := range tests {
		files := imageFS(t, imgs[tt.image])
		for _, f := range tt.files {
			if e, ok := files[f]; !ok || e.hdr.Typeflag != tar.TypeReg || e.hdr.Mode != 0o755 {
				t.Errorf("%s: %s missing or not mode 0755", tt.image, f)
			}
		}
		if _, ok := files["/bin/sh"]; !ok {
			t.Errorf("%s has no /bin/sh", tt.image)
		}
	}
}

func TestNginxImageHasConfigurationContentAndLogLinks(t *testing.T) {
	files := imageFS(t, Build(t)["nginx:alpine"])
	for _, f := range []string{"/etc/nginx/nginx.conf", "/etc/nginx/conf.d/default.conf", "/etc/nginx/mime.types",
		"/usr/share/nginx/html/index.html", "/usr/share/nginx/html/50x.html", "/etc/os-release", "/lib/apk/db/installed"} {
		if _, ok := files[f]; !ok {
			t.Errorf("missing %s", f)
		}
	}
	if !bytes.Contains(files["/usr/share/nginx/html/index.html"].data, []byte("<title>Welcome to nginx!</title>")) {
		t.Errorf("index.html is not nginx's welcome page")
	}
	for link, target := range map[string]string{"/var/log/nginx/access.log": "/dev/stdout", "/var/log/nginx/error.log": "/dev/stderr"} {
		if e := files[link]; e.hdr == nil || e.hdr.Linkname != target {
			t.Errorf("%s does not link to %s", link, target)
		}
	}
	if !bytes.Contains(files["/etc/passwd"].data, []byte("\nnginx:x:101:101:")) {
		t.Errorf("/etc/passwd has no nginx user:\n%s", files["/etc/passwd"].data)
	}
	if !bytes.Contains(files["/lib/apk/db/installed"].data, []byte("\nP:curl\nV:8.12.1-r1\n")) {
		t.Errorf("apk database does not list curl")
	}
}

func TestBuildIsReproducible(t *testing.T) {
	first := Build(t)
	again, err := build() // a second, uncached build
	if err != nil {
		t.Fatal(err)
	}
	for n, img := range first {
		if a, b := digest(t, img), digest(t, again.images[n]); a != b {
			t.Errorf("%s: digest %s, then %s", n, a, b)
		}
	}
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
