// Package server is orca's composition root: it turns a Config into running
// etcd, API server, controllers and scheduler, started in order.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/orca-pods/orca/internal/apiserver"
	sa "github.com/orca-pods/orca/internal/auth/serviceaccount"
	nscontroller "github.com/orca-pods/orca/internal/controllers/namespace"
	"github.com/orca-pods/orca/internal/controllers/nodeipam"
	"github.com/orca-pods/orca/internal/controllers/nodelifecycle"
	"github.com/orca-pods/orca/internal/controllers/persistentvolume"
	"github.com/orca-pods/orca/internal/controllers/rootcacert"
	sacontroller "github.com/orca-pods/orca/internal/controllers/serviceaccount"
	"github.com/orca-pods/orca/internal/controllers/volumeprotection"
	"github.com/orca-pods/orca/internal/pki"
	"github.com/orca-pods/orca/internal/scheduler"
	"github.com/orca-pods/orca/internal/storage"
)

// Config is everything `orca server` can be told.
type Config struct {
	DataDir     string
	BindAddress net.IP
	Port        int
	// EtcdServers selects an external etcd cluster instead of the embedded one.
	EtcdServers                           []string
	EtcdCAFile, EtcdCertFile, EtcdKeyFile string
	EtcdClientPort, EtcdPeerPort          int
	// ClusterCIDR is the pod address space; each node gets a /24 of it.
	ClusterCIDR *net.IPNet
	// NodeCIDRMaskSize is the prefix length of each node's share (24).
	NodeCIDRMaskSize int
	// ServiceAccountIssuer is the iss of service account tokens
	// (--service-account-issuer; default sa.DefaultIssuer).
	ServiceAccountIssuer string
	// Agent configures the node agent for this machine.
	Agent AgentConfig
	// Ready, if set, is closed once the API answers and bootstrap is done.
	Ready  chan<- struct{}
	Logger *slog.Logger
}

// KubeconfigPath is where the admin kubeconfig is written.
func (c Config) KubeconfigPath() string { return filepath.Join(c.DataDir, "kubeconfig.yaml") }

func (c *Config) setDefaults() error {
	if c.DataDir == "" {
		return errors.New("data dir is required")
	}
	if c.BindAddress == nil {
		c.BindAddress = net.IPv4(127, 0, 0, 1)
	}
	if c.Port == 0 {
		c.Port = 6443
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Agent.setDefaults()
	if c.ClusterCIDR == nil {
		_, c.ClusterCIDR, _ = net.ParseCIDR("10.42.0.0/16")
	}
	if c.ServiceAccountIssuer == "" {
		c.ServiceAccountIssuer = sa.DefaultIssuer
	}
	return nil
}

// Run starts everything and blocks until ctx ends, then shuts down in order.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.setDefaults(); err != nil {
		return err
	}
	log := cfg.Logger
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	certs, err := ensureCerts(cfg)
	if err != nil {
		return err
	}
	saKey, err := pki.EnsureServiceAccountKey(filepath.Join(cfg.DataDir, "pki"))
	if err != nil {
		return err
	}

	etcd, err := storage.Start(ctx, storage.Config{
		DataDir: cfg.DataDir, Servers: cfg.EtcdServers,
		CAFile: cfg.EtcdCAFile, CertFile: cfg.EtcdCertFile, KeyFile: cfg.EtcdKeyFile,
		ClientPort: cfg.EtcdClientPort, PeerPort: cfg.EtcdPeerPort, Logger: log,
	})
	if err != nil {
		return err
	}
	defer etcd.Close()

	api, err := apiserver.New(apiserver.Config{
		BindAddress: cfg.BindAddress, Port: cfg.Port,
		ServingCertFile: certs.serving.CertFile, ServingKeyFile: certs.serving.KeyFile,
		ClientCAFile:          certs.ca.CertFile,
		KubeletClientCertFile: certs.kubeletClient.CertFile, KubeletClientKeyFile: certs.kubeletClient.KeyFile,
		KubeletCAFile:     certs.ca.CertFile,
		ServiceAccountKey: saKey, ServiceAccountIssuer: cfg.ServiceAccountIssuer,
		EtcdServers: etcd.Endpoints, EtcdCAFile: etcd.CAFile, EtcdCertFile: etcd.CertFile, EtcdKeyFile: etcd.KeyFile,
		Logger: log,
	})
	if err != nil {
		return err
	}

	var components sync.WaitGroup
	defer components.Wait()
	err = api.Generic.AddPostStartHook("orca-components", func(hook genericapiserver.PostStartHookContext) error {
		return startComponents(hook, cfg, certs, &components)
	})
	if err != nil {
		return err
	}
	if err := pki.WriteKubeconfig(cfg.KubeconfigPath(), serverURL(cfg), certs.ca.CertFile, certs.admin); err != nil {
		return err
	}
	log.Info("starting orca server", "url", serverURL(cfg), "dataDir", cfg.DataDir, "etcd", etcd.Endpoints)
	return api.Generic.PrepareRun().RunWithContext(ctx)
}

// startComponents runs, beside the API server and through its loopback
// client, everything a control plane runs: bootstrap, controllers, scheduler.
func startComponents(hook genericapiserver.PostStartHookContext, cfg Config, certs clusterCerts, wg *sync.WaitGroup) error {
	ctx := hook.Context
	restCfg := rest.CopyConfig(hook.LoopbackClientConfig)
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	meta, err := metadata.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	if err := bootstrap(ctx, client); err != nil {
		return err
	}
	log := cfg.Logger
	factory := informers.NewSharedInformerFactory(client, 0)
	sched, err := scheduler.New(scheduler.Config{Client: client, Logger: log})
	if err != nil {
		return err
	}
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	run(nscontroller.New(client, meta, factory, log.With("component", "namespace-controller")).Run)
	run(sacontroller.New(client, factory, log.With("component", "serviceaccount-controller")).Run)
	caPEM, err := os.ReadFile(certs.ca.CertFile)
	if err != nil {
		return fmt.Errorf("read cluster ca: %w", err)
	}
	run(rootcacert.New(client, factory, caPEM, log.With("component", "root-ca-cert-publisher")).Run)
	ipam, err := nodeipam.New(nodeipam.Config{Client: client, Factory: factory, ClusterCIDR: cfg.ClusterCIDR, NodeMaskSize: cfg.NodeCIDRMaskSize,
		Logger: log.With("component", "node-ipam-controller")})
	if err != nil {
		return err
	}
	run(ipam.Run)
	run(nodelifecycle.New(nodelifecycle.Config{Client: client, Factory: factory, Logger: log.With("component", "node-lifecycle-controller")}).Run)
	run(persistentvolume.New(persistentvolume.Config{Client: client, Factory: factory, Logger: log.With("component", "persistentvolume-controller")}).Run)
	run(volumeprotection.New(client, factory, log.With("component", "volume-protection-controller")).Run)
	run(func(ctx context.Context) {
		if err := sched.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("scheduler stopped", "err", err)
		}
	})
	if !cfg.Agent.Disable {
		run(func(ctx context.Context) {
			if err := runAgent(ctx, cfg, certs); err != nil && ctx.Err() == nil {
				log.Error("node agent stopped", "err", err)
			}
		})
	}
	if cfg.Ready != nil {
		close(cfg.Ready)
	}
	return nil
}

func serverURL(cfg Config) string {
	host := cfg.BindAddress.String()
	if cfg.BindAddress.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(cfg.Port))
}
