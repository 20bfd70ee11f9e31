package testimages

import (
	"archive/tar"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// These tests unpack images and run them in a chroot: not a container, but
// enough to prove the filesystems work (links, users, configuration, PATH)
// without orca's runtime. They share the host's network and have no /proc.

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("unpacking images with their owners and chroot need root; run these tests as root (CI does)")
	}
}

// unpack writes an image's flattened filesystem under a new directory.
func unpack(t *testing.T, img v1.Image) string {
	t.Helper()
	root := t.TempDir()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var dirs []*tar.Header
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, hdr.Name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
			dirs = append(dirs, hdr)
		case tar.TypeReg:
			var f *os.File
			if f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, hdr.FileInfo().Mode().Perm()); err == nil {
				_, err = io.Copy(f, tr)
				f.Close()
			}
		case tar.TypeSymlink:
			err = os.Symlink(hdr.Linkname, p)
		}
		if err == nil {
			err = os.Lchown(p, hdr.Uid, hdr.Gid)
		}
		if err != nil {
			t.Fatalf("unpack %s: %v", hdr.Name, err)
		}
	}
	for _, hdr := range dirs {
		if err := os.Chmod(filepath.Join(root, hdr.Name), hdr.FileInfo().Mode()); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// inChroot prepares argv to run in root with the image's PATH.
func inChroot(root string, uid int, argv ...string) *exec.Cmd {
	cmd := &exec.Cmd{Path: argv[0], Args: argv, Dir: "/", Env: []string{defaultPath, "HOME=/root"}}
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	if uid != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}
	}
	return cmd
}

func TestBusyboxImagesRunAShellAsTheirUsers(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	imgs := Build(t)
	tests := []struct {
		image string
		uid   int
		want  string
	}{
		{"busybox:latest", 0, "uid=0(root) gid=0(root)"},
		{"nonroot:latest", 1000, "uid=1000(app) gid=1000(app)"},
	}
	for _, tt := range tests {
		root := unpack(t, imgs[tt.image])
		out, errOut, code := run(t, inChroot(root, tt.uid, "/bin/sh", "-c", "id && touch /tmp/x && ls /tmp && echo $PATH"))
		if code != 0 || !strings.HasPrefix(out, tt.want) || !strings.Contains(out, "\nx\n") {
			t.Errorf("%s: exit %d\n%s%s", tt.image, code, out, errOut)
		}
	}
}

// The course's web-logger Pod, minus the container runtime: busybox writes
// the date into nginx's html root, nginx serves it, curl fetches it from
// inside the nginx image after "apk add --no-cache curl".
func TestNginxImageServesWhatBusyboxWrites(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	root := unpack(t, Build(t)["nginx:alpine"])

	out, errOut, code := run(t, inChroot(root, 0, "/usr/sbin/nginx", "-t"))
	if code != 0 || !strings.Contains(errOut, "nginx: configuration file /etc/nginx/nginx.conf test is successful") {
		t.Fatalf("nginx -t in the image: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run(t, inChroot(root, 0, "/bin/sh", "-c", "apk add --no-cache curl"))
	if code != 0 || !strings.HasPrefix(out, "OK: ") {
		t.Fatalf("apk add --no-cache curl: exit %d\n%s%s", code, out, errOut)
	}

	a := addr(freePort(t))
	// The image's own configuration, except the port: 80 may be taken here.
	startDaemon(t, inChroot(root, 0, "/usr/sbin/nginx", "-g", "daemon off;", "--listen", a))
	waitForPort(t, a)
	// curl resolves localhost itself: the chroot has no /etc/hosts.
	localhost := "localhost:" + strings.TrimPrefix(a, "127.0.0.1:")
	out, errOut, code = run(t, inChroot(root, 0, "/bin/sh", "-c", "curl -s http://"+localhost))
	if code != 0 || !strings.Contains(out, "Welcome to nginx!") {
		t.Fatalf("curl the welcome page: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code = run(t, inChroot(root, 0, "/bin/sh", "-c", "date > /usr/share/nginx/html/index.html")); code != 0 {
		t.Fatalf("write the date: %s", errOut)
	}
	date, err := os.ReadFile(filepath.Join(root, "usr/share/nginx/html/index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if out, _, _ = run(t, inChroot(root, 0, "/usr/bin/curl", "-s", "http://"+a+"/")); out != string(date) {
		t.Errorf("curl after the write = %q, want %q", out, date)
	}
}

func TestStressImageRunsStressFromPath(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	root := unpack(t, Build(t)["polinux/stress:latest"])
	out, errOut, code := run(t, inChroot(root, 0, "/bin/sh", "-c", "stress --vm 1 --vm-bytes 5M --timeout 1"))
	if code != 0 || !strings.Contains(out, "successful run completed") {
		t.Errorf("stress in the image: exit %d\n%s%s", code, out, errOut)
	}
	// The image's own command is broken, as polinux/stress's is.
	_, errOut, code = run(t, inChroot(root, 0, "/bin/sh", "-c", "['/usr/local/bin/stress']"))
	if code != 127 {
		t.Errorf("the image's default command: exit %d (%s), want 127", code, errOut)
	}
}
