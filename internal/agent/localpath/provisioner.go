// Package localpath is orca's built-in dynamic provisioner, orca.io/local-path,
// run by every node agent for its own node. Only the agent can touch the
// node's disk, so provisioning and deletion both happen here, the way an
// external CSI provisioner would do them:
//
//   - a claim the PV controller handed to orca.io/local-path (annotation
//     volume.kubernetes.io/storage-provisioner) whose selected node
//     (volume.kubernetes.io/selected-node, set by the scheduler) is this
//     node gets a directory <data-dir>/storage/pvc-<claim uid> and a PV
//     pvc-<claim uid> pre-bound to it: a hostPath volume (DirectoryOrCreate)
//     with node affinity to this node, the claim's request as capacity and
//     the class's reclaim policy;
//   - a Released volume it provisioned on this node with reclaim policy
//     Delete has its directory removed, then the PV object deleted.
//
// The directory outlives the pods that use it: only deleting the claim (with
// reclaim policy Delete) removes it.
package localpath

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/tools/reference"
	"k8s.io/client-go/util/workqueue"
	storagehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/orca-pods/orca/internal/apis/storageutil"
	"github.com/orca-pods/orca/internal/controllers/queue"
)

// Dir is where a node's provisioned volumes live under the agent's data dir.
func Dir(dataDir string) string { return filepath.Join(dataDir, "storage") }

// Config wires a provisioner.
type Config struct {
	Client   kubernetes.Interface
	NodeName string
	// Dir holds the volumes' directories (Dir(data dir)).
	Dir string
	// Recorder reports Provisioning / ProvisioningSucceeded and failures.
	Recorder record.EventRecorder
	Logger   *slog.Logger
}

// Provisioner provisions and deletes this node's local-path volumes.
type Provisioner struct {
	cfg     Config
	factory informers.SharedInformerFactory
	pvcs    corelisters.PersistentVolumeClaimLister
	pvs     corelisters.PersistentVolumeLister
	classes storagelisters.StorageClassLister
	synced  []cache.InformerSynced
	queue   workqueue.TypedRateLimitingInterface[string]
	log     *slog.Logger
}

// Queue keys: "pvc/<namespace>/<name>" or "pv/<name>".
const (
	claimPrefix  = "pvc/"
	volumePrefix = "pv/"
)

// New returns a provisioner; Run starts it.
func New(cfg Config) *Provisioner {
	factory := informers.NewSharedInformerFactory(cfg.Client, 0)
	core := factory.Core().V1()
	pvcInf, pvInf := core.PersistentVolumeClaims(), core.PersistentVolumes()
	scInf := factory.Storage().V1().StorageClasses()
	p := &Provisioner{
		cfg:     cfg,
		factory: factory,
		pvcs:    pvcInf.Lister(),
		pvs:     pvInf.Lister(),
		classes: scInf.Lister(),
		synced:  []cache.InformerSynced{pvcInf.Informer().HasSynced, pvInf.Informer().HasSynced, scInf.Informer().HasSynced},
		queue:   workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		log:     cfg.Logger.With("component", "local-path-provisioner"),
	}
	pvcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    p.enqueueClaim,
		UpdateFunc: func(_, obj any) { p.enqueueClaim(obj) },
	})
	pvInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    p.enqueueVolume,
		UpdateFunc: func(_, obj any) { p.enqueueVolume(obj) },
	})
	return p
}

func (p *Provisioner) enqueueClaim(obj any) {
	if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok && p.wantsClaim(pvc) {
		p.queue.Add(claimPrefix + pvc.Namespace + "/" + pvc.Name)
	}
}

func (p *Provisioner) enqueueVolume(obj any) {
	if pv, ok := obj.(*corev1.PersistentVolume); ok && p.owns(pv) {
		p.queue.Add(volumePrefix + pv.Name)
	}
}

// wantsClaim: an unbound claim handed to this provisioner for this node.
func (p *Provisioner) wantsClaim(pvc *corev1.PersistentVolumeClaim) bool {
	return pvc.Spec.VolumeName == "" && pvc.DeletionTimestamp == nil &&
		pvc.Annotations[storagehelpers.AnnStorageProvisioner] == storageutil.LocalPathProvisioner &&
		pvc.Annotations[storagehelpers.AnnSelectedNode] == p.cfg.NodeName
}

// owns: a volume this provisioner made on this node.
func (p *Provisioner) owns(pv *corev1.PersistentVolume) bool {
	return pv.Annotations[storagehelpers.AnnDynamicallyProvisioned] == storageutil.LocalPathProvisioner &&
		NodeOf(pv) == p.cfg.NodeName
}

// NodeOf returns the node a local-path volume lives on, from its node
// affinity (kubernetes.io/hostname In [node]), or "".
func NodeOf(pv *corev1.PersistentVolume) string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return ""
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range term.MatchExpressions {
			if e.Key == corev1.LabelHostname && e.Operator == corev1.NodeSelectorOpIn && len(e.Values) == 1 {
				return e.Values[0]
			}
		}
	}
	return ""
}

// Run works until ctx ends.
func (p *Provisioner) Run(ctx context.Context) {
	defer p.queue.ShutDown()
	if err := os.MkdirAll(p.cfg.Dir, 0o711); err != nil {
		p.log.Error("create local-path storage directory", "dir", p.cfg.Dir, "err", err)
	}
	p.factory.Start(ctx.Done())
	defer p.factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), p.synced...) {
		return
	}
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		queue.Work(ctx, p.queue, p.sync, p.log, "local-path volume")
	}, time.Second)
	<-ctx.Done()
}

func (p *Provisioner) sync(ctx context.Context, key string) error {
	if name, ok := strings.CutPrefix(key, volumePrefix); ok {
		return p.syncVolume(ctx, name)
	}
	ns, name, ok := strings.Cut(strings.TrimPrefix(key, claimPrefix), "/")
	if !ok {
		return nil
	}
	return p.syncClaim(ctx, ns, name)
}

// volumeName is the PV for a claim, named as external provisioners name them.
func volumeName(pvc *corev1.PersistentVolumeClaim) string { return "pvc-" + string(pvc.UID) }

func (p *Provisioner) syncClaim(ctx context.Context, ns, name string) error {
	pvc, err := p.pvcs.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if !p.wantsClaim(pvc) {
		return nil
	}
	pvName := volumeName(pvc)
	if _, err := p.pvs.Get(pvName); err == nil {
		return nil // made already; the PV controller binds it
	}
	// The cache may not have the volume made a moment ago yet.
	if _, err := p.cfg.Client.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{}); err == nil {
		return nil
	}
	className := storagehelpers.GetPersistentVolumeClaimClass(pvc)
	class, err := p.classes.Get(className)
	if err != nil {
		p.event(pvc, corev1.EventTypeWarning, "ProvisioningFailed", fmt.Sprintf("failed to get StorageClass %q: %v", className, err))
		return err
	}
	p.event(pvc, corev1.EventTypeNormal, "Provisioning", fmt.Sprintf("External provisioner is provisioning volume for claim %q", ns+"/"+name))
	pv, err := p.provision(pvc, class.ReclaimPolicy, class.MountOptions)
	if err != nil {
		p.event(pvc, corev1.EventTypeWarning, "ProvisioningFailed", fmt.Sprintf("failed to provision volume with StorageClass %q: %v", className, err))
		return err
	}
	if _, err := p.cfg.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		p.event(pvc, corev1.EventTypeWarning, "ProvisioningFailed", fmt.Sprintf("failed to provision volume with StorageClass %q: %v", className, err))
		return fmt.Errorf("create volume %s: %w", pv.Name, err)
	}
	p.log.Info("provisioned volume", "volume", pv.Name, "claim", ns+"/"+name, "path", pv.Spec.HostPath.Path)
	p.event(pvc, corev1.EventTypeNormal, "ProvisioningSucceeded", fmt.Sprintf("Successfully provisioned volume %s", pv.Name))
	return nil
}

// provision makes the claim's directory and returns its PV object.
func (p *Provisioner) provision(pvc *corev1.PersistentVolumeClaim, reclaim *corev1.PersistentVolumeReclaimPolicy, mountOptions []string) (*corev1.PersistentVolume, error) {
	if mode := pvc.Spec.VolumeMode; mode != nil && *mode == corev1.PersistentVolumeBlock {
		return nil, errors.New("block volumes are not supported by " + storageutil.LocalPathProvisioner)
	}
	name := volumeName(pvc)
	dir := filepath.Join(p.cfg.Dir, name)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	// Writable by any container user, whatever the umask, as an emptyDir.
	if err := os.Chmod(dir, 0o777); err != nil {
		return nil, err
	}
	ref, err := reference.GetReference(scheme.Scheme, pvc)
	if err != nil {
		return nil, err
	}
	policy := corev1.PersistentVolumeReclaimDelete
	if reclaim != nil {
		policy = *reclaim
	}
	hostPathType := corev1.HostPathDirectoryOrCreate
	fs := corev1.PersistentVolumeFilesystem
	var finalizers []string
	if policy == corev1.PersistentVolumeReclaimDelete {
		// Deleting the PV by hand must not leave its directory behind.
		finalizers = []string{storagehelpers.PVDeletionProtectionFinalizer}
	}
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{storagehelpers.AnnDynamicallyProvisioned: storageutil.LocalPathProvisioner},
			Finalizers:  finalizers,
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: pvc.Spec.Resources.Requests[corev1.ResourceStorage]},
			AccessModes:                   pvc.Spec.AccessModes,
			ClaimRef:                      ref,
			PersistentVolumeReclaimPolicy: policy,
			StorageClassName:              storagehelpers.GetPersistentVolumeClaimClass(pvc),
			MountOptions:                  mountOptions,
			VolumeMode:                    &fs,
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &hostPathType},
			},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{p.cfg.NodeName},
				}}}},
			}},
		},
	}, nil
}

// syncVolume deletes a Released Delete-policy volume: the directory first,
// so that a failure leaves the PV (and the reason) visible, then the PV. A
// PV an administrator deletes goes the same way once no claim is bound to
// it; the provisioner's finalizer keeps it until its directory is gone.
func (p *Provisioner) syncVolume(ctx context.Context, name string) error {
	pv, err := p.pvs.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if !p.owns(pv) || pv.Spec.HostPath == nil {
		return nil
	}
	deleting := pv.DeletionTimestamp != nil
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		// Retained data is not this provisioner's to remove.
		if deleting {
			return p.releaseFinalizer(ctx, pv)
		}
		return nil
	}
	if pv.Status.Phase != corev1.VolumeReleased && !(deleting && pv.Status.Phase != corev1.VolumeBound) {
		return nil
	}
	dir := filepath.Clean(pv.Spec.HostPath.Path)
	// Only ever remove what this provisioner made.
	if filepath.Dir(dir) != filepath.Clean(p.cfg.Dir) || !strings.HasPrefix(filepath.Base(dir), "pvc-") {
		p.event(pv, corev1.EventTypeWarning, "VolumeFailedDelete", fmt.Sprintf("refusing to delete %s: not under %s", dir, p.cfg.Dir))
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		p.event(pv, corev1.EventTypeWarning, "VolumeFailedDelete", err.Error())
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	if err := p.releaseFinalizer(ctx, pv); err != nil {
		return err
	}
	if !deleting {
		uid := pv.UID
		err = p.cfg.Client.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete volume %s: %w", name, err)
		}
	}
	p.log.Info("deleted released volume", "volume", name, "path", dir)
	return nil
}

// releaseFinalizer drops the provisioner's finalizer from pv, if it has it.
func (p *Provisioner) releaseFinalizer(ctx context.Context, pv *corev1.PersistentVolume) error {
	if !slices.Contains(pv.Finalizers, storagehelpers.PVDeletionProtectionFinalizer) {
		return nil
	}
	next := pv.DeepCopy()
	next.Finalizers = slices.DeleteFunc(next.Finalizers, func(f string) bool { return f == storagehelpers.PVDeletionProtectionFinalizer })
	if _, err := p.cfg.Client.CoreV1().PersistentVolumes().Update(ctx, next, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer of volume %s: %w", pv.Name, err)
	}
	return nil
}

func (p *Provisioner) event(obj runtime.Object, eventType, reason, message string) {
	if p.cfg.Recorder != nil {
		p.cfg.Recorder.Event(obj, eventType, reason, message)
	}
}
