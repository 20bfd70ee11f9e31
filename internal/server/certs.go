package server

import (
	"net"
	"os"
	"path/filepath"

	"github.com/orca-pods/orca/internal/pki"
)

type clusterCerts struct {
	ca                                                *pki.CA
	serving, admin, kubeletClient, node, agentServing pki.Pair
}

// apiserverKubeletClientName is the identity the API server presents to
// node agents; they accept no other caller.
const apiserverKubeletClientName = "orca-apiserver"

// ensureCerts creates the cluster CA, the API serving certificate and the
// admin client certificate under <data-dir>/pki on first start.
func ensureCerts(cfg Config) (clusterCerts, error) {
	dir := filepath.Join(cfg.DataDir, "pki")
	ca, err := pki.EnsureCA(dir, "orca-ca")
	if err != nil {
		return clusterCerts{}, err
	}
	hosts := []string{"127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	if !cfg.BindAddress.IsUnspecified() && !cfg.BindAddress.IsLoopback() {
		hosts = append(hosts, cfg.BindAddress.String())
	}
	serving, err := ca.EnsureServing(dir, "apiserver", hosts)
	if err != nil {
		return clusterCerts{}, err
	}
	// system:masters is the group Kubernetes grants everything to.
	admin, err := ca.EnsureClient(dir, "admin", "orca-admin", []string{"system:masters"})
	if err != nil {
		return clusterCerts{}, err
	}
	kubeletClient, err := ca.EnsureClient(dir, "apiserver-kubelet-client", apiserverKubeletClientName, nil)
	if err != nil {
		return clusterCerts{}, err
	}
	certs := clusterCerts{ca: ca, serving: serving, admin: admin, kubeletClient: kubeletClient}
	if cfg.Agent.Disable {
		return certs, nil
	}
	// The local agent authenticates as its node, as kubelets do.
	if certs.node, err = ca.EnsureClient(dir, "node", "system:node:"+cfg.Agent.NodeName, []string{"system:nodes"}); err != nil {
		return clusterCerts{}, err
	}
	agentHosts := append([]string{"127.0.0.1", "localhost", cfg.Agent.NodeName}, localIPs()...)
	if certs.agentServing, err = ca.EnsureServing(dir, "agent", agentHosts); err != nil {
		return clusterCerts{}, err
	}
	return certs, nil
}

// localIPs are this machine's interface addresses, for the agent's
// serving certificate (the API server dials the node's InternalIP).
func localIPs() []string {
	var out []string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() {
			out = append(out, n.IP.String())
		}
	}
	return out
}
