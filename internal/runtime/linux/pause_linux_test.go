package linux

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orca-pods/orca/internal/runtime"
)

func sharePID(c *runtime.SandboxConfig) { c.SharePID = true }

// pausePID reads the pause process's pid from a sandbox's PIDNSPath.
func pausePID(t testing.TB, sb *runtime.Sandbox) int {
	t.Helper()
	var pid int
	if _, err := fmt.Sscanf(sb.PIDNSPath, "/proc/%d/ns/pid", &pid); err != nil {
		t.Fatalf("PIDNSPath %q: %v", sb.PIDNSPath, err)
	}
	return pid
}

type hostProc struct {
	pid   int
	state string
	comm  string
}

// childrenOf lists the processes whose parent is pid, zombies included,
// from the host's /proc.
func childrenOf(t testing.TB, pid int) []hostProc {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []hostProc
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		open, closing := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		fields := strings.Fields(string(b[closing+1:]))
		if open < 0 || len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == pid {
			out = append(out, hostProc{pid: n, state: fields[0], comm: string(b[open+1 : closing])})
		}
	}
	return out
}

func parentOf(t testing.TB, pid int) int {
	t.Helper()
	for _, line := range strings.Split(readFileString(t, fmt.Sprintf("/proc/%d/status", pid)), "\n") {
		if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Fatalf("no PPid in /proc/%d/status", pid)
	return 0
}

// processGone reports whether the process that had pid and start time is
// no longer there, not even as a zombie.
func processGone(pid int, start uint64) bool {
	st, err := procStartTime(pid)
	return err != nil || st != start
}

func waitGone(t testing.TB, pid int, start uint64, what string) {
	t.Helper()
	for range 500 {
		if processGone(pid, start) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	t.Fatalf("%s (pid %d) still there: %s", what, pid, b)
}

func vmRSS(t testing.TB, pid int) string {
	t.Helper()
	for _, line := range strings.Split(readFileString(t, fmt.Sprintf("/proc/%d/status", pid)), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:"))
		}
	}
	return "?"
}

func TestSharedPIDSandboxContainersSeeEachOtherWithPauseAsPID1(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	sb := e.sandbox("sharepid", sharePID)
	pid := pausePID(t, sb)
	start, err := procStartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pause process %d: VmRSS %s", pid, vmRSS(t, pid))

	// The pause is in the pod's namespaces and cgroup, in a session of
	// its own.
	for kind, pin := range map[string]string{"net": sb.NetNSPath, "ipc": sb.IPCNSPath, "uts": sb.UTSNSPath} {
		if got, want := nsInode(t, fmt.Sprintf("/proc/%d/ns/%s", pid, kind)), nsInode(t, pin); got != want {
			t.Errorf("pause %s namespace %s, want the sandbox's %s", kind, got, want)
		}
	}
	if nsInode(t, sb.PIDNSPath) == nsInode(t, "/proc/self/ns/pid") {
		t.Error("the pause is in the host's PID namespace")
	}
	if cg := readFileString(t, fmt.Sprintf("/proc/%d/cgroup", pid)); !strings.Contains(cg, sb.CgroupParent+"/pause") {
		t.Errorf("pause cgroups:\n%s\nwant %s/pause", cg, sb.CgroupParent)
	}
	if sid, _ := unix.Getsid(pid); sid != pid {
		t.Errorf("pause session %d, want its own", sid)
	}

	sleeper := e.start(sb, e.config("sleeper", "sleep", "1000"))
	sleeperPID := 0
	c, _ := e.rt.container(sleeper)
	c.mu.Lock()
	lc := c.lc
	c.mu.Unlock()
	if st, err := lc.State(); err == nil {
		sleeperPID = st.InitProcessPid
	}
	looker := e.config("looker", "sh", "-c",
		"ps -o pid,args; echo; tr '\\0' ' ' < /proc/1/cmdline; echo; readlink /proc/self/ns/pid")
	if st := e.run(sb, looker); st.ExitCode != 0 {
		t.Fatalf("looker exit %d: %s", st.ExitCode, logText(t, looker.LogPath, "stderr"))
	}
	out := logText(t, looker.LogPath, "stdout")
	parts := strings.Split(out, "\n\n")
	if len(parts) != 2 {
		t.Fatalf("looker printed %q", out)
	}
	if !strings.Contains(parts[0], "sleep 1000") {
		t.Errorf("ps in one container does not show the other's sleep:\n%s", parts[0])
	}
	if first := strings.Fields(strings.Split(parts[0], "\n")[1]); len(first) < 2 || first[0] != "1" || first[1] != "/pause" {
		t.Errorf("ps does not show the pause as pid 1:\n%s", parts[0])
	}
	lines := strings.Split(strings.TrimSpace(parts[1]), "\n")
	if len(lines) != 2 || strings.TrimSpace(lines[0]) != "/pause orca-pause" || lines[1] != "pid:["+nsInode(t, sb.PIDNSPath)+"]" {
		t.Errorf("pid 1 and pid namespace %q, want /pause orca-pause in pid:[%s]", lines, nsInode(t, sb.PIDNSPath))
	}

	if err := e.rt.RemoveSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid, start, "pause process")
	if sleeperPID > 0 {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", sleeperPID)); err == nil {
			t.Errorf("the sleeper (pid %d) survived RemoveSandbox", sleeperPID)
		}
	}
	if kids := childrenOf(t, os.Getpid()); len(kids) > 0 {
		for _, k := range kids {
			if k.state == "Z" {
				t.Errorf("zombie child of the runtime left: %+v", k)
			}
		}
	}
}

func TestPauseReapsOrphansOfTheSharedPIDNamespace(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("reaper", sharePID)
	pid := pausePID(t, sb)
	// Each subshell exits at once, so its background sleep is reparented
	// to PID 1 of the namespace: the pause.
	e.start(sb, e.config("orphans", "sh", "-c", "for i in 1 2 3; do (sleep 1 &); done; exec sleep 1000"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		kids := childrenOf(t, pid)
		if len(kids) == 3 {
			for _, k := range kids {
				if k.comm != "sleep" {
					t.Fatalf("pause children: %+v", kids)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pause children: %+v, want the 3 orphaned sleeps", kids)
		}
		time.Sleep(20 * time.Millisecond)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		kids := childrenOf(t, pid)
		if len(kids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pause children after their exit: %+v (Z: zombies not reaped)", kids)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// In a shared PID namespace an init's exit does not end the container's
// other processes: the runtime kills them, so the exit is reported at once
// rather than after the log drain times out on their open stdout.
func TestExitInSharedPIDNamespaceKillsTheContainersOtherProcesses(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("leftovers", sharePID)
	pid := pausePID(t, sb)
	t0 := time.Now()
	st := e.run(sb, e.config("leftovers", "sh", "-c", "sleep 1000 & echo started; exit 3"))
	if took := time.Since(t0); took > logDrainTimeout {
		t.Errorf("exit reported after %s", took)
	}
	if st.ExitCode != 3 {
		t.Errorf("exit code %d, want 3", st.ExitCode)
	}
	for range 100 {
		if len(childrenOf(t, pid)) == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if kids := childrenOf(t, pid); len(kids) > 0 {
		t.Errorf("left in the pod's PID namespace: %+v", kids)
	}
}

// When the pause dies, its PID namespace dies with every process in it;
// the next container start gets a new pause and namespace.
func TestStartAfterThePauseDiedStartsANewPause(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	sb := e.sandbox("repause", sharePID)
	old := pausePID(t, sb)
	oldStart, _ := procStartTime(old)
	victim := e.start(sb, e.config("victim", "sleep", "1000"))
	if err := unix.Kill(old, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitEvent(victim, runtime.ContainerExited, 10*time.Second)
	waitGone(t, old, oldStart, "killed pause process")

	after := e.config("after", "sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; echo; readlink /proc/self/ns/pid")
	if st := e.run(sb, after); st.ExitCode != 0 {
		t.Fatalf("exit %d: %s", st.ExitCode, logText(t, after.LogPath, "stderr"))
	}
	sbs, _ := e.rt.ListSandboxes(ctx)
	if len(sbs) != 1 || sbs[0].PIDNSPath == sb.PIDNSPath {
		t.Fatalf("sandboxes after the pause died: %+v", sbs)
	}
	want := fmt.Sprintf("/pause orca-pause \npid:[%s]\n", nsInode(t, sbs[0].PIDNSPath))
	if got := logText(t, after.LogPath, "stdout"); got != want {
		t.Errorf("new container sees %q, want %q", got, want)
	}
	rec := &sandbox{}
	if err := readJSON(e.rt.sandboxRecordPath(sb.ID), rec); err != nil || rec.PausePID != pausePID(t, sbs[0]) {
		t.Errorf("sandbox record: pause pid %d (%v), want %d", rec.PausePID, err, pausePID(t, sbs[0]))
	}
}

func TestSharePIDWithHostPIDIsRejected(t *testing.T) {
	e := newTestEnv(t)
	_, err := e.rt.CreateSandbox(context.Background(), runtime.SandboxConfig{
		PodUID: "test-" + newID()[:16], PodName: "both", Namespace: "default",
		CgroupParent: e.cgroup + "/both", SharePID: true, HostPID: true,
	})
	if err == nil || !strings.Contains(err.Error(), "SharePID and HostPID cannot both be set") {
		t.Fatalf("err = %v", err)
	}
}

func TestSandboxWithoutSharePIDHasNoPause(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("nopause")
	if sb.PIDNSPath != "" {
		t.Errorf("PIDNSPath = %q", sb.PIDNSPath)
	}
	if kids := childrenOf(t, os.Getpid()); len(kids) > 0 {
		t.Errorf("the runtime has child processes: %+v", kids)
	}
}

// earlierPauseEnv makes the test binary act as an earlier runtime that
// leaves a SharePID sandbox (see runEarlierPauseRuntime).
const earlierPauseEnv = "ORCA_RUNTIME_TEST_EARLIER_PAUSE"

type earlierPause struct {
	Sandbox runtime.Sandbox
	Sleeper string
}

// runEarlierPauseRuntime, in a child process, makes a SharePID sandbox with
// a running container, prints them and exits: the pause is no longer the
// child of any runtime, as after an agent restart.
func runEarlierPauseRuntime() int {
	var in struct{ Base, Layer, Cgroup string }
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := json.Unmarshal([]byte(os.Getenv(earlierPauseEnv)), &in); err != nil {
		return fail(err)
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
		Namespace: "default", CgroupParent: in.Cgroup + "/earlier", SharePID: true})
	if err != nil {
		return fail(err)
	}
	id, err := rt.CreateContainer(ctx, sb.ID, runtime.ContainerConfig{
		Name: "sleeper", RootfsLayers: []string{in.Layer}, Args: []string{"sleep", "1000"},
		LogPath: filepath.Join(in.Base, "logs", "sleeper.log"),
	})
	if err != nil {
		return fail(err)
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		return fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(earlierPause{Sandbox: *sb, Sleeper: id}); err != nil {
		return fail(err)
	}
	return 0
}

func TestNewRuntimeAdoptsThePauseOfAnEarlierProcess(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	in, _ := json.Marshal(map[string]string{"Base": e.base, "Layer": e.layer, "Cgroup": e.cgroup})
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), earlierPauseEnv+"="+string(in))
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("earlier runtime: %v", err)
	}
	var earlier earlierPause
	if err := json.Unmarshal(b, &earlier); err != nil {
		t.Fatalf("earlier runtime printed %q: %v", b, err)
	}
	pid := pausePID(t, &earlier.Sandbox)
	start, err := procStartTime(pid)
	if err != nil {
		t.Fatalf("the pause did not outlive its runtime: %v", err)
	}
	if ppid := parentOf(t, pid); ppid == os.Getpid() || ppid == cmd.Process.Pid {
		t.Fatalf("the pause's parent is %d, a runtime process", ppid)
	}

	rt := e.newRuntime()
	sbs, _ := rt.ListSandboxes(ctx)
	if len(sbs) != 1 || sbs[0].PIDNSPath != earlier.Sandbox.PIDNSPath {
		t.Fatalf("sandboxes = %+v, want %+v", sbs, earlier.Sandbox)
	}
	if st, _ := rt.ContainerStatus(ctx, earlier.Sleeper); st == nil || st.State != runtime.StateRunning {
		t.Fatalf("sleeper: %+v", st)
	}
	// The adopted container's log can be rotated too.
	sleeperLog := filepath.Join(e.base, "logs", "sleeper.log")
	if err := os.Rename(sleeperLog, sleeperLog+".1"); err != nil {
		t.Fatal(err)
	}
	if err := rt.ReopenContainerLog(ctx, earlier.Sleeper); err != nil {
		t.Fatalf("reopen the adopted container's log: %v", err)
	}
	if _, err := os.Stat(sleeperLog); err != nil {
		t.Errorf("log not recreated: %v", err)
	}
	e.rt = rt
	looker := e.config("looker", "sh", "-c", "ps -o pid,args")
	if st := e.run(sbs[0], looker); st.ExitCode != 0 {
		t.Fatalf("looker exit %d", st.ExitCode)
	}
	if out := logText(t, looker.LogPath, "stdout"); !strings.Contains(out, "sleep 1000") || !strings.Contains(out, "/pause orca-pause") {
		t.Errorf("a new container of the adopted sandbox sees:\n%s", out)
	}
	if err := rt.RemoveSandbox(ctx, earlier.Sandbox.ID); err != nil {
		t.Fatal(err)
	}
	// Not our child: the host's init reaps it (this VM's init, every
	// second or two).
	waitGone(t, pid, start, "adopted pause process")
}

// Like the C pause, the pause ignores the signals whose default action
// would end it: a container cannot end the pod with `kill -HUP 1`.
func TestPauseSurvivesStraySignalsFromContainers(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("signals", sharePID)
	pid := pausePID(t, sb)
	start, _ := procStartTime(pid)
	cfg := e.config("signaller", "sh", "-c", "for s in HUP QUIT ABRT PIPE USR1 USR2 ALRM; do kill -$s 1 || exit 1; done")
	if st := e.run(sb, cfg); st.ExitCode != 0 {
		t.Fatalf("exit %d: %s", st.ExitCode, logText(t, cfg.LogPath, "stderr"))
	}
	time.Sleep(100 * time.Millisecond)
	if processGone(pid, start) {
		t.Fatal("the pause died of a signal from a container")
	}
}
