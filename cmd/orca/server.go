package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	sa "github.com/orca-pods/orca/internal/auth/serviceaccount"
	"github.com/orca-pods/orca/internal/server"
)

func newServerCommand() *cobra.Command {
	var (
		cfg  server.Config
		bind string
	)
	clusterCIDR := "10.42.0.0/16"
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: Kubernetes API on etcd, scheduler and controllers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.BindAddress = net.ParseIP(bind)
			if cfg.BindAddress == nil {
				return fmt.Errorf("--bind-address %q is not an IP address", bind)
			}
			_, cidr, err := net.ParseCIDR(clusterCIDR)
			if err != nil {
				return fmt.Errorf("--cluster-cidr %q: %w", clusterCIDR, err)
			}
			cfg.ClusterCIDR = cidr
			cfg.Logger = slog.Default()
			quietLibraries()
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			ready := make(chan struct{})
			cfg.Ready = ready
			go func() {
				select {
				case <-ready:
					fmt.Fprintf(cmd.OutOrStdout(), "orca is ready. To use it with kubectl:\nexport KUBECONFIG=%s\n", cfg.KubeconfigPath())
				case <-ctx.Done():
				}
			}()
			return server.Run(ctx, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", "/var/lib/orca", "directory for etcd data, certificates and the admin kubeconfig")
	f.StringVar(&bind, "bind-address", "127.0.0.1", "address the API server listens on")
	f.IntVar(&cfg.Port, "port", 6443, "port the API server listens on (HTTPS)")
	f.StringSliceVar(&cfg.EtcdServers, "etcd-servers", nil, "client URLs of an external etcd cluster; embedded etcd when empty")
	f.StringVar(&cfg.EtcdCAFile, "etcd-cafile", "", "CA bundle for external etcd TLS")
	f.StringVar(&cfg.EtcdCertFile, "etcd-certfile", "", "client certificate for external etcd TLS")
	f.StringVar(&cfg.EtcdKeyFile, "etcd-keyfile", "", "client key for external etcd TLS")
	f.IntVar(&cfg.EtcdClientPort, "embedded-etcd-client-port", 2379, "loopback client port of the embedded etcd")
	f.IntVar(&cfg.EtcdPeerPort, "embedded-etcd-peer-port", 2380, "loopback peer port of the embedded etcd")
	f.BoolVar(&cfg.Agent.Disable, "disable-agent", false, "do not run a node agent on this machine (control plane only)")
	f.StringVar(&cfg.Agent.NodeName, "node-name", "", "name of this machine's Node (default: the hostname)")
	f.IntVar(&cfg.Agent.Port, "agent-port", 10250, "port of the node agent's HTTPS endpoint (logs, exec) for the API server")
	f.StringVar(&cfg.Agent.RunDir, "run-dir", "/run/orca", "directory for runtime state that does not survive a reboot")
	f.StringVar(&cfg.Agent.PodLogDir, "pod-log-dir", "/var/log/pods", "directory for container logs (CRI format)")
	f.StringVar(&cfg.Agent.RegistryConfig, "registry-config", "", "registry mirrors, auth and TLS, in the shape of k3s's registries.yaml")
	f.IntVar(&cfg.Agent.MaxPods, "max-pods", 110, "number of pods this node accepts")
	f.Int64Var(&cfg.Agent.PodPidsLimit, "pod-max-pids", -1, "maximum number of processes in each pod (-1: no limit)")
	f.StringVar(&cfg.Agent.Eviction.Hard, "eviction-hard", "", `thresholds that evict pods, e.g. "memory.available<100Mi,nodefs.available<10%" (default: the kubelet's; "none": never)`)
	f.DurationVar(&cfg.Agent.Eviction.TransitionPeriod, "eviction-pressure-transition-period", 5*time.Minute, "how long a pressure condition stays after its threshold was last met")
	f.DurationVar(&cfg.Agent.Eviction.Interval, "eviction-monitoring-interval", 10*time.Second, "how often node pressure is checked and at most one pod evicted")
	f.StringVar(&clusterCIDR, "cluster-cidr", clusterCIDR, "pod address space; every node gets a part of it (--node-cidr-mask-size)")
	f.IntVar(&cfg.NodeCIDRMaskSize, "node-cidr-mask-size", 24, "prefix length of each node's pod CIDR (24: 253 pod IPs per node)")
	f.StringVar(&cfg.ServiceAccountIssuer, "service-account-issuer", sa.DefaultIssuer, "iss of the service account tokens the API server issues, and the audience the API accepts them for")
	f.StringVar(&cfg.Agent.BridgeName, "bridge-name", "orca0", "name of the pods' bridge on this machine")
	f.StringVar(&cfg.Agent.CNIConfDir, "cni-conf-dir", "", "use the CNI network configuration in this directory (e.g. /etc/cni/net.d) instead of the built-in bridge")
	f.StringSliceVar(&cfg.Agent.CNIBinDirs, "cni-bin-dir", []string{"/opt/cni/bin", "/usr/lib/cni"}, "directories searched for CNI plugin binaries")
	return cmd
}

// quietLibraries keeps the Kubernetes libraries' klog output to errors:
// orca logs what a user needs through slog.
func quietLibraries() {
	klog.SetSlogLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
}
