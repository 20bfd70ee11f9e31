// Package node stores Nodes: the agent owns status, users own spec.
package node

import (
	"context"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/orca-pods/orca/internal/apis/validation"
	"github.com/orca-pods/orca/internal/printers"
	"github.com/orca-pods/orca/internal/registry"
)

// NewREST returns nodes and nodes/status.
func NewREST(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	s := registry.NewStrategy[*corev1.Node](typer, false)
	// A registering agent creates its Node with status in one request, so
	// create keeps status; later spec writes may not touch it.
	s.PrepareUpdate = func(_ context.Context, n, old *corev1.Node) { n.Status = old.Status }
	s.Check, s.CheckChange = validation.ValidateNode, validation.ValidateNodeUpdate
	s.Reset = registry.ResetStatus("v1")

	store, err := registry.NewStore(registry.StoreConfig{
		Resource: corev1.Resource("nodes"), Singular: "node",
		New:      func() runtime.Object { return &corev1.Node{} },
		NewList:  func() runtime.Object { return &corev1.NodeList{} },
		Strategy: s,
		Table:    printers.For(corev1.Resource("nodes")),
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"spec.unschedulable": strconv.FormatBool(obj.(*corev1.Node).Spec.Unschedulable)}
		},
		ShortNames: []string{"no"},
	}, opts)
	if err != nil {
		return nil, err
	}
	status := registry.NewStrategy[*corev1.Node](typer, false)
	status.PrepareUpdate = func(_ context.Context, n, old *corev1.Node) { n.Spec = old.Spec }
	status.CheckChange = validation.ValidateNodeUpdate
	status.Reset = registry.ResetSpec("v1")
	return map[string]rest.Storage{
		"nodes":        store,
		"nodes/status": registry.NewStatusREST(store, status),
	}, nil
}
