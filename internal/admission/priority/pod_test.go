package priority

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/utils/ptr"
)

func TestAdmitPodCreate(t *testing.T) {
	withClass := func(name string) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Spec.PriorityClassName = name }
	}
	withPriority := func(v int32) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Spec.Priority = &v }
	}
	withPolicy := func(v corev1.PreemptionPolicy) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Spec.PreemptionPolicy = &v }
	}
	inNamespace := func(ns string) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Namespace = ns }
	}
	systemNodeCritical := class("system-node-critical", 2000001000, false, &lower)
	high := class("high", 1000, false, &never)

	tests := []struct {
		name    string
		classes []runtime.Object
		pod     *corev1.Pod
		// want* describe the pod after a successful admission.
		wantClass    string
		wantPriority int32
		wantPolicy   *corev1.PreemptionPolicy
		wantErr      string
		forbidden    bool
	}{{
		name:       "no class and no default: priority 0, may preempt",
		pod:        pod(),
		wantPolicy: &lower,
	}, {
		name:         "no class: the global default is named and applied",
		classes:      []runtime.Object{class("normal", 7, true, &never), high},
		pod:          pod(),
		wantClass:    "normal",
		wantPriority: 7,
		wantPolicy:   &never,
	}, {
		name:         "two defaults after a race: the lowest value wins",
		classes:      []runtime.Object{class("b", 20, true, &lower), class("a", 10, true, &never)},
		pod:          pod(),
		wantClass:    "a",
		wantPriority: 10,
		wantPolicy:   &never,
	}, {
		name:         "named class resolves value and policy",
		classes:      []runtime.Object{class("normal", 7, true, &lower), high},
		pod:          pod(withClass("high")),
		wantClass:    "high",
		wantPriority: 1000,
		wantPolicy:   &never,
	}, {
		name:         "system classes are not limited to kube-system (upstream since 1.17)",
		classes:      []runtime.Object{systemNodeCritical},
		pod:          pod(withClass("system-node-critical"), inNamespace("default")),
		wantClass:    "system-node-critical",
		wantPriority: 2000001000,
		wantPolicy:   &lower,
	}, {
		name:      "missing class",
		classes:   []runtime.Object{high},
		pod:       pod(withClass("nope")),
		wantErr:   `pods "p" is forbidden: no PriorityClass with name nope was found`,
		forbidden: true,
	}, {
		name:      "missing class, name from generateName",
		pod:       pod(withClass("nope"), func(p *corev1.Pod) { p.Name, p.GenerateName = "", "web-" }),
		wantErr:   `pods "web-" is forbidden: no PriorityClass with name nope was found`,
		forbidden: true,
	}, {
		name:         "priority that agrees with the class is accepted",
		classes:      []runtime.Object{high},
		pod:          pod(withClass("high"), withPriority(1000), withPolicy(never)),
		wantClass:    "high",
		wantPriority: 1000,
		wantPolicy:   &never,
	}, {
		name:      "priority that disagrees with the class",
		classes:   []runtime.Object{high},
		pod:       pod(withClass("high"), withPriority(5)),
		wantErr:   `pods "p" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name`,
		forbidden: true,
	}, {
		name:      "priority that disagrees with the implicit 0",
		pod:       pod(withPriority(3)),
		wantErr:   `pods "p" is forbidden: the integer value of priority (3) must not be provided in pod spec; priority admission controller computed 0 from the given PriorityClass name`,
		forbidden: true,
	}, {
		name:      "preemption policy that disagrees with the class",
		classes:   []runtime.Object{high},
		pod:       pod(withClass("high"), withPolicy(lower)),
		wantErr:   `pods "p" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name`,
		forbidden: true,
	}, {
		name:      "preemption policy that disagrees with the no-default fallback",
		pod:       pod(withPolicy(never)),
		wantErr:   `pods "p" is forbidden: the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller computed PreemptLowerPriority from the given PriorityClass name`,
		forbidden: true,
	}, {
		name:         "class without a policy keeps the pod's",
		classes:      []runtime.Object{class("bare", 1, false, nil)},
		pod:          pod(withClass("bare"), withPolicy(never)),
		wantClass:    "bare",
		wantPriority: 1,
		wantPolicy:   &never,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPlugin(t, tt.classes...)
			err := p.Admit(t.Context(), attrs(tt.pod, nil, "pods", "", admission.Create), nil)
			if got := errString(err); got != tt.wantErr {
				t.Fatalf("error = %q, want %q", got, tt.wantErr)
			}
			if err != nil {
				if tt.forbidden != apierrors.IsForbidden(err) {
					t.Errorf("IsForbidden = %v, want %v", !tt.forbidden, tt.forbidden)
				}
				return
			}
			spec := tt.pod.Spec
			if spec.PriorityClassName != tt.wantClass {
				t.Errorf("priorityClassName = %q, want %q", spec.PriorityClassName, tt.wantClass)
			}
			if diff := cmp.Diff(&tt.wantPriority, spec.Priority); diff != "" {
				t.Errorf("priority (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPolicy, spec.PreemptionPolicy); diff != "" {
				t.Errorf("preemptionPolicy (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAdmitPodUpdate(t *testing.T) {
	stored := pod(func(p *corev1.Pod) {
		p.Spec.PriorityClassName = "high"
		p.Spec.Priority = ptr.To[int32](1000)
		p.Spec.PreemptionPolicy = &never
	})
	tests := []struct {
		name         string
		pod          *corev1.Pod
		wantPriority *int32
		wantPolicy   *corev1.PreemptionPolicy
	}{{
		name:         "fields left out are carried over",
		pod:          pod(func(p *corev1.Pod) { p.Spec.PriorityClassName = "high" }),
		wantPriority: ptr.To[int32](1000),
		wantPolicy:   &never,
	}, {
		// Validation, not admission, refuses the change.
		name:         "fields given are left for validation",
		pod:          pod(func(p *corev1.Pod) { p.Spec.Priority = ptr.To[int32](1); p.Spec.PreemptionPolicy = &lower }),
		wantPriority: ptr.To[int32](1),
		wantPolicy:   &lower,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPlugin(t)
			if err := p.Admit(t.Context(), attrs(tt.pod, stored, "pods", "", admission.Update), nil); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantPriority, tt.pod.Spec.Priority); diff != "" {
				t.Errorf("priority (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPolicy, tt.pod.Spec.PreemptionPolicy); diff != "" {
				t.Errorf("preemptionPolicy (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAdmitIgnores covers requests the plugin must pass through untouched.
func TestAdmitIgnores(t *testing.T) {
	p := newPlugin(t)
	bad := pod(func(p *corev1.Pod) { p.Spec.PriorityClassName = "nope" })
	tests := []struct {
		name  string
		attrs admission.Attributes
	}{
		{"subresource", attrs(bad, bad, "pods", "status", admission.Update)},
		{"other resource", attrs(bad, nil, "podtemplates", "", admission.Create)},
		{"delete", attrs(nil, bad, "pods", "", admission.Delete)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := p.Admit(t.Context(), tt.attrs, nil); err != nil {
				t.Fatal(err)
			}
			if bad.Spec.Priority != nil {
				t.Errorf("priority set to %d", *bad.Spec.Priority)
			}
		})
	}
	if p.Handles(admission.Delete) || p.Handles(admission.Connect) {
		t.Error("plugin handles DELETE or CONNECT")
	}
}

func TestAdmitNotAPod(t *testing.T) {
	p := newPlugin(t)
	a := attrs(&corev1.ConfigMap{}, nil, "pods", "", admission.Create)
	err := p.Admit(t.Context(), a, nil)
	if want := "resource was marked with kind Pod but was unable to be converted"; errString(err) != want || !apierrors.IsBadRequest(err) {
		t.Errorf("error = %v, want bad request %q", err, want)
	}
}
