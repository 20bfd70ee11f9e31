package linux

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/orca-pods/orca/internal/runtime"
)

func TestStopKillsAfterGraceWhenSIGTERMIsIgnored(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("stop")
	ctx := context.Background()
	cfg := e.config("stubborn", "sh", "-c", `trap "" TERM; while :; do sleep 1; done`)
	id := e.start(sb, cfg)
	time.Sleep(100 * time.Millisecond) // let sh ignore SIGTERM before it comes
	start := time.Now()
	if err := e.rt.StopContainer(ctx, id, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	st := e.status(id)
	if st.State != runtime.StateExited || st.ExitCode != 137 || st.Signal != 9 {
		t.Fatalf("status %s code %d signal %d, want exited by SIGKILL (137); stderr %q",
			st.State, st.ExitCode, st.Signal, logText(t, cfg.LogPath, "stderr"))
	}
	if took < 500*time.Millisecond || took > 3*time.Second {
		t.Errorf("stop took %v, want about the 500ms grace", took)
	}
	if err := e.rt.StopContainer(ctx, id, time.Second); err != nil {
		t.Errorf("stopping an exited container: %v", err)
	}
}

func TestStopSignalEndsAContainerThatHandlesIt(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("stopsig")
	for _, tc := range []struct {
		signal, trap string
		want         int
	}{
		{"", "TERM", 0},
		{"SIGUSR1", "USR1", 7},
	} {
		cfg := e.config("graceful"+tc.trap, "sh", "-c", `trap "exit `+map[int]string{0: "0", 7: "7"}[tc.want]+`" `+tc.trap+`; while :; do sleep 0.1; done`)
		cfg.StopSignal = tc.signal
		id := e.start(sb, cfg)
		time.Sleep(100 * time.Millisecond) // let sh install the trap
		start := time.Now()
		if err := e.rt.StopContainer(context.Background(), id, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if st := e.status(id); st.ExitCode != tc.want || st.Signal != 0 {
			t.Errorf("stop signal %q: exit %d signal %d, want %d", tc.signal, st.ExitCode, st.Signal, tc.want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("stop signal %q: took %v", tc.signal, d)
		}
	}
}

func TestExecRunsInTheRunningContainer(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("exec")
	ctx := context.Background()
	cfg := e.config("target", "sleep", "1000")
	cfg.WorkingDir = "/tmp"
	id := e.start(sb, cfg)

	exec := func(stdin string, tty bool, cmd ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		req := runtime.ExecRequest{Cmd: cmd, Stdout: &out, Stderr: &errb, TTY: tty}
		if stdin != "" {
			req.Stdin = strings.NewReader(stdin)
		}
		code, err := e.rt.Exec(ctx, id, req)
		if err != nil {
			t.Fatalf("exec %q: %v", cmd, err)
		}
		return code, out.String(), errb.String()
	}
	if code, out, _ := exec("", false, "id"); code != 0 || out != "uid=0(root) gid=0(root) groups=0(root)\n" && out != "uid=0 gid=0 groups=0\n" {
		t.Errorf("id: exit %d, output %q", code, out)
	}
	if code, _, _ := exec("", false, "sh", "-c", "exit 7"); code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
	if code, out, _ := exec("abc", false, "cat"); code != 0 || out != "abc" {
		t.Errorf("cat: exit %d, output %q", code, out)
	}
	if _, out, errOut := exec("", false, "sh", "-c", "pwd; hostname; tr '\\0' ' ' < /proc/1/cmdline; echo; echo e >&2"); out != "/tmp\nexec\nsleep 1000 \n" || errOut != "e\n" {
		t.Errorf("exec environment: stdout %q stderr %q", out, errOut)
	}
	if code, out, _ := exec("", true, "tty"); code != 0 || !strings.HasPrefix(out, "/dev/pts/") {
		t.Errorf("tty: exit %d, output %q", code, out)
	}
	resize := make(chan runtime.TerminalSize, 1)
	resize <- runtime.TerminalSize{Width: 100, Height: 40}
	var sizeOut bytes.Buffer
	if code, err := e.rt.Exec(ctx, id, runtime.ExecRequest{Cmd: []string{"stty", "size"}, TTY: true, Stdout: &sizeOut, Resize: resize}); err != nil ||
		code != 0 || strings.TrimSpace(sizeOut.String()) != "40 100" {
		t.Errorf("stty size with a 100x40 terminal: exit %d %v, output %q", code, err, sizeOut.String())
	}

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := e.rt.Exec(short, id, runtime.ExecRequest{Cmd: []string{"sleep", "100"}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("exec past its deadline: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancelled exec took %v", d)
	}
	if _, err := e.rt.Exec(ctx, id, runtime.ExecRequest{Cmd: []string{"nosuch"}}); err == nil ||
		!strings.Contains(err.Error(), `exec: "nosuch": executable file not found in $PATH`) {
		t.Errorf("exec of a missing command: %v", err)
	}

	if err := e.rt.StopContainer(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.Exec(ctx, id, runtime.ExecRequest{Cmd: []string{"true"}}); !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("exec in an exited container: %v, want ErrNotRunning", err)
	}
	created := e.create(sb, e.config("created", "true"))
	if _, err := e.rt.Exec(ctx, created, runtime.ExecRequest{Cmd: []string{"true"}}); !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("exec in a created container: %v, want ErrNotRunning", err)
	}
	if _, err := e.rt.Exec(ctx, "nosuch", runtime.ExecRequest{Cmd: []string{"true"}}); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("exec in an unknown container: %v, want ErrNotFound", err)
	}
}
