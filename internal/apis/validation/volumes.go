package validation

import (
	"path"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateVolumes checks pod volumes and returns the valid ones by name, so
// mounts can be resolved against them without cascading errors.
func validateVolumes(volumes []corev1.Volume, podMeta *metav1.ObjectMeta, fldPath *field.Path) (map[string]corev1.VolumeSource, field.ErrorList) {
	var allErrs field.ErrorList
	allNames := sets.New[string]()
	// PVCs this pod will create for its generic ephemeral volumes; without
	// the pod name they cannot be derived, and the name error is elsewhere.
	createdPVCs := sets.New[string]()
	if podMeta != nil && podMeta.Name != "" {
		for _, vol := range volumes {
			if vol.Ephemeral != nil {
				createdPVCs.Insert(podMeta.Name + "-" + vol.Name)
			}
		}
	}
	vols := make(map[string]corev1.VolumeSource)
	for i := range volumes {
		vol := &volumes[i]
		idxPath := fldPath.Index(i)
		namePath := idxPath.Child("name")
		el := validateVolumeSource(&vol.VolumeSource, idxPath, vol.Name, podMeta)
		if len(vol.Name) == 0 {
			el = append(el, field.Required(namePath, ""))
		} else {
			el = append(el, validateDNS1123Label(vol.Name, namePath)...)
		}
		if allNames.Has(vol.Name) {
			el = append(el, field.Duplicate(namePath, vol.Name))
		}
		if len(el) == 0 {
			allNames.Insert(vol.Name)
			vols[vol.Name] = vol.VolumeSource
		} else {
			allErrs = append(allErrs, el...)
		}
		// Referencing the PVC of one's own ephemeral volume makes no sense.
		if vol.PersistentVolumeClaim != nil && createdPVCs.Has(vol.PersistentVolumeClaim.ClaimName) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("persistentVolumeClaim").Child("claimName"), vol.PersistentVolumeClaim.ClaimName,
				"must not reference a PVC that gets created for an ephemeral volume"))
		}
	}
	return vols, allErrs
}

// volumeType is one member of the VolumeSource union.
type volumeType struct {
	name     string // path used for the "more than 1" error
	set      bool
	validate func() field.ErrorList
}

// validateVolumeSource requires exactly one source. The order and the path
// spellings (including upstream's "downwarAPI" typo and the gce/cephfs
// child names) follow upstream so error messages match kube-apiserver.
func validateVolumeSource(s *corev1.VolumeSource, fldPath *field.Path, volName string, podMeta *metav1.ObjectMeta) field.ErrorList {
	types := []volumeType{
		{"emptyDir", s.EmptyDir != nil, func() field.ErrorList {
			if s.EmptyDir.SizeLimit != nil && s.EmptyDir.SizeLimit.Cmp(resource.Quantity{}) < 0 {
				return field.ErrorList{field.Forbidden(fldPath.Child("emptyDir").Child("sizeLimit"), "SizeLimit field must be a valid resource quantity")}
			}
			return nil
		}},
		{"hostPath", s.HostPath != nil, func() field.ErrorList { return validateHostPathVolumeSource(s.HostPath, fldPath.Child("hostPath")) }},
		{"gitRepo", s.GitRepo != nil, func() field.ErrorList { return validateGitRepoVolumeSource(s.GitRepo, fldPath.Child("gitRepo")) }},
		{"gcePersistentDisk", s.GCEPersistentDisk != nil, func() field.ErrorList {
			return validateGCEPersistentDisk(s.GCEPersistentDisk, fldPath.Child("persistentDisk"))
		}},
		{"awsElasticBlockStore", s.AWSElasticBlockStore != nil, func() field.ErrorList {
			return validateAWSElasticBlockStore(s.AWSElasticBlockStore, fldPath.Child("awsElasticBlockStore"))
		}},
		{"secret", s.Secret != nil, func() field.ErrorList { return validateSecretVolumeSource(s.Secret, fldPath.Child("secret")) }},
		{"nfs", s.NFS != nil, func() field.ErrorList { return validateNFSVolumeSource(s.NFS, fldPath.Child("nfs")) }},
		{"iscsi", s.ISCSI != nil, func() field.ErrorList { return validateISCSIVolumeSource(s.ISCSI, fldPath.Child("iscsi")) }},
		{"glusterfs", s.Glusterfs != nil, func() field.ErrorList { return validateGlusterfs(s.Glusterfs, fldPath.Child("glusterfs")) }},
		{"flocker", s.Flocker != nil, func() field.ErrorList { return validateFlocker(s.Flocker, fldPath.Child("flocker")) }},
		{"persistentVolumeClaim", s.PersistentVolumeClaim != nil, func() field.ErrorList {
			if len(s.PersistentVolumeClaim.ClaimName) == 0 {
				return field.ErrorList{field.Required(fldPath.Child("persistentVolumeClaim").Child("claimName"), "")}
			}
			return nil
		}},
		{"rbd", s.RBD != nil, func() field.ErrorList { return validateRBD(s.RBD, fldPath.Child("rbd")) }},
		{"cinder", s.Cinder != nil, func() field.ErrorList { return validateCinder(s.Cinder, fldPath.Child("cinder")) }},
		{"cephFS", s.CephFS != nil, func() field.ErrorList {
			return requiredList(fldPath.Child("cephfs").Child("monitors"), len(s.CephFS.Monitors) == 0)
		}},
		{"quobyte", s.Quobyte != nil, func() field.ErrorList { return validateQuobyte(s.Quobyte, fldPath.Child("quobyte")) }},
		{"downwarAPI", s.DownwardAPI != nil, func() field.ErrorList {
			return validateDownwardAPIVolumeSource(s.DownwardAPI, fldPath.Child("downwardAPI"))
		}},
		{"fc", s.FC != nil, func() field.ErrorList { return validateFC(s.FC, fldPath.Child("fc")) }},
		{"flexVolume", s.FlexVolume != nil, func() field.ErrorList { return validateFlexVolume(s.FlexVolume, fldPath.Child("flexVolume")) }},
		{"configMap", s.ConfigMap != nil, func() field.ErrorList { return validateConfigMapVolumeSource(s.ConfigMap, fldPath.Child("configMap")) }},
		{"azureFile", s.AzureFile != nil, func() field.ErrorList { return validateAzureFile(s.AzureFile, fldPath.Child("azureFile")) }},
		{"vsphereVolume", s.VsphereVolume != nil, func() field.ErrorList {
			return requiredList(fldPath.Child("vsphereVolume").Child("volumePath"), len(s.VsphereVolume.VolumePath) == 0)
		}},
		{"photonPersistentDisk", s.PhotonPersistentDisk != nil, func() field.ErrorList {
			return requiredList(fldPath.Child("photonPersistentDisk").Child("pdID"), len(s.PhotonPersistentDisk.PdID) == 0)
		}},
		{"portworxVolume", s.PortworxVolume != nil, func() field.ErrorList {
			return requiredList(fldPath.Child("portworxVolume").Child("volumeID"), len(s.PortworxVolume.VolumeID) == 0)
		}},
		{"azureDisk", s.AzureDisk != nil, func() field.ErrorList { return validateAzureDisk(s.AzureDisk, fldPath.Child("azureDisk")) }},
		{"storageos", s.StorageOS != nil, func() field.ErrorList { return validateStorageOS(s.StorageOS, fldPath.Child("storageos")) }},
		{"projected", s.Projected != nil, func() field.ErrorList { return validateProjectedVolumeSource(s.Projected, fldPath.Child("projected")) }},
		{"scaleIO", s.ScaleIO != nil, func() field.ErrorList { return validateScaleIO(s.ScaleIO, fldPath.Child("scaleIO")) }},
		{"csi", s.CSI != nil, func() field.ErrorList { return validateCSIVolumeSource(s.CSI, fldPath.Child("csi")) }},
		{"ephemeral", s.Ephemeral != nil, func() field.ErrorList { return validateEphemeralVolume(s.Ephemeral, fldPath, volName, podMeta) }},
		{"image", s.Image != nil, func() field.ErrorList { return validateImageVolumeSource(s.Image, fldPath.Child("image")) }},
	}

	var allErrs field.ErrorList
	numVolumes := 0
	for _, t := range types {
		if !t.set {
			continue
		}
		if numVolumes > 0 {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child(t.name), "may not specify more than 1 volume type"))
			continue
		}
		numVolumes++
		allErrs = append(allErrs, t.validate()...)
	}
	// The iSCSI initiator name is derived from volume name and portal.
	if s.ISCSI != nil && s.ISCSI.InitiatorName != nil && len(volName+":"+s.ISCSI.TargetPortal) > 64 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("name"), volName, "Total length of <volume name>:<iscsi.targetPortal> must be under 64 characters if iscsi.initiatorName is specified."))
	}
	if numVolumes == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "must specify a volume type"))
	}
	return allErrs
}

// requiredList returns a bare Required error when missing is true.
func requiredList(fldPath *field.Path, missing bool) field.ErrorList {
	if missing {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return nil
}

var supportedHostPathTypes = sets.New(
	corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory, corev1.HostPathFileOrCreate,
	corev1.HostPathFile, corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev)

func validateHostPathVolumeSource(hostPath *corev1.HostPathVolumeSource, fldPath *field.Path) field.ErrorList {
	if len(hostPath.Path) == 0 {
		return field.ErrorList{field.Required(fldPath.Child("path"), "")}
	}
	allErrs := validatePathNoBacksteps(hostPath.Path, fldPath.Child("path"))
	if hostPath.Type != nil && !supportedHostPathTypes.Has(*hostPath.Type) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("type"), hostPath.Type, sets.List(supportedHostPathTypes)))
	}
	return allErrs
}

func validateGitRepoVolumeSource(gitRepo *corev1.GitRepoVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("repository"), len(gitRepo.Repository) == 0)
	return append(allErrs, validateLocalDescendingPath(gitRepo.Directory, fldPath.Child("directory"))...)
}

func validateSecretVolumeSource(s *corev1.SecretVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("secretName"), len(s.SecretName) == 0)
	allErrs = append(allErrs, validateFileMode(s.DefaultMode, fldPath.Child("defaultMode"))...)
	for i := range s.Items {
		allErrs = append(allErrs, validateKeyToPath(&s.Items[i], fldPath.Child("items").Index(i))...)
	}
	return allErrs
}

func validateConfigMapVolumeSource(s *corev1.ConfigMapVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("name"), len(s.Name) == 0)
	allErrs = append(allErrs, validateFileMode(s.DefaultMode, fldPath.Child("defaultMode"))...)
	for i := range s.Items {
		allErrs = append(allErrs, validateKeyToPath(&s.Items[i], fldPath.Child("items").Index(i))...)
	}
	return allErrs
}

func validateKeyToPath(kp *corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("key"), len(kp.Key) == 0)
	allErrs = append(allErrs, requiredList(fldPath.Child("path"), len(kp.Path) == 0)...)
	allErrs = append(allErrs, validateLocalNonReservedPath(kp.Path, fldPath.Child("path"))...)
	return append(allErrs, validateFileMode(kp.Mode, fldPath.Child("mode"))...)
}

func validateDownwardAPIVolumeFile(file *corev1.DownwardAPIVolumeFile, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("path"), len(file.Path) == 0)
	allErrs = append(allErrs, validateLocalNonReservedPath(file.Path, fldPath.Child("path"))...)
	switch {
	case file.FieldRef != nil:
		allErrs = append(allErrs, validateObjectFieldSelector(file.FieldRef, validVolumeDownwardAPIFieldPathExpressions, fldPath.Child("fieldRef"))...)
		if file.ResourceFieldRef != nil {
			allErrs = append(allErrs, field.Invalid(fldPath, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case file.ResourceFieldRef != nil:
		allErrs = append(allErrs, validateContainerResourceFieldSelector(file.ResourceFieldRef, fldPath.Child("resourceFieldRef"), true)...)
	default:
		allErrs = append(allErrs, field.Required(fldPath, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(allErrs, validateFileMode(file.Mode, fldPath.Child("mode"))...)
}

// validateDownwardAPIVolumeSource: items are validated against the volume
// path itself (not items[i]), as upstream does.
func validateDownwardAPIVolumeSource(d *corev1.DownwardAPIVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := validateFileMode(d.DefaultMode, fldPath.Child("defaultMode"))
	for i := range d.Items {
		allErrs = append(allErrs, validateDownwardAPIVolumeFile(&d.Items[i], fldPath)...)
	}
	return allErrs
}

func validateImageVolumeSource(image *corev1.ImageVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := requiredList(fldPath.Child("reference"), len(image.Reference) == 0)
	return append(allErrs, validatePullPolicy(image.PullPolicy, fldPath.Child("pullPolicy"))...)
}

// validateLocalDescendingPath keeps a path inside its volume: relative, with
// no ".." element.
func validateLocalDescendingPath(targetPath string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if path.IsAbs(targetPath) {
		allErrs = append(allErrs, field.Invalid(fldPath, targetPath, "must be a relative path"))
	}
	return append(allErrs, validatePathNoBacksteps(targetPath, fldPath)...)
}

// validatePathNoBacksteps rejects ".." path elements. Like upstream it
// splits with the apiserver's separator, assuming nodes share its OS.
func validatePathNoBacksteps(targetPath string, fldPath *field.Path) field.ErrorList {
	for _, item := range strings.Split(filepath.ToSlash(targetPath), "/") {
		if item == ".." {
			// One error is enough even for "../../..".
			return field.ErrorList{field.Invalid(fldPath, targetPath, "must not contain '..'")}
		}
	}
	return nil
}

// validateLocalNonReservedPath additionally reserves names starting with
// "..": the atomic writer uses "..data" and timestamped "..2024_..." dirs.
func validateLocalNonReservedPath(targetPath string, fldPath *field.Path) field.ErrorList {
	allErrs := validateLocalDescendingPath(targetPath, fldPath)
	// Skip when the ".." element check above already caught it.
	if strings.HasPrefix(targetPath, "..") && !strings.HasPrefix(targetPath, "../") {
		allErrs = append(allErrs, field.Invalid(fldPath, targetPath, "must not start with '..'"))
	}
	return allErrs
}
