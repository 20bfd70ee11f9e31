// Package nodestatus registers this machine as a Node, keeps its status
// (capacity, conditions, addresses, nodeInfo) current, and renews its Lease
// in kube-node-lease — the kubelet's node status and heartbeat duties.
package nodestatus

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-helpers/apimachinery/lease"
	"k8s.io/utils/clock"
)

const (
	// statusPeriod is how often the full status is recomputed; it is only
	// written when something changed or the heartbeat is due.
	statusPeriod = 10 * time.Second
	// reportPeriod forces a status write even when nothing changed, as the
	// kubelet's nodeStatusReportFrequency.
	reportPeriod   = 5 * time.Minute
	leaseDuration  = 40
	leaseRenewEach = 10 * time.Second
)

// Config describes the node.
type Config struct {
	Client         kubernetes.Interface
	NodeName       string
	DataDir        string
	MaxPods        int
	Labels         map[string]string
	RuntimeVersion string // e.g. orca://v0.1.0
	KubeletVersion string
	// AgentPort is the agent endpoint's port, published for the API server.
	AgentPort int
	// NodeIP is the address reported as InternalIP; detected when nil.
	NodeIP net.IP
	// Ready reports whether the node can run pods, and why not.
	Ready  func() (bool, string)
	Logger *slog.Logger
}

// Reporter owns the Node object and its Lease.
type Reporter struct {
	cfg      Config
	clock    clock.Clock
	lastSent time.Time
	mu       sync.Mutex
	pressure func() []corev1.NodeCondition
}

// New validates cfg.
func New(cfg Config) (*Reporter, error) {
	if cfg.NodeName == "" || cfg.Client == nil {
		return nil, fmt.Errorf("nodestatus: node name and client are required")
	}
	if cfg.MaxPods == 0 {
		cfg.MaxPods = 110
	}
	if cfg.Ready == nil {
		cfg.Ready = func() (bool, string) { return true, "" }
	}
	if cfg.NodeIP == nil {
		cfg.NodeIP = detectNodeIP()
	}
	return &Reporter{cfg: cfg, clock: clock.RealClock{}}, nil
}

// Register creates or updates the Node with fresh status; it retries until
// the API server answers or ctx ends.
func (r *Reporter) Register(ctx context.Context) error {
	return wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		if err := r.register(ctx); err != nil {
			r.cfg.Logger.Warn("register node", "node", r.cfg.NodeName, "err", err)
			return false, nil
		}
		return true, nil
	})
}

func (r *Reporter) register(ctx context.Context) error {
	nodes := r.cfg.Client.CoreV1().Nodes()
	node, err := nodes.Get(ctx, r.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: r.cfg.NodeName, Labels: map[string]string{}}}
		r.setLabels(node)
		// A node starts not-ready for scheduling until its first status says
		// otherwise, as the kubelet registers it.
		node.Spec.Taints = []corev1.Taint{{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}}
		if err := r.fillStatus(node); err != nil {
			return err
		}
		_, err = nodes.Create(ctx, node, metav1.CreateOptions{})
		return err
	} else if err != nil {
		return err
	}
	node = node.DeepCopy()
	r.setLabels(node)
	if _, err := nodes.Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		return err
	}
	return r.sync(ctx, true)
}

func (r *Reporter) setLabels(node *corev1.Node) {
	if node.Labels == nil {
		node.Labels = map[string]string{}
	}
	node.Labels[corev1.LabelHostname] = r.cfg.NodeName
	node.Labels[corev1.LabelOSStable] = "linux"
	node.Labels[corev1.LabelArchStable] = systemInfo("", "").Architecture
	for k, v := range r.cfg.Labels {
		node.Labels[k] = v
	}
}

// Run keeps the status and the lease fresh until ctx ends.
func (r *Reporter) Run(ctx context.Context) {
	holder := r.cfg.NodeName
	lc := lease.NewController(r.clock, r.cfg.Client, holder, leaseDuration, nil, leaseRenewEach,
		r.cfg.NodeName, corev1.NamespaceNodeLease, r.ownLease)
	go lc.Run(ctx)
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if err := r.sync(ctx, false); err != nil {
			r.cfg.Logger.Warn("update node status", "node", r.cfg.NodeName, "err", err)
		}
	}, statusPeriod)
}

// Sync writes the status now (e.g. after readiness changed).
func (r *Reporter) Sync(ctx context.Context) error { return r.sync(ctx, false) }

func (r *Reporter) sync(ctx context.Context, force bool) error {
	nodes := r.cfg.Client.CoreV1().Nodes()
	node, err := nodes.Get(ctx, r.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	updated := node.DeepCopy()
	if err := r.fillStatus(updated); err != nil {
		return err
	}
	changed := !apiequality.Semantic.DeepEqual(withoutHeartbeats(node.Status), withoutHeartbeats(updated.Status))
	if !force && !changed && r.clock.Since(r.lastSent) < reportPeriod {
		return nil
	}
	if _, err := nodes.UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
		return err
	}
	r.lastSent = r.clock.Now()
	return nil
}

// ownLease makes the Node the Lease's owner, so the garbage collector
// removes the Lease with the Node, as the kubelet arranges.
func (r *Reporter) ownLease(l *coordinationv1.Lease) error {
	if len(l.OwnerReferences) > 0 {
		return nil
	}
	node, err := r.cfg.Client.CoreV1().Nodes().Get(context.Background(), r.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	l.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID,
	}}
	return nil
}

// SetReady replaces the readiness check (e.g. once networking exists);
// call it before Run.
func (r *Reporter) SetReady(ready func() (bool, string)) { r.cfg.Ready = ready }

// SetPressure gives the memory, disk and PID pressure conditions (without
// timestamps) from the eviction manager; without it they report none.
func (r *Reporter) SetPressure(conditions func() []corev1.NodeCondition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pressure = conditions
}

// NodeIP is the address the node reports as InternalIP.
func (r *Reporter) NodeIP() net.IP { return r.cfg.NodeIP }

// MemoryCapacity is this machine's memory in bytes.
func MemoryCapacity() (int64, error) { return memTotalBytes() }
