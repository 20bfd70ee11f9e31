package printers

import (
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

const (
	// betaStorageClassAnnotation predates spec.storageClassName and, when
	// present, still takes precedence over it.
	betaStorageClassAnnotation = "volume.beta.kubernetes.io/storage-class"
	// Annotations that mark a StorageClass as the cluster default.
	defaultClassAnnotation     = "storageclass.kubernetes.io/is-default-class"
	betaDefaultClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
	defaultClassSuffix         = " (default)"
	unset                      = "<unset>"
)

func newPersistentVolumeConvertor(now func() time.Time) *convertor {
	spec := corev1.PersistentVolumeSpec{}.SwaggerDoc()
	status := corev1.PersistentVolumeStatus{}.SwaggerDoc()
	return &convertor{
		now: now,
		columns: []metav1.TableColumnDefinition{
			nameColumn,
			{Name: "Capacity", Type: "string", Description: spec["capacity"]},
			{Name: "Access Modes", Type: "string", Description: spec["accessModes"]},
			{Name: "Reclaim Policy", Type: "string", Description: spec["persistentVolumeReclaimPolicy"]},
			{Name: "Status", Type: "string", Description: status["phase"]},
			{Name: "Claim", Type: "string", Description: spec["claimRef"]},
			{Name: "StorageClass", Type: "string", Description: "StorageClass of the pv"},
			{Name: "VolumeAttributesClass", Type: "string", Description: "VolumeAttributesClass of the pv"},
			{Name: "Reason", Type: "string", Description: status["reason"]},
			ageColumn,
			{Name: "VolumeMode", Type: "string", Priority: 1, Description: spec["volumeMode"]},
		},
		row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
			pv, ok := obj.(*corev1.PersistentVolume)
			if !ok {
				return metav1.TableRow{}, unexpectedType("*v1.PersistentVolume", obj)
			}
			claim := ""
			if ref := pv.Spec.ClaimRef; ref != nil {
				claim = ref.Namespace + "/" + ref.Name
			}
			phase := string(pv.Status.Phase)
			if pv.DeletionTimestamp != nil {
				phase = "Terminating"
			}
			capacity := pv.Spec.Capacity[corev1.ResourceStorage]
			class := pv.Spec.StorageClassName
			if c, found := pv.Annotations[betaStorageClassAnnotation]; found {
				class = c
			}
			return metav1.TableRow{Cells: []interface{}{
				pv.Name,
				capacity.String(),
				accessModes(pv.Spec.AccessModes),
				string(pv.Spec.PersistentVolumeReclaimPolicy),
				phase,
				claim,
				class,
				derefOr(pv.Spec.VolumeAttributesClassName, unset),
				pv.Status.Reason,
				since(pv.CreationTimestamp, now),
				volumeMode(pv.Spec.VolumeMode),
			}}, nil
		},
	}
}

func newPersistentVolumeClaimConvertor(now func() time.Time) *convertor {
	spec := corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()
	status := corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()
	return &convertor{
		now: now,
		columns: []metav1.TableColumnDefinition{
			nameColumn,
			{Name: "Status", Type: "string", Description: status["phase"]},
			{Name: "Volume", Type: "string", Description: spec["volumeName"]},
			{Name: "Capacity", Type: "string", Description: status["capacity"]},
			{Name: "Access Modes", Type: "string", Description: status["accessModes"]},
			{Name: "StorageClass", Type: "string", Description: "StorageClass of the pvc"},
			{Name: "VolumeAttributesClass", Type: "string", Description: "VolumeAttributesClass of the pvc"},
			ageColumn,
			{Name: "VolumeMode", Type: "string", Priority: 1, Description: spec["volumeMode"]},
		},
		row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
			pvc, ok := obj.(*corev1.PersistentVolumeClaim)
			if !ok {
				return metav1.TableRow{}, unexpectedType("*v1.PersistentVolumeClaim", obj)
			}
			phase := string(pvc.Status.Phase)
			if pvc.DeletionTimestamp != nil {
				phase = "Terminating"
			}
			// Capacity and access modes describe the bound volume, so they
			// stay blank until the claim is bound.
			capacity, modes := "", ""
			if pvc.Spec.VolumeName != "" {
				q := pvc.Status.Capacity[corev1.ResourceStorage]
				capacity = q.String()
				modes = accessModes(pvc.Status.AccessModes)
			}
			class := derefOr(pvc.Spec.StorageClassName, "")
			if c, found := pvc.Annotations[betaStorageClassAnnotation]; found {
				class = c
			}
			return metav1.TableRow{Cells: []interface{}{
				pvc.Name,
				phase,
				pvc.Spec.VolumeName,
				capacity,
				modes,
				class,
				derefOr(pvc.Spec.VolumeAttributesClassName, unset),
				since(pvc.CreationTimestamp, now),
				volumeMode(pvc.Spec.VolumeMode),
			}}, nil
		},
	}
}

// accessModes abbreviates modes in a fixed order (RWO,ROX,RWX,RWOP),
// regardless of order or duplicates in the object.
func accessModes(modes []corev1.PersistentVolumeAccessMode) string {
	has := map[corev1.PersistentVolumeAccessMode]bool{}
	for _, m := range modes {
		has[m] = true
	}
	var out []string
	for _, m := range []struct {
		mode  corev1.PersistentVolumeAccessMode
		short string
	}{
		{corev1.ReadWriteOnce, "RWO"},
		{corev1.ReadOnlyMany, "ROX"},
		{corev1.ReadWriteMany, "RWX"},
		{corev1.ReadWriteOncePod, "RWOP"},
	} {
		if has[m.mode] {
			out = append(out, m.short)
		}
	}
	return strings.Join(out, ",")
}

func volumeMode(m *corev1.PersistentVolumeMode) string {
	if m == nil {
		return unset
	}
	return string(*m)
}

func derefOr(s *string, fallback string) string {
	if s == nil {
		return fallback
	}
	return *s
}

func newStorageClassConvertor(now func() time.Time) *convertor {
	doc := storagev1.StorageClass{}.SwaggerDoc()
	return &convertor{
		now: now,
		columns: []metav1.TableColumnDefinition{
			nameColumn,
			{Name: "Provisioner", Type: "string", Description: doc["provisioner"]},
			{Name: "ReclaimPolicy", Type: "string", Description: doc["reclaimPolicy"]},
			{Name: "VolumeBindingMode", Type: "string", Description: doc["volumeBindingMode"]},
			{Name: "AllowVolumeExpansion", Type: "string", Description: doc["allowVolumeExpansion"]},
			ageColumn,
		},
		row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
			sc, ok := obj.(*storagev1.StorageClass)
			if !ok {
				return metav1.TableRow{}, unexpectedType("*v1.StorageClass", obj)
			}
			name := sc.Name
			if isDefaultClass(sc) {
				name += defaultClassSuffix
			}
			reclaim := string(corev1.PersistentVolumeReclaimDelete)
			if sc.ReclaimPolicy != nil {
				reclaim = string(*sc.ReclaimPolicy)
			}
			binding := string(storagev1.VolumeBindingImmediate)
			if sc.VolumeBindingMode != nil {
				binding = string(*sc.VolumeBindingMode)
			}
			expansion := sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
			return metav1.TableRow{Cells: []interface{}{
				name, sc.Provisioner, reclaim, binding, expansion, since(sc.CreationTimestamp, now),
			}}, nil
		},
		adjustList: markEffectiveDefaultClass,
	}
}

func isDefaultClass(sc *storagev1.StorageClass) bool {
	return sc.Annotations[defaultClassAnnotation] == "true" || sc.Annotations[betaDefaultClassAnnotation] == "true"
}

// markEffectiveDefaultClass keeps "(default)" only on the class the PV
// controller would actually use when several are annotated: the newest, ties
// broken by name. Recent kube-apiserver lists behave the same way. A single
// object lookup cannot see its siblings and keeps the annotation-based marker.
func markEffectiveDefaultClass(items []runtime.Object, rows []metav1.TableRow) {
	var defaults []*storagev1.StorageClass
	for _, item := range items {
		if sc, ok := item.(*storagev1.StorageClass); ok && isDefaultClass(sc) {
			defaults = append(defaults, sc)
		}
	}
	if len(defaults) < 2 {
		return // zero or one annotated class: the per-row marker is already right
	}
	sort.Slice(defaults, func(i, j int) bool {
		ti, tj := defaults[i].CreationTimestamp.UnixNano(), defaults[j].CreationTimestamp.UnixNano()
		if ti != tj {
			return ti > tj
		}
		return defaults[i].Name < defaults[j].Name
	})
	effective := defaults[0]
	for i, item := range items {
		if sc, ok := item.(*storagev1.StorageClass); ok && isDefaultClass(sc) && sc != effective {
			rows[i].Cells[0] = sc.Name
		}
	}
}
