// Package serviceaccount is the ServiceAccount admission plugin, after
// kube-apiserver's plugin/pkg/admission/serviceaccount. On pod create it
// names the "default" account when the pod names none, requires the account
// to exist, copies the account's imagePullSecrets into a pod that has none,
// and enforces the account's mountable-secrets list when the account asks
// for it. Unless the pod or its account opts out, it adds the
// kube-api-access-* projected volume (token, cluster CA, namespace) and
// mounts it in every container at DefaultAPITokenMountPath. Mirror pods
// (the kubelet's copies of static pods) may not use service accounts or
// secrets at all.
package serviceaccount

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"

	"github.com/orca-pods/orca/internal/apis/defaults"
)

const (
	// PluginName is the name kube-apiserver knows this plugin by.
	PluginName = "ServiceAccount"

	// EnforceMountableSecretsAnnotation, set to "true" on a service account,
	// limits its pods to the secrets listed in the account. Deprecated
	// upstream since 1.32 but still enforced.
	EnforceMountableSecretsAnnotation = "kubernetes.io/enforce-mountable-secrets"
)

var podResource = corev1.Resource("pods")

// Plugin mutates (Admit) and validates (Validate) pods.
type Plugin struct {
	*admission.Handler

	// LimitSecretReferences enforces every account's secrets list, as if
	// each carried EnforceMountableSecretsAnnotation. Off, as upstream.
	LimitSecretReferences bool

	// MountServiceAccountToken adds the kube-api-access volume to pods
	// that automount their token. On, as upstream.
	MountServiceAccountToken bool
	// generateName names that volume from its prefix; tests fix it.
	generateName func(base string) string

	client kubernetes.Interface
	lister corev1listers.ServiceAccountLister

	// retryInterval is the pause between live lookups of a missing default
	// account; tests shorten it.
	retryInterval func() time.Duration
}

var (
	_ admission.MutationInterface   = &Plugin{}
	_ admission.ValidationInterface = &Plugin{}
	_                               = initializer.WantsExternalKubeClientSet(&Plugin{})
	_                               = initializer.WantsExternalKubeInformerFactory(&Plugin{})
)

// NewPlugin returns a plugin that still needs its client and informer
// factory; call ValidateInitialization after setting them. UPDATE is handled
// only for pods/ephemeralcontainers, whose new containers may name secrets.
func NewPlugin() *Plugin {
	return &Plugin{
		Handler:                  admission.NewHandler(admission.Create, admission.Update),
		MountServiceAccountToken: true,
		generateName:             defaultGenerateName,
		retryInterval:            jitteredRetryInterval,
	}
}

// SetExternalKubeClientSet implements initializer.WantsExternalKubeClientSet.
// The client looks up accounts the cache has not seen yet.
func (s *Plugin) SetExternalKubeClientSet(client kubernetes.Interface) {
	s.client = client
}

// SetExternalKubeInformerFactory implements
// initializer.WantsExternalKubeInformerFactory. Asking the factory for the
// informer registers it, so it must be called before the factory starts.
func (s *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	accounts := f.Core().V1().ServiceAccounts()
	s.lister = accounts.Lister()
	s.SetReadyFunc(accounts.Informer().HasSynced)
}

// ValidateInitialization implements admission.InitializationValidator.
func (s *Plugin) ValidateInitialization() error {
	if s.client == nil {
		return fmt.Errorf("missing client")
	}
	if s.lister == nil {
		return fmt.Errorf("missing serviceAccountLister")
	}
	return nil
}

// defaultServiceAccountName is the account of a pod that names none.
const defaultServiceAccountName = defaults.DefaultServiceAccountName

// podFor returns the pod this plugin should look at, or nil for requests it
// ignores: other resources, and subresources other than ephemeralcontainers
// (status, binding, ... carry no new references).
func podFor(a admission.Attributes) *corev1.Pod {
	if a.GetResource().GroupResource() != podResource {
		return nil
	}
	if sub := a.GetSubresource(); sub != "" && sub != "ephemeralcontainers" {
		return nil
	}
	pod, _ := a.GetObject().(*corev1.Pod)
	return pod
}

// waitForReady holds a request until the ServiceAccount cache has synced.
// Upstream does not wait: a cache miss falls back to a live GET. Waiting
// saves those GETs for every pod created right after start.
func (s *Plugin) waitForReady(a admission.Attributes) error {
	if !s.WaitForReady() {
		return admission.NewForbidden(a, fmt.Errorf("not yet ready to handle request"))
	}
	return nil
}
