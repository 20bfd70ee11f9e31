package serviceaccount

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiserver/pkg/storage/names"

	sa "github.com/orca-pods/orca/internal/auth/serviceaccount"
)

const (
	// DefaultAPITokenMountPath is where every container finds its token,
	// the cluster CA and its namespace.
	DefaultAPITokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	// TokenVolumeNamePrefix starts the name of the volume holding them;
	// five random characters follow.
	TokenVolumeNamePrefix = "kube-api-access-"
	// RootCACertConfigMap is the ConfigMap the CA comes from, which the
	// root CA publisher keeps in every namespace.
	RootCACertConfigMap = "kube-root-ca.crt"
)

// shouldAutomount reports whether pod gets an API token: the pod's choice,
// else its account's, else yes.
func shouldAutomount(account *corev1.ServiceAccount, pod *corev1.Pod) bool {
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken
	}
	if account.AutomountServiceAccountToken != nil {
		return *account.AutomountServiceAccountToken
	}
	return true
}

// mountServiceAccountToken adds the kube-api-access volume and mounts it,
// read-only, in every init and regular container that has nothing mounted
// at DefaultAPITokenMountPath yet. Ephemeral containers are left alone, as
// upstream does: they are added later and may mount volumes themselves. A
// pod that already has such a volume keeps it.
func (s *Plugin) mountServiceAccountToken(pod *corev1.Pod) {
	volumeName := ""
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, TokenVolumeNamePrefix) {
			volumeName = v.Name
			break
		}
	}
	hasVolume := volumeName != ""
	if !hasVolume {
		volumeName = s.generateName(TokenVolumeNamePrefix)
	}
	mount := corev1.VolumeMount{Name: volumeName, ReadOnly: true, MountPath: DefaultAPITokenMountPath}
	needsVolume := false
	addMount := func(c *corev1.Container) {
		for _, m := range c.VolumeMounts {
			if m.MountPath == DefaultAPITokenMountPath {
				return
			}
		}
		c.VolumeMounts = append(c.VolumeMounts, mount)
		needsVolume = true
	}
	for i := range pod.Spec.InitContainers {
		addMount(&pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		addMount(&pod.Spec.Containers[i])
	}
	if !hasVolume && needsVolume {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{
			Name:         volumeName,
			VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()},
		})
	}
}

// TokenVolumeSource is the kube-api-access projection: a token the node
// agent requests and refreshes (the lifetime that the API server extends,
// see sa.WarnOnlyExpirationSeconds), the cluster CA and the namespace.
// Every field is set explicitly because admission runs after defaulting.
func TokenVolumeSource() *corev1.ProjectedVolumeSource {
	expiration := int64(sa.WarnOnlyExpirationSeconds)
	mode := corev1.ProjectedVolumeSourceDefaultMode
	return &corev1.ProjectedVolumeSource{
		DefaultMode: &mode,
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &expiration}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: RootCACertConfigMap},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{
				Items: []corev1.DownwardAPIVolumeFile{{
					Path:     "namespace",
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
				}},
			}},
		},
	}
}

// defaultGenerateName appends five random characters, as upstream does.
var defaultGenerateName = names.SimpleNameGenerator.GenerateName
