package registry

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// StoreConfig describes one stored resource.
type StoreConfig struct {
	Resource schema.GroupResource
	Singular string
	New      func() runtime.Object
	NewList  func() runtime.Object
	// Strategy serves create, update and delete (a *Strategy or richer).
	Strategy interface {
		rest.RESTCreateStrategy
		rest.RESTUpdateStrategy
		rest.RESTDeleteStrategy
		rest.ResetFieldsStrategy
	}
	Table rest.TableConvertor
	// Fields adds selectable fields beyond metadata.name and .namespace.
	Fields     func(obj runtime.Object) fields.Set
	ShortNames []string
	Categories []string
	// TTL, when set, makes etcd forget objects after that many seconds.
	TTL uint64
	// Triggers lets watchers filtering on these fields skip other objects.
	Triggers storage.IndexerFuncs
}

// Store is a generic registry store that also tells discovery its short
// names and categories.
type Store struct {
	*genericregistry.Store
	shortNames, categories []string
	fields                 func(runtime.Object) fields.Set
}

// SelectableFields lists the field selector keys this resource supports.
func (s *Store) SelectableFields() []string {
	keys := []string{"metadata.name"}
	if s.CreateStrategy.NamespaceScoped() {
		keys = append(keys, "metadata.namespace")
	}
	if s.fields != nil {
		for k := range s.fields(s.NewFunc()) {
			keys = append(keys, k)
		}
	}
	return keys
}

func (s *Store) ShortNames() []string { return s.shortNames }
func (s *Store) Categories() []string { return s.categories }

// NewStore builds the etcd-backed store for cfg.
func NewStore(cfg StoreConfig, opts generic.RESTOptionsGetter) (*Store, error) {
	namespaced := cfg.Strategy.NamespaceScoped()
	st := &genericregistry.Store{
		NewFunc:                   cfg.New,
		NewListFunc:               cfg.NewList,
		DefaultQualifiedResource:  cfg.Resource,
		SingularQualifiedResource: schema.GroupResource{Group: cfg.Resource.Group, Resource: cfg.Singular},
		CreateStrategy:            cfg.Strategy,
		UpdateStrategy:            cfg.Strategy,
		DeleteStrategy:            cfg.Strategy,
		ResetFieldsStrategy:       cfg.Strategy,
		ReturnDeletedObject:       true,
		TableConvertor:            cfg.Table,
	}
	if cfg.TTL > 0 {
		ttl := cfg.TTL
		st.TTLFunc = func(runtime.Object, uint64, bool) (uint64, error) { return ttl, nil }
	}
	attrs := func(obj runtime.Object) (labels.Set, fields.Set, error) {
		m, ok := obj.(metav1.ObjectMetaAccessor)
		if !ok {
			return nil, nil, fmt.Errorf("%T has no object meta", obj)
		}
		meta := m.GetObjectMeta().(*metav1.ObjectMeta)
		fs := generic.ObjectMetaFieldsSet(meta, namespaced)
		if cfg.Fields != nil {
			fs = generic.MergeFieldsSets(fs, cfg.Fields(obj))
		}
		return meta.Labels, fs, nil
	}
	st.PredicateFunc = func(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
		return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: attrs}
	}
	if err := st.CompleteWithOptions(&generic.StoreOptions{RESTOptions: opts, AttrFunc: attrs, TriggerFunc: cfg.Triggers}); err != nil {
		return nil, fmt.Errorf("store for %s: %w", cfg.Resource, err)
	}
	return &Store{Store: st, shortNames: cfg.ShortNames, categories: cfg.Categories, fields: cfg.Fields}, nil
}

// StatusREST serves a /status subresource: the same objects through a store
// whose update strategy keeps everything but status.
type StatusREST struct {
	store *genericregistry.Store
}

// NewStatusREST derives the /status endpoint from a resource's store.
func NewStatusREST(main *Store, strategy interface {
	rest.RESTUpdateStrategy
	rest.ResetFieldsStrategy
}) *StatusREST {
	st := *main.Store
	st.CreateStrategy = nil
	st.DeleteStrategy = nil
	st.UpdateStrategy = strategy
	st.ResetFieldsStrategy = strategy
	return &StatusREST{store: &st}
}

func (r *StatusREST) New() runtime.Object { return r.store.New() }
func (r *StatusREST) Destroy()            {}

func (r *StatusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// Status writes never create the object.
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

func (r *StatusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}
