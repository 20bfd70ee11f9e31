package pods

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/internal/images"
)

// pullCredentials reads the pod's imagePullSecrets; secrets that are
// missing or malformed are skipped, as the kubelet does, and the pull then
// tries anonymously.
func (w *worker) pullCredentials(ctx context.Context, pod *corev1.Pod) []images.Credential {
	var creds []images.Credential
	for _, ref := range pod.Spec.ImagePullSecrets {
		s, err := w.m.cfg.Client.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			w.log.Debug("image pull secret", "secret", ref.Name, "err", err)
			continue
		}
		var c []images.Credential
		switch s.Type {
		case corev1.SecretTypeDockerConfigJson:
			c, err = images.CredentialsFromDockerConfigJSON(s.Data[corev1.DockerConfigJsonKey])
		case corev1.SecretTypeDockercfg:
			c, err = images.CredentialsFromDockerCfg(s.Data[corev1.DockerConfigKey])
		}
		if err != nil {
			w.log.Debug("image pull secret", "secret", ref.Name, "err", err)
			continue
		}
		creds = append(creds, c...)
	}
	return creds
}
