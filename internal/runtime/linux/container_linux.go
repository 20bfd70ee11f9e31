package linux

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	// Without it the cgroup managers cannot apply device rules and refuse
	// to start a container that has any.
	_ "github.com/opencontainers/cgroups/devices"

	"github.com/orca-pods/orca/internal/runtime"
)

// container is the runtime's view of one container. Its state moves
// created -> running -> exited (or created -> exited on a start error);
// only the goroutine that observes the exit moves it to exited.
type container struct {
	id        string
	sandboxID string
	cfg       runtime.ContainerConfig
	// spec and lcConfig are built at create (rebuilt on recovery).
	spec     *specs.Spec
	lcConfig *configs.Config

	// op serialises Start and Remove of this container.
	op sync.Mutex

	mu     sync.Mutex
	status runtime.ContainerStatus
	lc     *libcontainer.Container // nil until started
	// cio copies the output of a running container to its log (nil until
	// started, or when an adopted container's output could not be
	// reattached).
	cio *containerIO
	// exited is closed once the exit is recorded in status; cleaned once
	// the cgroup and libcontainer state are gone after that. Both are nil
	// until the container runs.
	exited, cleaned chan struct{}
	// watchers are the exit and OOM watchers; Remove waits for them.
	watchers sync.WaitGroup
}

// startErrorPrefix is what containerd puts before runc's error when a
// container fails to start. The kubelet shows the message as is, and users
// and tools recognise this shape, so the runtime reports start errors in it
// with libcontainer's own error text in the middle.
const startErrorPrefix = "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: "

// CreateContainer records a container and checks its config (building its
// OCI spec and libcontainer config); nothing runs until StartContainer.
func (r *Runtime) CreateContainer(ctx context.Context, sandboxID string, cfg runtime.ContainerConfig) (string, error) {
	sb, err := r.sandbox(sandboxID)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	if err := validateContainerConfig(&cfg); err != nil {
		return "", fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	cfg = cloneConfig(cfg)
	id := newID()
	spec, err := r.buildSpec(id, sb, &cfg)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	lcConfig, err := libcontainerConfig(id, spec)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	c := &container{
		id:        id,
		sandboxID: sandboxID,
		cfg:       cfg,
		spec:      spec,
		lcConfig:  lcConfig,
		status: runtime.ContainerStatus{
			ID:        id,
			SandboxID: sandboxID,
			Name:      cfg.Name,
			Attempt:   cfg.Attempt,
			Labels:    copyLabels(cfg.Labels),
			ImageRef:  cfg.ImageRef,
			State:     runtime.StateCreated,
			CreatedAt: time.Now(),
			LogPath:   cfg.LogPath,
		},
	}
	if err := r.saveRecord(c); err != nil {
		return "", fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	r.mu.Lock()
	r.containers[id] = c
	r.mu.Unlock()
	return id, nil
}

func validateContainerConfig(cfg *runtime.ContainerConfig) error {
	if len(cfg.Args) == 0 {
		return errors.New("no command")
	}
	if len(cfg.RootfsLayers) == 0 {
		return errors.New("no rootfs layers")
	}
	if cfg.LogPath != "" && !filepath.IsAbs(cfg.LogPath) {
		return fmt.Errorf("log path %q is not absolute", cfg.LogPath)
	}
	if _, err := stopSignal(cfg.StopSignal); err != nil {
		return err
	}
	return nil
}

func cloneConfig(cfg runtime.ContainerConfig) runtime.ContainerConfig {
	cfg.Labels = maps.Clone(cfg.Labels)
	cfg.RootfsLayers = slices.Clone(cfg.RootfsLayers)
	cfg.Args = slices.Clone(cfg.Args)
	cfg.Env = slices.Clone(cfg.Env)
	cfg.Mounts = slices.Clone(cfg.Mounts)
	cfg.User.AdditionalGIDs = slices.Clone(cfg.User.AdditionalGIDs)
	cfg.Security.CapabilitiesAdd = slices.Clone(cfg.Security.CapabilitiesAdd)
	cfg.Security.CapabilitiesDrop = slices.Clone(cfg.Security.CapabilitiesDrop)
	cfg.Security.Sysctls = maps.Clone(cfg.Security.Sysctls)
	return cfg
}

// StartContainer mounts the container's rootfs and runs its process. When
// that fails (say, the command is not in the image) the container is
// exited with exit code 128 and reason StartError, and the error is
// returned too.
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	c, err := r.container(id)
	if err != nil {
		return err
	}
	c.op.Lock()
	defer c.op.Unlock()
	c.mu.Lock()
	state := c.status.State
	c.mu.Unlock()
	if state != runtime.StateCreated {
		return fmt.Errorf("start container %s: container is %s", id, state)
	}
	sb, err := r.sandbox(c.sandboxID)
	if err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	if err := r.start(c, sb); err != nil {
		r.startFailed(c, err)
		return fmt.Errorf("start container %s: %w", id, err)
	}
	return nil
}

func (r *Runtime) start(c *container, sb *sandbox) error {
	if sb.Config.SharePID {
		nsPath, err := r.ensurePause(sb)
		if err != nil {
			return err
		}
		if c.spec != nil && specPIDNSPath(c.spec) != nsPath {
			c.lcConfig = nil // the pause was replaced since the create
		}
	}
	if c.lcConfig == nil {
		spec, err := r.buildSpec(c.id, sb, &c.cfg)
		if err != nil {
			return err
		}
		if c.lcConfig, err = libcontainerConfig(c.id, spec); err != nil {
			return err
		}
		c.spec = spec
	}
	t0 := time.Now()
	if err := mountRootfs(c.cfg.RootfsLayers, r.rootfsDirs(c.id)); err != nil {
		return err
	}
	proc := newProcess(c.spec.Process, true)
	cio, err := openContainerIO(&c.cfg, r.ioDir(c.id), proc)
	if err != nil {
		return err
	}
	// A start that crashed half way may have left libcontainer's dir.
	if err := os.RemoveAll(filepath.Join(r.lcRoot(), c.id)); err != nil {
		cio.close()
		return err
	}
	t1 := time.Now()
	lc, err := libcontainer.Create(r.lcRoot(), c.id, c.lcConfig)
	if err != nil {
		cio.close()
		return err
	}
	t2 := time.Now()
	if err := lc.Run(proc); err != nil {
		cio.close()
		if derr := lc.Destroy(); derr != nil {
			r.log.Warn("clean up container that failed to start", "container", c.id, "err", derr)
		}
		return err
	}
	startedAt := time.Now()
	r.log.Debug("container started", "container", c.id, "rootfs+io", t1.Sub(t0), "create", t2.Sub(t1), "run", startedAt.Sub(t2))
	if err := cio.started(); err != nil {
		_ = lc.Signal(unix.SIGKILL)
		_, _ = proc.Wait()
		cio.close()
		_ = lc.Destroy()
		return err
	}
	memDir := ""
	if st, err := lc.State(); err == nil {
		memDir = memoryCgroupDir(st.CgroupPaths, r.host.cgroup)
	}

	c.mu.Lock()
	c.lc = lc
	c.cio = cio
	c.status.State = runtime.StateRunning
	c.status.StartedAt = startedAt
	c.exited, c.cleaned = make(chan struct{}), make(chan struct{})
	if err := r.saveRecord(c); err != nil {
		r.log.Warn("save container record", "container", c.id, "err", err)
	}
	c.mu.Unlock()

	r.emit(runtime.ContainerStarted, c)
	c.watchers.Add(2)
	go r.watchOOM(c, lc, memDir)
	go r.waitExit(c, lc, proc, cio, memDir)
	return nil
}

func (r *Runtime) startFailed(c *container, err error) {
	c.mu.Lock()
	c.status.State = runtime.StateExited
	c.status.ExitCode = 128
	c.status.Reason = "StartError"
	c.status.Message = startErrorPrefix + err.Error() + ": unknown"
	c.status.FinishedAt = time.Now()
	if serr := r.saveRecord(c); serr != nil {
		r.log.Warn("save container record", "container", c.id, "err", serr)
	}
	c.mu.Unlock()
	r.emit(runtime.ContainerExited, c)
}

// newProcess makes libcontainer's process from the spec's, as runc does.
// Capabilities, no_new_privs and seccomp come from the container config.
func newProcess(p *specs.Process, init bool) *libcontainer.Process {
	lp := &libcontainer.Process{
		Args: slices.Clone(p.Args),
		Env:  slices.Clone(p.Env),
		UID:  int(p.User.UID),
		GID:  int(p.User.GID),
		Cwd:  p.Cwd,
		Init: init,
	}
	for _, g := range p.User.AdditionalGids {
		lp.AdditionalGroups = append(lp.AdditionalGroups, int(g))
	}
	for _, rl := range p.Rlimits {
		if rl.Type == "RLIMIT_NOFILE" {
			lp.Rlimits = append(lp.Rlimits, configs.Rlimit{Type: unix.RLIMIT_NOFILE, Hard: rl.Hard, Soft: rl.Soft})
		}
	}
	return lp
}

// ContainerStatus returns what the runtime knows about a container.
func (r *Runtime) ContainerStatus(ctx context.Context, id string) (*runtime.ContainerStatus, error) {
	c, err := r.container(id)
	if err != nil {
		return nil, err
	}
	return c.snapshot(), nil
}

// ListContainers returns all containers, oldest first.
func (r *Runtime) ListContainers(ctx context.Context) ([]*runtime.ContainerStatus, error) {
	r.mu.Lock()
	all := make([]*container, 0, len(r.containers))
	for _, c := range r.containers {
		all = append(all, c)
	}
	r.mu.Unlock()
	out := make([]*runtime.ContainerStatus, 0, len(all))
	for _, c := range all {
		out = append(out, c.snapshot())
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (c *container) snapshot() *runtime.ContainerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.status
	s.Labels = copyLabels(c.status.Labels)
	return &s
}
