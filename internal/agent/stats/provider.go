// Package stats builds the kubelet's resource summary (the Summary API
// served at /stats/summary, read by metrics-server and by eviction): node
// CPU, memory and filesystem use, and per-pod and per-container CPU,
// memory and process counts read from their cgroups.
//
// What is measured, and how:
//
//   - Node CPU and memory are machine-wide (/proc/stat, /proc/meminfo),
//     where the kubelet reads the root cgroup: the two agree closely, and
//     /proc works the same on cgroup v1 and v2 and inside a cgroup
//     namespace. The node's availableBytes is the kernel's MemAvailable;
//     usageBytes is MemTotal-MemFree and workingSetBytes is usage minus
//     Inactive(file), the kubelet's working set formula.
//   - Pod and container memory comes from the memory controller:
//     usageBytes is memory.usage_in_bytes (v1) or memory.current (v2);
//     workingSetBytes subtracts total_inactive_file (v1) or inactive_file
//     (v2), as cAdvisor does; rssBytes and page faults are the
//     hierarchical memory.stat counters (total_rss/anon, pgfault,
//     pgmajfault), so a pod's figures include its containers.
//   - CPU usageCoreNanoSeconds is the cumulative counter (cpuacct.usage
//     or cpu.stat usage_usec); usageNanoCores is its rate between the
//     previous sample the Provider kept for that cgroup and this one, as
//     cAdvisor derives it between housekeeping samples. The first sample
//     of a cgroup has no rate.
//   - process_stats.process_count is pids.current.
//   - Node fs and the runtime's imageFs/containerFs are statfs of the
//     agent's data directory, where pods' writable layers and images live.
//
// Omitted: system containers, network and IO stats, volume and
// ephemeral-storage stats, per-container rootfs/logs usage and swap.
package stats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/utils/clock"
)

// PodInfo is a running pod as the agent knows it. The agent fills it in
// (this package knows nothing of the agent's pod types, to avoid cycles).
type PodInfo struct {
	Name, Namespace, UID string
	// CgroupPath is the pod cgroup relative to the hierarchy root, e.g.
	// /orca/burstable/pod<uid>.
	CgroupPath string
	StartTime  time.Time
	Containers []ContainerInfo
}

// ContainerInfo is one running container of a pod.
type ContainerInfo struct {
	Name string
	// CgroupPath is the container's cgroup relative to the hierarchy
	// root: the pod cgroup joined with the container ID.
	CgroupPath string
	StartTime  time.Time
}

// Config says what the Provider reports on.
type Config struct {
	NodeName string
	// DataDir is the agent's state directory; its filesystem is reported
	// as the node fs and the runtime's image and container fs.
	DataDir string
	// Pods lists the pods running now. It is called once per Summary.
	Pods func() []PodInfo
	// Clock stamps samples; nil means the real clock.
	Clock  clock.PassiveClock
	Logger *slog.Logger
}

// ErrCgroupNotFound is returned for a cgroup that does not exist (any
// more): its pod or container is gone, or was never started.
var ErrCgroupNotFound = errors.New("cgroup not found")

// Provider computes Summaries. It keeps the last CPU sample of every
// cgroup it reported, to derive CPU rates; it is safe for concurrent use.
type Provider struct {
	cfg   Config
	clock clock.PassiveClock
	log   *slog.Logger
	cg    *cgroupFS
	proc  string // /proc, or a fake in tests
	rates *rateTracker
	// mu serialises Summary calls so two concurrent scrapes do not prune
	// each other's CPU samples.
	mu sync.Mutex
}

// nodeRateKey keys the node's CPU samples; cgroup paths all start with /.
const nodeRateKey = "node"

// New finds the host's cgroup mounts and returns a Provider.
func New(cfg Config) (*Provider, error) {
	if cfg.NodeName == "" {
		return nil, errors.New("stats: node name is required")
	}
	cg, err := hostCgroupFS()
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return newProvider(cfg, cg, "/proc"), nil
}

func newProvider(cfg Config, cg *cgroupFS, proc string) *Provider {
	p := &Provider{cfg: cfg, clock: cfg.Clock, log: cfg.Logger, cg: cg, proc: proc, rates: newRateTracker()}
	if p.clock == nil {
		p.clock = clock.RealClock{}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.cfg.Pods == nil {
		p.cfg.Pods = func() []PodInfo { return nil }
	}
	return p
}

// Summary reads the node's and every running pod's stats now. A pod or
// container whose cgroup cannot be read is left out (it is usually being
// torn down); a failure to read the node's CPU or memory fails the call.
func (p *Provider) Summary(ctx context.Context) (*statsv1alpha1.Summary, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[string]bool{nodeRateKey: true}
	node, err := p.nodeStats()
	if err != nil {
		return nil, err
	}
	pods := p.cfg.Pods()
	out := &statsv1alpha1.Summary{Node: *node, Pods: make([]statsv1alpha1.PodStats, 0, len(pods))}
	for _, pod := range pods {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("stats summary: %w", err)
		}
		ps, ok := p.podStats(pod, seen)
		if ok {
			out.Pods = append(out.Pods, ps)
		}
	}
	p.rates.retain(seen)
	return out, nil
}

func (p *Provider) podStats(pod PodInfo, seen map[string]bool) (statsv1alpha1.PodStats, bool) {
	ps := statsv1alpha1.PodStats{
		PodRef:     statsv1alpha1.PodReference{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		StartTime:  metav1.NewTime(pod.StartTime),
		Containers: make([]statsv1alpha1.ContainerStats, 0, len(pod.Containers)),
	}
	st, err := p.readCgroup(pod.CgroupPath, seen)
	if err != nil {
		p.logReadError(err, "pod", pod.Namespace+"/"+pod.Name, "cgroup", pod.CgroupPath)
		return ps, false
	}
	ps.CPU, ps.Memory = st.cpu, st.memory
	if st.processes != nil {
		ps.ProcessStats = &statsv1alpha1.ProcessStats{ProcessCount: st.processes}
	}
	for _, c := range pod.Containers {
		cst, err := p.readCgroup(c.CgroupPath, seen)
		if err != nil {
			p.logReadError(err, "pod", pod.Namespace+"/"+pod.Name, "container", c.Name, "cgroup", c.CgroupPath)
			continue
		}
		ps.Containers = append(ps.Containers, statsv1alpha1.ContainerStats{
			Name:      c.Name,
			StartTime: metav1.NewTime(c.StartTime),
			CPU:       cst.cpu,
			Memory:    cst.memory,
		})
	}
	return ps, true
}

// readCgroup samples one cgroup and turns it into Summary stats, feeding
// the CPU counter to the rate tracker.
func (p *Provider) readCgroup(path string, seen map[string]bool) (*summaryCgroup, error) {
	raw, err := p.cg.read(path, true)
	if err != nil {
		return nil, err
	}
	now := p.clock.Now()
	out := &summaryCgroup{processes: raw.processes}
	ts := metav1.NewTime(now)
	if raw.cpu != nil {
		seen[path] = true
		usage := *raw.cpu
		out.cpu = &statsv1alpha1.CPUStats{
			Time:                 ts,
			UsageCoreNanoSeconds: &usage,
			UsageNanoCores:       p.rates.observe(path, usage, now),
			PSI:                  raw.cpuPSI,
		}
	}
	if m := raw.memory; m != nil {
		out.memory = &statsv1alpha1.MemoryStats{
			Time:            ts,
			UsageBytes:      ptr(m.usage),
			WorkingSetBytes: ptr(m.workingSet),
			RSSBytes:        ptr(m.rss),
			PageFaults:      ptr(m.pageFaults),
			MajorPageFaults: ptr(m.majorPageFaults),
			PSI:             raw.memoryPSI,
		}
	}
	return out, nil
}

type summaryCgroup struct {
	cpu       *statsv1alpha1.CPUStats
	memory    *statsv1alpha1.MemoryStats
	processes *uint64
}

// logReadError keeps vanished cgroups (a pod stopping between listing and
// reading) quiet; anything else is worth a warning.
func (p *Provider) logReadError(err error, args ...any) {
	args = append(args, "err", err)
	if errors.Is(err, ErrCgroupNotFound) {
		p.log.Debug("stats: cgroup gone", args...)
		return
	}
	p.log.Warn("stats: read cgroup", args...)
}

// NodeMemory is the machine's memory as the eviction manager's
// memory.available signal wants it: the kernel's MemAvailable, and the
// working set (MemTotal - MemFree - Inactive(file)).
func (p *Provider) NodeMemory() (availableBytes, workingSetBytes uint64, err error) {
	mi, err := readMeminfo(p.proc)
	if err != nil {
		return 0, 0, err
	}
	return mi.available, mi.workingSet(), nil
}

// PodMemoryWorkingSet is a pod cgroup's memory working set (usage minus
// inactive file pages), the figure the kubelet ranks pods by when it
// evicts for memory. It returns ErrCgroupNotFound for a missing cgroup.
func (p *Provider) PodMemoryWorkingSet(podCgroup string) (uint64, error) {
	raw, err := p.cg.read(podCgroup, false)
	if err != nil {
		return 0, err
	}
	if raw.memory == nil {
		return 0, fmt.Errorf("cgroup %s: no memory controller", podCgroup)
	}
	return raw.memory.workingSet, nil
}

func ptr[T any](v T) *T { return &v }
