package linux

import (
	"context"
	"fmt"
	"io"

	"github.com/orca-pods/orca/internal/runtime"
)

var _ runtime.Attacher = (*Runtime)(nil)

// Attach connects a client to a running container's stdio: its output
// from now on (straight from the pipes or terminal, not from the log), and
// req.Stdin to its stdin or terminal. It returns when the container's
// output has ended or ctx is done; the container keeps running when the
// client leaves.
func (r *Runtime) Attach(ctx context.Context, id string, req runtime.AttachRequest) error {
	c, err := r.container(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	cio, state, cfg := c.cio, c.status.State, c.cfg
	c.mu.Unlock()
	if state != runtime.StateRunning || cio == nil {
		return fmt.Errorf("attach to container %s: %w", id, runtime.ErrNotRunning)
	}
	stderr := req.Stderr
	if cfg.TTY {
		stderr = nil // a terminal has one output stream
	}
	detach := cio.attach(req.Stdout, stderr)
	defer detach()

	done := make(chan struct{})
	defer close(done)
	if req.Resize != nil && cfg.TTY {
		go func() {
			for {
				select {
				case size, ok := <-req.Resize:
					if !ok {
						return
					}
					if err := cio.resize(size); err != nil {
						r.log.Debug("resize terminal", "container", id, "err", err)
					}
				case <-done:
					return
				}
			}
		}()
	}
	if in := cio.input(); req.Stdin != nil && in != nil {
		// Ends when the client's stdin ends or the container's input is
		// closed (it exited); the stream is closed when Attach returns.
		go func() {
			_, _ = io.Copy(in, req.Stdin)
			if cfg.StdinOnce && !cfg.TTY {
				cio.closeStdin()
			}
		}()
	}
	select {
	case <-cio.copied:
	case <-ctx.Done():
	}
	return nil
}
