package testimages

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCurlExitCodesAndMessagesMatchCurl(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), "hello\n")
	a := addr(freePort(t))
	startNginx(t, a, root)
	refused := addr(freePort(t))

	// A server that accepts and never answers, for --max-time.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderrHas  string
		stderrNone bool
	}{
		{"body to stdout", []string{"-s", "http://" + a + "/"}, 0, "hello\n", "", true},
		{"scheme defaults to http", []string{"-s", a}, 0, "hello\n", "", true},
		{"connection refused", []string{"-sS", "http://" + refused + "/"}, 7, "",
			"curl: (7) Failed to connect to 127.0.0.1 port " + strings.TrimPrefix(refused, "127.0.0.1:"), false},
		{"silent hides errors", []string{"-s", "http://" + refused + "/"}, 7, "", "", true},
		{"fail on HTTP error", []string{"-sSf", "http://" + a + "/missing"}, 22, "",
			"curl: (22) The requested URL returned error: 404\n", false},
		{"HTTP error without -f is success", []string{"-s", "-o", "/dev/null", "-w", "%{http_code}\n", "http://" + a + "/missing"}, 0, "404\n", "", true},
		{"max time", []string{"-sS", "-m", "0.3", "http://" + silent.Addr().String() + "/"}, 28, "",
			"curl: (28) Operation timed out after", false},
		{"unknown option", []string{"--bogus", "http://" + a}, 2, "",
			"curl: option --bogus: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information\n", false},
		{"unsupported protocol", []string{"-sS", "ftp://" + a}, 1, "", "curl: (1) Protocol \"ftp\" not supported\n", false},
	}
	curl := Program(t, "curl")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := run(t, exec.Command(curl, tt.args...))
			if code != tt.code || out != tt.stdout {
				t.Errorf("curl %v: exit %d stdout %q, want %d %q (stderr %q)", tt.args, code, out, tt.code, tt.stdout, errOut)
			}
			if tt.stderrNone && errOut != "" {
				t.Errorf("stderr %q, want none", errOut)
			}
			if !strings.Contains(errOut, tt.stderrHas) {
				t.Errorf("stderr %q lacks %q", errOut, tt.stderrHas)
			}
		})
	}
}

func TestCurlHeadPrintsHeadersAsSentAndOutputWritesAFile(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), "hello\n")
	a := addr(freePort(t))
	startNginx(t, a, root)
	curl := Program(t, "curl")

	out, _, code := run(t, exec.Command(curl, "-sI", "http://"+a+"/"))
	if code != 0 || !strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") || !strings.Contains(out, "\r\nServer: nginx/1.27.5\r\n") ||
		!strings.Contains(out, "\r\nETag: ") || !strings.HasSuffix(out, "\r\n\r\n") {
		t.Errorf("curl -I: exit %d\n%q", code, out)
	}

	dst := filepath.Join(t.TempDir(), "page.html")
	_, errOut, code := run(t, exec.Command(curl, "-o", dst, "http://"+a+"/"))
	if code != 0 {
		t.Fatalf("curl -o: exit %d: %s", code, errOut)
	}
	if got, _ := os.ReadFile(dst); string(got) != "hello\n" {
		t.Errorf("%s = %q", dst, got)
	}
	// Not silent and not writing to a terminal: curl's progress meter.
	if !strings.HasPrefix(errOut, "  % Total    % Received % Xferd  Average Speed") {
		t.Errorf("no progress meter on stderr: %q", errOut)
	}
}
