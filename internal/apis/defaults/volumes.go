package defaults

import (
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Volume applies upstream's SetDefaults_Volume and the defaults of the
// volume source it carries.
func Volume(v *corev1.Volume) {
	// A volume that names no source at all is an emptyDir, the historical
	// meaning of `- name: x` with nothing else.
	if noVolumeSource(&v.VolumeSource) {
		v.VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	}
	src := &v.VolumeSource
	if src.Image != nil && src.Image.PullPolicy == "" {
		// Same rule as containers: the image volume is pulled like an image.
		src.Image.PullPolicy = ImagePullPolicy(src.Image.Reference)
	}
	hostPath(src.HostPath)
	if src.Secret != nil {
		src.Secret.DefaultMode = defaultMode(src.Secret.DefaultMode, corev1.SecretVolumeSourceDefaultMode)
	}
	if src.ISCSI != nil && src.ISCSI.ISCSIInterface == "" {
		src.ISCSI.ISCSIInterface = "default"
	}
	if src.RBD != nil {
		rbd(&src.RBD.RBDPool, &src.RBD.RadosUser, &src.RBD.Keyring)
	}
	if src.DownwardAPI != nil {
		src.DownwardAPI.DefaultMode = defaultMode(src.DownwardAPI.DefaultMode, corev1.DownwardAPIVolumeSourceDefaultMode)
		downwardAPIItems(src.DownwardAPI.Items)
	}
	if src.ConfigMap != nil {
		src.ConfigMap.DefaultMode = defaultMode(src.ConfigMap.DefaultMode, corev1.ConfigMapVolumeSourceDefaultMode)
	}
	azureDisk(src.AzureDisk)
	if src.Projected != nil {
		src.Projected.DefaultMode = defaultMode(src.Projected.DefaultMode, corev1.ProjectedVolumeSourceDefaultMode)
		for i := range src.Projected.Sources {
			ps := &src.Projected.Sources[i]
			if ps.DownwardAPI != nil {
				downwardAPIItems(ps.DownwardAPI.Items)
			}
			if t := ps.ServiceAccountToken; t != nil && t.ExpirationSeconds == nil {
				// One hour; the kubelet refreshes the token well before that.
				secs := int64(time.Hour / time.Second)
				t.ExpirationSeconds = &secs
			}
		}
	}
	if src.ScaleIO != nil {
		scaleIO(&src.ScaleIO.StorageMode, &src.ScaleIO.FSType)
	}
	if src.Ephemeral != nil && src.Ephemeral.VolumeClaimTemplate != nil {
		PersistentVolumeClaimSpec(&src.Ephemeral.VolumeClaimTemplate.Spec)
	}
}

// PersistentVolume applies upstream's SetDefaults_PersistentVolume and the
// defaults of its volume source.
func PersistentVolume(pv *corev1.PersistentVolume) {
	if pv.Status.Phase == "" {
		pv.Status.Phase = corev1.VolumePending
	}
	if pv.Spec.PersistentVolumeReclaimPolicy == "" {
		// Retain: a hand-made PV must not have its data deleted by default.
		pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
	}
	if pv.Spec.VolumeMode == nil {
		mode := corev1.PersistentVolumeFilesystem
		pv.Spec.VolumeMode = &mode
	}
	roundResourceList(pv.Spec.Capacity)

	src := &pv.Spec.PersistentVolumeSource
	hostPath(src.HostPath)
	if src.RBD != nil {
		rbd(&src.RBD.RBDPool, &src.RBD.RadosUser, &src.RBD.Keyring)
	}
	if src.ISCSI != nil && src.ISCSI.ISCSIInterface == "" {
		src.ISCSI.ISCSIInterface = "default"
	}
	azureDisk(src.AzureDisk)
	if src.ScaleIO != nil {
		scaleIO(&src.ScaleIO.StorageMode, &src.ScaleIO.FSType)
	}
}

// PersistentVolumeClaim applies upstream's SetDefaults_PersistentVolumeClaim
// and the defaults of its spec and status resource lists.
func PersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) {
	if pvc.Status.Phase == "" {
		pvc.Status.Phase = corev1.ClaimPending
	}
	PersistentVolumeClaimSpec(&pvc.Spec)
	roundResourceList(pvc.Status.Capacity)
	roundResourceList(pvc.Status.AllocatedResources)
}

// PersistentVolumeClaimSpec defaults a claim spec, standalone or inside an
// ephemeral volume's claim template.
func PersistentVolumeClaimSpec(spec *corev1.PersistentVolumeClaimSpec) {
	if spec.VolumeMode == nil {
		mode := corev1.PersistentVolumeFilesystem
		spec.VolumeMode = &mode
	}
	roundResourceList(spec.Resources.Limits)
	roundResourceList(spec.Resources.Requests)
}

// noVolumeSource reports whether no source pointer is set. It walks the
// struct by reflection (as upstream's ptr.AllPtrFieldsNil does) so a source
// type added to k8s.io/api later is still noticed.
func noVolumeSource(src *corev1.VolumeSource) bool {
	v := reflect.ValueOf(src).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			return false
		}
	}
	return true
}

func defaultMode(mode *int32, def int32) *int32 {
	if mode != nil {
		return mode
	}
	return &def
}

func downwardAPIItems(items []corev1.DownwardAPIVolumeFile) {
	for i := range items {
		objectFieldSelector(items[i].FieldRef)
	}
}

// hostPath defaults the type to the explicit "" (HostPathUnset: no checks
// before mounting), which is what a nil type means anyway.
func hostPath(hp *corev1.HostPathVolumeSource) {
	if hp != nil && hp.Type == nil {
		t := corev1.HostPathUnset
		hp.Type = &t
	}
}

// The remaining in-tree sources are deprecated but still carry declarative
// defaults upstream (+default= markers in k8s.io/api), so they are kept to
// make stored objects match.

func rbd(pool, user, keyring *string) {
	if *pool == "" {
		*pool = "rbd"
	}
	if *user == "" {
		*user = "admin"
	}
	if *keyring == "" {
		*keyring = "/etc/ceph/keyring"
	}
}

func scaleIO(storageMode, fsType *string) {
	if *storageMode == "" {
		*storageMode = "ThinProvisioned"
	}
	if *fsType == "" {
		*fsType = "xfs"
	}
}

func azureDisk(a *corev1.AzureDiskVolumeSource) {
	if a == nil {
		return
	}
	if a.CachingMode == nil {
		m := corev1.AzureDataDiskCachingReadWrite
		a.CachingMode = &m
	}
	if a.FSType == nil {
		fs := "ext4"
		a.FSType = &fs
	}
	if a.ReadOnly == nil {
		ro := false
		a.ReadOnly = &ro
	}
	if a.Kind == nil {
		k := corev1.AzureSharedBlobDisk
		a.Kind = &k
	}
}
