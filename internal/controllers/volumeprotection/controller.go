// Package volumeprotection removes the finalizers that keep storage objects
// in use, as kube-controller-manager's pvc-protection and pv-protection
// controllers do: a deleted claim goes once no scheduled, running pod uses
// it, a deleted volume once no claim is bound to it. Until then `kubectl get`
// shows them Terminating. The StorageObjectInUseProtection admission plugin
// adds the finalizers when the objects are created.
package volumeprotection

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/orca-pods/orca/internal/apis/storageutil"
	"github.com/orca-pods/orca/internal/controllers/queue"
)

// Keys in the queue are "pvc/<namespace>/<name>" or "pv/<name>".
const (
	claimPrefix  = "pvc/"
	volumePrefix = "pv/"
)

// Controller releases deleted claims and volumes nothing uses.
type Controller struct {
	client  kubernetes.Interface
	factory informers.SharedInformerFactory
	pvcs    corelisters.PersistentVolumeClaimLister
	pvs     corelisters.PersistentVolumeLister
	pods    corelisters.PodLister
	synced  []cache.InformerSynced
	queue   workqueue.TypedRateLimitingInterface[string]
	log     *slog.Logger
}

// New wires the controller to shared informers; Run starts it.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	core := factory.Core().V1()
	pvcInf, pvInf, podInf := core.PersistentVolumeClaims(), core.PersistentVolumes(), core.Pods()
	c := &Controller{
		client:  client,
		factory: factory,
		pvcs:    pvcInf.Lister(),
		pvs:     pvInf.Lister(),
		pods:    podInf.Lister(),
		synced:  []cache.InformerSynced{pvcInf.Informer().HasSynced, pvInf.Informer().HasSynced, podInf.Informer().HasSynced},
		queue:   workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		log:     log,
	}
	pvcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueueClaim(obj) },
		UpdateFunc: func(_, obj any) { c.enqueueClaim(obj) },
	})
	pvInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueueVolume(obj) },
		UpdateFunc: func(_, obj any) { c.enqueueVolume(obj) },
	})
	// A pod finishing or going away may free the claims it used.
	podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { c.enqueuePodClaims(obj) },
		DeleteFunc: func(obj any) { c.enqueuePodClaims(obj) },
	})
	return c
}

func (c *Controller) enqueueClaim(obj any) {
	if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok && pvc.DeletionTimestamp != nil {
		c.queue.Add(claimPrefix + pvc.Namespace + "/" + pvc.Name)
	}
}

func (c *Controller) enqueueVolume(obj any) {
	if pv, ok := obj.(*corev1.PersistentVolume); ok && pv.DeletionTimestamp != nil {
		c.queue.Add(volumePrefix + pv.Name)
	}
}

func (c *Controller) enqueuePodClaims(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	for i := range pod.Spec.Volumes {
		if name, ok := storageutil.ClaimName(pod, &pod.Spec.Volumes[i]); ok {
			c.queue.Add(claimPrefix + pod.Namespace + "/" + name)
		}
	}
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	defer c.queue.ShutDown()
	c.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		queue.Work(ctx, c.queue, c.sync, c.log, "release protected storage object")
	}, time.Second)
	<-ctx.Done()
}

func (c *Controller) sync(ctx context.Context, key string) error {
	if name, ok := strings.CutPrefix(key, volumePrefix); ok {
		return c.syncVolume(ctx, name)
	}
	ns, name, ok := strings.Cut(strings.TrimPrefix(key, claimPrefix), "/")
	if !ok {
		return nil
	}
	return c.syncClaim(ctx, ns, name)
}

func (c *Controller) syncClaim(ctx context.Context, ns, name string) error {
	pvc, err := c.pvcs.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if pvc.DeletionTimestamp == nil || !slices.Contains(pvc.Finalizers, storageutil.PVCProtectionFinalizer) {
		return nil
	}
	inUse, err := c.claimInUse(ctx, pvc)
	if err != nil || inUse {
		return err
	}
	next := pvc.DeepCopy()
	next.Finalizers = slices.DeleteFunc(next.Finalizers, func(f string) bool { return f == storageutil.PVCProtectionFinalizer })
	if _, err := c.client.CoreV1().PersistentVolumeClaims(ns).Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("remove finalizer of claim %s/%s: %w", ns, name, err)
	}
	c.log.Info("claim no longer in use; removed its protection finalizer", "claim", ns+"/"+name)
	return nil
}

// claimInUse reports whether a pod on a node may still have the claim
// mounted: scheduled and not finished. The cache answers "in use" alone; a
// "not in use" is confirmed with a live list, since removing the finalizer
// cannot be taken back.
func (c *Controller) claimInUse(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (bool, error) {
	cached, err := c.pods.Pods(pvc.Namespace).List(labels.Everything())
	if err != nil {
		return false, err
	}
	if slices.ContainsFunc(cached, func(p *corev1.Pod) bool { return podUses(p, pvc.Name) }) {
		return true, nil
	}
	live, err := c.client.CoreV1().Pods(pvc.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, fmt.Errorf("list pods of namespace %s: %w", pvc.Namespace, err)
	}
	for i := range live.Items {
		if podUses(&live.Items[i], pvc.Name) {
			return true, nil
		}
	}
	return false, nil
}

// podUses: an unscheduled pod never mounted the claim (and the scheduler
// refuses deleted claims), a finished one has let go of it.
func podUses(pod *corev1.Pod, claim string) bool {
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	return storageutil.UsesClaim(pod, claim)
}

func (c *Controller) syncVolume(ctx context.Context, name string) error {
	pv, err := c.pvs.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if pv.DeletionTimestamp == nil || !slices.Contains(pv.Finalizers, storageutil.PVProtectionFinalizer) {
		return nil
	}
	if pv.Status.Phase == corev1.VolumeBound {
		return nil
	}
	next := pv.DeepCopy()
	next.Finalizers = slices.DeleteFunc(next.Finalizers, func(f string) bool { return f == storageutil.PVProtectionFinalizer })
	if _, err := c.client.CoreV1().PersistentVolumes().Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("remove finalizer of volume %s: %w", name, err)
	}
	c.log.Info("volume no longer bound; removed its protection finalizer", "volume", name)
	return nil
}
