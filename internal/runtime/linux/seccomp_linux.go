package linux

import (
	"encoding/json"
	"fmt"
	"os"
	goruntime "runtime"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/orca-pods/orca/internal/runtime"
)

// Seccomp profile names of runtime.Security.SeccompProfile.
const (
	seccompRuntimeDefault = "RuntimeDefault"
	seccompUnconfined     = "Unconfined"
)

// seccompProfile returns the seccomp filter for a container, or nil for
// none. Privileged containers run unconfined, as with containerd.
func seccompProfile(sec runtime.Security, caps []string) (*specs.LinuxSeccomp, error) {
	if sec.Privileged {
		return nil, nil
	}
	switch p := sec.SeccompProfile; p {
	case "", seccompRuntimeDefault, "runtime/default":
		return defaultSeccompProfile(caps), nil
	case seccompUnconfined, "unconfined":
		return nil, nil
	default:
		return loadSeccompProfile(strings.TrimPrefix(p, "localhost/"))
	}
}

// loadSeccompProfile reads an OCI (runtime-spec LinuxSeccomp) profile.
func loadSeccompProfile(path string) (*specs.LinuxSeccomp, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	var p specs.LinuxSeccomp
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("seccomp profile %s: %w", path, err)
	}
	return &p, nil
}

// capGatedSyscalls are denied unless the container has the capability,
// following moby's default profile, which allows each group only with its
// capability.
var capGatedSyscalls = []struct {
	capability string
	names      []string
}{
	{"CAP_SYS_ADMIN", []string{
		"bpf", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
		"lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree",
		"perf_event_open", "quotactl", "quotactl_fd", "setdomainname",
		"sethostname", "setns", "swapoff", "swapon", "umount", "umount2", "unshare",
	}},
	{"CAP_SYS_BOOT", []string{"reboot", "kexec_load", "kexec_file_load"}},
	{"CAP_SYS_CHROOT", []string{"chroot"}},
	{"CAP_SYS_MODULE", []string{"delete_module", "init_module", "finit_module"}},
	{"CAP_SYS_PACCT", []string{"acct"}},
	{"CAP_SYS_PTRACE", []string{"kcmp", "pidfd_getfd", "process_madvise"}},
	{"CAP_SYS_RAWIO", []string{"iopl", "ioperm"}},
	{"CAP_SYS_TIME", []string{
		"settimeofday", "stime", "clock_settime", "clock_settime64",
		"clock_adjtime", "clock_adjtime64",
	}},
	{"CAP_SYS_TTY_CONFIG", []string{"vhangup"}},
	{"CAP_SYS_NICE", []string{"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
	{"CAP_SYSLOG", []string{"syslog"}},
	{"CAP_DAC_READ_SEARCH", []string{"open_by_handle_at"}},
}

// alwaysDenied are syscalls moby's default profile never allows: kernel
// keyrings are not namespaced, the rest are obsolete or known attack
// surface (userfaultfd, io_uring).
var alwaysDenied = []string{
	"add_key", "keyctl", "request_key",
	"create_module", "get_kernel_syms", "query_module", "nfsservctl",
	"_sysctl", "sysfs", "uselib", "ustat", "vm86", "vm86old",
	"userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
}

// namespaceCloneFlags are the clone(2) flags that create namespaces.
var namespaceCloneFlags = []uint64{
	unix.CLONE_NEWNS, unix.CLONE_NEWCGROUP, unix.CLONE_NEWUTS, unix.CLONE_NEWIPC,
	unix.CLONE_NEWUSER, unix.CLONE_NEWPID, unix.CLONE_NEWNET,
}

// defaultSeccompProfile is the RuntimeDefault profile: a compact deny list
// (default action allow, listed syscalls fail with EPERM) that blocks what
// moby's default allow-list profile blocks for the same capabilities,
// without its several hundred allow rules:
//   - alwaysDenied, and each capGatedSyscalls group unless the container
//     has that capability;
//   - clone(2) with a namespace flag and clone3(2) (ENOSYS, so libc falls
//     back to clone, whose flags we can inspect) without CAP_SYS_ADMIN;
//   - socket(AF_VSOCK).
//
// Differences from moby's: syscalls newer than the list are allowed (an
// allow list denies them), and personality(2) is not restricted to the
// harmless values. The native and compat architectures are listed so that
// 32-bit syscalls are filtered too.
func defaultSeccompProfile(caps []string) *specs.LinuxSeccomp {
	eperm, enosys := uint(unix.EPERM), uint(unix.ENOSYS)
	p := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: seccompArchitectures(),
	}
	deny := func(names ...string) {
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: names, Action: specs.ActErrno, ErrnoRet: &eperm})
	}
	deny(alwaysDenied...)
	for _, g := range capGatedSyscalls {
		if !slices.Contains(caps, g.capability) {
			deny(g.names...)
		}
	}
	if !slices.Contains(caps, "CAP_SYS_ADMIN") {
		for _, flag := range namespaceCloneFlags {
			p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{
				Names:    []string{"clone"},
				Action:   specs.ActErrno,
				ErrnoRet: &eperm,
				Args:     []specs.LinuxSeccompArg{{Index: 0, Value: flag, ValueTwo: flag, Op: specs.OpMaskedEqual}},
			})
		}
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys})
	}
	p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{
		Names:    []string{"socket"},
		Action:   specs.ActErrno,
		ErrnoRet: &eperm,
		Args:     []specs.LinuxSeccompArg{{Index: 0, Value: unix.AF_VSOCK, Op: specs.OpEqualTo}},
	})
	return p
}

func seccompArchitectures() []specs.Arch {
	switch goruntime.GOARCH {
	case "amd64":
		return []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	case "arm64":
		return []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
	default:
		return nil // the native architecture only
	}
}
