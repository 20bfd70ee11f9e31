package fake

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/orca-pods/orca/internal/runtime"
)

func nextEvent(t *testing.T, f *Runtime) runtime.Event {
	t.Helper()
	select {
	case ev := <-f.Events():
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return runtime.Event{}
	}
}

func TestLifecycleReportsStartAndExit(t *testing.T) {
	f := New()
	defer f.Close()
	ctx := context.Background()
	sb, err := f.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: "uid1", PodName: "p", Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := f.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: "uid1"})
	if *again != *sb {
		t.Errorf("CreateSandbox is not idempotent: %+v vs %+v", again, sb)
	}
	id, err := f.CreateContainer(ctx, sb.ID, runtime.ContainerConfig{Name: "app", Args: []string{"app"}, Labels: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := f.ContainerStatus(ctx, id); st.State != runtime.StateCreated {
		t.Errorf("state %s", st.State)
	}
	if err := f.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, f); ev.Type != runtime.ContainerStarted || ev.ContainerID != id || ev.SandboxID != sb.ID || ev.Labels["k"] != "v" {
		t.Errorf("event %+v", ev)
	}
	if err := f.Exit(id, 3); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, f); ev.Type != runtime.ContainerExited || ev.ContainerID != id {
		t.Errorf("event %+v", ev)
	}
	st, _ := f.ContainerStatus(ctx, id)
	if st.State != runtime.StateExited || st.ExitCode != 3 || st.Signal != 0 || st.FinishedAt.IsZero() {
		t.Errorf("status %+v", st)
	}
	if err := f.Exit(id, 1); !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("second exit: %v", err)
	}
	if err := f.StopContainer(ctx, id, time.Second); err != nil {
		t.Errorf("stopping an exited container: %v", err)
	}
	if err := f.RemoveSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ContainerStatus(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("container of a removed sandbox: %v", err)
	}
}

func TestFailStartLeavesAStartError(t *testing.T) {
	f := New()
	defer f.Close()
	ctx := context.Background()
	sb, _ := f.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: "uid"})
	f.FailStart("app", errors.New(`exec: "nosuch": executable file not found in $PATH`))
	id, _ := f.CreateContainer(ctx, sb.ID, runtime.ContainerConfig{Name: "app", Args: []string{"nosuch"}})
	if err := f.StartContainer(ctx, id); err == nil {
		t.Fatal("start succeeded")
	}
	st, _ := f.ContainerStatus(ctx, id)
	want := `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: exec: "nosuch": executable file not found in $PATH: unknown`
	if st.State != runtime.StateExited || st.ExitCode != 128 || st.Reason != "StartError" || st.Message != want {
		t.Errorf("status %+v", st)
	}
	if ev := nextEvent(t, f); ev.Type != runtime.ContainerExited {
		t.Errorf("event %+v", ev)
	}
}

func TestStopOOMKillExecAndInjectedErrors(t *testing.T) {
	f := New()
	defer f.Close()
	ctx := context.Background()
	sb, _ := f.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: "uid"})
	start := func(name string) string {
		id, _ := f.CreateContainer(ctx, sb.ID, runtime.ContainerConfig{Name: name, Args: []string{name}})
		if err := f.StartContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	graceful, killed, oom := start("graceful"), start("killed"), start("oom")
	f.StopContainer(ctx, graceful, time.Second)
	f.StopContainer(ctx, killed, 0)
	f.OOMKill(oom)
	for id, want := range map[string][3]int{graceful: {143, 15, 0}, killed: {137, 9, 0}, oom: {137, 9, 1}} {
		st, _ := f.ContainerStatus(ctx, id)
		oomInt := 0
		if st.OOMKilled {
			oomInt = 1
		}
		if got := [3]int{st.ExitCode, st.Signal, oomInt}; got != want {
			t.Errorf("%s: exit, signal, oom = %v, want %v", st.Name, got, want)
		}
	}

	running := start("exec")
	f.SetExec(func(id string, req runtime.ExecRequest) (int, error) { return 7, nil })
	if code, err := f.Exec(ctx, running, runtime.ExecRequest{Cmd: []string{"probe"}}); code != 7 || err != nil {
		t.Errorf("exec: %d %v", code, err)
	}
	if _, err := f.Exec(ctx, killed, runtime.ExecRequest{Cmd: []string{"probe"}}); !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("exec in an exited container: %v", err)
	}

	boom := errors.New("boom")
	f.FailNext("CreateSandbox", boom)
	if _, err := f.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: "other"}); !errors.Is(err, boom) {
		t.Errorf("injected error: %v", err)
	}
	if _, err := f.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: "other"}); err != nil {
		t.Errorf("the injected error is one-shot: %v", err)
	}
	calls := f.Calls()
	if len(calls) == 0 || calls[0] != (Call{Method: "CreateSandbox", ID: "uid"}) {
		t.Errorf("calls %v", calls)
	}
}
