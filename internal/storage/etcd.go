// Package storage provides the etcd cluster the API server stores objects in:
// an embedded single-member etcd by default, or an external cluster.
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap/zapcore"
)

// Config selects and tunes the etcd backend.
type Config struct {
	// DataDir holds the embedded member's files (<DataDir>/etcd).
	DataDir string
	// Servers, when set, are the client URLs of an external etcd cluster;
	// nothing is embedded then.
	Servers []string
	// CAFile, CertFile and KeyFile configure TLS to external servers.
	CAFile, CertFile, KeyFile string
	// ClientPort and PeerPort are the embedded member's loopback ports.
	ClientPort, PeerPort int
	Logger               *slog.Logger
}

// Backend is a running etcd the API server can talk to.
type Backend struct {
	Endpoints                 []string
	CAFile, CertFile, KeyFile string
	etcd                      *embed.Etcd
	closing                   *atomic.Bool
}

// ErrStartTimeout is returned when the embedded member never became ready.
var ErrStartTimeout = errors.New("embedded etcd did not become ready")

// Start returns the external cluster described by cfg, or starts an embedded
// member and waits until it serves clients.
func Start(ctx context.Context, cfg Config) (*Backend, error) {
	if len(cfg.Servers) > 0 {
		return &Backend{Endpoints: cfg.Servers, CAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}, nil
	}
	if cfg.DataDir == "" {
		return nil, errors.New("storage: data dir is required for embedded etcd")
	}
	if cfg.ClientPort == 0 {
		cfg.ClientPort = 2379
	}
	if cfg.PeerPort == 0 {
		cfg.PeerPort = 2380
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ec := embed.NewConfig()
	ec.Name = "orca"
	ec.Dir = filepath.Join(cfg.DataDir, "etcd")
	client := loopbackURL(cfg.ClientPort)
	peer := loopbackURL(cfg.PeerPort)
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	ec.InitialCluster = ec.Name + "=" + peer.String()
	// etcd's own logs are noisy at info; orca reports what matters itself.
	closing := &atomic.Bool{}
	ec.LogLevel = zapcore.ErrorLevel.String()
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(etcdLogger(closing))
	// The API server compacts on its own schedule (as kube-apiserver does),
	// and a single member needs no elections to wait for.
	ec.AutoCompactionMode = embed.CompactorModePeriodic
	ec.AutoCompactionRetention = "0"
	ec.QuotaBackendBytes = 2 << 30

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd in %s: %w", ec.Dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, ErrStartTimeout
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	cfg.Logger.Debug("embedded etcd ready", "endpoint", client.String(), "dir", ec.Dir)
	return &Backend{Endpoints: []string{client.String()}, etcd: e, closing: closing}, nil
}

// Close stops the embedded member, if any.
func (b *Backend) Close() {
	if b.etcd != nil {
		b.closing.Store(true)
		b.etcd.Close()
	}
}

func loopbackURL(port int) url.URL {
	return url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(port)}
}
