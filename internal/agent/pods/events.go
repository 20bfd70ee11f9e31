package pods

import (
	corev1 "k8s.io/api/core/v1"
)

// event records a Kubernetes event about the pod, or about one of its
// containers when fieldPath is set (spec.containers{name}).
func (w *worker) event(pod *corev1.Pod, fieldPath, eventType, reason, message string) {
	if w.m.cfg.Recorder == nil {
		return
	}
	ref := &corev1.ObjectReference{
		Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
		UID: pod.UID, ResourceVersion: pod.ResourceVersion, FieldPath: fieldPath,
	}
	w.m.cfg.Recorder.Event(ref, eventType, reason, message)
}
