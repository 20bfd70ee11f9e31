package testimages

import (
	"archive/tar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// apkRoot writes the nginx image's Alpine files under a temporary root.
func apkRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	es, err := alpineEntries(nil, []string{"curl", "nginx"}, nginxPackages)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.typ != tar.TypeReg {
			continue
		}
		writeFile(t, filepath.Join(root, e.path), string(e.data))
	}
	return root
}

func TestApkAddSucceedsForPreinstalledPackages(t *testing.T) {
	root := apkRoot(t)
	out, errOut, code := run(t, exec.Command(Program(t, "apk"), "--root", root, "add", "--no-cache", "curl"))
	if code != 0 {
		t.Fatalf("apk add curl: exit %d\n%s", code, errOut)
	}
	n := len(alpineBase) + len(nginxPackages)
	if !strings.HasPrefix(out, "OK: ") || !strings.HasSuffix(out, " MiB in "+strconv.Itoa(n)+" packages\n") {
		t.Errorf("stdout %q, want OK: N MiB in %d packages", out, n)
	}
	world, err := os.ReadFile(filepath.Join(root, "etc/apk/world"))
	if err != nil || string(world) != "curl\nnginx\n" {
		t.Errorf("world = %q, %v", world, err)
	}
}

func TestApkAddFailsForPackagesTheImageLacks(t *testing.T) {
	root := apkRoot(t)
	_, errOut, code := run(t, exec.Command(Program(t, "apk"), "--root", root, "add", "curl", "vim"))
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	want := "ERROR: unable to select packages:\n  vim (no such package):\n    required by: world[vim]\n"
	if !strings.HasSuffix(errOut, want) || !strings.Contains(errOut, "offline") {
		t.Errorf("stderr:\n%s\nwant it to explain the image is offline and end with:\n%s", errOut, want)
	}
}

func TestApkInfoListsInstalledPackages(t *testing.T) {
	root := apkRoot(t)
	out, _, code := run(t, exec.Command(Program(t, "apk"), "--root", root, "info"))
	if code != 0 || !strings.Contains(out, "\ncurl\n") || !strings.HasPrefix(out, "alpine-baselayout\n") {
		t.Errorf("apk info: exit %d\n%s", code, out)
	}
	out, _, code = run(t, exec.Command(Program(t, "apk"), "--root", root, "info", "-e", "vim"))
	if code != 1 || out != "" {
		t.Errorf("apk info -e vim: exit %d %q, want 1 and nothing", code, out)
	}
}
