// Package nodeipam does what Kubernetes' node IPAM controller does with
// --allocate-node-cidrs (the range allocator): it gives every node without
// one a pod CIDR, the next free subnet of the cluster CIDR, in both
// spec.podCIDR and spec.podCIDRs. Those fields are immutable once set, so
// a subnet stays with its node until the node is deleted; no subnet is
// ever given to two nodes. The agent of each node builds its pod network
// from its node's pod CIDR.
package nodeipam

import (
	"context"
	"errors"
	"fmt"
	"github.com/orca-pods/orca/internal/controllers/queue"
	"log/slog"
	"net"
	"sync"
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
)

const (
	// DefaultClusterCIDR is k3s' default --cluster-cidr.
	DefaultClusterCIDR = "10.42.0.0/16"
	// DefaultNodeMaskSize gives each node a /24: 253 pod addresses.
	DefaultNodeMaskSize = 24
)

// Config wires the controller.
type Config struct {
	Client  kubernetes.Interface
	Factory informers.SharedInformerFactory
	// ClusterCIDR is split into node pod CIDRs; DefaultClusterCIDR if nil.
	ClusterCIDR *net.IPNet
	// NodeMaskSize is the prefix length of each node's pod CIDR;
	// DefaultNodeMaskSize if 0.
	NodeMaskSize int
	Logger       *slog.Logger
}

// Controller assigns pod CIDRs to nodes.
type Controller struct {
	client  kubernetes.Interface
	factory informers.SharedInformerFactory
	nodes   corelisters.NodeLister
	synced  []cache.InformerSynced
	queue   workqueue.TypedRateLimitingInterface[string]
	cidrs   *cidrSet
	log     *slog.Logger
}

// New validates cfg and returns a controller; Run starts it.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Factory == nil {
		return nil, errors.New("nodeipam: client and informer factory are required")
	}
	if cfg.ClusterCIDR == nil {
		_, cfg.ClusterCIDR, _ = net.ParseCIDR(DefaultClusterCIDR)
	}
	if cfg.NodeMaskSize == 0 {
		cfg.NodeMaskSize = DefaultNodeMaskSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cidrs, err := newCIDRSet(cfg.ClusterCIDR, cfg.NodeMaskSize)
	if err != nil {
		return nil, fmt.Errorf("nodeipam: %w", err)
	}
	nodeInf := cfg.Factory.Core().V1().Nodes()
	c := &Controller{
		client:  cfg.Client,
		factory: cfg.Factory,
		nodes:   nodeInf.Lister(),
		queue:   workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		cidrs:   cidrs,
		log:     cfg.Logger,
	}
	reg, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { c.observe(obj.(*corev1.Node)) },
		UpdateFunc: func(_, obj interface{}) { c.observe(obj.(*corev1.Node)) },
		DeleteFunc: c.forget,
	})
	if err != nil {
		return nil, fmt.Errorf("nodeipam: %w", err)
	}
	// The handler's own sync, not just the informer's: every existing
	// node's pod CIDR is recorded before the first allocation.
	c.synced = []cache.InformerSynced{nodeInf.Informer().HasSynced, reg.HasSynced}
	return c, nil
}

// Run works until ctx ends, and returns when its worker has stopped.
func (c *Controller) Run(ctx context.Context) {
	var worker sync.WaitGroup
	defer worker.Wait()
	defer c.queue.ShutDown() // ends the worker's Get
	c.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	// Rebuild the used set from every node once more, now that the cache
	// is complete (observe is idempotent).
	if nodes, err := c.nodes.List(labels.Everything()); err == nil {
		for _, node := range nodes {
			c.observe(node)
		}
	}
	worker.Go(func() { wait.UntilWithContext(ctx, c.work, time.Second) })
	<-ctx.Done()
}

// observe records the pod CIDRs a node has and queues a node that lacks
// one (or has only one of the two fields).
func (c *Controller) observe(node *corev1.Node) {
	cidrs := podCIDRs(node)
	if len(cidrs) == 0 || node.Spec.PodCIDR == "" || len(node.Spec.PodCIDRs) == 0 {
		c.queue.Add(node.Name)
	}
	if len(cidrs) == 0 {
		// Maybe a view older than the update assigning it one: a
		// reservation for it stays.
		return
	}
	var keep []int
	for _, cidr := range cidrs {
		if others := c.cidrs.occupy(node.Name, cidr); len(others) > 0 {
			c.log.Warn("node pod CIDR overlaps other nodes'", "node", node.Name, "podCIDR", cidr, "others", others)
		}
		keep = append(keep, c.cidrs.indexes(cidr)...)
	}
	c.cidrs.releaseExcept(node.Name, keep)
}

func (c *Controller) forget(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	c.cidrs.release(node.Name)
	c.log.Debug("node deleted; pod CIDR freed", "node", node.Name)
	// Nodes waiting for a subnet may be far into their retry backoff.
	if waiting, err := c.nodes.List(labels.Everything()); err == nil {
		for _, n := range waiting {
			if len(podCIDRs(n)) == 0 {
				c.queue.Add(n.Name)
			}
		}
	}
}

func (c *Controller) work(ctx context.Context) {
	queue.Work(ctx, c.queue, c.sync, c.log, "assign pod CIDR")
}

func (c *Controller) sync(ctx context.Context, name string) error {
	node, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		c.cidrs.release(name)
		return nil
	} else if err != nil {
		return err
	}
	node = node.DeepCopy()
	switch {
	case node.Spec.PodCIDR != "" && len(node.Spec.PodCIDRs) > 0:
		return nil
	case node.Spec.PodCIDR != "":
		node.Spec.PodCIDRs = []string{node.Spec.PodCIDR}
	case len(node.Spec.PodCIDRs) > 0:
		node.Spec.PodCIDR = node.Spec.PodCIDRs[0]
	default:
		cidr, err := c.cidrs.allocate(name)
		if err != nil {
			c.log.Warn("no pod CIDR for node", "node", name, "err", err)
			return err
		}
		node.Spec.PodCIDR, node.Spec.PodCIDRs = cidr.String(), []string{cidr.String()}
	}
	// An update, not a patch: its resourceVersion makes it fail on a stale
	// view instead of overwriting a pod CIDR set meanwhile.
	_, err = c.client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
	switch {
	case err == nil:
		c.log.Info("assigned pod CIDR", "node", name, "podCIDR", node.Spec.PodCIDR)
		return nil
	case apierrors.IsNotFound(err):
		c.cidrs.release(name)
		return nil
	default:
		// The reservation stays: the update may have landed after all
		// (a timeout) and the retry asks for the same subnet.
		return err
	}
}

// podCIDRs parses the pod CIDRs a node's spec names.
func podCIDRs(node *corev1.Node) []*net.IPNet {
	var out []*net.IPNet
	add := func(s string) {
		if _, cidr, err := net.ParseCIDR(s); err == nil {
			for _, have := range out {
				if have.String() == cidr.String() {
					return
				}
			}
			out = append(out, cidr)
		}
	}
	add(node.Spec.PodCIDR)
	for _, s := range node.Spec.PodCIDRs {
		add(s)
	}
	return out
}
