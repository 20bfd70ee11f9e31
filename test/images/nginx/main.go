// Command nginx is orca's stand-in for nginx in the nginx:alpine test
// image: it serves static files from the configured root (by default
// /usr/share/nginx/html on port 80), writes the image's access log format to
// stdout and nginx-style [notice]/[error]/[emerg] lines to stderr, stops
// gracefully on SIGQUIT and fast on SIGTERM (exit 0 both), and fails to start
// with exit status 1 when it cannot bind, after retrying as nginx does.
//
// It reads nginx.conf and its includes for the subset in config.go, so a
// ConfigMap mounted over /etc/nginx/conf.d behaves as with the real image.
// It always runs in the foreground, whatever "daemon" says, as one process
// (no separate worker processes).
//
// Two options exist only for tests that run it outside a container:
// --listen ADDR replaces every listen address, --root DIR every root.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const version = "1.27.5"

// options is the command line, nginx's own flags plus the two test flags.
type options struct {
	conf       string
	explicit   bool // -c given
	globals    string
	signal     string
	test, dump bool
	listen     string
	root       string
}

func main() {
	o, ok := parseArgs(os.Args[1:])
	if !ok {
		os.Exit(1)
	}
	elog := &errorLog{pid: os.Getpid()}

	cfg, err := loadConfig(o.conf, o.explicit, o.globals)
	if err != nil {
		elog.emerg("%s", strings.TrimPrefix(err.Error(), errSyntax.Error()+": "))
		if o.test || o.dump {
			fmt.Fprintf(os.Stderr, "nginx: configuration file %s test failed\n", o.conf)
		}
		os.Exit(1)
	}
	applyTestFlags(cfg, o)
	switch {
	case o.signal != "":
		os.Exit(sendSignal(cfg.pidFile, o.signal))
	case o.test || o.dump:
		fmt.Fprintf(os.Stderr, "nginx: the configuration file %s syntax is ok\n", o.conf)
		fmt.Fprintf(os.Stderr, "nginx: configuration file %s test is successful\n", o.conf)
		if o.dump {
			for _, f := range cfg.files {
				data, _ := os.ReadFile(f)
				fmt.Printf("# configuration file %s:\n%s\n", f, data)
			}
		}
		os.Exit(0)
	}
	os.Exit(run(o, cfg, elog))
}

func parseArgs(args []string) (options, bool) {
	o := options{conf: defaultConf}
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() (string, bool) {
			if len(a) > 2 && !strings.HasPrefix(a, "--") {
				return a[2:], true
			}
			if i+1 < len(args) {
				i++
				return args[i], true
			}
			fmt.Fprintf(os.Stderr, "nginx: option \"%s\" requires %s\n", a[:2], map[string]string{
				"-c": "file name", "-g": "directives", "-s": "signal", "-p": "directory", "-e": "file name",
			}[a[:min(2, len(a))]])
			return "", false
		}
		ok := true
		switch {
		case a == "--listen" || a == "--root":
			if i+1 >= len(args) {
				fmt.Fprintf(os.Stderr, "nginx: option \"%s\" requires an address\n", a)
				return o, false
			}
			i++
			if a == "--listen" {
				o.listen = args[i]
			} else {
				o.root = args[i]
			}
		case a == "-v" || a == "-V":
			fmt.Fprintf(os.Stderr, "nginx version: nginx/%s\n", version)
			if a == "-V" {
				fmt.Fprintf(os.Stderr, "built by %s (orca test image)\nconfigure arguments: --prefix=/etc/nginx --sbin-path=/usr/sbin/nginx\n", runtime.Version())
			}
			os.Exit(0)
		case a == "-h" || a == "-?":
			fmt.Fprintf(os.Stderr, "nginx version: nginx/%s\nUsage: nginx [-?hvVtTq] [-s signal] [-p prefix] [-e filename] [-c filename] [-g directives]\n", version)
			os.Exit(0)
		case a == "-t":
			o.test = true
		case a == "-T":
			o.dump = true
		case a == "-q":
		case strings.HasPrefix(a, "-c"):
			o.conf, ok = value()
			o.explicit = true
		case strings.HasPrefix(a, "-g"):
			o.globals, ok = value()
		case strings.HasPrefix(a, "-s"):
			o.signal, ok = value()
		case strings.HasPrefix(a, "-p"), strings.HasPrefix(a, "-e"):
			_, ok = value()
		default:
			fmt.Fprintf(os.Stderr, "nginx: invalid option: \"%s\"\n", strings.TrimPrefix(a, "-"))
			return o, false
		}
		if !ok {
			return o, false
		}
	}
	return o, true
}

func applyTestFlags(cfg *config, o options) {
	for _, s := range cfg.servers {
		if o.listen != "" {
			s.listens = []listen{{network: "tcp", addr: o.listen}}
		}
		if o.root != "" {
			s.root = o.root
			for _, l := range s.locations {
				if l.root != "" {
					l.root = o.root
				}
			}
		}
	}
}

// run binds every listen address, serves until a signal, and returns the
// exit status.
func run(o options, cfg *config, elog *errorLog) int {
	listeners, err := bindAll(cfg, elog)
	if err != nil {
		return 1
	}
	s := &site{log: elog, override: o.listen}
	s.cfg.Store(cfg)

	elog.printf("notice", "using the \"epoll\" event method")
	elog.printf("notice", "nginx/%s", version)
	elog.printf("notice", "built by %s", runtime.Version())
	if release, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		elog.printf("notice", "OS: Linux %s", strings.TrimSpace(string(release)))
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		elog.printf("notice", "getrlimit(RLIMIT_NOFILE): %d:%d", rl.Cur, rl.Max)
	}
	elog.printf("notice", "start worker processes")
	elog.printf("notice", "start worker process %d", os.Getpid())

	if err := os.WriteFile(cfg.pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		elog.printf("alert", "could not write pid file %q (%s)", cfg.pidFile, errnoText(err))
	}
	defer os.Remove(cfg.pidFile)

	var servers []*http.Server
	serveErr := make(chan error, len(listeners))
	for _, l := range listeners {
		hs := &http.Server{Handler: s.handler(l.key), ConnContext: connContext}
		servers = append(servers, hs)
		go func() { serveErr <- hs.Serve(l.ln) }()
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGWINCH)
	for {
		select {
		case err := <-serveErr:
			elog.printf("emerg", "%v", err)
			return 1
		case sig := <-sigs:
			num := int(sig.(syscall.Signal))
			switch sig {
			case syscall.SIGQUIT:
				elog.printf("notice", "signal %d (SIGQUIT) received, shutting down", num)
				elog.printf("notice", "gracefully shutting down")
				for _, hs := range servers {
					_ = hs.Shutdown(context.Background())
				}
				elog.printf("notice", "exiting")
				elog.printf("notice", "exit")
				return 0
			case syscall.SIGTERM, syscall.SIGINT:
				elog.printf("notice", "signal %d (%s) received, exiting", num, sigName(sig))
				for _, hs := range servers {
					_ = hs.Close()
				}
				elog.printf("notice", "exiting")
				elog.printf("notice", "exit")
				return 0
			case syscall.SIGHUP:
				elog.printf("notice", "signal %d (SIGHUP) received, reconfiguring", num)
				next, err := loadConfig(o.conf, o.explicit, o.globals)
				if err != nil {
					elog.printf("emerg", "%s", strings.TrimPrefix(err.Error(), errSyntax.Error()+": "))
					continue
				}
				applyTestFlags(next, o)
				s.cfg.Store(next)
				elog.printf("notice", "reconfiguring")
			case syscall.SIGUSR1:
				elog.printf("notice", "signal %d (SIGUSR1) received, reopening logs", num)
			}
		}
	}
}

func sigName(sig os.Signal) string {
	if sig == syscall.SIGINT {
		return "SIGINT"
	}
	return "SIGTERM"
}

type boundListener struct {
	key string // the listen address as configured
	ln  net.Listener
}

// bindAll opens each distinct listen address. Like nginx it tries five
// times, half a second apart, while an address is in use, then gives up
// with "still could not bind()".
func bindAll(cfg *config, elog *errorLog) ([]boundListener, error) {
	_, ipv6Err := os.Stat("/proc/net/if_inet6")
	seen := map[string]bool{}
	var out []boundListener
	for _, srv := range cfg.servers {
		for _, l := range srv.listens {
			if seen[l.addr] {
				continue
			}
			seen[l.addr] = true
			// The image's entrypoint only enables "listen [::]:80" where
			// the kernel has IPv6; do the same here.
			if l.network == "tcp6" && ipv6Err != nil {
				continue
			}
			ln, err := bindWithRetry(l, elog)
			if err != nil {
				for _, b := range out {
					b.ln.Close()
				}
				return nil, err
			}
			out = append(out, boundListener{key: l.addr, ln: ln})
		}
	}
	return out, nil
}

func bindWithRetry(l listen, elog *errorLog) (net.Listener, error) {
	display := l.addr
	if strings.HasPrefix(display, ":") {
		display = "0.0.0.0" + display
	}
	for try := 0; try < 5; try++ {
		ln, err := net.Listen(l.network, l.addr)
		if err == nil {
			return ln, nil
		}
		elog.emerg("bind() to %s failed (%s)", display, errnoText(err))
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, err
		}
		time.Sleep(500 * time.Millisecond)
	}
	elog.emerg("still could not bind()")
	return nil, syscall.EADDRINUSE
}

// sendSignal is "nginx -s": it signals the master named in the pid file.
func sendSignal(pidFile, name string) int {
	sigs := map[string]syscall.Signal{"stop": syscall.SIGTERM, "quit": syscall.SIGQUIT, "reopen": syscall.SIGUSR1, "reload": syscall.SIGHUP}
	sig, ok := sigs[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "nginx: invalid option: \"-s %s\"\n", name)
		return 1
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "nginx: [error] open() %q failed (%s)\n", pidFile, errnoText(err))
		return 1
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "nginx: [error] invalid PID number %q in %q\n", strings.TrimSpace(string(data)), pidFile)
		return 1
	}
	if err := syscall.Kill(pid, sig); err != nil {
		fmt.Fprintf(os.Stderr, "nginx: [error] kill(%d, %d) failed (%s)\n", pid, int(sig), errnoText(err))
		return 1
	}
	return 0
}

// errorLog is nginx's error log, which the image sends to stderr.
type errorLog struct{ pid int }

func (l *errorLog) printf(level, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s [%s] %d#%d: %s\n", time.Now().Format("2006/01/02 15:04:05"), level, l.pid, l.pid, fmt.Sprintf(format, args...))
}

// emerg is logged twice, as nginx does at startup: to the error log and,
// prefixed "nginx:", to stderr.
func (l *errorLog) emerg(format string, args ...any) {
	l.printf("emerg", format, args...)
	fmt.Fprintf(os.Stderr, "nginx: [emerg] %s\n", fmt.Sprintf(format, args...))
}

// errnoText renders "98: bind: address already in use": the errno, as
// nginx prints it, then the kernel's text for the failed call.
func errnoText(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	var sys *os.SyscallError
	if errors.As(err, &sys) {
		return fmt.Sprintf("%d: %s", int(errno), sys.Error())
	}
	text := []rune(errno.Error())
	text[0] = []rune(strings.ToUpper(string(text[0])))[0]
	return fmt.Sprintf("%d: %s", int(errno), string(text))
}
