package printers

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// podCase describes a pod by its spec container names plus status; the
// builder fills the boilerplate so each case shows only what matters.
type podCase struct {
	name         string
	containers   []string
	initSpec     []corev1.Container // init containers (sidecars set RestartPolicy)
	phase        corev1.PodPhase
	reason       string
	conditions   []corev1.PodCondition
	initStatuses []corev1.ContainerStatus
	statuses     []corev1.ContainerStatus
	deleted      bool

	wantReady, wantStatus, wantRestarts string
}

func (c podCase) pod() *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", CreationTimestamp: ago(10 * time.Minute)},
		Spec:       corev1.PodSpec{Containers: containers(c.containers...), InitContainers: c.initSpec},
		Status: corev1.PodStatus{
			Phase: c.phase, Reason: c.reason, Conditions: c.conditions,
			InitContainerStatuses: c.initStatuses, ContainerStatuses: c.statuses,
		},
	}
	if c.deleted {
		p.DeletionTimestamp = agoPtr(5 * time.Second)
	}
	return p
}

func initSpec(names ...string) []corev1.Container { return containers(names...) }

func sidecarSpec(name string) corev1.Container {
	c := corev1.Container{Name: name, Image: "registry.local/" + name + ":1", RestartPolicy: &always}
	return c
}

func withRestarts(s corev1.ContainerStatus, n int32, last *corev1.ContainerState) corev1.ContainerStatus {
	s.RestartCount = n
	if last != nil {
		s.LastTerminationState = *last
	}
	return s
}

func started(s corev1.ContainerStatus, v bool) corev1.ContainerStatus {
	s.Started = boolPtr(v)
	return s
}

func TestPodStatusSummary(t *testing.T) {
	ready := cond(corev1.PodReady, corev1.ConditionTrue)
	notReady := cond(corev1.PodReady, corev1.ConditionFalse)
	initialized := cond(corev1.PodInitialized, corev1.ConditionTrue)
	last2m := lastTerminated(2 * time.Minute)
	last30s := lastTerminated(30 * time.Second)
	last5m := lastTerminated(5 * time.Minute)
	last1h := lastTerminated(time.Hour)

	cases := []podCase{
		{
			name: "pending without statuses", containers: []string{"app"}, phase: corev1.PodPending,
			wantReady: "0/1", wantStatus: "Pending", wantRestarts: "0",
		},
		{
			name: "container creating", containers: []string{"app"}, phase: corev1.PodPending,
			statuses:  []corev1.ContainerStatus{cstatus("app", waiting("ContainerCreating"), false)},
			wantReady: "0/1", wantStatus: "ContainerCreating", wantRestarts: "0",
		},
		{
			name: "running 2/2", containers: []string{"a", "b"}, phase: corev1.PodRunning,
			conditions: []corev1.PodCondition{initialized, ready},
			statuses:   []corev1.ContainerStatus{cstatus("a", running(), true), cstatus("b", running(), true)},
			wantReady:  "2/2", wantStatus: "Running", wantRestarts: "0",
		},
		{
			name: "running but not ready", containers: []string{"a", "b"}, phase: corev1.PodRunning,
			statuses:  []corev1.ContainerStatus{cstatus("a", running(), true), cstatus("b", running(), false)},
			wantReady: "1/2", wantStatus: "Running", wantRestarts: "0",
		},
		{
			name: "crash loop with restart age", containers: []string{"app"}, phase: corev1.PodRunning,
			statuses:  []corev1.ContainerStatus{withRestarts(cstatus("app", waiting("CrashLoopBackOff"), false), 3, &last2m)},
			wantReady: "0/1", wantStatus: "CrashLoopBackOff", wantRestarts: "3 (2m ago)",
		},
		{
			name: "restarts without a known termination time", containers: []string{"app"}, phase: corev1.PodRunning,
			statuses:  []corev1.ContainerStatus{withRestarts(cstatus("app", running(), true), 3, nil)},
			wantReady: "1/1", wantStatus: "Running", wantRestarts: "3",
		},
		{
			name: "restart age is the newest termination", containers: []string{"a", "b"}, phase: corev1.PodRunning,
			statuses: []corev1.ContainerStatus{
				withRestarts(cstatus("a", running(), true), 1, &last1h),
				withRestarts(cstatus("b", running(), true), 2, &last5m),
			},
			wantReady: "2/2", wantStatus: "Running", wantRestarts: "3 (5m ago)",
		},
		{
			name: "image pull backoff", containers: []string{"app"}, phase: corev1.PodPending,
			statuses:  []corev1.ContainerStatus{cstatus("app", waiting("ImagePullBackOff"), false)},
			wantReady: "0/1", wantStatus: "ImagePullBackOff", wantRestarts: "0",
		},
		{
			name: "first container's state wins", containers: []string{"a", "b"}, phase: corev1.PodPending,
			statuses:  []corev1.ContainerStatus{cstatus("a", waiting("ErrImagePull"), false), cstatus("b", waiting("ContainerCreating"), false)},
			wantReady: "0/2", wantStatus: "ErrImagePull", wantRestarts: "0",
		},
		{
			name: "init 0/2", containers: []string{"app"}, initSpec: initSpec("i1", "i2"), phase: corev1.PodPending,
			initStatuses: []corev1.ContainerStatus{cstatus("i1", running(), false), cstatus("i2", waiting("PodInitializing"), false)},
			statuses:     []corev1.ContainerStatus{cstatus("app", waiting("PodInitializing"), false)},
			wantReady:    "0/1", wantStatus: "Init:0/2", wantRestarts: "0",
		},
		{
			name: "init 1/2", containers: []string{"app"}, initSpec: initSpec("i1", "i2"), phase: corev1.PodPending,
			initStatuses: []corev1.ContainerStatus{cstatus("i1", terminated("Completed", 0, 0), false), cstatus("i2", running(), false)},
			statuses:     []corev1.ContainerStatus{cstatus("app", waiting("PodInitializing"), false)},
			wantReady:    "0/1", wantStatus: "Init:1/2", wantRestarts: "0",
		},
		{
			name: "init waiting for PodInitializing shows progress", containers: []string{"app"}, initSpec: initSpec("i1"), phase: corev1.PodPending,
			initStatuses: []corev1.ContainerStatus{cstatus("i1", waiting("PodInitializing"), false)},
			wantReady:    "0/1", wantStatus: "Init:0/1", wantRestarts: "0",
		},
		{
			name: "init error", containers: []string{"app"}, initSpec: initSpec("i1", "i2"), phase: corev1.PodFailed,
			initStatuses: []corev1.ContainerStatus{cstatus("i1", terminated("Error", 1, 0), false), cstatus("i2", waiting("PodInitializing"), false)},
			wantReady:    "0/1", wantStatus: "Init:Error", wantRestarts: "0",
		},
		{
			name: "init crash loop counts init restarts", containers: []string{"app"}, initSpec: initSpec("i1"), phase: corev1.PodPending,
			initStatuses: []corev1.ContainerStatus{withRestarts(cstatus("i1", waiting("CrashLoopBackOff"), false), 4, &last30s)},
			statuses:     []corev1.ContainerStatus{cstatus("app", waiting("PodInitializing"), false)},
			wantReady:    "0/1", wantStatus: "Init:CrashLoopBackOff", wantRestarts: "4 (30s ago)",
		},
		{
			name: "init signal without reason", containers: []string{"app"}, initSpec: initSpec("i1"), phase: corev1.PodPending,
			initStatuses: []corev1.ContainerStatus{cstatus("i1", terminated("", 137, 9), false)},
			wantReady:    "0/1", wantStatus: "Init:Signal:9", wantRestarts: "0",
		},
		{
			name: "init exit code without reason", containers: []string{"app"}, initSpec: initSpec("i1"), phase: corev1.PodPending,
			initStatuses: []corev1.ContainerStatus{cstatus("i1", terminated("", 3, 0), false)},
			wantReady:    "0/1", wantStatus: "Init:ExitCode:3", wantRestarts: "0",
		},
		{
			name: "pod initializing after init containers", containers: []string{"app"}, initSpec: initSpec("i1", "i2"), phase: corev1.PodPending,
			conditions:   []corev1.PodCondition{initialized},
			initStatuses: []corev1.ContainerStatus{cstatus("i1", terminated("Completed", 0, 0), false), cstatus("i2", terminated("Completed", 0, 0), false)},
			statuses:     []corev1.ContainerStatus{cstatus("app", waiting("PodInitializing"), false)},
			wantReady:    "0/1", wantStatus: "PodInitializing", wantRestarts: "0",
		},
		{
			name: "finished init restarts are not counted", containers: []string{"app"}, initSpec: initSpec("i1"), phase: corev1.PodRunning,
			conditions:   []corev1.PodCondition{initialized, ready},
			initStatuses: []corev1.ContainerStatus{withRestarts(cstatus("i1", terminated("Completed", 0, 0), false), 2, &last1h)},
			statuses:     []corev1.ContainerStatus{cstatus("app", running(), true)},
			wantReady:    "1/1", wantStatus: "Running", wantRestarts: "0",
		},
		{
			name: "sidecar counted in ready and restarts", containers: []string{"app"},
			initSpec: []corev1.Container{sidecarSpec("proxy")}, phase: corev1.PodRunning,
			conditions:   []corev1.PodCondition{initialized, ready},
			initStatuses: []corev1.ContainerStatus{started(withRestarts(cstatus("proxy", running(), true), 1, &last5m), true)},
			statuses:     []corev1.ContainerStatus{cstatus("app", running(), true)},
			wantReady:    "2/2", wantStatus: "Running", wantRestarts: "1 (5m ago)",
		},
		{
			name: "sidecar not yet started blocks init", containers: []string{"app"},
			initSpec: []corev1.Container{sidecarSpec("proxy")}, phase: corev1.PodPending,
			initStatuses: []corev1.ContainerStatus{started(cstatus("proxy", running(), false), false)},
			statuses:     []corev1.ContainerStatus{cstatus("app", waiting("PodInitializing"), false)},
			wantReady:    "0/2", wantStatus: "Init:0/1", wantRestarts: "0",
		},
		{
			name: "sidecar then regular init container", containers: []string{"app"},
			initSpec: []corev1.Container{sidecarSpec("proxy"), {Name: "migrate"}}, phase: corev1.PodPending,
			initStatuses: []corev1.ContainerStatus{
				started(cstatus("proxy", running(), true), true),
				cstatus("migrate", running(), false),
			},
			statuses:  []corev1.ContainerStatus{cstatus("app", waiting("PodInitializing"), false)},
			wantReady: "1/2", wantStatus: "Init:1/2", wantRestarts: "0",
		},
		{
			name: "completed", containers: []string{"job"}, phase: corev1.PodSucceeded,
			statuses:  []corev1.ContainerStatus{cstatus("job", terminated("Completed", 0, 0), false)},
			wantReady: "0/1", wantStatus: "Completed", wantRestarts: "0",
		},
		{
			name: "error", containers: []string{"job"}, phase: corev1.PodFailed,
			statuses:  []corev1.ContainerStatus{cstatus("job", terminated("Error", 1, 0), false)},
			wantReady: "0/1", wantStatus: "Error", wantRestarts: "0",
		},
		{
			name: "oom killed", containers: []string{"app"}, phase: corev1.PodRunning,
			statuses:  []corev1.ContainerStatus{withRestarts(cstatus("app", terminated("OOMKilled", 137, 0), false), 1, &last2m)},
			wantReady: "0/1", wantStatus: "OOMKilled", wantRestarts: "1 (2m ago)",
		},
		{
			name: "signal without reason", containers: []string{"app"}, phase: corev1.PodFailed,
			statuses:  []corev1.ContainerStatus{cstatus("app", terminated("", 137, 9), false)},
			wantReady: "0/1", wantStatus: "Signal:9", wantRestarts: "0",
		},
		{
			name: "exit code without reason", containers: []string{"app"}, phase: corev1.PodFailed,
			statuses:  []corev1.ContainerStatus{cstatus("app", terminated("", 3, 0), false)},
			wantReady: "0/1", wantStatus: "ExitCode:3", wantRestarts: "0",
		},
		{
			name: "completed container next to a running one, pod not ready", containers: []string{"done", "serve"}, phase: corev1.PodRunning,
			conditions: []corev1.PodCondition{notReady},
			statuses:   []corev1.ContainerStatus{cstatus("done", terminated("Completed", 0, 0), false), cstatus("serve", running(), true)},
			wantReady:  "1/2", wantStatus: "NotReady", wantRestarts: "0",
		},
		{
			name: "completed container next to a running one, pod ready", containers: []string{"done", "serve"}, phase: corev1.PodRunning,
			conditions: []corev1.PodCondition{ready},
			statuses:   []corev1.ContainerStatus{cstatus("done", terminated("Completed", 0, 0), false), cstatus("serve", running(), true)},
			wantReady:  "1/2", wantStatus: "Running", wantRestarts: "0",
		},
		{
			name: "completed first container hides no error of a later one", containers: []string{"a", "z"}, phase: corev1.PodFailed,
			statuses:  []corev1.ContainerStatus{cstatus("a", terminated("Completed", 0, 0), false), cstatus("z", terminated("Error", 1, 0), false)},
			wantReady: "0/2", wantStatus: "Error", wantRestarts: "0",
		},
		{
			name: "terminating", containers: []string{"app"}, phase: corev1.PodRunning, deleted: true,
			conditions: []corev1.PodCondition{ready},
			statuses:   []corev1.ContainerStatus{cstatus("app", running(), true)},
			wantReady:  "1/1", wantStatus: "Terminating", wantRestarts: "0",
		},
		{
			name: "deleted terminal pod keeps its status", containers: []string{"job"}, phase: corev1.PodSucceeded, deleted: true,
			statuses:  []corev1.ContainerStatus{cstatus("job", terminated("Completed", 0, 0), false)},
			wantReady: "0/1", wantStatus: "Completed", wantRestarts: "0",
		},
		{
			name: "deleted on a lost node is unknown", containers: []string{"app"}, phase: corev1.PodRunning, reason: "NodeLost", deleted: true,
			statuses:  []corev1.ContainerStatus{cstatus("app", running(), true)},
			wantReady: "1/1", wantStatus: "Unknown", wantRestarts: "0",
		},
		{
			name: "evicted via status reason", containers: []string{"app"}, phase: corev1.PodFailed, reason: "Evicted",
			wantReady: "0/1", wantStatus: "Evicted", wantRestarts: "0",
		},
		{
			name: "scheduling gated", containers: []string{"app"}, phase: corev1.PodPending,
			conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}},
			wantReady:  "0/1", wantStatus: "SchedulingGated", wantRestarts: "0",
		},
		{
			name: "unschedulable stays pending", containers: []string{"app"}, phase: corev1.PodPending,
			conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}},
			wantReady:  "0/1", wantStatus: "Pending", wantRestarts: "0",
		},
		{
			// Upstream quirk kept on purpose: with Initialized=True the regular
			// containers are walked (READY and RESTARTS come from them), but a
			// running container never overwrites the Init: status.
			name: "initialized condition with a stale init status", containers: []string{"app"}, initSpec: initSpec("i1"), phase: corev1.PodRunning,
			conditions:   []corev1.PodCondition{initialized, ready},
			initStatuses: []corev1.ContainerStatus{withRestarts(cstatus("i1", waiting("CrashLoopBackOff"), false), 5, &last1h)},
			statuses:     []corev1.ContainerStatus{cstatus("app", running(), true)},
			wantReady:    "1/1", wantStatus: "Init:CrashLoopBackOff", wantRestarts: "0",
		},
	}

	conv := forClock(schema.GroupResource{Resource: "pods"}, fixedClock)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			table, err := conv.ConvertToTable(context.Background(), tc.pod(), nil)
			if err != nil {
				t.Fatal(err)
			}
			cells := table.Rows[0].Cells
			got := [3]interface{}{cells[1], cells[2], cells[3]}
			want := [3]interface{}{tc.wantReady, tc.wantStatus, tc.wantRestarts}
			if got != want {
				t.Errorf("READY/STATUS/RESTARTS = %q, want %q", got, want)
			}
		})
	}
}

func TestPodRowConditions(t *testing.T) {
	conv := forClock(schema.GroupResource{Resource: "pods"}, fixedClock)
	for phase, wantReason := range map[corev1.PodPhase]string{
		corev1.PodSucceeded: "Succeeded",
		corev1.PodFailed:    "Failed",
		corev1.PodRunning:   "",
	} {
		pod := podCase{containers: []string{"app"}, phase: phase}.pod()
		table, err := conv.ConvertToTable(context.Background(), pod, nil)
		if err != nil {
			t.Fatal(err)
		}
		conds := table.Rows[0].Conditions
		if wantReason == "" {
			if len(conds) != 0 {
				t.Errorf("%s: unexpected row conditions %v", phase, conds)
			}
			continue
		}
		if len(conds) != 1 || conds[0].Type != metav1.RowCompleted || conds[0].Status != metav1.ConditionTrue || conds[0].Reason != wantReason {
			t.Errorf("%s: row conditions = %+v, want Completed=True reason %s", phase, conds, wantReason)
		}
	}
}

func TestPodWideCells(t *testing.T) {
	conv := forClock(schema.GroupResource{Resource: "pods"}, fixedClock)
	bare := podCase{containers: []string{"app"}, phase: corev1.PodPending}.pod()

	legacyIP := podCase{containers: []string{"app"}, phase: corev1.PodRunning}.pod()
	legacyIP.Status.PodIP = "10.0.0.7"
	legacyIP.Spec.NodeName = "n1"

	dualStack := legacyIP.DeepCopy()
	dualStack.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.8"}, {IP: "fd00::8"}}
	dualStack.Status.NominatedNodeName = "n2"
	dualStack.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "lb/ready"}, {ConditionType: "dns/ready"}}
	dualStack.Status.Conditions = []corev1.PodCondition{
		{Type: "lb/ready", Status: corev1.ConditionTrue},
		{Type: "dns/ready", Status: corev1.ConditionFalse},
	}

	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want [4]interface{}
	}{
		{"defaults", bare, [4]interface{}{"<none>", "<none>", "<none>", "<none>"}},
		{"legacy podIP", legacyIP, [4]interface{}{"10.0.0.7", "n1", "<none>", "<none>"}},
		{"podIPs and gates", dualStack, [4]interface{}{"10.0.0.8", "n1", "n2", "1/2"}},
	} {
		table, err := conv.ConvertToTable(context.Background(), tc.pod, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := table.Rows[0].Cells
		if got := [4]interface{}{c[5], c[6], c[7], c[8]}; got != tc.want {
			t.Errorf("%s: wide cells = %q, want %q", tc.name, got, tc.want)
		}
	}
}
