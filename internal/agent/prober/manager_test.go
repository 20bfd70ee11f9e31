package prober

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orca-pods/orca/internal/runtime"
)

const period = 10 * time.Second

func TestThresholds(t *testing.T) {
	f, ids := fakeRuntime(t, 1)
	s := newScript()
	f.SetExec(s.exec)
	h := newHarness(t, f)
	// Two successes to become ready, three failures to stop being ready.
	s.set("check", "", 0, 0, 1, 1, 0, 1, 1, 1, 0)
	h.m.AddPod(pod(corev1.Container{Name: "app", ReadinessProbe: execProbe("check", func(p *corev1.Probe) {
		p.SuccessThreshold, p.FailureThreshold = 2, 3
	})}))
	id := ids[0]
	if h.m.Readiness(testUID, "app", id) {
		t.Fatal("ready before SetContainer")
	}
	h.m.SetContainer(testUID, "app", id, h.clock.Now(), true)
	h.settle(1)
	want := []bool{false, true, true, true, true, true, true, false, false}
	for i, w := range want {
		if i > 0 {
			h.tick(period, 1)
		}
		if n := s.count("check"); n != i+1 {
			t.Fatalf("probe %d: %d probes ran", i+1, n)
		}
		if got := h.m.Readiness(testUID, "app", id); got != w {
			t.Errorf("after probe %d (exit %d): ready %v, want %v", i+1, []int{0, 0, 1, 1, 0, 1, 1, 1, 0}[i], got, w)
		}
	}
	// One Unhealthy event per failed probe, not per decision.
	if msgs := h.events(ReasonUnhealthy); len(msgs) != 5 || msgs[0] != "Readiness probe failed: " {
		t.Errorf("events %q", msgs)
	}
	waitFor(t, "updates", func() bool { return len(h.upd.get()) == 2 })
	upd := h.upd.get()
	if upd[0] != (Update{PodUID: testUID, ContainerName: "app", ContainerID: id, Probe: ReadinessProbe, Result: Success}) || upd[1].Result != Failure {
		t.Errorf("updates %+v", upd)
	}
}

func TestInitialDelay(t *testing.T) {
	f, ids := fakeRuntime(t, 1)
	s := newScript()
	f.SetExec(s.exec)
	h := newHarness(t, f)
	h.m.AddPod(pod(corev1.Container{Name: "app", ReadinessProbe: execProbe("check", func(p *corev1.Probe) { p.InitialDelaySeconds = 5 })}))
	h.m.SetContainer(testUID, "app", ids[0], h.clock.Now(), true)
	h.settle(1)
	h.tick(4*time.Second, 1)
	time.Sleep(20 * time.Millisecond)
	if n := s.count("check"); n != 0 {
		t.Fatalf("%d probes ran within the initial delay", n)
	}
	h.tick(time.Second, 1)
	if n := s.count("check"); n != 1 || !h.m.Readiness(testUID, "app", ids[0]) {
		t.Fatalf("after the initial delay: %d probes, ready %v", n, h.m.Readiness(testUID, "app", ids[0]))
	}
	h.tick(period, 1)
	if n := s.count("check"); n != 2 {
		t.Fatalf("a period later: %d probes", n)
	}

	// The delay counts from the container's start: a container that has
	// run for long (the agent restarted) is probed at once.
	h.m.SetContainer(testUID, "app", ids[0], time.Time{}, false)
	waitFor(t, "the worker to stop", func() bool { return h.m.workers.Load() == 0 })
	h.m.SetContainer(testUID, "app", ids[0], h.clock.Now().Add(-time.Minute), true)
	h.settle(1)
	if n := s.count("check"); n != 3 {
		t.Fatalf("old container: %d probes", n)
	}
}

func TestRestartedContainerStartsOver(t *testing.T) {
	f, ids := fakeRuntime(t, 2)
	s := newScript()
	f.SetExec(s.exec)
	h := newHarness(t, f)
	h.m.AddPod(pod(corev1.Container{
		Name:           "app",
		ReadinessProbe: execProbe("ready", func(p *corev1.Probe) { p.InitialDelaySeconds = 5 }),
		LivenessProbe:  execProbe("live", func(p *corev1.Probe) { p.InitialDelaySeconds = 5; p.FailureThreshold = 1 }),
	}))
	s.set("live", "deadlock", 1, 0)
	first, second := ids[0], ids[1]
	h.m.SetContainer(testUID, "app", first, h.clock.Now(), true)
	h.settle(2)
	h.clock.Step(5 * time.Second)
	// Liveness failed, so its worker is done with this container.
	h.settle(1)
	waitFor(t, "liveness failure", func() bool { _, failed := h.m.ProbeFailure(testUID, "app", first); return failed })
	if pt, _ := h.m.ProbeFailure(testUID, "app", first); pt != LivenessProbe {
		t.Errorf("failed probe %v", pt)
	}
	if !h.m.Readiness(testUID, "app", first) {
		t.Error("first attempt not ready")
	}
	if msgs := h.events(ReasonUnhealthy); len(msgs) != 1 || msgs[0] != "Liveness probe failed: deadlock" {
		t.Errorf("events %q", msgs)
	}
	if got := KillMessage(pod(corev1.Container{Name: "app"}), "app", LivenessProbe); got != "Container app failed liveness probe, will be restarted" {
		t.Errorf("kill message %q", got)
	}
	h.tick(period, 1)
	if n := s.count("live"); n != 1 {
		t.Errorf("liveness probed %d times after failing", n)
	}

	// The pod worker kills it and starts a new attempt.
	h.m.SetContainer(testUID, "app", first, time.Time{}, false)
	if _, failed := h.m.ProbeFailure(testUID, "app", first); failed || h.m.Readiness(testUID, "app", first) {
		t.Error("a stopped container still has results")
	}
	waitFor(t, "workers to stop", func() bool { return h.m.workers.Load() == 0 })
	h.m.SetContainer(testUID, "app", second, h.clock.Now(), true)
	h.settle(2)
	if h.m.Readiness(testUID, "app", second) {
		t.Error("new attempt ready before its readiness probe ran")
	}
	if _, failed := h.m.ProbeFailure(testUID, "app", second); failed {
		t.Error("new attempt inherits the liveness failure")
	}
	h.tick(5*time.Second, 2)
	if !h.m.Readiness(testUID, "app", second) {
		t.Error("new attempt not ready after its probe passed")
	}
	if _, failed := h.m.ProbeFailure(testUID, "app", second); failed {
		t.Error("liveness failed on the new attempt")
	}
	if s.count("live") != 2 {
		t.Errorf("liveness probes %d", s.count("live"))
	}
}

func TestStartupGatesReadinessAndLiveness(t *testing.T) {
	f, ids := fakeRuntime(t, 1)
	s := newScript()
	f.SetExec(s.exec)
	h := newHarness(t, f)
	h.m.AddPod(pod(corev1.Container{
		Name:           "app",
		StartupProbe:   execProbe("startup", func(p *corev1.Probe) { p.FailureThreshold = 30 }),
		ReadinessProbe: execProbe("ready", nil),
		LivenessProbe:  execProbe("live", nil),
	}))
	s.set("startup", "", 1)
	id := ids[0]
	h.m.SetContainer(testUID, "app", id, h.clock.Now(), true)
	h.settle(3)
	h.tick(period, 3)
	h.tick(period, 3)
	if s.count("startup") != 3 || s.count("ready") != 0 || s.count("live") != 0 {
		t.Fatalf("probes before start: startup %d, readiness %d, liveness %d", s.count("startup"), s.count("ready"), s.count("live"))
	}
	if h.m.Startup(testUID, "app", id) || h.m.Readiness(testUID, "app", id) {
		t.Fatal("started or ready before the startup probe passed")
	}
	if _, failed := h.m.ProbeFailure(testUID, "app", id); failed {
		t.Fatal("failing below the startup threshold")
	}

	s.set("startup", "", 0)
	h.clock.Step(period)
	waitFor(t, "startup", func() bool { return h.m.Startup(testUID, "app", id) })
	// A started container's startup probe is done.
	waitFor(t, "startup worker to end", func() bool { return h.m.workers.Load() == 2 })
	h.settle(2)
	h.tick(period, 2)
	if s.count("ready") == 0 || s.count("live") == 0 || !h.m.Readiness(testUID, "app", id) {
		t.Fatalf("after start: readiness %d, liveness %d, ready %v", s.count("ready"), s.count("live"), h.m.Readiness(testUID, "app", id))
	}
	if s.count("startup") != 4 {
		t.Errorf("startup probed %d times", s.count("startup"))
	}
}

func TestStartupFailure(t *testing.T) {
	f, ids := fakeRuntime(t, 1)
	s := newScript()
	f.SetExec(s.exec)
	h := newHarness(t, f)
	p := pod(corev1.Container{Name: "app", StartupProbe: execProbe("startup", func(p *corev1.Probe) { p.FailureThreshold = 2 })})
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	h.m.AddPod(p)
	s.set("startup", "not yet", 1)
	h.m.SetContainer(testUID, "app", ids[0], h.clock.Now(), true)
	h.settle(1)
	if _, failed := h.m.ProbeFailure(testUID, "app", ids[0]); failed {
		t.Fatal("failed after one of two failures")
	}
	h.clock.Step(period)
	waitFor(t, "startup failure", func() bool { _, failed := h.m.ProbeFailure(testUID, "app", ids[0]); return failed })
	if pt, _ := h.m.ProbeFailure(testUID, "app", ids[0]); pt != StartupProbe || h.m.Startup(testUID, "app", ids[0]) {
		t.Errorf("probe %v, started %v", pt, h.m.Startup(testUID, "app", ids[0]))
	}
	if got := KillMessage(p, "app", StartupProbe); got != "Container app failed startup probe" {
		t.Errorf("kill message %q", got)
	}
	if msgs := h.events(ReasonUnhealthy); !slices.Equal(msgs, []string{"Startup probe failed: not yet", "Startup probe failed: not yet"}) {
		t.Errorf("events %q", msgs)
	}
	waitFor(t, "update", func() bool { return len(h.upd.get()) == 1 })
	if u := h.upd.get()[0]; u.Probe != StartupProbe || u.Result != Failure {
		t.Errorf("update %+v", u)
	}
}

func TestSidecarProbes(t *testing.T) {
	f, ids := fakeRuntime(t, 2)
	s := newScript()
	f.SetExec(s.exec)
	h := newHarness(t, f)
	always := corev1.ContainerRestartPolicyAlways
	p := pod(corev1.Container{Name: "app"})
	p.Spec.InitContainers = []corev1.Container{
		// Probes on a regular init container are not allowed; ignored.
		{Name: "setup", ReadinessProbe: execProbe("setup", nil)},
		{Name: "proxy", RestartPolicy: &always, StartupProbe: execProbe("startup", func(p *corev1.Probe) { p.FailureThreshold = 1 })},
	}
	h.m.AddPod(p)
	s.set("startup", "proxy down", 1)
	h.m.SetContainer(testUID, "setup", ids[0], h.clock.Now(), true)
	h.m.SetContainer(testUID, "proxy", ids[1], h.clock.Now(), true)
	waitFor(t, "startup failure", func() bool { _, failed := h.m.ProbeFailure(testUID, "proxy", ids[1]); return failed })
	if s.count("setup") != 0 || !h.m.Readiness(testUID, "setup", ids[0]) {
		t.Errorf("init container probed %d times", s.count("setup"))
	}
	if got := KillMessage(p, "proxy", StartupProbe); got != "Init container proxy failed startup probe" {
		t.Errorf("kill message %q", got)
	}
	want := []event{{"spec.initContainers{proxy}", "Warning", "Unhealthy", "Startup probe failed: proxy down"}}
	if evs := h.rec.list(); !slices.Equal(evs, want) {
		t.Errorf("events %q", evs)
	}
}

func TestHTTPReadinessOnPodIP(t *testing.T) {
	var healthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	h := newHarness(t, nil)
	c := corev1.Container{
		Name:           "app",
		Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: int32(serverPort(t, srv))}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}, PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1},
	}
	h.m.AddPod(pod(c))
	h.m.SetPodIP(testUID, "127.0.0.1")
	h.m.SetContainer(testUID, "app", "c1", h.clock.Now(), true)
	h.settle(1)
	if h.m.Readiness(testUID, "app", "c1") {
		t.Fatal("ready while the server says 503")
	}
	if msgs := h.events(ReasonUnhealthy); len(msgs) != 1 || msgs[0] != "Readiness probe failed: HTTP probe failed with statuscode: 503" {
		t.Errorf("events %q", msgs)
	}
	healthy.Store(true)
	h.tick(period, 1)
	if !h.m.Readiness(testUID, "app", "c1") {
		t.Fatal("not ready once the server says 200")
	}
}

func TestTerminatingPodStopsLivenessAndStartup(t *testing.T) {
	f, ids := fakeRuntime(t, 1)
	s := newScript()
	f.SetExec(s.exec)
	h := newHarness(t, f)
	p := pod(corev1.Container{
		Name:           "app",
		StartupProbe:   execProbe("startup", nil),
		ReadinessProbe: execProbe("ready", nil),
		LivenessProbe:  execProbe("live", nil),
	})
	s.set("startup", "", 1)
	h.m.AddPod(p)
	h.m.SetContainer(testUID, "app", ids[0], h.clock.Now(), true)
	h.settle(3)
	deleting := p.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: h.clock.Now()}
	h.m.AddPod(deleting)
	waitFor(t, "liveness and startup workers to stop", func() bool { return h.m.workers.Load() == 1 })
	// As in the kubelet, a stopped startup probe no longer holds the
	// container back, and readiness goes on probing.
	if !h.m.Startup(testUID, "app", ids[0]) {
		t.Error("not started after the startup probe stopped")
	}
	h.settle(1)
	h.tick(period, 1)
	if s.count("ready") != 1 || !h.m.Readiness(testUID, "app", ids[0]) {
		t.Errorf("readiness probes %d, ready %v", s.count("ready"), h.m.Readiness(testUID, "app", ids[0]))
	}
	if _, failed := h.m.ProbeFailure(testUID, "app", ids[0]); failed {
		t.Error("failure reported for a terminating pod")
	}
}

func TestNoProbes(t *testing.T) {
	h := newHarness(t, nil)
	h.m.AddPod(pod(corev1.Container{Name: "app"}))
	h.m.SetContainer(testUID, "app", "c1", h.clock.Now(), true)
	if !h.m.Startup(testUID, "app", "c1") || !h.m.Readiness(testUID, "app", "c1") {
		t.Error("a container without probes is not started and ready")
	}
	if _, failed := h.m.ProbeFailure(testUID, "app", "c1"); failed {
		t.Error("a container without probes failed")
	}
	if h.m.workers.Load() != 0 {
		t.Error("workers for a container without probes")
	}
}

func TestRemovePodStopsProbeInFlight(t *testing.T) {
	f, ids := fakeRuntime(t, 1)
	started := make(chan struct{}, 1)
	rt := ctxExec{Runtime: f, exec: func(ctx context.Context, id string, req runtime.ExecRequest) (int, error) {
		started <- struct{}{}
		<-ctx.Done()
		return -1, fmt.Errorf("exec in container %s: %w", id, ctx.Err())
	}}
	h := newHarness(t, rt)
	p := pod(corev1.Container{Name: "app", LivenessProbe: execProbe("hang", func(p *corev1.Probe) { p.TimeoutSeconds = 60 })})
	h.m.AddPod(p)
	h.m.SetContainer(testUID, "app", ids[0], h.clock.Now(), true)
	<-started
	h.m.RemovePod(p)
	waitFor(t, "workers to stop", func() bool { return h.m.workers.Load() == 0 })
	if evs := h.rec.list(); len(evs) != 0 {
		t.Errorf("events for a cancelled probe: %q", evs)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	f, ids := fakeRuntime(t, 2)
	s := newScript()
	f.SetExec(s.exec)
	s.set("live", "", 1)
	s.set("startup", "", 1)
	baseline := goruntime.NumGoroutine()

	h := &harness{t: t, rec: &recorder{}}
	m := New(Config{Runtime: f, Recorder: h.rec.record})
	var pods []*corev1.Pod
	for i := range 5 {
		c := corev1.Container{
			Name:           "app",
			ReadinessProbe: execProbe("ready", nil),
			LivenessProbe:  execProbe("live", func(p *corev1.Probe) { p.FailureThreshold = 1 }),
		}
		if i%2 == 0 {
			// Never starts: its workers sit waiting for the next period.
			c.StartupProbe = execProbe("startup", nil)
		}
		p := pod(c)
		p.UID = types.UID(fmt.Sprintf("uid-%d", i))
		pods = append(pods, p)
		m.AddPod(p)
		m.SetContainer(p.UID, "app", ids[0], time.Now(), true)
	}
	waitFor(t, "probes", func() bool { return s.count("live") >= 2 })
	for _, p := range pods[:3] {
		m.SetContainer(p.UID, "app", ids[1], time.Now(), true)
	}
	for _, p := range pods[:4] {
		m.RemovePod(p)
	}
	waitFor(t, "workers of removed pods", func() bool { return m.workers.Load() <= 3 })
	m.Stop()
	if n := m.workers.Load(); n != 0 {
		t.Errorf("%d workers after Stop", n)
	}
	waitFor(t, fmt.Sprintf("goroutines back to %d", baseline), func() bool { return goruntime.NumGoroutine() <= baseline })
	// After Stop nothing starts again.
	m.AddPod(pods[0])
	m.SetContainer(pods[0].UID, "app", ids[0], time.Now(), true)
	if m.workers.Load() != 0 {
		t.Error("worker started after Stop")
	}
}

func TestKillMessage(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	p := pod(corev1.Container{Name: "app"})
	p.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: &always}}
	cases := []struct {
		policy corev1.RestartPolicy
		name   string
		probe  ProbeType
		want   string
	}{
		{corev1.RestartPolicyAlways, "app", LivenessProbe, "Container app failed liveness probe, will be restarted"},
		{corev1.RestartPolicyOnFailure, "app", StartupProbe, "Container app failed startup probe, will be restarted"},
		{corev1.RestartPolicyNever, "app", LivenessProbe, "Container app failed liveness probe"},
		{corev1.RestartPolicyNever, "proxy", LivenessProbe, "Init container proxy failed liveness probe"},
	}
	for _, tc := range cases {
		p.Spec.RestartPolicy = tc.policy
		if got := KillMessage(p, tc.name, tc.probe); got != tc.want {
			t.Errorf("%s %s %v: %q, want %q", tc.policy, tc.name, tc.probe, got, tc.want)
		}
	}
}

func TestKillGracePeriod(t *testing.T) {
	i64 := func(n int64) *int64 { return &n }
	p := pod(corev1.Container{
		Name:          "app",
		LivenessProbe: execProbe("live", func(p *corev1.Probe) { p.TerminationGracePeriodSeconds = i64(5) }),
		StartupProbe:  execProbe("startup", nil),
	})
	if got := KillGracePeriod(p, "app", LivenessProbe); got != 5*time.Second {
		t.Errorf("probe grace period: %v", got)
	}
	if got := KillGracePeriod(p, "app", StartupProbe); got != 30*time.Second {
		t.Errorf("default: %v", got)
	}
	p.Spec.TerminationGracePeriodSeconds = i64(60)
	if got := KillGracePeriod(p, "app", StartupProbe); got != time.Minute {
		t.Errorf("pod grace period: %v", got)
	}
	p.DeletionGracePeriodSeconds = i64(1)
	if got := KillGracePeriod(p, "app", LivenessProbe); got != time.Second {
		t.Errorf("deletion grace period: %v", got)
	}
}
