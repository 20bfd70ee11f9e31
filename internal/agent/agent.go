// Package agent is orca's node agent (its kubelet): it registers the node,
// keeps its status and lease fresh, watches the pods bound to it and runs
// them through the container runtime. It talks to the API server only
// through a client, as a remote agent would, even when it shares a process
// with `orca server`.
package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/orca-pods/orca/internal/agent/eviction"
	"github.com/orca-pods/orca/internal/agent/localpath"
	"github.com/orca-pods/orca/internal/agent/logrotate"
	"github.com/orca-pods/orca/internal/agent/nodestatus"
	"github.com/orca-pods/orca/internal/agent/pods"
	agentserver "github.com/orca-pods/orca/internal/agent/server"
	"github.com/orca-pods/orca/internal/agent/stats"
	"github.com/orca-pods/orca/internal/apis/storageutil"
	"github.com/orca-pods/orca/internal/images"
	"github.com/orca-pods/orca/internal/network"
	"github.com/orca-pods/orca/internal/runtime"
	"github.com/orca-pods/orca/internal/version"
)

// Config describes one node agent.
type Config struct {
	// RESTConfig carries the agent's credentials to the API server.
	RESTConfig *rest.Config
	NodeName   string
	// DataDir holds the agent's state: pod directories, images.
	DataDir string
	// LogDir is where container logs go (/var/log/pods).
	LogDir  string
	MaxPods int
	// Eviction configures node-pressure eviction.
	Eviction EvictionConfig
	// PodPidsLimit caps each pod's processes in its cgroup (0 = none).
	PodPidsLimit int64
	Labels       map[string]string
	Runtime      runtime.Runtime
	Images       *images.Store
	// Endpoint is the agent's HTTPS endpoint for the API server.
	Endpoint agentserver.Config
	// ClusterCIDR holds every pod IP; traffic leaving it is masqueraded.
	ClusterCIDR *net.IPNet
	// BridgeName and NetworkStateDir configure pod networking (orca0,
	// <run-dir>/network).
	BridgeName, NetworkStateDir string
	// CNIConfDir, when set, replaces the built-in network with the CNI
	// plugins configured there; CNIBinDirs are searched for them.
	CNIConfDir string
	CNIBinDirs []string
	// Port is reported in the node's daemonEndpoints.
	Port   int
	NodeIP net.IP
	Logger *slog.Logger
}

// Run registers the node and runs pods until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger.With("node", cfg.NodeName)
	client, err := kubernetes.NewForConfig(cfg.RESTConfig)
	if err != nil {
		return fmt.Errorf("agent client: %w", err)
	}
	// Events go through a client of their own, as the kubelet's do, so a
	// burst of them never delays status updates behind the rate limiter.
	eventCfg := rest.CopyConfig(cfg.RESTConfig)
	eventCfg.QPS, eventCfg.Burst = 50, 100
	eventClient, err := kubernetes.NewForConfig(eventCfg)
	if err != nil {
		return fmt.Errorf("agent event client: %w", err)
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: eventClient.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: cfg.NodeName})

	reporter, err := nodestatus.New(nodestatus.Config{
		Client: client, NodeName: cfg.NodeName, DataDir: cfg.DataDir, MaxPods: cfg.MaxPods,
		Labels: cfg.Labels, RuntimeVersion: "orca://" + version.Version, KubeletVersion: version.Kubernetes(),
		NodeIP: cfg.NodeIP, AgentPort: cfg.Port, Logger: log,
	})
	if err != nil {
		return err
	}
	if err := reporter.Register(ctx); err != nil {
		return err
	}
	podNet, err := startNetwork(ctx, cfg, client)
	if err != nil {
		return err
	}
	defer podNet.Close()
	reporter.SetReady(podNet.Ready)
	capacity, _ := nodestatus.MemoryCapacity()
	nodeIP := cfg.NodeIP
	if nodeIP == nil {
		nodeIP = reporter.NodeIP()
	}
	// The eviction manager needs the pod manager and admits its pods.
	var evictions atomic.Pointer[eviction.Manager]
	manager := pods.New(ctx, pods.Config{
		Client: client, NodeName: cfg.NodeName, Runtime: cfg.Runtime, Images: cfg.Images, Network: podNet, Recorder: recorder,
		PodsDir: filepath.Join(cfg.DataDir, "pods"), LogDir: cfg.LogDir, MemoryCapacity: capacity,
		NodeIP: nodeIP.String(), PodPidsLimit: cfg.PodPidsLimit, Logger: log,
		Admit: func(pod *corev1.Pod) (bool, string, string) {
			if em := evictions.Load(); em != nil {
				return em.Admit(pod)
			}
			return true, "", ""
		},
	})
	sp, err := stats.New(stats.Config{NodeName: cfg.NodeName, DataDir: cfg.DataDir, Pods: statsPods(cfg.Runtime, manager), Logger: log})
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	cfg.Endpoint.Stats = sp
	em, err := startEviction(cfg, sp, manager, recorder)
	if err != nil {
		return err
	}
	evictions.Store(em)
	reporter.SetPressure(func() []corev1.NodeCondition { return eviction.NodeConditions(em.Conditions()) })

	var wg sync.WaitGroup
	defer wg.Wait()
	run := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	run(func() { reporter.Run(ctx) })
	run(func() { manager.Run(ctx) })
	// The built-in orca.io/local-path provisioner works on this node's disk.
	provisioner := localpath.New(localpath.Config{
		Client: client, NodeName: cfg.NodeName, Dir: localpath.Dir(cfg.DataDir), Logger: log,
		Recorder: broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: storageutil.LocalPathProvisioner + "_" + cfg.NodeName}),
	})
	run(func() { provisioner.Run(ctx) })
	run(func() { em.Run(ctx) })
	rotator := logrotate.New(logrotate.Config{Runtime: cfg.Runtime, Logger: log})
	run(func() { rotator.Run(ctx) })
	run(func() {
		cfg.Endpoint.Pods, cfg.Endpoint.Logger = manager, log
		if err := agentserver.Run(ctx, cfg.Endpoint); err != nil {
			log.Error("agent endpoint stopped", "err", err)
		}
	})

	factory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", cfg.NodeName).String()
		}))
	inf := factory.Core().V1().Pods().Informer()
	_, err = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { manager.UpdatePod(obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj interface{}) { manager.UpdatePod(obj.(*corev1.Pod)) },
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				manager.RemovePod(pod)
			}
		},
	})
	if err != nil {
		return err
	}
	nodeFactory := informers.NewSharedInformerFactory(client, 0)
	if builtin, ok := podNet.(*network.Network); ok {
		routeToOtherNodes(ctx, cfg, builtin, nodeFactory.Core().V1().Nodes().Informer())
	}
	nodeFactory.Start(ctx.Done())
	defer nodeFactory.Shutdown()
	factory.Start(ctx.Done())
	log.Info("node agent running", "runtime", "orca://"+version.Version)
	<-ctx.Done()
	factory.Shutdown()
	return nil
}
