package linux

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	goruntime "runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// portForwardDrain is how long PortForward waits, after the pod closed its
// end, for the client to close its own before the stream is reset.
const portForwardDrain = 5 * time.Second

// PortForward connects to port on the pod's loopback address from inside
// the sandbox's network namespace (the host's for a host-network pod) and
// copies between that connection and stream (kubectl port-forward) until
// the pod closes its end. A client that stops sending half-closes the
// connection, so the pod's reply still comes back. It returns the
// connection error, worded as containerd words it, when nothing listens.
func (r *Runtime) PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error {
	sb, err := r.sandbox(sandboxID)
	if err != nil {
		return fmt.Errorf("port forward: %w", err)
	}
	if port <= 0 || port > 65535 {
		return fmt.Errorf("port forward: invalid port %d", port)
	}
	conn, err := dialInNetNS(ctx, sb.Sandbox.NetNSPath, port)
	if err != nil {
		return fmt.Errorf("failed to execute portforward in network namespace %q: %w", sb.Sandbox.NetNSPath, err)
	}
	return splice(conn, stream)
}

// dialInNetNS opens a TCP connection to localhost:port in the network
// namespace pinned at nsPath ("" for the host's).
//
// setns(2) moves only the calling thread, and a socket belongs to the
// namespace of the thread that created it for its whole life, so the
// socket is made on a locked thread that joined the pod's namespace. That
// thread is never unlocked: when the goroutine returns, the Go runtime
// terminates it instead of letting other goroutines run in the pod's
// namespace. Threads the runtime starts meanwhile are cloned from its
// template thread, not from this one, so they stay in the host's.
func dialInNetNS(ctx context.Context, nsPath string, port int32) (*net.TCPConn, error) {
	if nsPath == "" {
		return dialLoopback(ctx, port)
	}
	ns, err := os.Open(nsPath)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	type result struct {
		conn *net.TCPConn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		goruntime.LockOSThread()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{err: fmt.Errorf("enter network namespace: %w", err)}
			return
		}
		conn, err := dialLoopback(ctx, port)
		done <- result{conn, err}
	}()
	res := <-done
	return res.conn, res.err
}

// dialLoopback tries IPv4, then IPv6, as containerd does. The addresses are
// literal so the dialer makes one socket at a time, on this goroutine's
// thread (a host name would race both families from other goroutines).
func dialLoopback(ctx context.Context, port int32) (*net.TCPConn, error) {
	var d net.Dialer
	p := strconv.Itoa(int(port))
	c4, err4 := d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", p))
	if err4 == nil {
		return c4.(*net.TCPConn), nil
	}
	c6, err6 := d.DialContext(ctx, "tcp6", net.JoinHostPort("::1", p))
	if err6 == nil {
		return c6.(*net.TCPConn), nil
	}
	return nil, fmt.Errorf("failed to connect to localhost:%d inside namespace, IPv4: %v IPv6: %v", port, err4, err6)
}

// splice copies both ways until the pod closes its end of conn. The
// client's end of the stream is passed on as a half-close (the reply still
// comes back); the pod's end closes the stream.
// portForwardBuffer is the read size from the pod's connection.
const portForwardBuffer = 256 << 10

func splice(conn *net.TCPConn, stream io.ReadWriteCloser) error {
	up := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, stream)
		_ = conn.CloseWrite()
		up <- err
	}()
	// Big reads make big stream frames: every frame costs a header, a
	// write and, further on, TLS records and WebSocket messages. (The
	// struct hides TCPConn.WriteTo, which would copy 32 KiB at a time.)
	_, down := io.CopyBuffer(stream, struct{ io.Reader }{conn}, make([]byte, portForwardBuffer))
	_ = conn.Close()
	// Our end of the stream: the client sees EOF, closes its connection
	// and then its end of the stream, which ends the copy above.
	_ = stream.Close()
	var errUp error
	select {
	case errUp = <-up:
	case <-time.After(portForwardDrain):
		// A client that keeps its end open: a reset unblocks the read.
		if rs, ok := stream.(interface{ Reset() error }); ok {
			_ = rs.Reset()
		}
		errUp = <-up
	}
	if down != nil && !errors.Is(down, net.ErrClosed) {
		return down
	}
	if errUp != nil && !errors.Is(errUp, net.ErrClosed) && !errors.Is(errUp, io.EOF) {
		return errUp
	}
	return nil
}
