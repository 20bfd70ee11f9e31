// Package runtime defines what the node agent needs from a container
// runtime, in the model of the Kubernetes CRI but in-process: a pod sandbox
// holds the pod's shared network, IPC and UTS namespaces (the pause role) and
// its cgroup; containers run inside it, each with its own mount and PID
// namespace, a root filesystem stacked from image layers, and a log file.
// A pod that shares its process namespace (SandboxConfig.SharePID) has one
// PID namespace for all its containers instead, whose PID 1 is the
// sandbox's pause process.
//
// Lifecycle of a container: Create -> Start -> (exits, or Stop) -> Remove.
// Exits are reported on Events as they happen (the agent's PLEG reacts to
// them); Status can be asked at any time. IDs are opaque strings chosen by
// the runtime. Implementations: linux/ (libcontainer), fake/ (for logic tests).
package runtime

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	// ErrNotRunning: exec or stop of a container that is not running.
	ErrNotRunning = errors.New("container is not running")
)

// Runtime runs pod sandboxes and their containers on this machine.
type Runtime interface {
	// CreateSandbox makes the pod's namespaces and cgroup, hostname,
	// /etc/hosts and /etc/resolv.conf. It is idempotent per pod UID.
	CreateSandbox(ctx context.Context, cfg SandboxConfig) (*Sandbox, error)
	// RemoveSandbox tears the sandbox down; its containers must be removed.
	RemoveSandbox(ctx context.Context, id string) error
	ListSandboxes(ctx context.Context) ([]*Sandbox, error)

	// CreateContainer prepares (but does not start) a container in a sandbox.
	CreateContainer(ctx context.Context, sandboxID string, cfg ContainerConfig) (string, error)
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends the stop signal, then SIGKILL after grace.
	StopContainer(ctx context.Context, id string, grace time.Duration) error
	RemoveContainer(ctx context.Context, id string) error
	ContainerStatus(ctx context.Context, id string) (*ContainerStatus, error)
	ListContainers(ctx context.Context) ([]*ContainerStatus, error)

	// Exec runs a command inside a running container's namespaces and
	// cgroup (probes, hooks, kubectl exec).
	Exec(ctx context.Context, id string, req ExecRequest) (exitCode int, err error)

	// Events delivers container state changes (started, exited) as they happen.
	Events() <-chan Event

	// ReopenContainerLog makes a running container's output go to a fresh
	// file at its LogPath, created anew, and closes the file it wrote
	// before (CRI ReopenContainerLog). Log rotation renames the file, then
	// calls this. It fails with ErrNotRunning for a container that is not
	// running: an exited container writes nothing more.
	ReopenContainerLog(ctx context.Context, id string) error
}

// SandboxConfig describes a pod's sandbox.
type SandboxConfig struct {
	PodUID, PodName, Namespace string
	Hostname                   string
	// CgroupParent is the pod's cgroup path relative to the cgroup root of
	// every controller, e.g. "/orca/besteffort/pod<uid>".
	CgroupParent string
	HostNetwork  bool
	HostIPC      bool
	HostPID      bool
	// SharePID puts all the pod's containers in one PID namespace
	// (spec.shareProcessNamespace), whose PID 1 is a pause process that
	// reaps orphans. It cannot be combined with HostPID.
	SharePID bool
	// Resources are the pod cgroup's limits (OOMScoreAdj is unused), set
	// as the kubelet sizes the pod cgroup: what its containers add up to.
	Resources Resources
	// EtcHosts and ResolvConf are the files' contents, written once per pod.
	EtcHosts, ResolvConf string
	// Dir is a directory owned by the pod where the runtime keeps its files.
	Dir string
}

// Sandbox is a pod's shared environment.
type Sandbox struct {
	ID, PodUID, PodName, Namespace string
	// NetNSPath, IPCNSPath and UTSNSPath are pinned namespace files that
	// containers join ("" for host namespaces).
	NetNSPath, IPCNSPath, UTSNSPath string
	// PIDNSPath is the shared PID namespace of a SharePID sandbox
	// (/proc/<pause pid>/ns/pid), "" otherwise.
	PIDNSPath string
	// EtcHostsPath and ResolvConfPath are bind-mounted into containers.
	EtcHostsPath, ResolvConfPath string
	CgroupParent                 string
	CreatedAt                    time.Time
}

// ContainerConfig is a fully resolved container: the agent has already
// combined the image config with the pod spec.
type ContainerConfig struct {
	// Name is the container's name in the pod; Attempt is its restart count.
	Name    string
	Attempt int
	// Labels are kept with the container and returned in its status, so a
	// restarted agent can tell which pod and container it belongs to.
	Labels map[string]string
	// ImageRef names the image; RootfsLayers are its unpacked layers,
	// lowest first, stacked read-only under a per-container upper dir.
	ImageRef     string
	RootfsLayers []string
	Args         []string // argv, args[0] resolved against PATH in the container
	Env          []string // KEY=value
	WorkingDir   string
	User         User
	Mounts       []Mount
	Resources    Resources
	Security     Security
	// LogPath is the host file stdout/stderr go to, in the CRI log format.
	LogPath string
	// TTY and Stdin keep a terminal or stdin attached (kubectl attach).
	TTY, Stdin, StdinOnce bool
	// StopSignal is sent by StopContainer before SIGKILL (default SIGTERM).
	StopSignal string
	// TargetContainerID, when set, makes the container join that running
	// container's PID namespace (kubectl debug --target).
	TargetContainerID string
}

// User is the identity the process runs as. UID/GID are numeric; the agent
// resolves names from the image's /etc/passwd before calling the runtime.
type User struct {
	UID, GID       int64
	AdditionalGIDs []int64
}

// Mount binds a host path (or tmpfs) into the container.
type Mount struct {
	HostPath, ContainerPath string
	ReadOnly                bool
	// Tmpfs mounts a fresh tmpfs instead of HostPath.
	Tmpfs bool
	// Propagation: "private" (default), "rslave" or "rshared".
	Propagation string
}

// Resources become cgroup settings.
type Resources struct {
	CPUShares        uint64 // from the CPU request
	CPUQuota         int64  // from the CPU limit, per CPUPeriod; 0 = none
	CPUPeriod        uint64
	MemoryLimitBytes int64 // 0 = none
	PidsLimit        int64 // 0 = none
	OOMScoreAdj      int
}

// Security is the container's security context, resolved.
type Security struct {
	Privileged          bool
	ReadOnlyRootfs      bool
	NoNewPrivileges     bool
	CapabilitiesAdd     []string // CAP_ names
	CapabilitiesDrop    []string // CAP_ names, or ALL
	SeccompProfile      string   // "RuntimeDefault" (default), "Unconfined", or a host path
	MaskedPathsUnmasked bool     // procMount: Unmasked
	Sysctls             map[string]string
}

// State is a container's lifecycle state.
type State int

const (
	StateCreated State = iota
	StateRunning
	StateExited
	StateUnknown
)

func (s State) String() string {
	switch s {
	case StateCreated:
		return "created"
	case StateRunning:
		return "running"
	case StateExited:
		return "exited"
	default:
		return "unknown"
	}
}

// ContainerStatus is what the runtime knows about one container.
type ContainerStatus struct {
	ID, SandboxID, Name string
	Attempt             int
	Labels              map[string]string
	ImageRef            string
	State               State
	CreatedAt           time.Time
	StartedAt           time.Time
	FinishedAt          time.Time
	ExitCode            int
	// Signal is set when the process died by a signal (ExitCode = 128+n).
	Signal int
	// OOMKilled: the kernel's OOM killer ended the container.
	OOMKilled bool
	// Reason and Message describe a failure to start (CRI's StartError).
	Reason, Message string
	LogPath         string
}

// EventType says what happened to a container.
type EventType int

const (
	ContainerStarted EventType = iota
	ContainerExited
)

// Event is one container state change.
type Event struct {
	Type        EventType
	ContainerID string
	SandboxID   string
	Labels      map[string]string
}

// ExecRequest is a command to run in a container.
type ExecRequest struct {
	Cmd    []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	TTY    bool
	// Resize delivers terminal size changes when TTY is set.
	Resize <-chan TerminalSize
}

// AttachRequest connects a client to a running container's own stdio
// (kubectl attach): its output from now on, and its stdin if it has one.
type AttachRequest struct {
	// Stdin is copied to the container's stdin (or terminal); nil leaves
	// it alone. For a container with StdinOnce and no TTY, the end of
	// Stdin closes the container's stdin, which then reads EOF.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Resize delivers terminal size changes for a TTY container.
	Resize <-chan TerminalSize
}

// Attacher is implemented by runtimes that can attach to a running
// container's stdio. Attach returns once the container's output has ended
// (it exited) or ctx is done.
type Attacher interface {
	Attach(ctx context.Context, id string, req AttachRequest) error
}

// TerminalSize is a TTY's size in characters.
type TerminalSize struct{ Width, Height uint16 }
