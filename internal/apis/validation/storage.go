package validation

import (
	"path"
	"reflect"
	"strings"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	unversionedvalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// betaStorageClassAnnotation predates spec.storageClassName; claims created
// with it may later move the value into the field.
const betaStorageClassAnnotation = "volume.beta.kubernetes.io/storage-class"

var (
	validatePersistentVolumeName = apimachineryvalidation.NameIsDNSSubdomain

	supportedPVReclaimPolicies = sets.New(corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain)
	supportedVolumeModes       = sets.New(corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem)
	// A StorageClass provisions volumes, so Recycle (an in-place wipe of an
	// existing volume) is not among its policies.
	supportedClassReclaimPolicies = sets.New(string(corev1.PersistentVolumeReclaimDelete), string(corev1.PersistentVolumeReclaimRetain))
	supportedVolumeBindingModes   = sets.New(string(storagev1.VolumeBindingImmediate), string(storagev1.VolumeBindingWaitForFirstConsumer))
)

// ValidatePersistentVolume validates a PV as kube-apiserver does on create.
func ValidatePersistentVolume(pv *corev1.PersistentVolume) field.ErrorList {
	allErrs := validateObjectMeta(&pv.ObjectMeta, false, validatePersistentVolumeName, field.NewPath("metadata"))
	return append(allErrs, validatePersistentVolumeSpec(&pv.Spec, field.NewPath("spec"))...)
}

func validatePersistentVolumeSpec(spec *corev1.PersistentVolumeSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(spec.AccessModes) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("accessModes"), ""))
	}
	allErrs = append(allErrs, validateAccessModes(spec.AccessModes, fldPath.Child("accessModes"))...)

	capPath := fldPath.Child("capacity")
	if len(spec.Capacity) == 0 {
		allErrs = append(allErrs, field.Required(capPath, ""))
	}
	if _, ok := spec.Capacity[corev1.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
		allErrs = append(allErrs, field.NotSupported(capPath, spec.Capacity, []corev1.ResourceName{corev1.ResourceStorage}))
	}
	for _, name := range sets.List(sets.KeySet(spec.Capacity)) {
		q := spec.Capacity[name]
		allErrs = append(allErrs, validateBasicResource(q, capPath.Key(string(name)))...)
		allErrs = append(allErrs, validatePositiveQuantityValue(q, capPath.Key(string(name)))...)
	}

	if p := spec.PersistentVolumeReclaimPolicy; p != "" && !supportedPVReclaimPolicies.Has(p) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("persistentVolumeReclaimPolicy"), p, sets.List(supportedPVReclaimPolicies)))
	}
	hasNodeAffinity := false
	if spec.NodeAffinity != nil {
		hasNodeAffinity = true
		allErrs = append(allErrs, validateVolumeNodeAffinity(spec.NodeAffinity, fldPath.Child("nodeAffinity"))...)
	}
	allErrs = append(allErrs, validatePersistentVolumeSource(&spec.PersistentVolumeSource, hasNodeAffinity, fldPath)...)

	if spec.HostPath != nil && path.Clean(spec.HostPath.Path) == "/" && spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if spec.StorageClassName != "" {
		allErrs = append(allErrs, nameErrors(validateClassName, spec.StorageClassName, false, fldPath.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil && !supportedVolumeModes.Has(*spec.VolumeMode) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("volumeMode"), *spec.VolumeMode, sets.List(supportedVolumeModes)))
	}
	if vac := spec.VolumeAttributesClassName; vac != nil {
		if *vac == "" {
			allErrs = append(allErrs, field.Required(fldPath.Child("volumeAttributesClassName"), "an empty string is disallowed"))
		} else {
			allErrs = append(allErrs, nameErrors(validateClassName, *vac, false, fldPath.Child("volumeAttributesClassName"))...)
		}
		if spec.CSI == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("csi"), "has to be specified when using volumeAttributesClassName"))
		}
	}
	return allErrs
}

func validateAccessModes(modes []corev1.PersistentVolumeAccessMode, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	rwop, other := false, false
	for _, mode := range modes {
		switch {
		case !supportedAccessModes.Has(mode):
			allErrs = append(allErrs, field.NotSupported(fldPath, mode, sets.List(supportedAccessModes)))
		case mode == corev1.ReadWriteOncePod:
			rwop = true
		default:
			other = true
		}
	}
	if rwop && other {
		allErrs = append(allErrs, field.Forbidden(fldPath, "may not use ReadWriteOncePod with other access modes"))
	}
	return allErrs
}

// validateBasicResource rejects negative quantities.
func validateBasicResource(q resource.Quantity, fldPath *field.Path) field.ErrorList {
	if q.Value() < 0 {
		return field.ErrorList{field.Invalid(fldPath, q.Value(), "must be a valid resource quantity")}
	}
	return nil
}

func validateVolumeNodeAffinity(na *corev1.VolumeNodeAffinity, fldPath *field.Path) field.ErrorList {
	if na.Required == nil {
		return field.ErrorList{field.Required(fldPath.Child("required"), "must specify required node constraints")}
	}
	return validateNodeSelector(na.Required, false, fldPath.Child("required"))
}

// validatePersistentVolumeSource requires exactly one source, in upstream's
// order and spelling so the "more than 1" error names the same field. The
// sources orca can mount (hostPath, local) and the common network ones are
// checked in depth; for the rest only their presence counts.
func validatePersistentVolumeSource(s *corev1.PersistentVolumeSource, hasNodeAffinity bool, fldPath *field.Path) field.ErrorList {
	types := []volumeType{
		{"hostPath", s.HostPath != nil, func() field.ErrorList { return validateHostPathVolumeSource(s.HostPath, fldPath.Child("hostPath")) }},
		{"gcePersistentDisk", s.GCEPersistentDisk != nil, func() field.ErrorList {
			return validateGCEPersistentDisk(s.GCEPersistentDisk, fldPath.Child("persistentDisk"))
		}},
		{"awsElasticBlockStore", s.AWSElasticBlockStore != nil, func() field.ErrorList {
			return validateAWSElasticBlockStore(s.AWSElasticBlockStore, fldPath.Child("awsElasticBlockStore"))
		}},
		{"glusterfs", s.Glusterfs != nil, func() field.ErrorList {
			errs := requiredList(fldPath.Child("glusterfs").Child("endpoints"), s.Glusterfs.EndpointsName == "")
			return append(errs, requiredList(fldPath.Child("glusterfs").Child("path"), s.Glusterfs.Path == "")...)
		}},
		{"flocker", s.Flocker != nil, func() field.ErrorList { return validateFlocker(s.Flocker, fldPath.Child("flocker")) }},
		{"nfs", s.NFS != nil, func() field.ErrorList { return validateNFSVolumeSource(s.NFS, fldPath.Child("nfs")) }},
		{"rbd", s.RBD != nil, func() field.ErrorList {
			errs := requiredList(fldPath.Child("rbd").Child("monitors"), len(s.RBD.CephMonitors) == 0)
			return append(errs, requiredList(fldPath.Child("rbd").Child("image"), s.RBD.RBDImage == "")...)
		}},
		{"quobyte", s.Quobyte != nil, func() field.ErrorList { return validateQuobyte(s.Quobyte, fldPath.Child("quobyte")) }},
		{"cephFS", s.CephFS != nil, func() field.ErrorList {
			return requiredList(fldPath.Child("cephfs").Child("monitors"), len(s.CephFS.Monitors) == 0)
		}},
		{"iscsi", s.ISCSI != nil, func() field.ErrorList {
			errs := requiredList(fldPath.Child("iscsi").Child("targetPortal"), s.ISCSI.TargetPortal == "")
			return append(errs, requiredList(fldPath.Child("iscsi").Child("iqn"), s.ISCSI.IQN == "")...)
		}},
		{"cinder", s.Cinder != nil, func() field.ErrorList {
			return requiredList(fldPath.Child("cinder").Child("volumeID"), s.Cinder.VolumeID == "")
		}},
		{"fc", s.FC != nil, func() field.ErrorList { return validateFC(s.FC, fldPath.Child("fc")) }},
		{"flexVolume", s.FlexVolume != nil, func() field.ErrorList {
			return requiredList(fldPath.Child("flexVolume").Child("driver"), s.FlexVolume.Driver == "")
		}},
		{"azureFile", s.AzureFile != nil, func() field.ErrorList {
			errs := requiredList(fldPath.Child("azureFile").Child("secretName"), s.AzureFile.SecretName == "")
			return append(errs, requiredList(fldPath.Child("azureFile").Child("shareName"), s.AzureFile.ShareName == "")...)
		}},
		{"vsphereVolume", s.VsphereVolume != nil, func() field.ErrorList {
			return requiredList(fldPath.Child("vsphereVolume").Child("volumePath"), s.VsphereVolume.VolumePath == "")
		}},
		{"photonPersistentDisk", s.PhotonPersistentDisk != nil, func() field.ErrorList {
			return requiredList(fldPath.Child("photonPersistentDisk").Child("pdID"), s.PhotonPersistentDisk.PdID == "")
		}},
		{"portworxVolume", s.PortworxVolume != nil, func() field.ErrorList {
			return requiredList(fldPath.Child("portworxVolume").Child("volumeID"), s.PortworxVolume.VolumeID == "")
		}},
		{"azureDisk", s.AzureDisk != nil, func() field.ErrorList { return validateAzureDisk(s.AzureDisk, fldPath.Child("azureDisk")) }},
		{"scaleIO", s.ScaleIO != nil, func() field.ErrorList {
			p := fldPath.Child("scaleIO")
			errs := requiredList(p.Child("gateway"), s.ScaleIO.Gateway == "")
			errs = append(errs, requiredList(p.Child("system"), s.ScaleIO.System == "")...)
			return append(errs, requiredList(p.Child("volumeName"), s.ScaleIO.VolumeName == "")...)
		}},
		{"local", s.Local != nil, func() field.ErrorList {
			errs := validateLocalVolumeSource(s.Local, fldPath.Child("local"))
			if !hasNodeAffinity {
				errs = append(errs, field.Required(fldPath.Child("nodeAffinity"), "Local volume requires node affinity"))
			}
			return errs
		}},
		{"storageos", s.StorageOS != nil, func() field.ErrorList {
			return requiredList(fldPath.Child("storageos").Child("volumeName"), s.StorageOS.VolumeName == "")
		}},
		{"csi", s.CSI != nil, func() field.ErrorList {
			errs := validateCSIDriverName(s.CSI.Driver, fldPath.Child("csi").Child("driver"))
			return append(errs, requiredList(fldPath.Child("csi").Child("volumeHandle"), s.CSI.VolumeHandle == "")...)
		}},
	}
	var allErrs field.ErrorList
	n := 0
	for _, t := range types {
		if !t.set {
			continue
		}
		if n > 0 {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child(t.name), "may not specify more than 1 volume type"))
			continue
		}
		n++
		allErrs = append(allErrs, t.validate()...)
	}
	if n == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "must specify a volume type"))
	}
	return allErrs
}

func validateLocalVolumeSource(ls *corev1.LocalVolumeSource, fldPath *field.Path) field.ErrorList {
	if ls.Path == "" {
		return field.ErrorList{field.Required(fldPath.Child("path"), "")}
	}
	return validatePathNoBacksteps(ls.Path, fldPath.Child("path"))
}

// ValidatePersistentVolumeUpdate: the source, volume mode and node affinity
// of a PV are fixed once it exists (a node affinity may be added, though).
func ValidatePersistentVolumeUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&pv.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, ValidatePersistentVolume(pv)...)
	newSource, oldSource := pv.Spec.PersistentVolumeSource, old.Spec.PersistentVolumeSource
	// A CSI volume may gain the secret used for expansion later.
	if oldSource.CSI != nil && oldSource.CSI.ControllerExpandSecretRef == nil && newSource.CSI != nil && newSource.CSI.ControllerExpandSecretRef != nil {
		csi := *newSource.CSI
		csi.ControllerExpandSecretRef = nil
		newSource.CSI = &csi
	}
	if !apiequality.Semantic.DeepEqual(newSource, oldSource) {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"),
			"spec.persistentvolumesource is immutable after creation\n"+cmp.Diff(oldSource, newSource)))
	}
	// Upstream reports these two without the spec prefix.
	allErrs = append(allErrs, validateImmutableField(pv.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if old.Spec.NodeAffinity != nil {
		allErrs = append(allErrs, validateImmutableField(pv.Spec.NodeAffinity, old.Spec.NodeAffinity, field.NewPath("nodeAffinity"))...)
	}
	if old.Spec.VolumeAttributesClassName != nil && pv.Spec.VolumeAttributesClassName == nil {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "volumeAttributesClassName"), "update from non-nil value to nil is forbidden"))
	}
	return allErrs
}

// ValidatePersistentVolumeStatusUpdate checks a persistentvolumes/status write.
func ValidatePersistentVolumeStatusUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&pv.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	if pv.ResourceVersion == "" {
		allErrs = append(allErrs, field.Required(field.NewPath("resourceVersion"), ""))
	}
	return allErrs
}

// ValidatePersistentVolumeClaim validates a claim on create.
func ValidatePersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
	allErrs := validateObjectMeta(&pvc.ObjectMeta, true, validatePersistentVolumeName, field.NewPath("metadata"))
	specPath := field.NewPath("spec")
	allErrs = append(allErrs, validatePersistentVolumeClaimSpec(&pvc.Spec, specPath)...)
	allErrs = append(allErrs, validateClaimDataSources(&pvc.Spec, specPath)...)
	if vac := pvc.Spec.VolumeAttributesClassName; vac != nil && *vac != "" {
		allErrs = append(allErrs, nameErrors(validateClassName, *vac, false, specPath.Child("volumeAttributesClassName"))...)
	}
	return allErrs
}

// validateClaimDataSources checks dataSource and dataSourceRef, which the
// shared claim-spec validator (also used for ephemeral templates) leaves out.
func validateClaimDataSources(spec *corev1.PersistentVolumeClaimSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	ref := func(name, kind string, group *string, p *field.Path) {
		allErrs = append(allErrs, requiredList(p.Child("name"), name == "")...)
		allErrs = append(allErrs, requiredList(p.Child("kind"), kind == "")...)
		g := ""
		if group != nil {
			g = *group
		}
		if g == "" && kind != "PersistentVolumeClaim" {
			allErrs = append(allErrs, field.Invalid(p, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
		}
		if g != "" {
			allErrs = append(allErrs, validateDNS1123Subdomain(g, p.Child("apiGroup"))...)
		}
	}
	if ds := spec.DataSource; ds != nil {
		ref(ds.Name, ds.Kind, ds.APIGroup, fldPath.Child("dataSource"))
	}
	if dr := spec.DataSourceRef; dr != nil {
		ref(dr.Name, dr.Kind, dr.APIGroup, fldPath.Child("dataSourceRef"))
		if dr.Namespace != nil && *dr.Namespace != "" {
			allErrs = append(allErrs, nameErrors(validateNamespaceName, *dr.Namespace, false, fldPath.Child("dataSourceRef").Child("namespace"))...)
		}
	}
	ds, dr := spec.DataSource, spec.DataSourceRef
	switch {
	case dr != nil && dr.Namespace != nil && *dr.Namespace != "":
		if ds != nil {
			allErrs = append(allErrs, field.Invalid(fldPath, fldPath.Child("dataSource"), "may not be specified when dataSourceRef.namespace is specified"))
		}
	case ds != nil && dr != nil:
		if !reflect.DeepEqual(ds.APIGroup, dr.APIGroup) || ds.Kind != dr.Kind || ds.Name != dr.Name {
			allErrs = append(allErrs, field.Invalid(fldPath, fldPath.Child("dataSource"), "must match dataSourceRef"))
		}
	}
	return allErrs
}

// ValidatePersistentVolumeClaimUpdate keeps a claim's spec as created, but
// for what the binder fills in (volumeName, once), a storage class set where
// there was none, and, for bound claims, a larger storage request.
func ValidatePersistentVolumeClaimUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&pvc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, ValidatePersistentVolumeClaim(pvc)...)
	newSpec, oldSpec := pvc.Spec.DeepCopy(), old.Spec.DeepCopy()
	if old.Spec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName
	}
	oldAnn, hadAnn := old.Annotations[betaStorageClassAnnotation]
	newAnn, hasAnn := pvc.Annotations[betaStorageClassAnnotation]
	switch {
	case hadAnn && old.Spec.StorageClassName == nil && newSpec.StorageClassName != nil && *newSpec.StorageClassName == oldAnn && (!hasAnn || newAnn == oldAnn):
		// Moving the class from the beta annotation into the field.
		newSpec.StorageClassName = nil
	default:
		if newAnn != oldAnn || hasAnn != hadAnn {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("metadata").Child("annotations").Key(betaStorageClassAnnotation), "field is immutable"))
		}
		// A claim without a class may get one later (retroactive default class).
		if old.Spec.StorageClassName == nil && newSpec.StorageClassName != nil && (!hadAnn || *newSpec.StorageClassName == oldAnn) {
			newSpec.StorageClassName = nil
		}
	}
	if pvc.Status.Phase == corev1.ClaimBound {
		if newSpec.Resources.Requests != nil {
			newSpec.Resources.Requests[corev1.ResourceStorage] = old.Spec.Resources.Requests[corev1.ResourceStorage]
		}
		if newSpec.VolumeAttributesClassName != nil {
			newSpec.VolumeAttributesClassName = oldSpec.VolumeAttributesClassName
		}
	}
	if !apiequality.Semantic.DeepEqual(newSpec, oldSpec) {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec"),
			"spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n"+cmp.Diff(oldSpec, newSpec)))
	}
	newSize, oldSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage], old.Spec.Resources.Requests[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 {
		// Recovery from a failed expansion may go back down to the capacity
		// the claim actually has, not below it.
		capacity := old.Status.Capacity[corev1.ResourceStorage]
		if newSize.Cmp(capacity) <= 0 {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than status.capacity"))
		}
	}
	allErrs = append(allErrs, validateImmutableField(pvc.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if old.Spec.VolumeAttributesClassName != nil {
		switch {
		case pvc.Spec.VolumeAttributesClassName == nil:
			allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "volumeAttributesClassName"), "update from non-nil value to nil is forbidden"))
		case *pvc.Spec.VolumeAttributesClassName == "":
			allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "volumeAttributesClassName"), "update from non-nil value to an empty string is forbidden"))
		}
	}
	return allErrs
}

// ValidatePersistentVolumeClaimStatusUpdate checks a
// persistentvolumeclaims/status write.
func ValidatePersistentVolumeClaimStatusUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&pvc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	if pvc.ResourceVersion == "" {
		allErrs = append(allErrs, field.Required(field.NewPath("resourceVersion"), ""))
	}
	if len(pvc.Spec.AccessModes) == 0 {
		// Upstream's capitalised path, kept for fidelity.
		allErrs = append(allErrs, field.Required(field.NewPath("Spec", "accessModes"), ""))
	}
	capPath := field.NewPath("status", "capacity")
	for _, name := range sets.List(sets.KeySet(pvc.Status.Capacity)) {
		allErrs = append(allErrs, validateBasicResource(pvc.Status.Capacity[name], capPath.Key(string(name)))...)
	}
	allocPath := field.NewPath("status", "allocatedResources")
	for _, name := range sets.List(sets.KeySet(pvc.Status.AllocatedResources)) {
		allErrs = append(allErrs, validateBasicResource(pvc.Status.AllocatedResources[name], allocPath.Key(string(name)))...)
	}
	return allErrs
}

// ValidateStorageClass validates a storage.k8s.io/v1 StorageClass.
func ValidateStorageClass(sc *storagev1.StorageClass) field.ErrorList {
	allErrs := validateObjectMeta(&sc.ObjectMeta, false, validateClassName, field.NewPath("metadata"))
	provPath := field.NewPath("provisioner")
	if sc.Provisioner == "" {
		allErrs = append(allErrs, field.Required(provPath, ""))
	} else {
		allErrs = append(allErrs, validateQualifiedName(strings.ToLower(sc.Provisioner), provPath)...)
	}
	allErrs = append(allErrs, validateClassParameters(sc.Parameters, field.NewPath("parameters"))...)
	if p := sc.ReclaimPolicy; p != nil && *p != "" && !supportedClassReclaimPolicies.Has(string(*p)) {
		allErrs = append(allErrs, field.NotSupported(field.NewPath("reclaimPolicy"), p, sets.List(supportedClassReclaimPolicies)))
	}
	modePath := field.NewPath("volumeBindingMode")
	if sc.VolumeBindingMode == nil {
		allErrs = append(allErrs, field.Required(modePath, ""))
	} else if !supportedVolumeBindingModes.Has(string(*sc.VolumeBindingMode)) {
		allErrs = append(allErrs, field.NotSupported(modePath, sc.VolumeBindingMode, sets.List(supportedVolumeBindingModes)))
	}
	allErrs = append(allErrs, validateAllowedTopologies(sc.AllowedTopologies, field.NewPath("allowedTopologies"))...)
	return allErrs
}

const (
	maxClassParameters    = 512
	maxClassParameterSize = 256 * (1 << 10)
)

func validateClassParameters(params map[string]string, fldPath *field.Path) field.ErrorList {
	if len(params) > maxClassParameters {
		return field.ErrorList{field.TooLong(fldPath, "", maxClassParameters)}
	}
	var allErrs field.ErrorList
	size := 0
	for _, k := range sets.List(sets.KeySet(params)) {
		if k == "" {
			allErrs = append(allErrs, field.Invalid(fldPath, k, "field can not be empty."))
		}
		size += len(k) + len(params[k])
	}
	if size > maxClassParameterSize {
		allErrs = append(allErrs, field.TooLong(fldPath, "", maxClassParameterSize))
	}
	return allErrs
}

// validateAllowedTopologies checks each term's label expressions and
// refuses a term given twice.
func validateAllowedTopologies(terms []corev1.TopologySelectorTerm, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	var seen []map[string]sets.Set[string]
	for i, term := range terms {
		termPath := fldPath.Index(i)
		exprs := map[string]sets.Set[string]{}
		for j, e := range term.MatchLabelExpressions {
			ePath := termPath.Child("matchLabelExpressions").Index(j)
			allErrs = append(allErrs, unversionedvalidation.ValidateLabelName(e.Key, ePath.Child("key"))...)
			if len(e.Values) == 0 {
				allErrs = append(allErrs, field.Required(ePath.Child("values"), ""))
			}
			for k, v := range e.Values {
				for _, msg := range validation.IsValidLabelValue(v) {
					allErrs = append(allErrs, field.Invalid(ePath.Child("values").Index(k), v, msg))
				}
			}
			if _, dup := exprs[e.Key]; dup {
				allErrs = append(allErrs, field.Duplicate(ePath.Child("key"), e.Key))
			}
			exprs[e.Key] = sets.New(e.Values...)
		}
		for _, prev := range seen {
			if reflect.DeepEqual(prev, exprs) {
				allErrs = append(allErrs, field.Duplicate(termPath.Child("matchLabelExpressions"), ""))
			}
		}
		seen = append(seen, exprs)
	}
	return allErrs
}

// ValidateStorageClassUpdate: what a class provisions with is fixed.
func ValidateStorageClassUpdate(sc, old *storagev1.StorageClass) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&sc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, ValidateStorageClass(sc)...)
	if !reflect.DeepEqual(sc.Parameters, old.Parameters) {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	if sc.Provisioner != old.Provisioner {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
	}
	if deref(sc.ReclaimPolicy) != deref(old.ReclaimPolicy) {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
	}
	return append(allErrs, validateImmutableField(sc.VolumeBindingMode, old.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
