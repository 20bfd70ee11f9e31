package linux

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orca-pods/orca/internal/runtime"
)

func TestEchoHelloIsWrittenToTheCRILog(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("echo")
	cfg := e.config("echo", "echo", "hello")
	st := e.run(sb, cfg)
	if st.State != runtime.StateExited || st.ExitCode != 0 || st.Reason != "" {
		t.Fatalf("status = %s exit %d reason %q, want exited 0", st.State, st.ExitCode, st.Reason)
	}
	lines := readLog(t, cfg.LogPath)
	if len(lines) != 1 || lines[0].stream != "stdout" || lines[0].tag != "F" || lines[0].content != "hello" {
		t.Fatalf("log = %+v, want one full stdout line \"hello\"", lines)
	}
	if st.StartedAt.IsZero() || st.FinishedAt.Before(st.StartedAt) {
		t.Errorf("startedAt %v finishedAt %v", st.StartedAt, st.FinishedAt)
	}
	fi, err := os.Stat(cfg.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("log file mode = %v, want 0640", fi.Mode().Perm())
	}
}

func TestStdoutAndStderrAreTaggedInTheLog(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("streams")
	cfg := e.config("streams", "sh", "-c", "echo out; echo err >&2; printf partial")
	e.run(sb, cfg)
	if got := logText(t, cfg.LogPath, "stdout"); got != "out\npartial" {
		t.Errorf("stdout = %q", got)
	}
	if got := logText(t, cfg.LogPath, "stderr"); got != "err\n" {
		t.Errorf("stderr = %q", got)
	}
}

// The exit must be seen when it happens, not at the next poll. The
// container exits right after reading from a FIFO we write to.
func TestExitCodeIsReportedOnEventsWithin100ms(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("exit3")
	sync := t.TempDir()
	fifo := filepath.Join(sync, "go")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := e.config("exit3", "sh", "-c", "read x < /sync/go; exit 3")
	cfg.Mounts = []runtime.Mount{{HostPath: sync, ContainerPath: "/sync"}}
	id := e.start(sb, cfg)
	e.waitEvent(id, runtime.ContainerStarted, 5*time.Second)
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for the container's read
	if err != nil {
		t.Fatal(err)
	}
	released := time.Now()
	f.Write([]byte("go\n"))
	f.Close()
	received := e.waitEvent(id, runtime.ContainerExited, 5*time.Second)
	latency := received.Sub(released)
	t.Logf("exit reported %v after the container was released", latency)
	if latency > 100*time.Millisecond {
		t.Errorf("exit reported after %v, want < 100ms", latency)
	}
	st := e.status(id)
	if st.State != runtime.StateExited || st.ExitCode != 3 || st.Signal != 0 || st.OOMKilled {
		t.Fatalf("status = %+v, want exited 3", st)
	}
	if st.FinishedAt.Before(released) || st.FinishedAt.After(received) {
		t.Errorf("finishedAt %v not between %v and %v", st.FinishedAt, released, received)
	}
}

func TestCommandNotFoundIsAStartErrorWithRuncsMessage(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("nosuch")
	id := e.create(sb, e.config("nosuch", "nosuch"))
	err := e.rt.StartContainer(context.Background(), id)
	if err == nil {
		t.Fatal("StartContainer succeeded")
	}
	e.waitEvent(id, runtime.ContainerExited, 5*time.Second)
	st := e.status(id)
	want := `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: exec: "nosuch": executable file not found in $PATH: unknown`
	if st.State != runtime.StateExited || st.ExitCode != 128 || st.Reason != "StartError" || st.Message != want {
		t.Fatalf("status = %s exit %d reason %q message %q\nwant exited 128 StartError %q", st.State, st.ExitCode, st.Reason, st.Message, want)
	}
	if !strings.Contains(err.Error(), `exec: "nosuch": executable file not found in $PATH`) {
		t.Errorf("StartContainer error = %v", err)
	}
	if err := e.rt.StartContainer(context.Background(), id); err == nil {
		t.Error("a second start of an exited container succeeded")
	}
}

func TestWorkingDirUnderAFileIsAStartError(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("badcwd")
	cfg := e.config("badcwd", "true")
	cfg.WorkingDir = "/bin/busybox/sub"
	id := e.create(sb, cfg)
	if err := e.rt.StartContainer(context.Background(), id); err == nil {
		t.Fatal("StartContainer succeeded")
	}
	st := e.status(id)
	if st.ExitCode != 128 || st.Reason != "StartError" || !strings.Contains(st.Message, "not a directory") ||
		!strings.HasPrefix(st.Message, startErrorPrefix) {
		t.Fatalf("status = exit %d reason %q message %q", st.ExitCode, st.Reason, st.Message)
	}
}

func TestEnvAndMissingWorkingDirIsCreated(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("env")
	cfg := e.config("env", "sh", "-c", `pwd; echo "$FOO $HOSTNAME"; echo "$PATH"`)
	cfg.Env = []string{"FOO=bar"}
	cfg.WorkingDir = "/work/dir"
	e.run(sb, cfg)
	want := "/work/dir\nbar env\n" + strings.TrimPrefix(defaultPathEnv, "PATH=") + "\n"
	if got := logText(t, cfg.LogPath, "stdout"); got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

func TestReadOnlyRootfsPreventsWrites(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("ro")
	cfg := e.config("ro", "sh", "-c", "touch /x || exit 9; exit 0")
	cfg.Security.ReadOnlyRootfs = true
	st := e.run(sb, cfg)
	if st.ExitCode != 9 {
		t.Fatalf("exit code = %d, want 9 (touch failed)", st.ExitCode)
	}
	if got := logText(t, cfg.LogPath, "stderr"); !strings.Contains(got, "Read-only file system") {
		t.Errorf("stderr = %q", got)
	}
	// The writable rootfs of another container keeps the write.
	cfg = e.config("rw", "sh", "-c", "touch /x && cat /x")
	if st := e.run(sb, cfg); st.ExitCode != 0 {
		t.Fatalf("write to a writable rootfs: exit %d", st.ExitCode)
	}
}

func TestUserAndSupplementaryGroups(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("user")
	cfg := e.config("user", "id")
	cfg.User = runtime.User{UID: 1000, GID: 2000, AdditionalGIDs: []int64{3000}}
	e.run(sb, cfg)
	if got := logText(t, cfg.LogPath, "stdout"); got != "uid=1000 gid=2000 groups=2000,3000\n" {
		t.Errorf("id = %q", got)
	}
}

func TestEtcFilesComeFromTheSandbox(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("etc")
	cfg := e.config("etc", "sh", "-c", "cat /etc/hosts /etc/resolv.conf /etc/hostname; hostname")
	e.run(sb, cfg)
	want := "127.0.0.1\tlocalhost\nnameserver 10.96.0.10\netc\netc\n"
	if got := logText(t, cfg.LogPath, "stdout"); got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}

	// A container mounting its own /etc/hosts gets that one.
	own := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(own, []byte("10.0.0.1 mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg = e.config("ownhosts", "cat", "/etc/hosts")
	cfg.Mounts = []runtime.Mount{{HostPath: own, ContainerPath: "/etc/hosts", ReadOnly: true}}
	e.run(sb, cfg)
	if got := logText(t, cfg.LogPath, "stdout"); got != "10.0.0.1 mine\n" {
		t.Errorf("own /etc/hosts = %q", got)
	}
}

func TestMountsBindReadOnlyAndTmpfs(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("mounts")
	rw, ro := t.TempDir(), t.TempDir()
	cfg := e.config("mounts", "sh", "-c",
		"echo data > /rw/file && ! touch /ro/file 2>/dev/null && grep -q ' /scratch tmpfs ' /proc/mounts && touch /scratch/x")
	cfg.Mounts = []runtime.Mount{
		{HostPath: rw, ContainerPath: "/rw"},
		{HostPath: ro, ContainerPath: "/ro", ReadOnly: true},
		{ContainerPath: "/scratch", Tmpfs: true},
	}
	if st := e.run(sb, cfg); st.ExitCode != 0 {
		t.Fatalf("exit %d, log %q", st.ExitCode, logText(t, cfg.LogPath, "stderr"))
	}
	if got := readFileString(t, filepath.Join(rw, "file")); got != "data" {
		t.Errorf("file written through the bind mount = %q", got)
	}
}

func TestTTYOutputIsLoggedAsStdout(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("tty")
	cfg := e.config("tty", "sh", "-c", "tty; echo hello >&2")
	cfg.TTY = true
	if st := e.run(sb, cfg); st.ExitCode != 0 {
		t.Fatalf("exit %d", st.ExitCode)
	}
	lines := readLog(t, cfg.LogPath)
	var got []string
	for _, l := range lines {
		if l.stream != "stdout" {
			t.Errorf("stream %q in a TTY log", l.stream)
		}
		got = append(got, strings.TrimSuffix(l.content, "\r"))
	}
	if strings.Join(got, "|") != "/dev/pts/0|hello" {
		t.Errorf("log contents = %q", got)
	}
}

func TestMaskedPathsAndUnmasked(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("masks")
	script := "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; " +
		"touch /proc/sysrq-trigger 2>/dev/null && echo writable || echo readonly"
	cfg := e.config("masked", "sh", "-c", script)
	e.run(sb, cfg)
	if got := logText(t, cfg.LogPath, "stdout"); got != "0\n0\nreadonly\n" {
		t.Errorf("masked: %q", got)
	}
	cfg = e.config("unmasked", "sh", "-c", "grep -c ' /proc/timer_list ' /proc/self/mountinfo")
	cfg.Security.MaskedPathsUnmasked = true
	e.run(sb, cfg)
	if got := logText(t, cfg.LogPath, "stdout"); got != "0\n" {
		t.Errorf("unmasked: /proc/kcore mounts = %q", got)
	}
}
