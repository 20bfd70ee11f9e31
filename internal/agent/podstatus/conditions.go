package podstatus

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition reasons the kubelet writes (pkg/kubelet/status/generate.go).
const (
	reasonUnknownContainerStatuses = "UnknownContainerStatuses"
	reasonPodCompleted             = "PodCompleted"
	reasonPodFailed                = "PodFailed"
	reasonContainersNotReady       = "ContainersNotReady"
	reasonContainersNotInitialized = "ContainersNotInitialized"
	reasonReadinessGatesNotReady   = "ReadinessGatesNotReady"
)

// kubeletOwned are the condition types the kubelet regenerates on every
// sync; all others (DisruptionTarget, readiness-gate conditions, resize
// conditions) are carried over from the pod untouched.
func kubeletOwned(t corev1.PodConditionType) bool {
	switch t {
	case corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized,
		corev1.ContainersReady, corev1.PodReadyToStartContainers:
		return true
	}
	return false
}

// conditions returns the pod's conditions in the kubelet's order: the ones
// it does not own first, then PodReadyToStartContainers, Initialized, Ready,
// ContainersReady, PodScheduled. lastTransitionTime moves to now only when a
// kubelet-owned condition's status changes.
func conditions(pod *corev1.Pod, sandboxReady bool, initStatuses, statuses []corev1.ContainerStatus, phase corev1.PodPhase, now time.Time) []corev1.PodCondition {
	old := pod.Status.Conditions
	out := make([]corev1.PodCondition, 0, len(old)+5)
	for i := range old {
		if !kubeletOwned(old[i].Type) {
			out = append(out, *old[i].DeepCopy())
		}
	}

	var all []corev1.ContainerStatus
	if initStatuses != nil || statuses != nil {
		all = append(append([]corev1.ContainerStatus{}, initStatuses...), statuses...)
	}
	generated := []corev1.PodCondition{
		readyToStartCondition(sandboxReady),
		initializedCondition(&pod.Spec, all, phase),
	}
	// Readiness gates see the conditions gathered so far.
	generated = append(generated,
		podReadyCondition(&pod.Spec, append(append([]corev1.PodCondition{}, out...), generated...), all, phase),
		containersReadyCondition(&pod.Spec, all, phase),
		corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
	)
	for i := range generated {
		c := &generated[i]
		c.ObservedGeneration = pod.Generation
		c.LastTransitionTime = metav1.NewTime(now)
		if prev := findCondition(old, c.Type); prev != nil && prev.Status == c.Status {
			c.LastTransitionTime = prev.LastTransitionTime
		}
	}
	return append(out, generated...)
}

func readyToStartCondition(sandboxReady bool) corev1.PodCondition {
	c := corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionFalse}
	if sandboxReady {
		c.Status = corev1.ConditionTrue
	}
	return c
}

// containersReadyCondition: True when every regular container and sidecar
// is ready.
func containersReadyCondition(spec *corev1.PodSpec, statuses []corev1.ContainerStatus, phase corev1.PodPhase) corev1.PodCondition {
	c := corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse}
	if statuses == nil {
		c.Reason = reasonUnknownContainerStatuses
		return c
	}
	var unknown, unready []string
	check := func(name string) {
		switch st := findStatus(statuses, name); {
		case st == nil:
			unknown = append(unknown, name)
		case !st.Ready:
			unready = append(unready, name)
		}
	}
	for i := range spec.InitContainers {
		if isSidecar(&spec.InitContainers[i]) {
			check(spec.InitContainers[i].Name)
		}
	}
	for i := range spec.Containers {
		check(spec.Containers[i].Name)
	}

	switch {
	case phase == corev1.PodSucceeded && len(unknown) == 0:
		c.Reason = reasonPodCompleted
		return c
	case phase == corev1.PodFailed:
		// Containers may still be stopping: a failed pod is never ready.
		c.Reason = reasonPodFailed
		return c
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unknown status: %s", unknown))
	}
	if len(unready) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unready status: %s", unready))
	}
	if len(msgs) > 0 {
		c.Reason = reasonContainersNotReady
		c.Message = strings.Join(msgs, ", ")
		return c
	}
	c.Status = corev1.ConditionTrue
	return c
}

// podReadyCondition: ContainersReady, and then every readiness gate's
// condition True.
func podReadyCondition(spec *corev1.PodSpec, conds []corev1.PodCondition, statuses []corev1.ContainerStatus, phase corev1.PodPhase) corev1.PodCondition {
	cr := containersReadyCondition(spec, statuses, phase)
	if cr.Status != corev1.ConditionTrue {
		return corev1.PodCondition{Type: corev1.PodReady, Status: cr.Status, Reason: cr.Reason, Message: cr.Message}
	}
	var msgs []string
	for _, rg := range spec.ReadinessGates {
		gc := findCondition(conds, rg.ConditionType)
		switch {
		case gc == nil:
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", string(rg.ConditionType)))
		case gc.Status != corev1.ConditionTrue:
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", string(rg.ConditionType), gc.Status))
		}
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{
			Type:    corev1.PodReady,
			Status:  corev1.ConditionFalse,
			Reason:  reasonReadinessGatesNotReady,
			Message: strings.Join(msgs, ", "),
		}
	}
	return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
}

// initializedCondition: True once every regular init container succeeded
// and every sidecar started, or once any regular container has run (a
// restarting sidecar does not un-initialize the pod).
func initializedCondition(spec *corev1.PodSpec, statuses []corev1.ContainerStatus, phase corev1.PodPhase) corev1.PodCondition {
	c := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionFalse}
	if statuses == nil && len(spec.InitContainers) > 0 {
		c.Reason = reasonUnknownContainerStatuses
		return c
	}
	var unknown, incomplete []string
	for i := range spec.InitContainers {
		ic := &spec.InitContainers[i]
		st := findStatus(statuses, ic.Name)
		switch {
		case st == nil:
			unknown = append(unknown, ic.Name)
		case isSidecar(ic) && (st.Started == nil || !*st.Started):
			incomplete = append(incomplete, ic.Name)
		case !isSidecar(ic) && !st.Ready:
			incomplete = append(incomplete, ic.Name)
		}
	}
	if phase == corev1.PodSucceeded && len(unknown) == 0 {
		c.Status = corev1.ConditionTrue
		c.Reason = reasonPodCompleted
		return c
	}
	if anyRegularStarted(spec, statuses) {
		c.Status = corev1.ConditionTrue
		return c
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unknown status: %s", unknown))
	}
	if len(incomplete) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with incomplete status: %s", incomplete))
	}
	if len(msgs) > 0 {
		c.Reason = reasonContainersNotInitialized
		c.Message = strings.Join(msgs, ", ")
		return c
	}
	c.Status = corev1.ConditionTrue
	return c
}

// anyRegularStarted: some regular container is running or has terminated.
func anyRegularStarted(spec *corev1.PodSpec, statuses []corev1.ContainerStatus) bool {
	for i := range spec.Containers {
		if st := findStatus(statuses, spec.Containers[i].Name); st != nil &&
			(st.State.Running != nil || st.State.Terminated != nil) {
			return true
		}
	}
	return false
}

func findCondition(conds []corev1.PodCondition, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}
