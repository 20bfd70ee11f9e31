// Package nodelifecycle does what Kubernetes' node lifecycle controller does
// for scheduling: it taints nodes by their conditions (NotReady,
// unreachable, pressure, cordoned) and marks a node's conditions Unknown when
// its agent stops reporting, so the scheduler places no new pods there.
package nodelifecycle

import (
	"context"
	"github.com/orca-pods/orca/internal/controllers/queue"
	"log/slog"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	coordlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

const (
	// GracePeriod is how long a node may go without a heartbeat (status or
	// lease renewal) before it is considered unreachable, as kube's default
	// --node-monitor-grace-period.
	GracePeriod = 40 * time.Second
	// StartupGracePeriod is how long a new node may take to post status.
	StartupGracePeriod = 60 * time.Second
	monitorPeriod      = 5 * time.Second
)

// Config wires the controller.
type Config struct {
	Client  kubernetes.Interface
	Factory informers.SharedInformerFactory
	Logger  *slog.Logger
	Clock   clock.Clock
}

// Controller keeps node taints and liveness in step with node status.
type Controller struct {
	client  kubernetes.Interface
	factory informers.SharedInformerFactory
	nodes   corelisters.NodeLister
	leases  coordlisters.LeaseLister
	synced  []cache.InformerSynced
	queue   workqueue.TypedRateLimitingInterface[string]
	log     *slog.Logger
	clock   clock.Clock
}

// New returns a controller; Run starts it.
func New(cfg Config) *Controller {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	nodeInf := cfg.Factory.Core().V1().Nodes()
	leaseInf := cfg.Factory.Coordination().V1().Leases()
	c := &Controller{
		client:  cfg.Client,
		factory: cfg.Factory,
		nodes:   nodeInf.Lister(),
		leases:  leaseInf.Lister(),
		synced:  []cache.InformerSynced{nodeInf.Informer().HasSynced, leaseInf.Informer().HasSynced},
		queue:   workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		log:     cfg.Logger,
		clock:   cfg.Clock,
	}
	nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { c.queue.Add(obj.(*corev1.Node).Name) },
		UpdateFunc: func(_, obj interface{}) { c.queue.Add(obj.(*corev1.Node).Name) },
	})
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	defer c.queue.ShutDown()
	c.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	go wait.UntilWithContext(ctx, c.work, time.Second)
	wait.UntilWithContext(ctx, c.monitor, monitorPeriod)
}

func (c *Controller) work(ctx context.Context) {
	queue.Work(ctx, c.queue, c.syncTaints, c.log, "update node taints")
}

func (c *Controller) syncTaints(ctx context.Context, name string) error {
	node, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	taints, changed := desiredTaints(node)
	if !changed {
		return nil
	}
	node = node.DeepCopy()
	node.Spec.Taints = taints
	_, err = c.client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
	return err
}

// monitor marks nodes whose agent went quiet: their conditions become
// Unknown, which in turn taints them unreachable.
func (c *Controller) monitor(ctx context.Context) {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return
	}
	now := c.clock.Now()
	for _, node := range nodes {
		reason, message, stale := c.staleness(node, now)
		if !stale {
			continue
		}
		node = node.DeepCopy()
		changed := false
		for _, t := range []corev1.NodeConditionType{corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
			changed = markUnknown(&node.Status, t, reason, message, now) || changed
		}
		if !changed {
			continue
		}
		if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
			c.log.Debug("mark node unknown", "node", node.Name, "err", err)
			continue
		}
		c.log.Info("node stopped reporting; marked Unknown", "node", node.Name)
	}
}

// staleness tells whether node's last sign of life is older than allowed.
func (c *Controller) staleness(node *corev1.Node, now time.Time) (reason, message string, stale bool) {
	var last time.Time
	var ready *corev1.NodeCondition
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			ready = &node.Status.Conditions[i]
			last = ready.LastHeartbeatTime.Time
		}
	}
	if lease, err := c.leases.Leases(corev1.NamespaceNodeLease).Get(node.Name); err == nil && lease.Spec.RenewTime != nil && lease.Spec.RenewTime.After(last) {
		last = lease.Spec.RenewTime.Time
	}
	if ready == nil {
		if now.Sub(node.CreationTimestamp.Time) > StartupGracePeriod && last.IsZero() {
			return "NodeStatusNeverUpdated", "Kubelet never posted node status.", true
		}
		return "", "", false
	}
	if ready.Status == corev1.ConditionUnknown || now.Sub(last) <= GracePeriod {
		return "", "", false
	}
	return "NodeStatusUnknown", "Kubelet stopped posting node status.", true
}

func markUnknown(status *corev1.NodeStatus, t corev1.NodeConditionType, reason, message string, now time.Time) bool {
	i := slices.IndexFunc(status.Conditions, func(c corev1.NodeCondition) bool { return c.Type == t })
	if i < 0 {
		if t != corev1.NodeReady {
			return false
		}
		status.Conditions = append(status.Conditions, corev1.NodeCondition{Type: t})
		i = len(status.Conditions) - 1
	}
	c := &status.Conditions[i]
	if c.Status == corev1.ConditionUnknown {
		return false
	}
	c.Status, c.Reason, c.Message = corev1.ConditionUnknown, reason, message
	c.LastTransitionTime = metav1.NewTime(now)
	return true
}
