package linux

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/orca-pods/orca/internal/runtime"
)

// killTimeout bounds the wait for a container to exit after SIGKILL.
const killTimeout = 10 * time.Second

// StopContainer sends the container's stop signal (SIGTERM by default) to
// its init, waits up to grace for it to exit, then kills every process in
// the container with SIGKILL. Stopping a container that is not running is
// a no-op.
func (r *Runtime) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	c, err := r.container(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	state, lc, exited := c.status.State, c.lc, c.exited
	c.mu.Unlock()
	if state != runtime.StateRunning {
		return nil
	}
	if grace > 0 {
		sig, _ := stopSignal(c.cfg.StopSignal) // validated at create
		if err := signal(lc, sig); err != nil {
			return fmt.Errorf("stop container %s: %w", id, err)
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-exited:
			return nil
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("stop container %s: %w", id, ctx.Err())
		}
	}
	if err := kill(ctx, lc, exited); err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	return nil
}

// kill sends SIGKILL and waits for the exit to be recorded. With its own
// PID namespace, killing the container's init makes the kernel kill every
// other process in it; with the host's, libcontainer kills each process
// in the cgroup.
func kill(ctx context.Context, lc *libcontainer.Container, exited <-chan struct{}) error {
	if err := signal(lc, unix.SIGKILL); err != nil {
		return err
	}
	t := time.NewTimer(killTimeout)
	defer t.Stop()
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("still running %s after SIGKILL", killTimeout)
	}
}

func signal(lc *libcontainer.Container, sig os.Signal) error {
	err := lc.Signal(sig)
	if errors.Is(err, libcontainer.ErrNotRunning) {
		return nil // it exited meanwhile
	}
	return err
}

// stopSignal parses a stop signal: "SIGTERM", "TERM" or "15"; "" is SIGTERM.
func stopSignal(s string) (syscall.Signal, error) {
	if s == "" {
		return unix.SIGTERM, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid stop signal %q", s)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid stop signal %q", s)
}

// RemoveContainer kills the container if it still runs, then removes its
// cgroup, libcontainer state, rootfs mount and dirs, and record. The log
// file stays (it belongs to the caller). Removing an unknown container is
// not an error.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	c, err := r.container(id)
	if err != nil {
		return nil
	}
	c.op.Lock()
	defer c.op.Unlock()
	c.mu.Lock()
	state, lc, exited, cleaned := c.status.State, c.lc, c.exited, c.cleaned
	c.mu.Unlock()
	if state == runtime.StateRunning {
		if err := kill(ctx, lc, exited); err != nil {
			return fmt.Errorf("remove container %s: %w", id, err)
		}
	}
	if cleaned != nil {
		select {
		case <-cleaned:
		case <-ctx.Done():
			return fmt.Errorf("remove container %s: %w", id, ctx.Err())
		}
	}
	c.watchers.Wait()
	var errs []error
	// The post-exit cleanup may have failed (a cgroup still busy); retry.
	if lc != nil {
		if _, err := os.Stat(filepath.Join(r.lcRoot(), id)); err == nil {
			errs = append(errs, lc.Destroy())
		}
	} else {
		errs = append(errs, os.RemoveAll(filepath.Join(r.lcRoot(), id)))
	}
	errs = append(errs, removeRootfs(r.rootfsDirs(id)), os.RemoveAll(r.ioDir(id)))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	if err := os.Remove(r.recordPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	r.mu.Lock()
	delete(r.containers, id)
	r.mu.Unlock()
	return nil
}
