package eviction

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	testingclock "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func mi(n int64) resource.Quantity              { return *resource.NewQuantity(n<<20, resource.BinarySI) }
func qp(q resource.Quantity) *resource.Quantity { return &q }

// podSpec describes a test pod: requests/limits are memory unless noted.
type podSpec struct {
	name              string
	priority          *int32
	memReq, memLim    string
	diskReq, diskLim  string
	memUsed, diskUsed int64 // MiB
	annotations       map[string]string
}

func prio(p int32) *int32 { return &p }

func makePod(s podSpec) PodUsage {
	res := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	set := func(l corev1.ResourceList, n corev1.ResourceName, v string) {
		if v != "" {
			l[n] = resource.MustParse(v)
		}
	}
	set(res.Requests, corev1.ResourceMemory, s.memReq)
	set(res.Limits, corev1.ResourceMemory, s.memLim)
	set(res.Requests, corev1.ResourceEphemeralStorage, s.diskReq)
	set(res.Limits, corev1.ResourceEphemeralStorage, s.diskLim)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: "default", UID: types.UID("uid-" + s.name), Annotations: s.annotations, Generation: 3},
		Spec: corev1.PodSpec{
			Priority:   s.priority,
			Containers: []corev1.Container{{Name: "app", Resources: res}},
		},
	}
	return PodUsage{
		Pod:        pod,
		Memory:     mi(s.memUsed),
		Containers: map[string]ContainerUsage{"app": {Memory: mi(s.memUsed), Rootfs: mi(s.diskUsed)}},
		Ephemeral:  mi(s.diskUsed),
	}
}

// fakeNode is the agent side: observations, pods, and a record of evictions.
// An evicted pod leaves the pod list, as it would once killed.
type fakeNode struct {
	mu       sync.Mutex
	obs      Observations
	pods     []PodUsage
	evicted  []string
	statuses []EvictionStatus
	failFor  map[string]bool
}

func (f *fakeNode) setObs(o Observations) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.obs = o
}

func (f *fakeNode) evictedNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.evicted)
}

func (f *fakeNode) config(thresholds []Threshold, clk *testingclock.FakeClock) Config {
	return Config{
		Thresholds:               thresholds,
		PressureTransitionPeriod: time.Minute,
		Interval:                 time.Second,
		Clock:                    clk,
		Logger:                   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Observe: func(context.Context) (Observations, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.obs, nil
		},
		Pods: func(context.Context) ([]PodUsage, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return slices.Clone(f.pods), nil
		},
		Evict: func(_ context.Context, pod *corev1.Pod, st EvictionStatus) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.failFor[pod.Name] {
				return errors.New("kill failed")
			}
			f.evicted = append(f.evicted, pod.Name)
			f.statuses = append(f.statuses, st)
			f.pods = slices.DeleteFunc(f.pods, func(u PodUsage) bool { return u.Pod.UID == pod.UID })
			return nil
		},
	}
}

func newManager(t *testing.T, f *fakeNode, hard string) (*Manager, *testingclock.FakeClock) {
	t.Helper()
	ts, err := ParseThresholds(hard)
	if err != nil {
		t.Fatal(err)
	}
	clk := testingclock.NewFakeClock(t0)
	m, err := New(f.config(ts, clk))
	if err != nil {
		t.Fatal(err)
	}
	return m, clk
}

func memObs(availableMi int64) Observations {
	return Observations{MemoryAvailable: qp(mi(availableMi)), MemoryCapacity: qp(mi(4096))}
}

func sync1(t *testing.T, m *Manager) []string {
	t.Helper()
	pods, err := m.Synchronize(context.Background())
	if err != nil {
		t.Fatalf("Synchronize: %v", err)
	}
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	return names
}

// rankingPods cover each QoS class, priorities and a system-critical pod.
func rankingPods() []PodUsage {
	return []PodUsage{
		makePod(podSpec{name: "guaranteed", memReq: "1Gi", memLim: "1Gi", memUsed: 900}),
		makePod(podSpec{name: "burstable-under", memReq: "500Mi", memUsed: 400}),
		makePod(podSpec{name: "besteffort-small", memUsed: 10}),
		makePod(podSpec{name: "critical", priority: prio(SystemCriticalPriority), memUsed: 2048}),
		makePod(podSpec{name: "besteffort-high-priority", priority: prio(1000), memUsed: 500}),
		makePod(podSpec{name: "burstable-over", memReq: "100Mi", memUsed: 350}),
		makePod(podSpec{name: "besteffort-big", memUsed: 200}),
		makePod(podSpec{name: "burstable-under-more", memReq: "1Gi", memUsed: 100}),
	}
}

func TestRankMemory(t *testing.T) {
	got := rankPods(rankingPods(), SignalMemoryAvailable, false)
	want := []string{
		// Over their requests, lowest priority first, largest excess first.
		"burstable-over",   // 250Mi over
		"besteffort-big",   // 200Mi over
		"besteffort-small", // 10Mi over
		"besteffort-high-priority",
		"critical",
		// Within requests: closest to (least under) the request first.
		"burstable-under",      // 100Mi under
		"guaranteed",           // 124Mi under
		"burstable-under-more", // 924Mi under
	}
	var names []string
	for _, u := range got {
		names = append(names, u.Pod.Name)
	}
	if !slices.Equal(names, want) {
		t.Errorf("rank:\n got %v\nwant %v", names, want)
	}
}

func TestRankNoStatsFirst(t *testing.T) {
	pods := rankingPods()[:3]
	pods = append(pods, PodUsage{Pod: makePod(podSpec{name: "unmeasured", memReq: "1Gi"}).Pod, NoStats: true})
	got := rankPods(pods, SignalMemoryAvailable, false)
	if got[0].Pod.Name != "unmeasured" {
		t.Errorf("first = %s, want the pod without stats", got[0].Pod.Name)
	}
}

// TestEvictionOrder evicts one pod per cycle under lasting pressure and
// checks the whole order; the critical pod is never evicted.
func TestEvictionOrder(t *testing.T) {
	f := &fakeNode{obs: memObs(50), pods: rankingPods()}
	m, clk := newManager(t, f, "memory.available<100Mi")
	var order []string
	for range 10 {
		got := sync1(t, m)
		if len(got) > 1 {
			t.Fatalf("evicted %v in one cycle", got)
		}
		order = append(order, got...)
		clk.Step(10 * time.Second)
	}
	want := []string{"burstable-over", "besteffort-big", "besteffort-small", "besteffort-high-priority", "burstable-under", "guaranteed", "burstable-under-more"}
	if !slices.Equal(order, want) {
		t.Errorf("eviction order:\n got %v\nwant %v", order, want)
	}
	if len(f.pods) != 1 || f.pods[0].Pod.Name != "critical" {
		t.Errorf("remaining pods = %v, want only the critical one", f.pods)
	}
}

func TestOneEvictionPerCycle(t *testing.T) {
	f := &fakeNode{obs: memObs(10), pods: []PodUsage{
		makePod(podSpec{name: "a", memUsed: 300}),
		makePod(podSpec{name: "b", memUsed: 200}),
		makePod(podSpec{name: "c", memUsed: 100}),
	}}
	m, _ := newManager(t, f, "memory.available<100Mi")
	if got := sync1(t, m); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("evicted %v, want [a]", got)
	}
	if got := f.evictedNames(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("Evict called for %v", got)
	}
}

func TestEvictFailureTriesNextPod(t *testing.T) {
	f := &fakeNode{obs: memObs(10), failFor: map[string]bool{"a": true}, pods: []PodUsage{
		makePod(podSpec{name: "a", memUsed: 300}),
		makePod(podSpec{name: "b", memUsed: 200}),
	}}
	m, _ := newManager(t, f, "memory.available<100Mi")
	if got := sync1(t, m); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("evicted %v, want [b]", got)
	}
	f.failFor["b"] = true
	f.pods = append(f.pods, makePod(podSpec{name: "b2", memUsed: 1}))
	f.failFor["b2"] = true
	if _, err := m.Synchronize(context.Background()); err == nil || !strings.Contains(err.Error(), "kill failed") {
		t.Fatalf("error = %v, want the kill failures", err)
	}
}

func TestEvictionMessage(t *testing.T) {
	f := &fakeNode{obs: memObs(50), pods: []PodUsage{makePod(podSpec{name: "web", memUsed: 150})}}
	m, clk := newManager(t, f, "memory.available<100Mi")
	rec := record.NewFakeRecorder(10)
	m.cfg.Recorder = rec
	if got := sync1(t, m); len(got) != 1 {
		t.Fatalf("evicted %v", got)
	}
	const want = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container app was using 150Mi, request is 0, has larger consumption of memory. "
	st := f.statuses[0]
	if st.Message != want {
		t.Errorf("message:\n got %q\nwant %q", st.Message, want)
	}
	if st.GracePeriodSeconds != 1 || st.Signal != SignalMemoryAvailable || st.Resource != corev1.ResourceMemory {
		t.Errorf("status = %+v", st)
	}
	wantCond := corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, ObservedGeneration: 3, Reason: "TerminationByKubelet", Message: want}
	if st.Condition == nil || *st.Condition != wantCond {
		t.Errorf("condition = %+v, want %+v", st.Condition, wantCond)
	}
	if st.Annotations[OffendingContainersKey] != "app" || st.Annotations[OffendingContainersUsageKey] != "150Mi" || st.Annotations[StarvedResourceKey] != "memory" {
		t.Errorf("annotations = %v", st.Annotations)
	}
	if ev := <-rec.Events; !strings.HasPrefix(ev, "Warning Evicted "+want) || !strings.Contains(ev, "offending_containers:app") {
		t.Errorf("event = %q", ev)
	}

	var status corev1.PodStatus
	status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	now := metav1.NewTime(clk.Now())
	st.Apply(&status, now)
	if status.Phase != corev1.PodFailed || status.Reason != "Evicted" || status.Message != want {
		t.Errorf("applied status = %+v", status)
	}
	if len(status.Conditions) != 2 || status.Conditions[1].Type != corev1.DisruptionTarget || !status.Conditions[1].LastTransitionTime.Equal(&now) {
		t.Errorf("applied conditions = %+v", status.Conditions)
	}
}

func TestEvictionMessageOnlyOffendingContainers(t *testing.T) {
	u := makePod(podSpec{name: "p", memReq: "100Mi", memUsed: 0})
	u.Pod.Spec.Containers = append(u.Pod.Spec.Containers, corev1.Container{Name: "sidecar",
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}})
	u.Containers = map[string]ContainerUsage{"app": {Memory: mi(50)}, "sidecar": {Memory: *resource.NewQuantity(100<<20+1, resource.BinarySI)}}
	// 10% of 2Gi, computed with the kubelet's float32 percentage.
	th, _ := ParseThresholds("memory.available<10%")
	st := pressureEviction(&u, th[0], Observations{MemoryAvailable: qp(mi(100)), MemoryCapacity: qp(mi(2048))}, 0)
	want := "The node was low on resource: memory. Threshold quantity: 214748368, available: 100Mi. Container sidecar was using 104857601, request is 64Mi, has larger consumption of memory. "
	if st.Message != want {
		t.Errorf("message:\n got %q\nwant %q", st.Message, want)
	}
}

func TestDiskEvictionMessageAndRanking(t *testing.T) {
	f := &fakeNode{
		obs: Observations{NodeFsAvailable: qp(mi(512)), NodeFsCapacity: qp(mi(4096))},
		pods: []PodUsage{
			makePod(podSpec{name: "requested", diskReq: "2Gi", diskUsed: 1024}),
			makePod(podSpec{name: "small", diskUsed: 100}),
			makePod(podSpec{name: "big", diskUsed: 300}),
		},
	}
	m, _ := newManager(t, f, "nodefs.available<25%")
	if got := sync1(t, m); !slices.Equal(got, []string{"big"}) {
		t.Fatalf("evicted %v, want [big]", got)
	}
	const want = "The node was low on resource: ephemeral-storage. Threshold quantity: 1Gi, available: 512Mi. Container app was using 300Mi, request is 0, has larger consumption of ephemeral-storage. "
	if got := f.statuses[0].Message; got != want {
		t.Errorf("message:\n got %q\nwant %q", got, want)
	}
	if _, disk, _ := m.Conditions(); !disk {
		t.Error("no DiskPressure")
	}
}

func TestImageFsAliasesNodeFs(t *testing.T) {
	// imagefs.available<15% is met on a single disk at 12% free, before
	// nodefs.available<10%, as on a kubelet without a separate imagefs.
	f := &fakeNode{
		obs:  Observations{NodeFsAvailable: qp(mi(1200)), NodeFsCapacity: qp(mi(10000)), NodeFsInodesFree: qp(*resource.NewQuantity(1e6, resource.DecimalSI)), NodeFsInodes: qp(*resource.NewQuantity(2e6, resource.DecimalSI))},
		pods: []PodUsage{makePod(podSpec{name: "a", diskUsed: 10})},
	}
	m, _ := newManager(t, f, DefaultEvictionHard)
	if got := sync1(t, m); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("evicted %v", got)
	}
	if st := f.statuses[0]; st.Signal != SignalImageFsAvailable {
		t.Errorf("signal = %v", st.Signal)
	}
	if mem, disk, pid := m.Conditions(); mem || !disk || pid {
		t.Errorf("conditions = %v %v %v", mem, disk, pid)
	}
}

func TestDedicatedImageFsRanking(t *testing.T) {
	logs := makePod(podSpec{name: "logs"})
	logs.Containers["app"] = ContainerUsage{Logs: mi(500), Rootfs: mi(10)}
	logs.Ephemeral = mi(510)
	layer := makePod(podSpec{name: "layer"})
	layer.Containers["app"] = ContainerUsage{Logs: mi(10), Rootfs: mi(800)}
	layer.Ephemeral = mi(810)
	pods := []PodUsage{logs, layer}
	if got := rankPods(pods, SignalNodeFsAvailable, true); got[0].Pod.Name != "logs" {
		t.Errorf("nodefs with dedicated imagefs ranks %s first, want logs", got[0].Pod.Name)
	}
	if got := rankPods(pods, SignalImageFsAvailable, true); got[0].Pod.Name != "layer" {
		t.Errorf("imagefs ranks %s first, want layer", got[0].Pod.Name)
	}
	if got := rankPods(pods, SignalNodeFsAvailable, false); got[0].Pod.Name != "layer" {
		t.Errorf("shared fs ranks %s first, want layer", got[0].Pod.Name)
	}
}

func TestPIDRanking(t *testing.T) {
	a := makePod(podSpec{name: "few"})
	a.Processes = *resource.NewQuantity(5, resource.DecimalSI)
	b := makePod(podSpec{name: "many"})
	b.Processes = *resource.NewQuantity(500, resource.DecimalSI)
	c := makePod(podSpec{name: "many-important", priority: prio(10)})
	c.Processes = *resource.NewQuantity(5000, resource.DecimalSI)
	var names []string
	for _, u := range rankPods([]PodUsage{a, c, b}, SignalPIDAvailable, false) {
		names = append(names, u.Pod.Name)
	}
	if want := []string{"many", "few", "many-important"}; !slices.Equal(names, want) {
		t.Errorf("pid rank = %v, want %v", names, want)
	}
}

func TestConditionsTransitionPeriod(t *testing.T) {
	f := &fakeNode{obs: memObs(50)}
	m, clk := newManager(t, f, "memory.available<100Mi,pid.available<100")
	check := func(step string, wantMem bool) {
		t.Helper()
		sync1(t, m)
		mem, disk, pid := m.Conditions()
		if mem != wantMem || disk || pid {
			t.Errorf("%s: conditions = %v %v %v, want memory=%v", step, mem, disk, pid, wantMem)
		}
	}
	check("threshold met", true)
	f.setObs(memObs(500))
	clk.Step(30 * time.Second)
	check("relieved 30s ago", true)
	clk.Step(29 * time.Second)
	check("relieved 59s ago", true)
	clk.Step(time.Second)
	check("relieved 60s ago", false)
	// Met again: on at once, and the period restarts from the last time
	// it was met.
	f.setObs(memObs(99))
	clk.Step(time.Second)
	check("met again", true)
	clk.Step(time.Minute)
	f.setObs(memObs(100)) // equal is not below
	check("met a minute ago", false)

	f.setObs(Observations{PIDAvailable: qp(*resource.NewQuantity(10, resource.DecimalSI))})
	sync1(t, m)
	if mem, disk, pid := m.Conditions(); mem || disk || !pid {
		t.Errorf("pid: conditions = %v %v %v", mem, disk, pid)
	}
}

func TestSoftThresholdGracePeriod(t *testing.T) {
	ts, err := ParseThresholdConfig("", "memory.available<500Mi", "memory.available=1m", "")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNode{obs: memObs(400), pods: []PodUsage{makePod(podSpec{name: "a", memUsed: 10})}}
	f.pods[0].Pod.Spec.TerminationGracePeriodSeconds = new(int64(45))
	clk := testingclock.NewFakeClock(t0)
	cfg := f.config(ts, clk)
	cfg.MaxPodGracePeriodSeconds = 20
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := sync1(t, m); got != nil {
		t.Fatalf("evicted %v before the grace period", got)
	}
	if mem, _, _ := m.Conditions(); !mem {
		t.Error("soft threshold met but no MemoryPressure")
	}
	clk.Step(59 * time.Second)
	if got := sync1(t, m); got != nil {
		t.Fatalf("evicted %v before the grace period", got)
	}
	clk.Step(time.Second)
	if got := sync1(t, m); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("evicted %v after the grace period", got)
	}
	if g := f.statuses[0].GracePeriodSeconds; g != 20 {
		t.Errorf("grace period = %d, want the 20s cap", g)
	}

	// Dropping below the threshold resets the grace period.
	f.pods = []PodUsage{makePod(podSpec{name: "b", memUsed: 10})}
	clk.Step(time.Second)
	f.setObs(memObs(600))
	sync1(t, m)
	f.setObs(memObs(400))
	clk.Step(30 * time.Second)
	if got := sync1(t, m); got != nil {
		t.Fatalf("evicted %v; grace period not restarted", got)
	}
}

func TestMinimumReclaim(t *testing.T) {
	ts, err := ParseThresholdConfig("memory.available<100Mi", "", "", "memory.available=200Mi")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNode{obs: memObs(50), pods: []PodUsage{makePod(podSpec{name: "a", memUsed: 10}), makePod(podSpec{name: "b", memUsed: 5})}}
	clk := testingclock.NewFakeClock(t0)
	m, err := New(f.config(ts, clk))
	if err != nil {
		t.Fatal(err)
	}
	sync1(t, m)
	// 250Mi is above the threshold but short of threshold+min-reclaim.
	f.setObs(memObs(250))
	if got := sync1(t, m); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("evicted %v, want [b] until 300Mi are available", got)
	}
	f.pods = []PodUsage{makePod(podSpec{name: "c", memUsed: 5})}
	f.setObs(memObs(301))
	if got := sync1(t, m); got != nil {
		t.Fatalf("evicted %v after min-reclaim was met", got)
	}
}

func TestStaleStatsDoNotEvict(t *testing.T) {
	f := &fakeNode{pods: []PodUsage{makePod(podSpec{name: "a", memUsed: 10}), makePod(podSpec{name: "b", memUsed: 5})}}
	obs := memObs(50)
	obs.Time = t0
	f.setObs(obs)
	m, _ := newManager(t, f, "memory.available<100Mi")
	if got := sync1(t, m); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("evicted %v", got)
	}
	if got := sync1(t, m); got != nil {
		t.Fatalf("evicted %v on the same stats", got)
	}
	if mem, _, _ := m.Conditions(); !mem {
		t.Error("stale stats dropped MemoryPressure")
	}
	obs.Time = t0.Add(time.Second)
	f.setObs(obs)
	if got := sync1(t, m); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("evicted %v on fresh stats", got)
	}
}

func TestReclaimDiskAvoidsEviction(t *testing.T) {
	f := &fakeNode{
		obs:  Observations{NodeFsAvailable: qp(mi(100)), NodeFsCapacity: qp(mi(10000))},
		pods: []PodUsage{makePod(podSpec{name: "a", diskUsed: 10})},
	}
	ts, _ := ParseThresholds("nodefs.available<10%,memory.available<100Mi")
	clk := testingclock.NewFakeClock(t0)
	cfg := f.config(ts, clk)
	reclaimed := 0
	cfg.ReclaimDisk = func(context.Context) error {
		reclaimed++
		f.obs = Observations{NodeFsAvailable: qp(mi(5000)), NodeFsCapacity: qp(mi(10000))}
		return nil
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := sync1(t, m); got != nil || reclaimed != 1 {
		t.Fatalf("evicted %v, reclaimed %d times", got, reclaimed)
	}
	// Memory pressure is not relieved by image GC.
	f.setObs(memObs(10))
	if got := sync1(t, m); !slices.Equal(got, []string{"a"}) || reclaimed != 1 {
		t.Fatalf("evicted %v, reclaimed %d times", got, reclaimed)
	}
}

func TestEmptyDirSizeLimit(t *testing.T) {
	u := makePod(podSpec{name: "scratchy"})
	u.Pod.Spec.Volumes = []corev1.Volume{
		{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: qp(resource.MustParse("1Gi"))}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: qp(resource.MustParse("100Mi"))}}},
	}
	u.EmptyDirs = map[string]resource.Quantity{"cache": mi(10), "scratch": mi(101)}
	ok := makePod(podSpec{name: "fine"})
	ok.Pod.Spec.Volumes = u.Pod.Spec.Volumes
	ok.EmptyDirs = map[string]resource.Quantity{"cache": mi(1024), "scratch": mi(100)}

	// No node pressure at all: limits are enforced regardless.
	f := &fakeNode{obs: memObs(3000), pods: []PodUsage{ok, u}}
	m, _ := newManager(t, f, DefaultEvictionHard)
	if got := sync1(t, m); !slices.Equal(got, []string{"scratchy"}) {
		t.Fatalf("evicted %v", got)
	}
	st := f.statuses[0]
	if want := `Usage of EmptyDir volume "scratch" exceeds the limit "100Mi". `; st.Message != want {
		t.Errorf("message:\n got %q\nwant %q", st.Message, want)
	}
	if st.Condition != nil || st.GracePeriodSeconds != 1 || st.Resource != corev1.ResourceEphemeralStorage {
		t.Errorf("status = %+v", st)
	}
	if mem, disk, pid := m.Conditions(); mem || disk || pid {
		t.Error("limit eviction raised a node condition")
	}
}

func TestEphemeralStorageLimits(t *testing.T) {
	container := makePod(podSpec{name: "container", diskLim: "1Gi", diskUsed: 1025})
	container.Ephemeral = resource.Quantity{} // derived from containers
	pod := makePod(podSpec{name: "pod", diskLim: "1Gi", diskUsed: 10})
	pod.Ephemeral = mi(2048) // e.g. an emptyDir without sizeLimit
	under := makePod(podSpec{name: "under", diskLim: "1Gi", diskUsed: 1024})
	critical := makePod(podSpec{name: "critical", diskLim: "1Gi", diskUsed: 4096, priority: prio(SystemCriticalPriority + 1)})
	f := &fakeNode{obs: memObs(3000), pods: []PodUsage{container, pod, under, critical}}
	m, _ := newManager(t, f, DefaultEvictionHard)
	// Every violating pod goes in the same cycle.
	if got := sync1(t, m); !slices.Equal(got, []string{"container", "pod"}) {
		t.Fatalf("evicted %v", got)
	}
	want := []string{
		// The pod-level limit (the sum of container limits, here the one
		// container's) is checked before the container's own.
		"Pod ephemeral local storage usage exceeds the total limit of containers 1Gi. ",
		"Pod ephemeral local storage usage exceeds the total limit of containers 1Gi. ",
	}
	for i, st := range f.statuses {
		if st.Message != want[i] {
			t.Errorf("%s: message %q, want %q", f.evicted[i], st.Message, want[i])
		}
	}

	// The container message, when only a container limit is set.
	two := makePod(podSpec{name: "two", diskLim: "100Mi"})
	two.Pod.Spec.Containers = append(two.Pod.Spec.Containers, corev1.Container{Name: "log-heavy",
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse("50Mi")}}})
	two.Containers = map[string]ContainerUsage{"app": {Rootfs: mi(60)}, "log-heavy": {Logs: mi(51)}}
	two.Ephemeral = mi(111)
	st, ok := localStorageViolation(&two, false)
	if !ok || st.Message != `Container log-heavy exceeded its local ephemeral storage limit "50Mi". ` {
		t.Errorf("violation = %v %q", ok, st.Message)
	}
	// With a dedicated imagefs the writable layer does not count.
	two.Containers["log-heavy"] = ContainerUsage{Logs: mi(40), Rootfs: mi(100)}
	two.Ephemeral = mi(100)
	if _, ok := localStorageViolation(&two, true); ok {
		t.Error("writable layer counted against the limit with a dedicated imagefs")
	}
	if _, ok := localStorageViolation(&two, false); !ok {
		t.Error("writable layer not counted on a shared filesystem")
	}
}

func TestAdmit(t *testing.T) {
	f := &fakeNode{obs: memObs(3000)}
	m, _ := newManager(t, f, "memory.available<100Mi,nodefs.available<10%")
	be := makePod(podSpec{name: "be"}).Pod
	burst := makePod(podSpec{name: "burst", memReq: "10Mi"}).Pod
	crit := makePod(podSpec{name: "crit", priority: prio(SystemCriticalPriority)}).Pod
	tolerant := makePod(podSpec{name: "tolerant"}).Pod
	tolerant.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}

	sync1(t, m)
	if ok, _, _ := m.Admit(be); !ok {
		t.Error("no pressure: BestEffort refused")
	}
	f.setObs(memObs(50))
	sync1(t, m)
	for _, tt := range []struct {
		pod  *corev1.Pod
		want bool
	}{{be, false}, {burst, true}, {crit, true}, {tolerant, true}} {
		ok, reason, msg := m.Admit(tt.pod)
		if ok != tt.want {
			t.Errorf("memory pressure: Admit(%s) = %v", tt.pod.Name, ok)
		}
		if !ok && (reason != "Evicted" || msg != "The node had condition: [MemoryPressure]. ") {
			t.Errorf("refusal = %q %q", reason, msg)
		}
	}
	o := memObs(50)
	o.NodeFsAvailable, o.NodeFsCapacity = qp(mi(1)), qp(mi(1000))
	f.setObs(o)
	sync1(t, m)
	if ok, _, msg := m.Admit(burst); ok || msg != "The node had condition: [MemoryPressure DiskPressure]. " {
		t.Errorf("disk pressure: Admit(burst) = %v %q", ok, msg)
	}
}

func TestTaintsAndNodeConditions(t *testing.T) {
	if got := Taints(false, false, false); len(got) != 0 {
		t.Errorf("no pressure: %v", got)
	}
	got := Taints(true, true, true)
	want := []corev1.Taint{
		{Key: "node.kubernetes.io/memory-pressure", Effect: corev1.TaintEffectNoSchedule},
		{Key: "node.kubernetes.io/disk-pressure", Effect: corev1.TaintEffectNoSchedule},
		{Key: "node.kubernetes.io/pid-pressure", Effect: corev1.TaintEffectNoSchedule},
	}
	if !slices.EqualFunc(got, want, func(a, b corev1.Taint) bool { return a.MatchTaint(&b) }) {
		t.Errorf("taints = %v", got)
	}
	if got := Taints(false, true, false); len(got) != 1 || got[0].Key != corev1.TaintNodeDiskPressure {
		t.Errorf("disk taints = %v", got)
	}
	conds := NodeConditions(true, false, true)
	if c := conds[0]; c.Type != corev1.NodeMemoryPressure || c.Status != corev1.ConditionTrue || c.Reason != "KubeletHasInsufficientMemory" || c.Message != "kubelet has insufficient memory available" {
		t.Errorf("memory = %+v", c)
	}
	if c := conds[1]; c.Status != corev1.ConditionFalse || c.Reason != "KubeletHasNoDiskPressure" {
		t.Errorf("disk = %+v", c)
	}
	if c := conds[2]; c.Status != corev1.ConditionTrue || c.Reason != "KubeletHasInsufficientPID" {
		t.Errorf("pid = %+v", c)
	}
}

func TestCriticalPods(t *testing.T) {
	for _, tt := range []struct {
		spec podSpec
		want bool
	}{
		{podSpec{name: "plain"}, false},
		{podSpec{name: "high", priority: prio(SystemCriticalPriority - 1)}, false},
		{podSpec{name: "cluster-critical", priority: prio(SystemCriticalPriority)}, true},
		{podSpec{name: "mirror", annotations: map[string]string{"kubernetes.io/config.mirror": "x"}}, true},
		{podSpec{name: "static", annotations: map[string]string{"kubernetes.io/config.source": "file"}}, true},
		{podSpec{name: "api", annotations: map[string]string{"kubernetes.io/config.source": "api"}}, false},
	} {
		if got := IsCritical(makePod(tt.spec).Pod); got != tt.want {
			t.Errorf("IsCritical(%s) = %v", tt.spec.name, got)
		}
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without callbacks succeeded")
	}
	f := &fakeNode{}
	cfg := f.config([]Threshold{{Signal: "bogus", Value: ThresholdValue{Percentage: 0.1}}}, testingclock.NewFakeClock(t0))
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "unsupported eviction signal bogus") {
		t.Errorf("New with a bogus signal: %v", err)
	}
}

func TestObserveErrorStillEnforcesLimits(t *testing.T) {
	u := makePod(podSpec{name: "big", diskLim: "1Mi", diskUsed: 2})
	f := &fakeNode{pods: []PodUsage{u}}
	ts, _ := ParseThresholds(DefaultEvictionHard)
	cfg := f.config(ts, testingclock.NewFakeClock(t0))
	cfg.Observe = func(context.Context) (Observations, error) { return Observations{}, errors.New("no stats") }
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := sync1(t, m); !slices.Equal(got, []string{"big"}) {
		t.Fatalf("evicted %v", got)
	}
	if _, err := m.Synchronize(context.Background()); err == nil || !strings.Contains(err.Error(), "no stats") {
		t.Errorf("error = %v", err)
	}
}

func TestRun(t *testing.T) {
	f := &fakeNode{obs: memObs(10), pods: []PodUsage{makePod(podSpec{name: "a", memUsed: 30}), makePod(podSpec{name: "b", memUsed: 20})}}
	ts, _ := ParseThresholds("memory.available<100Mi")
	clk := testingclock.NewFakeClock(t0)
	cfg := f.config(ts, clk)
	var cleanupChecks sync.WaitGroup
	cleanupChecks.Add(1)
	var once sync.Once
	cfg.PodCleanedUp = func(*corev1.Pod) bool {
		once.Do(cleanupChecks.Done)
		return false // never cleaned up: Run must give up after 30s
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		m.Run(ctx)
		close(done)
	}()
	cleanupChecks.Wait()
	if got := f.evictedNames(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("evicted %v", got)
	}
	// Step the fake clock until the cleanup wait times out and the next
	// cycle evicts b.
	deadline := time.Now().Add(5 * time.Second)
	for len(f.evictedNames()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("second eviction never happened; evicted %v", f.evictedNames())
		}
		if clk.HasWaiters() {
			clk.Step(time.Second)
		}
		time.Sleep(time.Millisecond)
	}
	if elapsed := clk.Since(t0); elapsed < podCleanupTimeout {
		t.Errorf("second eviction after %v, before the cleanup timeout", elapsed)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func ExampleParseThresholds() {
	ts, err := ParseThresholds("memory.available<100Mi,nodefs.available<10%")
	fmt.Println(ts, err)
	// Output: [memory.available<100Mi nodefs.available<10%] <nil>
}
