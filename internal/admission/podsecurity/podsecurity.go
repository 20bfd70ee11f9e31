// Package podsecurity is the PodSecurity admission plugin: namespaces carry
// pod-security.kubernetes.io/{enforce,audit,warn}[-version] labels, and pods
// that break the named Pod Security Standard are refused, audited or warned
// about. The checks, messages and label parsing all come from
// k8s.io/pod-security-admission; this package only adapts that library to
// the apiserver's admission.Interface, as kube-apiserver's
// plugin/pkg/admission/security/podsecurity does.
//
// orca has no internal API types, so unlike upstream there is nothing to
// convert: the objects handed to admission are already core/v1.
package podsecurity

import (
	"context"
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/audit"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	psadmission "k8s.io/pod-security-admission/admission"
	psconfig "k8s.io/pod-security-admission/admission/api/load"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/metrics"
	"k8s.io/pod-security-admission/policy"
)

// PluginName is the name kube-apiserver knows this plugin by.
const PluginName = "PodSecurity"

// Plugin validates pods, pod-spec-carrying objects and namespaces.
type Plugin struct {
	*admission.Handler

	client          kubernetes.Interface
	namespaceLister corev1listers.NamespaceLister
	podLister       corev1listers.PodLister

	delegate *psadmission.Admission
}

var (
	_ admission.ValidationInterface = &Plugin{}
	_                               = initializer.WantsExternalKubeClientSet(&Plugin{})
	_                               = initializer.WantsExternalKubeInformerFactory(&Plugin{})
)

// NewPlugin returns a plugin with Kubernetes' default configuration:
// privileged at the latest version for enforce, audit and warn, and no
// exemptions. Namespaces opt in with labels. Set the client and informer
// factory, then call ValidateInitialization.
func NewPlugin() (*Plugin, error) {
	// No data yields the defaulted v1 PodSecurityConfiguration, exactly what
	// kube-apiserver uses without an admission config file.
	config, err := psconfig.LoadFromData(nil)
	if err != nil {
		return nil, fmt.Errorf("%s default configuration: %w", PluginName, err)
	}
	// A nil emulation version evaluates "latest" with the newest checks
	// the library knows.
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s evaluator: %w", PluginName, err)
	}
	return &Plugin{
		Handler: admission.NewHandler(admission.Create, admission.Update),
		delegate: &psadmission.Admission{
			Configuration:    config,
			Evaluator:        evaluator,
			Metrics:          noMetrics{},
			PodSpecExtractor: psadmission.DefaultPodSpecExtractor{},
		},
	}, nil
}

// SetExternalKubeClientSet implements initializer.WantsExternalKubeClientSet.
// The client backs namespace lookups the informer cache has not seen yet.
func (p *Plugin) SetExternalKubeClientSet(client kubernetes.Interface) {
	p.client = client
	p.updateDelegate()
}

// SetExternalKubeInformerFactory implements
// initializer.WantsExternalKubeInformerFactory. It must run before the
// factory starts so the namespace and pod informers are registered.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	namespaces := f.Core().V1().Namespaces()
	pods := f.Core().V1().Pods()
	p.namespaceLister = namespaces.Lister()
	p.podLister = pods.Lister()
	nsSynced, podsSynced := namespaces.Informer().HasSynced, pods.Informer().HasSynced
	p.SetReadyFunc(func() bool { return nsSynced() && podsSynced() })
	p.updateDelegate()
}

// updateDelegate hands the library its API access once both the client and
// the listers are known, whichever is set last.
func (p *Plugin) updateDelegate() {
	if p.client == nil || p.namespaceLister == nil || p.podLister == nil {
		return
	}
	p.delegate.NamespaceGetter = psadmission.NamespaceGetterFromListerAndClient(p.namespaceLister, p.client)
	p.delegate.PodLister = psadmission.PodListerFromInformer(p.podLister)
}

// ValidateInitialization implements admission.InitializationValidator.
func (p *Plugin) ValidateInitialization() error {
	if err := p.delegate.CompleteConfiguration(); err != nil {
		return err
	}
	if err := p.delegate.ValidateConfiguration(); err != nil {
		return fmt.Errorf("%s: %w", PluginName, err)
	}
	return nil
}

// applicableResources are evaluated besides the pod-spec-carrying kinds the
// extractor knows (podtemplates, replicationcontrollers, workloads).
var applicableResources = map[schema.GroupResource]bool{
	corev1.Resource("pods"):       true,
	corev1.Resource("namespaces"): true,
}

// Validate refuses pods that break their namespace's enforce level, turns
// warn-level violations into response warnings and audit-level ones into
// audit annotations, and on namespace label changes warns about existing
// pods that the new enforce level would refuse.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	gr := a.GetResource().GroupResource()
	if !applicableResources[gr] && !p.delegate.PodSpecExtractor.HasPodSpec(gr) {
		return nil
	}
	// Right after start an empty pod cache would hide violating pods from
	// the namespace-relabel check; wait as NamespaceLifecycle does.
	if !p.WaitForReady() {
		return admission.NewForbidden(a, errors.New("not yet ready to handle request"))
	}

	result := p.delegate.Validate(ctx, attributes{a})
	for _, w := range result.Warnings {
		warning.AddWarning(ctx, "", w)
	}
	if len(result.AuditAnnotations) > 0 {
		kv := make([]string, 0, 2*len(result.AuditAnnotations))
		for k, v := range result.AuditAnnotations {
			kv = append(kv, psapi.AuditAnnotationPrefix+k, v)
		}
		audit.AddAuditAnnotations(ctx, kv...)
	}
	if result.Allowed {
		return nil
	}
	// The library's status already carries Kubernetes' message, reason and
	// code (403 for violations, 422 for bad labels); keep a generic
	// Forbidden only for what it leaves empty.
	err := admission.NewForbidden(a, errors.New("Not allowed by PodSecurity")).(*apierrors.StatusError)
	if s := result.Result; s != nil {
		if s.Message != "" {
			err.ErrStatus.Message = s.Message
		}
		if s.Reason != "" {
			err.ErrStatus.Reason = s.Reason
		}
		if s.Details != nil {
			err.ErrStatus.Details = s.Details
		}
		if s.Code != 0 {
			err.ErrStatus.Code = s.Code
		}
	}
	return err
}

// attributes presents apiserver admission attributes as the library's
// api.Attributes, which differ in the operation type, the user name and in
// returning an error beside the objects.
type attributes struct {
	admission.Attributes
}

func (a attributes) GetObject() (runtime.Object, error) {
	return a.Attributes.GetObject(), nil
}

func (a attributes) GetOldObject() (runtime.Object, error) {
	return a.Attributes.GetOldObject(), nil
}

func (a attributes) GetOperation() admissionv1.Operation {
	return admissionv1.Operation(a.Attributes.GetOperation())
}

func (a attributes) GetUserName() string {
	if u := a.GetUserInfo(); u != nil {
		return u.GetName()
	}
	return ""
}

// noMetrics drops the library's metrics: orca exports no admission metrics.
type noMetrics struct{}

func (noMetrics) RecordEvaluation(metrics.Decision, psapi.LevelVersion, metrics.Mode, psapi.Attributes) {
}
func (noMetrics) RecordExemption(psapi.Attributes)           {}
func (noMetrics) RecordError(fatal bool, _ psapi.Attributes) {}
