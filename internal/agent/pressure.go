package agent

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/tools/record"

	"github.com/orca-pods/orca/internal/agent/containers"
	"github.com/orca-pods/orca/internal/agent/eviction"
	"github.com/orca-pods/orca/internal/agent/nodestatus"
	"github.com/orca-pods/orca/internal/agent/pods"
	"github.com/orca-pods/orca/internal/agent/stats"
	"github.com/orca-pods/orca/internal/runtime"
)

// EvictionConfig is the kubelet's node-pressure eviction settings.
type EvictionConfig struct {
	// Hard is --eviction-hard ("memory.available<100Mi,..."); "" = the
	// kubelet's defaults, "none" = no thresholds.
	Hard string
	// TransitionPeriod is --eviction-pressure-transition-period.
	TransitionPeriod time.Duration
	// Interval is how often the node is checked (the kubelet's 10 s
	// housekeeping).
	Interval time.Duration
}

// statsPods describes the running pods and containers for the stats
// provider, from the runtime's in-memory container list.
func statsPods(rt runtime.Runtime, manager *pods.Manager) func() []stats.PodInfo {
	return func() []stats.PodInfo {
		list, err := rt.ListContainers(context.Background())
		if err != nil {
			return nil
		}
		byPod := map[string][]*runtime.ContainerStatus{}
		for _, c := range list {
			if c.State == runtime.StateRunning {
				uid := c.Labels[containers.LabelPodUID]
				byPod[uid] = append(byPod[uid], c)
			}
		}
		var out []stats.PodInfo
		for _, p := range manager.ActivePods() {
			info := stats.PodInfo{Name: p.Name, Namespace: p.Namespace, UID: string(p.UID), CgroupPath: pods.PodCgroup(p)}
			for _, c := range byPod[string(p.UID)] {
				info.Containers = append(info.Containers, stats.ContainerInfo{
					Name: c.Labels[containers.LabelContainer], CgroupPath: containerCgroup(p, c), StartTime: c.StartedAt,
				})
			}
			if p.Status.StartTime != nil {
				info.StartTime = p.Status.StartTime.Time
			}
			out = append(out, info)
		}
		return out
	}
}

// startEviction builds the eviction manager over the stats provider: it
// observes the node's memory and the data dir's disk, ranks the pods by
// their cgroups' working sets and emptyDir usage, and evicts through the
// pod manager.
func startEviction(cfg Config, sp *stats.Provider, manager *pods.Manager, recorder record.EventRecorder) (*eviction.Manager, error) {
	hard := cfg.Eviction.Hard
	switch hard {
	case "":
		hard = eviction.DefaultEvictionHard
	case "none":
		hard = ""
	}
	thresholds, err := eviction.ParseThresholds(hard)
	if err != nil {
		return nil, fmt.Errorf("--eviction-hard: %w", err)
	}
	memCapacity, _ := nodestatus.MemoryCapacity()
	return eviction.New(eviction.Config{
		Thresholds:               thresholds,
		PressureTransitionPeriod: cfg.Eviction.TransitionPeriod,
		Interval:                 cfg.Eviction.Interval,
		Recorder:                 recorder,
		Logger:                   cfg.Logger,
		Observe: func(ctx context.Context) (eviction.Observations, error) {
			available, _, err := sp.NodeMemory()
			if err != nil {
				return eviction.Observations{}, err
			}
			obs := eviction.Observations{
				MemoryAvailable: resource.NewQuantity(int64(available), resource.BinarySI),
				MemoryCapacity:  resource.NewQuantity(memCapacity, resource.BinarySI),
				Time:            time.Now(),
			}
			var st unix.Statfs_t
			if err := unix.Statfs(cfg.DataDir, &st); err == nil {
				obs.NodeFsAvailable = resource.NewQuantity(int64(st.Bavail)*st.Bsize, resource.BinarySI)
				obs.NodeFsCapacity = resource.NewQuantity(int64(st.Blocks)*st.Bsize, resource.BinarySI)
				obs.NodeFsInodesFree = resource.NewQuantity(int64(st.Ffree), resource.DecimalSI)
				obs.NodeFsInodes = resource.NewQuantity(int64(st.Files), resource.DecimalSI)
			}
			return obs, nil
		},
		Pods: func(ctx context.Context) ([]eviction.PodUsage, error) {
			list, err := cfg.Runtime.ListContainers(ctx)
			if err != nil {
				return nil, err
			}
			var out []eviction.PodUsage
			for _, p := range manager.ActivePods() {
				u := eviction.PodUsage{Pod: p, Containers: map[string]eviction.ContainerUsage{}, EmptyDirs: map[string]resource.Quantity{}}
				ws, err := sp.PodMemoryWorkingSet(pods.PodCgroup(p))
				if err != nil {
					u.NoStats = true
				}
				u.Memory = *resource.NewQuantity(int64(ws), resource.BinarySI)
				for _, c := range list {
					if c.Labels[containers.LabelPodUID] != string(p.UID) || c.State != runtime.StateRunning {
						continue
					}
					if cws, err := sp.PodMemoryWorkingSet(containerCgroup(p, c)); err == nil {
						u.Containers[c.Labels[containers.LabelContainer]] = eviction.ContainerUsage{Memory: *resource.NewQuantity(int64(cws), resource.BinarySI)}
					}
				}
				for _, v := range p.Spec.Volumes {
					// Only limited emptyDirs are measured: walking every
					// volume every cycle would cost more than it tells.
					if v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil || v.EmptyDir.Medium == corev1.StorageMediumMemory {
						continue
					}
					dir := filepath.Join(cfg.DataDir, "pods", string(p.UID), "volumes", "kubernetes.io~empty-dir", v.Name)
					u.EmptyDirs[v.Name] = *resource.NewQuantity(diskUsage(dir), resource.BinarySI)
				}
				out = append(out, u)
			}
			return out, nil
		},
		Evict: func(ctx context.Context, pod *corev1.Pod, st eviction.EvictionStatus) error {
			return manager.Evict(ctx, pod.UID, pods.Eviction{
				Message: st.Message, GracePeriod: time.Duration(st.GracePeriodSeconds) * time.Second, Condition: st.Condition,
			})
		},
	})
}

// containerCgroup is where the runtime puts a container: below its pod's.
func containerCgroup(pod *corev1.Pod, c *runtime.ContainerStatus) string {
	return path.Join(pods.PodCgroup(pod), c.ID)
}

// diskUsage adds up the allocated size of the files under dir, as du does.
func diskUsage(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil {
			if st, ok := info.Sys().(*unix.Stat_t); ok {
				total += st.Blocks * 512
			}
		}
		return nil
	})
	return total
}
