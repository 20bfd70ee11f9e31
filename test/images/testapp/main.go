// Command testapp is orca's agnhost-like HTTP server for probe, Service
// and lifecycle tests. Endpoints:
//
//	/              the hostname (which Pod answered)
//	/healthz       200 "ok" until /fail is requested, then 500
//	/fail          make /healthz fail from now on; /heal undoes it
//	/ready         200 "ready" or 503 "not ready"
//	/toggle-ready  flip readiness; answers the new state
//	/env           the command line and environment
//	/echo?msg=M    M
//	/bytes?n=N     N zero bytes (for throughput)
//	/exit?code=N   answer, then exit with status N
//
// Flags: --port N (8080), --delay-start S (sleep S seconds before
// listening), --not-ready (start unready), --shutdown-delay S (keep serving
// S seconds after SIGTERM). It logs one line per request to stdout.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

type app struct {
	healthy atomic.Bool
	ready   atomic.Bool
	exit    chan int
}

func main() {
	port := flag.Int("port", 8080, "port to listen on")
	delay := flag.Float64("delay-start", 0, "seconds to wait before listening")
	notReady := flag.Bool("not-ready", false, "start with /ready failing")
	shutdownDelay := flag.Float64("shutdown-delay", 0, "seconds to keep serving after SIGTERM")
	flag.Parse()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	if *delay > 0 {
		fmt.Printf("testapp: delaying start for %gs\n", *delay)
		select {
		case <-time.After(seconds(*delay)):
		case sig := <-sigs:
			fmt.Printf("testapp: received %v before starting, exiting\n", sig)
			os.Exit(0)
		}
	}
	a := &app{exit: make(chan int, 1)}
	a.healthy.Store(true)
	a.ready.Store(!*notReady)

	ln, err := net.Listen("tcp", ":"+strconv.Itoa(*port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "testapp: %v\n", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: a.routes()}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("testapp: listening on %s\n", ln.Addr())

	select {
	case code := <-a.exit:
		_ = srv.Close()
		os.Exit(code)
	case sig := <-sigs:
		fmt.Printf("testapp: received %v, shutting down in %gs\n", sig, *shutdownDelay)
		time.Sleep(seconds(*shutdownDelay))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		fmt.Println("testapp: stopped")
	}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		h, _ := os.Hostname()
		fmt.Fprintln(w, h)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if !a.healthy.Load() {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		a.healthy.Store(false)
		fmt.Fprintln(w, "healthz will fail from now on")
	})
	mux.HandleFunc("/heal", func(w http.ResponseWriter, r *http.Request) {
		a.healthy.Store(true)
		fmt.Fprintln(w, "healthz is ok again")
	})
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
		a.writeReady(w)
	})
	mux.HandleFunc("/toggle-ready", func(w http.ResponseWriter, r *http.Request) {
		for {
			old := a.ready.Load()
			if a.ready.CompareAndSwap(old, !old) {
				break
			}
		}
		a.writeReady(w)
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "args: %q\n", os.Args)
		env := os.Environ()
		slices.Sort(env)
		for _, e := range env {
			fmt.Fprintln(w, e)
		}
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.URL.Query().Get("msg"))
	})
	// /bytes?n=N sends N zero bytes, cheaply: throughput benchmarks measure
	// the path to the pod, not the server.
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "n must be a byte count", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		buf := make([]byte, 256<<10)
		for n > 0 {
			k := min(n, int64(len(buf)))
			if _, err := w.Write(buf[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil {
			http.Error(w, "code must be an integer", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "exiting with %d\n", code)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		select {
		case a.exit <- code:
		default: // already exiting
		}
	})
	return logRequests(mux)
}

func (a *app) writeReady(w http.ResponseWriter) {
	if !a.ready.Load() {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		fmt.Printf("testapp: %s %s %s %d\n", r.RemoteAddr, r.Method, r.URL.RequestURI(), rec.status)
	})
}
