// Package pods is the heart of the node agent: one worker per pod drives
// the pod toward its spec (sandbox, init containers in order, containers,
// restarts with back-off, termination), reacting at once to container
// events from the runtime, and reports status to the API server.
package pods

import (
	"context"
	"log/slog"
	"net"
	goruntime "runtime"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"

	"github.com/orca-pods/orca/internal/agent/containers"
	"github.com/orca-pods/orca/internal/agent/prober"
	"github.com/orca-pods/orca/internal/agent/volumes"
	"github.com/orca-pods/orca/internal/images"
	"github.com/orca-pods/orca/internal/network"
	"github.com/orca-pods/orca/internal/runtime"
	"github.com/orca-pods/orca/internal/version"
)

// ImageService is what workers need from the image store.
type ImageService interface {
	Get(ref string) (*images.Image, error)
	Pull(ctx context.Context, ref string, creds []images.Credential) (*images.Image, images.PullStats, error)
}

// Network gives pods their IP: it sets up and tears down the interfaces in
// a sandbox's network namespace.
type Network interface {
	SetUpPod(ctx context.Context, pod network.Pod) (net.IP, error)
	TearDownPod(ctx context.Context, pod network.Pod) error
}

// Config wires the manager.
type Config struct {
	Client   kubernetes.Interface
	NodeName string
	Runtime  runtime.Runtime
	Images   ImageService
	// Network is nil when pods get only loopback.
	Network  Network
	Recorder record.EventRecorder
	// PodsDir holds per-pod directories (volumes, termination messages).
	PodsDir string
	// LogDir is where container logs go (/var/log/pods).
	LogDir string
	// MemoryCapacity is the node's memory, for oom_score_adj.
	MemoryCapacity int64
	// Admit, when set, is the node's admission check for new pods (the
	// eviction manager refuses pods under pressure).
	Admit func(pod *corev1.Pod) (ok bool, reason, message string)
	// PodPidsLimit caps the processes of each pod (--pod-max-pids; 0 = none).
	PodPidsLimit int64
	// NodeIP is reported as the pod's hostIP.
	NodeIP string
	Logger *slog.Logger
	Clock  clock.Clock
}

// Manager owns the pod workers of this node.
type Manager struct {
	cfg          Config
	ctx          context.Context
	crashBackOff *flowcontrol.Backoff
	pullBackOff  *flowcontrol.Backoff
	mu           sync.Mutex
	workers      map[types.UID]*worker
	wg           sync.WaitGroup
	// prober runs the containers' liveness, readiness and startup probes.
	prober *prober.Manager
	// volumes writes configMap, secret, downwardAPI and projected volumes.
	volumes *volumes.Manager
	// tokens caches the service account tokens projected into pods.
	tokens *tokenManager
}

// Kubernetes' restart back-off: 10 s doubling to 5 min.
const (
	backOffInitial = 10 * time.Second
	backOffMax     = 300 * time.Second
)

// New returns a manager whose workers live until ctx ends; Run routes the
// runtime's events to them.
func New(ctx context.Context, cfg Config) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.LogDir == "" {
		cfg.LogDir = "/var/log/pods"
	}
	m := &Manager{
		ctx:          ctx,
		cfg:          cfg,
		crashBackOff: flowcontrol.NewBackOff(backOffInitial, backOffMax),
		pullBackOff:  flowcontrol.NewBackOff(backOffInitial, backOffMax),
		workers:      map[types.UID]*worker{},
	}
	m.prober = prober.New(prober.Config{
		Runtime: cfg.Runtime, Recorder: m.event, Logger: cfg.Logger, Clock: cfg.Clock,
		KubeVersion: version.Kubernetes(),
	})
	m.tokens = newTokenManager(cfg.Client, cfg.Clock, cfg.Logger)
	m.volumes = volumes.New(volumes.Config{
		ConfigMaps: func(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
			return cfg.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		},
		Secrets: func(ctx context.Context, ns, name string) (*corev1.Secret, error) {
			return cfg.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		},
		NodeAllocatable: func() corev1.ResourceList {
			return corev1.ResourceList{
				corev1.ResourceCPU:    *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI),
				corev1.ResourceMemory: *resource.NewQuantity(cfg.MemoryCapacity, resource.BinarySI),
			}
		},
		TokenSource: m.tokens.token,
	})
	return m
}

// event records a Kubernetes event about the pod, or about one of its
// containers when fieldPath is set (spec.containers{name}).
func (m *Manager) event(pod *corev1.Pod, fieldPath, eventType, reason, message string) {
	if m.cfg.Recorder == nil {
		return
	}
	ref := &corev1.ObjectReference{
		Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
		UID: pod.UID, ResourceVersion: pod.ResourceVersion, FieldPath: fieldPath,
	}
	m.cfg.Recorder.Event(ref, eventType, reason, message)
}

// Run routes runtime events to workers until ctx ends, then waits for the
// workers to stop.
func (m *Manager) Run(ctx context.Context) {
	events := m.cfg.Runtime.Events()
	gc := time.NewTicker(time.Minute)
	defer gc.Stop()
	for {
		select {
		case <-ctx.Done():
			m.wg.Wait()
			m.prober.Stop()
			return
		case u := <-m.prober.Updates():
			m.notify(u.PodUID)
		case ev, ok := <-events:
			if !ok {
				<-ctx.Done()
				continue
			}
			m.notify(types.UID(ev.Labels[containers.LabelPodUID]))
		case <-gc.C:
			m.crashBackOff.GC()
			m.pullBackOff.GC()
		}
	}
}

// UpdatePod delivers the latest version of a pod bound to this node.
func (m *Manager) UpdatePod(pod *corev1.Pod) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return
	}
	w, ok := m.workers[pod.UID]
	if !ok {
		w = newWorker(m, pod)
		m.workers[pod.UID] = w
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			w.run(m.ctx)
			m.prober.RemovePod(pod)
			m.tokens.forget(pod.UID)
			m.mu.Lock()
			delete(m.workers, pod.UID)
			m.mu.Unlock()
		}()
	}
	w.update(pod, false)
}

// RemovePod is called when the pod object is gone from the API: its
// containers are stopped and everything it had on the node is removed.
func (m *Manager) RemovePod(pod *corev1.Pod) {
	m.mu.Lock()
	w, ok := m.workers[pod.UID]
	m.mu.Unlock()
	if ok {
		w.update(pod, true)
	}
}

func (m *Manager) notify(uid types.UID) {
	m.mu.Lock()
	w, ok := m.workers[uid]
	m.mu.Unlock()
	if ok {
		w.poke()
	}
}

// Running reports how many pods have workers (for metrics and tests).
func (m *Manager) Running() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.workers)
}
