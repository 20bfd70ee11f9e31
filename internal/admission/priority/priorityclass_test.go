package priority

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
)

func TestValidatePriorityClass(t *testing.T) {
	existingDefault := class("a", 10, true, &lower)
	tests := []struct {
		name     string
		existing []runtime.Object
		pc       runtime.Object
		op       admission.Operation
		wantErr  string
	}{{
		name: "first default",
		pc:   class("b", 1, true, &lower),
		op:   admission.Create,
	}, {
		name:     "second default",
		existing: []runtime.Object{existingDefault},
		pc:       class("b", 1, true, &lower),
		op:       admission.Create,
		wantErr:  `priorityclasses.scheduling.k8s.io "b" is forbidden: PriorityClass a is already marked as default. Only one default can exist`,
	}, {
		// A create for the default's own name fails in storage with
		// AlreadyExists; admission still refuses it first, like upstream.
		name:     "create under the default's name",
		existing: []runtime.Object{existingDefault},
		pc:       class("a", 10, true, &lower),
		op:       admission.Create,
		wantErr:  `priorityclasses.scheduling.k8s.io "a" is forbidden: PriorityClass a is already marked as default. Only one default can exist`,
	}, {
		name:     "non-default next to a default",
		existing: []runtime.Object{existingDefault},
		pc:       class("b", 1, false, &lower),
		op:       admission.Create,
	}, {
		name:     "updating the default itself",
		existing: []runtime.Object{existingDefault, class("b", 1, false, &lower)},
		pc:       class("a", 10, true, &lower),
		op:       admission.Update,
	}, {
		name:     "marking another class default",
		existing: []runtime.Object{existingDefault, class("b", 1, false, &lower)},
		pc:       class("b", 1, true, &lower),
		op:       admission.Update,
		wantErr:  `priorityclasses.scheduling.k8s.io "b" is forbidden: PriorityClass a is already marked as default. Only one default can exist`,
	}, {
		name:     "unmarking the default",
		existing: []runtime.Object{existingDefault},
		pc:       class("a", 10, false, &lower),
		op:       admission.Update,
	}, {
		name:     "delete is not checked",
		existing: []runtime.Object{existingDefault},
		pc:       class("b", 1, true, &lower),
		op:       admission.Delete,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPlugin(t, tt.existing...)
			var old runtime.Object
			if tt.op == admission.Update {
				old = tt.pc
			}
			err := p.Validate(t.Context(), attrs(tt.pc, old, "priorityclasses", "", tt.op), nil)
			if got := errString(err); got != tt.wantErr {
				t.Fatalf("error = %q, want %q", got, tt.wantErr)
			}
			if err != nil && !apierrors.IsForbidden(err) {
				t.Errorf("error is not Forbidden: %#v", err)
			}
		})
	}
}

func TestValidateIgnoresPods(t *testing.T) {
	// Pods are resolved in Admit; Validate must not look at them again.
	p := newPlugin(t)
	a := attrs(pod(func(p *corev1.Pod) { p.Spec.PriorityClassName = "nope" }), nil, "pods", "", admission.Create)
	if err := p.Validate(t.Context(), a, nil); err != nil {
		t.Fatal(err)
	}
}

func TestValidateNotAPriorityClass(t *testing.T) {
	p := newPlugin(t)
	err := p.Validate(t.Context(), attrs(pod(), nil, "priorityclasses", "", admission.Create), nil)
	if want := "resource was marked with kind PriorityClass but was unable to be converted"; errString(err) != want || !apierrors.IsBadRequest(err) {
		t.Errorf("error = %v, want bad request %q", err, want)
	}
}

func TestValidateInitialization(t *testing.T) {
	if err := NewPlugin().ValidateInitialization(); errString(err) != "Priority requires a client" {
		t.Errorf("error = %v", err)
	}
}
