package linux

import (
	"errors"
	"fmt"
	"path"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fscommon"
	"github.com/opencontainers/cgroups/manager"

	"github.com/orca-pods/orca/internal/runtime"
)

// cgroupMode is how the host mounts cgroups.
type cgroupMode int

const (
	// cgroupV1: one hierarchy per controller under /sys/fs/cgroup/<ctrl>.
	cgroupV1 cgroupMode = iota
	// cgroupHybrid: v1 controllers plus an (almost empty) cgroup2 at
	// /sys/fs/cgroup/unified, which libcontainer joins as well.
	cgroupHybrid
	// cgroupV2: the unified hierarchy only.
	cgroupV2
)

func (m cgroupMode) String() string {
	switch m {
	case cgroupV1:
		return "v1"
	case cgroupHybrid:
		return "hybrid"
	default:
		return "v2"
	}
}

// detectCgroupMode asks opencontainers/cgroups, which looks at the
// filesystem types mounted at /sys/fs/cgroup and /sys/fs/cgroup/unified.
func detectCgroupMode() cgroupMode {
	switch {
	case cgroups.IsCgroup2UnifiedMode():
		return cgroupV2
	case cgroups.IsCgroup2HybridMode():
		return cgroupHybrid
	default:
		return cgroupV1
	}
}

// cgroupPath makes a cgroup path absolute: a relative path would be
// resolved by libcontainer against our own cgroup, per controller, and on
// v1 hosts that differs between controllers.
func cgroupPath(p string) string {
	return path.Clean("/" + p)
}

// podCgroupManager manages the pod-level cgroup in every hierarchy the
// host has (each v1 controller, the unified one in hybrid and v2 modes).
func podCgroupManager(p string) (cgroups.Manager, error) {
	return manager.New(&cgroups.Cgroup{Path: cgroupPath(p), Resources: &cgroups.Resources{}})
}

func createPodCgroup(p string, rc runtime.Resources) error {
	m, err := podCgroupManager(p)
	if err != nil {
		return fmt.Errorf("pod cgroup %s: %w", p, err)
	}
	// Apply(-1) creates the directories (and on v2 enables the
	// controllers in the parents) without moving any process.
	if err := m.Apply(-1); err != nil {
		return fmt.Errorf("create pod cgroup %s: %w", p, err)
	}
	res := &cgroups.Resources{
		CpuShares: rc.CPUShares, Memory: rc.MemoryLimitBytes,
		// Without this an empty device list means "deny all" on v1, and
		// the containers below could not allow their devices.
		SkipDevices: true,
	}
	if rc.PidsLimit > 0 {
		res.PidsLimit = &rc.PidsLimit
	}
	if rc.CPUQuota > 0 {
		res.CpuQuota, res.CpuPeriod = rc.CPUQuota, rc.CPUPeriod
		if res.CpuPeriod == 0 {
			res.CpuPeriod = 100000
		}
	}
	if rc == (runtime.Resources{}) {
		return nil
	}
	if err := m.Set(res); err != nil {
		return fmt.Errorf("set pod cgroup %s limits: %w", p, err)
	}
	return nil
}

// removePodCgroup removes the pod cgroup and anything left below it; it
// fails (EBUSY) while processes remain.
func removePodCgroup(p string) error {
	m, err := podCgroupManager(p)
	if err != nil {
		return fmt.Errorf("pod cgroup %s: %w", p, err)
	}
	if err := m.Destroy(); err != nil {
		return fmt.Errorf("remove pod cgroup %s: %w", p, err)
	}
	return nil
}

// memoryCgroupDir finds a container's memory cgroup directory from the
// paths libcontainer recorded for it.
func memoryCgroupDir(paths map[string]string, mode cgroupMode) string {
	if mode == cgroupV2 {
		return paths[""]
	}
	return paths["memory"]
}

// oomKillCount is the kernel's count of OOM kills in a memory cgroup: v1
// keeps it in memory.oom_control, v2 in memory.events. It is the truth
// about OOM kills (memory.failcnt is not: it can stay 0).
func oomKillCount(dir string, mode cgroupMode) (uint64, error) {
	if dir == "" {
		return 0, errors.New("no memory cgroup")
	}
	if mode == cgroupV2 {
		return fscommon.GetValueByKey(dir, "memory.events", "oom_kill")
	}
	return fscommon.GetValueByKey(dir, "memory.oom_control", "oom_kill")
}
