package apiserver

import (
	"fmt"
	"reflect"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"github.com/orca-pods/orca/internal/registry/event"
)

// servedGroups are the API group versions orca serves, each with what
// registers its types: the k8s.io/api package that defines them, or for
// events.k8s.io also its internal version (core's Event) and conversions.
var servedGroups = []struct {
	gv  schema.GroupVersion
	add func(*runtime.Scheme) error
}{
	{corev1.SchemeGroupVersion, corev1.AddToScheme},
	{coordinationv1.SchemeGroupVersion, coordinationv1.AddToScheme},
	{schedulingv1.SchemeGroupVersion, schedulingv1.AddToScheme},
	{policyv1.SchemeGroupVersion, policyv1.AddToScheme},
	// TokenRequest (serviceaccounts/token), TokenReview, SelfSubjectReview.
	{authenticationv1.SchemeGroupVersion, authenticationv1.AddToScheme},
	{storagev1.SchemeGroupVersion, storagev1.AddToScheme},
	// After core, so that core/v1 stays the first kind of a core Event.
	{eventsv1.SchemeGroupVersion, event.AddToScheme},
}

// NewScheme returns the scheme the API server decodes, stores and encodes
// with. orca keeps no internal API types: every served type is registered a
// second time under the group's "__internal" version, so the machinery's
// version conversion finds the same Go type on both sides and only copies.
// A group that registers its own internal types keeps them: events.k8s.io
// uses core's Event, so its v1 Event converts to the type core stores.
func NewScheme() (*runtime.Scheme, serializer.CodecFactory, error) {
	scheme := runtime.NewScheme()
	for _, g := range servedGroups {
		if err := g.add(scheme); err != nil {
			return nil, serializer.CodecFactory{}, fmt.Errorf("register %s: %w", g.gv, err)
		}
		internal := schema.GroupVersion{Group: g.gv.Group, Version: runtime.APIVersionInternal}
		for kind, t := range scheme.KnownTypes(g.gv) {
			// Option and watch types come from apimachinery's meta package
			// and have their own internal forms; only API objects are mirrored.
			if !strings.HasPrefix(t.PkgPath(), "k8s.io/api/") || scheme.Recognizes(internal.WithKind(kind)) {
				continue
			}
			scheme.AddKnownTypeWithName(internal.WithKind(kind), reflect.New(t).Interface().(runtime.Object))
		}
		if err := scheme.SetVersionPriority(g.gv); err != nil {
			return nil, serializer.CodecFactory{}, err
		}
	}
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	unversioned := schema.GroupVersion{Group: "", Version: "v1"}
	scheme.AddUnversionedTypes(unversioned,
		&metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{},
		&metav1.APIGroup{}, &metav1.APIResourceList{})
	if err := addOptionConversions(scheme); err != nil {
		return nil, serializer.CodecFactory{}, err
	}
	return scheme, serializer.NewCodecFactory(scheme), nil
}
