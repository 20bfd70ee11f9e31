package serviceaccount

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

// clientGetter reads accounts and pods from informer caches, which every
// authenticated request hits, and falls back to a live GET on a miss (an
// object created a moment ago, or a cache not synced yet), as
// kube-apiserver's getter does. Secrets and nodes are read live: tokens
// bound to them are rare, and caching every secret is not worth it.
type clientGetter struct {
	client   kubernetes.Interface
	accounts corev1listers.ServiceAccountLister
	pods     corev1listers.PodLister
}

// NewClientGetter returns a Getter over client. It registers its informers
// with factory, so it must be called before the factory starts.
func NewClientGetter(client kubernetes.Interface, factory informers.SharedInformerFactory) Getter {
	return &clientGetter{
		client:   client,
		accounts: factory.Core().V1().ServiceAccounts().Lister(),
		pods:     factory.Core().V1().Pods().Lister(),
	}
}

func (g *clientGetter) GetServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	if sa, err := g.accounts.ServiceAccounts(namespace).Get(name); err == nil {
		return sa, nil
	}
	return g.client.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (g *clientGetter) GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	if pod, err := g.pods.Pods(namespace).Get(name); err == nil {
		return pod, nil
	}
	return g.client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (g *clientGetter) GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return g.client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (g *clientGetter) GetNode(ctx context.Context, name string) (*corev1.Node, error) {
	return g.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
}
