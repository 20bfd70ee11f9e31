package apiserver

import (
	"fmt"
	"maps"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"

	"github.com/orca-pods/orca/internal/registry/basic"
	"github.com/orca-pods/orca/internal/registry/event"
	"github.com/orca-pods/orca/internal/registry/namespace"
	"github.com/orca-pods/orca/internal/registry/node"
	"github.com/orca-pods/orca/internal/registry/pod"
	"github.com/orca-pods/orca/internal/registry/volume"
)

// install registers every resource's storage under /api and /apis.
func (s *Server) install(opts generic.RESTOptionsGetter) error {
	core := map[string]rest.Storage{}
	nodes, err := node.NewREST(s.Scheme, opts)
	if err != nil {
		return err
	}
	maps.Copy(core, nodes)
	kubelet := &pod.KubeletConnection{Transport: s.kubeletTransport, Nodes: nodes["nodes"].(rest.Getter), DefaultPort: 10250}
	for _, build := range []func() (map[string]rest.Storage, error){
		func() (map[string]rest.Storage, error) { return pod.NewREST(s.Scheme, opts, kubelet) },
		func() (map[string]rest.Storage, error) { return namespace.NewREST(s.Scheme, opts) },
		func() (map[string]rest.Storage, error) { return event.NewREST(s.Scheme, opts) },
	} {
		m, err := build()
		if err != nil {
			return err
		}
		maps.Copy(core, m)
	}
	basicCore, coordination, scheduling, err := basic.NewREST(s.Scheme, opts)
	if err != nil {
		return err
	}
	maps.Copy(core, basicCore)
	volumeCore, storage, err := volume.NewREST(s.Scheme, opts)
	if err != nil {
		return err
	}
	maps.Copy(core, volumeCore)
	// events.k8s.io/v1 converts its field selectors itself (event.AddToScheme),
	// so it stays out of the identity conversions below.
	events, err := event.NewEventsREST(s.Scheme, opts)
	if err != nil {
		return err
	}
	// serviceaccounts/token issues tokens; authentication.k8s.io reviews them.
	tokenRequest, authn := s.tokenStorage(core)
	if tokenRequest != nil {
		core["serviceaccounts/token"] = tokenRequest
	}

	for _, storages := range []map[string]rest.Storage{core, coordination, scheduling, storage} {
		if err := s.addFieldLabelConversions(storages); err != nil {
			return err
		}
	}
	parameterCodec := runtime.NewParameterCodec(s.Scheme)
	legacy := genericapiserver.NewDefaultAPIGroupInfo("", s.Scheme, parameterCodec, s.Codecs)
	legacy.VersionedResourcesStorageMap[corev1.SchemeGroupVersion.Version] = core
	if err := s.Generic.InstallLegacyAPIGroup(genericapiserver.DefaultLegacyAPIPrefix, &legacy); err != nil {
		return fmt.Errorf("install core api: %w", err)
	}

	var groups []*genericapiserver.APIGroupInfo
	for _, g := range []struct {
		group, version string
		storage        map[string]rest.Storage
	}{
		{coordinationv1.GroupName, "v1", coordination},
		{schedulingv1.GroupName, "v1", scheduling},
		{storagev1.GroupName, "v1", storage},
		{eventsv1.GroupName, "v1", events},
		{authenticationv1.GroupName, "v1", authn},
		// policy/v1 has no resources of its own here; Eviction is served as
		// pods/eviction, but the group must exist for discovery.
		{policyv1.GroupName, "v1", nil},
	} {
		if len(g.storage) == 0 {
			continue
		}
		info := genericapiserver.NewDefaultAPIGroupInfo(g.group, s.Scheme, parameterCodec, s.Codecs)
		info.VersionedResourcesStorageMap[g.version] = g.storage
		groups = append(groups, &info)
	}
	if err := s.Generic.InstallAPIGroups(groups...); err != nil {
		return fmt.Errorf("install api groups: %w", err)
	}
	return nil
}
