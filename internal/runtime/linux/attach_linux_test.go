package linux

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/orca-pods/orca/internal/runtime"
	"github.com/orca-pods/orca/test/e2e/framework"
)

// The end of an attached client's stdin closes a StdinOnce container's
// stdin: cat reads EOF and exits.
func TestAttachStdinOnceDeliversEOF(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("attach-cat")
	cfg := e.config("cat", "cat")
	cfg.Stdin, cfg.StdinOnce = true, true
	id := e.start(sb, cfg)

	var out, errOut framework.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- e.rt.Attach(context.Background(), id, runtime.AttachRequest{
			Stdin: strings.NewReader("hello\nworld\n"), Stdout: &out, Stderr: &errOut,
		})
	}()
	e.waitEvent(id, runtime.ContainerExited, 10*time.Second)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Attach did not return after the container exited")
	}
	if got := out.String(); got != "hello\nworld\n" {
		t.Errorf("attached stdout %q", got)
	}
	if st := e.status(id); st.ExitCode != 0 {
		t.Errorf("exit code %d", st.ExitCode)
	}
	if got := logText(t, cfg.LogPath, "stdout"); got != "hello\nworld\n" {
		t.Errorf("log %q", got)
	}
}

// Without StdinOnce the container's stdin stays open across sessions: a
// second client reaches the same cat.
func TestAttachTwiceWithoutStdinOnce(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("attach-twice")
	cfg := e.config("cat", "cat")
	cfg.Stdin = true
	id := e.start(sb, cfg)
	for _, word := range []string{"first", "second"} {
		var out framework.SyncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- e.rt.Attach(ctx, id, runtime.AttachRequest{Stdin: strings.NewReader(word + "\n"), Stdout: &out})
		}()
		framework.Eventually(t, 10*time.Second, "echo of "+word, func() bool { return out.String() == word+"\n" })
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if st := e.status(id); st.State != runtime.StateRunning {
		t.Fatalf("container %s after the clients left", st.State)
	}
}

// A TTY container's terminal gets the keystrokes and the size, and the
// client sees the shell's prompt, which has no newline.
func TestAttachToATerminal(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("attach-tty")
	cfg := e.config("sh", "sh")
	cfg.Stdin, cfg.StdinOnce, cfg.TTY = true, true, true
	id := e.start(sb, cfg)

	inR, inW := io.Pipe()
	var out framework.SyncBuffer
	resize := make(chan runtime.TerminalSize, 1)
	resize <- runtime.TerminalSize{Width: 123, Height: 45}
	done := make(chan error, 1)
	go func() {
		done <- e.rt.Attach(context.Background(), id, runtime.AttachRequest{Stdin: inR, Stdout: &out, Resize: resize})
	}()
	go func() {
		_, _ = io.WriteString(inW, "\n")
	}()
	framework.Eventually(t, 10*time.Second, "a prompt", func() bool { return strings.Contains(out.String(), "# ") })
	go func() {
		_, _ = io.WriteString(inW, "stty size; exit 7\n")
	}()
	e.waitEvent(id, runtime.ContainerExited, 10*time.Second)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Attach did not return after the shell exited")
	}
	inW.Close()
	if !strings.Contains(out.String(), "45 123") {
		t.Errorf("terminal output %q lacks the size 45 123", out.String())
	}
	if st := e.status(id); st.ExitCode != 7 {
		t.Errorf("exit code %d, want 7", st.ExitCode)
	}
}

func TestAttachToAnExitedContainerFails(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("attach-exited")
	cfg := e.config("true", "true")
	st := e.run(sb, cfg)
	if err := e.rt.Attach(context.Background(), st.ID, runtime.AttachRequest{}); err == nil {
		t.Fatal("attach to an exited container succeeded")
	}
}
