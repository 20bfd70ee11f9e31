package pod

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"

	"github.com/orca-pods/orca/internal/apis/validation"
)

// bindingREST serves pods/binding: the scheduler's one way to place a pod.
type bindingREST struct {
	store *genericregistry.Store
}

func (r *bindingREST) New() runtime.Object { return &corev1.Binding{} }
func (r *bindingREST) Destroy()            {}

func (r *bindingREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	binding := obj.(*corev1.Binding)
	if name != binding.Name {
		return nil, apierrors.NewBadRequest("name in URL does not match name in Binding object")
	}
	if errs := validation.ValidatePodBinding(binding); len(errs) > 0 {
		return nil, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Binding").GroupKind(), binding.Name, errs)
	}
	if createValidation != nil {
		if err := createValidation(ctx, binding.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	if err := r.assign(ctx, binding, dryRun(options)); err != nil {
		return nil, err
	}
	return &metav1.Status{Status: metav1.StatusSuccess, Code: 201}, nil
}

// assign sets the node and the PodScheduled condition in one write, refusing
// pods that already have a node or are being deleted, as Kubernetes does.
func (r *bindingREST) assign(ctx context.Context, binding *corev1.Binding, dry bool) error {
	key, err := r.store.KeyFunc(ctx, binding.Name)
	if err != nil {
		return err
	}
	var preconditions *storage.Preconditions
	if binding.UID != "" {
		uid := binding.UID
		preconditions = &storage.Preconditions{UID: &uid}
	}
	return r.store.Storage.GuaranteedUpdate(ctx, key, &corev1.Pod{}, false, preconditions, storage.SimpleUpdate(func(obj runtime.Object) (runtime.Object, error) {
		pod := obj.(*corev1.Pod)
		if pod.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(corev1.Resource("pods/binding"), pod.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", pod.Name))
		}
		if pod.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(corev1.Resource("pods/binding"), pod.Name, fmt.Errorf("pod %v is already assigned to node %q", pod.Name, pod.Spec.NodeName))
		}
		pod.Spec.NodeName = binding.Target.Name
		if pod.Annotations == nil && len(binding.Annotations) > 0 {
			pod.Annotations = map[string]string{}
		}
		for k, v := range binding.Annotations {
			pod.Annotations[k] = v
		}
		SetCondition(&pod.Status, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
		return pod, nil
	}), dry, nil)
}

// SetCondition updates or appends cond, moving the transition time only when
// the status changes, as the kubelet and scheduler do.
func SetCondition(status *corev1.PodStatus, cond corev1.PodCondition) {
	now := metav1.Now()
	for i := range status.Conditions {
		c := &status.Conditions[i]
		if c.Type != cond.Type {
			continue
		}
		if c.Status != cond.Status {
			c.LastTransitionTime = now
		}
		c.Status, c.Reason, c.Message = cond.Status, cond.Reason, cond.Message
		c.LastProbeTime = cond.LastProbeTime
		return
	}
	cond.LastTransitionTime = now
	status.Conditions = append(status.Conditions, cond)
}

func dryRun(options *metav1.CreateOptions) bool {
	return options != nil && len(options.DryRun) > 0
}
