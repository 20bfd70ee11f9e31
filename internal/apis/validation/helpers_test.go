package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// validPod returns a pod as it looks after defaulting, which must validate.
func validPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"},
		Spec: corev1.PodSpec{
			Containers:                    []corev1.Container{validContainer("app")},
			RestartPolicy:                 corev1.RestartPolicyAlways,
			DNSPolicy:                     corev1.DNSClusterFirst,
			TerminationGracePeriodSeconds: ptr.To[int64](30),
			SchedulerName:                 corev1.DefaultSchedulerName,
			SecurityContext:               &corev1.PodSecurityContext{},
		},
	}
}

func validContainer(name string) corev1.Container {
	return corev1.Container{
		Name:                     name,
		Image:                    "nginx:1.27",
		ImagePullPolicy:          corev1.PullIfNotPresent,
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
}

// validProbe returns a defaulted probe with an exec handler.
func validProbe() *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}},
		TimeoutSeconds:   1,
		PeriodSeconds:    10,
		SuccessThreshold: 1,
		FailureThreshold: 3,
	}
}

func qty(s string) resource.Quantity { return resource.MustParse(s) }

func errorStrings(errs field.ErrorList) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// expectErrors compares the full list of error strings. A want entry ending
// in "..." only has to be a prefix of the actual error.
func expectErrors(t *testing.T, errs field.ErrorList, want ...string) {
	t.Helper()
	got := errorStrings(errs)
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n  got:  %s\n  want: %s", len(got), len(want), strings.Join(got, "\n        "), strings.Join(want, "\n        "))
	}
	for i := range want {
		if prefix, ok := strings.CutSuffix(want[i], "..."); ok {
			if !strings.HasPrefix(got[i], prefix) {
				t.Errorf("error %d:\n  got:  %s\n  want prefix: %s", i, got[i], prefix)
			}
		} else if got[i] != want[i] {
			t.Errorf("error %d:\n  got:  %s\n  want: %s", i, got[i], want[i])
		}
	}
}
