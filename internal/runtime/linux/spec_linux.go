package linux

import (
	"fmt"
	"math"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/seccomp"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/orca-pods/orca/internal/runtime"
)

const defaultPathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// maxNofile caps RLIMIT_NOFILE, as container runtimes commonly do; the
// host's hard limit caps it further (raising it would need
// CAP_SYS_RESOURCE, which this host may not have).
const maxNofile = 1 << 20

// Paths masked and made read-only in /proc and /sys, as containerd's defaults.
var (
	maskedPaths = []string{
		"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// buildSpec turns a resolved container config into an OCI spec: runc's
// specconv.Example() defaults, adjusted as containerd's CRI plugin does
// for Kubernetes (namespaces joined from the sandbox, /etc files from the
// sandbox, capabilities, masks, seccomp, resources).
func (r *Runtime) buildSpec(id string, sb *sandbox, cfg *runtime.ContainerConfig) (*specs.Spec, error) {
	namespaces := r.specNamespaces(sb)
	if cfg.TargetContainerID != "" {
		path, err := r.pidNamespaceOf(cfg.TargetContainerID)
		if err != nil {
			return nil, err
		}
		namespaces = withPIDNamespace(namespaces, path)
	}
	sec := cfg.Security
	if len(cfg.Args) == 0 {
		return nil, fmt.Errorf("no command")
	}
	cwd := cfg.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	if !filepath.IsAbs(cwd) {
		return nil, fmt.Errorf("working dir %q is not absolute", cwd)
	}
	user, err := specUser(cfg.User)
	if err != nil {
		return nil, err
	}
	caps, err := containerCapabilities(sec, r.host.boundingCaps)
	if err != nil {
		return nil, err
	}
	mounts, err := r.specMounts(sb, cfg)
	if err != nil {
		return nil, err
	}
	nofile := min(uint64(maxNofile), r.host.nofileHard)
	oomScoreAdj := cfg.Resources.OOMScoreAdj
	if oomScoreAdj < r.host.oomScoreAdj && !r.host.canLowerOOMScore {
		// Without CAP_SYS_RESOURCE the kernel refuses a value below our
		// own, and libcontainer would fail the start.
		oomScoreAdj = r.host.oomScoreAdj
	}
	spec := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: r.rootfsDirs(id).merged, Readonly: sec.ReadOnlyRootfs},
		Process: &specs.Process{
			Terminal:        cfg.TTY,
			User:            user,
			Args:            slices.Clone(cfg.Args),
			Env:             containerEnv(cfg.Env, sb.Hostname),
			Cwd:             cwd,
			NoNewPrivileges: sec.NoNewPrivileges,
			Capabilities:    &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: nofile, Soft: nofile}},
			OOMScoreAdj:     &oomScoreAdj,
		},
		// No hostname: the container joins the sandbox's UTS namespace
		// (or the host's), whose hostname is already right.
		Mounts: mounts,
		Linux: &specs.Linux{
			CgroupsPath:       path.Join(sb.Sandbox.CgroupParent, id),
			Namespaces:        namespaces,
			Resources:         r.specResources(cfg),
			Sysctl:            cfg.Security.Sysctls,
			RootfsPropagation: rootfsPropagation(cfg.Mounts),
		},
	}
	if !sec.Privileged && !sec.MaskedPathsUnmasked {
		spec.Linux.MaskedPaths = slices.Clone(maskedPaths)
		spec.Linux.ReadonlyPaths = slices.Clone(readonlyPaths)
	}
	if sec.Privileged {
		if spec.Linux.Devices, err = hostDevices(); err != nil {
			return nil, fmt.Errorf("list host devices: %w", err)
		}
	}
	profile, err := seccompProfile(sec, caps)
	if err != nil {
		return nil, err
	}
	if profile != nil && !seccomp.Enabled {
		r.seccompWarning.Do(func() {
			r.log.Warn("seccomp support is not compiled in (build with cgo and -tags seccomp); containers run without a seccomp profile")
		})
		profile = nil
	}
	spec.Linux.Seccomp = profile
	return spec, nil
}

// specPIDNSPath is the path of the PID namespace a spec joins ("" for a
// new one or the host's).
func specPIDNSPath(spec *specs.Spec) string {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.PIDNamespace {
			return ns.Path
		}
	}
	return ""
}

// libcontainerConfig converts the spec with runc's own converter.
func libcontainerConfig(id string, spec *specs.Spec) (*configs.Config, error) {
	return specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: id, Spec: spec})
}

func specUser(u runtime.User) (specs.User, error) {
	valid := func(id int64) bool { return id >= 0 && id <= math.MaxUint32 }
	if !valid(u.UID) || !valid(u.GID) {
		return specs.User{}, fmt.Errorf("invalid user %d:%d", u.UID, u.GID)
	}
	// The primary group is also a supplementary one, as containerd
	// makes it (otherwise setgroups drops it from the list).
	out := specs.User{UID: uint32(u.UID), GID: uint32(u.GID), AdditionalGids: []uint32{uint32(u.GID)}}
	for _, g := range u.AdditionalGIDs {
		if g == u.GID {
			continue
		}
		if !valid(g) {
			return specs.User{}, fmt.Errorf("invalid group %d", g)
		}
		out.AdditionalGids = append(out.AdditionalGids, uint32(g))
	}
	return out, nil
}

// containerEnv adds what containerd adds when the image and pod do not
// set it: a default PATH (libcontainer resolves args[0] with it) and
// HOSTNAME.
func containerEnv(env []string, hostname string) []string {
	out := slices.Clone(env)
	has := func(key string) bool {
		return slices.ContainsFunc(out, func(kv string) bool { return strings.HasPrefix(kv, key+"=") })
	}
	if !has("PATH") {
		out = append(out, defaultPathEnv)
	}
	if !has("HOSTNAME") {
		out = append(out, "HOSTNAME="+hostname)
	}
	return out
}

// specNamespaces gives the container its own mount and PID namespaces and
// joins the sandbox's network, IPC and UTS namespaces by path. An empty
// path means the host's namespace: no entry, so libcontainer stays in it.
// A SharePID sandbox's containers join its pause process's PID namespace.
func (r *Runtime) specNamespaces(sb *sandbox) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	switch {
	case sb.Config.SharePID:
		ns = append(ns, specs.LinuxNamespace{Type: specs.PIDNamespace, Path: sb.pidNSPath()})
	case !sb.Config.HostPID:
		ns = append(ns, specs.LinuxNamespace{Type: specs.PIDNamespace})
	}
	if p := sb.Sandbox.NetNSPath; p != "" {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: p})
	}
	if p := sb.Sandbox.IPCNSPath; p != "" {
		ns = append(ns, specs.LinuxNamespace{Type: specs.IPCNamespace, Path: p})
	}
	if p := sb.Sandbox.UTSNSPath; p != "" {
		ns = append(ns, specs.LinuxNamespace{Type: specs.UTSNamespace, Path: p})
	}
	if r.host.cgroup == cgroupV2 {
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return ns
}

func (r *Runtime) specResources(cfg *runtime.ContainerConfig) *specs.LinuxResources {
	res := &specs.LinuxResources{
		// Deny all devices but libcontainer's default allow list;
		// privileged containers may use every device.
		Devices: []specs.LinuxDeviceCgroup{{Allow: cfg.Security.Privileged, Access: "rwm"}},
	}
	rc := cfg.Resources
	if m := rc.MemoryLimitBytes; m > 0 {
		res.Memory = &specs.LinuxMemory{Limit: &m}
		if r.host.noSwap {
			// memory+swap = memory: no swap.
			swap := m
			res.Memory.Swap = &swap
		}
	}
	if rc.CPUShares > 0 || rc.CPUQuota > 0 {
		res.CPU = &specs.LinuxCPU{}
		if rc.CPUShares > 0 {
			shares := rc.CPUShares
			res.CPU.Shares = &shares
		}
		if rc.CPUQuota > 0 {
			quota, period := rc.CPUQuota, rc.CPUPeriod
			if period == 0 {
				period = 100000
			}
			res.CPU.Quota, res.CPU.Period = &quota, &period
		}
	}
	if rc.PidsLimit > 0 {
		limit := rc.PidsLimit
		res.Pids = &specs.LinuxPids{Limit: &limit}
	}
	if r.host.cgroup == cgroupV2 {
		// One OOM kill ends the whole container, as the kubelet sets.
		res.Unified = map[string]string{"memory.oom.group": "1"}
	}
	return res
}

// specMounts: the default file systems (runc's example spec), the pod's
// /etc/hosts, /etc/resolv.conf and /etc/hostname, then the container's
// mounts, which replace a default or /etc file at the same path.
func (r *Runtime) specMounts(sb *sandbox, cfg *runtime.ContainerConfig) ([]specs.Mount, error) {
	priv, ro := cfg.Security.Privileged, cfg.Security.ReadOnlyRootfs
	sysMode := "ro"
	if priv {
		sysMode = "rw"
	}
	shm := specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
		Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}
	if sb.Config.HostIPC {
		shm = specs.Mount{Destination: "/dev/shm", Type: "bind", Source: "/dev/shm",
			Options: []string{"rbind", "rprivate", "nosuid", "noexec", "nodev"}}
	}
	defaults := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts",
			Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		shm,
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", sysMode}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup",
			Options: []string{"nosuid", "noexec", "nodev", "relatime", sysMode}},
	}
	etcMode := "rw"
	if ro {
		etcMode = "ro"
	}
	for _, f := range []struct{ dst, src string }{
		{"/etc/hosts", sb.Sandbox.EtcHostsPath},
		{"/etc/resolv.conf", sb.Sandbox.ResolvConfPath},
		{"/etc/hostname", sb.HostnamePath},
	} {
		if f.src != "" {
			defaults = append(defaults, specs.Mount{Destination: f.dst, Type: "bind", Source: f.src,
				Options: []string{"rbind", "rprivate", etcMode}})
		}
	}
	own := make(map[string]bool)
	var user []specs.Mount
	for _, m := range cfg.Mounts {
		sm, err := specMount(m)
		if err != nil {
			return nil, err
		}
		own[sm.Destination] = true
		user = append(user, sm)
	}
	var out []specs.Mount
	for _, m := range defaults {
		if !own[m.Destination] {
			out = append(out, m)
		}
	}
	return append(out, user...), nil
}

func specMount(m runtime.Mount) (specs.Mount, error) {
	dst := path.Clean(m.ContainerPath)
	if !path.IsAbs(dst) {
		return specs.Mount{}, fmt.Errorf("mount path %q is not absolute", m.ContainerPath)
	}
	mode := "rw"
	if m.ReadOnly {
		mode = "ro"
	}
	if m.Tmpfs {
		return specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs",
			Options: []string{"nosuid", "nodev", "mode=755", mode}}, nil
	}
	if !filepath.IsAbs(m.HostPath) {
		return specs.Mount{}, fmt.Errorf("mount %s: host path %q is not absolute", dst, m.HostPath)
	}
	var prop string
	switch m.Propagation {
	case "", "private", "rprivate":
		prop = "rprivate"
	case "rslave", "rshared":
		prop = m.Propagation
	default:
		return specs.Mount{}, fmt.Errorf("mount %s: unknown propagation %q", dst, m.Propagation)
	}
	return specs.Mount{Destination: dst, Type: "bind", Source: m.HostPath,
		Options: []string{"rbind", prop, mode}}, nil
}

// rootfsPropagation: a shared or slave mount only propagates if the
// container's root mount does too (containerd does the same).
func rootfsPropagation(mounts []runtime.Mount) string {
	prop := ""
	for _, m := range mounts {
		switch m.Propagation {
		case "rshared":
			return "rshared"
		case "rslave":
			prop = "rslave"
		}
	}
	return prop
}

// pidNamespaceOf is the PID namespace of a running container's init, for a
// debug container that targets it.
func (r *Runtime) pidNamespaceOf(id string) (string, error) {
	r.mu.Lock()
	c, ok := r.containers[id]
	r.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("target container %s: %w", id, runtime.ErrNotFound)
	}
	c.mu.Lock()
	lc := c.lc
	c.mu.Unlock()
	if lc == nil {
		return "", fmt.Errorf("target container %s: %w", id, runtime.ErrNotRunning)
	}
	state, err := lc.State()
	if err != nil {
		return "", fmt.Errorf("target container %s: %w", id, err)
	}
	return pidNSPath(state.InitProcessPid), nil
}

// withPIDNamespace replaces the PID namespace entry of ns with one joining path.
func withPIDNamespace(ns []specs.LinuxNamespace, path string) []specs.LinuxNamespace {
	out := make([]specs.LinuxNamespace, 0, len(ns)+1)
	for _, n := range ns {
		if n.Type != specs.PIDNamespace {
			out = append(out, n)
		}
	}
	return append(out, specs.LinuxNamespace{Type: specs.PIDNamespace, Path: path})
}
