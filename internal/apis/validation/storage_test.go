package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func validPV() *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv0", ResourceVersion: "1"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: qty("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			VolumeMode:                    ptr.To(corev1.PersistentVolumeFilesystem),
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/pv0", Type: ptr.To(corev1.HostPathUnset)}},
		},
	}
}

func validPVC() *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default", ResourceVersion: "1"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: qty("1Gi")}},
			StorageClassName: ptr.To("standard"),
			VolumeMode:       ptr.To(corev1.PersistentVolumeFilesystem),
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
}

func TestValidatePersistentVolume(t *testing.T) {
	expectErrors(t, ValidatePersistentVolume(validPV()))

	pv := validPV()
	pv.Spec.AccessModes = nil
	pv.Spec.Capacity = nil
	pv.Spec.PersistentVolumeReclaimPolicy = "Shred"
	expectErrors(t, ValidatePersistentVolume(pv),
		"spec.accessModes: Required value",
		"spec.capacity: Required value",
		"spec.capacity: Unsupported value: ...",
		`spec.persistentVolumeReclaimPolicy: Unsupported value: "Shred": supported values: "Delete", "Recycle", "Retain"`)

	pv = validPV()
	pv.Spec.HostPath = nil
	expectErrors(t, ValidatePersistentVolume(pv), "spec: Required value: must specify a volume type")

	pv = validPV()
	pv.Spec.Local = &corev1.LocalVolumeSource{Path: "/mnt/disk"}
	expectErrors(t, ValidatePersistentVolume(pv), "spec.local: Forbidden: may not specify more than 1 volume type")

	pv = validPV()
	pv.Spec.HostPath = nil
	pv.Spec.Local = &corev1.LocalVolumeSource{Path: "/mnt/disk"}
	expectErrors(t, ValidatePersistentVolume(pv), "spec.nodeAffinity: Required value: Local volume requires node affinity")

	pv = validPV()
	pv.Spec.HostPath.Path = "/"
	pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRecycle
	pv.Spec.Capacity[corev1.ResourceStorage] = qty("0")
	expectErrors(t, ValidatePersistentVolume(pv),
		"spec.capacity[storage]: Invalid value: \"0\": must be greater than zero",
		"spec.persistentVolumeReclaimPolicy: Forbidden: may not be 'recycle' for a hostPath mount of '/'")
}

func TestValidatePersistentVolumeUpdate(t *testing.T) {
	old := validPV()
	pv := validPV()
	pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
	pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
	expectErrors(t, ValidatePersistentVolumeUpdate(pv, old))

	pv = validPV()
	pv.Spec.HostPath.Path = "/srv/elsewhere"
	errs := ValidatePersistentVolumeUpdate(pv, old)
	expectErrors(t, errs, "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation...")
	if !strings.Contains(errs[0].Error(), `"/srv/elsewhere"`) {
		t.Errorf("no diff in %s", errs[0].Error())
	}
}

func TestValidatePersistentVolumeClaim(t *testing.T) {
	expectErrors(t, ValidatePersistentVolumeClaim(validPVC()))
	pvc := validPVC()
	pvc.Spec.AccessModes = nil
	pvc.Spec.Resources.Requests = nil
	expectErrors(t, ValidatePersistentVolumeClaim(pvc),
		"spec.accessModes: Required value: at least 1 access mode is required",
		"spec.resources[storage]: Required value")

	pvc = validPVC()
	pvc.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "Snapshot", Name: "s"}
	expectErrors(t, ValidatePersistentVolumeClaim(pvc), `spec.dataSource: Invalid value: "Snapshot": must be 'PersistentVolumeClaim' when referencing the default apiGroup`)
}

func TestValidatePersistentVolumeClaimUpdate(t *testing.T) {
	old := validPVC()
	// The binder fills in volumeName and annotations.
	pvc := validPVC()
	pvc.Spec.VolumeName = "pv0"
	pvc.Annotations = map[string]string{"pv.kubernetes.io/bind-completed": "yes"}
	expectErrors(t, ValidatePersistentVolumeClaimUpdate(pvc, old))

	// A pending claim's request is fixed...
	pvc = validPVC()
	pvc.Spec.Resources.Requests[corev1.ResourceStorage] = qty("2Gi")
	expectErrors(t, ValidatePersistentVolumeClaimUpdate(pvc, old),
		"spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims...")

	// ...a bound claim's may grow, not shrink below what it has.
	bound := validPVC()
	bound.Spec.VolumeName = "pv0"
	bound.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: corev1.ResourceList{corev1.ResourceStorage: qty("1Gi")}}
	pvc = bound.DeepCopy()
	pvc.Spec.Resources.Requests[corev1.ResourceStorage] = qty("2Gi")
	expectErrors(t, ValidatePersistentVolumeClaimUpdate(pvc, bound))
	pvc.Spec.Resources.Requests[corev1.ResourceStorage] = qty("512Mi")
	expectErrors(t, ValidatePersistentVolumeClaimUpdate(pvc, bound),
		"spec.resources.requests.storage: Forbidden: field can not be less than status.capacity")

	// Other fields stay, and the diff says which.
	pvc = validPVC()
	pvc.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
	errs := ValidatePersistentVolumeClaimUpdate(pvc, old)
	expectErrors(t, errs, "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims...")
	if !strings.Contains(errs[0].Error(), `"ReadWriteMany"`) {
		t.Errorf("no diff in %s", errs[0].Error())
	}

	// A claim without a class may get one once.
	classless := validPVC()
	classless.Spec.StorageClassName = nil
	expectErrors(t, ValidatePersistentVolumeClaimUpdate(validPVC(), classless))
	changed := validPVC()
	changed.Spec.StorageClassName = ptr.To("other")
	expectErrors(t, ValidatePersistentVolumeClaimUpdate(changed, old), "spec: Forbidden: spec is immutable after creation...")
}

func TestValidateStorageClass(t *testing.T) {
	valid := func() *storagev1.StorageClass {
		return &storagev1.StorageClass{
			ObjectMeta:        metav1.ObjectMeta{Name: "fast", ResourceVersion: "1"},
			Provisioner:       "example.com/disk",
			ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
			VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate),
		}
	}
	expectErrors(t, ValidateStorageClass(valid()))
	sc := valid()
	sc.Provisioner = ""
	sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRecycle)
	sc.VolumeBindingMode = nil
	expectErrors(t, ValidateStorageClass(sc),
		"provisioner: Required value",
		`reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"`,
		"volumeBindingMode: Required value")

	sc = valid()
	sc.Parameters = map[string]string{"type": "ssd"}
	sc.Provisioner = "other.com/disk"
	sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRetain)
	sc.VolumeBindingMode = ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)
	expectErrors(t, ValidateStorageClassUpdate(sc, valid()),
		"parameters: Forbidden: updates to parameters are forbidden.",
		"provisioner: Forbidden: updates to provisioner are forbidden.",
		"reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.",
		`volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable`)
}
