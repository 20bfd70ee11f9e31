package defaults

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestDefaultTolerations(t *testing.T) {
	secs := func(v int64) *int64 { return &v }
	notReady := corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs(300)}
	unreachable := corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs(300)}
	other := corev1.Toleration{Key: "gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}

	tests := []struct {
		name string
		in   []corev1.Toleration
		want []corev1.Toleration
	}{
		{"none", nil, []corev1.Toleration{notReady, unreachable}},
		{"unrelated kept first", []corev1.Toleration{other}, []corev1.Toleration{other, notReady, unreachable}},
		{
			"own not-ready toleration kept",
			[]corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs(10)}},
			[]corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs(10)}, unreachable},
		},
		{
			"not-ready with any effect counts",
			[]corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists}},
			[]corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists}, unreachable},
		},
		{
			"not-ready for NoSchedule only does not count",
			[]corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			[]corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}, notReady, unreachable},
		},
		{
			"tolerate everything",
			[]corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			[]corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		},
		{"already defaulted", []corev1.Toleration{notReady, unreachable}, []corev1.Toleration{notReady, unreachable}},
	}
	for _, tt := range tests {
		p := minimalPod()
		p.Spec.Tolerations = tt.in
		DefaultTolerations(p)
		if !reflect.DeepEqual(p.Spec.Tolerations, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, p.Spec.Tolerations, tt.want)
		}
	}
}
