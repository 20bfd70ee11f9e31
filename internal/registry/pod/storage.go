package pod

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/orca-pods/orca/internal/printers"
	"github.com/orca-pods/orca/internal/registry"
)

// NewREST returns the pods endpoint and its subresources, keyed as the API
// installer expects ("pods", "pods/status", ...).
func NewREST(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter, kubelet *KubeletConnection) (map[string]rest.Storage, error) {
	store, err := registry.NewStore(registry.StoreConfig{
		Resource:   corev1.Resource("pods"),
		Singular:   "pod",
		New:        func() runtime.Object { return &corev1.Pod{} },
		NewList:    func() runtime.Object { return &corev1.PodList{} },
		Strategy:   newStrategy(typer),
		Table:      printers.For(corev1.Resource("pods")),
		Fields:     Fields,
		ShortNames: []string{"po"},
		Categories: []string{"all"},
		Triggers:   nodeNameTrigger,
	}, opts)
	if err != nil {
		return nil, err
	}
	return map[string]rest.Storage{
		"pods":                     store,
		"pods/status":              registry.NewStatusREST(store, newStatusStrategy(typer)),
		"pods/binding":             &bindingREST{store: store.Store},
		"pods/eviction":            &evictionREST{store: store.Store},
		"pods/ephemeralcontainers": newEphemeralREST(store, typer),
		"pods/log":                 &logREST{pods: store, kubelet: kubelet},
		"pods/exec":                &execREST{pods: store, kubelet: kubelet},
		"pods/attach":              &attachREST{pods: store, kubelet: kubelet},
		"pods/portforward":         &portForwardREST{pods: store, kubelet: kubelet},
	}, nil
}
