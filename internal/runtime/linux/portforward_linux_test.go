package linux

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pipeStream is the client's end of a port-forward stream: Close is a
// half-close, as for a SPDY stream.
type pipeStream struct {
	r *io.PipeReader // what the client sends
	w *io.PipeWriter // what the client receives
}

func (p pipeStream) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p pipeStream) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p pipeStream) Close() error                { return p.w.Close() }

// forward runs PortForward with send as the client's data; it returns
// what came back and PortForward's error.
func forward(t *testing.T, rt *Runtime, sandboxID string, port int, send string) (string, error) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := rt.PortForward(context.Background(), sandboxID, int32(port), pipeStream{r: inR, w: outW})
		outW.Close()
		inR.Close()
		errc <- err
	}()
	go func() {
		_, _ = io.WriteString(inW, send)
		inW.Close() // the client is done sending; the reply still comes back
	}()
	got, _ := io.ReadAll(outR)
	return string(got), <-errc
}

// hostFreePort is a port nothing listens on in the host's namespace.
func hostFreePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestPortForwardConnectsInsideThePodsNetworkNamespace(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("pf")
	port := hostFreePort(t) // so only the pod's listener can answer
	p := strconv.Itoa(port)
	// An echo server that half-closes back: cat ends at the client's EOF.
	server := e.config("echo", "nc", "-l", "-p", p, "-e", "cat")
	server.Stdin = true
	e.start(sb, server)

	var got string
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err = forward(t, e.rt, sb.ID, port, "ping\n")
		if err == nil || !strings.Contains(err.Error(), "connection refused") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // nc is not listening yet
	}
	if err != nil || got != "ping\n" {
		t.Fatalf("forward to the pod's echo server: %q, %v", got, err)
	}

	_, err = forward(t, e.rt, sb.ID, port+1, "x")
	want := `failed to execute portforward in network namespace "` + sb.NetNSPath + `": failed to connect to localhost:` + strconv.Itoa(port+1) + ` inside namespace, IPv4: dial tcp4 127.0.0.1:` + strconv.Itoa(port+1) + `: connect: connection refused`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("forward to a closed port: %v\nwant prefix: %s", err, want)
	}

	// The threads that entered the pod's namespace are gone: every thread
	// left is in the host's.
	host := nsInode(t, "/proc/self/ns/net")
	tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
	for _, task := range tasks {
		if _, err := os.Stat(task); err != nil {
			continue // the thread exited meanwhile
		}
		if ino := nsInode(t, task); ino != host {
			t.Errorf("%s is in network namespace %s, not the host's %s", task, ino, host)
		}
	}
}
