package prober

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/internal/runtime"
)

// probeDialer makes connections that skip TIME_WAIT on close (a one-second
// linger), so that frequent probes do not pile up sockets on the node.
func probeDialer() *net.Dialer {
	return &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 1})
		})
		if err != nil {
			return err
		}
		return serr
	}}
}

// execProbe runs cmd in the container; exit code 0 passes. The output,
// stdout then stderr, is kept up to maxOutput for the failure event. The
// timeout is enforced: the runtime kills the command when it passes.
func (m *Manager) execProbe(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (outcome, string, error) {
	if m.cfg.Runtime == nil {
		return outUnknown, "", errors.New("exec probe: no container runtime configured")
	}
	ectx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var stdout, stderr cappedBuffer
	code, err := m.cfg.Runtime.Exec(ectx, containerID, runtime.ExecRequest{Cmd: cmd, Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		if ctx.Err() == nil && errors.Is(ectx.Err(), context.DeadlineExceeded) {
			return outFailure, fmt.Sprintf("command %q timed out", strings.Join(cmd, " ")), nil
		}
		return outUnknown, "", err
	}
	output := stdout.String() + stderr.String()
	if len(output) > maxOutput {
		output = output[:maxOutput]
	}
	if code != 0 {
		return outFailure, output, nil
	}
	return outSuccess, output, nil
}

// cappedBuffer keeps the first maxOutput bytes written and drops the rest
// without failing the writer (the command must not see EPIPE).
type cappedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := maxOutput - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// httpRequest builds the GET the kubelet sends: to host (default the pod
// IP) and the resolved port, with the probe's headers, a kube-probe
// User-Agent and Accept: */* unless the probe sets them (an empty Accept
// header removes it), and the Host header as the request's host.
func (m *Manager) httpRequest(ctx context.Context, g *corev1.HTTPGetAction, c *corev1.Container, podIP string) (*http.Request, error) {
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	host := g.Host
	if host == "" {
		host = podIP
	}
	if host == "" {
		return nil, errNoPodIP
	}
	port, err := resolvePort(g.Port, c)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(g.Path)
	if err != nil {
		// A path that does not parse is passed on as it is.
		u = &url.URL{Path: g.Path}
	}
	u.Scheme = scheme
	u.Host = net.JoinHostPort(host, strconv.Itoa(port))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("build HTTP probe request: %w", err)
	}
	headers := http.Header{}
	for _, h := range g.HTTPHeaders {
		headers.Add(h.Name, h.Value)
	}
	if _, ok := headers["User-Agent"]; !ok {
		headers.Set("User-Agent", m.userAgent)
	}
	if _, ok := headers["Accept"]; !ok {
		headers.Set("Accept", "*/*")
	} else if headers.Get("Accept") == "" {
		headers.Del("Accept")
	}
	req.Header = headers
	req.Host = headers.Get("Host")
	return req, nil
}

// httpProbe passes on 200 <= code < 400. Redirects are followed only to the
// same host; a redirect elsewhere ends the probe as a warning (it still
// passes). A failure's message never includes the body.
func (m *Manager) httpProbe(req *http.Request, timeout time.Duration) (outcome, string, error) {
	res, err := plainHTTP(req, timeout)
	if res != nil && res.StatusCode >= http.StatusMultipleChoices && res.StatusCode < http.StatusBadRequest {
		// Redirects take the full client, which follows them.
		res.Body.Close()
		res = nil
	}
	if res == nil && err == nil {
		client := &http.Client{Timeout: timeout, Transport: m.transport, CheckRedirect: sameHostRedirects}
		res, err = client.Do(req)
	}
	if err != nil {
		// Timeouts and refused connections are failures, not errors.
		return outFailure, err.Error(), nil
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxOutput))
	if err != nil {
		return outFailure, "", fmt.Errorf("read HTTP probe response: %w", err)
	}
	body := string(b)
	if res.StatusCode >= http.StatusOK && res.StatusCode < http.StatusBadRequest {
		if res.StatusCode >= http.StatusMultipleChoices {
			return outWarning, "Probe terminated redirects, Response body: " + body, nil
		}
		return outSuccess, body, nil
	}
	return outFailure, fmt.Sprintf("HTTP probe failed with statuscode: %d", res.StatusCode), nil
}

// plainHTTP does a plain-HTTP probe on one connection of its own, without
// the transport's per-connection goroutines and hand-offs: a hundred pods
// probed every second made those most of the prober's CPU. It returns
// (nil, nil) for requests it leaves to the full client (HTTPS). Errors
// read as the client's would ("Get \"url\": ...").
func plainHTTP(req *http.Request, timeout time.Duration) (*http.Response, error) {
	if req.URL.Scheme != "http" {
		return nil, nil
	}
	fail := func(err error) error { return &url.Error{Op: "Get", URL: req.URL.String(), Err: err} }
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	defer cancel()
	d := probeDialer()
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
		}
		return nil, fail(err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	out := req.WithContext(context.Background())
	out.Close = true // one request per connection, as the kubelet's probes
	w := bufio.NewWriterSize(conn, 1024)
	if err := out.Write(w); err == nil {
		err = w.Flush()
	}
	if err != nil {
		conn.Close()
		return nil, fail(err)
	}
	res, err := http.ReadResponse(bufio.NewReaderSize(conn, 4096), out)
	if err != nil {
		conn.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			err = errors.New("context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
		}
		return nil, fail(err)
	}
	res.Body = &closeBoth{ReadCloser: res.Body, conn: conn}
	return res, nil
}

// closeBoth closes the response body and its connection.
type closeBoth struct {
	io.ReadCloser
	conn net.Conn
}

func (c *closeBoth) Close() error {
	err := c.ReadCloser.Close()
	c.conn.Close()
	return err
}

func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if req.URL.Hostname() != via[0].URL.Hostname() {
		return http.ErrUseLastResponse
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// tcpProbe passes if a connection can be opened within the timeout.
func tcpProbe(ctx context.Context, host string, port int, timeout time.Duration) (outcome, string, error) {
	d := probeDialer()
	d.Timeout = timeout
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return outFailure, err.Error(), nil
	}
	_ = conn.Close()
	return outSuccess, "", nil
}

// grpcProbe calls grpc.health.v1.Health/Check on the pod IP, in plaintext;
// SERVING passes. Connecting and the call share the timeout.
func (m *Manager) grpcProbe(ctx context.Context, host, service string, port int, timeout time.Duration) (outcome, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithUserAgent(m.userAgent),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
			return probeDialer().DialContext(ctx, "tcp", a)
		}),
	)
	if err != nil {
		return outFailure, fmt.Sprintf("error: failed to connect service at %q: %+v", addr, err), nil
	}
	defer conn.Close()
	if err := waitReady(ctx, conn); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return outFailure, fmt.Sprintf("timeout: failed to connect service %q within %v: %+v", addr, timeout, err), nil
		}
		return outFailure, fmt.Sprintf("error: failed to connect service at %q: %+v", addr, err), nil
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		if st, ok := status.FromError(err); ok {
			switch st.Code() {
			case codes.Unimplemented:
				return outFailure, "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): " + st.Message(), nil
			case codes.DeadlineExceeded:
				return outFailure, fmt.Sprintf("timeout: health rpc did not complete within %v", timeout), nil
			}
		}
		return outFailure, fmt.Sprintf("error: health rpc probe failed: %+v", err), nil
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return outFailure, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String()), nil
	}
	return outSuccess, "service healthy", nil
}

// waitReady connects and waits for the connection to be usable, as a
// blocking dial would: transient failures are retried until ctx ends.
func waitReady(ctx context.Context, conn *grpc.ClientConn) error {
	conn.Connect()
	for {
		s := conn.GetState()
		if s == connectivity.Ready {
			return nil
		}
		if !conn.WaitForStateChange(ctx, s) {
			return ctx.Err()
		}
	}
}

// expandCommand substitutes $(VAR) references in an exec probe's command
// with the container's env values. Only literal values are known here:
// variables set from a source (valueFrom) expand to "". Unknown references
// stay as written, and $$ escapes a $.
func expandCommand(cmd []string, env []corev1.EnvVar) []string {
	if len(cmd) == 0 {
		return cmd
	}
	vars := make(map[string]string, len(env))
	for _, e := range env {
		vars[e.Name] = e.Value
	}
	out := make([]string, len(cmd))
	for i, arg := range cmd {
		out[i] = expand(arg, vars)
	}
	return out
}

func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch next := s[i+1]; next {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				// Unterminated: keep "$(" and carry on after it.
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
			b.WriteByte(next)
			i++
		}
	}
	return b.String()
}
