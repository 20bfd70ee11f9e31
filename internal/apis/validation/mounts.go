package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	unversionedvalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateProjectedVolumeSource checks a projected volume: one source kind
// per entry, and no two sources writing the same file.
func validateProjectedVolumeSource(p *corev1.ProjectedVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := validateFileMode(p.DefaultMode, fldPath.Child("defaultMode"))
	allPaths := sets.New[string]()
	// addPath reports a conflict on the volume path with upstream's bad value.
	addPath := func(p string, badValue string) {
		if len(p) == 0 {
			return
		}
		if allPaths.Has(p) {
			allErrs = append(allErrs, field.Invalid(fldPath, badValue, "conflicting duplicate paths"))
		}
		allPaths.Insert(p)
	}
	for i, source := range p.Sources {
		numSources := 0
		srcPath := fldPath.Child("sources").Index(i)
		if s := source.Secret; s != nil {
			numSources++
			projPath := srcPath.Child("secret")
			allErrs = append(allErrs, requiredList(projPath.Child("name"), len(s.Name) == 0)...)
			for j := range s.Items {
				allErrs = append(allErrs, validateKeyToPath(&s.Items[j], projPath.Child("items").Index(j))...)
				addPath(s.Items[j].Path, s.Name)
			}
		}
		if s := source.ConfigMap; s != nil {
			numSources++
			projPath := srcPath.Child("configMap")
			allErrs = append(allErrs, requiredList(projPath.Child("name"), len(s.Name) == 0)...)
			for j := range s.Items {
				allErrs = append(allErrs, validateKeyToPath(&s.Items[j], projPath.Child("items").Index(j))...)
				addPath(s.Items[j].Path, s.Name)
			}
		}
		if s := source.DownwardAPI; s != nil {
			numSources++
			for j := range s.Items {
				allErrs = append(allErrs, validateDownwardAPIVolumeFile(&s.Items[j], srcPath.Child("downwardAPI"))...)
				addPath(s.Items[j].Path, s.Items[j].Path)
			}
		}
		if s := source.ServiceAccountToken; s != nil {
			numSources++
			projPath := srcPath.Child("serviceAccountToken")
			// Short-lived tokens would be refreshed constantly; very long ones
			// defeat the point of bound tokens.
			// Defaulting sets expirationSeconds; nil only reaches here undefaulted.
			if exp := s.ExpirationSeconds; exp != nil && *exp < 10*60 {
				allErrs = append(allErrs, field.Invalid(projPath.Child("expirationSeconds"), *exp, "may not specify a duration less than 10 minutes"))
			} else if exp != nil && *exp > 1<<32 {
				allErrs = append(allErrs, field.Invalid(projPath.Child("expirationSeconds"), *exp, "may not specify a duration larger than 2^32 seconds"))
			}
			if s.Path == "" {
				allErrs = append(allErrs, field.Required(fldPath.Child("path"), ""))
			} else {
				allErrs = append(allErrs, validateLocalNonReservedPath(s.Path, fldPath.Child("path"))...)
			}
		}
		if s := source.ClusterTrustBundle; s != nil {
			numSources++
			allErrs = append(allErrs, validateClusterTrustBundleProjection(s, srcPath.Child("clusterTrustBundle"))...)
			addPath(s.Path, s.Path)
		}
		if source.PodCertificate != nil {
			numSources++
		}
		if numSources > 1 {
			allErrs = append(allErrs, field.Forbidden(srcPath, "may not specify more than 1 volume type per source"))
		}
	}
	return allErrs
}

// validateClusterTrustBundleProjection: a bundle is chosen either by name or
// by signer name plus label selector, never both.
func validateClusterTrustBundleProjection(s *corev1.ClusterTrustBundleProjection, projPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	usingName, usingSigner := s.Name != nil, s.SignerName != nil
	switch {
	case usingName && usingSigner:
		allErrs = append(allErrs, field.Invalid(projPath, s, "only one of name and signerName may be used"))
	case usingName:
		if *s.Name == "" {
			allErrs = append(allErrs, field.Required(projPath.Child("name"), "must be a valid object name"))
		}
		if s.LabelSelector != nil {
			allErrs = append(allErrs, field.Invalid(projPath.Child("labelSelector"), s.LabelSelector, "labelSelector must be unset if name is specified"))
		}
	case usingSigner:
		if *s.SignerName == "" {
			allErrs = append(allErrs, field.Required(projPath.Child("signerName"), "must be a valid signer name"))
		}
		allErrs = append(allErrs, unversionedvalidation.ValidateLabelSelector(s.LabelSelector, unversionedvalidation.LabelSelectorValidationOptions{}, projPath.Child("labelSelector"))...)
	default:
		allErrs = append(allErrs, field.Required(projPath, "either name or signerName must be specified"))
	}
	allErrs = append(allErrs, requiredList(projPath.Child("path"), s.Path == "")...)
	return append(allErrs, validateLocalNonReservedPath(s.Path, projPath.Child("path"))...)
}

var (
	supportedMountPropagations = sets.New(corev1.MountPropagationBidirectional, corev1.MountPropagationHostToContainer, corev1.MountPropagationNone)
	supportedRecursiveReadOnly = sets.New(corev1.RecursiveReadOnlyDisabled, corev1.RecursiveReadOnlyIfPossible, corev1.RecursiveReadOnlyEnabled)
)

// validateVolumeMounts resolves mounts against the pod's valid volumes. Some
// child paths hang off the list rather than the item: that is upstream's
// output and what users will search for.
func validateVolumeMounts(mounts []corev1.VolumeMount, volDevices map[string]string, volumes map[string]corev1.VolumeSource, ctr *corev1.Container, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	mountpoints := sets.New[string]()
	for i, mnt := range mounts {
		idxPath := fldPath.Index(i)
		if len(mnt.Name) == 0 {
			allErrs = append(allErrs, field.Required(idxPath.Child("name"), ""))
		}
		vol, matched := volumes[mnt.Name]
		if !matched {
			allErrs = append(allErrs, field.NotFound(idxPath.Child("name"), mnt.Name))
		}
		if len(mnt.MountPath) == 0 {
			allErrs = append(allErrs, field.Required(idxPath.Child("mountPath"), ""))
		}
		if mountpoints.Has(mnt.MountPath) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("mountPath"), mnt.MountPath, "must be unique"))
		}
		mountpoints.Insert(mnt.MountPath)

		// A volume is used either as a filesystem or as a block device.
		if _, ok := volDevices[mnt.Name]; ok {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), mnt.Name, "must not already exist in volumeDevices"))
		}
		if containsValue(volDevices, mnt.MountPath) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("mountPath"), mnt.MountPath, "must not already exist as a path in volumeDevices"))
		}
		// Image volumes are mounted read-only as a whole.
		if matched && vol.Image != nil {
			if len(mnt.SubPath) != 0 {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("subPath"), mnt.SubPath, "not allowed in image volume sources"))
			}
			if len(mnt.SubPathExpr) != 0 {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("subPathExpr"), mnt.SubPathExpr, "not allowed in image volume sources"))
			}
		}
		if len(mnt.SubPath) > 0 {
			allErrs = append(allErrs, validateLocalDescendingPath(mnt.SubPath, fldPath.Child("subPath"))...)
		}
		if len(mnt.SubPathExpr) > 0 {
			if len(mnt.SubPath) > 0 {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("subPathExpr"), mnt.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
			}
			allErrs = append(allErrs, validateLocalDescendingPath(mnt.SubPathExpr, fldPath.Child("subPathExpr"))...)
		}
		if mnt.MountPropagation != nil {
			allErrs = append(allErrs, validateMountPropagation(*mnt.MountPropagation, ctr, fldPath.Child("mountPropagation"))...)
		}
		allErrs = append(allErrs, validateMountRecursiveReadOnly(mnt, fldPath.Child("recursiveReadOnly"))...)
	}
	return allErrs
}

func containsValue(m map[string]string, v string) bool {
	for _, x := range m {
		if x == v {
			return true
		}
	}
	return false
}

// validateMountPropagation: Bidirectional lets the container create mounts
// on the host, so only privileged containers may ask for it.
func validateMountPropagation(mp corev1.MountPropagationMode, ctr *corev1.Container, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if !supportedMountPropagations.Has(mp) {
		allErrs = append(allErrs, field.NotSupported(fldPath, mp, sets.List(supportedMountPropagations)))
	}
	privileged := ctr.SecurityContext != nil && ctr.SecurityContext.Privileged != nil && *ctr.SecurityContext.Privileged
	if mp == corev1.MountPropagationBidirectional && !privileged {
		allErrs = append(allErrs, field.Forbidden(fldPath, "Bidirectional mount propagation is available only to privileged containers"))
	}
	return allErrs
}

// validateMountRecursiveReadOnly: recursive read-only only makes sense for a
// read-only mount that does not receive new submounts.
func validateMountRecursiveReadOnly(mnt corev1.VolumeMount, fldPath *field.Path) field.ErrorList {
	if mnt.RecursiveReadOnly == nil {
		return nil
	}
	var allErrs field.ErrorList
	switch *mnt.RecursiveReadOnly {
	case corev1.RecursiveReadOnlyDisabled:
	case corev1.RecursiveReadOnlyEnabled, corev1.RecursiveReadOnlyIfPossible:
		if !mnt.ReadOnly {
			allErrs = append(allErrs, field.Forbidden(fldPath, "may only be specified when readOnly is true"))
		}
		if mnt.MountPropagation != nil && *mnt.MountPropagation != corev1.MountPropagationNone {
			allErrs = append(allErrs, field.Forbidden(fldPath, "may only be specified when mountPropagation is None or not specified"))
		}
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath, *mnt.RecursiveReadOnly, sets.List(supportedRecursiveReadOnly)))
	}
	return allErrs
}

// validateVolumeDevices checks raw block devices, which only PVC-backed
// volumes can provide.
func validateVolumeDevices(devices []corev1.VolumeDevice, volMounts map[string]string, volumes map[string]corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	devicePaths, deviceNames := sets.New[string](), sets.New[string]()
	for i, dev := range devices {
		idxPath := fldPath.Index(i)
		source, matched := volumes[dev.Name]
		if len(dev.Name) == 0 {
			allErrs = append(allErrs, field.Required(idxPath.Child("name"), ""))
		}
		if deviceNames.Has(dev.Name) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), dev.Name, "must be unique"))
		}
		if matched && source.PersistentVolumeClaim == nil && source.Ephemeral == nil {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), dev.Name, "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode"))
		}
		if !matched {
			allErrs = append(allErrs, field.NotFound(idxPath.Child("name"), dev.Name))
		}
		if len(dev.DevicePath) == 0 {
			allErrs = append(allErrs, field.Required(idxPath.Child("devicePath"), ""))
		}
		if devicePaths.Has(dev.DevicePath) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("devicePath"), dev.DevicePath, "must be unique"))
		}
		if len(dev.DevicePath) > 0 && len(validatePathNoBacksteps(dev.DevicePath, idxPath)) > 0 {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("devicePath"), dev.DevicePath, "can not contain backsteps ('..')"))
		} else {
			devicePaths.Insert(dev.DevicePath)
		}
		if _, ok := volMounts[dev.Name]; ok {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), dev.Name, "must not already exist in volumeMounts"))
		}
		if containsValue(volMounts, dev.DevicePath) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("devicePath"), dev.DevicePath, "must not already exist as a path in volumeMounts"))
		}
		if len(dev.Name) > 0 {
			deviceNames.Insert(dev.Name)
		}
	}
	return allErrs
}

// validateEphemeralVolume checks a generic ephemeral volume. The claim
// template is checked for the parts a PVC needs; the PVC it produces is
// named "<pod>-<volume>" and that name must itself be valid.
func validateEphemeralVolume(e *corev1.EphemeralVolumeSource, fldPath *field.Path, volName string, podMeta *metav1.ObjectMeta) field.ErrorList {
	var allErrs field.ErrorList
	ePath := fldPath.Child("ephemeral")
	if e.VolumeClaimTemplate == nil {
		allErrs = append(allErrs, field.Required(ePath.Child("volumeClaimTemplate"), ""))
	} else {
		allErrs = append(allErrs, validatePersistentVolumeClaimTemplate(e.VolumeClaimTemplate, ePath.Child("volumeClaimTemplate"))...)
	}
	if podMeta != nil && podMeta.Name != "" && volName != "" {
		pvcName := podMeta.Name + "-" + volName
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(pvcName, false) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("name"), volName, fmt.Sprintf("PVC name %q: %v", pvcName, msg)))
		}
	}
	return allErrs
}

// validatePersistentVolumeClaimTemplate: only labels and annotations of the
// template metadata are used, so anything else is rejected to avoid
// confusion.
func validatePersistentVolumeClaimTemplate(t *corev1.PersistentVolumeClaimTemplate, fldPath *field.Path) field.ErrorList {
	metaPath := fldPath.Child("metadata")
	allErrs := apimachineryvalidation.ValidateAnnotations(t.Annotations, metaPath.Child("annotations"))
	allErrs = append(allErrs, unversionedvalidation.ValidateLabels(t.Labels, metaPath.Child("labels"))...)
	allErrs = append(allErrs, validateFieldAllowList(t.ObjectMeta, map[string]bool{"Labels": true, "Annotations": true}, "cannot be set", metaPath)...)
	return append(allErrs, validatePersistentVolumeClaimSpec(&t.Spec, fldPath.Child("spec"))...)
}

var supportedAccessModes = sets.New(corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod)

// validatePersistentVolumeClaimSpec covers the core PVC spec rules (access
// modes, storage request, class, volume mode, selector); data sources are
// left to the PVC validator when orca serves PVCs.
func validatePersistentVolumeClaimSpec(spec *corev1.PersistentVolumeClaimSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(spec.AccessModes) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("accessModes"), "at least 1 access mode is required"))
	}
	if spec.Selector != nil {
		allErrs = append(allErrs, unversionedvalidation.ValidateLabelSelector(spec.Selector, unversionedvalidation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	}
	rwop, other := false, false
	for _, mode := range spec.AccessModes {
		if !supportedAccessModes.Has(mode) {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("accessModes"), mode, sets.List(supportedAccessModes)))
		} else if mode == corev1.ReadWriteOncePod {
			rwop = true
		} else {
			other = true
		}
	}
	if rwop && other {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("accessModes"), "may not use ReadWriteOncePod with other access modes"))
	}
	storagePath := fldPath.Child("resources").Key(string(corev1.ResourceStorage))
	if storage, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		allErrs = append(allErrs, field.Required(storagePath, ""))
	} else if errs := validatePositiveQuantityValue(storage, storagePath); len(errs) > 0 {
		allErrs = append(allErrs, errs...)
	} else {
		allErrs = append(allErrs, validateResourceQuantityValue(corev1.ResourceStorage, storage, storagePath)...)
	}
	if spec.StorageClassName != nil && len(*spec.StorageClassName) > 0 {
		allErrs = append(allErrs, nameErrors(validateClassName, *spec.StorageClassName, false, fldPath.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil && *spec.VolumeMode != corev1.PersistentVolumeBlock && *spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("volumeMode"), *spec.VolumeMode, []corev1.PersistentVolumeMode{corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem}))
	}
	return allErrs
}
