package testimages

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// The programs under test/images, each a package main built into a static
// binary of the same name.
var programNames = []string{"apk", "curl", "nginx", "stress", "testapp"}

// buildFlags are part of the cache key: a change to them rebuilds.
var buildFlags = []string{"-trimpath", "-buildvcs=false", "-ldflags=-s"}

// buildPrograms compiles test/images/* and returns the directory holding the
// binaries. The directory is os.TempDir()/orca-testimages-<key>, where key
// hashes the sources, the toolchain and the flags, so every test process
// after the first reuses it; a process that loses the race to create it
// uses the winner's.
func buildPrograms() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	src := filepath.Join(root, "test", "images")
	key, err := sourceKey(root, src)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(os.TempDir(), "orca-testimages-"+key[:16])
	if complete(dir) {
		return dir, nil
	}

	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building test images needs the go command: %w", err)
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "orca-testimages-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	args := append([]string{"build"}, buildFlags...)
	args = append(args, "-o", tmp+string(filepath.Separator))
	for _, p := range programNames {
		args = append(args, "./test/images/"+p)
	}
	cmd := exec.Command(goBin, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build test images: %w\n%s", err, out)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil && !complete(dir) {
		return "", fmt.Errorf("cache test image programs: %w", err)
	}
	return dir, nil
}

func complete(dir string) bool {
	for _, p := range programNames {
		if fi, err := os.Stat(filepath.Join(dir, p)); err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// sourceKey hashes what the binaries are made from: every file under src,
// the go and toolchain lines of go.mod, the Go version and the flags.
func sourceKey(root, src string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s/%s %s\n", runtime.Version(), "linux", runtime.GOARCH, strings.Join(buildFlags, " "))
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "go ") || strings.HasPrefix(line, "toolchain ") {
			fmt.Fprintln(h, line)
		}
	}
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash test image sources: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

const modulePath = "github.com/orca-pods/orca"

// moduleRoot finds orca's module root: from this source file when the
// test binary was built without -trimpath, else upwards from the working
// directory (go test runs tests in their package's directory).
func moduleRoot() (string, error) {
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for {
			if isModuleRoot(dir) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", errors.New("cannot find the orca module root to build test images from")
}

func isModuleRoot(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" {
			return f[1] == modulePath
		}
	}
	return false
}

// programPath is a built program's path on the host.
func programPath(dir, name string) (string, error) {
	if !slices.Contains(programNames, name) {
		return "", fmt.Errorf("no test program %q (have %v)", name, programNames)
	}
	return filepath.Join(dir, name), nil
}
