package validation

// Checks for the in-tree (mostly deprecated, CSI-migrated) volume plugins.
// They are still accepted by the v1 API, so pods using them must get the
// same answers as from kube-apiserver.

import (
	"net"
	"path"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	iscsiInitiatorIqnRegex = regexp.MustCompile(`iqn\.\d{4}-\d{2}\.([[:alnum:]-.]+)(:[^,;*&$|\s]+)$`)
	iscsiInitiatorEuiRegex = regexp.MustCompile(`^eui.[[:alnum:]]{16}$`)
	iscsiInitiatorNaaRegex = regexp.MustCompile(`^naa.[[:alnum:]]{32}$`)
	pdPartitionErrorMsg    = validation.InclusiveRangeError(1, 255)
)

func validateGCEPersistentDisk(pd *corev1.GCEPersistentDiskVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("pdName"), len(pd.PDName) == 0)
	if pd.Partition < 0 || pd.Partition > 255 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("partition"), pd.Partition, pdPartitionErrorMsg))
	}
	return allErrs
}

func validateAWSElasticBlockStore(pd *corev1.AWSElasticBlockStoreVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("volumeID"), len(pd.VolumeID) == 0)
	if pd.Partition < 0 || pd.Partition > 255 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("partition"), pd.Partition, pdPartitionErrorMsg))
	}
	return allErrs
}

func validateNFSVolumeSource(nfs *corev1.NFSVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("server"), len(nfs.Server) == 0)
	allErrs = append(allErrs, requiredList(fldPath.Child("path"), len(nfs.Path) == 0)...)
	if !path.IsAbs(nfs.Path) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("path"), nfs.Path, "must be an absolute path"))
	}
	return allErrs
}

// checkISCSIName validates an IQN/EUI/NAA-style name.
func checkISCSIName(name string, fldPath *field.Path, prefixMsg string) field.ErrorList {
	if !strings.HasPrefix(name, "iqn") && !strings.HasPrefix(name, "eui") && !strings.HasPrefix(name, "naa") {
		return field.ErrorList{field.Invalid(fldPath, name, prefixMsg)}
	}
	switch {
	case strings.HasPrefix(name, "iqn") && !iscsiInitiatorIqnRegex.MatchString(name),
		strings.HasPrefix(name, "eui") && !iscsiInitiatorEuiRegex.MatchString(name),
		strings.HasPrefix(name, "naa") && !iscsiInitiatorNaaRegex.MatchString(name):
		return field.ErrorList{field.Invalid(fldPath, name, "must be valid format")}
	}
	return nil
}

func validateISCSIVolumeSource(iscsi *corev1.ISCSIVolumeSource, fldPath *field.Path) field.ErrorList {
	const prefixMsg = "must be valid format starting with iqn, eui, or naa"
	allErrs := requiredList(fldPath.Child("targetPortal"), len(iscsi.TargetPortal) == 0)
	if len(iscsi.IQN) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("iqn"), ""))
	} else {
		allErrs = append(allErrs, checkISCSIName(iscsi.IQN, fldPath.Child("iqn"), prefixMsg)...)
	}
	if iscsi.Lun < 0 || iscsi.Lun > 255 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("lun"), iscsi.Lun, validation.InclusiveRangeError(0, 255)))
	}
	if (iscsi.DiscoveryCHAPAuth || iscsi.SessionCHAPAuth) && iscsi.SecretRef == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("secretRef"), ""))
	}
	if iscsi.InitiatorName != nil {
		allErrs = append(allErrs, checkISCSIName(*iscsi.InitiatorName, fldPath.Child("initiatorname"), prefixMsg)...)
	}
	return allErrs
}

func validateGlusterfs(g *corev1.GlusterfsVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("endpoints"), len(g.EndpointsName) == 0)
	return append(allErrs, requiredList(fldPath.Child("path"), len(g.Path) == 0)...)
}

func validateFlocker(f *corev1.FlockerVolumeSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(f.DatasetName) == 0 && len(f.DatasetUUID) == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "one of datasetName and datasetUUID is required"))
	}
	if len(f.DatasetName) != 0 && len(f.DatasetUUID) != 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, "resource", "datasetName and datasetUUID can not be specified simultaneously"))
	}
	if strings.Contains(f.DatasetName, "/") {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("datasetName"), f.DatasetName, "must not contain '/'"))
	}
	return allErrs
}

func validateRBD(rbd *corev1.RBDVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("monitors"), len(rbd.CephMonitors) == 0)
	return append(allErrs, requiredList(fldPath.Child("image"), len(rbd.RBDImage) == 0)...)
}

func validateCinder(cd *corev1.CinderVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("volumeID"), len(cd.VolumeID) == 0)
	if cd.SecretRef != nil {
		allErrs = append(allErrs, requiredList(fldPath.Child("secretRef", "name"), len(cd.SecretRef.Name) == 0)...)
	}
	return allErrs
}

func validateQuobyte(q *corev1.QuobyteVolumeSource, fldPath *field.Path) field.ErrorList {
	const registryMsg = "must be a host:port pair or multiple pairs separated by commas"
	var allErrs field.ErrorList
	switch {
	case len(q.Registry) == 0:
		allErrs = append(allErrs, field.Required(fldPath.Child("registry"), registryMsg))
	case len(q.Tenant) >= 65:
		allErrs = append(allErrs, field.Required(fldPath.Child("tenant"), "must be a UUID and may not exceed a length of 64 characters"))
	default:
		for _, hostPort := range strings.Split(q.Registry, ",") {
			if _, _, err := net.SplitHostPort(hostPort); err != nil {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("registry"), q.Registry, registryMsg))
			}
		}
	}
	return append(allErrs, requiredList(fldPath.Child("volume"), len(q.Volume) == 0)...)
}

func validateFC(fc *corev1.FCVolumeSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(fc.TargetWWNs) < 1 && len(fc.WWIDs) < 1 {
		allErrs = append(allErrs, field.Required(fldPath.Child("targetWWNs"), "must specify either targetWWNs or wwids, but not both"))
	}
	if len(fc.TargetWWNs) != 0 && len(fc.WWIDs) != 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("targetWWNs"), fc.TargetWWNs, "targetWWNs and wwids can not be specified simultaneously"))
	}
	if len(fc.TargetWWNs) != 0 {
		if fc.Lun == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("lun"), "lun is required if targetWWNs is specified"))
		} else if *fc.Lun < 0 || *fc.Lun > 255 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("lun"), fc.Lun, validation.InclusiveRangeError(0, 255)))
		}
	}
	return allErrs
}

// validateFlexVolume: option keys in the kubernetes.io / k8s.io namespaces
// are reserved for values the kubelet injects.
func validateFlexVolume(fv *corev1.FlexVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("driver"), len(fv.Driver) == 0)
	for _, k := range sets.List(sets.KeySet(fv.Options)) {
		namespace := k
		if before, _, found := strings.Cut(k, "/"); found {
			namespace = before
		}
		normalized := "." + strings.ToLower(namespace)
		if strings.HasSuffix(normalized, ".kubernetes.io") || strings.HasSuffix(normalized, ".k8s.io") {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("options").Key(k), k, "kubernetes.io and k8s.io namespaces are reserved"))
		}
	}
	return allErrs
}

func validateAzureFile(a *corev1.AzureFileVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("secretName"), a.SecretName == "")
	return append(allErrs, requiredList(fldPath.Child("shareName"), a.ShareName == "")...)
}

var (
	supportedCachingModes = sets.New(corev1.AzureDataDiskCachingNone, corev1.AzureDataDiskCachingReadOnly, corev1.AzureDataDiskCachingReadWrite)
	supportedDiskKinds    = sets.New(corev1.AzureSharedBlobDisk, corev1.AzureDedicatedBlobDisk, corev1.AzureManagedDisk)
)

func validateAzureDisk(a *corev1.AzureDiskVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("diskName"), a.DiskName == "")
	allErrs = append(allErrs, requiredList(fldPath.Child("diskURI"), a.DataDiskURI == "")...)
	if a.CachingMode != nil && !supportedCachingModes.Has(*a.CachingMode) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("cachingMode"), *a.CachingMode, sets.List(supportedCachingModes)))
	}
	if a.Kind != nil && !supportedDiskKinds.Has(*a.Kind) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("kind"), *a.Kind, sets.List(supportedDiskKinds)))
	}
	// Managed disks are ARM resource IDs; the blob kinds are https URLs.
	if a.Kind != nil && *a.Kind == corev1.AzureManagedDisk && !strings.HasPrefix(a.DataDiskURI, "/subscriptions/") {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("diskURI"), a.DataDiskURI, []string{"/subscriptions/{sub-id}/resourcegroups/{group-name}/providers/microsoft.compute/disks/{disk-id}"}))
	}
	if a.Kind != nil && *a.Kind != corev1.AzureManagedDisk && !strings.HasPrefix(a.DataDiskURI, "https://") {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("diskURI"), a.DataDiskURI, []string{"https://{account-name}.blob.core.windows.net/{container-name}/{disk-name}.vhd"}))
	}
	return allErrs
}

func validateStorageOS(s *corev1.StorageOSVolumeSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(s.VolumeName) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("volumeName"), ""))
	} else {
		allErrs = append(allErrs, validateDNS1123Label(s.VolumeName, fldPath.Child("volumeName"))...)
	}
	if len(s.VolumeNamespace) > 0 {
		allErrs = append(allErrs, validateDNS1123Label(s.VolumeNamespace, fldPath.Child("volumeNamespace"))...)
	}
	if s.SecretRef != nil {
		allErrs = append(allErrs, requiredList(fldPath.Child("secretRef", "name"), len(s.SecretRef.Name) == 0)...)
	}
	return allErrs
}

func validateScaleIO(s *corev1.ScaleIOVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("gateway"), s.Gateway == "")
	allErrs = append(allErrs, requiredList(fldPath.Child("system"), s.System == "")...)
	return append(allErrs, requiredList(fldPath.Child("volumeName"), s.VolumeName == "")...)
}

// validateCSIDriverName: driver names are DNS subdomains of at most 63
// characters (case-insensitive).
func validateCSIDriverName(driverName string, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath, len(driverName) == 0)
	if len(driverName) > 63 {
		allErrs = append(allErrs, field.TooLong(fldPath, "", 63))
	}
	for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(driverName)) {
		allErrs = append(allErrs, field.Invalid(fldPath, driverName, msg))
	}
	return allErrs
}

func validateCSIVolumeSource(csi *corev1.CSIVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := validateCSIDriverName(csi.Driver, fldPath.Child("driver"))
	if ref := csi.NodePublishSecretRef; ref != nil {
		if len(ref.Name) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Child("nodePublishSecretRef", "name"), ""))
		} else {
			// Upstream reports this on csi.name; kept for fidelity.
			allErrs = append(allErrs, nameErrors(validateSecretName, ref.Name, false, fldPath.Child("name"))...)
		}
	}
	return allErrs
}
