package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"syscall"
	"time"
)

// transfer is one request's outcome, for -w.
type transfer struct {
	url         string
	status      int
	contentType string
	downloaded  int64
	redirects   int
	start       time.Time
}

// fetch performs one URL's transfer, following redirects with -L.
func fetch(o options, raw string) *exitError {
	t := &transfer{start: time.Now()}
	u, err := parseURL(raw)
	if err != nil {
		return err
	}
	method := o.method
	switch {
	case method != "":
	case o.head:
		method = http.MethodHead
	case o.data != nil:
		method = http.MethodPost
	default:
		method = http.MethodGet
	}
	out, closeOut, err := openOutput(o, u)
	if err != nil {
		return err
	}
	defer closeOut()

	deadline := time.Time{}
	if o.maxTime > 0 {
		deadline = t.start.Add(o.maxTime)
	}
	meter := newMeter(o)
	for {
		t.url = u.String()
		resp, rawHeader, conn, err := roundTrip(o, method, u, deadline, t)
		if err != nil {
			return err
		}
		t.status = resp.StatusCode
		t.contentType = resp.Header.Get("Content-Type")
		redirect := o.location && resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != ""

		if o.failHTTP && resp.StatusCode >= 400 {
			conn.Close()
			writeOut(o, t)
			return fail(22, "The requested URL returned error: %d", resp.StatusCode)
		}
		if o.include || o.head {
			if _, err := out.Write(rawHeader); err != nil {
				conn.Close()
				return fail(23, "Failure writing output to destination")
			}
		}
		if !redirect && !o.head {
			n, err := io.Copy(out, resp.Body)
			t.downloaded += n
			if err != nil {
				conn.Close()
				var we *writeError
				if errors.As(err, &we) {
					return fail(23, "Failure writing output to destination")
				}
				return transferError(err, o, t)
			}
		}
		conn.Close()
		if o.verbose {
			fmt.Fprintf(os.Stderr, "* Connection #%d to host %s left intact\n", t.redirects, u.Hostname())
		}
		if !redirect {
			break
		}
		if t.redirects >= o.maxRedirs {
			return fail(47, "Maximum (%d) redirects followed", o.maxRedirs)
		}
		next, perr := u.Parse(resp.Header.Get("Location"))
		if perr != nil {
			return fail(3, "URL rejected: Malformed input to a URL function")
		}
		if resp.StatusCode == 303 || (method == http.MethodPost && (resp.StatusCode == 301 || resp.StatusCode == 302)) {
			method, o.data = http.MethodGet, nil
		}
		u = next
		t.redirects++
	}
	meter.done(t)
	writeOut(o, t)
	return nil
}

func parseURL(raw string) (*url.URL, *exitError) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fail(3, "URL rejected: Malformed input to a URL function")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fail(1, "Protocol \"%s\" not supported", u.Scheme)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// roundTrip connects, sends the request and reads the response head.
// rawHeader is the status line and headers exactly as received.
func roundTrip(o options, method string, u *url.URL, deadline time.Time, t *transfer) (*http.Response, []byte, net.Conn, *exitError) {
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	ctx := context.Background()
	connectDeadline := deadline
	if o.connectTimeout > 0 {
		if d := time.Now().Add(o.connectTimeout); connectDeadline.IsZero() || d.Before(connectDeadline) {
			connectDeadline = d
		}
	}
	if !connectDeadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, connectDeadline)
		defer cancel()
	}
	if o.verbose {
		fmt.Fprintf(os.Stderr, "*   Trying %s...\n", net.JoinHostPort(host, port))
	}
	start := time.Now()
	conn, err := dial(ctx, host, port)
	if err != nil {
		return nil, nil, nil, connectError(err, host, port, start)
	}
	if o.verbose {
		fmt.Fprintf(os.Stderr, "* Connected to %s (%s) port %s\n", host, remoteIP(conn), port)
	}
	if !deadline.IsZero() {
		_ = conn.SetDeadline(deadline)
	}
	if u.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: host, InsecureSkipVerify: o.insecure})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			var unknown x509.UnknownAuthorityError
			var invalid x509.CertificateInvalidError
			var hostname x509.HostnameError
			switch {
			case errors.As(err, &unknown):
				return nil, nil, nil, fail(60, "SSL certificate problem: unable to get local issuer certificate")
			case errors.As(err, &invalid), errors.As(err, &hostname):
				return nil, nil, nil, fail(60, "SSL: %v", err)
			}
			return nil, nil, nil, fail(35, "TLS connect error: %v", err)
		}
		conn = tc
	}

	req := buildRequest(o, method, u)
	if o.verbose {
		for _, line := range strings.SplitAfter(strings.TrimSuffix(string(req), "\r\n"), "\r\n") {
			fmt.Fprintf(os.Stderr, "> %s", strings.TrimSuffix(line, "\r\n")+"\n")
		}
	}
	if _, err := conn.Write(req); err != nil {
		conn.Close()
		return nil, nil, nil, fail(55, "Send failure: %v", cText(err))
	}

	br := bufio.NewReader(conn)
	var head bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		head.WriteString(line)
		if err != nil {
			conn.Close()
			if head.Len() == 0 && errors.Is(err, io.EOF) {
				return nil, nil, nil, fail(52, "Empty reply from server")
			}
			return nil, nil, nil, transferError(err, o, t)
		}
		if line == "\r\n" || line == "\n" {
			// Skip interim 1xx responses; keep the final head only.
			if strings.HasPrefix(head.String(), "HTTP/1.1 1") || strings.HasPrefix(head.String(), "HTTP/1.0 1") {
				head.Reset()
				continue
			}
			break
		}
	}
	if o.verbose {
		for _, line := range strings.SplitAfter(head.String(), "\n") {
			if line != "" {
				fmt.Fprintf(os.Stderr, "< %s", strings.TrimSuffix(line, "\r\n")+"\n")
			}
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(bytes.NewReader(head.Bytes()), br)),
		&http.Request{Method: method})
	if err != nil {
		conn.Close()
		return nil, nil, nil, fail(8, "Weird server reply")
	}
	return resp, head.Bytes(), conn, nil
}

// dial connects to host:port. Like curl, it answers "localhost" and
// "*.localhost" itself with the loopback addresses, whatever /etc/hosts says.
func dial(ctx context.Context, host, port string) (net.Conn, error) {
	var d net.Dialer
	lower := strings.ToLower(host)
	if lower != "localhost" && !strings.HasSuffix(lower, ".localhost") {
		return d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", port))
	if err == nil {
		return conn, nil
	}
	if conn, err6 := d.DialContext(ctx, "tcp", net.JoinHostPort("::1", port)); err6 == nil {
		return conn, nil
	}
	return nil, err
}

func buildRequest(o options, method string, u *url.URL) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, u.RequestURI())
	custom := map[string]bool{}
	for _, h := range o.headers {
		if name, _, ok := strings.Cut(h, ":"); ok {
			custom[strings.ToLower(strings.TrimSpace(name))] = true
		}
	}
	if !custom["host"] {
		fmt.Fprintf(&b, "Host: %s\r\n", u.Host)
	}
	if !custom["user-agent"] && o.agent != "" {
		fmt.Fprintf(&b, "User-Agent: %s\r\n", o.agent)
	}
	if !custom["accept"] {
		b.WriteString("Accept: */*\r\n")
	}
	for _, h := range o.headers {
		if name, value, ok := strings.Cut(h, ":"); ok && strings.TrimSpace(value) != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", strings.TrimSpace(name), strings.TrimSpace(value))
		}
	}
	if o.data != nil {
		if !custom["content-type"] {
			b.WriteString("Content-Type: application/x-www-form-urlencoded\r\n")
		}
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(*o.data))
	}
	b.WriteString("\r\n")
	if o.data != nil {
		b.WriteString(*o.data)
	}
	return b.Bytes()
}

// connectError maps a dial failure to curl's codes: 6 for name resolution,
// 28 for timeouts, 7 for everything else.
func connectError(err error, host, port string, start time.Time) *exitError {
	ms := time.Since(start).Milliseconds()
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && !dnsErr.IsTimeout:
		return fail(6, "Could not resolve host: %s", host)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fail(28, "Connection timed out after %d milliseconds", ms)
	}
	return fail(7, "Failed to connect to %s port %s after %d ms: Could not connect to server", host, port, ms)
}

func transferError(err error, o options, t *transfer) *exitError {
	switch {
	case isTimeout(err):
		return fail(28, "Operation timed out after %d milliseconds with %d bytes received",
			time.Since(t.start).Milliseconds(), t.downloaded)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fail(18, "transfer closed with outstanding read data remaining")
	}
	return fail(56, "Recv failure: %s", cText(err))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// cText is an errno's C text ("Connection reset by peer").
func cText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

func remoteIP(c net.Conn) string {
	h, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	return h
}

// writeError marks failures to write the output, exit code 23.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

type outputWriter struct{ w io.Writer }

func (o outputWriter) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	if err != nil {
		return n, &writeError{err}
	}
	return n, nil
}

func openOutput(o options, u *url.URL) (io.Writer, func(), *exitError) {
	name := o.output
	if o.remoteName && name == "" {
		name = path.Base(u.Path)
		if name == "/" || name == "." {
			return nil, nil, fail(23, "Remote file name has no length")
		}
	}
	if name == "" || name == "-" {
		return outputWriter{os.Stdout}, func() {}, nil
	}
	f, err := os.Create(name)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Warning: Failed to open the file %s: %s\n", name, cText(err))
		return nil, nil, fail(23, "Failure writing output to destination")
	}
	return outputWriter{f}, func() { f.Close() }, nil
}

// writeOut expands -w's variables after the transfer.
func writeOut(o options, t *transfer) {
	if o.writeOut == "" {
		return
	}
	r := strings.NewReplacer(
		"%{http_code}", fmt.Sprintf("%03d", t.status),
		"%{response_code}", fmt.Sprintf("%03d", t.status),
		"%{url_effective}", t.url,
		"%{content_type}", t.contentType,
		"%{size_download}", fmt.Sprint(t.downloaded),
		"%{num_redirects}", fmt.Sprint(t.redirects),
		"%{time_total}", fmt.Sprintf("%.6f", time.Since(t.start).Seconds()),
		"%%", "%", `\n`, "\n", `\t`, "\t", `\r`, "\r",
	)
	fmt.Fprint(os.Stdout, r.Replace(o.writeOut))
}
