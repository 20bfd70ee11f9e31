package network

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// routeProtocol marks the routes AddRoute installs (`ip route show proto
// 0x4f`), so they can be told from the administrator's.
const routeProtocol = netlink.RouteProtocol(0x4f)

// AddRoute routes another node's pod CIDR via that node's IP, flannel's
// host-gw backend: nodeIP must be directly reachable (on a connected
// network of this node). It replaces any route to the same CIDR, so it is
// idempotent and follows a node whose IP changed.
func (n *Network) AddRoute(podCIDR *net.IPNet, nodeIP net.IP) error {
	dst, err := n.remoteCIDR(podCIDR)
	if err != nil {
		return err
	}
	gw := nodeIP.To4()
	if gw == nil {
		return fmt.Errorf("route %s: node IP %v is not IPv4", dst, nodeIP)
	}
	route := &netlink.Route{Dst: dst, Gw: gw, Protocol: routeProtocol}
	if err := n.nl.RouteReplace(route); err != nil {
		return fmt.Errorf("route %s via %s: %w", dst, gw, err)
	}
	return nil
}

// DelRoute removes the route AddRoute installed for podCIDR; a missing
// one is not an error.
func (n *Network) DelRoute(podCIDR *net.IPNet) error {
	dst, err := n.remoteCIDR(podCIDR)
	if err != nil {
		return err
	}
	err = n.nl.RouteDel(&netlink.Route{Dst: dst, Protocol: routeProtocol})
	if err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("delete route %s: %w", dst, err)
	}
	return nil
}

func (n *Network) remoteCIDR(podCIDR *net.IPNet) (*net.IPNet, error) {
	if _, _, err := ipv4Bounds(podCIDR); err != nil {
		return nil, fmt.Errorf("route: %w", err)
	}
	dst := &net.IPNet{IP: podCIDR.IP.Mask(podCIDR.Mask).To4(), Mask: podCIDR.Mask}
	if dst.String() == n.cfg.PodCIDR.String() {
		return nil, fmt.Errorf("route: %s is this node's own pod CIDR", dst)
	}
	return dst, nil
}
