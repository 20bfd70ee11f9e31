package podstatus

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxPodTerminationMessageBytes caps the termination messages of all of a
// pod's containers together (kubecontainer.MaxPodTerminationMessageLogLength).
const maxPodTerminationMessageBytes = 1024 * 12

// normalize does what the status manager's normalizeStatus does before
// comparing with or writing to the API server: timestamps lose their
// sub-second part (the API stores RFC 3339 seconds), and each terminated
// container's message gets an equal share of the pod's message budget.
func normalize(pod *corev1.Pod, s *corev1.PodStatus) {
	perContainer := maxPodTerminationMessageBytes
	if n := len(pod.Spec.Containers) + len(pod.Spec.InitContainers); n > 0 {
		perContainer /= n
	}
	seconds := func(t *metav1.Time) { *t = t.Rfc3339Copy() }
	state := func(cs *corev1.ContainerState) {
		if cs.Running != nil {
			seconds(&cs.Running.StartedAt)
		}
		if t := cs.Terminated; t != nil {
			seconds(&t.StartedAt)
			seconds(&t.FinishedAt)
			if len(t.Message) > perContainer {
				t.Message = t.Message[:perContainer]
			}
		}
	}
	if s.StartTime != nil {
		seconds(s.StartTime)
	}
	for i := range s.Conditions {
		seconds(&s.Conditions[i].LastProbeTime)
		seconds(&s.Conditions[i].LastTransitionTime)
	}
	for _, list := range [][]corev1.ContainerStatus{s.InitContainerStatuses, s.ContainerStatuses, s.EphemeralContainerStatuses} {
		for i := range list {
			state(&list[i].State)
			state(&list[i].LastTerminationState)
		}
	}
}
