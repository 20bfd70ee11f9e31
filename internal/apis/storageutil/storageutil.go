// Package storageutil holds what the API server, the controllers, the
// scheduler and the node agent share about persistent volumes: well-known
// names, the default StorageClass rule, and which claims a pod uses.
package storageutil

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/component-helpers/storage/ephemeral"
)

const (
	// PVCProtectionFinalizer keeps a claim while a pod uses it.
	PVCProtectionFinalizer = "kubernetes.io/pvc-protection"
	// PVProtectionFinalizer keeps a volume while a claim is bound to it.
	PVProtectionFinalizer = "kubernetes.io/pv-protection"

	// DefaultClassAnnotation marks the StorageClass claims without a class get.
	DefaultClassAnnotation     = "storageclass.kubernetes.io/is-default-class"
	betaDefaultClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"

	// LocalPathProvisioner is orca's built-in provisioner: directories on the
	// node the scheduler picks for the claim's first pod.
	LocalPathProvisioner = "orca.io/local-path"
	// LocalPathClass is the default StorageClass orca creates for it.
	LocalPathClass = "orca-local"
)

// IsDefaultClass reports whether sc is annotated as a default class.
func IsDefaultClass(sc *storagev1.StorageClass) bool {
	return sc.Annotations[DefaultClassAnnotation] == "true" || sc.Annotations[betaDefaultClassAnnotation] == "true"
}

// DefaultClass picks the default among classes, or nil. When several are
// marked, the newest wins (then the name sorting first), as kube-apiserver's
// DefaultStorageClass admission decides, so a newly marked class takes
// effect without unmarking the old one first.
func DefaultClass(classes []*storagev1.StorageClass) *storagev1.StorageClass {
	var defaults []*storagev1.StorageClass
	for _, sc := range classes {
		if IsDefaultClass(sc) {
			defaults = append(defaults, sc)
		}
	}
	if len(defaults) == 0 {
		return nil
	}
	sort.Slice(defaults, func(i, j int) bool {
		ti, tj := defaults[i].CreationTimestamp.UnixNano(), defaults[j].CreationTimestamp.UnixNano()
		if ti != tj {
			return ti > tj
		}
		return defaults[i].Name < defaults[j].Name
	})
	return defaults[0]
}

// ClaimName returns the claim a pod volume uses and whether it uses one:
// persistentVolumeClaim volumes name it, generic ephemeral volumes derive
// it from the pod and volume names.
func ClaimName(pod *corev1.Pod, v *corev1.Volume) (string, bool) {
	switch {
	case v.PersistentVolumeClaim != nil:
		return v.PersistentVolumeClaim.ClaimName, true
	case v.Ephemeral != nil:
		return ephemeral.VolumeClaimName(pod, v), true
	}
	return "", false
}

// UsesClaim reports whether any volume of pod uses the named claim.
func UsesClaim(pod *corev1.Pod, claim string) bool {
	for i := range pod.Spec.Volumes {
		if name, ok := ClaimName(pod, &pod.Spec.Volumes[i]); ok && name == claim {
			return true
		}
	}
	return false
}
