package fake

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/orca-pods/orca/internal/runtime"
)

// startErrorPrefix matches the real runtime's StartError messages.
const startErrorPrefix = "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: "

func (f *Runtime) CreateContainer(ctx context.Context, sandboxID string, cfg runtime.ContainerConfig) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("CreateContainer", sandboxID); err != nil {
		return "", err
	}
	if _, ok := f.sandboxes[sandboxID]; !ok {
		return "", fmt.Errorf("create container %s: sandbox %q: %w", cfg.Name, sandboxID, runtime.ErrNotFound)
	}
	if len(cfg.Args) == 0 {
		return "", fmt.Errorf("create container %s: no command", cfg.Name)
	}
	f.nextID++
	id := fmt.Sprintf("c%d", f.nextID)
	cfg.Labels = maps.Clone(cfg.Labels)
	cfg.Args = slices.Clone(cfg.Args)
	cfg.Env = slices.Clone(cfg.Env)
	f.containers[id] = &fakeContainer{
		cfg: cfg,
		status: runtime.ContainerStatus{
			ID:        id,
			SandboxID: sandboxID,
			Name:      cfg.Name,
			Attempt:   cfg.Attempt,
			Labels:    maps.Clone(cfg.Labels),
			ImageRef:  cfg.ImageRef,
			State:     runtime.StateCreated,
			CreatedAt: f.now(),
			LogPath:   cfg.LogPath,
		},
	}
	return id, nil
}

func (f *Runtime) StartContainer(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("StartContainer", id); err != nil {
		return err
	}
	c, ok := f.containers[id]
	if !ok {
		return fmt.Errorf("container %q: %w", id, runtime.ErrNotFound)
	}
	if c.status.State != runtime.StateCreated {
		return fmt.Errorf("start container %s: container is %s", id, c.status.State)
	}
	if err, ok := f.startErrs[c.status.Name]; ok {
		c.status.State = runtime.StateExited
		c.status.ExitCode = 128
		c.status.Reason = "StartError"
		c.status.Message = startErrorPrefix + err.Error() + ": unknown"
		c.status.FinishedAt = f.now()
		f.emitLocked(runtime.ContainerExited, c)
		return fmt.Errorf("start container %s: %w", id, err)
	}
	c.status.State = runtime.StateRunning
	c.status.StartedAt = f.now()
	f.emitLocked(runtime.ContainerStarted, c)
	return nil
}

// StopContainer ends a running container: exit code 143 (SIGTERM) when
// there is a grace period, 137 (SIGKILL) without one.
func (f *Runtime) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("StopContainer", id); err != nil {
		return err
	}
	c, ok := f.containers[id]
	if !ok {
		return fmt.Errorf("container %q: %w", id, runtime.ErrNotFound)
	}
	if c.status.State != runtime.StateRunning {
		return nil
	}
	sig := 9
	if grace > 0 {
		sig = 15
	}
	f.exitLocked(c, 128+sig, sig, false)
	return nil
}

func (f *Runtime) RemoveContainer(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("RemoveContainer", id); err != nil {
		return err
	}
	c, ok := f.containers[id]
	if !ok {
		return nil
	}
	if c.status.State == runtime.StateRunning {
		f.exitLocked(c, 137, 9, false)
	}
	delete(f.containers, id)
	return nil
}

func (f *Runtime) ContainerStatus(ctx context.Context, id string) (*runtime.ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("ContainerStatus", id); err != nil {
		return nil, err
	}
	c, ok := f.containers[id]
	if !ok {
		return nil, fmt.Errorf("container %q: %w", id, runtime.ErrNotFound)
	}
	return c.snapshot(), nil
}

func (f *Runtime) ListContainers(ctx context.Context) ([]*runtime.ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("ListContainers", ""); err != nil {
		return nil, err
	}
	out := make([]*runtime.ContainerStatus, 0, len(f.containers))
	for _, c := range f.containers {
		out = append(out, c.snapshot())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (f *Runtime) Exec(ctx context.Context, id string, req runtime.ExecRequest) (int, error) {
	f.mu.Lock()
	if err := f.begin("Exec", id); err != nil {
		f.mu.Unlock()
		return -1, err
	}
	c, ok := f.containers[id]
	if !ok {
		f.mu.Unlock()
		return -1, fmt.Errorf("container %q: %w", id, runtime.ErrNotFound)
	}
	running := c.status.State == runtime.StateRunning
	exec := f.exec
	f.mu.Unlock()
	if !running {
		return -1, fmt.Errorf("exec in container %s: %w", id, runtime.ErrNotRunning)
	}
	if exec == nil {
		return 0, nil
	}
	// Called without the lock: the handler may call back into the fake
	// (say, to make the container exit).
	return exec(id, req)
}

// ReopenContainerLog does what the real runtime's does to the file system:
// it creates the running container's LogPath if it is missing (after a
// rotation renamed it). Unlike the real runtime it creates no directory,
// so that logic tests with made-up log paths touch nothing; nothing is
// written to the file afterwards.
func (f *Runtime) ReopenContainerLog(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("ReopenContainerLog", id); err != nil {
		return err
	}
	c, ok := f.containers[id]
	if !ok {
		return fmt.Errorf("container %q: %w", id, runtime.ErrNotFound)
	}
	if c.status.State != runtime.StateRunning {
		return fmt.Errorf("reopen log of container %s: %w", id, runtime.ErrNotRunning)
	}
	p := c.cfg.LogPath
	if p == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Dir(p)); err != nil {
		return nil
	}
	file, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("reopen log of container %s: %w", id, err)
	}
	return file.Close()
}

func (c *fakeContainer) snapshot() *runtime.ContainerStatus {
	s := c.status
	s.Labels = maps.Clone(c.status.Labels)
	return &s
}
