// Package volume stores PersistentVolumes and PersistentVolumeClaims (core/v1,
// each with a status subresource the PV binder writes) and StorageClasses
// (storage.k8s.io/v1).
package volume

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/orca-pods/orca/internal/apis/validation"
	"github.com/orca-pods/orca/internal/printers"
	"github.com/orca-pods/orca/internal/registry"
)

// now is the clock of phase transition times; tests may replace it.
var now = metav1.Now

// NewREST returns the core/v1 storages (persistentvolumes,
// persistentvolumeclaims and their /status) and the storage.k8s.io/v1 ones
// (storageclasses).
func NewREST(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (core, storage map[string]rest.Storage, err error) {
	core, storage = map[string]rest.Storage{}, map[string]rest.Storage{}

	pvs, err := registry.NewStore(registry.StoreConfig{
		Resource: corev1.Resource("persistentvolumes"), Singular: "persistentvolume",
		New:        func() runtime.Object { return &corev1.PersistentVolume{} },
		NewList:    func() runtime.Object { return &corev1.PersistentVolumeList{} },
		Strategy:   pvStrategy(typer),
		Table:      printers.For(corev1.Resource("persistentvolumes")),
		ShortNames: []string{"pv"},
	}, opts)
	if err != nil {
		return nil, nil, err
	}
	core["persistentvolumes"] = pvs
	core["persistentvolumes/status"] = registry.NewStatusREST(pvs, pvStatusStrategy(typer))

	pvcs, err := registry.NewStore(registry.StoreConfig{
		Resource: corev1.Resource("persistentvolumeclaims"), Singular: "persistentvolumeclaim",
		New:        func() runtime.Object { return &corev1.PersistentVolumeClaim{} },
		NewList:    func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
		Strategy:   pvcStrategy(typer),
		Table:      printers.For(corev1.Resource("persistentvolumeclaims")),
		ShortNames: []string{"pvc"},
	}, opts)
	if err != nil {
		return nil, nil, err
	}
	core["persistentvolumeclaims"] = pvcs
	core["persistentvolumeclaims/status"] = registry.NewStatusREST(pvcs, pvcStatusStrategy(typer))

	sc := registry.NewStrategy[*storagev1.StorageClass](typer, false)
	sc.Check, sc.CheckChange = validation.ValidateStorageClass, validation.ValidateStorageClassUpdate
	classes, err := registry.NewStore(registry.StoreConfig{
		Resource: storagev1.Resource("storageclasses"), Singular: "storageclass",
		New:        func() runtime.Object { return &storagev1.StorageClass{} },
		NewList:    func() runtime.Object { return &storagev1.StorageClassList{} },
		Strategy:   sc,
		Table:      printers.For(storagev1.Resource("storageclasses")),
		ShortNames: []string{"sc"},
	}, opts)
	if err != nil {
		return nil, nil, err
	}
	storage["storageclasses"] = classes
	return core, storage, nil
}

// pvStrategy: a new PV starts Pending (the binder makes it Available) and
// only the status endpoint changes status.
func pvStrategy(typer runtime.ObjectTyper) *registry.Strategy[*corev1.PersistentVolume] {
	s := registry.NewStrategy[*corev1.PersistentVolume](typer, false)
	s.PrepareCreate = func(_ context.Context, pv *corev1.PersistentVolume) {
		t := now()
		pv.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending, LastPhaseTransitionTime: &t}
	}
	s.PrepareUpdate = func(_ context.Context, pv, old *corev1.PersistentVolume) { pv.Status = old.Status }
	s.Check, s.CheckChange = validation.ValidatePersistentVolume, validation.ValidatePersistentVolumeUpdate
	s.Reset = registry.ResetStatus("v1")
	return s
}

func pvStatusStrategy(typer runtime.ObjectTyper) *registry.Strategy[*corev1.PersistentVolume] {
	s := registry.NewStrategy[*corev1.PersistentVolume](typer, false)
	s.PrepareUpdate = func(_ context.Context, pv, old *corev1.PersistentVolume) {
		pv.Spec = old.Spec
		// The time of the last phase change is the server's to keep.
		if pv.Status.Phase != old.Status.Phase {
			t := now()
			pv.Status.LastPhaseTransitionTime = &t
		} else if pv.Status.LastPhaseTransitionTime == nil {
			pv.Status.LastPhaseTransitionTime = old.Status.LastPhaseTransitionTime
		}
	}
	s.CheckChange = validation.ValidatePersistentVolumeStatusUpdate
	s.Reset = registry.ResetSpec("v1")
	return s
}

// pvcStrategy: a new claim is Pending until the binder binds it.
func pvcStrategy(typer runtime.ObjectTyper) *registry.Strategy[*corev1.PersistentVolumeClaim] {
	s := registry.NewStrategy[*corev1.PersistentVolumeClaim](typer, true)
	s.PrepareCreate = func(_ context.Context, pvc *corev1.PersistentVolumeClaim) {
		pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
	}
	s.PrepareUpdate = func(_ context.Context, pvc, old *corev1.PersistentVolumeClaim) { pvc.Status = old.Status }
	s.Check, s.CheckChange = validation.ValidatePersistentVolumeClaim, validation.ValidatePersistentVolumeClaimUpdate
	s.Reset = registry.ResetStatus("v1")
	return s
}

func pvcStatusStrategy(typer runtime.ObjectTyper) *registry.Strategy[*corev1.PersistentVolumeClaim] {
	s := registry.NewStrategy[*corev1.PersistentVolumeClaim](typer, true)
	s.PrepareUpdate = func(_ context.Context, pvc, old *corev1.PersistentVolumeClaim) { pvc.Spec = old.Spec }
	s.CheckChange = validation.ValidatePersistentVolumeClaimStatusUpdate
	s.Reset = registry.ResetSpec("v1")
	return s
}
