// Package rootcacert publishes the cluster CA as the ConfigMap
// kube-root-ca.crt in every namespace, as kube-controller-manager's
// root-ca-cert-publisher does. Pods read it through their kube-api-access
// volume (ca.crt) to verify the API server.
package rootcacert

import (
	"context"
	"log/slog"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/orca-pods/orca/internal/controllers/queue"
)

const (
	// ConfigMapName is the ConfigMap every namespace gets.
	ConfigMapName = "kube-root-ca.crt"
	// Key holds the PEM bundle.
	Key = "ca.crt"

	descriptionAnnotation = "kubernetes.io/description"
	description           = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
		"No other usage is guaranteed across distributions of Kubernetes clusters."
)

// Publisher keeps kube-root-ca.crt in every active namespace, recreating it
// when deleted and restoring it when edited.
type Publisher struct {
	client     kubernetes.Interface
	factory    informers.SharedInformerFactory
	rootCA     string
	configMaps corev1listers.ConfigMapLister
	namespaces corev1listers.NamespaceLister
	synced     []cache.InformerSynced
	queue      workqueue.TypedRateLimitingInterface[string]
	log        *slog.Logger
}

// New wires the publisher to shared informers; call Run after. rootCA is
// the PEM bundle to publish.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, rootCA []byte, log *slog.Logger) *Publisher {
	p := &Publisher{
		client:  client,
		factory: factory,
		rootCA:  string(rootCA),
		queue:   workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		log:     log,
	}
	cms := factory.Core().V1().ConfigMaps()
	nss := factory.Core().V1().Namespaces()
	p.configMaps, p.namespaces = cms.Lister(), nss.Lister()
	p.synced = []cache.InformerSynced{cms.Informer().HasSynced, nss.Informer().HasSynced}
	cms.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj interface{}) { p.configMapChanged(obj) },
		DeleteFunc: p.configMapChanged,
	})
	nss.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { p.queue.Add(obj.(*corev1.Namespace).Name) },
		UpdateFunc: func(_, obj interface{}) { p.queue.Add(obj.(*corev1.Namespace).Name) },
	})
	return p
}

func (p *Publisher) configMapChanged(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Name == ConfigMapName {
		p.queue.Add(cm.Namespace)
	}
}

// Run publishes until ctx ends.
func (p *Publisher) Run(ctx context.Context) {
	defer p.queue.ShutDown()
	p.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), p.synced...) {
		return
	}
	go wait.UntilWithContext(ctx, p.work, time.Second)
	<-ctx.Done()
}

func (p *Publisher) work(ctx context.Context) {
	queue.Work(ctx, p.queue, p.sync, p.log, "publish root ca")
}

func (p *Publisher) sync(ctx context.Context, namespace string) error {
	ns, err := p.namespaces.Get(namespace)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.Status.Phase != corev1.NamespaceActive || ns.DeletionTimestamp != nil {
		return nil
	}
	data := map[string]string{Key: p.rootCA}
	cm, err := p.configMaps.ConfigMaps(namespace).Get(ConfigMapName)
	if apierrors.IsNotFound(err) {
		_, err = p.client.CoreV1().ConfigMaps(namespace).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name:        ConfigMapName,
				Annotations: map[string]string{descriptionAnnotation: description},
			},
			Data: data,
		}, metav1.CreateOptions{})
		// A namespace going away (or gone) needs no CA.
		if apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	if maps.Equal(cm.Data, data) && cm.Annotations[descriptionAnnotation] != "" {
		return nil
	}
	cm = cm.DeepCopy()
	cm.Data = data
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[descriptionAnnotation] = description
	_, err = p.client.CoreV1().ConfigMaps(namespace).Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		// Deleted meanwhile: the delete event requeues the namespace.
		return nil
	}
	return err
}
