package server

import (
	"os"
	"path/filepath"

	"github.com/orca-pods/orca/internal/pki"
)

type clusterCerts struct {
	ca             *pki.CA
	serving, admin pki.Pair
}

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
	return clusterCerts{ca: ca, serving: serving, admin: admin}, nil
}
