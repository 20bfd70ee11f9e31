package priority

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/admission"
)

// validatePriorityClass refuses a second globalDefault class: which default
// a pod got would otherwise depend on the order classes were listed. An
// update that keeps the current default marked is fine.
//
// The value range and the reserved "system-" prefix are checked by API
// validation (internal/apis/validation), as upstream does, not here.
func (p *Plugin) validatePriorityClass(a admission.Attributes) error {
	pc, ok := a.GetObject().(*schedulingv1.PriorityClass)
	if !ok {
		return apierrors.NewBadRequest("resource was marked with kind PriorityClass but was unable to be converted")
	}
	if !pc.GlobalDefault {
		return nil
	}
	current, err := p.defaultClass()
	if err != nil {
		return fmt.Errorf("failed to get default priority class: %v", err)
	}
	if current == nil {
		return nil
	}
	if a.GetOperation() == admission.Create || current.Name != pc.Name {
		return admission.NewForbidden(a, fmt.Errorf("PriorityClass %v is already marked as default. Only one default can exist", current.Name))
	}
	return nil
}

// defaultClass returns the class marked globalDefault, or nil. Two creates
// racing past validatePriorityClass can leave two defaults; upstream then
// picks the one with the lowest value, and so does this.
func (p *Plugin) defaultClass() (*schedulingv1.PriorityClass, error) {
	classes, err := p.lister.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var def *schedulingv1.PriorityClass
	for _, pc := range classes {
		if pc.GlobalDefault && (def == nil || pc.Value < def.Value) {
			def = pc
		}
	}
	return def, nil
}

// defaultPriority is what a pod naming no class gets: the default class's
// name, value and policy, or with no default class an unnamed priority 0
// that may preempt lower priorities.
func (p *Plugin) defaultPriority() (string, int32, *corev1.PreemptionPolicy, error) {
	def, err := p.defaultClass()
	if err != nil {
		return "", 0, nil, err
	}
	if def != nil {
		return def.Name, def.Value, def.PreemptionPolicy, nil
	}
	policy := corev1.PreemptLowerPriority
	return "", 0, &policy, nil
}
