package defaults

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestVolumeDefaults(t *testing.T) {
	mode := ptrTo(int32(0o644))
	tests := []struct {
		name string
		in   corev1.VolumeSource
		want corev1.VolumeSource
	}{
		{
			name: "no source is emptyDir",
			in:   corev1.VolumeSource{},
			want: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
		},
		{
			name: "secret",
			in:   corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}},
			want: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: mode}},
		},
		{
			name: "secret explicit mode kept",
			in:   corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{DefaultMode: ptrTo(int32(0o400))}},
			want: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{DefaultMode: ptrTo(int32(0o400))}},
		},
		{
			name: "configMap",
			in:   corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}},
			want: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{DefaultMode: mode}},
		},
		{
			name: "downwardAPI with field ref",
			in: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
			}}},
			want: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{DefaultMode: mode, Items: []corev1.DownwardAPIVolumeFile{
				{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}},
			}}},
		},
		{
			name: "projected service account token and downward API",
			in: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "ns", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}},
				}}},
				{ConfigMap: &corev1.ConfigMapProjection{}},
			}}},
			want: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{DefaultMode: mode, Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptrTo(int64(3600))}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "ns", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}},
				}}},
				{ConfigMap: &corev1.ConfigMapProjection{}},
			}}},
		},
		{
			name: "hostPath type",
			in:   corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}},
			want: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x", Type: ptrTo(corev1.HostPathUnset)}},
		},
		{
			name: "emptyDir untouched",
			in:   corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}},
			want: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}},
		},
		{
			name: "image volume pull policy",
			in:   corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "quay.io/a/b:latest"}},
			want: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "quay.io/a/b:latest", PullPolicy: corev1.PullAlways}},
		},
		{
			name: "image volume tagged",
			in:   corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "quay.io/a/b:v1"}},
			want: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "quay.io/a/b:v1", PullPolicy: corev1.PullIfNotPresent}},
		},
		{
			name: "ephemeral claim template",
			in: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}},
			}}},
			want: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					VolumeMode:  ptrTo(corev1.PersistentVolumeFilesystem),
				},
			}}},
		},
		{
			name: "rbd and iscsi",
			in:   corev1.VolumeSource{RBD: &corev1.RBDVolumeSource{RBDImage: "img"}},
			want: corev1.VolumeSource{RBD: &corev1.RBDVolumeSource{RBDImage: "img", RBDPool: "rbd", RadosUser: "admin", Keyring: "/etc/ceph/keyring"}},
		},
	}
	for _, tt := range tests {
		p := minimalPod()
		p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: tt.in}}
		Pod(p)
		if got := p.Spec.Volumes[0].VolumeSource; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", tt.name, got, tt.want)
		}
	}
}

func TestPersistentVolumeDefaults(t *testing.T) {
	pv := &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{
		Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
		PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}},
	}}
	PersistentVolume(pv)
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
		t.Errorf("reclaimPolicy = %q, want Retain", pv.Spec.PersistentVolumeReclaimPolicy)
	}
	if pv.Spec.VolumeMode == nil || *pv.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("volumeMode = %v, want Filesystem", pv.Spec.VolumeMode)
	}
	if pv.Status.Phase != corev1.VolumePending {
		t.Errorf("phase = %q, want Pending", pv.Status.Phase)
	}
	if hp := pv.Spec.HostPath; hp.Type == nil || *hp.Type != corev1.HostPathUnset {
		t.Errorf("hostPath type = %v, want \"\"", hp.Type)
	}

	pvc := &corev1.PersistentVolumeClaim{}
	PersistentVolumeClaim(pvc)
	if pvc.Spec.VolumeMode == nil || *pvc.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("claim volumeMode = %v, want Filesystem", pvc.Spec.VolumeMode)
	}
	if pvc.Status.Phase != corev1.ClaimPending {
		t.Errorf("claim phase = %q, want Pending", pvc.Status.Phase)
	}
	block := corev1.PersistentVolumeBlock
	pvc = &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{VolumeMode: &block}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
	PersistentVolumeClaim(pvc)
	if *pvc.Spec.VolumeMode != block || pvc.Status.Phase != corev1.ClaimBound {
		t.Errorf("explicit claim values changed: %v %q", *pvc.Spec.VolumeMode, pvc.Status.Phase)
	}
}
