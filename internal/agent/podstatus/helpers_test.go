package podstatus

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/orca-pods/orca/internal/runtime"
)

// Fixed times: the pod was scheduled at t0, containers started at t1 and
// stopped at t2, and the status is generated at now. Runtime times carry
// nanoseconds that the generated status must drop.
var (
	now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	t0  = now.Add(-10 * time.Minute)
	t1  = now.Add(-5 * time.Minute)
	t2  = now.Add(-1 * time.Minute)
)

const (
	gen   = 3
	image = "busybox:1.37"
	sha   = "docker.io/library/busybox@sha256:0123456789abcdef"
)

var quantityEqual = cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })

func diff(want, got any) string { return cmp.Diff(want, got, quantityEqual) }

// newPod is a scheduled, not yet started pod "default/web" whose only
// condition is PodScheduled, set by the scheduler at t0.
func newPod(policy corev1.RestartPolicy, containers ...string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-1", Generation: gen},
		Spec:       corev1.PodSpec{RestartPolicy: policy, NodeName: "node-1"},
		Status: corev1.PodStatus{
			Phase:    corev1.PodPending,
			QOSClass: corev1.PodQOSBestEffort,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)},
			},
		},
	}
	for _, name := range containers {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: name, Image: image})
	}
	return pod
}

func withInit(pod *corev1.Pod, sidecar bool, names ...string) *corev1.Pod {
	for _, name := range names {
		c := corev1.Container{Name: name, Image: image}
		if sidecar {
			c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		}
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, c)
	}
	return pod
}

func running(id string) *runtime.ContainerStatus {
	return &runtime.ContainerStatus{ID: id, State: runtime.StateRunning, StartedAt: t1.Add(123456789)}
}

func exited(id string, code int) *runtime.ContainerStatus {
	return &runtime.ContainerStatus{ID: id, State: runtime.StateExited, ExitCode: code,
		StartedAt: t1.Add(987654321), FinishedAt: t2.Add(5)}
}

func oomKilled(id string) *runtime.ContainerStatus {
	cs := exited(id, 137)
	cs.Signal, cs.OOMKilled = 9, true
	return cs
}

// up is a running container whose probes passed.
func up(id string, restarts int) *ContainerRecord {
	return &ContainerRecord{Current: running(id), RestartCount: restarts, ImageID: sha, Ready: true, Started: true}
}

func done(id string, code int, restarts int) *ContainerRecord {
	return &ContainerRecord{Current: exited(id, code), RestartCount: restarts, ImageID: sha}
}

func crashLooping(id string, code int, restarts int) *ContainerRecord {
	r := done(id, code, restarts)
	r.Waiting = &corev1.ContainerStateWaiting{
		Reason:  "CrashLoopBackOff",
		Message: "back-off 40s restarting failed container=app pod=web_default(uid-1)",
	}
	return r
}

func waitingStatus(name, reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{
		Name: name, Image: image, Started: ptr.To(false),
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}},
	}
}

func runningStatus(name, id string, restarts int32, ready bool) corev1.ContainerStatus {
	return corev1.ContainerStatus{
		Name: name, Image: image, ImageID: sha, ContainerID: "orca://" + id,
		RestartCount: restarts, Ready: ready, Started: ptr.To(true),
		State:     corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(t1)}},
		Resources: &corev1.ResourceRequirements{},
	}
}

func terminated(id string, code int32, reason string) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{
		ExitCode: code, Reason: reason, ContainerID: "orca://" + id,
		StartedAt: metav1.NewTime(t1), FinishedAt: metav1.NewTime(t2),
	}
}

func terminatedStatus(name, id string, code int32, reason string, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{
		Name: name, Image: image, ImageID: sha, ContainerID: "orca://" + id,
		RestartCount: restarts, Started: ptr.To(false),
		State:     corev1.ContainerState{Terminated: terminated(id, code, reason)},
		Resources: &corev1.ResourceRequirements{},
	}
}

// cond is a kubelet-generated condition.
func cond(t corev1.PodConditionType, s corev1.ConditionStatus, reason, message string, at time.Time) corev1.PodCondition {
	return corev1.PodCondition{Type: t, Status: s, Reason: reason, Message: message,
		ObservedGeneration: gen, LastTransitionTime: metav1.NewTime(at)}
}

// kubeletConds lists the five kubelet conditions in the kubelet's order for
// a pod whose previous status only had PodScheduled: every other one is new.
func kubeletConds(sandbox corev1.ConditionStatus, initialized, ready, containersReady corev1.PodCondition) []corev1.PodCondition {
	return []corev1.PodCondition{
		cond(corev1.PodReadyToStartContainers, sandbox, "", "", now),
		initialized, ready, containersReady,
		cond(corev1.PodScheduled, corev1.ConditionTrue, "", "", t0),
	}
}

func initializedTrue() corev1.PodCondition {
	return cond(corev1.PodInitialized, corev1.ConditionTrue, "", "", now)
}

func readyTrue() (corev1.PodCondition, corev1.PodCondition) {
	return cond(corev1.PodReady, corev1.ConditionTrue, "", "", now),
		cond(corev1.ContainersReady, corev1.ConditionTrue, "", "", now)
}

func notReady(message string) (corev1.PodCondition, corev1.PodCondition) {
	return cond(corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady", message, now),
		cond(corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady", message, now)
}

func terminalReady(reason string) (corev1.PodCondition, corev1.PodCondition) {
	return cond(corev1.PodReady, corev1.ConditionFalse, reason, "", now),
		cond(corev1.ContainersReady, corev1.ConditionFalse, reason, "", now)
}

func mustNotDiff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}
