package volumes

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var tsDirRE = regexp.MustCompile(`^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d+$`)

func files(kv ...string) map[string]fileProjection {
	out := map[string]fileProjection{}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = fileProjection{data: []byte(kv[i+1]), mode: 0o644}
	}
	return out
}

// listDir returns "name" or "name -> target" for each entry of dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		s := e.Name()
		if e.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			s += " -> " + target
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func dataTarget(t *testing.T, dir string) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(dir, dataDirName))
	if err != nil {
		t.Fatal(err)
	}
	if !tsDirRE.MatchString(target) {
		t.Fatalf("..data -> %q, want a timestamped dir", target)
	}
	return target
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func modeOf(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func TestWriterLayout(t *testing.T) {
	dir := t.TempDir()
	w := &atomicWriter{dir: dir}
	payload := files("podName", "p", "user/labels", "a=b", "k8s/deep/annotations", "x")
	payload["secret"] = fileProjection{data: []byte("s"), mode: 0o400}
	changed, err := w.write(payload, nil)
	if err != nil || !changed {
		t.Fatalf("write = %v, %v; want true, nil", changed, err)
	}
	ts := dataTarget(t, dir)
	want := []string{ts, "..data -> " + ts, "k8s -> ..data/k8s", "podName -> ..data/podName", "secret -> ..data/secret", "user -> ..data/user"}
	sort.Strings(want)
	if got := listDir(t, dir); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("layout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := readFile(t, filepath.Join(dir, "k8s/deep/annotations")); got != "x" {
		t.Errorf("k8s/deep/annotations = %q", got)
	}
	for path, mode := range map[string]fs.FileMode{
		ts:                           fs.ModeDir | 0o755,
		ts + "/k8s":                  fs.ModeDir | 0o755,
		ts + "/k8s/deep":             fs.ModeDir | 0o755,
		ts + "/podName":              0o644,
		ts + "/secret":               0o400,
		ts + "/k8s/deep/annotations": 0o644,
	} {
		if got := modeOf(t, filepath.Join(dir, path)); got != mode {
			t.Errorf("mode of %s = %v, want %v", path, got, mode)
		}
	}
}

func TestWriterModeIgnoresUmask(t *testing.T) {
	dir := t.TempDir()
	w := &atomicWriter{dir: dir}
	if _, err := w.write(map[string]fileProjection{"a/b": {data: []byte("x"), mode: 0o777}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := modeOf(t, filepath.Join(dir, "a/b")); got != 0o777 {
		t.Errorf("mode = %v, want 0777 whatever the umask", got)
	}
}

func TestWriterNoChangeNoWrite(t *testing.T) {
	dir := t.TempDir()
	w := &atomicWriter{dir: dir}
	payload := files("a", "1", "b/c", "2")
	if _, err := w.write(payload, nil); err != nil {
		t.Fatal(err)
	}
	ts := dataTarget(t, dir)
	calls := 0
	changed, err := w.write(files("a", "1", "b/c", "2"), func() error { calls++; return nil })
	if err != nil || changed {
		t.Fatalf("rewrite = %v, %v; want false, nil", changed, err)
	}
	if calls != 0 {
		t.Errorf("setPerms ran %d times for an unchanged payload", calls)
	}
	if got := dataTarget(t, dir); got != ts {
		t.Errorf("..data moved from %s to %s without a change", ts, got)
	}

	// A user-visible symlink that went missing is recreated without a
	// write (kubernetes#121472).
	if err := os.Remove(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	changed, err = w.write(files("a", "1", "b/c", "2"), nil)
	if err != nil || changed {
		t.Fatalf("rewrite = %v, %v; want false, nil", changed, err)
	}
	if got := readFile(t, filepath.Join(dir, "a")); got != "1" {
		t.Errorf("a = %q after repair", got)
	}
}

func TestWriterUpdate(t *testing.T) {
	dir := t.TempDir()
	w := &atomicWriter{dir: dir}
	if _, err := w.write(files("keep", "1", "change", "old", "gone", "x", "sub/gone", "y", "sub/keep", "z"), nil); err != nil {
		t.Fatal(err)
	}
	oldTs := dataTarget(t, dir)
	time.Sleep(10 * time.Millisecond)

	changed, err := w.write(files("keep", "1", "change", "new", "added", "+", "sub/keep", "z"), nil)
	if err != nil || !changed {
		t.Fatalf("update = %v, %v; want true, nil", changed, err)
	}
	ts := dataTarget(t, dir)
	if ts == oldTs {
		t.Fatalf("..data still points to %s", oldTs)
	}
	want := []string{ts, "..data -> " + ts, "added -> ..data/added", "change -> ..data/change", "keep -> ..data/keep", "sub -> ..data/sub"}
	sort.Strings(want)
	if got := listDir(t, dir); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("layout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := readFile(t, filepath.Join(dir, "change")); got != "new" {
		t.Errorf("change = %q", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "sub/gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sub/gone still there: %v", err)
	}

	// Removing the last path also rewrites, leaving an empty volume.
	changed, err = w.write(nil, nil)
	if err != nil || !changed {
		t.Fatalf("empty update = %v, %v; want true, nil", changed, err)
	}
	dataTarget(t, dir)
	if got := listDir(t, dir); len(got) != 2 {
		t.Errorf("empty volume holds %v", got)
	}
}

func TestWriterCleansLeftovers(t *testing.T) {
	dir := t.TempDir()
	w := &atomicWriter{dir: dir}
	if _, err := w.write(files("a", "1"), nil); err != nil {
		t.Fatal(err)
	}
	// A crash between symlink and rename, and an orphaned ts dir.
	if err := os.Symlink("..2001_01_01_00_00_00.1", filepath.Join(dir, newDataDirName)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "..2001_01_01_00_00_00.1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := w.write(files("a", "2"), nil); err != nil {
		t.Fatal(err)
	}
	ts := dataTarget(t, dir)
	want := []string{ts, "..data -> " + ts, "a -> ..data/a"}
	sort.Strings(want)
	if got := listDir(t, dir); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("layout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWriterIgnoresForeignDataLink(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(root, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "vol")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../outside", filepath.Join(dir, dataDirName)); err != nil {
		t.Fatal(err)
	}
	w := &atomicWriter{dir: dir}
	if _, err := w.write(files("a", "1"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("a directory outside the volume was touched: %v", err)
	}
	dataTarget(t, dir)
}

func TestValidatePath(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		path, err string
	}{
		{"a", ""},
		{"a/b/c", ""},
		{".hidden", ""},
		{"a/..b", ""},
		{"a..b", ""},
		{"..", "invalid path: must not contain '..': .."},
		{"", `invalid path: must not be empty: ""`},
		{"/etc/passwd", "invalid path: must be relative path: /etc/passwd"},
		{"../x", "invalid path: must not contain '..': ../x"},
		{"a/../b", "invalid path: must not contain '..': a/../b"},
		{"..data", "invalid path: must not start with '..': ..data"},
		{"..2026_01_01_00_00_00.1/x", "invalid path: must not start with '..': ..2026_01_01_00_00_00.1/x"},
		{"./..data", "invalid path: must not start with '..': ./..data"},
		{".", "invalid path: must name a file inside the volume: ."},
		{long, "invalid path: filenames must be less than or equal to 255 characters"},
		{strings.Repeat("a/", 2049), "invalid path: must be less than or equal to 4096 characters"},
	} {
		err := validatePath(tc.path)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.err {
			t.Errorf("validatePath(%.40q) = %q, want %q", tc.path, got, tc.err)
		}
	}

	dir := t.TempDir()
	w := &atomicWriter{dir: dir}
	if _, err := w.write(files("ok", "1", "../escape", "x"), nil); err == nil {
		t.Fatal("write accepted ../escape")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("an invalid payload wrote %d entries", len(entries))
	}
}

// TestWriterReadersSeeWholeFiles updates a volume while readers keep
// opening a file through its user-visible symlink: each read must return
// one complete version. A reader may miss the file for an instant (it
// resolved ..data to the dir just removed), as with the kubelet.
func TestWriterReadersSeeWholeFiles(t *testing.T) {
	dir := t.TempDir()
	w := &atomicWriter{dir: dir}
	version := func(i int) []byte {
		return bytes.Repeat([]byte{byte('a' + i%26)}, 64<<10)
	}
	if _, err := w.write(map[string]fileProjection{"key": {data: version(0), mode: 0o644}}, nil); err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var reads, misses atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				b, err := os.ReadFile(filepath.Join(dir, "key"))
				if errors.Is(err, fs.ErrNotExist) {
					misses.Add(1)
					continue
				}
				if err != nil {
					errc <- err
					return
				}
				reads.Add(1)
				if len(b) != 64<<10 || !bytes.Equal(b, bytes.Repeat(b[:1], len(b))) {
					errc <- errors.New("read a partial or mixed file")
					return
				}
			}
		}()
	}
	for i := 1; i <= 100; i++ {
		payload := map[string]fileProjection{"key": {data: version(i), mode: 0o644}}
		if i%2 == 0 {
			payload["other"] = fileProjection{data: []byte("o"), mode: 0o644}
		}
		if _, err := w.write(payload, nil); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if reads.Load() == 0 {
		t.Fatal("readers never read the file")
	}
	t.Logf("%d whole reads, %d transient misses", reads.Load(), misses.Load())
	if got := listDir(t, dir); len(got) != 4 {
		t.Errorf("after updates the volume holds %v", got)
	}
}
