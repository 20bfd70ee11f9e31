// Package server is the node agent's HTTPS endpoint (the kubelet's port
// 10250): the API server reaches it for container logs, exec, attach and
// port-forward. Only the API server's client certificate is accepted.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/internal/agent/logs"
	"github.com/orca-pods/orca/internal/agent/pods"
)

// Config is the endpoint's identity and whom it trusts.
type Config struct {
	Address           string // host:port, e.g. 0.0.0.0:10250
	CertFile, KeyFile string
	ClientCAFile      string
	// AllowedClient is the certificate common name of the API server.
	AllowedClient string
	Pods          *pods.Manager
	Stats         StatsProvider // for /stats/summary; nil (untyped) answers 503
	Logger        *slog.Logger
}

// Run serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	caPEM, err := os.ReadFile(cfg.ClientCAFile)
	if err != nil {
		return fmt.Errorf("read client ca: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return fmt.Errorf("load serving cert: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", func(w http.ResponseWriter, r *http.Request) {
		serveLogs(w, r, cfg.Pods)
	})
	(&streams{pods: cfg.Pods, log: cfg.Logger}).register(mux)
	registerStats(mux, cfg.Stats, cfg.Logger)
	srv := &http.Server{
		Handler: onlyClient(cfg.AllowedClient, mux),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientCAs:    pool,
			ClientAuth:   tls.RequireAndVerifyClientCert,
			MinVersion:   tls.VersionTLS12,
		},
		ReadHeaderTimeout: 10 * time.Second,
	}
	ln, err := net.Listen("tcp", cfg.Address)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Address, err)
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	cfg.Logger.Debug("agent endpoint listening", "address", ln.Addr().String())
	if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// onlyClient refuses every caller but the API server.
func onlyClient(cn string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != cn {
			http.Error(w, "Forbidden: only the API server may call the node agent", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func serveLogs(w http.ResponseWriter, r *http.Request, m *pods.Manager) {
	q := r.URL.Query()
	opts := &corev1.PodLogOptions{
		Follow:     q.Get("follow") == "true",
		Previous:   q.Get("previous") == "true",
		Timestamps: q.Get("timestamps") == "true",
	}
	if v := q.Get("sinceSeconds"); v != "" {
		n, _ := strconv.ParseInt(v, 10, 64)
		opts.SinceSeconds = &n
	}
	if v := q.Get("sinceTime"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			mt := metav1.NewTime(t)
			opts.SinceTime = &mt
		}
	}
	if v := q.Get("tailLines"); v != "" {
		n, _ := strconv.ParseInt(v, 10, 64)
		opts.TailLines = &n
	}
	if v := q.Get("limitBytes"); v != "" {
		n, _ := strconv.ParseInt(v, 10, 64)
		opts.LimitBytes = &n
	}
	if v := q.Get("stream"); v != "" {
		opts.Stream = &v
	}
	path, running, err := m.LogTarget(r.Context(), r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container"), opts.Previous)
	if err != nil {
		var bad *pods.ErrBadLogRequest
		code := http.StatusNotFound
		if errors.As(err, &bad) {
			code = http.StatusBadRequest
		}
		http.Error(w, err.Error(), code)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Transfer-Encoding", "chunked")
	out := flushWriter{w}
	_ = logs.ReadLogs(r.Context(), path, logs.NewOptions(opts, time.Now()), running, out, out)
}

// flushWriter flushes after every write so `kubectl logs -f` sees lines at once.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}
