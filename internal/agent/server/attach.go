package server

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"

	"github.com/orca-pods/orca/internal/agent/logs"
	"github.com/orca-pods/orca/internal/agent/pods"
	"github.com/orca-pods/orca/internal/runtime"
)

// attacher connects kubectl attach to a running container through the
// runtime: output as the container writes it, stdin (when the container
// has one; otherwise the client's is ignored, as containerd ignores it)
// and terminal resizes. With a runtime that cannot attach it follows the
// container's log from its current end, output only.
type attacher struct {
	target *pods.StreamTarget
	gone   <-chan struct{}
}

var _ remotecommand.Attacher = (*attacher)(nil)

func (a *attacher) AttachContainer(ctx context.Context, _, _, _ string, in io.Reader, out, errOut io.WriteCloser, _ bool, resize <-chan remotecommand.TerminalSize) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, stop := untilGone(ctx, a.gone)
	defer stop()
	if a.target.Attach != nil {
		req := runtime.AttachRequest{}
		if in != nil && a.target.Stdin {
			req.Stdin = in
		}
		if out != nil {
			req.Stdout = out
		}
		if errOut != nil {
			req.Stderr = errOut
		}
		if resize != nil {
			sizes := make(chan runtime.TerminalSize)
			req.Resize = sizes
			wg.Go(func() { forwardSizes(ctx, resize, sizes) })
		}
		return a.target.Attach(ctx, req)
	}
	if resize != nil {
		wg.Go(func() { drainSizes(ctx, resize) })
	}
	var stdout, stderr io.Writer // nil discards the stream
	if out != nil {
		stdout = out
	}
	if errOut != nil {
		stderr = errOut
	}
	zero := int64(0)
	opts := logs.NewOptions(&corev1.PodLogOptions{Follow: true, TailLines: &zero}, time.Now())
	err := logs.ReadLogs(ctx, a.target.LogPath, opts, a.target.Running, stdout, stderr)
	if errors.Is(err, context.Canceled) {
		return nil // the client detached
	}
	return err
}

func drainSizes(ctx context.Context, sizes <-chan remotecommand.TerminalSize) {
	for {
		select {
		case _, ok := <-sizes:
			if !ok {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}
