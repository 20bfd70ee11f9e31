package agent

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/orca-pods/orca/internal/agent/pods"
	"github.com/orca-pods/orca/internal/network"
	"github.com/orca-pods/orca/internal/network/cni"
)

// podNetwork is the built-in network or CNI plugins.
type podNetwork interface {
	pods.Network
	// Ready is false, with the kubelet's NetworkReady=false message, while
	// pods cannot be networked.
	Ready() (bool, string)
	Close() error
}

// startNetwork starts the CNI plugins when configured, else the built-in
// network.
func startNetwork(ctx context.Context, cfg Config, client kubernetes.Interface) (podNetwork, error) {
	if cfg.CNIConfDir != "" {
		p, err := cni.New(cni.Config{
			ConfDir: cfg.CNIConfDir, BinDirs: cfg.CNIBinDirs,
			// Attachments die with a reboot; so does their cache.
			CacheDir: filepath.Join(cfg.NetworkStateDir, "cni"),
			Logger:   cfg.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("CNI: %w", err)
		}
		return p, nil
	}
	return startBuiltinNetwork(ctx, cfg, client)
}

// startBuiltinNetwork waits for the node's pod CIDR (given by the control
// plane's node IPAM controller), sets up the node's bridge and masquerade,
// and forgets addresses of pods that no longer have a sandbox.
func startBuiltinNetwork(ctx context.Context, cfg Config, client kubernetes.Interface) (*network.Network, error) {
	var podCIDR *net.IPNet
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		node, err := client.CoreV1().Nodes().Get(ctx, cfg.NodeName, metav1.GetOptions{})
		if err != nil || node.Spec.PodCIDR == "" {
			return false, nil
		}
		_, podCIDR, err = net.ParseCIDR(node.Spec.PodCIDR)
		return err == nil, err
	})
	if err != nil {
		return nil, fmt.Errorf("node %s never got a pod CIDR: %w", cfg.NodeName, err)
	}
	n, err := network.New(network.Config{
		PodCIDR: podCIDR, ClusterCIDR: cfg.ClusterCIDR, BridgeName: cfg.BridgeName,
		StateDir: cfg.NetworkStateDir, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	sandboxes, err := cfg.Runtime.ListSandboxes(ctx)
	if err == nil {
		var live []string
		for _, sb := range sandboxes {
			live = append(live, sb.PodUID)
		}
		if err := n.GC(ctx, live); err != nil {
			cfg.Logger.Warn("forget addresses of gone pods", "err", err)
		}
	}
	return n, nil
}

// routeToOtherNodes keeps a route to every other node's pod CIDR via that
// node's InternalIP, so pods reach each other across nodes on one L2 network.
func routeToOtherNodes(ctx context.Context, cfg Config, n *network.Network, nodes cache.SharedIndexInformer) {
	sync := func(obj interface{}, deleted bool) {
		node, ok := obj.(*corev1.Node)
		if !ok || node.Name == cfg.NodeName || node.Spec.PodCIDR == "" {
			return
		}
		_, cidr, err := net.ParseCIDR(node.Spec.PodCIDR)
		if err != nil {
			return
		}
		if deleted {
			_ = n.DelRoute(cidr)
			return
		}
		for _, a := range node.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				if err := n.AddRoute(cidr, net.ParseIP(a.Address)); err != nil {
					cfg.Logger.Debug("route to node", "node", node.Name, "err", err)
				}
			}
		}
	}
	_, _ = nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { sync(obj, false) },
		UpdateFunc: func(_, obj interface{}) { sync(obj, false) },
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			sync(obj, true)
		},
	})
}
