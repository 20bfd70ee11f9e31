// Package event stores Events, which expire after a TTL as in Kubernetes so
// that a busy cluster's etcd does not fill with them. As in kube-apiserver,
// core/v1 and events.k8s.io/v1 serve the same stored objects: both endpoints
// hold core Events in memory and in etcd (under /registry/events), and the
// events.k8s.io/v1 form exists only on the wire (see AddToScheme).
package event

import (
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/orca-pods/orca/internal/apis/validation"
	"github.com/orca-pods/orca/internal/printers"
	"github.com/orca-pods/orca/internal/registry"
)

// TTL is how long an event is kept (kube-apiserver's --event-ttl default).
const TTL = 3600

// NewREST returns the events endpoint of the core group.
func NewREST(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	s := registry.NewStrategy[*corev1.Event](typer, true)
	s.Check = validation.ValidateEvent
	s.CheckChange = func(e, _ *corev1.Event) field.ErrorList { return validation.ValidateEvent(e) }
	store, err := registry.NewStore(registry.StoreConfig{
		Resource: corev1.Resource("events"), Singular: "event",
		New:        func() runtime.Object { return &corev1.Event{} },
		NewList:    func() runtime.Object { return &corev1.EventList{} },
		Strategy:   s,
		Table:      printers.For(corev1.Resource("events")),
		Fields:     Fields,
		ShortNames: []string{"ev"},
		TTL:        TTL,
	}, opts)
	if err != nil {
		return nil, err
	}
	return map[string]rest.Storage{"events": store}, nil
}

// NewEventsREST returns the events endpoint of events.k8s.io/v1. Its store is
// that of the core endpoint in all but validation and printing. The resource
// it names is core's, as in kube-apiserver, so the storage factory gives it
// the core events' etcd prefix and codec: objects stay core/v1 Events in
// etcd, whichever API wrote them. Field selectors arrive already renamed to
// the core fields by the events.k8s.io/v1 field label conversion.
func NewEventsREST(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	s := registry.NewStrategy[*corev1.Event](typer, true)
	s.Check = validateEventsV1Create
	s.CheckChange = validateEventsV1Update
	store, err := registry.NewStore(registry.StoreConfig{
		Resource: corev1.Resource("events"), Singular: "event",
		New:        func() runtime.Object { return &corev1.Event{} },
		NewList:    func() runtime.Object { return &corev1.EventList{} },
		Strategy:   s,
		Table:      printers.For(schema.GroupResource{Group: eventsv1.GroupName, Resource: "events"}),
		Fields:     Fields,
		ShortNames: []string{"ev"},
		TTL:        TTL,
	}, opts)
	if err != nil {
		return nil, err
	}
	return map[string]rest.Storage{"events": store}, nil
}

// Fields are what `kubectl describe` and controllers select events by.
func Fields(obj runtime.Object) fields.Set {
	e := obj.(*corev1.Event)
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}
