package stats

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fs"
	"github.com/opencontainers/cgroups/fs2"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// cgroupFS says where cgroups are mounted. Exactly one of unified and v1
// is set; tests point them at fake directory trees.
type cgroupFS struct {
	// unified is the cgroup2 mountpoint on a pure v2 host.
	unified string
	// v1 maps a v1 controller to its mountpoint. Hybrid hosts use this
	// too: their v1 controllers hold all the accounting.
	v1 map[string]string
}

// v1Controllers are the v1 hierarchies the summary needs. The cpu
// controller itself is not read: usage lives in cpuacct, and throttling
// is not reported.
var v1Controllers = []string{"cpuacct", "memory", "pids"}

func hostCgroupFS() (*cgroupFS, error) {
	if cgroups.IsCgroup2UnifiedMode() {
		return &cgroupFS{unified: fs2.UnifiedMountpoint}, nil
	}
	mounts := map[string]string{}
	for _, c := range v1Controllers {
		// Missing pids (old kernels) only loses process counts.
		if mnt, err := cgroups.FindCgroupMountpoint("", c); err == nil {
			mounts[c] = mnt
		}
	}
	if mounts["cpuacct"] == "" || mounts["memory"] == "" {
		return nil, errors.New("cgroup v1 cpuacct and memory controllers are not both mounted")
	}
	return &cgroupFS{v1: mounts}, nil
}

// rawStats is one cgroup's sample; nil fields are controllers the cgroup
// does not have.
type rawStats struct {
	cpu               *uint64 // cumulative core-nanoseconds
	cpuPSI, memoryPSI *statsv1alpha1.PSIStats
	memory            *memoryUsage
	processes         *uint64
}

type memoryUsage struct {
	usage, workingSet, rss, pageFaults, majorPageFaults uint64
}

// read samples the cgroup at p (relative to the hierarchy root): memory
// only, or with all also CPU and pids.
func (c *cgroupFS) read(p string, all bool) (*rawStats, error) {
	ctrls := cgroups.Memory
	if all {
		ctrls |= cgroups.CPU | cgroups.Pids
	}
	// Absolute and clean, so ".." cannot climb out of the mount.
	rel := path.Clean("/" + p)
	if c.unified != "" {
		return c.readV2(rel, ctrls)
	}
	return c.readV1(rel, ctrls)
}

func (c *cgroupFS) readV1(rel string, ctrls cgroups.Controller) (*rawStats, error) {
	paths := make(map[string]string, len(c.v1))
	for ctrl, mnt := range c.v1 {
		dir := filepath.Join(mnt, rel)
		ok, err := exists(dir)
		if err != nil {
			return nil, err
		}
		if ok {
			paths[ctrl] = dir
		}
	}
	if paths["memory"] == "" && paths["cpuacct"] == "" {
		return nil, fmt.Errorf("cgroup %s: %w", rel, ErrCgroupNotFound)
	}
	// Explicit paths: the manager then neither looks at /proc/self nor
	// touches any other controller.
	m, err := fs.NewManager(&cgroups.Cgroup{Resources: &cgroups.Resources{}}, paths)
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", rel, err)
	}
	st, err := m.Stats(&cgroups.StatsOptions{Controllers: ctrls})
	if err != nil {
		return nil, readErr(rel, filepath.Join(c.v1["memory"], rel), err)
	}
	out := &rawStats{}
	if ctrls&cgroups.CPU != 0 && paths["cpuacct"] != "" {
		out.cpu = ptr(st.CpuStats.CpuUsage.TotalUsage)
	}
	if paths["memory"] != "" {
		out.memory = memoryFrom(&st.MemoryStats, false)
	}
	if ctrls&cgroups.Pids != 0 && paths["pids"] != "" {
		out.processes = ptr(st.PidsStats.Current)
	}
	return out, nil
}

func (c *cgroupFS) readV2(rel string, ctrls cgroups.Controller) (*rawStats, error) {
	dir := filepath.Join(c.unified, rel)
	ok, err := exists(dir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("cgroup %s: %w", rel, ErrCgroupNotFound)
	}
	m, err := fs2.NewManager(&cgroups.Cgroup{Resources: &cgroups.Resources{}}, dir)
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", rel, err)
	}
	st, err := m.Stats(&cgroups.StatsOptions{Controllers: ctrls})
	if err != nil {
		return nil, readErr(rel, dir, err)
	}
	out := &rawStats{}
	if ctrls&cgroups.CPU != 0 {
		// cpu.stat exists in every v2 cgroup, controller enabled or not.
		out.cpu = ptr(st.CpuStats.CpuUsage.TotalUsage)
		out.cpuPSI = psiFrom(st.CpuStats.PSI)
	}
	// Without the memory controller enabled there is no memory.stat, and
	// the library leaves the map empty rather than failing.
	if len(st.MemoryStats.Stats) > 0 {
		out.memory = memoryFrom(&st.MemoryStats, true)
		out.memoryPSI = psiFrom(st.MemoryStats.PSI)
	}
	if ctrls&cgroups.Pids != 0 {
		out.processes = ptr(st.PidsStats.Current)
	}
	return out, nil
}

// readErr reports a cgroup removed while being read as not found, since
// that is the common, harmless case.
func readErr(rel, dir string, err error) error {
	if ok, _ := exists(dir); !ok {
		return fmt.Errorf("cgroup %s: %w", rel, ErrCgroupNotFound)
	}
	return fmt.Errorf("cgroup %s stats: %w", rel, err)
}

func exists(dir string) (bool, error) {
	_, err := os.Stat(dir)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("stat cgroup: %w", err)
	}
}

// memoryFrom applies cAdvisor's formulas. The v1 keys are the total_*
// (hierarchical) ones so that a pod cgroup, which holds no process itself,
// counts its containers; v2 counters are always hierarchical.
func memoryFrom(ms *cgroups.MemoryStats, v2 bool) *memoryUsage {
	inactive, rss, faults, majFaults := "total_inactive_file", "total_rss", "total_pgfault", "total_pgmajfault"
	if v2 {
		inactive, rss, faults, majFaults = "inactive_file", "anon", "pgfault", "pgmajfault"
	}
	usage := ms.Usage.Usage
	return &memoryUsage{
		usage:           usage,
		workingSet:      workingSet(usage, ms.Stats[inactive]),
		rss:             ms.Stats[rss],
		pageFaults:      ms.Stats[faults],
		majorPageFaults: ms.Stats[majFaults],
	}
}

// workingSet is usage minus the inactive file cache, the memory the
// kernel cannot easily reclaim. The counters are read at slightly
// different moments, so the difference can go negative: clamp it.
func workingSet(usage, inactiveFile uint64) uint64 {
	if inactiveFile >= usage {
		return 0
	}
	return usage - inactiveFile
}

func psiFrom(s *cgroups.PSIStats) *statsv1alpha1.PSIStats {
	if s == nil {
		return nil
	}
	conv := func(d cgroups.PSIData) statsv1alpha1.PSIData {
		return statsv1alpha1.PSIData{Total: d.Total, Avg10: d.Avg10, Avg60: d.Avg60, Avg300: d.Avg300}
	}
	return &statsv1alpha1.PSIStats{Some: conv(s.Some), Full: conv(s.Full)}
}
