package logrotate

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orca-pods/orca/internal/runtime"
	"github.com/orca-pods/orca/internal/runtime/fake"
)

// env is a fake runtime with one running container whose log is a real
// file in a temporary pod log directory, and a manager with a settable
// clock.
type env struct {
	t     *testing.T
	rt    *fake.Runtime
	m     *Manager
	id    string
	path  string
	clock time.Time
}

func newEnv(t *testing.T, maxSize int64, maxFiles int) *env {
	t.Helper()
	rt := fake.New()
	t.Cleanup(func() { rt.Close() })
	ctx := context.Background()
	sb, err := rt.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: "uid1", PodName: "web", Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "default_web_uid1", "app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "0.log")
	id, err := rt.CreateContainer(ctx, sb.ID, runtime.ContainerConfig{Name: "app", Args: []string{"app"}, LogPath: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, rt: rt, id: id, path: path, clock: time.Date(2024, 3, 5, 6, 7, 8, 0, time.Local)}
	e.m = New(Config{Runtime: rt, MaxSize: maxSize, MaxFiles: maxFiles, Logger: slog.New(slog.DiscardHandler)})
	e.m.now = func() time.Time { return e.clock }
	return e
}

// write appends to the current log, as the runtime would.
func (e *env) write(s string) {
	e.t.Helper()
	f, err := os.OpenFile(e.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		e.t.Fatal(err)
	}
}

// pass makes one rotation pass, a second after the previous one.
func (e *env) pass() {
	e.clock = e.clock.Add(time.Second)
	e.m.rotateAll(context.Background())
}

// files lists the log directory: name -> content (decompressed for .gz).
func (e *env) files() map[string]string {
	e.t.Helper()
	entries, err := os.ReadDir(filepath.Dir(e.path))
	if err != nil {
		e.t.Fatal(err)
	}
	out := make(map[string]string)
	for _, en := range entries {
		p := filepath.Join(filepath.Dir(e.path), en.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			e.t.Fatal(err)
		}
		if strings.HasSuffix(p, ".gz") {
			zr, err := gzip.NewReader(strings.NewReader(string(b)))
			if err != nil {
				e.t.Fatalf("%s: %v", en.Name(), err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				e.t.Fatalf("%s: %v", en.Name(), err)
			}
		}
		out[en.Name()] = string(b)
	}
	return out
}

func (e *env) reopens() int {
	n := 0
	for _, c := range e.rt.Calls() {
		if c.Method == "ReopenContainerLog" {
			n++
		}
	}
	return n
}

func assertFiles(t *testing.T, got, want map[string]string) {
	t.Helper()
	names := func(m map[string]string) []string {
		var s []string
		for k := range m {
			s = append(s, k)
		}
		slices.Sort(s)
		return s
	}
	if !slices.Equal(names(got), names(want)) {
		t.Fatalf("files %q, want %q", names(got), names(want))
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s = %q, want %q", name, got[name], w)
		}
	}
}

func TestLogBelowMaxSizeIsNotRotated(t *testing.T) {
	e := newEnv(t, 10, 5)
	e.write("123456789") // 9 bytes
	e.pass()
	assertFiles(t, e.files(), map[string]string{"0.log": "123456789"})
	if n := e.reopens(); n != 0 {
		t.Errorf("%d reopens", n)
	}
}

func TestLogAtMaxSizeIsRenamedWithATimestampAndReopened(t *testing.T) {
	e := newEnv(t, 10, 5)
	e.write("0123456789") // 10 bytes: rotated, as the kubelet does at size >= max
	e.pass()
	assertFiles(t, e.files(), map[string]string{
		"0.log":                 "", // created by the runtime's reopen
		"0.log.20240305-060709": "0123456789",
	})
	if n := e.reopens(); n != 1 {
		t.Errorf("%d reopens, want 1", n)
	}
}

// Every rotated file but the newest is compressed, and at most MaxFiles
// files remain, the oldest going first.
func TestRotationCompressesOlderFilesAndKeepsMaxFiles(t *testing.T) {
	e := newEnv(t, 4, 4)
	for _, s := range []string{"aaaa", "bbbb", "cccc", "dddd", "eeee"} {
		e.write(s)
		e.pass()
	}
	e.write("ff")
	e.pass() // below the size: nothing changes
	assertFiles(t, e.files(), map[string]string{
		"0.log":                    "ff",
		"0.log.20240305-060711.gz": "cccc",
		"0.log.20240305-060712.gz": "dddd",
		"0.log.20240305-060713":    "eeee",
	})
	if n := e.reopens(); n != 5 {
		t.Errorf("%d reopens, want 5", n)
	}
}

func TestMaxFilesBelowTwoKeepsOneRotatedFile(t *testing.T) {
	for _, maxFiles := range []int{1, -3} {
		e := newEnv(t, 1, maxFiles)
		for _, s := range []string{"a", "b", "c"} {
			e.write(s)
			e.pass()
		}
		assertFiles(t, e.files(), map[string]string{"0.log": "", "0.log.20240305-060711": "c"})
	}
}

func TestDefaults(t *testing.T) {
	rt := fake.New()
	defer rt.Close()
	m := New(Config{Runtime: rt})
	if m.maxSize != 10<<20 || m.maxFiles != 5 || m.interval != 10*time.Second {
		t.Errorf("defaults: size %d, files %d, interval %s", m.maxSize, m.maxFiles, m.interval)
	}
}

func TestLeftoversOfAnInterruptedCompressionAreRemoved(t *testing.T) {
	e := newEnv(t, 4, 5)
	dir := filepath.Dir(e.path)
	for name, content := range map[string]string{
		"0.log.20240101-000000":        "half-compressed, its .gz is complete",
		"0.log.20240101-000001.gz.tmp": "partial",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := compress(filepath.Join(dir, "0.log.20240101-000000")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "0.log.20240101-000000"), []byte("left over"), 0o640); err != nil {
		t.Fatal(err)
	}
	e.write("abcd")
	e.pass()
	assertFiles(t, e.files(), map[string]string{
		"0.log":                    "",
		"0.log.20240101-000000.gz": "half-compressed, its .gz is complete",
		"0.log.20240305-060709":    "abcd",
	})
}

func TestFailedReopenUndoesTheRename(t *testing.T) {
	e := newEnv(t, 4, 5)
	e.write("abcd")
	e.rt.FailNext("ReopenContainerLog", errors.New("boom"))
	e.pass()
	assertFiles(t, e.files(), map[string]string{"0.log": "abcd"})
	e.pass()
	assertFiles(t, e.files(), map[string]string{"0.log": "", "0.log.20240305-060710": "abcd"})
}

func TestMissingLogIsReopened(t *testing.T) {
	e := newEnv(t, 4, 5)
	e.pass()
	if _, err := os.Stat(e.path); err != nil {
		t.Errorf("log not recreated: %v", err)
	}
	if n := e.reopens(); n != 1 {
		t.Errorf("%d reopens, want 1", n)
	}
}

// Two rotations within a second would give the same name: the second
// waits for the next round.
func TestRotationWithinTheSameSecondWaits(t *testing.T) {
	e := newEnv(t, 4, 5)
	e.write("abcd")
	e.pass()
	e.write("efgh")
	e.m.rotateAll(context.Background()) // same clock
	assertFiles(t, e.files(), map[string]string{"0.log": "efgh", "0.log.20240305-060709": "abcd"})
	e.pass()
	assertFiles(t, e.files(), map[string]string{
		"0.log": "", "0.log.20240305-060709.gz": "abcd", "0.log.20240305-060710": "efgh",
	})
}

func TestExitedContainersAreNotRotated(t *testing.T) {
	e := newEnv(t, 4, 5)
	e.write("abcdefgh")
	if err := e.rt.Exit(e.id, 0); err != nil {
		t.Fatal(err)
	}
	e.pass()
	assertFiles(t, e.files(), map[string]string{"0.log": "abcdefgh"})
}

func TestRunRotatesEveryIntervalUntilCancelled(t *testing.T) {
	e := newEnv(t, 4, 5)
	e.m.interval = 10 * time.Millisecond
	e.m.now = time.Now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.m.Run(ctx)
		close(done)
	}()
	e.write("abcd")
	deadline := time.Now().Add(5 * time.Second)
	for len(e.files()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("not rotated")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if got := e.files(); len(got) != 2 || got["0.log"] != "" {
		t.Errorf("files after Run: %v", got)
	}
}

func TestNegativeMaxSizeTurnsRotationOff(t *testing.T) {
	e := newEnv(t, -1, 5)
	e.write("abcd")
	e.m.Run(context.Background())       // returns at once
	if n := len(e.rt.Calls()); n != 3 { // CreateSandbox, CreateContainer, StartContainer
		t.Errorf("calls: %+v", e.rt.Calls())
	}
}
