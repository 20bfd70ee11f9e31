package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestValidatePodVolumes(t *testing.T) {
	emptyDir := corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	cases := []struct {
		name    string
		volumes []corev1.Volume
		mounts  []corev1.VolumeMount
		want    []string
	}{
		{
			name: "all common sources valid",
			volumes: []corev1.Volume{
				{Name: "a", VolumeSource: emptyDir},
				{Name: "b", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log", Type: ptr.To(corev1.HostPathDirectory)}}},
				{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Items: []corev1.KeyToPath{{Key: "k", Path: "dir/file"}}}}},
				{Name: "d", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: ptr.To[int32](0644)}}},
				{Name: "e", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
				{Name: "f", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}},
				}}}},
			},
			mounts: []corev1.VolumeMount{{Name: "a", MountPath: "/a"}, {Name: "e", MountPath: "/e", SubPath: "x/y"}},
		},
		{
			name:    "duplicate name and no source",
			volumes: []corev1.Volume{{Name: "a", VolumeSource: emptyDir}, {Name: "a", VolumeSource: emptyDir}, {Name: "b"}},
			want: []string{
				`spec.volumes[1].name: Duplicate value: "a"`,
				"spec.volumes[2]: Required value: must specify a volume type",
			},
		},
		{
			name: "more than one source",
			volumes: []corev1.Volume{{Name: "a", VolumeSource: corev1.VolumeSource{
				EmptyDir: &corev1.EmptyDirVolumeSource{},
				Secret:   &corev1.SecretVolumeSource{SecretName: "s"},
			}}},
			want: []string{"spec.volumes[0].secret: Forbidden: may not specify more than 1 volume type"},
		},
		{
			name: "item paths and modes",
			volumes: []corev1.Volume{{Name: "a", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cm"},
				DefaultMode:          ptr.To[int32](01000),
				Items: []corev1.KeyToPath{
					{Key: "a", Path: "/etc/passwd"},
					{Key: "b", Path: "../escape"},
					{Key: "c", Path: "..data"},
					{Key: "", Path: "ok", Mode: ptr.To[int32](-1)},
				},
			}}}},
			want: []string{
				"spec.volumes[0].configMap.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive",
				`spec.volumes[0].configMap.items[0].path: Invalid value: "/etc/passwd": must be a relative path`,
				`spec.volumes[0].configMap.items[1].path: Invalid value: "../escape": must not contain '..'`,
				`spec.volumes[0].configMap.items[2].path: Invalid value: "..data": must not start with '..'`,
				"spec.volumes[0].configMap.items[3].key: Required value",
				"spec.volumes[0].configMap.items[3].mode: Invalid value: -1: must be a number between 0 and 0777 (octal), both inclusive",
			},
		},
		{
			name:    "hostPath with backsteps",
			volumes: []corev1.Volume{{Name: "a", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/../etc"}}}},
			want:    []string{`spec.volumes[0].hostPath.path: Invalid value: "/var/../etc": must not contain '..'`},
		},
		{
			name: "secret and pvc required fields",
			volumes: []corev1.Volume{
				{Name: "a", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}},
				{Name: "b", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{}}},
			},
			want: []string{
				"spec.volumes[0].secret.secretName: Required value",
				"spec.volumes[1].persistentVolumeClaim.claimName: Required value",
			},
		},
		{
			name: "projected duplicate paths",
			volumes: []corev1.Volume{{Name: "a", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "one"}, Items: []corev1.KeyToPath{{Key: "k", Path: "p"}}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "two"}, Items: []corev1.KeyToPath{{Key: "k", Path: "p"}}}},
			}}}}},
			want: []string{`spec.volumes[0].projected: Invalid value: "two": conflicting duplicate paths`},
		},
		{
			name:    "mount of unknown volume",
			volumes: []corev1.Volume{{Name: "a", VolumeSource: emptyDir}},
			mounts:  []corev1.VolumeMount{{Name: "missing", MountPath: "/m"}},
			want:    []string{`spec.containers[0].volumeMounts[0].name: Not found: "missing"`},
		},
		{
			name:    "mountPath required and unique, subPath checks",
			volumes: []corev1.Volume{{Name: "a", VolumeSource: emptyDir}},
			mounts: []corev1.VolumeMount{
				{Name: "a", MountPath: ""},
				{Name: "a", MountPath: "/m", SubPath: "/abs"},
				{Name: "a", MountPath: "/m", SubPath: "../up"},
			},
			want: []string{
				"spec.containers[0].volumeMounts[0].mountPath: Required value",
				`spec.containers[0].volumeMounts.subPath: Invalid value: "/abs": must be a relative path`,
				`spec.containers[0].volumeMounts[2].mountPath: Invalid value: "/m": must be unique`,
				`spec.containers[0].volumeMounts.subPath: Invalid value: "../up": must not contain '..'`,
			},
		},
		{
			name:    "bidirectional propagation needs privileged",
			volumes: []corev1.Volume{{Name: "a", VolumeSource: emptyDir}},
			mounts:  []corev1.VolumeMount{{Name: "a", MountPath: "/m", MountPropagation: ptr.To(corev1.MountPropagationBidirectional)}},
			want:    []string{"spec.containers[0].volumeMounts.mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers"},
		},
		{
			name: "negative emptyDir size",
			volumes: []corev1.Volume{{Name: "a", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
				SizeLimit: ptr.To(qty("-1Gi")),
			}}}},
			want: []string{"spec.volumes[0].emptyDir.sizeLimit: Forbidden: SizeLimit field must be a valid resource quantity"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := validPod()
			pod.Spec.Volumes = tc.volumes
			pod.Spec.Containers[0].VolumeMounts = tc.mounts
			expectErrors(t, ValidatePodCreate(pod), tc.want...)
		})
	}
}
