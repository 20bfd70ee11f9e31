package persistentvolume

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	storagehelpers "k8s.io/component-helpers/storage/volume"
)

func (c *Controller) syncVolume(ctx context.Context, name string) error {
	volume, err := c.pvs.Get(name)
	if notFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	ref := volume.Spec.ClaimRef
	if ref == nil || ref.UID == "" {
		// Unused, or reserved by the user for a claim that does not
		// exist yet: either way it waits to be bound.
		if volume.DeletionTimestamp == nil {
			_, err = c.updateVolumePhase(ctx, volume, corev1.VolumeAvailable, "")
		}
		return err
	}
	claim, err := c.claimOf(ctx, volume)
	if err != nil {
		return err
	}
	switch {
	case claim == nil:
		// Its claim is gone: the data now belongs to the reclaim policy.
		if volume.Status.Phase != corev1.VolumeReleased && volume.Status.Phase != corev1.VolumeFailed {
			if volume, err = c.updateVolumePhase(ctx, volume, corev1.VolumeReleased, ""); err != nil {
				return err
			}
			c.log.Info("volume released", "volume", volume.Name, "claim", ref.Namespace+"/"+ref.Name, "reclaimPolicy", volume.Spec.PersistentVolumeReclaimPolicy)
		}
		if volume.Status.Phase == corev1.VolumeReleased {
			return c.reclaim(ctx, volume)
		}
		return nil
	case claim.Spec.VolumeName == "":
		// Binding in progress (or a provisioned volume the claim has not
		// taken yet): the claim side completes it.
		c.claims.Add(claimKey(claim))
		return nil
	case claim.Spec.VolumeName == volume.Name:
		_, err = c.updateVolumePhase(ctx, volume, corev1.VolumeBound, "")
		return err
	}
	// The claim went to another volume.
	if metav1.HasAnnotation(volume.ObjectMeta, storagehelpers.AnnDynamicallyProvisioned) &&
		volume.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete {
		// Made for that claim alone: release it to be deleted.
		if volume, err = c.updateVolumePhase(ctx, volume, corev1.VolumeReleased, ""); err != nil {
			return err
		}
		return c.reclaim(ctx, volume)
	}
	if metav1.HasAnnotation(volume.ObjectMeta, storagehelpers.AnnBoundByController) {
		// This controller's half-done binding: make the volume free again.
		next := volume.DeepCopy()
		next.Spec.ClaimRef = nil
		delete(next.Annotations, storagehelpers.AnnBoundByController)
		updated, err := c.client.CoreV1().PersistentVolumes().Update(ctx, next, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("unbind volume %s: %w", volume.Name, err)
		}
		_, err = c.updateVolumePhase(ctx, updated, corev1.VolumeAvailable, "")
		return err
	}
	// Pre-bound by the user: it stays reserved for that claim.
	return nil
}

// claimOf returns the claim a volume's claimRef names, or nil when that
// claim no longer exists (or is another claim of the same name). A miss in
// the cache is confirmed with the API: releasing a volume is not undone.
func (c *Controller) claimOf(ctx context.Context, volume *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	ref := volume.Spec.ClaimRef
	claim, err := c.pvcs.PersistentVolumeClaims(ref.Namespace).Get(ref.Name)
	if notFound(err) {
		claim, err = c.client.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	}
	if notFound(err) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if claim.UID != ref.UID {
		return nil, nil
	}
	return claim, nil
}

// reclaim applies the reclaim policy of a Released volume. Retain keeps it
// (an administrator clears its claimRef to reuse it). Delete is the job of
// whoever made the volume: a provisioner deletes what it provisioned (the
// node agent does for orca.io/local-path); a volume made by hand has no
// deleter, so it fails, as upstream's does without a volume plugin.
// Recycle is not supported, as in current Kubernetes for most volumes.
func (c *Controller) reclaim(ctx context.Context, volume *corev1.PersistentVolume) error {
	switch volume.Spec.PersistentVolumeReclaimPolicy {
	case corev1.PersistentVolumeReclaimRetain:
		return nil
	case corev1.PersistentVolumeReclaimRecycle:
		msg := "No recycler plugin found for the volume!"
		c.recorder.Event(volume, corev1.EventTypeWarning, reasonVolumeFailedRecycle, msg)
		_, err := c.updateVolumePhase(ctx, volume, corev1.VolumeFailed, msg)
		return err
	case corev1.PersistentVolumeReclaimDelete:
		if metav1.HasAnnotation(volume.ObjectMeta, storagehelpers.AnnDynamicallyProvisioned) {
			return nil // the provisioner's deleter takes it from here
		}
		msg := fmt.Sprintf("error getting deleter volume plugin for volume %q: no deletable volume plugin matched", volume.Name)
		c.recorder.Event(volume, corev1.EventTypeWarning, reasonVolumeFailedDelete, msg)
		_, err := c.updateVolumePhase(ctx, volume, corev1.VolumeFailed, msg)
		return err
	}
	return nil
}
