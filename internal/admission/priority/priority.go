// Package priority is the Priority admission plugin: it resolves a pod's
// priorityClassName into spec.priority and spec.preemptionPolicy when the
// pod is created, and keeps at most one PriorityClass marked globalDefault.
//
// It follows kube-apiserver's plugin/pkg/admission/priority. Since Kubernetes
// 1.17 that plugin no longer limits system-node-critical and
// system-cluster-critical to kube-system (kubernetes#76310); clusters that
// want the limit configure ResourceQuota instead, so there is no namespace
// check here either.
package priority

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	schedulingv1listers "k8s.io/client-go/listers/scheduling/v1"
)

// PluginName is the name kube-apiserver knows this plugin by.
const PluginName = "Priority"

var (
	podResource           = corev1.Resource("pods")
	priorityClassResource = schedulingv1.Resource("priorityclasses")
)

// Plugin mutates pods (Admit) and validates PriorityClasses (Validate).
type Plugin struct {
	*admission.Handler
	client kubernetes.Interface
	lister schedulingv1listers.PriorityClassLister
}

var (
	_ admission.MutationInterface   = &Plugin{}
	_ admission.ValidationInterface = &Plugin{}
	_                               = initializer.WantsExternalKubeClientSet(&Plugin{})
	_                               = initializer.WantsExternalKubeInformerFactory(&Plugin{})
)

// NewPlugin returns a plugin that still needs its client and informer
// factory; call ValidateInitialization after setting them.
//
// Upstream also registers for DELETE but does nothing on it, so only the
// operations that do something are listed here.
func NewPlugin() *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create, admission.Update)}
}

// SetExternalKubeClientSet implements initializer.WantsExternalKubeClientSet.
// Upstream keeps the client without using it; it is required here too so the
// plugin is wired the same way as the others.
func (p *Plugin) SetExternalKubeClientSet(client kubernetes.Interface) {
	p.client = client
}

// SetExternalKubeInformerFactory implements
// initializer.WantsExternalKubeInformerFactory. Asking the factory for the
// informer registers it, so it must be called before the factory starts.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	classes := f.Scheduling().V1().PriorityClasses()
	p.lister = classes.Lister()
	p.SetReadyFunc(classes.Informer().HasSynced)
}

// ValidateInitialization implements admission.InitializationValidator.
func (p *Plugin) ValidateInitialization() error {
	if p.client == nil {
		return fmt.Errorf("%s requires a client", PluginName)
	}
	if p.lister == nil {
		return fmt.Errorf("%s requires a lister", PluginName)
	}
	return nil
}

// Admit resolves the priority of pods from their PriorityClass.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	// Subresources (status, binding, ...) never carry a new pod spec.
	if a.GetSubresource() != "" || a.GetResource().GroupResource() != podResource {
		return nil
	}
	switch a.GetOperation() {
	case admission.Create:
		if err := p.waitForReady(a); err != nil {
			return err
		}
		return p.admitPodCreate(a)
	case admission.Update:
		return admitPodUpdate(a)
	}
	return nil
}

// Validate keeps a single globalDefault PriorityClass.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" || a.GetResource().GroupResource() != priorityClassResource {
		return nil
	}
	switch a.GetOperation() {
	case admission.Create, admission.Update:
		if err := p.waitForReady(a); err != nil {
			return err
		}
		return p.validatePriorityClass(a)
	}
	return nil
}

// waitForReady holds a request until the PriorityClass cache has synced.
// Upstream does not wait, but an empty cache right after start would give
// pods priority 0 instead of the global default and reject pods naming a
// class that exists, so orca waits the way NamespaceLifecycle does.
func (p *Plugin) waitForReady(a admission.Attributes) error {
	if !p.WaitForReady() {
		return admission.NewForbidden(a, fmt.Errorf("not yet ready to handle request"))
	}
	return nil
}
