package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// PodTemplate defaults the embedded pod spec. Pod-only defaults (requests
// from limits, enableServiceLinks, host ports, service account) are not
// applied to templates, matching upstream.
func PodTemplate(t *corev1.PodTemplate) {
	PodTemplateSpec(&t.Template)
}

// ReplicationController defaults the selector and labels from the template
// labels, replicas to 1, and the template itself.
func ReplicationController(rc *corev1.ReplicationController) {
	if t := rc.Spec.Template; t != nil && t.Labels != nil {
		if len(rc.Spec.Selector) == 0 {
			rc.Spec.Selector = t.Labels
		}
		if len(rc.Labels) == 0 {
			rc.Labels = t.Labels
		}
	}
	if rc.Spec.Replicas == nil {
		// Declarative upstream (+default=1 on ReplicationControllerSpec).
		one := int32(1)
		rc.Spec.Replicas = &one
	}
	if rc.Spec.Template != nil {
		PodTemplateSpec(rc.Spec.Template)
	}
}

// PodLogOptions defaults the stream to All, the behaviour when it is unset
// (PodLogsQuerySplitStreams).
func PodLogOptions(o *corev1.PodLogOptions) {
	if o.Stream == nil {
		all := corev1.LogStreamAll
		o.Stream = &all
	}
}
