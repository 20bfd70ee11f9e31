package linux

import (
	"errors"
	"fmt"
	"os"
	goruntime "runtime"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// nsPin is a namespace kept alive by a bind mount of its nsfs file, so a
// sandbox needs no process (no pause container) to hold it.
type nsPin struct {
	kind string // the name under /proc/<pid>/ns: net, ipc, uts
	flag int    // the CLONE_NEW* flag that creates it
	path string // the bind-mount target
}

// createNamespaces makes new namespaces of the pins' kinds in one step,
// sets the hostname in the new UTS namespace and brings up loopback in
// the new network namespace, then pins each one at its path.
//
// It works on a dedicated, locked OS thread: unshare(2) of net, ipc and
// uts namespaces changes only the calling thread, and is allowed in a
// multi-threaded process (unlike a mount or user namespace). The thread is
// never unlocked, so when the goroutine returns the Go runtime terminates
// it instead of running other goroutines in the pod's namespaces.
func createNamespaces(pins []nsPin, hostname string) error {
	if len(pins) == 0 {
		return nil
	}
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		errc <- unshareAndPin(pins, hostname)
	}()
	return <-errc
}

func unshareAndPin(pins []nsPin, hostname string) error {
	flags := 0
	for _, p := range pins {
		flags |= p.flag
	}
	if err := unix.Unshare(flags); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	if flags&unix.CLONE_NEWUTS != 0 {
		if err := unix.Sethostname([]byte(hostname)); err != nil {
			return fmt.Errorf("sethostname %q: %w", hostname, err)
		}
	}
	if flags&unix.CLONE_NEWNET != 0 {
		// netlink's package functions open a socket per call in the
		// calling thread's network namespace: the new one.
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return fmt.Errorf("find loopback: %w", err)
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return fmt.Errorf("bring up loopback: %w", err)
		}
	}
	tid := unix.Gettid()
	for _, p := range pins {
		src := fmt.Sprintf("/proc/self/task/%d/ns/%s", tid, p.kind)
		if err := bindPin(src, p.path); err != nil {
			return err
		}
	}
	return nil
}

func bindPin(src, dst string) error {
	f, err := os.OpenFile(dst, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("pin namespace: %w", err)
	}
	f.Close()
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		os.Remove(dst)
		return fmt.Errorf("pin namespace at %s: %w", dst, err)
	}
	return nil
}

// unpin unmounts a namespace pin and removes its file; the namespace goes
// away once no process is in it. Missing pins are not an error.
func unpin(path string) error {
	if path == "" {
		return nil
	}
	if err := unmountAll(path); err != nil {
		return fmt.Errorf("unpin %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("unpin %s: %w", path, err)
	}
	return nil
}

// pinAlive reports whether path is a mounted namespace file. After a
// reboot (StateDir and /run/netns are on disk here) the files remain but
// the mounts do not.
func pinAlive(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// unmountAll detaches every mount stacked on path.
func unmountAll(path string) error {
	for range 16 {
		err := unix.Unmount(path, unix.MNT_DETACH)
		switch {
		case err == nil:
			continue
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			return nil // not (or no longer) a mount point
		default:
			return err
		}
	}
	return fmt.Errorf("%s: still mounted after 16 unmounts", path)
}
