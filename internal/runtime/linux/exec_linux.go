package linux

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/orca-pods/orca/internal/runtime"
)

// Exec runs a command in a running container: in its namespaces and
// cgroup, with its user, environment, working directory, capabilities and
// seccomp profile. It returns the command's exit code (128+n when killed
// by signal n). Cancelling ctx kills the command.
func (r *Runtime) Exec(ctx context.Context, id string, req runtime.ExecRequest) (int, error) {
	c, err := r.container(id)
	if err != nil {
		return -1, err
	}
	if len(req.Cmd) == 0 {
		return -1, fmt.Errorf("exec in container %s: no command", id)
	}
	c.mu.Lock()
	state, lc := c.status.State, c.lc
	c.mu.Unlock()
	if state != runtime.StateRunning || lc == nil {
		return -1, fmt.Errorf("exec in container %s: %w", id, runtime.ErrNotRunning)
	}
	if c.spec == nil { // a recovered container whose spec could not be rebuilt
		return -1, fmt.Errorf("exec in container %s: no spec", id)
	}
	spec := *c.spec.Process
	spec.Args = req.Cmd
	proc := newProcess(&spec, false)
	eio, err := openExecIO(req, proc)
	if err != nil {
		return -1, fmt.Errorf("exec in container %s: %w", id, err)
	}
	if err := lc.Run(proc); err != nil {
		eio.close()
		if errors.Is(err, libcontainer.ErrNotRunning) {
			err = runtime.ErrNotRunning
		}
		return -1, fmt.Errorf("exec in container %s: %w", id, err)
	}
	if err := eio.started(); err != nil {
		_ = proc.Signal(unix.SIGKILL)
		_, _ = proc.Wait()
		eio.close()
		return -1, fmt.Errorf("exec in container %s: %w", id, err)
	}
	waitc := make(chan *os.ProcessState, 1)
	go func() {
		ps, _ := proc.Wait()
		waitc <- ps
	}()
	select {
	case ps := <-waitc:
		eio.finish(logDrainTimeout)
		code, _ := exitStatus(ps)
		return code, nil
	case <-ctx.Done():
		_ = proc.Signal(unix.SIGKILL)
		<-waitc
		eio.finish(logDrainTimeout)
		return -1, fmt.Errorf("exec in container %s: %w", id, ctx.Err())
	}
}

// execIO connects an exec'd process to the caller's streams: pipes, or a
// pty whose master we receive over a console socket.
type execIO struct {
	req     runtime.ExecRequest
	child   []*os.File // the process's ends, closed once it started
	outputs []*os.File // our read ends of stdout and stderr, or the pty master
	stdin   *os.File   // our write end of the stdin pipe
	console *os.File
	master  *os.File
	out     sync.WaitGroup // output copiers
	stop    chan struct{}  // ends the resize loop
}

func openExecIO(req runtime.ExecRequest, p *libcontainer.Process) (_ *execIO, err error) {
	e := &execIO{req: req, stop: make(chan struct{})}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if req.TTY {
		parent, child, err := socketPair()
		if err != nil {
			return nil, err
		}
		e.console = parent
		e.child = append(e.child, child)
		p.ConsoleSocket = child
		select { // an initial size, if the caller already sent one
		case sz, ok := <-req.Resize:
			if ok {
				p.ConsoleWidth, p.ConsoleHeight = sz.Width, sz.Height
			}
		default:
		}
		return e, nil
	}
	if req.Stdin != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		e.child = append(e.child, r)
		e.stdin = w
		p.Stdin = r
	}
	for _, dst := range []*io.Writer{&p.Stdout, &p.Stderr} {
		want := req.Stdout
		if dst == &p.Stderr {
			want = req.Stderr
		}
		if want == nil {
			continue // libcontainer gives the process /dev/null
		}
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		e.child = append(e.child, w)
		e.outputs = append(e.outputs, r)
		*dst = w
	}
	return e, nil
}

func (e *execIO) started() error {
	closeFiles(e.child)
	e.child = nil
	if e.console != nil {
		master, err := recvFd(e.console)
		e.console.Close()
		e.console = nil
		if err != nil {
			return fmt.Errorf("receive console: %w", err)
		}
		e.master = master
		e.outputs = append(e.outputs, master)
		out := e.req.Stdout
		if out == nil {
			out = io.Discard // keep draining, or the process blocks on a full pty
		}
		e.out.Go(func() { _, _ = io.Copy(out, master) })
		if e.req.Stdin != nil {
			go func() { _, _ = io.Copy(master, e.req.Stdin) }()
		}
		if e.req.Resize != nil {
			go e.resizeLoop(master)
		}
		return nil
	}
	if e.stdin != nil {
		// Not waited for: it ends when the caller's reader does (EOF closes
		// the process's stdin) or, after the exit, at its next write.
		go func() {
			_, _ = io.Copy(e.stdin, e.req.Stdin)
			e.stdin.Close()
		}()
	}
	writers := []io.Writer{e.req.Stdout, e.req.Stderr}
	i := 0
	for _, w := range writers {
		if w == nil {
			continue
		}
		r := e.outputs[i]
		i++
		e.out.Go(func() { _, _ = io.Copy(w, r) })
	}
	return nil
}

func (e *execIO) resizeLoop(master *os.File) {
	for {
		select {
		case sz, ok := <-e.req.Resize:
			if !ok {
				return
			}
			if conn, err := master.SyscallConn(); err == nil {
				_ = conn.Control(func(fd uintptr) {
					_ = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: sz.Height, Col: sz.Width})
				})
			}
		case <-e.stop:
			return
		}
	}
}

// finish waits (up to timeout) for the output to reach the caller, then
// closes everything.
func (e *execIO) finish(timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		e.out.Wait()
		close(done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	e.close()
	<-done
}

func (e *execIO) close() {
	closeFiles(e.child)
	closeFiles(e.outputs)
	closeFiles([]*os.File{e.stdin, e.console})
	select {
	case <-e.stop:
	default:
		close(e.stop)
	}
	e.out.Wait()
}
