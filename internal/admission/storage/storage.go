// Package storage holds the two storage admission plugins kube-apiserver
// enables by default:
//
//   - DefaultStorageClass gives a new PersistentVolumeClaim that names no
//     class the cluster's default StorageClass;
//   - StorageObjectInUseProtection puts the kubernetes.io/pvc-protection and
//     kubernetes.io/pv-protection finalizers on new claims and volumes, so
//     that deleting one in use only marks it Terminating until the volume
//     protection controller sees it unused.
package storage

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/client-go/informers"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	storagehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/orca-pods/orca/internal/apis/storageutil"
)

// Plugin names as kube-apiserver knows them.
const (
	DefaultStorageClassName          = "DefaultStorageClass"
	StorageObjectInUseProtectionName = "StorageObjectInUseProtection"
)

var (
	pvcResource = corev1.Resource("persistentvolumeclaims")
	pvResource  = corev1.Resource("persistentvolumes")
)

// DefaultClass is the DefaultStorageClass plugin.
type DefaultClass struct {
	*admission.Handler
	lister storagelisters.StorageClassLister
}

var (
	_ admission.MutationInterface = &DefaultClass{}
	_                             = initializer.WantsExternalKubeInformerFactory(&DefaultClass{})
)

// NewDefaultClass returns the plugin; it needs an informer factory.
func NewDefaultClass() *DefaultClass {
	return &DefaultClass{Handler: admission.NewHandler(admission.Create)}
}

// SetExternalKubeInformerFactory implements initializer.WantsExternalKubeInformerFactory.
func (p *DefaultClass) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	classes := f.Storage().V1().StorageClasses()
	p.lister = classes.Lister()
	p.SetReadyFunc(classes.Informer().HasSynced)
}

// ValidateInitialization implements admission.InitializationValidator.
func (p *DefaultClass) ValidateInitialization() error {
	if p.lister == nil {
		return fmt.Errorf("%s requires a lister", DefaultStorageClassName)
	}
	return nil
}

// Admit sets spec.storageClassName of a new claim that has no class (neither
// the field nor the beta annotation). An explicit "" means "no class" and is
// left alone, as upstream.
func (p *DefaultClass) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != pvcResource || a.GetSubresource() != "" {
		return nil
	}
	pvc, ok := a.GetObject().(*corev1.PersistentVolumeClaim)
	if !ok || storagehelpers.PersistentVolumeClaimHasClass(pvc) {
		return nil
	}
	// An empty cache right after start would let claims through classless,
	// and a claim's class cannot be changed later but from nil.
	if !p.WaitForReady() {
		return admission.NewForbidden(a, fmt.Errorf("not yet ready to handle request"))
	}
	classes, err := p.lister.List(labels.Everything())
	if err != nil {
		return admission.NewForbidden(a, err)
	}
	if def := storageutil.DefaultClass(classes); def != nil {
		name := def.Name
		pvc.Spec.StorageClassName = &name
	}
	return nil
}

// InUseProtection is the StorageObjectInUseProtection plugin.
type InUseProtection struct {
	*admission.Handler
}

var _ admission.MutationInterface = &InUseProtection{}

// NewInUseProtection returns the plugin.
func NewInUseProtection() *InUseProtection {
	return &InUseProtection{Handler: admission.NewHandler(admission.Create)}
}

// Admit adds the protection finalizer to new claims and volumes.
func (p *InUseProtection) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" {
		return nil
	}
	switch a.GetResource().GroupResource() {
	case pvcResource:
		if pvc, ok := a.GetObject().(*corev1.PersistentVolumeClaim); ok {
			pvc.Finalizers = addFinalizer(pvc.Finalizers, storageutil.PVCProtectionFinalizer)
		}
	case pvResource:
		if pv, ok := a.GetObject().(*corev1.PersistentVolume); ok {
			pv.Finalizers = addFinalizer(pv.Finalizers, storageutil.PVProtectionFinalizer)
		}
	}
	return nil
}

func addFinalizer(list []string, f string) []string {
	if slices.Contains(list, f) {
		return list
	}
	return append(list, f)
}
