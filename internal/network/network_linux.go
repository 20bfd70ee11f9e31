package network

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

const (
	// DefaultBridgeName is the bridge the pods of a node hang off.
	DefaultBridgeName = "orca0"
	// DefaultMTU is the MTU of the bridge and the veths when none is given.
	DefaultMTU = 1500

	netlinkTimeout = 10 * time.Second
	ipForwardPath  = "/proc/sys/net/ipv4/ip_forward"
	// routeLocalnetPath is formatted with the bridge's name.
	routeLocalnetPath = "/proc/sys/net/ipv4/conf/%s/route_localnet"
)

// Config describes a node's pod network.
type Config struct {
	// PodCIDR is this node's range (node.spec.podCIDR), IPv4.
	PodCIDR *net.IPNet
	// ClusterCIDR holds every node's pod CIDR: traffic from pods to
	// addresses outside it is masqueraded. Defaults to PodCIDR.
	ClusterCIDR *net.IPNet
	// BridgeName defaults to DefaultBridgeName; at most 15 bytes.
	BridgeName string
	// StateDir holds the address and host port allocations; it must
	// survive agent restarts (but need not survive reboots).
	StateDir string
	// MTU of the bridge and the pods' interfaces; defaults to DefaultMTU.
	MTU int
	// NetnsPath is the network namespace holding the bridge, nftables
	// table and routes, the node's "host" namespace. Empty means the
	// caller's own. Tests point it at namespaces of their own so that
	// several simulated nodes share one machine.
	NetnsPath string
	Logger    *slog.Logger
}

// Network is one node's pod network. Its methods are safe for concurrent
// use.
type Network struct {
	cfg     Config
	log     *slog.Logger
	host    netns.NsHandle // closed (-1) when the caller's own namespace
	nl      *netlink.Handle
	ipam    *ipam
	gateway *net.IPNet
	nft     *nftTable

	mu     sync.Mutex
	bridge int // the bridge's interface index

	// hpMu serializes host port changes, in memory, on disk and in the
	// kernel, and the setups of pods that have host ports.
	hpMu      sync.Mutex
	hostPorts map[string]*podHostPorts // by pod UID
}

// New creates, or adopts, the node's bridge with the gateway address,
// enables IPv4 forwarding, opens the address allocator and installs the
// nftables table with the host ports a previous run handed out.
func New(cfg Config) (*Network, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	n := &Network{cfg: cfg, log: cfg.Logger, host: netns.None()}
	network, _, _ := ipv4Bounds(cfg.PodCIDR)
	n.gateway = &net.IPNet{IP: u32ToIP(network + 1), Mask: cfg.PodCIDR.Mask}
	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()
	if cfg.NetnsPath != "" {
		h, err := netns.GetFromPath(cfg.NetnsPath)
		if err != nil {
			return nil, fmt.Errorf("node network namespace: %w", err)
		}
		n.host = h
	}
	n.nft = &nftTable{netns: int(n.host), name: cfg.BridgeName, bridge: cfg.BridgeName, podCIDR: cfg.PodCIDR, clusterCIDR: cfg.ClusterCIDR}
	h, err := routeHandleAt(n.host)
	if err != nil {
		return nil, err
	}
	n.nl = h
	if err := n.nl.SetSocketTimeout(netlinkTimeout); err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := n.ensureBridge(); err != nil {
		return nil, err
	}
	err = n.inHost(func() error {
		if err := os.WriteFile(ipForwardPath, []byte("1"), 0o644); err != nil {
			return fmt.Errorf("enable ip_forward: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n.ipam, err = openIPAM(cfg.StateDir, cfg.PodCIDR); err != nil {
		return nil, err
	}
	if err := n.loadHostPorts(); err != nil {
		return nil, err
	}
	if err := n.nft.install(n.hostPorts); err != nil {
		return nil, err
	}
	ok = true
	n.log.Info("pod network ready", "bridge", cfg.BridgeName, "podCIDR", cfg.PodCIDR, "gateway", n.gateway.IP, "clusterCIDR", cfg.ClusterCIDR)
	return n, nil
}

func (c *Config) defaults() error {
	if _, _, err := ipv4Bounds(c.PodCIDR); err != nil {
		return fmt.Errorf("pod CIDR: %w", err)
	}
	c.PodCIDR = &net.IPNet{IP: c.PodCIDR.IP.Mask(c.PodCIDR.Mask).To4(), Mask: c.PodCIDR.Mask}
	if ones, _ := c.PodCIDR.Mask.Size(); ones > 30 {
		return fmt.Errorf("pod CIDR %s is too small: it needs a gateway and at least one pod address", c.PodCIDR)
	}
	if c.ClusterCIDR == nil {
		c.ClusterCIDR = c.PodCIDR
	}
	if _, _, err := ipv4Bounds(c.ClusterCIDR); err != nil {
		return fmt.Errorf("cluster CIDR: %w", err)
	}
	c.ClusterCIDR = &net.IPNet{IP: c.ClusterCIDR.IP.Mask(c.ClusterCIDR.Mask).To4(), Mask: c.ClusterCIDR.Mask}
	podOnes, _ := c.PodCIDR.Mask.Size()
	clusterOnes, _ := c.ClusterCIDR.Mask.Size()
	if !c.ClusterCIDR.Contains(c.PodCIDR.IP) || podOnes < clusterOnes {
		return fmt.Errorf("pod CIDR %s is not inside cluster CIDR %s", c.PodCIDR, c.ClusterCIDR)
	}
	if c.BridgeName == "" {
		c.BridgeName = DefaultBridgeName
	}
	if len(c.BridgeName) > 15 || strings.ContainsAny(c.BridgeName, "/ \t\n") {
		return fmt.Errorf("invalid bridge name %q", c.BridgeName)
	}
	if c.StateDir == "" {
		return errors.New("network state dir is required")
	}
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.MTU < 576 || c.MTU > 65535 {
		return fmt.Errorf("invalid MTU %d", c.MTU)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Gateway returns the pods' default gateway, the bridge's address.
func (n *Network) Gateway() net.IP { return n.gateway.IP }

// PodCIDR returns the node's pod CIDR.
func (n *Network) PodCIDR() *net.IPNet { return n.cfg.PodCIDR }

// Close releases the Network's handles and its hold on StateDir. The
// bridge, the nftables table and the pods' interfaces stay: a new
// Network on the same Config adopts them.
func (n *Network) Close() error {
	var err error
	if n.ipam != nil {
		err = n.ipam.close()
	}
	if n.nl != nil {
		n.nl.Close()
	}
	if n.host.IsOpen() {
		n.host.Close()
	}
	return err
}

// Uninstall removes the nftables table (masquerade and host ports) and
// the bridge (pods still running lose their uplink), then closes n.
// Allocations in StateDir are kept: a later New reinstalls their host
// ports.
func (n *Network) Uninstall() error {
	err := n.nft.remove()
	if link, lerr := n.nl.LinkByName(n.cfg.BridgeName); lerr == nil {
		if derr := n.nl.LinkDel(link); derr != nil {
			err = errors.Join(err, fmt.Errorf("delete bridge %s: %w", n.cfg.BridgeName, derr))
		}
	}
	return errors.Join(err, n.Close())
}

// Ready tells whether pods can get a network now; when not, the message
// (for the node's Ready condition) says why.
func (n *Network) Ready() (bool, string) {
	if err := n.check(); err != nil {
		return false, "network plugin not ready: " + err.Error()
	}
	return true, ""
}

func (n *Network) check() error {
	link, err := n.nl.LinkByName(n.cfg.BridgeName)
	if isLinkNotFound(err) {
		return fmt.Errorf("bridge %s not found", n.cfg.BridgeName)
	} else if err != nil {
		return fmt.Errorf("bridge %s: %w", n.cfg.BridgeName, err)
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		return fmt.Errorf("bridge %s is down", n.cfg.BridgeName)
	}
	if ok, err := n.hasGateway(link); err != nil || !ok {
		return fmt.Errorf("bridge %s lacks gateway address %s", n.cfg.BridgeName, n.gateway)
	}
	err = n.inHost(func() error {
		data, err := os.ReadFile(ipForwardPath)
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(data)) != "1" {
			return errors.New("net.ipv4.ip_forward is off")
		}
		return nil
	})
	if err != nil {
		return err
	}
	ok, err := n.nft.exists()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("nftables table ip %s is missing", n.cfg.BridgeName)
	}
	return nil
}

// ensureBridge creates the bridge or adopts an existing one, gives it
// exactly the gateway address among IPv4 addresses (a pod CIDR that
// changed leaves a stale one behind) and brings it up.
func (n *Network) ensureBridge() error {
	name := n.cfg.BridgeName
	link, err := n.nl.LinkByName(name)
	if isLinkNotFound(err) {
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MTU = name, n.cfg.MTU
		// A bridge without an address of its own takes the lowest MAC of
		// its ports and changes it as pods come and go, which would break
		// the gateway entries in the pods' ARP caches.
		attrs.HardwareAddr = randomMAC()
		if err := n.nl.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create bridge %s: %w", name, err)
		}
		link, err = n.nl.LinkByName(name)
	}
	if err != nil {
		return fmt.Errorf("bridge %s: %w", name, err)
	}
	if link.Type() != "bridge" {
		return fmt.Errorf("%s exists and is a %s, not a bridge", name, link.Type())
	}
	addrs, err := n.nl.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("bridge %s addresses: %w", name, err)
	}
	have := false
	for _, a := range addrs {
		if a.IPNet.String() == n.gateway.String() {
			have = true
			continue
		}
		n.log.Warn("removing stale address from bridge", "bridge", name, "addr", a.IPNet)
		if err := n.nl.AddrDel(link, &a); err != nil {
			return fmt.Errorf("bridge %s: remove %s: %w", name, a.IPNet, err)
		}
	}
	if !have {
		if err := n.nl.AddrAdd(link, &netlink.Addr{IPNet: n.gateway}); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("bridge %s: add %s: %w", name, n.gateway, err)
		}
	}
	if link.Attrs().MTU != n.cfg.MTU {
		if err := n.nl.LinkSetMTU(link, n.cfg.MTU); err != nil {
			return fmt.Errorf("bridge %s: set MTU: %w", name, err)
		}
	}
	if err := n.nl.LinkSetUp(link); err != nil {
		return fmt.Errorf("bridge %s: up: %w", name, err)
	}
	// Host ports on 127.0.0.1 send loopback-sourced packets out of the
	// bridge, and take their replies in; the input rule of the table
	// keeps pods from using this to reach the node's loopback. Without
	// it everything but localhost host ports still works.
	err = n.inHost(func() error {
		return os.WriteFile(fmt.Sprintf(routeLocalnetPath, name), []byte("1"), 0o644)
	})
	if err != nil {
		n.log.Warn("host ports will not answer on 127.0.0.1", "bridge", name, "err", err)
	}
	n.mu.Lock()
	n.bridge = link.Attrs().Index
	n.mu.Unlock()
	return nil
}

func (n *Network) hasGateway(link netlink.Link) (bool, error) {
	addrs, err := n.nl.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if a.IPNet.String() == n.gateway.String() {
			return true, nil
		}
	}
	return false, nil
}

// inHost runs fn in the node's network namespace: for what is bound to a
// thread's namespace rather than to a netlink handle (sysctls under
// /proc/sys/net).
func (n *Network) inHost(fn func() error) error {
	if !n.host.IsOpen() {
		return fn()
	}
	return inNetns(n.host, fn)
}

// randomMAC returns a unicast, locally administered address.
func randomMAC() net.HardwareAddr {
	mac := make(net.HardwareAddr, 6)
	_, _ = rand.Read(mac)
	mac[0] = mac[0]&^0x01 | 0x02
	return mac
}
