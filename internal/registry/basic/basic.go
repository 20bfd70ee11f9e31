// Package basic stores the resources whose only behaviour is validation:
// ConfigMaps, Secrets, ServiceAccounts, Leases and PriorityClasses.
package basic

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/orca-pods/orca/internal/apis/validation"
	"github.com/orca-pods/orca/internal/printers"
	"github.com/orca-pods/orca/internal/registry"
)

func strategy[T runtime.Object](typer runtime.ObjectTyper, namespaced bool, create func(T) field.ErrorList, update func(T, T) field.ErrorList) *registry.Strategy[T] {
	s := registry.NewStrategy[T](typer, namespaced)
	s.Check, s.CheckChange = create, update
	return s
}

// NewREST returns the storage of every basic resource, keyed by resource name
// within its API group version.
func NewREST(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (core, coordination, scheduling map[string]rest.Storage, err error) {
	core, coordination, scheduling = map[string]rest.Storage{}, map[string]rest.Storage{}, map[string]rest.Storage{}
	configs := []struct {
		into map[string]rest.Storage
		cfg  registry.StoreConfig
	}{
		{core, registry.StoreConfig{
			Resource: corev1.Resource("configmaps"), Singular: "configmap",
			New:        func() runtime.Object { return &corev1.ConfigMap{} },
			NewList:    func() runtime.Object { return &corev1.ConfigMapList{} },
			Strategy:   strategy(typer, true, validation.ValidateConfigMap, validation.ValidateConfigMapUpdate),
			ShortNames: []string{"cm"},
		}},
		{core, registry.StoreConfig{
			Resource: corev1.Resource("secrets"), Singular: "secret",
			New:      func() runtime.Object { return &corev1.Secret{} },
			NewList:  func() runtime.Object { return &corev1.SecretList{} },
			Strategy: strategy(typer, true, validation.ValidateSecret, validation.ValidateSecretUpdate),
			Fields: func(obj runtime.Object) fields.Set {
				return fields.Set{"type": string(obj.(*corev1.Secret).Type)}
			},
		}},
		{core, registry.StoreConfig{
			Resource: corev1.Resource("serviceaccounts"), Singular: "serviceaccount",
			New:        func() runtime.Object { return &corev1.ServiceAccount{} },
			NewList:    func() runtime.Object { return &corev1.ServiceAccountList{} },
			Strategy:   strategy(typer, true, validation.ValidateServiceAccount, validation.ValidateServiceAccountUpdate),
			ShortNames: []string{"sa"},
		}},
		{coordination, registry.StoreConfig{
			Resource: coordinationv1.Resource("leases"), Singular: "lease",
			New:      func() runtime.Object { return &coordinationv1.Lease{} },
			NewList:  func() runtime.Object { return &coordinationv1.LeaseList{} },
			Strategy: strategy(typer, true, validation.ValidateLease, validation.ValidateLeaseUpdate),
		}},
		{scheduling, registry.StoreConfig{
			Resource: schedulingv1.Resource("priorityclasses"), Singular: "priorityclass",
			New:        func() runtime.Object { return &schedulingv1.PriorityClass{} },
			NewList:    func() runtime.Object { return &schedulingv1.PriorityClassList{} },
			Strategy:   strategy(typer, false, validation.ValidatePriorityClass, validation.ValidatePriorityClassUpdate),
			ShortNames: []string{"pc"},
		}},
	}
	for _, c := range configs {
		c.cfg.Table = printers.For(c.cfg.Resource)
		store, err := registry.NewStore(c.cfg, opts)
		if err != nil {
			return nil, nil, nil, err
		}
		c.into[c.cfg.Resource.Resource] = store
	}
	return core, coordination, scheduling, nil
}
