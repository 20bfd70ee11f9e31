package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// DefaultTolerationSeconds is how long a pod stays bound to a node that went
// not-ready or unreachable before it is evicted (upstream's
// --default-not-ready-toleration-seconds and
// --default-unreachable-toleration-seconds, both 300 by default).
const DefaultTolerationSeconds int64 = 300

// DefaultTolerations adds NoExecute tolerations for the not-ready and
// unreachable node taints, with DefaultTolerationSeconds, unless the pod
// already tolerates them. This is upstream's DefaultTolerationSeconds
// admission plugin; it is not scheme defaulting and is not registered. The
// pod create strategy should call it (upstream also runs it on update, where
// it is a no-op for pods that went through create).
func DefaultTolerations(p *corev1.Pod) {
	notReady, unreachable := false, false
	for _, t := range p.Spec.Tolerations {
		// An empty key tolerates every taint and an empty effect every
		// effect; the operator is not consulted, as upstream.
		if t.Effect != "" && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if t.Key == "" || t.Key == corev1.TaintNodeNotReady {
			notReady = true
		}
		if t.Key == "" || t.Key == corev1.TaintNodeUnreachable {
			unreachable = true
		}
	}
	if !notReady {
		p.Spec.Tolerations = append(p.Spec.Tolerations, nodeToleration(corev1.TaintNodeNotReady))
	}
	if !unreachable {
		p.Spec.Tolerations = append(p.Spec.Tolerations, nodeToleration(corev1.TaintNodeUnreachable))
	}
}

func nodeToleration(key string) corev1.Toleration {
	secs := DefaultTolerationSeconds
	return corev1.Toleration{
		Key:               key,
		Operator:          corev1.TolerationOpExists,
		Effect:            corev1.TaintEffectNoExecute,
		TolerationSeconds: &secs,
	}
}
