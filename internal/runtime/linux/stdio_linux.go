package linux

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/orca-pods/orca/internal/runtime"
)

// containerIO connects a container's stdout and stderr (or its terminal)
// to its CRI log file.
//
// Non-TTY streams go through named pipes (FIFOs) in the container's io
// dir rather than anonymous pipes: the container holds its ends open
// read-write, so a write never fails with EPIPE (which would kill it with
// SIGPIPE) when the runtime process is gone, and a new Runtime reopens the
// FIFOs and resumes copying. While no runtime reads, a chatty container
// blocks once the pipe buffer (64 KiB) is full.
type containerIO struct {
	// logMu guards logFile and logClosed: ReopenContainerLog replaces the
	// file while the copiers write.
	logMu     sync.Mutex
	logFile   *os.File // nil when the container has no LogPath
	logClosed bool
	cri       *criLog
	// child holds the ends handed to the container; we close our copies
	// once it started, so the read ends see EOF when the container exits.
	child []*os.File
	// streams are the read ends: stdout and stderr FIFOs, or the pty
	// master of a TTY container (logged as stdout).
	streams []namedStream
	// console is our end of libcontainer's console socket (TTY only).
	console *os.File
	wg      sync.WaitGroup
	// copied is closed once every copier has ended: the output is over.
	copied chan struct{}

	// attachMu guards what kubectl attach connects to.
	attachMu sync.Mutex
	// stdin is our write end of the stdin FIFO (nil without stdin, or once
	// closed); pty is the terminal's master (TTY only).
	stdin, pty *os.File
	attached   map[*attachment]struct{}
}

// attachment is one attached client's output writers.
type attachment struct{ stdout, stderr io.Writer }

type namedStream struct {
	name string
	r    *os.File
}

// openContainerIO prepares a new container's stdio in dir.
func openContainerIO(cfg *runtime.ContainerConfig, dir string, p *libcontainer.Process) (_ *containerIO, err error) {
	cio, err := openLog(cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			cio.close()
		}
	}()
	if cfg.TTY {
		parent, child, err := socketPair()
		if err != nil {
			return nil, err
		}
		cio.console = parent
		cio.child = append(cio.child, child)
		p.ConsoleSocket = child
		return cio, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if cfg.Stdin {
		if err := cio.openStdin(dir, p); err != nil {
			return nil, err
		}
	}
	for _, name := range []string{"stdout", "stderr"} {
		path := filepath.Join(dir, name)
		if err := unix.Mkfifo(path, 0o600); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("mkfifo: %w", err)
		}
		// Read-write: opening does not wait for a peer, and the container
		// always counts as a reader of its own stdout.
		w, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return nil, err
		}
		cio.child = append(cio.child, w)
		if name == "stdout" {
			p.Stdout = w
		} else {
			p.Stderr = w
		}
	}
	if err := cio.openStreams(dir); err != nil {
		return nil, err
	}
	return cio, nil
}

// openStdin makes the stdin FIFO. We hold the only write end (opened
// read-write, so the open does not wait for a reader): closing it is how a
// StdinOnce container reads EOF after its attach session. The container
// gets a read-only end. A Runtime that exits closes our end too, so such a
// container then reads EOF; a new Runtime reconnects to one still reading.
func (cio *containerIO) openStdin(dir string, p *libcontainer.Process) error {
	path := filepath.Join(dir, "stdin")
	if err := unix.Mkfifo(path, 0o600); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("mkfifo: %w", err)
	}
	w, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	cio.stdin = w
	r, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	cio.child = append(cio.child, r)
	p.Stdin = r
	return nil
}

// reopenContainerIO resumes copying the output of a container started by
// an earlier Runtime. A TTY container's terminal cannot be recovered: its
// pty master was held by the process that started it.
func reopenContainerIO(cfg *runtime.ContainerConfig, dir string) (*containerIO, error) {
	cio, err := openLog(cfg)
	if err != nil {
		return nil, err
	}
	if !cfg.TTY {
		if err := cio.openStreams(dir); err != nil {
			cio.close()
			return nil, err
		}
		if cfg.Stdin {
			// Fails (ENXIO) when the container no longer reads its stdin.
			if w, err := os.OpenFile(filepath.Join(dir, "stdin"), os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
				cio.stdin = w
			}
		}
	}
	cio.copy()
	return cio, nil
}

func openLog(cfg *runtime.ContainerConfig) (*containerIO, error) {
	cio := &containerIO{copied: make(chan struct{})}
	var out io.Writer = io.Discard
	if cfg.LogPath != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.LogPath), 0o755); err != nil {
			return nil, fmt.Errorf("log dir: %w", err)
		}
		f, err := os.OpenFile(cfg.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return nil, fmt.Errorf("log file: %w", err)
		}
		cio.logFile, out = f, f
	}
	cio.cri = newCRILog(out)
	return cio, nil
}

// openStreams opens our read ends of the stdout and stderr FIFOs,
// non-blocking so that they are pollable and Close ends a pending Read.
func (cio *containerIO) openStreams(dir string) error {
	for _, name := range []string{"stdout", "stderr"} {
		r, err := os.OpenFile(filepath.Join(dir, name), os.O_RDONLY|unix.O_NONBLOCK, 0)
		if err != nil {
			return err
		}
		cio.streams = append(cio.streams, namedStream{name, r})
	}
	return nil
}

func (cio *containerIO) copy() {
	for _, s := range cio.streams {
		cio.wg.Go(func() { cio.cri.copyStream(s.name, &teeReader{cio, s.name, s.r}) })
	}
	go func() {
		cio.wg.Wait()
		close(cio.copied)
	}()
}

// teeReader hands what a container writes to the attached clients as it
// is read, before the log's line splitting: a shell's prompt has no
// newline and must still reach the terminal at once.
type teeReader struct {
	cio    *containerIO
	stream string
	r      io.Reader
}

func (t *teeReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.cio.broadcast(t.stream, p[:n])
	}
	return n, err
}

// broadcast writes b to every attached client; a client whose write fails
// is detached. Writes are synchronous, so a slow client slows the
// container's output, as with containerd's attach.
func (cio *containerIO) broadcast(stream string, b []byte) {
	cio.attachMu.Lock()
	defer cio.attachMu.Unlock()
	for a := range cio.attached {
		w := a.stdout
		if stream == "stderr" {
			w = a.stderr
		}
		if w == nil {
			continue
		}
		if _, err := w.Write(b); err != nil {
			delete(cio.attached, a)
		}
	}
}

// attach adds a client's writers; the returned func removes them.
func (cio *containerIO) attach(stdout, stderr io.Writer) (detach func()) {
	a := &attachment{stdout, stderr}
	cio.attachMu.Lock()
	if cio.attached == nil {
		cio.attached = map[*attachment]struct{}{}
	}
	cio.attached[a] = struct{}{}
	cio.attachMu.Unlock()
	return func() {
		cio.attachMu.Lock()
		delete(cio.attached, a)
		cio.attachMu.Unlock()
	}
}

// input returns where a client's keystrokes go: the terminal's master for
// a TTY container, else the stdin FIFO; nil if the container has neither.
func (cio *containerIO) input() *os.File {
	cio.attachMu.Lock()
	defer cio.attachMu.Unlock()
	if cio.pty != nil {
		return cio.pty
	}
	return cio.stdin
}

// closeStdin closes the stdin FIFO's only write end: the container reads
// EOF once it has read what was written.
func (cio *containerIO) closeStdin() {
	cio.attachMu.Lock()
	defer cio.attachMu.Unlock()
	if cio.stdin != nil {
		cio.stdin.Close()
		cio.stdin = nil
	}
}

// resize sets the terminal's size, as a terminal emulator would.
func (cio *containerIO) resize(size runtime.TerminalSize) error {
	cio.attachMu.Lock()
	pty := cio.pty
	cio.attachMu.Unlock()
	if pty == nil {
		return nil
	}
	// Through the raw conn: Fd() would switch the master to blocking mode.
	conn, err := pty.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	err = conn.Control(func(fd uintptr) {
		ierr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: size.Height, Col: size.Width})
	})
	if err == nil {
		err = ierr
	}
	return err
}

// started closes our copies of the container's ends, receives the pty
// master of a TTY container, and starts copying output to the log.
func (cio *containerIO) started() error {
	closeFiles(cio.child)
	cio.child = nil
	if cio.console != nil {
		master, err := recvFd(cio.console)
		cio.console.Close()
		cio.console = nil
		if err != nil {
			return fmt.Errorf("receive console: %w", err)
		}
		cio.streams = append(cio.streams, namedStream{"stdout", master})
		cio.attachMu.Lock()
		cio.pty = master
		cio.attachMu.Unlock()
	}
	cio.copy()
	return nil
}

// drain waits (up to timeout) for the output of an exited container to
// reach the log, then closes everything. Only a process that escaped the
// container while keeping its stdout could hold the pipes open longer.
func (cio *containerIO) drain(timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		cio.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	cio.close()
	<-done // closing the read ends ends the copiers
}

func (cio *containerIO) close() {
	closeFiles(cio.child)
	for _, s := range cio.streams {
		s.r.Close()
	}
	closeFiles([]*os.File{cio.console})
	cio.closeStdin()
	cio.wg.Wait()
	cio.logMu.Lock()
	defer cio.logMu.Unlock()
	cio.logClosed = true
	if cio.logFile != nil {
		cio.logFile.Close()
	}
}

// errLogClosed: the container's output is no longer copied (it exited).
var errLogClosed = errors.New("log closed")

// reopenLog switches the log to a new file at path, creating it (and its
// directory) if needed, and closes the previous file. Log rotation renames
// the file first, so the old lines stay in the renamed file and the new
// ones go to a fresh one.
func (cio *containerIO) reopenLog(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("log dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	cio.logMu.Lock()
	if cio.logClosed {
		cio.logMu.Unlock()
		f.Close()
		return errLogClosed
	}
	old := cio.logFile
	cio.logFile = f
	cio.cri.setWriter(f)
	cio.logMu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// socketPair makes the AF_UNIX pair over which libcontainer's init sends
// back the pty master it created inside the container.
func socketPair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "console-parent"), os.NewFile(uintptr(fds[1]), "console-child"), nil
}

// recvFd receives one file descriptor sent with SCM_RIGHTS (libcontainer
// sends the pty master's name as the payload).
func recvFd(sock *os.File) (*os.File, error) {
	conn, err := sock.SyscallConn()
	if err != nil {
		return nil, err
	}
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	var n, oobn int
	var rerr error
	err = conn.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), name, oob, unix.MSG_CMSG_CLOEXEC)
		return !errors.Is(rerr, unix.EAGAIN)
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("recvmsg: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("expected one control message, got %d", len(msgs))
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return nil, err
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("expected one file descriptor, got %d", len(fds))
	}
	// Non-blocking makes the file pollable, so closing it ends a
	// pending Read (drain relies on that).
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}
