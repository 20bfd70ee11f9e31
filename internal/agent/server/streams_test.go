package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/orca-pods/orca/internal/agent/logs"
	"github.com/orca-pods/orca/internal/agent/pods"
	"github.com/orca-pods/orca/internal/runtime"
)

// fakePods is pod "p" (uid "uid-1") in namespace "ns" with containers
// that run unless listed in stopped.
type fakePods struct {
	stopped map[string]bool
	target  pods.StreamTarget
	exec    func(ctx context.Context, req runtime.ExecRequest) (int, error)
	forward func(ctx context.Context, port int32, stream io.ReadWriteCloser) error
}

func (f *fakePods) ContainerID(ctx context.Context, ns, name, ctr string) (string, error) {
	t, err := f.StreamTarget(ctx, ns, name, ctr)
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

func (f *fakePods) StreamTarget(_ context.Context, ns, name, ctr string) (*pods.StreamTarget, error) {
	if ns != "ns" || name != "p" {
		return nil, pods.ErrPodNotFound
	}
	if f.stopped[ctr] {
		return nil, &pods.ErrContainerNotFound{Container: ctr}
	}
	t := f.target
	t.ID = "id-" + ctr
	return &t, nil
}

func (f *fakePods) Exec(ctx context.Context, _ string, req runtime.ExecRequest) (int, error) {
	return f.exec(ctx, req)
}

func (f *fakePods) PortForward(ctx context.Context, _, _ string, port int32, stream io.ReadWriteCloser) error {
	return f.forward(ctx, port, stream)
}

func (f *fakePods) PodUID(ns, name string) (string, bool) { return "uid-1", ns == "ns" && name == "p" }

func startStreams(t *testing.T, f *fakePods) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	(&streams{pods: f, log: slog.New(slog.DiscardHandler)}).register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// execOn runs kubectl's SPDY client against the endpoint.
func execOn(ctx context.Context, t *testing.T, srv *httptest.Server, path string, q url.Values, opts remotecommand.StreamOptions) error {
	t.Helper()
	u, _ := url.Parse(srv.URL + path + "?" + q.Encode())
	ex, err := remotecommand.NewSPDYExecutor(&rest.Config{Host: srv.URL}, "POST", u)
	if err != nil {
		t.Fatal(err)
	}
	return ex.StreamWithContext(ctx, opts)
}

func execQuery(cmd ...string) url.Values {
	return url.Values{"command": cmd, "output": {"1"}, "error": {"1"}}
}

func TestExecStreamsOutputAndReportsTheExitCode(t *testing.T) {
	srv := startStreams(t, &fakePods{exec: func(_ context.Context, req runtime.ExecRequest) (int, error) {
		fmt.Fprint(req.Stdout, "hi\n")
		fmt.Fprint(req.Stderr, "oops\n")
		return 3, nil
	}})
	var out, errOut bytes.Buffer
	err := execOn(context.Background(), t, srv, "/exec/ns/p/app", execQuery("sh", "-c", "exit 3"),
		remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut})
	var exitErr utilexec.CodeExitError
	if !errors.As(err, &exitErr) || exitErr.Code != 3 {
		t.Fatalf("err = %v, want exit code 3", err)
	}
	if out.String() != "hi\n" || errOut.String() != "oops\n" {
		t.Fatalf("stdout %q stderr %q", out.String(), errOut.String())
	}
}

func TestExecPassesStdinUntilTheClientCloses(t *testing.T) {
	srv := startStreams(t, &fakePods{exec: func(_ context.Context, req runtime.ExecRequest) (int, error) {
		_, err := io.Copy(req.Stdout, req.Stdin)
		return 0, err
	}})
	q := execQuery("cat")
	q.Set("input", "1")
	var out bytes.Buffer
	err := execOn(context.Background(), t, srv, "/exec/ns/p/app", q,
		remotecommand.StreamOptions{Stdin: strings.NewReader("hello\nworld\n"), Stdout: &out, Stderr: io.Discard})
	if err != nil || out.String() != "hello\nworld\n" {
		t.Fatalf("err %v, stdout %q", err, out.String())
	}
}

type sizeQueue chan remotecommand.TerminalSize

func (q sizeQueue) Next() *remotecommand.TerminalSize {
	sz, ok := <-q
	if !ok {
		return nil
	}
	return &sz
}

func TestExecWithTTYDeliversTerminalResizes(t *testing.T) {
	srv := startStreams(t, &fakePods{exec: func(_ context.Context, req runtime.ExecRequest) (int, error) {
		if !req.TTY || req.Resize == nil {
			return 1, errors.New("no tty")
		}
		for range 2 {
			sz := <-req.Resize
			fmt.Fprintf(req.Stdout, "%dx%d\n", sz.Width, sz.Height)
		}
		return 0, nil
	}})
	q := url.Values{"command": {"sh"}, "output": {"1"}, "input": {"1"}, "tty": {"1"}}
	sizes := make(sizeQueue, 2)
	sizes <- remotecommand.TerminalSize{Width: 80, Height: 24}
	sizes <- remotecommand.TerminalSize{Width: 120, Height: 40}
	stdin, stdinW := io.Pipe()
	defer stdinW.Close()
	var out bytes.Buffer
	err := execOn(context.Background(), t, srv, "/exec/ns/p/app", q,
		remotecommand.StreamOptions{Stdin: stdin, Stdout: &out, Tty: true, TerminalSizeQueue: sizes})
	close(sizes)
	if err != nil || out.String() != "80x24\n120x40\n" {
		t.Fatalf("err %v, stdout %q", err, out.String())
	}
}

func TestExecKillsTheCommandAndLeavesNoGoroutinesWhenTheClientDisconnects(t *testing.T) {
	started, ended := make(chan struct{}, 1), make(chan struct{}, 1)
	srv := startStreams(t, &fakePods{exec: func(ctx context.Context, req runtime.ExecRequest) (int, error) {
		if req.Cmd[0] == "true" {
			return 0, nil
		}
		started <- struct{}{}
		<-ctx.Done() // the runtime kills the process when ctx ends
		ended <- struct{}{}
		return -1, ctx.Err()
	}})
	// One complete exec first, so lazily started goroutines are counted.
	if err := execOn(context.Background(), t, srv, "/exec/ns/p/app", execQuery("true"), remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard}); err != nil {
		t.Fatal(err)
	}
	before := settledGoroutines()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- execOn(ctx, t, srv, "/exec/ns/p/app", execQuery("sleep", "1000"), remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard})
	}()
	<-started
	cancel() // the client goes away: its connection closes
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the command still runs 10s after its client disconnected")
	}
	<-done
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := goruntime.NumGoroutine()
		if n <= before {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:goruntime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func settledGoroutines() int {
	n := goruntime.NumGoroutine()
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		n = min(n, goruntime.NumGoroutine())
	}
	return n
}

func TestExecErrorsAreTheKubelets(t *testing.T) {
	srv := startStreams(t, &fakePods{stopped: map[string]bool{"app": true}})
	err := execOn(context.Background(), t, srv, "/exec/ns/p/app", execQuery("true"), remotecommand.StreamOptions{Stdout: io.Discard})
	if err == nil || err.Error() != `unable to upgrade connection: container not found ("app")` {
		t.Errorf("stopped container: %v", err)
	}
	for _, tc := range []struct {
		path, query string
		code        int
		body        string
	}{
		{"/exec/ns/other/app", "command=true&output=1", http.StatusNotFound, "pod does not exist"},
		{"/exec/ns/p/app", "output=1", http.StatusBadRequest, "you must specify at least 1 command"},
		{"/exec/ns/p/app", "command=true", http.StatusBadRequest, "you must specify at least 1 of stdin, stdout, stderr"},
		{"/portForward/ns/other", "", http.StatusNotFound, "pod does not exist"},
	} {
		resp, err := http.Post(srv.URL+tc.path+"?"+tc.query, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || strings.TrimSpace(string(body)) != tc.body {
			t.Errorf("%s?%s: %d %q, want %d %q", tc.path, tc.query, resp.StatusCode, body, tc.code, tc.body)
		}
	}
}

func TestAttachFollowsTheLogFromItsEndUntilTheContainerStops(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "0.log")
	appendLog := func(stream, line string) {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := logs.Encode(f, time.Now(), stream, false, []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	appendLog(logs.Stdout, "before attach")
	var mu sync.Mutex
	running := true
	f := &fakePods{target: pods.StreamTarget{LogPath: logPath, Running: func() bool {
		mu.Lock()
		defer mu.Unlock()
		return running
	}}}
	srv := startStreams(t, f)
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- execOn(context.Background(), t, srv, "/attach/ns/p/app", url.Values{"output": {"1"}, "error": {"1"}},
			remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "after attach") {
		if time.Now().After(deadline) {
			t.Fatalf("attach never showed the new line; stdout %q", out.String())
		}
		appendLog(logs.Stdout, "after attach")
		appendLog(logs.Stderr, "to stderr")
		time.Sleep(200 * time.Millisecond)
	}
	mu.Lock()
	running = false
	mu.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("attach did not end when the container stopped")
	}
	if strings.Contains(out.String(), "before attach") || !strings.Contains(errOut.String(), "to stderr") {
		t.Fatalf("stdout %q stderr %q", out.String(), errOut.String())
	}
}

func TestAttachRefusesTheStdinItCannotReach(t *testing.T) {
	srv := startStreams(t, &fakePods{target: pods.StreamTarget{Stdin: true}})
	err := execOn(context.Background(), t, srv, "/attach/ns/p/app", url.Values{"input": {"1"}, "output": {"1"}},
		remotecommand.StreamOptions{Stdin: strings.NewReader(""), Stdout: io.Discard})
	want := `unable to upgrade connection: attaching to the stdin of container "app" is not supported by this runtime`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

// With a runtime that attaches, the client's stdin reaches the container
// and the container's output comes back over the same session.
func TestAttachCarriesStdinToTheRuntime(t *testing.T) {
	target := pods.StreamTarget{Stdin: true, Running: func() bool { return true }}
	target.Attach = func(_ context.Context, req runtime.AttachRequest) error {
		_, err := io.Copy(req.Stdout, req.Stdin) // an echoing container
		return err
	}
	srv := startStreams(t, &fakePods{target: target})
	var out bytes.Buffer
	err := execOn(context.Background(), t, srv, "/attach/ns/p/app", url.Values{"input": {"1"}, "output": {"1"}},
		remotecommand.StreamOptions{Stdin: strings.NewReader("typed\n"), Stdout: &out})
	if err != nil || out.String() != "typed\n" {
		t.Fatalf("err = %v, stdout %q", err, out.String())
	}
}

func TestPortForwardKeepsServingAfterAConnectionFails(t *testing.T) {
	srv := startStreams(t, &fakePods{forward: func(_ context.Context, port int32, stream io.ReadWriteCloser) error {
		if port != 80 {
			return errors.New("connection refused")
		}
		_, err := io.Copy(stream, stream) // echo until the client is done
		return err
	}})
	u, _ := url.Parse(srv.URL + "/portForward/ns/p")
	rt, upgrader, err := spdy.RoundTripperFor(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	conn, proto, err := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, "POST", u).Dial("portforward.k8s.io")
	if err != nil || proto != "portforward.k8s.io" {
		t.Fatalf("dial: %v (protocol %q)", err, proto)
	}
	defer conn.Close()
	pair := func(id, port string) (data, errs io.ReadWriteCloser) {
		h := http.Header{}
		h.Set("port", port)
		h.Set("requestID", id)
		h.Set("streamType", "error")
		e, err := conn.CreateStream(h)
		if err != nil {
			t.Fatal(err)
		}
		h.Set("streamType", "data")
		d, err := conn.CreateStream(h)
		if err != nil && port == "80" {
			t.Fatal(err)
		}
		// For a port that fails, the server may finish the request (and
		// reset its streams) before the data stream's reply arrives, as
		// kubectl also sees; only the error stream matters then.
		return d, e
	}
	_, errs := pair("1", "81")
	msg, _ := io.ReadAll(errs)
	if want := "error forwarding port 81 to pod p, uid uid-1: connection refused"; string(msg) != want {
		t.Fatalf("error stream = %q, want %q", msg, want)
	}
	data, errs := pair("2", "80")
	if _, err := data.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	data.Close() // half-close: the reply still comes back
	reply, _ := io.ReadAll(data)
	if msg, _ := io.ReadAll(errs); string(reply) != "ping" || len(msg) != 0 {
		t.Fatalf("reply %q, error %q", reply, msg)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
