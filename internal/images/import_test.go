package images

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func writeDockerArchive(t *testing.T, p string, images map[string]v1.Image) {
	t.Helper()
	refs := map[name.Reference]v1.Image{}
	for n, img := range images {
		r, err := name.ParseReference(n)
		if err != nil {
			t.Fatal(err)
		}
		refs[r] = img
	}
	if err := tarball.MultiRefWriteToFile(p, refs); err != nil {
		t.Fatal(err)
	}
}

// writeOCIArchive writes an OCI image layout and tars it up, as
// `skopeo copy ... oci-archive:` or `nerdctl save` would.
func writeOCIArchive(t *testing.T, p string, img v1.Image, annotations map[string]string) {
	t.Helper()
	dir := t.TempDir()
	l, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.AppendImage(img, layout.WithAnnotations(annotations)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || path == dir {
			return err
		}
		hdr, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		hdr.Name, _ = filepath.Rel(dir, path)
		if err := tw.WriteHeader(hdr); err != nil || fi.IsDir() {
			return err
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestImportDockerArchiveStoresAllImagesWithTheirNames(t *testing.T) {
	requireRoot(t)
	shared := newLayer(t, file("lib/libc", "libc"))
	busybox := newImage(t, "busybox", shared, newLayer(t, file("bin/busybox", "bb")))
	other := newImage(t, "other", shared)
	p := filepath.Join(t.TempDir(), "images.tar")
	writeDockerArchive(t, p, map[string]v1.Image{
		"busybox:latest":          busybox,
		"localhost:5000/other:v1": other,
	})
	s := newTestStore(t, "", RegistryConfig{})

	imported, err := s.Import(context.Background(), p)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if len(imported) != 2 {
		t.Fatalf("imported %d images, want 2", len(imported))
	}
	got, err := s.Get("busybox")
	if err != nil {
		t.Fatalf("Get(busybox): %v", err)
	}
	if got.ID != configDigest(t, busybox) || got.Name != "docker.io/library/busybox:latest" {
		t.Errorf("busybox = %s %s", got.Name, got.ID)
	}
	if c := readFileString(t, filepath.Join(got.Layers[1], "bin/busybox")); c != "bb" {
		t.Errorf("bin/busybox = %q", c)
	}
	if o, err := s.Get("localhost:5000/other:v1"); err != nil || o.ID != configDigest(t, other) {
		t.Errorf("Get(localhost:5000/other:v1) = %v, %v", o, err)
	}
	if got := layerDirs(t, s); len(got) != 2 {
		t.Errorf("layer dirs = %q, want 2 (libc shared)", got)
	}
}

func TestImportOCIArchiveNamedByContainerdAnnotation(t *testing.T) {
	requireRoot(t)
	img := newImage(t, "oci", newLayer(t, file("etc/os-release", "ID=test")))
	p := filepath.Join(t.TempDir(), "busybox-oci.tar")
	writeOCIArchive(t, p, img, map[string]string{
		annotationImageName: "docker.io/library/busybox:latest",
		annotationRefName:   "latest",
	})
	s := newTestStore(t, "", RegistryConfig{})

	if _, err := s.Import(context.Background(), p); err != nil {
		t.Fatalf("Import: %v", err)
	}
	got, err := s.Get("busybox")
	if err != nil {
		t.Fatalf("Get(busybox): %v", err)
	}
	digest, _ := img.Digest()
	if got.ID != configDigest(t, img) || got.RepoDigest != "docker.io/library/busybox@"+digest.String() {
		t.Errorf("got ID %s RepoDigest %s", got.ID, got.RepoDigest)
	}
	if c := readFileString(t, filepath.Join(got.Layers[0], "etc/os-release")); c != "ID=test" {
		t.Errorf("os-release = %q", c)
	}
}

func TestImportOCIArchiveWithOnlyATagRefNameIsReachableByID(t *testing.T) {
	requireRoot(t)
	img := newImage(t, "tag only", newLayer(t, file("x", "x")))
	p := filepath.Join(t.TempDir(), "tagonly.tar")
	writeOCIArchive(t, p, img, map[string]string{annotationRefName: "latest"})
	s := newTestStore(t, "", RegistryConfig{})
	imported, err := s.Import(context.Background(), p)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if len(imported) != 1 || imported[0].Name != "" {
		t.Fatalf("imported %+v, want one unnamed image", imported)
	}
	if _, err := s.Get(strings.TrimPrefix(configDigest(t, img), "sha256:")[:12]); err != nil {
		t.Errorf("Get by short ID: %v", err)
	}
}

func TestImportRejectsTarballThatIsNoImageArchive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "junk.tar")
	if err := os.WriteFile(p, tarBytes(t, file("hello.txt", "hi")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := newTestStore(t, "", RegistryConfig{}).Import(context.Background(), p)
	want := "importing " + p + ": neither a docker-archive (no manifest.json) nor an OCI archive (no index.json)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestImportDirImportsEveryTarAndReportsBadOnes(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	writeDockerArchive(t, filepath.Join(dir, "a.tar"), map[string]v1.Image{"a:v1": newImage(t, "a", newLayer(t, file("a", "a")))})
	writeOCIArchive(t, filepath.Join(dir, "b.tar"), newImage(t, "b", newLayer(t, file("b", "b"))),
		map[string]string{annotationImageName: "quay.io/team/b:v2"})
	os.WriteFile(filepath.Join(dir, "README"), []byte("not a tarball"), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.tar"), tarBytes(t, file("x", "x")), 0o644)
	s := newTestStore(t, "", RegistryConfig{})

	err := s.ImportDir(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), "broken.tar") {
		t.Errorf("err = %v, want the broken tarball named", err)
	}
	for _, ref := range []string{"a:v1", "quay.io/team/b:v2"} {
		if _, err := s.Get(ref); err != nil {
			t.Errorf("Get(%s): %v", ref, err)
		}
	}
	if err := s.ImportDir(context.Background(), filepath.Join(dir, "absent")); err != nil {
		t.Errorf("missing dir: %v", err)
	}
}

// TestImportClassicDockerSaveWithPlainAndLinkedLayers covers what older
// `docker save` writes: uncompressed <id>/layer.tar files, with a repeated
// layer stored once and symlinked.
func TestImportClassicDockerSaveWithPlainAndLinkedLayers(t *testing.T) {
	requireRoot(t)
	layerTar := tarBytes(t, file("etc/hostname", "classic"))
	base := newImage(t, "classic", newLayer(t, file("etc/hostname", "classic")), newLayer(t, file("etc/hostname", "classic")))
	rawConfig, err := base.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	manifest := `[{"Config":"cfg.json","RepoTags":["classic:v1"],"Layers":["l1/layer.tar","l2/layer.tar"]}]`
	archive := tarBytes(t,
		file("manifest.json", manifest),
		file("cfg.json", string(rawConfig)),
		dir("l1/"), file("l1/layer.tar", string(layerTar)),
		dir("l2/"), symlink("l2/layer.tar", "../l1/layer.tar"),
	)
	p := filepath.Join(t.TempDir(), "classic.tar")
	if err := os.WriteFile(p, archive, 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t, "", RegistryConfig{})
	if _, err := s.Import(context.Background(), p); err != nil {
		t.Fatalf("Import: %v", err)
	}
	got, err := s.Get("classic:v1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Layers) != 2 || got.Layers[0] != got.Layers[1] {
		t.Errorf("Layers = %q, want the same layer twice", got.Layers)
	}
	if c := readFileString(t, filepath.Join(got.Layers[0], "etc/hostname")); c != "classic" {
		t.Errorf("hostname = %q", c)
	}
}

func TestOCINameAnnotationsPreferContainerdsFullName(t *testing.T) {
	for _, tc := range []struct {
		annotations map[string]string
		want        string
	}{
		{map[string]string{annotationImageName: "docker.io/library/busybox:latest", annotationRefName: "latest"}, "docker.io/library/busybox:latest"},
		{map[string]string{annotationRefName: "quay.io/org/tool:2.0"}, "quay.io/org/tool:2.0"},
		{map[string]string{annotationRefName: "busybox:1.36"}, "docker.io/library/busybox:1.36"},
		{map[string]string{annotationRefName: "latest"}, ""}, // only a tag: no repository to name
		{nil, ""},
	} {
		got := ""
		if r, ok := ociName(tc.annotations); ok {
			got = r.String()
		}
		if got != tc.want {
			t.Errorf("%v -> %q, want %q", tc.annotations, got, tc.want)
		}
	}
}
