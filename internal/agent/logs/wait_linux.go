package logs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// notifyWaiter wakes on inotify events for the log file. It watches the
// directory rather than the file so that a log recreated under the same
// name (rotation) still wakes it, and ignores events for the other files
// there: the next attempt's <n+1>.log is written in the same directory
// while a follower of <n>.log waits for its container to be reported
// stopped.
type notifyWaiter struct {
	f     *os.File
	name  string
	quiet time.Duration
	buf   []byte
}

func newNotifyWaiter(path string, quiet time.Duration) (*notifyWaiter, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	const mask = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE | unix.IN_ONLYDIR
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(path), mask); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify_add_watch %s: %w", filepath.Dir(path), err)
	}
	// A non-blocking descriptor handed to os.NewFile joins the runtime's
	// poller, which is what makes read deadlines (and so timeouts and
	// cancellation without a spare goroutine per wait) work.
	f := os.NewFile(uintptr(fd), "inotify")
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, fmt.Errorf("inotify descriptor is not pollable: %w", err)
	}
	return &notifyWaiter{
		f:     f,
		name:  filepath.Base(path),
		quiet: quiet,
		buf:   make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1)),
	}, nil
}

func (w *notifyWaiter) wait(ctx context.Context) (bool, error) {
	if err := w.f.SetReadDeadline(time.Now().Add(w.quiet)); err != nil {
		return false, err
	}
	stop := context.AfterFunc(ctx, func() { w.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	for {
		n, err := w.f.Read(w.buf)
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("read inotify events: %w", err)
		}
		if w.concernsLog(w.buf[:n]) {
			return true, nil
		}
	}
}

// concernsLog reports whether a batch of events touches the log file, or
// may have: after a queue overflow events were lost.
func (w *notifyWaiter) concernsLog(b []byte) bool {
	for len(b) >= unix.SizeofInotifyEvent {
		mask := binary.NativeEndian.Uint32(b[4:8])
		size := int(binary.NativeEndian.Uint32(b[12:16]))
		if unix.SizeofInotifyEvent+size > len(b) {
			return true // the kernel returns whole events; assume the worst
		}
		name := b[unix.SizeofInotifyEvent : unix.SizeofInotifyEvent+size]
		name, _, _ = bytes.Cut(name, []byte{0}) // names are NUL-padded
		if mask&unix.IN_Q_OVERFLOW != 0 || string(name) == w.name {
			return true
		}
		b = b[unix.SizeofInotifyEvent+size:]
	}
	return false
}

func (w *notifyWaiter) close() { w.f.Close() }
