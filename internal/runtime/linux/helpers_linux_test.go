package linux

import (
	"bufio"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/cgroups"

	"github.com/orca-pods/orca/internal/runtime"
)

const busyboxPath = "/bin/busybox"

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs real containers (namespaces, cgroups, overlay mounts)")
	}
	if _, err := os.Stat(busyboxPath); err != nil {
		t.Skipf("needs a static %s (Debian: busybox-static) to build the test image", busyboxPath)
	}
}

// busyboxLayer builds an image layer from the host's static busybox: the
// binary in /bin with a symlink per applet.
func busyboxLayer(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"bin", "etc", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(busyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// testEnv is a Runtime on temporary dirs, with pods under a cgroup of
// their own; everything is torn down (and checked) at the end of the test.
type testEnv struct {
	t       testing.TB
	rt      *Runtime
	base    string
	layer   string
	cgroup  string // the test's top cgroup: /orca-test-<random>
	pending []runtime.Event
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	requireRoot(t)
	e := &testEnv{t: t, base: t.TempDir(), cgroup: "/orca-test-" + newID()[:12]}
	e.layer = busyboxLayer(t)
	t.Cleanup(func() {
		if err := removePodCgroup(e.cgroup); err != nil {
			t.Errorf("remove test cgroup: %v", err)
		}
	})
	e.rt = e.newRuntime()
	return e
}

func (e *testEnv) newRuntime() *Runtime {
	e.t.Helper()
	rt, err := New(Config{
		StateDir: filepath.Join(e.base, "state"),
		RootDir:  filepath.Join(e.base, "root"),
		Logger:   slog.New(slog.NewTextHandler(testWriter{e.t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		// Remove what the test left, so that the TempDir cleanup (which
		// runs after) finds no mounts.
		ctx := context.Background()
		sbs, _ := rt.ListSandboxes(ctx)
		for _, sb := range sbs {
			if err := rt.RemoveSandbox(ctx, sb.ID); err != nil {
				e.t.Errorf("cleanup: %v", err)
			}
		}
		rt.Close()
	})
	return rt
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

func (e *testEnv) sandbox(name string, mods ...func(*runtime.SandboxConfig)) *runtime.Sandbox {
	e.t.Helper()
	uid := "test-" + newID()[:16]
	cfg := runtime.SandboxConfig{
		PodUID:       uid,
		PodName:      name,
		Namespace:    "default",
		Hostname:     name,
		CgroupParent: e.cgroup + "/pod" + uid,
		EtcHosts:     "127.0.0.1\tlocalhost\n",
		ResolvConf:   "nameserver 10.96.0.10\n",
	}
	for _, m := range mods {
		m(&cfg)
	}
	sb, err := e.rt.CreateSandbox(context.Background(), cfg)
	if err != nil {
		e.t.Fatalf("CreateSandbox: %v", err)
	}
	return sb
}

func (e *testEnv) config(name string, args ...string) runtime.ContainerConfig {
	return runtime.ContainerConfig{
		Name:         name,
		Labels:       map[string]string{"io.kubernetes.container.name": name},
		ImageRef:     "busybox:test",
		RootfsLayers: []string{e.layer},
		Args:         args,
		LogPath:      filepath.Join(e.base, "logs", name+".log"),
	}
}

func (e *testEnv) create(sb *runtime.Sandbox, cfg runtime.ContainerConfig) string {
	e.t.Helper()
	id, err := e.rt.CreateContainer(context.Background(), sb.ID, cfg)
	if err != nil {
		e.t.Fatalf("CreateContainer %s: %v", cfg.Name, err)
	}
	return id
}

func (e *testEnv) start(sb *runtime.Sandbox, cfg runtime.ContainerConfig) string {
	e.t.Helper()
	id := e.create(sb, cfg)
	if err := e.rt.StartContainer(context.Background(), id); err != nil {
		e.t.Fatalf("StartContainer %s: %v", cfg.Name, err)
	}
	return id
}

// run starts a container and waits for it to exit.
func (e *testEnv) run(sb *runtime.Sandbox, cfg runtime.ContainerConfig) *runtime.ContainerStatus {
	e.t.Helper()
	id := e.start(sb, cfg)
	e.waitEvent(id, runtime.ContainerExited, 30*time.Second)
	return e.status(id)
}

func (e *testEnv) status(id string) *runtime.ContainerStatus {
	e.t.Helper()
	st, err := e.rt.ContainerStatus(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// waitEvent waits for an event of a container, keeping the others for
// later calls. It returns when the event was received.
func (e *testEnv) waitEvent(id string, typ runtime.EventType, timeout time.Duration) time.Time {
	e.t.Helper()
	for i, ev := range e.pending {
		if ev.ContainerID == id && ev.Type == typ {
			e.pending = append(e.pending[:i], e.pending[i+1:]...)
			return time.Now()
		}
	}
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-e.rt.Events():
			if !ok {
				e.t.Fatal("events channel closed")
			}
			if ev.ContainerID == id && ev.Type == typ {
				return time.Now()
			}
			e.pending = append(e.pending, ev)
		case <-deadline:
			e.t.Fatalf("no event %d for container %s within %s", typ, id, timeout)
		}
	}
}

type criLine struct{ time, stream, tag, content string }

var criLineRE = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([FP]) (.*)$`)

// readLog parses a CRI log file, failing on any malformed line.
func readLog(t testing.TB, path string) []criLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []criLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		m := criLineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("malformed CRI log line %q", sc.Text())
		}
		out = append(out, criLine{m[1], m[2], m[3], m[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// logText joins one stream's records the way the kubelet does.
func logText(t testing.TB, path, stream string) string {
	var b strings.Builder
	for _, l := range readLog(t, path) {
		if l.stream != stream {
			continue
		}
		b.WriteString(l.content)
		if l.tag == "F" {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// cgroupDirs lists where a cgroup path lives in every hierarchy.
func cgroupDirs(t testing.TB, path string) []string {
	t.Helper()
	if cgroups.IsCgroup2UnifiedMode() {
		return []string{filepath.Join("/sys/fs/cgroup", path)}
	}
	mounts, err := cgroups.GetCgroupMounts(false)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, m := range mounts {
		dirs = append(dirs, filepath.Join(m.Mountpoint, path))
	}
	if cgroups.IsCgroup2HybridMode() {
		dirs = append(dirs, filepath.Join("/sys/fs/cgroup/unified", path))
	}
	return dirs
}

// controllerDir is a cgroup's directory for one v1 controller (or the
// unified one on v2).
func controllerDir(t testing.TB, controller, path string) string {
	t.Helper()
	if cgroups.IsCgroup2UnifiedMode() {
		return filepath.Join("/sys/fs/cgroup", path)
	}
	mnt, err := cgroups.FindCgroupMountpoint("", controller)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(mnt, path)
}

// mountsUnder returns the mount points in our mount table that contain s.
func mountsUnder(t testing.TB, s string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && strings.Contains(fields[4], s) {
			out = append(out, fields[4])
		}
	}
	return out
}

func readFileString(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
