package serviceaccount

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestVolumeSecretName covers every volume source that can carry a secret
// reference; a mirror pod using any of them is refused.
func TestVolumeSecretName(t *testing.T) {
	local := &corev1.LocalObjectReference{Name: "s"}
	tests := []struct {
		name   string
		source corev1.VolumeSource
		want   bool
	}{
		{"secret", secretVolume("s"), true},
		{"secret without a name", secretVolume(""), false},
		{"projected secret", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{Secret: &corev1.SecretProjection{LocalObjectReference: *local}}}}}, true},
		{"projected config map", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: *local}}}}}, false},
		{"azureFile", corev1.VolumeSource{AzureFile: &corev1.AzureFileVolumeSource{SecretName: "s"}}, true},
		{"csi", corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{NodePublishSecretRef: local}}, true},
		{"csi without a secret", corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "d"}}, false},
		{"cephfs", corev1.VolumeSource{CephFS: &corev1.CephFSVolumeSource{SecretRef: local}}, true},
		{"cinder", corev1.VolumeSource{Cinder: &corev1.CinderVolumeSource{SecretRef: local}}, true},
		{"flexVolume", corev1.VolumeSource{FlexVolume: &corev1.FlexVolumeSource{SecretRef: local}}, true},
		{"iscsi", corev1.VolumeSource{ISCSI: &corev1.ISCSIVolumeSource{SecretRef: local}}, true},
		{"rbd", corev1.VolumeSource{RBD: &corev1.RBDVolumeSource{SecretRef: local}}, true},
		{"scaleIO", corev1.VolumeSource{ScaleIO: &corev1.ScaleIOVolumeSource{SecretRef: local}}, true},
		{"storageos", corev1.VolumeSource{StorageOS: &corev1.StorageOSVolumeSource{SecretRef: local}}, true},
		{"emptyDir", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := volumeSecretName(&tt.source); got != tt.want {
				t.Errorf("volumeSecretName = %v, want %v", got, tt.want)
			}
		})
	}
}
