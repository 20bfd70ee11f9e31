package nodelifecycle

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// conditionTaints maps a node condition in a given status to the NoSchedule
// taint Kubernetes' node lifecycle controller puts on the node, so that the
// scheduler's taint filter keeps new pods off it.
var conditionTaints = map[corev1.NodeConditionType]map[corev1.ConditionStatus]string{
	corev1.NodeReady: {
		corev1.ConditionFalse:   corev1.TaintNodeNotReady,
		corev1.ConditionUnknown: corev1.TaintNodeUnreachable,
	},
	corev1.NodeMemoryPressure:     {corev1.ConditionTrue: corev1.TaintNodeMemoryPressure},
	corev1.NodeDiskPressure:       {corev1.ConditionTrue: corev1.TaintNodeDiskPressure},
	corev1.NodePIDPressure:        {corev1.ConditionTrue: corev1.TaintNodePIDPressure},
	corev1.NodeNetworkUnavailable: {corev1.ConditionTrue: corev1.TaintNodeNetworkUnavailable},
}

// managedTaintKeys are the NoSchedule taints this controller owns.
var managedTaintKeys = map[string]bool{
	corev1.TaintNodeNotReady: true, corev1.TaintNodeUnreachable: true, corev1.TaintNodeMemoryPressure: true,
	corev1.TaintNodeDiskPressure: true, corev1.TaintNodePIDPressure: true, corev1.TaintNodeNetworkUnavailable: true,
	corev1.TaintNodeUnschedulable: true,
}

// desiredTaints returns node's taints with the managed NoSchedule ones
// recomputed from its conditions and spec.unschedulable; the second result
// tells whether anything changed.
func desiredTaints(node *corev1.Node) ([]corev1.Taint, bool) {
	want := map[string]bool{}
	for _, c := range node.Status.Conditions {
		if key, ok := conditionTaints[c.Type][c.Status]; ok {
			want[key] = true
		}
	}
	if node.Spec.Unschedulable {
		want[corev1.TaintNodeUnschedulable] = true
	}
	var out []corev1.Taint
	changed := false
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule && managedTaintKeys[t.Key] {
			if !want[t.Key] {
				changed = true
				continue
			}
			delete(want, t.Key)
		}
		out = append(out, t)
	}
	for _, key := range slices.Sorted(maps.Keys(want)) {
		out = append(out, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule})
		changed = true
	}
	return out, changed
}
