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
)

// attacher streams a running container's output to kubectl attach by
// following its log from the current end, until the container exits or
// the client goes away. The runtime keeps no handle on a container's
// stdin, so serveAttach refuses stdin for containers that have one; for
// the others it is ignored, as containerd ignores it. Terminal resizes
// cannot reach a container's pty and are dropped.
type attacher struct {
	target *pods.StreamTarget
	gone   <-chan struct{}
}

var _ remotecommand.Attacher = (*attacher)(nil)

func (a *attacher) AttachContainer(ctx context.Context, _, _, _ string, _ io.Reader, out, errOut io.WriteCloser, _ bool, resize <-chan remotecommand.TerminalSize) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, stop := untilGone(ctx, a.gone)
	defer stop()
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
