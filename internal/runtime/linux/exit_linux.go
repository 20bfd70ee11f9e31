package linux

import (
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"

	"github.com/orca-pods/orca/internal/runtime"
)

// logDrainTimeout bounds how long an exited container's output may take
// to reach the log before the exit is reported.
const logDrainTimeout = 2 * time.Second

// waitExit waits for the container's init (our child), so the exit is seen
// the moment it happens, with no polling. It then records exit code,
// signal and OOM kill, reports ContainerExited, and removes the cgroup and
// libcontainer state.
func (r *Runtime) waitExit(c *container, lc *libcontainer.Container, proc *libcontainer.Process, cio *containerIO, memDir string) {
	defer c.watchers.Done()
	ps, _ := proc.Wait()
	finishedAt := time.Now()
	killLeftovers(lc)
	cio.drain(logDrainTimeout)
	code, sig := exitStatus(ps)
	r.recordExit(c, exitInfo{code: code, signal: sig, finishedAt: finishedAt}, memDir)
	r.log.Debug("container exited", "container", c.id, "exit", code, "reported after", time.Since(finishedAt))
	r.cleanup(c, lc)
}

// killLeftovers kills what remains of a container whose init exited, when
// the container is in a PID namespace that is not its own (the pod's
// shared one, or the host's): there the init's exit does not end its other
// processes, and they may hold its output open. containerd's shim does the
// same; libcontainer's Destroy would, but only after the output drained.
func killLeftovers(lc *libcontainer.Container) {
	if cfg := lc.Config(); !cfg.Namespaces.IsPrivate(configs.NEWPID) {
		_ = lc.Signal(unix.SIGKILL)
	}
}

type exitInfo struct {
	code, signal int
	finishedAt   time.Time
	// unknown: the process was not our child (it was started by an earlier
	// Runtime), so its exit status is lost.
	unknown bool
}

// recordExit reads the cgroup's OOM kill counter (while the cgroup still
// exists), updates the status and reports the exit.
//
// The counter is the truth about OOM kills: a container whose cgroup saw
// one and whose init then ended non-zero was OOM-killed, and reports
// 137 (SIGKILL) even if its init exited 1 after its worker was killed,
// as the kubelet does.
func (r *Runtime) recordExit(c *container, e exitInfo, memDir string) {
	oomKilled := false
	if n, err := oomKillCount(memDir, r.host.cgroup); err == nil && n > 0 && (e.code != 0 || e.unknown) {
		oomKilled = true
		e.code = 128 + int(unix.SIGKILL)
	}
	c.mu.Lock()
	c.status.State = runtime.StateExited
	c.status.ExitCode = e.code
	c.status.Signal = e.signal
	c.status.OOMKilled = oomKilled
	c.status.FinishedAt = e.finishedAt
	if e.unknown && !oomKilled {
		c.status.Reason = "Unknown"
		c.status.Message = "the container exited while no runtime was watching it; its exit status is lost"
	}
	if err := r.saveRecord(c); err != nil {
		r.log.Warn("save container record", "container", c.id, "err", err)
	}
	exited := c.exited
	c.mu.Unlock()
	close(exited)
	r.emit(runtime.ContainerExited, c)
}

// cleanup removes the exited container's cgroup and libcontainer state;
// the rootfs stays until RemoveContainer.
func (r *Runtime) cleanup(c *container, lc *libcontainer.Container) {
	if err := lc.Destroy(); err != nil {
		r.log.Warn("destroy exited container", "container", c.id, "err", err)
	}
	close(c.cleaned)
}

// exitStatus turns a wait status into the Kubernetes exit code: the exit
// status, or 128+n for death by signal n.
func exitStatus(ps *os.ProcessState) (code, sig int) {
	if ps == nil {
		return 255, 0
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		s := int(ws.Signal())
		return 128 + s, s
	}
	return ps.ExitCode(), 0
}

// watchOOM makes an OOM kill end the whole container on cgroup v1, where
// the kernel kills only the one process it picked (v2 has
// memory.oom.group, set in the spec). libcontainer's notification (an
// eventfd on memory.oom_control) is only a hint that the cgroup hit its
// limit; we kill when the oom_kill counter confirms a kill.
func (r *Runtime) watchOOM(c *container, lc *libcontainer.Container, memDir string) {
	defer c.watchers.Done()
	ch, err := lc.NotifyOOM()
	if err != nil {
		r.log.Debug("no OOM notifications", "container", c.id, "err", err)
		return
	}
	killed := false
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
			if killed || r.host.cgroup == cgroupV2 || !awaitOOMKill(memDir, r.host.cgroup) {
				continue
			}
			killed = true
			r.log.Debug("OOM kill in container, killing the rest of it", "container", c.id)
			if err := lc.Signal(unix.SIGKILL); err != nil && !errors.Is(err, libcontainer.ErrNotRunning) {
				r.log.Warn("kill OOM-killed container", "container", c.id, "err", err)
			}
		case <-c.cleaned:
			return
		}
	}
}

// awaitOOMKill waits briefly for the oom_kill counter to move: the
// notification is sent when the cgroup runs out of memory, just before
// the OOM killer picks its victim.
func awaitOOMKill(memDir string, mode cgroupMode) bool {
	for range 20 {
		if n, err := oomKillCount(memDir, mode); err == nil && n > 0 {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}
