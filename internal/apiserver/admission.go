package apiserver

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/orca-pods/orca/internal/admission/podsecurity"
	"github.com/orca-pods/orca/internal/admission/priority"
	"github.com/orca-pods/orca/internal/admission/serviceaccount"
	storageadmission "github.com/orca-pods/orca/internal/admission/storage"
)

// newAdmission builds the admission chain. Its plugins read the API through
// the loopback client and an informer factory the generic server starts.
func newAdmission(rc *genericapiserver.RecommendedConfig) (admission.Interface, error) {
	client, err := kubernetes.NewForConfig(rc.LoopbackClientConfig)
	if err != nil {
		return nil, fmt.Errorf("loopback client: %w", err)
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	rc.SharedInformerFactory = factory
	rc.ClientConfig = rc.LoopbackClientConfig

	// NamespaceLifecycle: no objects in missing or terminating namespaces,
	// and the system namespaces cannot be deleted.
	nsLifecycle, err := lifecycle.NewLifecycle(sets.New(metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic))
	if err != nil {
		return nil, err
	}
	nsLifecycle.SetExternalKubeClientSet(client)
	nsLifecycle.SetExternalKubeInformerFactory(factory)
	if err := nsLifecycle.ValidateInitialization(); err != nil {
		return nil, err
	}
	// ServiceAccount and Priority, in upstream's order after NamespaceLifecycle.
	sa := serviceaccount.NewPlugin()
	sa.SetExternalKubeClientSet(client)
	sa.SetExternalKubeInformerFactory(factory)
	if err := sa.ValidateInitialization(); err != nil {
		return nil, err
	}
	prio := priority.NewPlugin()
	prio.SetExternalKubeClientSet(client)
	prio.SetExternalKubeInformerFactory(factory)
	if err := prio.ValidateInitialization(); err != nil {
		return nil, err
	}
	// PodSecurity only validates; the server runs every plugin's Admit
	// before any Validate, so it judges pods as all mutators left them.
	podSecurity, err := podsecurity.NewPlugin()
	if err != nil {
		return nil, err
	}
	podSecurity.SetExternalKubeClientSet(client)
	podSecurity.SetExternalKubeInformerFactory(factory)
	if err := podSecurity.ValidateInitialization(); err != nil {
		return nil, err
	}
	// DefaultStorageClass and StorageObjectInUseProtection, as upstream
	// enables them by default.
	defaultClass := storageadmission.NewDefaultClass()
	defaultClass.SetExternalKubeInformerFactory(factory)
	if err := defaultClass.ValidateInitialization(); err != nil {
		return nil, err
	}
	inUse := storageadmission.NewInUseProtection()
	return admission.NewChainHandler(nsLifecycle, sa, prio, podSecurity, defaultClass, inUse), nil
}
