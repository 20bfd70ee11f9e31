package linux

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/orca-pods/orca/internal/runtime"
)

// Config configures a Runtime.
type Config struct {
	// StateDir holds libcontainer state, container records and the IPC and
	// UTS namespace pins, e.g. /run/orca/runtime. Entries that a crash or
	// reboot left behind are cleaned up by New.
	StateDir string
	// RootDir holds each container's overlay upper, work and rootfs dirs,
	// e.g. <data-dir>/containers.
	RootDir string
	Logger  *slog.Logger
}

// netnsDir is where network namespaces are pinned, as iproute2 does, so
// that `ip netns` and CNI plugins find them.
const netnsDir = "/run/netns"

// Runtime runs sandboxes and containers with libcontainer. It implements
// runtime.Runtime; all methods are safe for concurrent use.
type Runtime struct {
	cfg    Config
	log    *slog.Logger
	host   hostInfo
	events *runtime.EventQueue

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the event dispatcher

	// sbMu serialises sandbox creation and removal (both are idempotent
	// per pod UID and must not interleave).
	sbMu sync.Mutex

	mu         sync.Mutex
	sandboxes  map[string]*sandbox
	containers map[string]*container

	seccompWarning sync.Once
}

var _ runtime.Runtime = (*Runtime)(nil)

// New validates cfg, probes the host (cgroup mode, capabilities, limits),
// cleans stale state under cfg.StateDir and loads the sandboxes and
// containers a previous Runtime left there.
func New(cfg Config) (*Runtime, error) {
	if cfg.StateDir == "" || !filepath.IsAbs(cfg.StateDir) {
		return nil, errors.New("runtime/linux: StateDir must be an absolute path")
	}
	if cfg.RootDir == "" || !filepath.IsAbs(cfg.RootDir) {
		return nil, errors.New("runtime/linux: RootDir must be an absolute path")
	}
	cfg.StateDir = filepath.Clean(cfg.StateDir)
	cfg.RootDir = filepath.Clean(cfg.RootDir)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("runtime/linux: must run as root")
	}
	host, err := probeHost()
	if err != nil {
		return nil, fmt.Errorf("runtime/linux: %w", err)
	}
	r := &Runtime{
		cfg:        cfg,
		log:        cfg.Logger,
		host:       host,
		events:     runtime.NewEventQueue(),
		sandboxes:  make(map[string]*sandbox),
		containers: make(map[string]*container),
	}
	for _, dir := range []string{r.lcRoot(), r.recordDir(), r.sandboxRoot()} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("runtime/linux: %w", err)
		}
	}
	if err := os.MkdirAll(cfg.RootDir, 0o711); err != nil {
		return nil, fmt.Errorf("runtime/linux: %w", err)
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	if err := r.recover(); err != nil {
		r.cancel()
		return nil, fmt.Errorf("runtime/linux: recover state: %w", err)
	}
	r.wg.Go(func() { r.events.Run(r.ctx) })
	r.log.Debug("container runtime ready", "cgroups", host.cgroup.String(),
		"sandboxes", len(r.sandboxes), "containers", len(r.containers))
	return r, nil
}

// Close stops event delivery and closes the Events channel. Containers keep
// running: a new Runtime on the same StateDir finds them again. The
// goroutines that watch running containers end when those containers exit.
func (r *Runtime) Close() error {
	r.cancel()
	r.wg.Wait()
	return nil
}

// Events delivers container state changes. Delivery never blocks the
// runtime: events queue up (in order) until they are received.
func (r *Runtime) Events() <-chan runtime.Event { return r.events.Out() }

func (r *Runtime) emit(t runtime.EventType, c *container) {
	c.mu.Lock()
	labels := copyLabels(c.status.Labels)
	c.mu.Unlock()
	r.events.Push(runtime.Event{Type: t, ContainerID: c.id, SandboxID: c.sandboxID, Labels: labels})
}

func (r *Runtime) lcRoot() string      { return filepath.Join(r.cfg.StateDir, "libcontainer") }
func (r *Runtime) recordDir() string   { return filepath.Join(r.cfg.StateDir, "containers") }
func (r *Runtime) sandboxRoot() string { return filepath.Join(r.cfg.StateDir, "sandboxes") }

func (r *Runtime) ioDir(id string) string { return filepath.Join(r.cfg.StateDir, "io", id) }

func (r *Runtime) recordPath(id string) string {
	return filepath.Join(r.recordDir(), id+".json")
}

func (r *Runtime) container(id string) (*container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return nil, fmt.Errorf("container %q: %w", id, runtime.ErrNotFound)
	}
	return c, nil
}

func (r *Runtime) sandbox(id string) (*sandbox, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.sandboxes[id]
	if !ok {
		return nil, fmt.Errorf("sandbox %q: %w", id, runtime.ErrNotFound)
	}
	return sb, nil
}

// containersOf returns the IDs of a sandbox's containers, sorted.
func (r *Runtime) containersOf(sandboxID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id, c := range r.containers {
		if c.sandboxID == sandboxID {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// newID returns a random container ID: 32 hex digits, valid for
// libcontainer and short enough for cgroup and mount paths.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validateID accepts what libcontainer, cgroup and file names all accept.
func validateID(id string) error {
	if id == "" || id == "." || id == ".." || len(id) > 128 {
		return fmt.Errorf("invalid id %q", id)
	}
	for i := range len(id) {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return fmt.Errorf("invalid id %q", id)
		}
	}
	return nil
}

func copyLabels(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
