// Package namespace empties namespaces being deleted and then releases them,
// as kube-controller-manager's namespace controller does: every namespaced
// resource is deleted, and once nothing is left the "kubernetes" finalizer
// is removed through namespaces/finalize and the namespace itself goes.
package namespace

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Controller finalizes terminating namespaces.
type Controller struct {
	client   kubernetes.Interface
	metadata metadata.Interface
	factory  informers.SharedInformerFactory
	spaces   cache.Indexer
	queue    workqueue.TypedRateLimitingInterface[string]
	log      *slog.Logger
}

// New wires the controller to the namespace informer.
func New(client kubernetes.Interface, meta metadata.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	c := &Controller{
		client:   client,
		metadata: meta,
		factory:  factory,
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](
			100*time.Millisecond, 5*time.Second)),
		log: log,
	}
	inf := factory.Core().V1().Namespaces().Informer()
	c.spaces = inf.GetIndexer()
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { c.maybeEnqueue(obj) },
		UpdateFunc: func(_, obj interface{}) { c.maybeEnqueue(obj) },
	})
	return c
}

func (c *Controller) maybeEnqueue(obj interface{}) {
	if ns, ok := obj.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil {
		c.queue.Add(ns.Name)
	}
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	defer c.queue.ShutDown()
	c.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.factory.Core().V1().Namespaces().Informer().HasSynced) {
		return
	}
	go wait.UntilWithContext(ctx, c.work, time.Second)
	<-ctx.Done()
}

func (c *Controller) work(ctx context.Context) {
	for {
		name, quit := c.queue.Get()
		if quit {
			return
		}
		remaining, err := c.sync(ctx, name)
		switch {
		case err != nil:
			c.log.Warn("namespace deletion", "namespace", name, "err", err)
			c.queue.AddRateLimited(name)
		case remaining:
			// Pods wait for their node to stop them; look again soon.
			c.queue.AddAfter(name, time.Second)
		default:
			c.queue.Forget(name)
		}
		c.queue.Done(name)
	}
}

// sync deletes what is left in the namespace and reports whether anything
// still remains.
func (c *Controller) sync(ctx context.Context, name string) (bool, error) {
	obj, exists, err := c.spaces.GetByKey(name)
	if err != nil || !exists {
		return false, err
	}
	ns := obj.(*corev1.Namespace)
	if ns.DeletionTimestamp == nil || !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		return false, nil
	}
	gvrs, err := c.namespacedResources()
	if err != nil {
		return false, err
	}
	remaining := false
	for _, gvr := range gvrs {
		r := c.metadata.Resource(gvr).Namespace(name)
		if err := r.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
			return false, fmt.Errorf("delete %s: %w", gvr.Resource, err)
		}
		left, err := r.List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			return false, fmt.Errorf("list %s: %w", gvr.Resource, err)
		}
		if len(left.Items) > 0 {
			remaining = true
		}
	}
	if remaining {
		return true, nil
	}
	ns = ns.DeepCopy()
	ns.Spec.Finalizers = slices.DeleteFunc(ns.Spec.Finalizers, func(f corev1.FinalizerName) bool { return f == corev1.FinalizerKubernetes })
	if _, err := c.client.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("finalize: %w", err)
	}
	if err := c.client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("delete: %w", err)
	}
	return false, nil
}

// namespacedResources lists, through discovery, every namespaced resource
// that can be listed and deleted.
func (c *Controller) namespacedResources() ([]schema.GroupVersionResource, error) {
	lists, err := discovery.ServerPreferredNamespacedResources(c.client.Discovery())
	if err != nil && len(lists) == 0 {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	var out []schema.GroupVersionResource
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if slices.Contains(r.Verbs, "list") && slices.Contains(r.Verbs, "deletecollection") {
				out = append(out, gv.WithResource(r.Name))
			}
		}
	}
	return out, nil
}
