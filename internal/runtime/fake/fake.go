// Package fake is an in-memory runtime.Runtime for the agent's logic
// tests. Nothing runs: containers go created -> running on StartContainer
// and stay running until the test ends them with Exit or OOMKill, or the
// code under test stops them. Start failures and errors of any method can
// be injected. It follows the semantics of the real (linux) runtime:
// sandbox IDs are pod UIDs and CreateSandbox is idempotent, removes of
// unknown IDs succeed, a failed start leaves the container exited with
// exit code 128 and reason StartError, and every state change is reported
// on Events. A SharePID sandbox gets a made-up PIDNSPath; ReopenContainerLog
// recreates a missing log file (see there).
package fake

import (
	"context"
	"fmt"
	"maps"
	"path"
	"sort"
	"sync"
	"time"

	"github.com/orca-pods/orca/internal/runtime"
)

// Call is one recorded method call.
type Call struct {
	Method string
	ID     string // sandbox or container ID (the pod UID for CreateSandbox)
}

// ExecFunc answers Exec calls; the default returns exit code 0.
type ExecFunc func(id string, req runtime.ExecRequest) (int, error)

// Runtime is the fake. Its zero value is not usable; call New.
type Runtime struct {
	events *runtime.EventQueue
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	now    func() time.Time
	nextID int
	// nextPausePID numbers the made-up pause processes of SharePID sandboxes.
	nextPausePID int
	sandboxes    map[string]*runtime.Sandbox
	containers   map[string]*fakeContainer
	startErrs    map[string]error // by container name
	errs         map[string]error // one-shot, by method name
	exec         ExecFunc
	calls        []Call
}

type fakeContainer struct {
	status runtime.ContainerStatus
	cfg    runtime.ContainerConfig
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns an empty fake runtime; Close it when done.
func New() *Runtime {
	f := &Runtime{
		events:     runtime.NewEventQueue(),
		now:        time.Now,
		sandboxes:  make(map[string]*runtime.Sandbox),
		containers: make(map[string]*fakeContainer),
		startErrs:  make(map[string]error),
		errs:       make(map[string]error),
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.wg.Go(func() { f.events.Run(f.ctx) })
	return f
}

// Close stops event delivery and closes the Events channel.
func (f *Runtime) Close() error {
	f.cancel()
	f.wg.Wait()
	return nil
}

// SetClock sets the clock used for CreatedAt, StartedAt and FinishedAt.
func (f *Runtime) SetClock(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

// FailStart makes every StartContainer of containers named name fail with
// err (until cleared with a nil err), as a command missing from the image
// would.
func (f *Runtime) FailStart(name string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.startErrs, name)
		return
	}
	f.startErrs[name] = err
}

// FailNext makes the next call of method (e.g. "CreateSandbox") return err.
func (f *Runtime) FailNext(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[method] = err
}

// SetExec sets how Exec answers.
func (f *Runtime) SetExec(fn ExecFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exec = fn
}

// Calls returns the calls made so far, in order.
func (f *Runtime) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Exit ends a running container as if its process exited with code, and
// reports it.
func (f *Runtime) Exit(id string, code int) error {
	return f.exit(id, code, 0, false)
}

// Kill ends a running container as if its process died by signal sig:
// exit code 128+sig.
func (f *Runtime) Kill(id string, sig int) error {
	return f.exit(id, 128+sig, sig, false)
}

// OOMKill ends a running container as the kernel's OOM killer would:
// SIGKILL, exit code 137, OOMKilled.
func (f *Runtime) OOMKill(id string) error {
	return f.exit(id, 137, 9, true)
}

func (f *Runtime) exit(id string, code, sig int, oom bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return fmt.Errorf("container %q: %w", id, runtime.ErrNotFound)
	}
	if c.status.State != runtime.StateRunning {
		return fmt.Errorf("container %q: %w", id, runtime.ErrNotRunning)
	}
	f.exitLocked(c, code, sig, oom)
	return nil
}

func (f *Runtime) exitLocked(c *fakeContainer, code, sig int, oom bool) {
	c.status.State = runtime.StateExited
	c.status.ExitCode = code
	c.status.Signal = sig
	c.status.OOMKilled = oom
	c.status.FinishedAt = f.now()
	f.emitLocked(runtime.ContainerExited, c)
}

func (f *Runtime) emitLocked(t runtime.EventType, c *fakeContainer) {
	f.events.Push(runtime.Event{
		Type:        t,
		ContainerID: c.status.ID,
		SandboxID:   c.status.SandboxID,
		Labels:      maps.Clone(c.status.Labels),
	})
}

// begin records a call and returns an injected error, if any. The caller
// holds f.mu.
func (f *Runtime) begin(method, id string) error {
	f.calls = append(f.calls, Call{Method: method, ID: id})
	if err, ok := f.errs[method]; ok {
		delete(f.errs, method)
		return err
	}
	return nil
}

// Events delivers container state changes in order; it never blocks the fake.
func (f *Runtime) Events() <-chan runtime.Event { return f.events.Out() }

func (f *Runtime) CreateSandbox(ctx context.Context, cfg runtime.SandboxConfig) (*runtime.Sandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("CreateSandbox", cfg.PodUID); err != nil {
		return nil, err
	}
	if cfg.PodUID == "" {
		return nil, fmt.Errorf("create sandbox: empty pod uid")
	}
	if cfg.SharePID && cfg.HostPID {
		return nil, fmt.Errorf("create sandbox for pod %s/%s: SharePID and HostPID cannot both be set", cfg.Namespace, cfg.PodName)
	}
	if sb, ok := f.sandboxes[cfg.PodUID]; ok {
		out := *sb
		return &out, nil
	}
	parent := cfg.CgroupParent
	if parent == "" {
		parent = "/orca/pod" + cfg.PodUID
	}
	sb := &runtime.Sandbox{
		ID:           cfg.PodUID,
		PodUID:       cfg.PodUID,
		PodName:      cfg.PodName,
		Namespace:    cfg.Namespace,
		CgroupParent: path.Clean("/" + parent),
		CreatedAt:    f.now(),
	}
	dir := cfg.Dir
	if dir == "" {
		dir = "/run/orca/runtime/sandboxes/" + cfg.PodUID
	}
	if !cfg.HostNetwork {
		sb.NetNSPath = "/run/netns/orca-" + cfg.PodUID
		sb.UTSNSPath = dir + "/uts"
	}
	if !cfg.HostIPC {
		sb.IPCNSPath = dir + "/ipc"
	}
	if cfg.SharePID {
		// A made-up pid for the pause process.
		f.nextPausePID++
		sb.PIDNSPath = fmt.Sprintf("/proc/%d/ns/pid", 100000+f.nextPausePID)
	}
	if cfg.EtcHosts != "" {
		sb.EtcHostsPath = dir + "/etc-hosts"
	}
	if cfg.ResolvConf != "" {
		sb.ResolvConfPath = dir + "/resolv.conf"
	}
	f.sandboxes[sb.ID] = sb
	out := *sb
	return &out, nil
}

func (f *Runtime) RemoveSandbox(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("RemoveSandbox", id); err != nil {
		return err
	}
	for cid, c := range f.containers {
		if c.status.SandboxID == id {
			if c.status.State == runtime.StateRunning {
				f.exitLocked(c, 137, 9, false)
			}
			delete(f.containers, cid)
		}
	}
	delete(f.sandboxes, id)
	return nil
}

func (f *Runtime) ListSandboxes(ctx context.Context) ([]*runtime.Sandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("ListSandboxes", ""); err != nil {
		return nil, err
	}
	out := make([]*runtime.Sandbox, 0, len(f.sandboxes))
	for _, sb := range f.sandboxes {
		s := *sb
		out = append(out, &s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
