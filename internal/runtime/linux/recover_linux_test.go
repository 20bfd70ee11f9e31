package linux

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orca-pods/orca/internal/runtime"
)

// earlierRuntimeEnv makes the test binary act as an earlier runtime
// process (see runEarlierRuntime) instead of running tests.
const earlierRuntimeEnv = "ORCA_RUNTIME_TEST_EARLIER"

type earlierRuntime struct {
	Sandbox                 runtime.Sandbox
	Ticker, Exited, Created string
}

// runEarlierRuntime, in a child process, starts a runtime on the dirs the
// test gave, leaves a sandbox with a running, an exited and a created
// container, prints their IDs and exits without any cleanup: the running
// container outlives it, as it would outlive a restarted agent.
func runEarlierRuntime() int {
	var in struct{ Base, Layer, Cgroup string }
	if err := json.Unmarshal([]byte(os.Getenv(earlierRuntimeEnv)), &in); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rt, err := New(Config{
		StateDir: filepath.Join(in.Base, "state"),
		RootDir:  filepath.Join(in.Base, "root"),
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return fail(err)
	}
	ctx := context.Background()
	sb, err := rt.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: "test-" + newID()[:16], PodName: "earlier",
		Namespace: "default", CgroupParent: in.Cgroup + "/earlier"})
	if err != nil {
		return fail(err)
	}
	out := earlierRuntime{Sandbox: *sb}
	for _, c := range []struct {
		id    *string
		args  []string
		start bool
	}{
		{&out.Ticker, []string{"sh", "-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.05; done"}, true},
		{&out.Exited, []string{"sh", "-c", "exit 4"}, true},
		{&out.Created, []string{"echo", "late"}, false},
	} {
		name := c.args[len(c.args)-1][:4]
		id, err := rt.CreateContainer(ctx, sb.ID, runtime.ContainerConfig{
			Name:         name,
			Labels:       map[string]string{"name": name},
			RootfsLayers: []string{in.Layer},
			Args:         c.args,
			LogPath:      filepath.Join(in.Base, "logs", name+".log"),
		})
		if err != nil {
			return fail(err)
		}
		*c.id = id
		if c.start {
			if err := rt.StartContainer(ctx, id); err != nil {
				return fail(err)
			}
		}
	}
	for ev := range rt.Events() {
		if ev.ContainerID == out.Exited && ev.Type == runtime.ContainerExited {
			break
		}
	}
	time.Sleep(200 * time.Millisecond) // some ticks
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		return fail(err)
	}
	return 0
}

func TestNewRuntimeAdoptsContainersOfAnEarlierProcess(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	in, _ := json.Marshal(map[string]string{"Base": e.base, "Layer": e.layer, "Cgroup": e.cgroup})
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), earlierRuntimeEnv+"="+string(in))
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("earlier runtime: %v", err)
	}
	var earlier earlierRuntime
	if err := json.Unmarshal(b, &earlier); err != nil {
		t.Fatalf("earlier runtime printed %q: %v", b, err)
	}

	rt := e.newRuntime()
	sbs, _ := rt.ListSandboxes(ctx)
	if len(sbs) != 1 || sbs[0].ID != earlier.Sandbox.ID || sbs[0].NetNSPath != earlier.Sandbox.NetNSPath {
		t.Fatalf("sandboxes = %+v, want %+v", sbs, earlier.Sandbox)
	}
	list, _ := rt.ListContainers(ctx)
	got := make(map[string]*runtime.ContainerStatus)
	for _, st := range list {
		got[st.ID] = st
	}
	for _, want := range []struct {
		id    string
		name  string
		state runtime.State
		code  int
	}{
		{earlier.Ticker, "i=0;", runtime.StateRunning, 0},
		{earlier.Exited, "exit", runtime.StateExited, 4},
		{earlier.Created, "late", runtime.StateCreated, 0},
	} {
		st := got[want.id]
		if st == nil {
			t.Fatalf("container %s (%s) not listed", want.id, want.name)
		}
		if st.State != want.state || st.ExitCode != want.code || st.Labels["name"] != want.name || st.SandboxID != earlier.Sandbox.ID {
			t.Errorf("container %s: %+v, want %s exit %d label %q", want.name, st, want.state, want.code, want.name)
		}
	}

	// The running container's output reaches its log again.
	logPath := filepath.Join(e.base, "logs", "i=0;.log")
	before := strings.Count(logText(t, logPath, "stdout"), "tick")
	time.Sleep(500 * time.Millisecond)
	after := strings.Count(logText(t, logPath, "stdout"), "tick")
	if after <= before || before == 0 {
		t.Errorf("ticks in the log: %d, then %d", before, after)
	}
	// Exec and stop work on it, and its exit is seen (without the status).
	if code, err := rt.Exec(ctx, earlier.Ticker, runtime.ExecRequest{Cmd: []string{"true"}}); err != nil || code != 0 {
		t.Errorf("exec in the adopted container: %d %v", code, err)
	}
	if err := rt.StopContainer(ctx, earlier.Ticker, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if st, _ := rt.ContainerStatus(ctx, earlier.Ticker); st.State != runtime.StateExited || st.ExitCode != 255 || st.Reason != "Unknown" {
		t.Errorf("stopped adopted container: %+v", st)
	}
	// The created one starts.
	if err := rt.StartContainer(ctx, earlier.Created); err != nil {
		t.Fatal(err)
	}
	if err := rt.RemoveSandbox(ctx, earlier.Sandbox.ID); err != nil {
		t.Fatal(err)
	}
	if m := mountsUnder(t, e.base); len(m) > 0 {
		t.Errorf("mounts remain: %q", m)
	}
}

// After a reboot the state files are there (StateDir is on disk here) but
// the mounts and processes are not.
func TestNewRuntimeRemovesStateARebootLeftBehind(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	sb := e.sandbox("rebooted")
	id := e.create(sb, e.config("rebooted", "true"))
	e.rt.Close()
	for _, pin := range []string{sb.NetNSPath, sb.IPCNSPath, sb.UTSNSPath} {
		if err := unix.Unmount(pin, unix.MNT_DETACH); err != nil {
			t.Fatal(err)
		}
	}
	orphans := []string{
		filepath.Join(e.base, "root", "orphan1", "upper"),
		filepath.Join(e.base, "state", "libcontainer", "orphan2"),
		filepath.Join(e.base, "state", "io", "orphan3"),
	}
	for _, dir := range orphans {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	rt := e.newRuntime()
	if sbs, _ := rt.ListSandboxes(ctx); len(sbs) != 0 {
		t.Errorf("sandboxes: %+v", sbs)
	}
	if _, err := rt.ContainerStatus(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("container of the stale sandbox: %v", err)
	}
	for _, p := range append(orphans, sb.NetNSPath, sb.IPCNSPath, sb.UTSNSPath) {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s remains", p)
		}
	}
	for _, dir := range cgroupDirs(t, sb.CgroupParent) {
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("pod cgroup %s remains", dir)
		}
	}
}
