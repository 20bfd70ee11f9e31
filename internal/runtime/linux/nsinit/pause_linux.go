package nsinit

import (
	"os"
	"os/signal"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PauseArg, as os.Args[1], makes the binary a sandbox's pause process: the
// runtime starts `<binary> orca-pause` as PID 1 of a new PID namespace,
// already in the pod's network, IPC and UTS namespaces, for pods whose
// containers share a process namespace.
const PauseArg = "orca-pause"

// pause does what the Kubernetes pause container does, and no more: it
// holds the PID namespace (which ends, killing every process in it, when
// its PID 1 exits), reaps the orphans that the kernel reparents to it, and
// exits on SIGTERM or SIGINT. It never returns.
//
// PID 1 of a PID namespace receives only the signals it has a handler for,
// from inside the namespace and from the host alike (SIGKILL from the host
// excepted). The Go runtime installs a handler for every signal, and exits
// on some (SIGHUP, SIGQUIT, ...); those are ignored instead, so that `kill
// -HUP 1` in a container does not end the pod, as with the C pause.
func pause() {
	// Named "pause" rather than "exe" (it runs /proc/self/exe), as ps
	// shows the comm: the main thread runs init functions.
	if name, err := unix.BytePtrFromString("pause"); err == nil {
		_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0)
	}
	signal.Ignore(unix.SIGHUP, unix.SIGQUIT, unix.SIGABRT, unix.SIGPIPE, unix.SIGUSR1, unix.SIGUSR2,
		unix.SIGALRM, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU)
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT)
	for {
		reap()
		if s := <-sigs; s != unix.SIGCHLD {
			os.Exit(0)
		}
	}
}

// reap collects every exited child. SIGCHLDs coalesce, so one signal may
// stand for many exits.
func reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
