package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
	"unicode"
)

// runParent dispatches the workers round robin, waits for every one, and
// returns the number that failed, which is stress's exit status.
func runParent(log logger, o options) int {
	start := time.Now()

	// A C program that is PID 1 of its namespace ignores SIGTERM and SIGINT,
	// since the kernel drops signals init has no handler for; Go would exit
	// on them instead. Keep the C behaviour, so a Pod's grace period plays
	// out as with the real image.
	if os.Getpid() == 1 {
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	}

	if o.cpu+o.io+o.vm+o.hdd == 0 {
		usage(log.prog)
		return 0
	}
	log.info("dispatching hogs: %d cpu, %d io, %d vm, %d hdd\n", o.cpu, o.io, o.vm, o.hdd)

	// Without /proc (a bare chroot) os.Executable fails; find argv[0] instead.
	self, err := os.Executable()
	if err != nil {
		if self, err = exec.LookPath(os.Args[0]); err != nil {
			log.fail(0, "cannot find own executable: %v\n", err)
			return 1
		}
	}
	live := map[int]bool{}
	retval := 0
	for forks := o.cpu + o.io + o.vm + o.hdd; forks > 0; forks = o.cpu + o.io + o.vm + o.hdd {
		backoff := o.backoff * forks
		log.dbg("using backoff sleep of %dus\n", backoff)
		var timeout int64
		if o.timeout > 0 {
			timeout = o.timeout - since(start)
			if timeout <= 0 {
				log.warn(288, "used up time before all workers dispatched\n")
				break
			}
			log.dbg("setting timeout to %ds\n", timeout)
		}
		for _, hog := range []struct {
			kind string
			n    *int64
		}{{"cpu", &o.cpu}, {"io", &o.io}, {"vm", &o.vm}, {"hdd", &o.hdd}} {
			if *hog.n == 0 {
				continue
			}
			pid, err := spawn(self, fmt.Sprintf("%s:%d:%d", hog.kind, timeout, backoff))
			if err != nil {
				log.fail(forkFailedLine[hog.kind], "fork failed: %s\n", cError(err))
			} else {
				log.dbg("--> hog%s worker %d [%d] forked\n", hog.kind, *hog.n, pid)
				live[pid] = true
			}
			*hog.n--
		}
	}

	for len(live) > 0 {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			log.fail(432, "error waiting for worker: %s\n", cError(err))
			retval++
			break
		}
		if !live[pid] {
			continue // not ours: a zombie reparented to us as PID 1
		}
		delete(live, pid)
		switch {
		case ws.Exited() && ws.ExitStatus() == 0:
			log.dbg("<-- worker %d returned normally\n", pid)
		case ws.Exited():
			log.fail(394, "<-- worker %d returned error %d\n", pid, ws.ExitStatus())
			retval++
			reap(log, 396, 400, live)
		case ws.Signaled() && ws.Signal() == syscall.SIGALRM:
			log.dbg("<-- worker %d signalled normally\n", pid)
		case ws.Signaled() && ws.Signal() == syscall.SIGUSR1:
			log.dbg("<-- worker %d reaped\n", pid)
		case ws.Signaled():
			log.fail(415, "<-- worker %d got signal %d\n", pid, int(ws.Signal()))
			retval++
			reap(log, 417, 421, live)
		default:
			log.fail(426, "<-- worker %d exited abnormally\n", pid)
			retval++
		}
	}

	if retval != 0 {
		log.fail(451, "failed run completed in %ds\n", since(start))
	} else {
		log.info("successful run completed in %ds\n", since(start))
	}
	return retval
}

var forkFailedLine = map[string]int{"cpu": 304, "io": 325, "vm": 346, "hdd": 366}

// spawn starts a worker: this program again, same argv, its job in the
// environment, sharing our stdout and stderr.
func spawn(self, job string) (int, error) {
	env := append(os.Environ(), workerEnv+"="+job)
	p, err := os.StartProcess(self, os.Args, &os.ProcAttr{
		Env:   env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
	})
	if err != nil {
		return 0, err
	}
	pid := p.Pid
	// Reaping is done with wait4(-1) so workers are collected in the order
	// they end, as stress's wait() does; the os.Process is not used again.
	_ = p.Release()
	return pid, nil
}

// reap ends the other workers after one failed. stress signals its process
// group, -getpid(): that is every process but itself when it is PID 1 of a
// container (kill(-1)), and nothing (ESRCH) when it does not lead its group.
// The parent ignores SIGUSR1, as Go does by default. Live workers are also
// signalled one by one, so a stress that leads no group does not wait forever.
func reap(log logger, warnLine, killLine int, live map[int]bool) {
	log.warn(warnLine, "now reaping child worker processes\n")
	if err := syscall.Kill(-os.Getpid(), syscall.SIGUSR1); err != nil {
		log.fail(killLine, "kill error: %s\n", cError(err))
	}
	for pid := range live {
		_ = syscall.Kill(pid, syscall.SIGUSR1)
	}
}

// cError renders an error as C's strerror would: Go's errno texts are
// glibc's with the first letter lowered.
func cError(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	s := []rune(errno.Error())
	if len(s) > 0 {
		s[0] = unicode.ToUpper(s[0])
	}
	return string(s)
}
