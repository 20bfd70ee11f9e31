package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"

	"github.com/orca-pods/orca/internal/agent/pods"
	"github.com/orca-pods/orca/internal/runtime"
)

// The kubelet's streaming defaults (--streaming-connection-idle-timeout,
// and the time a client has to open its streams after the upgrade).
const (
	streamIdleTimeout     = 4 * time.Hour
	streamCreationTimeout = remotecommand.DefaultStreamCreationTimeout
)

// podStreams is what exec, attach and port-forward need from the pod
// manager; *pods.Manager implements it.
type podStreams interface {
	ContainerID(ctx context.Context, namespace, name, container string) (string, error)
	StreamTarget(ctx context.Context, namespace, name, container string) (*pods.StreamTarget, error)
	Exec(ctx context.Context, containerID string, req runtime.ExecRequest) (int, error)
	PortForward(ctx context.Context, namespace, name string, port int32, stream io.ReadWriteCloser) error
	PodUID(namespace, name string) (string, bool)
}

var _ podStreams = (*pods.Manager)(nil)

// streams serves exec, attach and port-forward with the kubelet's
// streaming handlers (k8s.io/cri-streaming), which do the SPDY and
// WebSocket framing; the adapters below connect them to the runtime.
type streams struct {
	pods podStreams
	log  *slog.Logger
}

// register adds the kubelet's streaming paths; GET is WebSocket, POST SPDY.
func (s *streams) register(mux *http.ServeMux) {
	for _, method := range []string{"GET", "POST"} {
		mux.HandleFunc(method+" /exec/{namespace}/{pod}/{container}", s.serveExec)
		mux.HandleFunc(method+" /attach/{namespace}/{pod}/{container}", s.serveAttach)
		mux.HandleFunc(method+" /portForward/{namespace}/{pod}", s.servePortForward)
	}
}

// serveExec handles /exec/{namespace}/{pod}/{container}?command=...&input=1&output=1&error=1&tty=1.
func (s *streams) serveExec(w http.ResponseWriter, r *http.Request) {
	ns, name, ctr := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cmd := r.URL.Query()["command"]
	if len(cmd) == 0 {
		http.Error(w, "you must specify at least 1 command", http.StatusBadRequest)
		return
	}
	id, err := s.pods.ContainerID(r.Context(), ns, name, ctr)
	if err != nil {
		writeLookupError(w, err)
		return
	}
	gw := newGoneWriter(w)
	ex := &executor{pods: s.pods, id: id, gone: gw.Gone()}
	remotecommand.ServeExec(gw, r, ex, name, "", ctr, cmd, opts, streamIdleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
	s.log.Debug("exec finished", "pod", ns+"/"+name, "container", ctr, "command", strings.Join(cmd, " "))
}

// serveAttach handles /attach/{namespace}/{pod}/{container}.
func (s *streams) serveAttach(w http.ResponseWriter, r *http.Request) {
	ns, name, ctr := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	t, err := s.pods.StreamTarget(r.Context(), ns, name, ctr)
	if err != nil {
		writeLookupError(w, err)
		return
	}
	if opts.Stdin && t.Stdin && t.Attach == nil {
		http.Error(w, fmt.Sprintf("attaching to the stdin of container %q is not supported by this runtime", ctr), http.StatusNotImplemented)
		return
	}
	gw := newGoneWriter(w)
	remotecommand.ServeAttach(gw, r, &attacher{target: t, gone: gw.Gone()}, name, "", ctr, opts, streamIdleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// servePortForward handles /portForward/{namespace}/{pod}; each forwarded
// connection is a stream pair on the one upgraded connection.
func (s *streams) servePortForward(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("namespace"), r.PathValue("pod")
	uid, ok := s.pods.PodUID(ns, name)
	if !ok {
		http.Error(w, pods.ErrPodNotFound.Error(), http.StatusNotFound)
		return
	}
	opts, err := portforward.NewV4Options(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fw := &forwarder{pods: s.pods, namespace: ns}
	portforward.ServePortForward(w, r, fw, name, uid, opts, streamIdleTimeout, streamCreationTimeout, portforward.SupportedProtocols)
}

// writeLookupError answers as the kubelet does: 404 for an unknown pod,
// 500 with the bare message for a container that is not running (kubectl
// prints "unable to upgrade connection: container not found (...)").
func writeLookupError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, pods.ErrPodNotFound) {
		code = http.StatusNotFound
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, err.Error())
}

// executor runs kubectl exec's command through the runtime.
type executor struct {
	pods podStreams
	id   string
	gone <-chan struct{}
}

var _ remotecommand.Executor = (*executor)(nil)

// ExecInContainer returns a utilexec.ExitError for a non-zero exit, which
// ServeExec reports as the NonZeroExitCode status kubectl turns into its
// own exit code. A client that goes away kills the command.
func (e *executor) ExecInContainer(ctx context.Context, _, _, _ string, cmd []string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	ctx, stop := untilGone(ctx, e.gone)
	defer stop()
	req := runtime.ExecRequest{Cmd: cmd, TTY: tty}
	// Assigned only when set: a nil WriteCloser stored in an io.Writer
	// would not be nil.
	if in != nil {
		req.Stdin = in
	}
	if out != nil {
		req.Stdout = out
	}
	if errOut != nil {
		req.Stderr = errOut
	}
	var wg sync.WaitGroup
	if tty && resize != nil {
		sizes := make(chan runtime.TerminalSize)
		req.Resize = sizes
		wg.Go(func() { forwardSizes(ctx, resize, sizes) })
	}
	code, err := e.pods.Exec(ctx, e.id, req)
	stop()
	wg.Wait()
	switch {
	case err != nil:
		return err
	case code != 0:
		return utilexec.CodeExitError{Err: fmt.Errorf("command '%s' exited with %d", strings.Join(cmd, " "), code), Code: code}
	}
	return nil
}

// forwardSizes converts terminal sizes until either side is done.
func forwardSizes(ctx context.Context, from <-chan remotecommand.TerminalSize, to chan<- runtime.TerminalSize) {
	defer close(to)
	for {
		select {
		case sz, ok := <-from:
			if !ok {
				return
			}
			select {
			case to <- runtime.TerminalSize{Width: sz.Width, Height: sz.Height}:
			case <-ctx.Done():
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// untilGone is ctx, also cancelled when gone closes; stop releases it.
func untilGone(ctx context.Context, gone <-chan struct{}) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-gone:
			cancel()
		case <-ctx.Done():
		}
	})
	return ctx, func() { cancel(); wg.Wait() }
}

// forwarder connects port-forward streams to the pod's ports.
type forwarder struct {
	pods      podStreams
	namespace string
}

var _ portforward.PortForwarder = (*forwarder)(nil)

func (f *forwarder) PortForward(ctx context.Context, name, _ string, port int32, stream io.ReadWriteCloser) error {
	return f.pods.PortForward(ctx, f.namespace, name, port, stream)
}
