package persistentvolume

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	storagehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/orca-pods/orca/internal/apis/storageutil"
)

// Event reasons, as upstream's pkg/controller/volume/events.
const (
	reasonFailedBinding        = "FailedBinding"
	reasonWaitForFirstConsumer = "WaitForFirstConsumer"
	reasonWaitForPodScheduled  = "WaitForPodScheduled"
	reasonExternalProvisioning = "ExternalProvisioning"
	reasonProvisioningFailed   = "ProvisioningFailed"
	reasonClaimLost            = "ClaimLost"
	reasonVolumeFailedDelete   = "VolumeFailedDelete"
	reasonVolumeFailedRecycle  = "VolumeFailedRecycle"
)

func (c *Controller) syncClaim(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	claim, err := c.pvcs.PersistentVolumeClaims(ns).Get(name)
	if notFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if claim.Spec.VolumeName == "" {
		return c.syncUnboundClaim(ctx, claim)
	}
	return c.syncBoundClaim(ctx, claim)
}

// syncUnboundClaim binds a claim to a matching volume or, failing that,
// says what it waits for: its first pod (WaitForFirstConsumer), a
// provisioner, or an administrator.
func (c *Controller) syncUnboundClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	if !storagehelpers.PersistentVolumeClaimHasClass(claim) {
		// A claim created before any default class existed gets the
		// default once there is one (retroactive default StorageClass).
		if assigned, err := c.assignDefaultClass(ctx, claim); assigned || err != nil {
			return err
		}
	}
	delay, err := storagehelpers.IsDelayBindingMode(claim, c.classes)
	if err != nil {
		return err
	}
	volumes, err := c.pvs.List(labels.Everything())
	if err != nil {
		return err
	}
	volume, err := findBestMatch(claim, volumes, delay)
	if err != nil {
		c.recorder.Event(claim, corev1.EventTypeWarning, reasonFailedBinding, err.Error())
		return nil
	}
	if volume != nil {
		return c.bind(ctx, volume, claim)
	}
	class := storagehelpers.GetPersistentVolumeClaimClass(claim)
	switch {
	case delay && !storagehelpers.IsDelayBindingProvisioning(claim):
		c.emitWaitForConsumer(claim)
	case class != "":
		if err := c.provision(ctx, claim, class); err != nil {
			return err
		}
	default:
		c.recorder.Event(claim, corev1.EventTypeNormal, reasonFailedBinding, "no persistent volumes available for this claim and no storage class is set")
	}
	_, err = c.updateClaimStatus(ctx, claim, corev1.ClaimPending, nil)
	return err
}

func (c *Controller) assignDefaultClass(ctx context.Context, claim *corev1.PersistentVolumeClaim) (bool, error) {
	classes, err := c.classes.List(labels.Everything())
	if err != nil {
		return false, err
	}
	def := storageutil.DefaultClass(classes)
	if def == nil {
		return false, nil
	}
	next := claim.DeepCopy()
	next.Spec.StorageClassName = &def.Name
	if _, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		return false, fmt.Errorf("assign default class to claim %s: %w", claimKey(claim), err)
	}
	c.log.Info("assigned the default storage class to a claim", "claim", claimKey(claim), "class", def.Name)
	return true, nil
}

// emitWaitForConsumer explains a WaitForFirstConsumer claim nobody has
// picked a node for: either no pod uses it yet, or its pods are not
// scheduled yet.
func (c *Controller) emitWaitForConsumer(claim *corev1.PersistentVolumeClaim) {
	var waiting []string
	pods, _ := c.pods.Pods(claim.Namespace).List(labels.Everything())
	for _, pod := range pods {
		if pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil && storageutil.UsesClaim(pod, claim.Name) {
			waiting = append(waiting, pod.Name)
		}
	}
	switch len(waiting) {
	case 0:
		c.recorder.Event(claim, corev1.EventTypeNormal, reasonWaitForFirstConsumer, "waiting for first consumer to be created before binding")
	case 1:
		c.recorder.Event(claim, corev1.EventTypeNormal, reasonWaitForPodScheduled, fmt.Sprintf("waiting for pod %s to be scheduled", waiting[0]))
	default:
		c.recorder.Event(claim, corev1.EventTypeNormal, reasonWaitForPodScheduled, fmt.Sprintf("waiting for pods %s to be scheduled", strings.Join(waiting, ",")))
	}
}

// provision hands a claim to the provisioner of its class by annotating it,
// as the PV controller does for CSI drivers; the provisioner creates a
// volume pre-bound to the claim.
func (c *Controller) provision(ctx context.Context, claim *corev1.PersistentVolumeClaim, className string) error {
	class, err := c.classes.Get(className)
	if notFound(err) {
		c.recorder.Event(claim, corev1.EventTypeWarning, reasonProvisioningFailed, fmt.Sprintf("storageclass.storage.k8s.io %q not found", className))
		return nil
	} else if err != nil {
		return err
	}
	provisioner := class.Provisioner
	if provisioner == storageutil.LocalPathProvisioner && !storagehelpers.IsDelayBindingProvisioning(claim) {
		// A directory lives on one node, which only the scheduler can choose.
		c.recorder.Event(claim, corev1.EventTypeWarning, reasonProvisioningFailed,
			fmt.Sprintf("failed to provision volume with StorageClass %q: %s provisions only for a node chosen by the scheduler; use volumeBindingMode %s",
				className, provisioner, "WaitForFirstConsumer"))
		return nil
	}
	if claim.Annotations[storagehelpers.AnnStorageProvisioner] != provisioner || claim.Annotations[storagehelpers.AnnBetaStorageProvisioner] != provisioner {
		next := claim.DeepCopy()
		metav1.SetMetaDataAnnotation(&next.ObjectMeta, storagehelpers.AnnStorageProvisioner, provisioner)
		metav1.SetMetaDataAnnotation(&next.ObjectMeta, storagehelpers.AnnBetaStorageProvisioner, provisioner)
		if _, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, next, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("set provisioner of claim %s: %w", claimKey(claim), err)
		}
		// The update brings the claim back here, and the event is sent then.
		return nil
	}
	c.recorder.Event(claim, corev1.EventTypeNormal, reasonExternalProvisioning,
		fmt.Sprintf("Waiting for a volume to be created either by the external provisioner '%s' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.", provisioner))
	return nil
}

// syncBoundClaim handles a claim that names its volume: it completes the
// binding, or reports the volume missing or taken.
func (c *Controller) syncBoundClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	volume, err := c.pvs.Get(claim.Spec.VolumeName)
	if notFound(err) {
		if claim.Status.Phase == corev1.ClaimBound || metav1.HasAnnotation(claim.ObjectMeta, storagehelpers.AnnBindCompleted) {
			if claim.Status.Phase != corev1.ClaimLost {
				c.recorder.Event(claim, corev1.EventTypeWarning, reasonClaimLost, "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
			}
			_, err := c.updateClaimStatus(ctx, claim, corev1.ClaimLost, nil)
			return err
		}
		// Pre-bound by the user to a volume that does not exist yet.
		_, err := c.updateClaimStatus(ctx, claim, corev1.ClaimPending, nil)
		return err
	} else if err != nil {
		return err
	}
	if storagehelpers.IsVolumeBoundToClaim(volume, claim) {
		return c.bind(ctx, volume, claim)
	}
	if volume.Spec.ClaimRef == nil {
		// The user asked for this volume by name: it must still fit.
		if why := unsatisfied(volume, claim); why != "" {
			c.recorder.Event(claim, corev1.EventTypeWarning, reasonFailedBinding, fmt.Sprintf("Cannot bind to requested volume %q: %s", volume.Name, why))
			_, err := c.updateClaimStatus(ctx, claim, corev1.ClaimPending, nil)
			return err
		}
		return c.bind(ctx, volume, claim)
	}
	if metav1.HasAnnotation(claim.ObjectMeta, storagehelpers.AnnBindCompleted) {
		if claim.Status.Phase != corev1.ClaimLost {
			c.recorder.Event(claim, corev1.EventTypeWarning, reasonClaimLost, "Two claims are bound to the same volume, this one is bound incorrectly")
		}
		_, err := c.updateClaimStatus(ctx, claim, corev1.ClaimLost, nil)
		return err
	}
	c.recorder.Event(claim, corev1.EventTypeWarning, reasonFailedBinding, fmt.Sprintf("volume %q already bound to a different claim.", volume.Name))
	_, err = c.updateClaimStatus(ctx, claim, corev1.ClaimPending, nil)
	return err
}

// bind ties volume and claim together in upstream's order: the volume's
// claimRef first (so no other claim can take it), its phase, then the
// claim's volumeName and annotations, and last its status. Each step is
// skipped when already done, so an interrupted bind resumes.
func (c *Controller) bind(ctx context.Context, volume *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) error {
	next, dirty, err := storagehelpers.GetBindVolumeToClaim(volume, claim)
	if err != nil {
		return err
	}
	if dirty {
		if volume, err = c.client.CoreV1().PersistentVolumes().Update(ctx, next, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("bind volume %s to claim %s: %w", next.Name, claimKey(claim), err)
		}
	}
	if volume, err = c.updateVolumePhase(ctx, volume, corev1.VolumeBound, ""); err != nil {
		return err
	}

	if claim.Spec.VolumeName != volume.Name || !metav1.HasAnnotation(claim.ObjectMeta, storagehelpers.AnnBindCompleted) {
		nextClaim := claim.DeepCopy()
		if claim.Spec.VolumeName != volume.Name {
			nextClaim.Spec.VolumeName = volume.Name
			metav1.SetMetaDataAnnotation(&nextClaim.ObjectMeta, storagehelpers.AnnBoundByController, "yes")
		}
		metav1.SetMetaDataAnnotation(&nextClaim.ObjectMeta, storagehelpers.AnnBindCompleted, "yes")
		if claim, err = c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, nextClaim, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("bind claim %s to volume %s: %w", claimKey(nextClaim), volume.Name, err)
		}
	}
	wasBound := claim.Status.Phase == corev1.ClaimBound
	if _, err := c.updateClaimStatus(ctx, claim, corev1.ClaimBound, volume); err != nil {
		return err
	}
	if !wasBound {
		c.log.Info("bound claim to volume", "claim", claimKey(claim), "volume", volume.Name)
	}
	return nil
}

// unsatisfied says why volume cannot serve claim, or "".
func unsatisfied(volume *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) string {
	want := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	have := volume.Spec.Capacity[corev1.ResourceStorage]
	switch {
	case have.Cmp(want) < 0:
		return "requested PV is too small"
	case storagehelpers.GetPersistentVolumeClass(volume) != storagehelpers.GetPersistentVolumeClaimClass(claim):
		return "storageClassName does not match"
	case storagehelpers.CheckVolumeModeMismatches(&claim.Spec, &volume.Spec):
		return "incompatible volumeMode"
	case !storagehelpers.CheckAccessModes(claim, volume):
		return "incompatible accessMode"
	}
	return ""
}
