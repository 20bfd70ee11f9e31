package testimages

import (
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestTestappServesProbesThatTestsCanBreak(t *testing.T) {
	port := freePort(t)
	start := time.Now()
	d := startDaemon(t, exec.Command(Program(t, "testapp"), "--port", strconv.Itoa(port), "--delay-start", "0.3"))
	a := "http://" + addr(port)
	waitForPort(t, addr(port))
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Errorf("listening after %v, want at least the 0.3s start delay", waited)
	}

	steps := []struct {
		path   string
		status int
		body   string
	}{
		{"/healthz", 200, "ok\n"},
		{"/ready", 200, "ready\n"},
		{"/fail", 200, "healthz will fail from now on\n"},
		{"/healthz", 500, "unhealthy\n"},
		{"/heal", 200, "healthz is ok again\n"},
		{"/healthz", 200, "ok\n"},
		{"/toggle-ready", 503, "not ready\n"},
		{"/ready", 503, "not ready\n"},
		{"/toggle-ready", 200, "ready\n"},
		{"/echo?msg=hi", 200, "hi"},
	}
	for _, s := range steps {
		if status, body := get(t, a+s.path); status != s.status || body != s.body {
			t.Errorf("GET %s = %d %q, want %d %q", s.path, status, body, s.status, s.body)
		}
	}
	_, env := get(t, a+"/env")
	if !strings.Contains(env, `"--delay-start" "0.3"`) || !strings.Contains(env, "PATH=") {
		t.Errorf("/env lacks the args or PATH:\n%s", env)
	}
	if !strings.Contains(d.stdout.String(), "GET /healthz 500") {
		t.Errorf("request log lacks the failed probe:\n%s", d.stdout)
	}

	d.signal(t, syscall.SIGTERM)
	if code := d.wait(t); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}

func TestTestappExitsWithTheRequestedCode(t *testing.T) {
	port := freePort(t)
	d := startDaemon(t, exec.Command(Program(t, "testapp"), "--port", strconv.Itoa(port)))
	waitForPort(t, addr(port))
	if status, body := get(t, "http://"+addr(port)+"/exit?code=3"); status != 200 || body != "exiting with 3\n" {
		t.Errorf("GET /exit?code=3 = %d %q", status, body)
	}
	if code := d.wait(t); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
}
