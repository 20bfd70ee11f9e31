package linux

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/orca-pods/orca/internal/runtime"
)

// recover loads the sandboxes and containers an earlier Runtime left in
// StateDir, and removes what a crash or reboot made stale:
//   - sandboxes whose namespace pins are no longer mounted (a reboot: the
//     files are on disk, the mounts are not), with their containers;
//   - sandbox dirs and libcontainer or rootfs dirs without a record (a
//     crash in the middle of a create).
//
// Containers still running are adopted: their exit is watched through a
// pidfd and their output copied again from their FIFOs. What is lost is
// the exit status of a process that is not our child (reported as 255,
// reason Unknown, or OOMKilled from the cgroup's counter) and the terminal
// of a TTY container.
func (r *Runtime) recover() error {
	if err := r.recoverSandboxes(); err != nil {
		return err
	}
	if err := r.recoverContainers(); err != nil {
		return err
	}
	return r.removeOrphans()
}

func (r *Runtime) recoverSandboxes() error {
	entries, err := os.ReadDir(r.sandboxRoot())
	if err != nil {
		return err
	}
	for _, e := range entries {
		dir := filepath.Join(r.sandboxRoot(), e.Name())
		sb := &sandbox{}
		if err := readJSON(filepath.Join(dir, "sandbox.json"), sb); err != nil || sb.Sandbox.ID != e.Name() {
			// A create that crashed before its record was written: only
			// pins in its own dir can exist.
			r.log.Warn("removing sandbox state without a record", "dir", dir)
			for _, name := range []string{"ipc", "uts"} {
				_ = unpin(filepath.Join(dir, name))
			}
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			continue
		}
		if !sandboxAlive(sb) {
			r.log.Info("removing stale sandbox", "pod", sb.Sandbox.Namespace+"/"+sb.Sandbox.PodName, "sandbox", sb.Sandbox.ID)
			if err := r.teardownSandbox(sb); err != nil {
				r.log.Warn("remove stale sandbox", "sandbox", sb.Sandbox.ID, "err", err)
			}
			continue
		}
		if sb.Config.SharePID {
			r.recoverPause(sb)
		}
		r.sandboxes[sb.Sandbox.ID] = sb
	}
	return nil
}

// recoverPause adopts the pause process of a SharePID sandbox. If it died
// while no runtime watched (its containers died with it), a new one is
// started, after killing any unrecorded pause left in its cgroup; failing
// that, the next container start tries again.
func (r *Runtime) recoverPause(sb *sandbox) {
	if r.adoptPause(sb) {
		return
	}
	r.log.Info("pause process gone, starting a new one", "pod", sb.Sandbox.Namespace+"/"+sb.Sandbox.PodName, "pid", sb.PausePID)
	if err := killCgroupProcs(pauseCgroup(sb)); err != nil {
		r.log.Warn("kill leftover pause processes", "sandbox", sb.Sandbox.ID, "err", err)
	}
	if _, err := r.ensurePause(sb); err != nil {
		r.log.Warn("restart pause process", "sandbox", sb.Sandbox.ID, "err", err)
	}
}

func sandboxAlive(sb *sandbox) bool {
	for _, p := range []string{sb.Sandbox.NetNSPath, sb.Sandbox.IPCNSPath, sb.Sandbox.UTSNSPath} {
		if p != "" && !pinAlive(p) {
			return false
		}
	}
	return true
}

func (r *Runtime) recoverContainers() error {
	entries, err := os.ReadDir(r.recordDir())
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(r.recordDir(), name)
		if strings.HasPrefix(name, ".") { // an interrupted writeJSON
			_ = os.Remove(path)
			continue
		}
		id := strings.TrimSuffix(name, ".json")
		var rec containerRecord
		if err := readJSON(path, &rec); err != nil || rec.Status.ID != id {
			r.log.Warn("removing unreadable container record", "container", id, "err", err)
			r.removeLeftovers(id)
			continue
		}
		sb, ok := r.sandboxes[rec.Status.SandboxID]
		if !ok {
			r.log.Info("removing container of a removed sandbox", "container", id, "sandbox", rec.Status.SandboxID)
			r.removeLeftovers(id)
			continue
		}
		c := &container{id: id, sandboxID: rec.Status.SandboxID, cfg: rec.Config, status: rec.Status}
		if spec, err := r.buildSpec(id, sb, &c.cfg); err == nil {
			if lcc, err := libcontainerConfig(id, spec); err == nil {
				c.spec, c.lcConfig = spec, lcc
			}
		}
		r.adopt(c)
		r.containers[id] = c
	}
	return nil
}

// adopt reconciles a container's record with what libcontainer knows.
func (r *Runtime) adopt(c *container) {
	lc, err := libcontainer.Load(r.lcRoot(), c.id)
	if err != nil {
		// No libcontainer state: never started, or cleaned after exit.
		_ = os.RemoveAll(filepath.Join(r.lcRoot(), c.id))
		if c.status.State == runtime.StateRunning {
			c.exited, c.cleaned = closedChan(), closedChan()
			r.markLost(c, "")
		}
		return
	}
	st, err := lc.Status()
	state, serr := lc.State()
	if err != nil || serr != nil {
		r.log.Warn("unreadable libcontainer state, killing the container", "container", c.id, "err", errors.Join(err, serr))
		r.removeLeftovers(c.id)
		if c.status.State == runtime.StateRunning {
			c.exited, c.cleaned = closedChan(), closedChan()
			r.markLost(c, "")
		}
		return
	}
	memDir := memoryCgroupDir(state.CgroupPaths, r.host.cgroup)
	switch st {
	case libcontainer.Running, libcontainer.Paused:
		c.lc = lc
		c.exited, c.cleaned = make(chan struct{}), make(chan struct{})
		if c.status.State != runtime.StateRunning {
			c.status.State = runtime.StateRunning
			c.status.StartedAt = state.Created
		}
		cio, err := reopenContainerIO(&c.cfg, r.ioDir(c.id))
		if err != nil {
			r.log.Warn("reattach container output", "container", c.id, "err", err)
		}
		c.cio = cio
		c.watchers.Add(2)
		go r.watchOOM(c, lc, memDir)
		go r.watchAdopted(c, lc, state.InitProcessPid, cio, memDir)
	case libcontainer.Created:
		// The init still waits to exec the command: the start never
		// completed. Kill it and report the start as failed.
		_ = lc.Signal(unix.SIGKILL)
		waitStopped(lc)
		if err := lc.Destroy(); err != nil {
			r.log.Warn("destroy container", "container", c.id, "err", err)
		}
		c.status.State = runtime.StateExited
		c.status.ExitCode = 128
		c.status.Reason = "StartError"
		c.status.Message = startErrorPrefix + "the runtime restarted before the container started: unknown"
		c.status.FinishedAt = time.Now()
		_ = r.saveRecord(c)
	default: // stopped while no runtime was watching
		if c.status.State == runtime.StateRunning {
			c.exited, c.cleaned = closedChan(), closedChan()
			r.markLost(c, memDir)
		}
		if err := lc.Destroy(); err != nil {
			r.log.Warn("destroy container", "container", c.id, "err", err)
		}
	}
}

// markLost records the exit of a container that ended unobserved.
func (r *Runtime) markLost(c *container, memDir string) {
	c.status.State = runtime.StateExited
	c.status.ExitCode = 255
	c.status.FinishedAt = time.Now()
	if n, err := oomKillCount(memDir, r.host.cgroup); err == nil && n > 0 {
		c.status.OOMKilled = true
		c.status.ExitCode = 128 + int(unix.SIGKILL)
	} else {
		c.status.Reason = "Unknown"
		c.status.Message = "the container exited while no runtime was watching it; its exit status is lost"
	}
	if err := r.saveRecord(c); err != nil {
		r.log.Warn("save container record", "container", c.id, "err", err)
	}
}

// watchAdopted waits for the exit of a container started by an earlier
// Runtime. Its init is not our child, so it cannot be waited for; a pidfd
// becomes readable when the process exits, and the Go poller waits on it
// without a thread.
func (r *Runtime) watchAdopted(c *container, lc *libcontainer.Container, pid int, cio *containerIO, memDir string) {
	defer c.watchers.Done()
	if fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK); err == nil {
		f := os.NewFile(uintptr(fd), "pidfd")
		// The pid could have been reused between Load and PidfdOpen:
		// check, through libcontainer's start-time comparison, that
		// it is still the container's init.
		if st, err := lc.Status(); err == nil && st != libcontainer.Stopped {
			if conn, err := f.SyscallConn(); err == nil {
				first := true
				_ = conn.Read(func(uintptr) bool {
					ready := !first
					first = false
					return ready
				})
			}
		}
		f.Close()
	}
	finishedAt := time.Now()
	killLeftovers(lc)
	if cio != nil {
		cio.drain(logDrainTimeout)
	}
	r.recordExit(c, exitInfo{code: 255, finishedAt: finishedAt, unknown: true}, memDir)
	r.cleanup(c, lc)
}

// removeOrphans removes libcontainer state and rootfs dirs that no record
// refers to, killing what still runs there.
func (r *Runtime) removeOrphans() error {
	entries, err := os.ReadDir(r.lcRoot())
	if err != nil {
		return err
	}
	for _, e := range entries {
		if _, ok := r.containers[e.Name()]; !ok {
			r.removeLeftovers(e.Name())
		}
	}
	for _, dir := range []string{r.cfg.RootDir, filepath.Join(r.cfg.StateDir, "io")} {
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		for _, e := range entries {
			if _, ok := r.containers[e.Name()]; !ok {
				r.removeLeftovers(e.Name())
			}
		}
	}
	return nil
}

// removeLeftovers removes everything of a container the runtime no
// longer tracks.
func (r *Runtime) removeLeftovers(id string) {
	if validateID(id) != nil {
		return
	}
	if lc, err := libcontainer.Load(r.lcRoot(), id); err == nil {
		if st, _ := lc.Status(); st != libcontainer.Stopped {
			_ = lc.Signal(unix.SIGKILL)
			waitStopped(lc)
		}
		if err := lc.Destroy(); err != nil {
			r.log.Warn("destroy leftover container", "container", id, "err", err)
		}
	}
	for _, err := range []error{
		os.RemoveAll(filepath.Join(r.lcRoot(), id)),
		removeRootfs(r.rootfsDirs(id)),
		os.RemoveAll(r.ioDir(id)),
		os.Remove(r.recordPath(id)),
	} {
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			r.log.Warn("remove leftover container", "container", id, "err", err)
		}
	}
}

// waitStopped waits (up to 2s) for a killed container that is not our
// child to be gone.
func waitStopped(lc *libcontainer.Container) {
	for range 200 {
		if st, err := lc.Status(); err != nil || st == libcontainer.Stopped {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func closedChan() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}
