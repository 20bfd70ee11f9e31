// Package serviceaccount keeps a "default" ServiceAccount in every active
// namespace, as kube-controller-manager's service account controller does.
package serviceaccount

import (
	"context"
	"github.com/orca-pods/orca/internal/controllers/queue"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// DefaultName is the account every pod gets unless it names another.
const DefaultName = "default"

// Controller creates missing default service accounts.
type Controller struct {
	client   kubernetes.Interface
	factory  informers.SharedInformerFactory
	queue    workqueue.TypedRateLimitingInterface[string]
	accounts cache.Indexer
	spaces   cache.Indexer
	log      *slog.Logger
}

// New wires the controller to shared informers; call Run after.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	c := &Controller{
		client:  client,
		factory: factory,
		queue:   workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		log:     log,
	}
	ns := factory.Core().V1().Namespaces().Informer()
	sa := factory.Core().V1().ServiceAccounts().Informer()
	c.spaces, c.accounts = ns.GetIndexer(), sa.GetIndexer()
	ns.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { c.enqueue(obj.(*corev1.Namespace).Name) },
		UpdateFunc: func(_, obj interface{}) { c.enqueue(obj.(*corev1.Namespace).Name) },
	})
	sa.AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if a, ok := obj.(*corev1.ServiceAccount); ok && a.Name == DefaultName {
				c.enqueue(a.Namespace)
			}
		},
	})
	return c
}

func (c *Controller) enqueue(ns string) { c.queue.Add(ns) }

// Run processes namespaces until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	defer c.queue.ShutDown()
	c.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.factory.Core().V1().Namespaces().Informer().HasSynced,
		c.factory.Core().V1().ServiceAccounts().Informer().HasSynced) {
		return
	}
	go wait.UntilWithContext(ctx, c.work, time.Second)
	<-ctx.Done()
}

func (c *Controller) work(ctx context.Context) {
	queue.Work(ctx, c.queue, c.sync, c.log, "ensure default service account")
}

func (c *Controller) sync(ctx context.Context, name string) error {
	obj, exists, err := c.spaces.GetByKey(name)
	if err != nil || !exists {
		return err
	}
	if ns := obj.(*corev1.Namespace); ns.Status.Phase != corev1.NamespaceActive || ns.DeletionTimestamp != nil {
		return nil
	}
	if _, exists, _ := c.accounts.GetByKey(name + "/" + DefaultName); exists {
		return nil
	}
	_, err = c.client.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: DefaultName, Namespace: name},
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
