package pods

import (
	corev1 "k8s.io/api/core/v1"
)

// event records a Kubernetes event about the pod, or about one of its
// containers when fieldPath is set (spec.containers{name}).
func (w *worker) event(pod *corev1.Pod, fieldPath, eventType, reason, message string) {
	w.m.event(pod, fieldPath, eventType, reason, message)
}
