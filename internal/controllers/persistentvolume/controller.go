// Package persistentvolume is orca's PV binder, a simplified
// kube-controller-manager persistentvolume controller. It binds pending
// claims to matching Available volumes (or to the volume the scheduler chose
// or a provisioner created for them), keeps the phases of both sides right,
// asks provisioners for volumes, and applies a volume's reclaim policy once
// its claim is gone.
//
// Provisioning and deletion are "external", as with CSI: the controller
// annotates a claim with the provisioner of its class and the provisioner
// (orca.io/local-path runs in each node agent) creates a PV pre-bound to the
// claim, which the controller then binds. A Released volume with reclaim
// policy Delete that a provisioner created is left for that provisioner to
// delete.
package persistentvolume

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/orca-pods/orca/internal/controllers/queue"
)

// ComponentName is the source of the controller's events, as upstream.
const ComponentName = "persistentvolume-controller"

// resyncPeriod is how often every claim and volume is looked at again
// (kube-controller-manager's --pvclaimbinder-sync-period): events such as
// WaitForFirstConsumer repeat at this pace, and anything missed is caught.
const resyncPeriod = 15 * time.Second

// Config wires the controller.
type Config struct {
	Client  kubernetes.Interface
	Factory informers.SharedInformerFactory
	// Recorder, if nil, is a broadcaster to the API started by Run.
	Recorder record.EventRecorder
	Logger   *slog.Logger
}

// Controller binds claims and volumes.
type Controller struct {
	client   kubernetes.Interface
	factory  informers.SharedInformerFactory
	pvs      corelisters.PersistentVolumeLister
	pvcs     corelisters.PersistentVolumeClaimLister
	classes  storagelisters.StorageClassLister
	pods     corelisters.PodLister
	synced   []cache.InformerSynced
	claims   workqueue.TypedRateLimitingInterface[string]
	volumes  workqueue.TypedRateLimitingInterface[string]
	recorder record.EventRecorder
	log      *slog.Logger
}

// New wires the controller to shared informers; Run starts it.
func New(cfg Config) *Controller {
	core := cfg.Factory.Core().V1()
	pvInf, pvcInf, podInf := core.PersistentVolumes(), core.PersistentVolumeClaims(), core.Pods()
	scInf := cfg.Factory.Storage().V1().StorageClasses()
	c := &Controller{
		client:   cfg.Client,
		factory:  cfg.Factory,
		pvs:      pvInf.Lister(),
		pvcs:     pvcInf.Lister(),
		classes:  scInf.Lister(),
		pods:     podInf.Lister(),
		synced:   []cache.InformerSynced{pvInf.Informer().HasSynced, pvcInf.Informer().HasSynced, scInf.Informer().HasSynced, podInf.Informer().HasSynced},
		claims:   workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		volumes:  workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		recorder: cfg.Recorder,
		log:      cfg.Logger,
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	pvcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueueClaim(obj) },
		UpdateFunc: func(_, obj any) { c.enqueueClaim(obj) },
		DeleteFunc: func(obj any) {
			// The volume it was bound to is now Released.
			if pvc := claimFrom(obj); pvc != nil {
				c.enqueueVolumesOf(pvc)
			}
		},
	})
	pvInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueueVolume(obj) },
		UpdateFunc: func(_, obj any) { c.enqueueVolume(obj) },
		DeleteFunc: func(obj any) {
			// A bound claim whose volume went away is Lost.
			if pv := volumeFrom(obj); pv != nil && pv.Spec.ClaimRef != nil {
				c.claims.Add(pv.Spec.ClaimRef.Namespace + "/" + pv.Spec.ClaimRef.Name)
			}
		},
	})
	scInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		// Claims waiting for their class can go on.
		AddFunc: func(any) { c.enqueueAll() },
	})
	return c
}

func claimFrom(obj any) *corev1.PersistentVolumeClaim {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pvc, _ := obj.(*corev1.PersistentVolumeClaim)
	return pvc
}

func volumeFrom(obj any) *corev1.PersistentVolume {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pv, _ := obj.(*corev1.PersistentVolume)
	return pv
}

func (c *Controller) enqueueClaim(obj any) {
	if pvc := claimFrom(obj); pvc != nil {
		c.claims.Add(pvc.Namespace + "/" + pvc.Name)
	}
}

func (c *Controller) enqueueVolume(obj any) {
	pv := volumeFrom(obj)
	if pv == nil {
		return
	}
	c.volumes.Add(pv.Name)
	// A provisioner saves a PV pre-bound to its claim and expects the
	// claim side to follow soon; a free volume may suit any pending claim.
	if ref := pv.Spec.ClaimRef; ref != nil {
		c.claims.Add(ref.Namespace + "/" + ref.Name)
	} else if pv.Status.Phase == corev1.VolumeAvailable {
		pvcs, _ := c.pvcs.List(labels.Everything())
		for _, pvc := range pvcs {
			if pvc.Spec.VolumeName == "" {
				c.claims.Add(pvc.Namespace + "/" + pvc.Name)
			}
		}
	}
}

func (c *Controller) enqueueVolumesOf(pvc *corev1.PersistentVolumeClaim) {
	if pvc.Spec.VolumeName != "" {
		c.volumes.Add(pvc.Spec.VolumeName)
	}
	pvs, _ := c.pvs.List(labels.Everything())
	for _, pv := range pvs {
		if ref := pv.Spec.ClaimRef; ref != nil && ref.Namespace == pvc.Namespace && ref.Name == pvc.Name {
			c.volumes.Add(pv.Name)
		}
	}
}

func (c *Controller) enqueueAll() {
	pvcs, _ := c.pvcs.List(labels.Everything())
	for _, pvc := range pvcs {
		c.claims.Add(pvc.Namespace + "/" + pvc.Name)
	}
	pvs, _ := c.pvs.List(labels.Everything())
	for _, pv := range pvs {
		c.volumes.Add(pv.Name)
	}
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	defer c.claims.ShutDown()
	defer c.volumes.ShutDown()
	if c.recorder == nil {
		broadcaster := record.NewBroadcaster(record.WithContext(ctx))
		broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
		defer broadcaster.Shutdown()
		c.recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: ComponentName})
	}
	c.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		queue.Work(ctx, c.claims, c.syncClaim, c.log, "sync claim")
	}, time.Second)
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		queue.Work(ctx, c.volumes, c.syncVolume, c.log, "sync volume")
	}, time.Second)
	wait.UntilWithContext(ctx, func(context.Context) { c.enqueueAll() }, resyncPeriod)
}

// claimKey is how claims are named in messages: namespace/name.
func claimKey(pvc *corev1.PersistentVolumeClaim) string { return pvc.Namespace + "/" + pvc.Name }

// updateClaimStatus sets a claim's phase and, when bound, the capacity and
// access modes of its volume; it writes only if something changed.
func (c *Controller) updateClaimStatus(ctx context.Context, pvc *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase, pv *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	next := pvc.DeepCopy()
	next.Status.Phase = phase
	if pv != nil {
		next.Status.AccessModes = pv.Spec.AccessModes
		next.Status.Capacity = pv.Spec.Capacity.DeepCopy()
	}
	if equalClaimStatus(&pvc.Status, &next.Status) {
		return pvc, nil
	}
	updated, err := c.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update status of claim %s: %w", claimKey(pvc), err)
	}
	c.log.Debug("claim phase", "claim", claimKey(pvc), "phase", phase)
	return updated, nil
}

func equalClaimStatus(a, b *corev1.PersistentVolumeClaimStatus) bool {
	if a.Phase != b.Phase || len(a.AccessModes) != len(b.AccessModes) || len(a.Capacity) != len(b.Capacity) {
		return false
	}
	for i := range a.AccessModes {
		if a.AccessModes[i] != b.AccessModes[i] {
			return false
		}
	}
	for k, v := range a.Capacity {
		if w, ok := b.Capacity[k]; !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

// updateVolumePhase sets a volume's phase and message, if different.
func (c *Controller) updateVolumePhase(ctx context.Context, pv *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, message string) (*corev1.PersistentVolume, error) {
	if pv.Status.Phase == phase && pv.Status.Message == message {
		return pv, nil
	}
	next := pv.DeepCopy()
	next.Status.Phase = phase
	next.Status.Message = message
	updated, err := c.client.CoreV1().PersistentVolumes().UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update phase of volume %s: %w", pv.Name, err)
	}
	c.log.Debug("volume phase", "volume", pv.Name, "phase", phase)
	return updated, nil
}

// notFound tells a lookup miss from a failure.
func notFound(err error) bool { return apierrors.IsNotFound(err) }
