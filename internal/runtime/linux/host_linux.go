package linux

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"
	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// hostInfo is what the runtime measures about the machine once, at New.
type hostInfo struct {
	cgroup cgroupMode
	// boundingCaps is this process's capability bounding set (CAP_ names):
	// a container cannot get more, and asking for more fails with EPERM.
	boundingCaps []string
	// nofileHard is the current RLIMIT_NOFILE hard limit; raising a
	// container's limit above it would need CAP_SYS_RESOURCE.
	nofileHard uint64
	// oomScoreAdj is our own oom_score_adj. Lowering a child's below it
	// needs CAP_SYS_RESOURCE (canLowerOOMScore).
	oomScoreAdj      int
	canLowerOOMScore bool
	// noSwap: a memory limit can also keep the container from swapping,
	// as the kubelet expects: always on v2 (where runc ignores a missing
	// memory.swap.max), on v1 only with swap accounting (memory.memsw.*).
	noSwap bool
}

func probeHost() (hostInfo, error) {
	h := hostInfo{cgroup: detectCgroupMode()}
	caps, err := capability.NewPid2(0)
	if err != nil {
		return h, fmt.Errorf("read capabilities: %w", err)
	}
	if err := caps.Load(); err != nil {
		return h, fmt.Errorf("read capabilities: %w", err)
	}
	for _, c := range capability.ListKnown() {
		if caps.Get(capability.BOUNDING, c) {
			h.boundingCaps = append(h.boundingCaps, capName(c))
		}
	}
	h.canLowerOOMScore = caps.Get(capability.EFFECTIVE, capability.CAP_SYS_RESOURCE)

	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return h, fmt.Errorf("getrlimit: %w", err)
	}
	h.nofileHard = rl.Max

	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return h, err
	}
	h.oomScoreAdj, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return h, fmt.Errorf("parse oom_score_adj: %w", err)
	}

	h.noSwap = h.cgroup == cgroupV2
	if h.cgroup != cgroupV2 {
		if mnt, err := cgroups.FindCgroupMountpoint("", "memory"); err == nil {
			h.noSwap = cgroups.PathExists(filepath.Join(mnt, "memory.memsw.limit_in_bytes"))
		}
	}
	return h, nil
}

func capName(c capability.Cap) string { return "CAP_" + strings.ToUpper(c.String()) }
