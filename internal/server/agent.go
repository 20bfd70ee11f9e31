package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"k8s.io/client-go/rest"

	"github.com/orca-pods/orca/internal/agent"
	agentserver "github.com/orca-pods/orca/internal/agent/server"
	"github.com/orca-pods/orca/internal/images"
	"github.com/orca-pods/orca/internal/runtime/linux"
)

// AgentConfig is the local node agent's part of `orca server`.
type AgentConfig struct {
	Disable  bool
	NodeName string
	// Port is the agent's HTTPS endpoint for the API server (10250).
	Port int
	// RunDir holds runtime state that must not outlive a reboot (/run/orca).
	RunDir string
	// PodLogDir is where container logs go (/var/log/pods).
	PodLogDir string
	// RegistryConfig is a k3s-style registries.yaml (mirrors, auth, TLS).
	RegistryConfig string
	MaxPods        int
	// Eviction configures node-pressure eviction (--eviction-*).
	Eviction agent.EvictionConfig
	// PodPidsLimit caps each pod's processes (--pod-max-pids; -1 = none).
	PodPidsLimit int64
	// BridgeName is the pods' bridge on this machine.
	BridgeName string
	// CNIConfDir, when set, has pods networked by the CNI plugins its
	// first configuration names (found in CNIBinDirs).
	CNIConfDir string
	CNIBinDirs []string
}

func (a *AgentConfig) setDefaults() {
	if a.NodeName == "" {
		a.NodeName, _ = os.Hostname()
	}
	if a.Port == 0 {
		a.Port = 10250
	}
	if a.RunDir == "" {
		a.RunDir = "/run/orca"
	}
	if a.PodLogDir == "" {
		a.PodLogDir = "/var/log/pods"
	}
	if a.MaxPods == 0 {
		a.MaxPods = 110
	}
	if a.BridgeName == "" {
		a.BridgeName = "orca0"
	}
}

// runAgent runs this machine's node agent against the API server at url,
// authenticated with its own node certificate, as a remote agent would be.
func runAgent(ctx context.Context, cfg Config, certs clusterCerts) error {
	a := cfg.Agent
	log := cfg.Logger.With("component", "agent")
	restCfg := &rest.Config{
		Host: serverURL(cfg),
		TLSClientConfig: rest.TLSClientConfig{
			CAFile: certs.ca.CertFile, CertFile: certs.node.CertFile, KeyFile: certs.node.KeyFile,
		},
		// Pod status updates, node heartbeats and reads; events have their own.
		QPS: 100, Burst: 200,
	}
	var regs images.RegistryConfig
	if a.RegistryConfig != "" {
		var err error
		if regs, err = images.LoadRegistryConfig(a.RegistryConfig); err != nil {
			return err
		}
	}
	store, err := images.New(images.Config{Root: images.DefaultRoot(cfg.DataDir), Registries: regs, Logger: log})
	if err != nil {
		return err
	}
	if err := store.ImportDir(ctx, images.AutoImportDir(cfg.DataDir)); err != nil {
		log.Warn("import images", "dir", images.AutoImportDir(cfg.DataDir), "err", err)
	}
	rt, err := linux.New(linux.Config{
		StateDir: filepath.Join(a.RunDir, "runtime"),
		RootDir:  filepath.Join(cfg.DataDir, "containers"),
		Logger:   log,
	})
	if err != nil {
		return fmt.Errorf("container runtime: %w", err)
	}
	defer rt.Close()
	return agent.Run(ctx, agent.Config{
		RESTConfig:   restCfg,
		NodeName:     a.NodeName,
		DataDir:      cfg.DataDir,
		LogDir:       a.PodLogDir,
		MaxPods:      a.MaxPods,
		PodPidsLimit: max(a.PodPidsLimit, 0),
		Eviction:     a.Eviction,
		// The server's own node also runs the control plane.
		Labels:  map[string]string{"node-role.kubernetes.io/control-plane": "true"},
		Runtime: rt,
		Images:  store,
		Endpoint: agentserver.Config{
			Address:  net.JoinHostPort("0.0.0.0", strconv.Itoa(a.Port)),
			CertFile: certs.agentServing.CertFile, KeyFile: certs.agentServing.KeyFile,
			ClientCAFile: certs.ca.CertFile, AllowedClient: apiserverKubeletClientName,
		},
		Port:            a.Port,
		ClusterCIDR:     cfg.ClusterCIDR,
		BridgeName:      a.BridgeName,
		NetworkStateDir: filepath.Join(a.RunDir, "network"),
		CNIConfDir:      a.CNIConfDir,
		CNIBinDirs:      a.CNIBinDirs,
		Logger:          cfg.Logger,
	})
}
