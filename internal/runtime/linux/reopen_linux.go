package linux

import (
	"context"
	"errors"
	"fmt"

	"github.com/orca-pods/orca/internal/runtime"
)

// ReopenContainerLog makes a running container's output go to a fresh file
// at its LogPath and closes the old file, for log rotation (CRI
// ReopenContainerLog): the rotator renames the file, then calls this. A
// container without a LogPath has nothing to reopen.
func (r *Runtime) ReopenContainerLog(ctx context.Context, id string) error {
	c, err := r.container(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	state, cio := c.status.State, c.cio
	c.mu.Unlock()
	if state != runtime.StateRunning {
		return fmt.Errorf("reopen log of container %s: %w", id, runtime.ErrNotRunning)
	}
	if c.cfg.LogPath == "" {
		return nil
	}
	if cio == nil {
		return fmt.Errorf("reopen log of container %s: its output could not be reattached after a runtime restart", id)
	}
	if err := cio.reopenLog(c.cfg.LogPath); err != nil {
		if errors.Is(err, errLogClosed) {
			err = runtime.ErrNotRunning // it exited meanwhile
		}
		return fmt.Errorf("reopen log of container %s: %w", id, err)
	}
	return nil
}
