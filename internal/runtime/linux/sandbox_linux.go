package linux

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orca-pods/orca/internal/runtime"
)

// sandbox is a pod's shared environment as the runtime keeps it, in memory
// and in sandboxes/<id>/sandbox.json.
type sandbox struct {
	Config  runtime.SandboxConfig `json:"config"`
	Sandbox runtime.Sandbox       `json:"sandbox"`
	// Hostname is what containers see: the pod's hostname, or the
	// node's when the pod uses the host network (and so the host's UTS
	// namespace, as the kubelet does).
	Hostname     string `json:"hostname"`
	HostnamePath string `json:"hostnamePath"`
	// PausePID and PauseStartTime identify the pause process of a SharePID
	// sandbox (see pause_linux.go) across Runtimes.
	PausePID       int    `json:"pausePid,omitempty"`
	PauseStartTime uint64 `json:"pauseStartTime,omitempty"`

	// mu guards pause, the Pause fields and Sandbox.PIDNSPath, which
	// change when a dead pause process is replaced.
	mu    sync.Mutex
	pause *pauseProc
}

// snapshot returns the sandbox as callers see it.
func (sb *sandbox) snapshot() runtime.Sandbox {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return sb.Sandbox
}

// pidNSPath is the shared PID namespace containers join ("" unless SharePID).
func (sb *sandbox) pidNSPath() string {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return sb.Sandbox.PIDNSPath
}

func (r *Runtime) sandboxStateDir(id string) string { return filepath.Join(r.sandboxRoot(), id) }

func (r *Runtime) sandboxRecordPath(id string) string {
	return filepath.Join(r.sandboxStateDir(id), "sandbox.json")
}

// CreateSandbox creates the pod's network, IPC and UTS namespaces (unless
// the pod uses the host's), its cgroup and its /etc/hosts, /etc/resolv.conf
// and /etc/hostname files, and, when the pod shares its process namespace,
// the pause process that holds the PID namespace. The sandbox ID is the pod
// UID; creating it again returns the existing sandbox.
func (r *Runtime) CreateSandbox(ctx context.Context, cfg runtime.SandboxConfig) (*runtime.Sandbox, error) {
	if err := validateID(cfg.PodUID); err != nil {
		return nil, fmt.Errorf("create sandbox: pod uid: %w", err)
	}
	if cfg.SharePID && cfg.HostPID {
		return nil, fmt.Errorf("create sandbox for pod %s/%s: SharePID and HostPID cannot both be set", cfg.Namespace, cfg.PodName)
	}
	r.sbMu.Lock()
	defer r.sbMu.Unlock()
	if sb, err := r.sandbox(cfg.PodUID); err == nil {
		out := sb.snapshot()
		return &out, nil
	}
	sb, err := r.newSandbox(cfg)
	if err != nil {
		return nil, fmt.Errorf("create sandbox for pod %s/%s: %w", cfg.Namespace, cfg.PodName, err)
	}
	if err := r.setupSandbox(sb); err != nil {
		if terr := r.teardownSandbox(sb); terr != nil {
			r.log.Warn("clean up failed sandbox", "pod", cfg.Namespace+"/"+cfg.PodName, "err", terr)
		}
		return nil, fmt.Errorf("create sandbox for pod %s/%s: %w", cfg.Namespace, cfg.PodName, err)
	}
	r.mu.Lock()
	r.sandboxes[sb.Sandbox.ID] = sb
	r.mu.Unlock()
	out := sb.snapshot()
	return &out, nil
}

func (r *Runtime) newSandbox(cfg runtime.SandboxConfig) (*sandbox, error) {
	id := cfg.PodUID
	stateDir := r.sandboxStateDir(id)
	dir := cfg.Dir
	if dir == "" {
		dir = stateDir
	}
	hostname := cfg.Hostname
	if hostname == "" {
		hostname = cfg.PodName
	}
	if cfg.HostNetwork {
		h, err := os.Hostname()
		if err != nil {
			return nil, err
		}
		hostname = h
	}
	parent := cfg.CgroupParent
	if parent == "" {
		parent = "/orca/pod" + id
	}
	sb := &sandbox{
		Config:   cfg,
		Hostname: hostname,
		Sandbox: runtime.Sandbox{
			ID:           id,
			PodUID:       cfg.PodUID,
			PodName:      cfg.PodName,
			Namespace:    cfg.Namespace,
			CgroupParent: cgroupPath(parent),
			CreatedAt:    time.Now(),
		},
		HostnamePath: filepath.Join(dir, "hostname"),
	}
	if !cfg.HostNetwork {
		sb.Sandbox.NetNSPath = filepath.Join(netnsDir, "orca-"+id)
		sb.Sandbox.UTSNSPath = filepath.Join(stateDir, "uts")
	}
	if !cfg.HostIPC {
		sb.Sandbox.IPCNSPath = filepath.Join(stateDir, "ipc")
	}
	if cfg.EtcHosts != "" {
		sb.Sandbox.EtcHostsPath = filepath.Join(dir, "etc-hosts")
	}
	if cfg.ResolvConf != "" {
		sb.Sandbox.ResolvConfPath = filepath.Join(dir, "resolv.conf")
	}
	return sb, nil
}

func (r *Runtime) setupSandbox(sb *sandbox) error {
	stateDir := r.sandboxStateDir(sb.Sandbox.ID)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(sb.HostnamePath), 0o755); err != nil {
		return err
	}
	// The record goes first: if we crash from here on, New finds it and
	// knows what to clean up.
	if err := writeJSON(r.sandboxRecordPath(sb.Sandbox.ID), sb); err != nil {
		return err
	}
	files := []struct{ path, content string }{
		{sb.Sandbox.EtcHostsPath, sb.Config.EtcHosts},
		{sb.Sandbox.ResolvConfPath, sb.Config.ResolvConf},
		{sb.HostnamePath, sb.Hostname + "\n"},
	}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		if err := os.WriteFile(f.path, []byte(f.content), 0o644); err != nil {
			return err
		}
	}
	if err := createPodCgroup(sb.Sandbox.CgroupParent, sb.Config.Resources); err != nil {
		return err
	}
	var pins []nsPin
	if p := sb.Sandbox.NetNSPath; p != "" {
		if err := os.MkdirAll(netnsDir, 0o755); err != nil {
			return err
		}
		pins = append(pins, nsPin{kind: "net", flag: unix.CLONE_NEWNET, path: p})
	}
	if p := sb.Sandbox.IPCNSPath; p != "" {
		pins = append(pins, nsPin{kind: "ipc", flag: unix.CLONE_NEWIPC, path: p})
	}
	if p := sb.Sandbox.UTSNSPath; p != "" {
		pins = append(pins, nsPin{kind: "uts", flag: unix.CLONE_NEWUTS, path: p})
	}
	if err := createNamespaces(pins, sb.Hostname); err != nil {
		return err
	}
	if !sb.Config.SharePID {
		return nil
	}
	if err := r.startPause(sb); err != nil {
		return err
	}
	return writeJSON(r.sandboxRecordPath(sb.Sandbox.ID), sb)
}

// teardownSandbox undoes setupSandbox; it tolerates missing pieces so it
// can finish a half-done create or remove. The record goes last, and only
// when everything else is gone, so a failed teardown can be retried.
func (r *Runtime) teardownSandbox(sb *sandbox) error {
	// The pause goes first: the pod cgroup cannot be removed while it
	// runs there.
	errs := []error{r.stopPause(sb)}
	s := sb.snapshot()
	for _, p := range []string{s.NetNSPath, s.IPCNSPath, s.UTSNSPath} {
		errs = append(errs, unpin(p))
	}
	errs = append(errs, removePodCgroup(s.CgroupParent))
	for _, p := range []string{s.EtcHostsPath, s.ResolvConfPath, sb.HostnamePath} {
		if p == "" {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.RemoveAll(r.sandboxStateDir(s.ID))
}

// RemoveSandbox removes the sandbox's remaining containers (killing any
// still running, as the CRI asks), unpins its namespaces, removes its
// cgroup and files. Removing an unknown sandbox is not an error.
func (r *Runtime) RemoveSandbox(ctx context.Context, id string) error {
	r.sbMu.Lock()
	defer r.sbMu.Unlock()
	sb, err := r.sandbox(id)
	if err != nil {
		return nil
	}
	var errs []error
	for _, cid := range r.containersOf(id) {
		errs = append(errs, r.RemoveContainer(ctx, cid))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove sandbox %s: %w", id, err)
	}
	if err := r.teardownSandbox(sb); err != nil {
		return fmt.Errorf("remove sandbox %s: %w", id, err)
	}
	r.mu.Lock()
	delete(r.sandboxes, id)
	r.mu.Unlock()
	return nil
}

// ListSandboxes returns all sandboxes, oldest first.
func (r *Runtime) ListSandboxes(ctx context.Context) ([]*runtime.Sandbox, error) {
	r.mu.Lock()
	out := make([]*runtime.Sandbox, 0, len(r.sandboxes))
	for _, sb := range r.sandboxes {
		s := sb.snapshot()
		out = append(out, &s)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
