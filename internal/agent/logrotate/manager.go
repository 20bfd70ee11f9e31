// Package logrotate rotates the logs of running containers by size, with
// the semantics of the kubelet's container log manager
// (pkg/kubelet/logs/container_log_manager.go):
//
//   - every Interval the running containers are listed, and a log whose
//     size has reached MaxSize is rotated;
//   - rotation renames <path> to <path>.<YYYYMMDD-HHMMSS> (local time,
//     as the kubelet) and asks the runtime to reopen the log
//     (ReopenContainerLog), which creates <path> anew; if the reopen
//     fails the rename is undone, and the next round tries again;
//   - before that, the earlier rotated files of the log are gzip-compressed
//     to <rotated>.gz, and the oldest removed, so that at most MaxFiles
//     files remain: the current log, the newest rotated file (left as it
//     is, so readers can finish it) and MaxFiles-2 compressed ones;
//   - leftovers of an interrupted compression (a .tmp file, or a rotated
//     file next to its .gz) are removed;
//   - a running container whose log file is missing gets it reopened.
//
// Exited containers are not rotated: they write nothing more. Rotated files
// are left for whoever removes the container's log directory.
package logrotate

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/orca-pods/orca/internal/agent/containers"
	"github.com/orca-pods/orca/internal/runtime"
)

// Defaults, the kubelet's containerLogMaxSize, containerLogMaxFiles and
// containerLogMonitorInterval.
const (
	DefaultMaxSize  = 10 << 20 // 10Mi
	DefaultMaxFiles = 5
	DefaultInterval = 10 * time.Second
)

// Config configures a Manager.
type Config struct {
	Runtime runtime.Runtime
	// MaxSize is the size in bytes at which a log is rotated; 0 means
	// DefaultMaxSize, a negative value turns rotation off.
	MaxSize int64
	// MaxFiles is how many files a container's log may have, the current
	// one included; 0 means DefaultMaxFiles. Fewer than 2 are raised to 2
	// (the kubelet rejects them): the current file and one rotated file.
	MaxFiles int
	// Interval is how often logs are checked; 0 means DefaultInterval.
	Interval time.Duration
	Logger   *slog.Logger
}

// Manager rotates container logs; see the package documentation.
type Manager struct {
	rt       runtime.Runtime
	maxSize  int64
	maxFiles int
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time
}

// New applies the defaults to cfg. A nil Runtime is a programming error.
func New(cfg Config) *Manager {
	if cfg.Runtime == nil {
		panic("logrotate: nil Runtime")
	}
	m := &Manager{rt: cfg.Runtime, maxSize: cfg.MaxSize, maxFiles: cfg.MaxFiles, interval: cfg.Interval,
		log: cfg.Logger, now: time.Now}
	if m.maxSize == 0 {
		m.maxSize = DefaultMaxSize
	}
	switch {
	case m.maxFiles == 0:
		m.maxFiles = DefaultMaxFiles
	case m.maxFiles < 2:
		m.maxFiles = 2
	}
	if m.interval <= 0 {
		m.interval = DefaultInterval
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	return m
}

// Run checks the logs every Interval until ctx ends. With rotation turned
// off it returns at once.
func (m *Manager) Run(ctx context.Context) {
	if m.maxSize < 0 {
		return
	}
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		m.rotateAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rotateAll makes one pass over the running containers; a failure with
// one container's log is logged and does not stop the others.
func (m *Manager) rotateAll(ctx context.Context) {
	list, err := m.rt.ListContainers(ctx)
	if err != nil {
		m.log.Warn("log rotation: list containers", "err", err)
		return
	}
	for _, c := range list {
		if ctx.Err() != nil {
			return
		}
		if c.State != runtime.StateRunning || c.LogPath == "" {
			continue
		}
		if err := m.check(ctx, c.ID, c.LogPath); err != nil {
			m.log.Warn("log rotation failed", "pod", c.Labels[containers.LabelPodNamespace]+"/"+c.Labels[containers.LabelPodName],
				"container", c.Name, "id", c.ID, "path", c.LogPath, "err", err)
		}
	}
}

// check rotates one container's log if it has reached maxSize.
func (m *Manager) check(ctx context.Context, id, path string) error {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		// Removed by someone, or a rotation was interrupted between
		// the rename and the reopen: have the runtime create it.
		if err := m.rt.ReopenContainerLog(ctx, id); err != nil {
			return err
		}
		info, err = os.Stat(path)
	}
	if err != nil {
		return err
	}
	if info.Size() < m.maxSize {
		return nil
	}
	return m.rotate(ctx, id, path)
}
