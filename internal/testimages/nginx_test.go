package testimages

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// startNginx runs the nginx stand-in on the host serving root at addr.
func startNginx(t *testing.T, addr, root string, extra ...string) *daemon {
	t.Helper()
	pid := filepath.Join(t.TempDir(), "nginx.pid")
	args := append([]string{"-g", "daemon off; pid " + pid + ";", "--listen", addr, "--root", root}, extra...)
	d := startDaemon(t, exec.Command(Program(t, "nginx"), args...))
	waitForPort(t, addr)
	return d
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestNginxServesIndexLogsAccessAndQuitsGracefully(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "index.html"), "Mon Jan  1 00:00:00 UTC 2025\n")
	a := addr(freePort(t))
	d := startNginx(t, a, root)

	out, errOut, code := run(t, exec.Command(Program(t, "curl"), "-s", "http://"+a+"/"))
	if code != 0 || out != "Mon Jan  1 00:00:00 UTC 2025\n" {
		t.Fatalf("curl /: exit %d, body %q, stderr %q", code, out, errOut)
	}
	accessLine := regexp.MustCompile(`^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET / HTTP/1\.1" 200 29 "-" "curl/8\.12\.1" "-"\n$`)
	if !accessLine.MatchString(d.stdout.String()) {
		t.Errorf("access log %q does not match %s", d.stdout, accessLine)
	}
	for _, notice := range []string{"[notice]", "nginx/1.27.5", "start worker processes"} {
		if !strings.Contains(d.stderr.String(), notice) {
			t.Errorf("startup log lacks %q:\n%s", notice, d.stderr)
		}
	}

	d.signal(t, syscall.SIGQUIT)
	if code := d.wait(t); code != 0 {
		t.Errorf("exit code after SIGQUIT = %d, want 0", code)
	}
	if !strings.Contains(d.stderr.String(), "signal 3 (SIGQUIT) received, shutting down") ||
		!strings.Contains(d.stderr.String(), "gracefully shutting down") {
		t.Errorf("no graceful shutdown notice:\n%s", d.stderr)
	}
}

func TestNginxExitsZeroOnSIGTERM(t *testing.T) {
	a := addr(freePort(t))
	d := startNginx(t, a, t.TempDir())
	d.signal(t, syscall.SIGTERM)
	if code := d.wait(t); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}

func TestNginxAnswersMissingFilesAndDirectoriesAsNginxDoes(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "sub", "index.html"), "sub\n")
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	a := addr(freePort(t))
	d := startNginx(t, a, root)
	curl := Program(t, "curl")

	tests := []struct {
		path, want string
	}{
		{"/missing", "404"},
		{"/sub", "301"},
		{"/sub/", "200"},
		{"/empty/", "403"},
	}
	for _, tt := range tests {
		out, _, _ := run(t, exec.Command(curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://"+a+tt.path))
		if out != tt.want {
			t.Errorf("GET %s: status %s, want %s", tt.path, out, tt.want)
		}
	}
	want := `open() "` + filepath.Join(root, "missing") + `" failed (2: No such file or directory)`
	if !strings.Contains(d.stderr.String(), want) {
		t.Errorf("error log lacks %q:\n%s", want, d.stderr)
	}
	body, _, _ := run(t, exec.Command(curl, "-s", "http://"+a+"/missing"))
	wantBody := "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.27.5</center>\r\n</body>\r\n</html>\r\n"
	if body != wantBody {
		t.Errorf("404 page %q, want %q", body, wantBody)
	}
}

func TestNginxFailsWithAddressInUseWhenThePortIsTaken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pid := filepath.Join(t.TempDir(), "nginx.pid")
	_, errOut, code := run(t, exec.Command(Program(t, "nginx"), "-g", "daemon off; pid "+pid+";", "--listen", ln.Addr().String()))
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	want := "nginx: [emerg] bind() to " + ln.Addr().String() + " failed (98: bind: address already in use)\n"
	if !strings.Contains(errOut, want) || !strings.Contains(errOut, "nginx: [emerg] still could not bind()\n") {
		t.Errorf("stderr lacks %q and \"still could not bind()\":\n%s", want, errOut)
	}
}

func TestNginxReadsConfDServersLocationsAndReturns(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	writeFile(t, filepath.Join(dir, "html", "index.html"), "from conf.d\n")
	writeFile(t, filepath.Join(dir, "nginx.conf"), `
pid `+filepath.Join(dir, "nginx.pid")+`;
events { worker_connections 1024; }
http {
    log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status';
    include `+filepath.Join(dir, "conf.d")+`/*.conf;
}
`)
	writeFile(t, filepath.Join(dir, "conf.d", "app.conf"), `
server {
    listen 127.0.0.1:`+strings.TrimPrefix(addr(port), "127.0.0.1:")+`;
    server_name app.local;
    location / { root `+filepath.Join(dir, "html")+`; index index.html; }
    location = /healthz { return 200 'ok'; }
    location /old { return 301 /; }
}
`)
	conf := filepath.Join(dir, "nginx.conf")
	_, errOut, code := run(t, exec.Command(Program(t, "nginx"), "-t", "-c", conf))
	if code != 0 || !strings.Contains(errOut, "syntax is ok") || !strings.Contains(errOut, "test is successful") {
		t.Fatalf("nginx -t: exit %d\n%s", code, errOut)
	}
	startDaemon(t, exec.Command(Program(t, "nginx"), "-c", conf, "-g", "daemon off;"))
	a := addr(port)
	waitForPort(t, a)
	curl := Program(t, "curl")
	for path, want := range map[string]string{"/": "from conf.d\n", "/healthz": "ok"} {
		if out, _, _ := run(t, exec.Command(curl, "-s", "http://"+a+path)); out != want {
			t.Errorf("GET %s = %q, want %q", path, out, want)
		}
	}
	out, _, _ := run(t, exec.Command(curl, "-sI", "http://"+a+"/old"))
	if !strings.HasPrefix(out, "HTTP/1.1 301 Moved Permanently\r\n") || !strings.Contains(out, "Location: http://"+a+"/\r\n") {
		t.Errorf("HEAD /old:\n%s", out)
	}
}

func TestNginxRejectsABadConfiguration(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "nginx.conf")
	writeFile(t, conf, "http { server { listen 80 }\n")
	_, errOut, code := run(t, exec.Command(Program(t, "nginx"), "-t", "-c", conf))
	if code != 1 || !strings.Contains(errOut, "nginx: [emerg] unexpected \"}\"") || !strings.Contains(errOut, "test failed") {
		t.Errorf("nginx -t on a bad file: exit %d\n%s", code, errOut)
	}
}
