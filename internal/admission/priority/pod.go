package priority

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/admission"
)

// badPod is upstream's answer when the object is not a pod.
var badPod = apierrors.NewBadRequest("resource was marked with kind Pod but was unable to be converted")

// admitPodCreate sets spec.priority and spec.preemptionPolicy from the pod's
// PriorityClass, or from the global default class when it names none. A pod
// may carry either field only if it agrees with the class: clients that copy
// a pod (kubectl get -o yaml | kubectl create) send both back.
func (p *Plugin) admitPodCreate(a admission.Attributes) error {
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return badPod
	}

	var priority int32
	var policy *corev1.PreemptionPolicy
	if pod.Spec.PriorityClassName == "" {
		name, value, pol, err := p.defaultPriority()
		if err != nil {
			return fmt.Errorf("failed to get default priority class: %v", err)
		}
		// Naming the default class makes the pod show what it was given.
		pod.Spec.PriorityClassName = name
		priority, policy = value, pol
	} else {
		pc, err := p.lister.Get(pod.Spec.PriorityClassName)
		if apierrors.IsNotFound(err) {
			return admission.NewForbidden(a, fmt.Errorf("no PriorityClass with name %v was found", pod.Spec.PriorityClassName))
		}
		if err != nil {
			return fmt.Errorf("failed to get PriorityClass with name %s: %v", pod.Spec.PriorityClassName, err)
		}
		priority, policy = pc.Value, pc.PreemptionPolicy
	}

	if pod.Spec.Priority != nil && *pod.Spec.Priority != priority {
		return admission.NewForbidden(a, fmt.Errorf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *pod.Spec.Priority, priority))
	}
	pod.Spec.Priority = &priority

	// A class with no policy (API defaulting sets one, so only a class stored
	// without it) leaves the pod's own value alone, as upstream does.
	if policy != nil {
		if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy != *policy {
			return admission.NewForbidden(a, fmt.Errorf("the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name", *pod.Spec.PreemptionPolicy, *policy))
		}
		value := *policy
		pod.Spec.PreemptionPolicy = &value
	}
	return nil
}

// admitPodUpdate carries spec.priority and spec.preemptionPolicy over from
// the stored pod when an update leaves them out (a PUT built by hand).
// Validation forbids changing them, so a dropped field would otherwise fail
// the update for a value the client never chose.
func admitPodUpdate(a admission.Attributes) error {
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return badPod
	}
	old, ok := a.GetOldObject().(*corev1.Pod)
	if !ok {
		return badPod
	}
	if pod.Spec.Priority == nil && old.Spec.Priority != nil {
		pod.Spec.Priority = old.Spec.Priority
	}
	if pod.Spec.PreemptionPolicy == nil && old.Spec.PreemptionPolicy != nil {
		pod.Spec.PreemptionPolicy = old.Spec.PreemptionPolicy
	}
	return nil
}
