package logs

import (
	"context"
	"log/slog"
	"os"
	"time"
)

// pollInterval is how often the polling waiter looks at the file.
const pollInterval = 100 * time.Millisecond

// waiter blocks a follower until its log may have grown.
type waiter interface {
	// wait returns true as soon as the log may have changed, false once it
	// has been quiet for the waiter's quiet period, and ctx.Err() when ctx
	// ends. Spurious true results are allowed.
	wait(ctx context.Context) (bool, error)
	close()
}

// newWaiter watches path with inotify where it can (waking at once on an
// append) and polls it otherwise: inotify instances are a per-user limit
// (fs.inotify.max_user_instances, 128 by default), and every follower holds
// one while it runs.
func newWaiter(path string, quiet time.Duration, log *slog.Logger) waiter {
	w, err := newNotifyWaiter(path, quiet)
	if err == nil {
		return w
	}
	log.Debug("watching container log by polling", "path", path, "err", err)
	return newPollWaiter(path, quiet)
}

// pollWaiter compares the file's size and modification time every
// pollInterval.
type pollWaiter struct {
	path  string
	quiet time.Duration
	size  int64
	mod   time.Time
}

func newPollWaiter(path string, quiet time.Duration) *pollWaiter {
	p := &pollWaiter{path: path, quiet: quiet}
	p.changed()
	return p
}

func (p *pollWaiter) wait(ctx context.Context) (bool, error) {
	deadline := time.Now().Add(p.quiet)
	t := time.NewTicker(min(pollInterval, p.quiet))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-t.C:
		}
		if p.changed() {
			return true, nil
		}
		if !time.Now().Before(deadline) {
			return false, nil
		}
	}
}

// changed records the file's current size and time and reports whether
// they differ from the last ones seen. A file that cannot be stat'ed
// (removed) has not changed: the open descriptor still reads the old one.
func (p *pollWaiter) changed() bool {
	fi, err := os.Stat(p.path)
	if err != nil {
		return false
	}
	ch := fi.Size() != p.size || !fi.ModTime().Equal(p.mod)
	p.size, p.mod = fi.Size(), fi.ModTime()
	return ch
}

func (p *pollWaiter) close() {}
