package linux

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"golang.org/x/sys/unix"

	"github.com/orca-pods/orca/internal/runtime/linux/nsinit"
)

// A sandbox whose pod shares its process namespace has a pause process:
// this binary re-executed as `/pause orca-pause` (see nsinit.PauseArg), PID 1
// of a PID namespace that every container of the pod joins by the path
// /proc/<pid>/ns/pid. Unlike the network, IPC and UTS namespaces, a PID
// namespace cannot be kept by a bind mount alone: once its PID 1 exits the
// kernel kills every process in it and no process can be created there.
//
// The pause runs in its own session (setsid), in the pod's cgroup
// (<pod cgroup>/pause) and in the pod's network, IPC and UTS namespaces,
// like the Kubernetes pause container. It outlives the Runtime that started
// it: its pid and start time are kept in sandbox.json, and a new Runtime
// adopts it. RemoveSandbox kills it.

// pauseKillTimeout bounds the wait for a pause process to exit after SIGKILL.
const pauseKillTimeout = 10 * time.Second

// pauseOOMScoreAdj is the kubelet's oom_score_adj for pause containers.
const pauseOOMScoreAdj = -998

// pauseProc is a live (or just exited) pause process.
type pauseProc struct {
	pid int
	// pidfd refers to the process itself, so a reused pid cannot be
	// mistaken for it; it becomes readable when the process exits.
	pidfd *os.File
	// child is set when this Runtime started the process: it must reap it.
	child *os.Process
	// exited is closed once the process has exited (and been reaped, if it
	// is our child).
	exited chan struct{}
	// stopping is set before the runtime kills it, so the exit is expected.
	stopping atomic.Bool
}

func (p *pauseProc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func pidNSPath(pid int) string { return fmt.Sprintf("/proc/%d/ns/pid", pid) }

// pauseCgroup is the pause process's cgroup, below the pod's: on cgroup v2
// the pod's cgroup cannot hold processes itself once its children use
// controllers.
func pauseCgroup(sb *sandbox) string { return path.Join(sb.Sandbox.CgroupParent, "pause") }

// startPause starts the sandbox's pause process and records it in sb; the
// caller holds sb.mu (or owns sb) and saves the record.
func (r *Runtime) startPause(sb *sandbox) error {
	var pins []nsPin
	for _, p := range []nsPin{
		{kind: "net", flag: unix.CLONE_NEWNET, path: sb.Sandbox.NetNSPath},
		{kind: "ipc", flag: unix.CLONE_NEWIPC, path: sb.Sandbox.IPCNSPath},
		{kind: "uts", flag: unix.CLONE_NEWUTS, path: sb.Sandbox.UTSNSPath},
	} {
		if p.path != "" {
			pins = append(pins, p)
		}
	}
	type result struct {
		proc *os.Process
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		// Never unlocked: the thread joins the pod's namespaces so that
		// the pause, forked from it, starts in them; Go terminates the
		// thread when this goroutine returns.
		goruntime.LockOSThread()
		proc, err := spawnPause(pins)
		ch <- result{proc, err}
	}()
	res := <-ch
	if res.err != nil {
		return fmt.Errorf("start pause process: %w", res.err)
	}
	proc := res.proc
	fail := func(err error) error {
		_ = proc.Kill()
		_, _ = proc.Wait()
		return fmt.Errorf("start pause process: %w", err)
	}
	// Our unreaped child: its pid cannot have been reused.
	fd, err := unix.PidfdOpen(proc.Pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return fail(fmt.Errorf("pidfd_open: %w", err))
	}
	p := &pauseProc{pid: proc.Pid, pidfd: os.NewFile(uintptr(fd), "pidfd"), child: proc, exited: make(chan struct{})}
	start, err := procStartTime(proc.Pid)
	if err != nil {
		p.pidfd.Close()
		return fail(err)
	}
	m, err := manager.New(&cgroups.Cgroup{Path: pauseCgroup(sb), Resources: &cgroups.Resources{}})
	if err == nil {
		err = m.Apply(proc.Pid)
	}
	if err != nil {
		p.pidfd.Close()
		return fail(fmt.Errorf("join cgroup %s: %w", pauseCgroup(sb), err))
	}
	if r.host.canLowerOOMScore || pauseOOMScoreAdj >= r.host.oomScoreAdj {
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", proc.Pid), []byte(strconv.Itoa(pauseOOMScoreAdj)), 0)
	}
	sb.pause = p
	sb.PausePID, sb.PauseStartTime = proc.Pid, start
	sb.Sandbox.PIDNSPath = pidNSPath(proc.Pid)
	go r.watchPause(sb, p)
	r.log.Debug("pause process started", "pod", sb.Sandbox.Namespace+"/"+sb.Sandbox.PodName, "pid", proc.Pid)
	return nil
}

// spawnPause runs on a locked OS thread: it moves the thread into the
// namespaces of pins (setns of net, ipc and uts is allowed in a
// multi-threaded process and changes only the calling thread) and forks
// the pause from it into a new PID namespace.
func spawnPause(pins []nsPin) (*os.Process, error) {
	for _, p := range pins {
		f, err := os.Open(p.path)
		if err != nil {
			return nil, err
		}
		err = unix.Setns(int(f.Fd()), p.flag)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("join %s namespace %s: %w", p.kind, p.path, err)
		}
	}
	cmd := &exec.Cmd{
		Path: "/proc/self/exe",
		// ps in the pod's containers shows "/pause orca-pause" as PID 1.
		Args: []string{"/pause", nsinit.PauseArg},
		// One P: the pause needs no parallelism, and each P costs memory.
		Env: []string{"GOMAXPROCS=1"},
		Dir: "/",
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: unix.CLONE_NEWPID,
			// Its own session: no signal meant for our terminal or
			// process group reaches it.
			Setsid: true,
		},
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd.Process, nil
}

// adoptPause finds the pause process recorded in sb, started by an earlier
// Runtime, and watches it; it returns false when that process is gone.
func (r *Runtime) adoptPause(sb *sandbox) bool {
	if sb.PausePID <= 0 {
		return false
	}
	fd, err := unix.PidfdOpen(sb.PausePID, unix.PIDFD_NONBLOCK)
	if err != nil {
		return false
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	// The pidfd pins the process it was opened for; checking after the
	// open that this is the recorded pause (same start time, same command)
	// rules out a reused pid.
	if start, err := procStartTime(sb.PausePID); err != nil || start != sb.PauseStartTime || !isPause(sb.PausePID) {
		f.Close()
		return false
	}
	p := &pauseProc{pid: sb.PausePID, pidfd: f, exited: make(chan struct{})}
	sb.pause = p
	sb.Sandbox.PIDNSPath = pidNSPath(p.pid)
	go r.watchPause(sb, p)
	return true
}

func isPause(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := bytes.Split(b, []byte{0})
	return len(args) > 1 && string(args[1]) == nsinit.PauseArg
}

// watchPause waits for the pause to exit, through the Go poller on its
// pidfd (no thread is held), and reaps it if it is our child. It lives as
// long as the pause process does.
func (r *Runtime) watchPause(sb *sandbox, p *pauseProc) {
	if conn, err := p.pidfd.SyscallConn(); err == nil {
		first := true
		_ = conn.Read(func(uintptr) bool {
			ready := !first
			first = false
			return ready
		})
	}
	if p.child != nil {
		_, _ = p.child.Wait()
	}
	close(p.exited)
	if !p.stopping.Load() {
		r.log.Warn("pause process exited; the pod's containers died with its PID namespace",
			"pod", sb.Sandbox.Namespace+"/"+sb.Sandbox.PodName, "pid", p.pid)
	}
}

// ensurePause returns the sandbox's PID namespace path, starting a new
// pause process first if the one it had is gone (the next containers of
// the pod then share a new PID namespace). A pause dying between this
// check and a container joining its namespace makes that start fail.
func (r *Runtime) ensurePause(sb *sandbox) (string, error) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if p := sb.pause; p != nil && p.alive() {
		// The pidfd watcher learns of an exit a moment after the kernel
		// tears the namespace down; a namespace already gone means the
		// pause is exiting, so wait for the watcher rather than hand out
		// a dead path.
		if _, err := os.Lstat(sb.Sandbox.PIDNSPath); err == nil {
			return sb.Sandbox.PIDNSPath, nil
		}
		select {
		case <-p.exited:
		case <-time.After(pauseKillTimeout):
			return "", fmt.Errorf("pause process %d: PID namespace gone but the process has not exited", p.pid)
		}
	}
	if sb.pause != nil {
		sb.pause.pidfd.Close()
		sb.pause = nil
	}
	if err := r.startPause(sb); err != nil {
		return "", err
	}
	if err := writeJSON(r.sandboxRecordPath(sb.Sandbox.ID), sb); err != nil {
		return "", fmt.Errorf("save sandbox record: %w", err)
	}
	return sb.Sandbox.PIDNSPath, nil
}

// stopPause kills the sandbox's pause process, if any, and waits for it to
// be gone; then it kills whatever else is in the pause cgroup (a pause
// started by a Runtime that crashed before recording it).
func (r *Runtime) stopPause(sb *sandbox) error {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if p := sb.pause; p != nil {
		p.stopping.Store(true)
		if p.alive() {
			if err := unix.PidfdSendSignal(int(p.pidfd.Fd()), unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("kill pause process %d: %w", p.pid, err)
			}
		}
		select {
		case <-p.exited:
		case <-time.After(pauseKillTimeout):
			return fmt.Errorf("pause process %d still running %s after SIGKILL", p.pid, pauseKillTimeout)
		}
		p.pidfd.Close()
		sb.pause = nil
	}
	if !sb.Config.SharePID {
		return nil
	}
	return killCgroupProcs(pauseCgroup(sb))
}

// killCgroupProcs kills every process in a cgroup and waits (up to
// pauseKillTimeout) for the cgroup to be empty. A missing cgroup is empty.
func killCgroupProcs(p string) error {
	m, err := manager.New(&cgroups.Cgroup{Path: p, Resources: &cgroups.Resources{}})
	if err != nil {
		return err
	}
	deadline := time.Now().Add(pauseKillTimeout)
	for {
		pids, err := m.GetAllPids()
		if err != nil || len(pids) == 0 {
			return nil // no cgroup (never made, or after a reboot), or empty
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s: processes %v still running after SIGKILL", p, pids)
		}
		for _, pid := range pids {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// procStartTime is a process's start time in clock ticks after boot
// (field 22 of /proc/<pid>/stat): with the pid, it identifies a process.
func procStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command (field 2) is in parentheses and may contain anything;
	// the fields after the last ")" start at field 3.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}
