// Package pod stores pods: creation defaults, the spec/status split, graceful
// deletion, and the binding, eviction and ephemeral-container subresources.
package pod

import (
	"context"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"

	"github.com/orca-pods/orca/internal/apis/defaults"
	"github.com/orca-pods/orca/internal/apis/qos"
	"github.com/orca-pods/orca/internal/apis/validation"
	"github.com/orca-pods/orca/internal/registry"
)

// strategy adds graceful deletion to the shared pod strategy.
type strategy struct {
	*registry.Strategy[*corev1.Pod]
}

func newStrategy(typer runtime.ObjectTyper) strategy {
	s := registry.NewStrategy[*corev1.Pod](typer, true)
	s.PrepareCreate = func(_ context.Context, pod *corev1.Pod) {
		pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: qos.ComputePodQOS(pod)}
		pod.Generation = 1
		defaults.DefaultTolerations(pod)
	}
	s.PrepareUpdate = func(_ context.Context, pod, old *corev1.Pod) {
		pod.Status = old.Status
		pod.Generation = old.Generation
		if !apiequality.Semantic.DeepEqual(pod.Spec, old.Spec) {
			pod.Generation++
		}
	}
	s.Check = validation.ValidatePodCreate
	s.CheckChange = validation.ValidatePodUpdate
	s.Reset = registry.ResetStatus("v1")
	return strategy{s}
}

// CheckGracefulDelete gives a pod its termination grace period as the API
// server does: pods that never reached a node, or already finished, go at once.
func (strategy) CheckGracefulDelete(ctx context.Context, obj runtime.Object, options *metav1.DeleteOptions) bool {
	if options == nil {
		return false
	}
	pod := obj.(*corev1.Pod)
	period := int64(0)
	switch {
	case options.GracePeriodSeconds != nil:
		period = *options.GracePeriodSeconds
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		period = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		period = 0
	}
	if period < 0 {
		period = 1
	}
	options.GracePeriodSeconds = &period
	return true
}

// statusStrategy serves pods/status: it keeps the stored spec.
func newStatusStrategy(typer runtime.ObjectTyper) *registry.Strategy[*corev1.Pod] {
	s := registry.NewStrategy[*corev1.Pod](typer, true)
	s.PrepareUpdate = func(_ context.Context, pod, old *corev1.Pod) {
		pod.Spec = old.Spec
		pod.DeletionTimestamp = old.DeletionTimestamp
		pod.DeletionGracePeriodSeconds = old.DeletionGracePeriodSeconds
		pod.OwnerReferences = old.OwnerReferences
	}
	s.CheckChange = validation.ValidatePodStatusUpdate
	s.Reset = registry.ResetSpec("v1")
	return s
}

// Fields are the pod fields clients may select on (kubectl, kubelets, controllers).
func Fields(obj runtime.Object) fields.Set {
	pod := obj.(*corev1.Pod)
	podIP := ""
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	}
	return fields.Set{
		"spec.nodeName":            pod.Spec.NodeName,
		"spec.restartPolicy":       string(pod.Spec.RestartPolicy),
		"spec.schedulerName":       pod.Spec.SchedulerName,
		"spec.serviceAccountName":  pod.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(pod.Spec.HostNetwork),
		"status.phase":             string(pod.Status.Phase),
		"status.podIP":             podIP,
		"status.nominatedNodeName": pod.Status.NominatedNodeName,
	}
}

// nodeNameTrigger lets the watch cache send a node's watchers only its pods.
var nodeNameTrigger = storage.IndexerFuncs{
	"spec.nodeName": func(obj runtime.Object) string { return obj.(*corev1.Pod).Spec.NodeName },
}

var _ rest.RESTGracefulDeleteStrategy = strategy{}
