package nodelifecycle

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestDesiredTaintsFollowNodeConditions(t *testing.T) {
	ns := func(key string) corev1.Taint { return corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule} }
	userTaint := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}
	cases := []struct {
		name    string
		node    corev1.Node
		want    []corev1.Taint
		changed bool
	}{
		{"ready node keeps its own taints", node(corev1.ConditionTrue, userTaint), []corev1.Taint{userTaint}, false},
		{"not ready gets not-ready", node(corev1.ConditionFalse), []corev1.Taint{ns(corev1.TaintNodeNotReady)}, true},
		{"unknown gets unreachable", node(corev1.ConditionUnknown, userTaint), []corev1.Taint{userTaint, ns(corev1.TaintNodeUnreachable)}, true},
		{"recovered node loses not-ready", node(corev1.ConditionTrue, ns(corev1.TaintNodeNotReady), userTaint), []corev1.Taint{userTaint}, true},
		{"no conditions: nothing to do", corev1.Node{}, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := desiredTaints(&tc.node)
			if changed != tc.changed || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v (changed %v), want %v (changed %v)", got, changed, tc.want, tc.changed)
			}
		})
	}
}

func TestCordonedNodeIsTaintedUnschedulable(t *testing.T) {
	n := node(corev1.ConditionTrue)
	n.Spec.Unschedulable = true
	got, changed := desiredTaints(&n)
	if !changed || len(got) != 1 || got[0].Key != corev1.TaintNodeUnschedulable {
		t.Fatalf("got %v", got)
	}
}

func node(ready corev1.ConditionStatus, taints ...corev1.Taint) corev1.Node {
	return corev1.Node{
		Spec:   corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}},
	}
}
