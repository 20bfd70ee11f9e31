package serviceaccount

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// enforceMountableSecrets reports whether sa's pods are limited to the
// secrets sa lists.
func (s *Plugin) enforceMountableSecrets(sa *corev1.ServiceAccount) bool {
	if s.LimitSecretReferences {
		return true
	}
	enforce, _ := strconv.ParseBool(sa.Annotations[EnforceMountableSecretsAnnotation])
	return enforce
}

// limitSecretReferences refuses a pod that mounts a secret volume, reads a
// secret into its environment, or pulls with a secret that sa does not
// list. Like upstream it looks at secret volumes only, not projected
// secrets, and the first violation found is the one reported.
func limitSecretReferences(sa *corev1.ServiceAccount, pod *corev1.Pod) error {
	mountable := secretNames(sa.Secrets)
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil && !mountable.Has(v.Secret.SecretName) {
			return fmt.Errorf("volume with secret.secretName=\"%s\" is not allowed because service account %s does not reference that secret", v.Secret.SecretName, sa.Name)
		}
	}
	for i := range pod.Spec.InitContainers {
		if err := limitContainer("init container", &pod.Spec.InitContainers[i], mountable, sa.Name); err != nil {
			return err
		}
	}
	for i := range pod.Spec.Containers {
		if err := limitContainer("container", &pod.Spec.Containers[i], mountable, sa.Name); err != nil {
			return err
		}
	}

	pullable := sets.New[string]()
	for _, ref := range sa.ImagePullSecrets {
		pullable.Insert(ref.Name)
	}
	for i, ref := range pod.Spec.ImagePullSecrets {
		if !pullable.Has(ref.Name) {
			return fmt.Errorf(`imagePullSecrets[%d].name="%s" is not allowed because service account %s does not reference that imagePullSecret`, i, ref.Name, sa.Name)
		}
	}
	return nil
}

// limitEphemeralContainerSecretReferences is limitSecretReferences for
// containers added through pods/ephemeralcontainers: only their environment
// can name secrets, as they cannot add volumes.
func limitEphemeralContainerSecretReferences(sa *corev1.ServiceAccount, pod *corev1.Pod) error {
	mountable := secretNames(sa.Secrets)
	for i := range pod.Spec.EphemeralContainers {
		c := (*corev1.Container)(&pod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
		if err := limitContainer("ephemeral container", c, mountable, sa.Name); err != nil {
			return err
		}
	}
	return nil
}

// limitContainer checks one container's env and envFrom; kind names it in
// the message ("container", "init container", "ephemeral container").
func limitContainer(kind string, c *corev1.Container, mountable sets.Set[string], account string) error {
	for _, env := range c.Env {
		if env.ValueFrom != nil && env.ValueFrom.SecretKeyRef != nil && !mountable.Has(env.ValueFrom.SecretKeyRef.Name) {
			return fmt.Errorf("%s %s with envVar %s referencing secret.secretName=\"%s\" is not allowed because service account %s does not reference that secret", kind, c.Name, env.Name, env.ValueFrom.SecretKeyRef.Name, account)
		}
	}
	for _, from := range c.EnvFrom {
		if from.SecretRef != nil && !mountable.Has(from.SecretRef.Name) {
			return fmt.Errorf("%s %s with envFrom referencing secret.secretName=\"%s\" is not allowed because service account %s does not reference that secret", kind, c.Name, from.SecretRef.Name, account)
		}
	}
	return nil
}

func secretNames(refs []corev1.ObjectReference) sets.Set[string] {
	names := sets.New[string]()
	for _, ref := range refs {
		names.Insert(ref.Name)
	}
	return names
}

// referencesSecrets reports whether pod names any secret by a non-empty
// name: pull secrets, any container's env or envFrom, or a volume source
// that carries a secret reference. It follows upstream's
// VisitPodSecretNames; secrets reached through a PVC are not followed.
func referencesSecrets(pod *corev1.Pod) bool {
	for _, ref := range pod.Spec.ImagePullSecrets {
		if ref.Name != "" {
			return true
		}
	}
	containers := make([]*corev1.Container, 0, len(pod.Spec.InitContainers)+len(pod.Spec.Containers)+len(pod.Spec.EphemeralContainers))
	for i := range pod.Spec.InitContainers {
		containers = append(containers, &pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		containers = append(containers, &pod.Spec.Containers[i])
	}
	for i := range pod.Spec.EphemeralContainers {
		containers = append(containers, (*corev1.Container)(&pod.Spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
	for _, c := range containers {
		for _, from := range c.EnvFrom {
			if from.SecretRef != nil && from.SecretRef.Name != "" {
				return true
			}
		}
		for _, env := range c.Env {
			if env.ValueFrom != nil && env.ValueFrom.SecretKeyRef != nil && env.ValueFrom.SecretKeyRef.Name != "" {
				return true
			}
		}
	}
	for i := range pod.Spec.Volumes {
		if volumeSecretName(&pod.Spec.Volumes[i].VolumeSource) {
			return true
		}
	}
	return false
}

// volumeSecretName reports whether a volume source names a secret.
func volumeSecretName(v *corev1.VolumeSource) bool {
	switch {
	case v.Secret != nil:
		return v.Secret.SecretName != ""
	case v.Projected != nil:
		for _, source := range v.Projected.Sources {
			if source.Secret != nil && source.Secret.Name != "" {
				return true
			}
		}
		return false
	case v.AzureFile != nil:
		return v.AzureFile.SecretName != ""
	case v.CSI != nil:
		return v.CSI.NodePublishSecretRef != nil && v.CSI.NodePublishSecretRef.Name != ""
	case v.CephFS != nil:
		return v.CephFS.SecretRef != nil && v.CephFS.SecretRef.Name != ""
	case v.Cinder != nil:
		return v.Cinder.SecretRef != nil && v.Cinder.SecretRef.Name != ""
	case v.FlexVolume != nil:
		return v.FlexVolume.SecretRef != nil && v.FlexVolume.SecretRef.Name != ""
	case v.ISCSI != nil:
		return v.ISCSI.SecretRef != nil && v.ISCSI.SecretRef.Name != ""
	case v.RBD != nil:
		return v.RBD.SecretRef != nil && v.RBD.SecretRef.Name != ""
	case v.ScaleIO != nil:
		return v.ScaleIO.SecretRef != nil && v.ScaleIO.SecretRef.Name != ""
	case v.StorageOS != nil:
		return v.StorageOS.SecretRef != nil && v.StorageOS.SecretRef.Name != ""
	}
	return false
}
