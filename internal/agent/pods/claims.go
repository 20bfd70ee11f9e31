package pods

import (
	"context"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// unprocessedVolumeError is a pod volume the agent cannot even look at yet,
// typically a claim not bound: the kubelet's FailedMount text for it names
// the volume as unmounted and failed to process. It unwraps to a
// *volumeError so the worker treats it as any mount failure (the container
// stays ContainerCreating and the worker retries).
type unprocessedVolumeError struct {
	volume *volumeError
	why    string
}

func (e *unprocessedVolumeError) Error() string {
	return fmt.Sprintf("Unable to attach or mount volumes: unmounted volumes=[%s], unattached volumes=[], failed to process volumes=[%s]: %s",
		e.volume.volume, e.volume.volume, e.why)
}

func (e *unprocessedVolumeError) Unwrap() error { return e.volume }

// claimVolumePath resolves a persistentVolumeClaim volume through its bound
// PersistentVolume to a directory on this node: a hostPath volume's path
// (created for DirectoryOrCreate, which is how orca.io/local-path
// provisions) or a local volume's path, which must exist.
func (w *worker) claimVolumePath(pod *corev1.Pod, v *corev1.Volume) (string, error) {
	ctx, cancel := context.WithTimeout(w.m.ctx, volumeSetUpTimeout)
	defer cancel()
	name := v.PersistentVolumeClaim.ClaimName
	unprocessed := func(format string, args ...any) error {
		why := fmt.Sprintf("error processing PVC %s/%s: ", pod.Namespace, name) + fmt.Sprintf(format, args...)
		return &unprocessedVolumeError{volume: &volumeError{v.Name, why}, why: why}
	}
	client := w.m.cfg.Client
	pvc, err := client.CoreV1().PersistentVolumeClaims(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", unprocessed("failed to fetch PVC from API server: %v", err)
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "" {
		return "", unprocessed("PVC is not bound")
	}
	pv, err := client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", unprocessed("failed to fetch PV %s from API server: %v", pvc.Spec.VolumeName, err)
	}
	if pv.Spec.ClaimRef == nil {
		return "", unprocessed("found PV object %s but it has a nil pv.Spec.ClaimRef indicating it is not yet bound to the claim", pv.Name)
	}
	if pv.Spec.ClaimRef.UID != pvc.UID {
		return "", unprocessed("found PV object %s but its pv.Spec.ClaimRef.UID %s does not point to claim.UID %s", pv.Name, pv.Spec.ClaimRef.UID, pvc.UID)
	}
	// From here on the kubelet names the volume by its PV.
	switch src := pv.Spec.PersistentVolumeSource; {
	case src.HostPath != nil:
		return src.HostPath.Path, checkHostPath(pv.Name, src.HostPath)
	case src.Local != nil:
		fi, err := os.Stat(src.Local.Path)
		if err != nil {
			return "", &volumeError{pv.Name, fmt.Sprintf("path %q does not exist", src.Local.Path)}
		}
		if !fi.IsDir() {
			return "", &volumeError{pv.Name, fmt.Sprintf("path %q is not a directory", src.Local.Path)}
		}
		return src.Local.Path, nil
	}
	return "", &volumeError{pv.Name, "volume type not supported by orca yet"}
}

// claimsReady checks the claims container c mounts before anything else is
// done for it: the kubelet mounts a pod's volumes before pulling images, so
// a pod waiting for its claim shows FailedMount, not repeated pulls.
func (w *worker) claimsReady(pod *corev1.Pod, c *corev1.Container) error {
	for _, vm := range c.VolumeMounts {
		for i := range pod.Spec.Volumes {
			v := &pod.Spec.Volumes[i]
			if v.Name != vm.Name || v.PersistentVolumeClaim == nil {
				continue
			}
			if _, err := w.claimVolumePath(pod, v); err != nil {
				return err
			}
		}
	}
	return nil
}
