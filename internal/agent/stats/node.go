package stats

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// userHZ is the unit of /proc/stat's CPU times. It is part of the kernel's
// user-space ABI (USER_HZ) and is 100 on every architecture Go supports,
// whatever the kernel's internal HZ.
const userHZ = 100

func (p *Provider) nodeStats() (*statsv1alpha1.NodeStats, error) {
	ps, err := readProcStat(p.proc)
	if err != nil {
		return nil, err
	}
	mi, err := readMeminfo(p.proc)
	if err != nil {
		return nil, err
	}
	now := p.clock.Now()
	ts := metav1.NewTime(now)
	node := &statsv1alpha1.NodeStats{
		NodeName:  p.cfg.NodeName,
		StartTime: metav1.NewTime(ps.bootTime),
		CPU: &statsv1alpha1.CPUStats{
			Time:                 ts,
			UsageCoreNanoSeconds: ptr(ps.cpuNanos),
			UsageNanoCores:       p.rates.observe(nodeRateKey, ps.cpuNanos, now),
		},
		Memory: &statsv1alpha1.MemoryStats{
			Time:            ts,
			AvailableBytes:  ptr(mi.available),
			UsageBytes:      ptr(mi.usage()),
			WorkingSetBytes: ptr(mi.workingSet()),
			RSSBytes:        ptr(mi.anon),
		},
	}
	if faults, major, err := readVMStat(p.proc); err == nil {
		node.Memory.PageFaults, node.Memory.MajorPageFaults = &faults, &major
	} else {
		p.log.Debug("stats: node page faults", "err", err)
	}
	if p.cfg.DataDir != "" {
		// Pods' writable layers and the image store share the data
		// directory's filesystem; the copies keep callers from aliasing.
		if fs, err := fsStats(p.cfg.DataDir, ts); err == nil {
			image, container := *fs, *fs
			node.Fs = fs
			node.Runtime = &statsv1alpha1.RuntimeStats{ImageFs: &image, ContainerFs: &container}
		} else {
			p.log.Warn("stats: node filesystem", "dir", p.cfg.DataDir, "err", err)
		}
	}
	if rl, err := readRlimit(p.proc, ts); err == nil {
		node.Rlimit = rl
	} else {
		p.log.Debug("stats: node pid limits", "err", err)
	}
	return node, nil
}

type procStat struct {
	cpuNanos uint64 // busy time of all CPUs, core-nanoseconds
	bootTime time.Time
}

// readProcStat reads the machine's CPU time and boot time. Busy time is
// user+nice+system+irq+softirq: idle and iowait are not use, steal is time
// the hypervisor gave someone else, and guest time is already inside user
// and nice.
func readProcStat(proc string) (procStat, error) {
	data, err := os.ReadFile(filepath.Join(proc, "stat"))
	if err != nil {
		return procStat{}, fmt.Errorf("node cpu: %w", err)
	}
	var out procStat
	var haveCPU, haveBoot bool
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		switch {
		case len(f) >= 8 && f[0] == "cpu":
			var busy uint64
			for _, i := range []int{1, 2, 3, 6, 7} { // user nice system irq softirq
				v, err := strconv.ParseUint(f[i], 10, 64)
				if err != nil {
					return procStat{}, fmt.Errorf("node cpu: parse %s/stat: %w", proc, err)
				}
				busy += v
			}
			out.cpuNanos = busy * (uint64(time.Second) / userHZ)
			haveCPU = true
		case len(f) == 2 && f[0] == "btime":
			secs, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return procStat{}, fmt.Errorf("node boot time: parse %s/stat: %w", proc, err)
			}
			out.bootTime = time.Unix(secs, 0)
			haveBoot = true
		}
	}
	if !haveCPU || !haveBoot {
		return procStat{}, fmt.Errorf("node cpu: %s/stat has no cpu or btime line", proc)
	}
	return out, nil
}

type meminfo struct {
	total, free, available, inactiveFile, anon uint64 // bytes
}

// usage is what the kernel has handed out, caches included.
func (m meminfo) usage() uint64 {
	if m.free > m.total {
		return 0
	}
	return m.total - m.free
}

// workingSet is usage without the inactive file cache, as the kubelet
// computes it for the root cgroup.
func (m meminfo) workingSet() uint64 { return workingSet(m.usage(), m.inactiveFile) }

func readMeminfo(proc string) (meminfo, error) {
	data, err := os.ReadFile(filepath.Join(proc, "meminfo"))
	if err != nil {
		return meminfo{}, fmt.Errorf("node memory: %w", err)
	}
	fields := map[string]*uint64{}
	var m meminfo
	fields["MemTotal"], fields["MemFree"], fields["MemAvailable"] = &m.total, &m.free, &m.available
	fields["Inactive(file)"], fields["AnonPages"] = &m.inactiveFile, &m.anon
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		// "MemTotal:       16314532 kB"
		key, rest, ok := strings.Cut(sc.Text(), ":")
		dst := fields[key]
		if !ok || dst == nil {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return meminfo{}, fmt.Errorf("node memory: parse %s: %w", key, err)
		}
		if len(f) > 1 && f[1] == "kB" {
			v *= 1024
		}
		*dst = v
		delete(fields, key)
	}
	if len(fields) > 0 {
		return meminfo{}, fmt.Errorf("node memory: %s/meminfo lacks %v", proc, slices.Sorted(maps.Keys(fields)))
	}
	return m, nil
}

// readVMStat returns the machine's page fault counters.
func readVMStat(proc string) (faults, major uint64, err error) {
	data, err := os.ReadFile(filepath.Join(proc, "vmstat"))
	if err != nil {
		return 0, 0, fmt.Errorf("vmstat: %w", err)
	}
	var n int
	for line := range strings.Lines(string(data)) {
		key, val, ok := strings.Cut(strings.TrimSpace(line), " ")
		var dst *uint64
		switch {
		case !ok:
			continue
		case key == "pgfault":
			dst = &faults
		case key == "pgmajfault":
			dst = &major
		default:
			continue
		}
		if *dst, err = strconv.ParseUint(val, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("vmstat %s: %w", key, err)
		}
		n++
	}
	if n != 2 {
		return 0, 0, fmt.Errorf("vmstat: no pgfault/pgmajfault")
	}
	return faults, major, nil
}

// readRlimit reports the PID headroom, as the kubelet does for its
// pid.available eviction signal: kernel.pid_max against the number of
// tasks (threads included, since each takes a PID) from /proc/loadavg.
func readRlimit(proc string, ts metav1.Time) (*statsv1alpha1.RlimitStats, error) {
	raw, err := os.ReadFile(filepath.Join(proc, "sys/kernel/pid_max"))
	if err != nil {
		return nil, fmt.Errorf("pid_max: %w", err)
	}
	maxPID, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("pid_max: %w", err)
	}
	raw, err = os.ReadFile(filepath.Join(proc, "loadavg"))
	if err != nil {
		return nil, fmt.Errorf("loadavg: %w", err)
	}
	// "0.10 0.20 0.30 2/345 6789": the fourth field is running/total.
	f := strings.Fields(string(raw))
	if len(f) < 4 {
		return nil, fmt.Errorf("loadavg: malformed %q", raw)
	}
	_, total, ok := strings.Cut(f[3], "/")
	if !ok {
		return nil, fmt.Errorf("loadavg: malformed %q", raw)
	}
	tasks, err := strconv.ParseInt(total, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("loadavg: %w", err)
	}
	return &statsv1alpha1.RlimitStats{Time: ts, MaxPID: &maxPID, NumOfRunningProcesses: &tasks}, nil
}

// fsStats is statfs of the filesystem holding dir. Available counts only
// blocks unprivileged users may take, like df; used counts all taken ones.
func fsStats(dir string, ts metav1.Time) (*statsv1alpha1.FsStats, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", dir, err)
	}
	bsize := uint64(st.Frsize)
	if bsize == 0 {
		bsize = uint64(st.Bsize)
	}
	out := &statsv1alpha1.FsStats{
		Time:           ts,
		CapacityBytes:  ptr(st.Blocks * bsize),
		AvailableBytes: ptr(st.Bavail * bsize),
		UsedBytes:      ptr((st.Blocks - st.Bfree) * bsize),
	}
	// Some filesystems (btrfs, some FUSE) report no inode counts.
	if st.Files > 0 {
		out.Inodes = ptr(st.Files)
		out.InodesFree = ptr(st.Ffree)
		out.InodesUsed = ptr(st.Files - st.Ffree)
	}
	return out, nil
}
