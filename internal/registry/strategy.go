// Package registry holds what every stored resource shares: a strategy
// assembled from per-type hooks, and the construction of its etcd-backed Store.
// Per-resource behaviour lives in the sub-packages (pod, namespace, node, ...).
package registry

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Strategy implements the create, update and delete strategies of the generic
// registry for objects of type T from a few optional hooks.
type Strategy[T runtime.Object] struct {
	runtime.ObjectTyper
	names.NameGenerator

	Namespaced bool
	// PrepareCreate clears what a client may not set on create (e.g. status).
	PrepareCreate func(ctx context.Context, obj T)
	// PrepareUpdate carries over what this endpoint may not change.
	PrepareUpdate func(ctx context.Context, obj, old T)
	Check         func(obj T) field.ErrorList
	CheckChange   func(obj, old T) field.ErrorList
	// Unconditional allows updates without a resourceVersion (most types do).
	Unconditional bool
	// Reset names the fields this endpoint ignores, for server-side apply.
	Reset map[fieldpath.APIVersion]*fieldpath.Set
}

// NewStrategy returns a strategy with the defaults most resources want.
func NewStrategy[T runtime.Object](typer runtime.ObjectTyper, namespaced bool) *Strategy[T] {
	return &Strategy[T]{ObjectTyper: typer, NameGenerator: names.SimpleNameGenerator, Namespaced: namespaced, Unconditional: true}
}

func (s *Strategy[T]) NamespaceScoped() bool { return s.Namespaced }

func (s *Strategy[T]) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	if s.PrepareCreate != nil {
		s.PrepareCreate(ctx, obj.(T))
	}
}

func (s *Strategy[T]) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	if s.PrepareUpdate != nil {
		s.PrepareUpdate(ctx, obj.(T), old.(T))
	}
}

func (s *Strategy[T]) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	if s.Check == nil {
		return nil
	}
	return s.Check(obj.(T))
}

func (s *Strategy[T]) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	if s.CheckChange == nil {
		return nil
	}
	return s.CheckChange(obj.(T), old.(T))
}

func (s *Strategy[T]) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string { return nil }

func (s *Strategy[T]) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}

func (s *Strategy[T]) Canonicalize(obj runtime.Object) {}

func (s *Strategy[T]) AllowCreateOnUpdate(context.Context) bool { return false }

func (s *Strategy[T]) AllowUnconditionalUpdate(context.Context) bool { return s.Unconditional }

func (s *Strategy[T]) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set { return s.Reset }

// ResetStatus is the usual Reset for a main endpoint: status belongs to /status.
func ResetStatus(apiVersion string) map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(apiVersion): fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
	}
}

// ResetSpec is the usual Reset for a /status endpoint: it may not change spec.
func ResetSpec(apiVersion string) map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(apiVersion): fieldpath.NewSet(fieldpath.MakePathOrDie("spec"), fieldpath.MakePathOrDie("metadata")),
	}
}
