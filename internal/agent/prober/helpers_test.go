package prober

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/orca-pods/orca/internal/runtime"
	"github.com/orca-pods/orca/internal/runtime/fake"
)

const testUID = types.UID("uid1")

// event is one recorded event.
type event struct {
	FieldPath, Type, Reason, Message string
}

type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) record(_ *corev1.Pod, fieldPath, eventType, reason, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event{fieldPath, eventType, reason, message})
}

func (r *recorder) list() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

// updates collects what the manager announces.
type updates struct {
	mu   sync.Mutex
	list []Update
}

func (u *updates) get() []Update {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Update(nil), u.list...)
}

type harness struct {
	t     *testing.T
	m     *Manager
	clock *clocktesting.FakeClock
	rec   *recorder
	upd   *updates
}

// newHarness returns a manager on a fake clock that records events and
// collects updates; it is stopped when the test ends.
func newHarness(t *testing.T, rt runtime.Runtime) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		clock: clocktesting.NewFakeClock(time.Unix(1_700_000_000, 0)),
		rec:   &recorder{},
		upd:   &updates{},
	}
	h.m = New(Config{Runtime: rt, Recorder: h.rec.record, Clock: h.clock, KubeVersion: "v1.37.2"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case u := <-h.m.Updates():
				h.upd.mu.Lock()
				h.upd.list = append(h.upd.list, u)
				h.upd.mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		h.m.Stop()
		cancel()
		<-done
	})
	return h
}

// waitFor polls cond until it holds, failing the test after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// settle waits until n probe workers sit waiting on the fake clock: each
// worker registers its timer only once it has finished (and recorded) its
// probe, so after settle every fired worker is done.
func (h *harness) settle(n int) {
	h.t.Helper()
	waitFor(h.t, fmt.Sprintf("%d waiting workers", n), func() bool { return h.clock.Waiters() == n })
}

// tick moves the clock one step and waits for n workers to be waiting again.
func (h *harness) tick(d time.Duration, n int) {
	h.t.Helper()
	h.clock.Step(d)
	h.settle(n)
}

func (h *harness) events(reason string) []string {
	var out []string
	for _, e := range h.rec.list() {
		if e.Reason == reason {
			out = append(out, e.Message)
		}
	}
	return out
}

// script answers exec probes by command name (the first argument): each
// call takes the next exit code and output of that command, repeating the
// last one when the script runs out. It counts calls.
type script struct {
	mu    sync.Mutex
	codes map[string][]int
	out   map[string]string
	calls map[string]int
}

func newScript() *script {
	return &script{codes: map[string][]int{}, out: map[string]string{}, calls: map[string]int{}}
}

func (s *script) set(cmd string, output string, codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[cmd], s.out[cmd] = codes, output
}

func (s *script) count(cmd string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[cmd]
}

func (s *script) exec(_ string, req runtime.ExecRequest) (int, error) {
	s.mu.Lock()
	cmd := req.Cmd[0]
	s.calls[cmd]++
	code := 0
	if q := s.codes[cmd]; len(q) > 0 {
		code = q[0]
		if len(q) > 1 {
			s.codes[cmd] = q[1:]
		}
	}
	out := s.out[cmd]
	s.mu.Unlock()
	if out != "" && req.Stdout != nil {
		fmt.Fprint(req.Stdout, out)
	}
	return code, nil
}

// fakeRuntime returns a fake runtime with n running containers in the
// sandbox of testUID, and their IDs.
func fakeRuntime(t *testing.T, n int) (*fake.Runtime, []string) {
	t.Helper()
	f := fake.New()
	t.Cleanup(func() { _ = f.Close() })
	ctx := context.Background()
	sb, err := f.CreateSandbox(ctx, runtime.SandboxConfig{PodUID: string(testUID), PodName: "web", Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range n {
		id, err := f.CreateContainer(ctx, sb.ID, runtime.ContainerConfig{Name: fmt.Sprintf("app-%d", i), Attempt: i, Args: []string{"app"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.StartContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return f, ids
}

func pod(containers ...corev1.Container) *corev1.Pod {
	p := &corev1.Pod{Spec: corev1.PodSpec{Containers: containers, RestartPolicy: corev1.RestartPolicyAlways}}
	p.Name, p.Namespace, p.UID = "web", "default", testUID
	return p
}

func execProbe(cmd string, mod func(*corev1.Probe)) *corev1.Probe {
	p := &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{cmd}}},
		PeriodSeconds:    10,
		TimeoutSeconds:   1,
		SuccessThreshold: 1,
		FailureThreshold: 3,
	}
	if mod != nil {
		mod(p)
	}
	return p
}
