// Package namespace stores Namespaces. Deleting one first marks it
// Terminating; the namespace controller empties it and removes the
// "kubernetes" finalizer through namespaces/finalize, and only then is the
// object itself deleted — as in Kubernetes.
package namespace

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"

	"github.com/orca-pods/orca/internal/apis/validation"
	"github.com/orca-pods/orca/internal/printers"
	"github.com/orca-pods/orca/internal/registry"
)

// REST is the namespaces endpoint with Kubernetes' two-step deletion.
type REST struct {
	*registry.Store
}

// NewREST returns namespaces, namespaces/status and namespaces/finalize.
func NewREST(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	s := registry.NewStrategy[*corev1.Namespace](typer, false)
	s.PrepareCreate = func(_ context.Context, ns *corev1.Namespace) {
		ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
		if !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
			ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
		}
	}
	s.PrepareUpdate = func(_ context.Context, ns, old *corev1.Namespace) {
		ns.Spec.Finalizers = old.Spec.Finalizers
		ns.Status = old.Status
	}
	s.Check, s.CheckChange = validation.ValidateNamespace, validation.ValidateNamespaceUpdate
	s.Reset = registry.ResetStatus("v1")
	store, err := registry.NewStore(registry.StoreConfig{
		Resource: corev1.Resource("namespaces"), Singular: "namespace",
		New:      func() runtime.Object { return &corev1.Namespace{} },
		NewList:  func() runtime.Object { return &corev1.NamespaceList{} },
		Strategy: s,
		Table:    printers.For(corev1.Resource("namespaces")),
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.phase": string(obj.(*corev1.Namespace).Status.Phase)}
		},
		ShortNames: []string{"ns"},
	}, opts)
	if err != nil {
		return nil, err
	}

	status := registry.NewStrategy[*corev1.Namespace](typer, false)
	status.PrepareUpdate = func(_ context.Context, ns, old *corev1.Namespace) { ns.Spec = old.Spec }
	status.CheckChange = validation.ValidateNamespaceUpdate
	status.Reset = registry.ResetSpec("v1")

	finalize := registry.NewStrategy[*corev1.Namespace](typer, false)
	finalize.PrepareUpdate = func(_ context.Context, ns, old *corev1.Namespace) {
		finalizers := ns.Spec.Finalizers
		*ns = *old.DeepCopy()
		ns.Spec.Finalizers = finalizers
	}
	finalize.CheckChange = validation.ValidateNamespaceUpdate

	return map[string]rest.Storage{
		"namespaces":          &REST{Store: store},
		"namespaces/status":   registry.NewStatusREST(store, status),
		"namespaces/finalize": registry.NewStatusREST(store, finalize),
	}, nil
}

// Delete marks a namespace Terminating while finalizers remain, and deletes
// it once they are gone.
func (r *REST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	obj, err := r.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	ns := obj.(*corev1.Namespace)
	if options == nil {
		options = metav1.NewDeleteOptions(0)
	}
	if options.Preconditions != nil {
		if uid := options.Preconditions.UID; uid != nil && *uid != ns.UID {
			return nil, false, apierrors.NewConflict(corev1.Resource("namespaces"), name, fmt.Errorf("precondition failed: UID in precondition: %v, UID in object meta: %v", *uid, ns.UID))
		}
	}
	// Admission (e.g. refusing to delete kube-system) runs through the
	// validation func the handler passes in, before anything changes.
	if deleteValidation != nil {
		if err := deleteValidation(ctx, ns); err != nil {
			return nil, false, err
		}
	}
	if ns.DeletionTimestamp == nil || ns.Status.Phase != corev1.NamespaceTerminating {
		key, err := r.KeyFunc(ctx, name)
		if err != nil {
			return nil, false, err
		}
		out := &corev1.Namespace{}
		err = r.Storage.GuaranteedUpdate(ctx, key, out, false, &storage.Preconditions{UID: &ns.UID}, storage.SimpleUpdate(func(existing runtime.Object) (runtime.Object, error) {
			ns := existing.(*corev1.Namespace)
			if ns.DeletionTimestamp == nil {
				now := metav1.Now()
				ns.DeletionTimestamp = &now
			}
			ns.Status.Phase = corev1.NamespaceTerminating
			return ns, nil
		}), len(options.DryRun) > 0, nil)
		if err != nil {
			return nil, false, err
		}
		ns = out
	}
	if len(ns.Spec.Finalizers) > 0 || len(ns.Finalizers) > 0 {
		return ns, false, nil
	}
	return r.Store.Delete(ctx, name, deleteValidation, options)
}
