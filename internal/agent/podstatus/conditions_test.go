package podstatus

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestLastTransitionTimeMovesOnlyWhenStatusChanges(t *testing.T) {
	pod := newPod(corev1.RestartPolicyAlways, "app")
	pod.Status.Phase = corev1.PodRunning
	pod.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)},
		// Same status, other message: the time is kept.
		{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady",
			Message: "containers with unknown status: [app]", LastTransitionTime: metav1.NewTime(t1)},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t1)},
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)},
	}
	got := Generate(Input{Pod: pod, Now: now, SandboxReady: true, Containers: map[string]*ContainerRecord{
		"app": {Current: running("c1"), ImageID: sha, Started: true}, // readiness probe not passed
	}})
	mustNotDiff(t, "conditions", []corev1.PodCondition{
		cond(corev1.PodReadyToStartContainers, corev1.ConditionTrue, "", "", t0),
		cond(corev1.PodInitialized, corev1.ConditionTrue, "", "", t0),
		cond(corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady", "containers with unready status: [app]", t1),
		cond(corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady", "containers with unready status: [app]", now),
		cond(corev1.PodScheduled, corev1.ConditionTrue, "", "", t0),
	}, got.Conditions)

	// Generating again from what was reported changes nothing.
	pod.Status = got
	mustNotDiff(t, "status", got, Generate(Input{Pod: pod, Now: now.Add(30e9), SandboxReady: true,
		Containers: map[string]*ContainerRecord{"app": {Current: running("c1"), ImageID: sha, Started: true}},
	}))
}

func TestConditionsNotOwnedByTheKubeletAreKeptFirst(t *testing.T) {
	pod := newPod(corev1.RestartPolicyAlways, "app")
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb-ready"}}
	disruption := corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: "PreemptionByScheduler", Message: "preempted", LastTransitionTime: metav1.NewTime(t1)}
	gate := corev1.PodCondition{Type: "example.com/lb-ready", Status: corev1.ConditionTrue,
		LastProbeTime: metav1.NewTime(t1), LastTransitionTime: metav1.NewTime(t1)}
	pod.Status.Conditions = append([]corev1.PodCondition{disruption}, append(pod.Status.Conditions, gate)...)

	got := Generate(Input{Pod: pod, Now: now, SandboxReady: true,
		Containers: map[string]*ContainerRecord{"app": up("c1", 0)}})
	r, cr := readyTrue()
	mustNotDiff(t, "conditions", append([]corev1.PodCondition{disruption, gate},
		kubeletConds(corev1.ConditionTrue, initializedTrue(), r, cr)...), got.Conditions)
}

func TestReadinessGatesHoldReadyBack(t *testing.T) {
	cases := []struct {
		name        string
		gate        *corev1.ConditionStatus
		wantStatus  corev1.ConditionStatus
		wantReason  string
		wantMessage string
	}{
		{"missing gate condition", nil, corev1.ConditionFalse, "ReadinessGatesNotReady",
			`corresponding condition of pod readiness gate "example.com/lb-ready" does not exist.`},
		{"gate condition False", ptr.To(corev1.ConditionFalse), corev1.ConditionFalse, "ReadinessGatesNotReady",
			`the status of pod readiness gate "example.com/lb-ready" is not "True", but False`},
		{"gate condition True", ptr.To(corev1.ConditionTrue), corev1.ConditionTrue, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := newPod(corev1.RestartPolicyAlways, "app")
			pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb-ready"}}
			if tc.gate != nil {
				pod.Status.Conditions = append(pod.Status.Conditions,
					corev1.PodCondition{Type: "example.com/lb-ready", Status: *tc.gate})
			}
			got := Generate(Input{Pod: pod, Now: now, SandboxReady: true,
				Containers: map[string]*ContainerRecord{"app": up("c1", 0)}})
			mustNotDiff(t, "Ready", cond(corev1.PodReady, tc.wantStatus, tc.wantReason, tc.wantMessage, now),
				*findCondition(got.Conditions, corev1.PodReady))
			// Gates never affect ContainersReady.
			mustNotDiff(t, "ContainersReady", cond(corev1.ContainersReady, corev1.ConditionTrue, "", "", now),
				*findCondition(got.Conditions, corev1.ContainersReady))
		})
	}
}

func TestSidecarsCountForReadinessAndInitialization(t *testing.T) {
	pod := withInit(newPod(corev1.RestartPolicyAlways, "app"), true, "proxy")
	// The sidecar runs but its startup probe has not passed: not initialized.
	got := Generate(Input{Pod: pod, Now: now, SandboxReady: true, Init: map[string]*ContainerRecord{
		"proxy": {Current: running("s1"), ImageID: sha},
	}})
	mustNotDiff(t, "Initialized", cond(corev1.PodInitialized, corev1.ConditionFalse, "ContainersNotInitialized",
		"containers with incomplete status: [proxy]", now), *findCondition(got.Conditions, corev1.PodInitialized))
	mustNotDiff(t, "ContainersReady", cond(corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady",
		"containers with unready status: [proxy app]", now), *findCondition(got.Conditions, corev1.ContainersReady))
	mustNotDiff(t, "phase", corev1.PodPending, got.Phase)
}
