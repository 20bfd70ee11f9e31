package network

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

const (
	// podIfName is the pod's interface, as every CNI plugin names it.
	podIfName     = "eth0"
	operUpTimeout = 2 * time.Second
)

// HostVethName is the bridge-side end of pod's veth pair: "veth" and 11
// hex digits of a hash of the pod UID, within the kernel's 15 bytes.
func HostVethName(podUID string) string {
	sum := sha256.Sum256([]byte(podUID))
	return "veth" + hex.EncodeToString(sum[:])[:11]
}

// Setup gives the pod whose network namespace is pinned at netnsPath its
// address and interface, and returns the address. It is idempotent: for
// a pod already set up it returns the same address, repairing what is
// missing. An exhausted pool is ErrPoolExhausted.
func (n *Network) Setup(ctx context.Context, podUID, netnsPath string) (net.IP, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ip, fresh, err := n.ipam.allocate(podUID)
	if err != nil {
		return nil, err
	}
	if err := n.attach(podUID, netnsPath, ip); err != nil {
		if fresh {
			// Nothing else knows this address yet; an older one may be in
			// use by the pod and stays allocated.
			if rerr := n.ipam.release(podUID); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return nil, fmt.Errorf("pod network for %s: %w", podUID, err)
	}
	n.log.Debug("pod network set up", "podUID", podUID, "ip", ip, "veth", HostVethName(podUID))
	return ip, nil
}

// attach connects the pod's namespace to the bridge with ip on eth0.
func (n *Network) attach(podUID, netnsPath string, ip net.IP) error {
	ns, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return fmt.Errorf("open network namespace: %w", err)
	}
	defer ns.Close()
	pod, err := routeHandleAt(ns)
	if err != nil {
		return err
	}
	defer pod.Close()
	if err := pod.SetSocketTimeout(netlinkTimeout); err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: n.cfg.PodCIDR.Mask}}
	hostName := HostVethName(podUID)

	eth0, err := pod.LinkByName(podIfName)
	if err == nil && hasAddr(pod, eth0, addr) {
		// Set up before: make sure both ends are up and attached.
		return n.repair(pod, eth0, hostName, addr)
	}
	if err == nil {
		// An eth0 not ours (or from an older allocation): replace it.
		if err := pod.LinkDel(eth0); err != nil {
			return fmt.Errorf("delete stale %s: %w", podIfName, err)
		}
	}
	if stale, err := n.nl.LinkByName(hostName); err == nil {
		if err := n.nl.LinkDel(stale); err != nil {
			return fmt.Errorf("delete stale %s: %w", hostName, err)
		}
	}
	if err := n.createVeth(hostName, ns); err != nil {
		return err
	}
	if eth0, err = pod.LinkByName(podIfName); err != nil {
		return fmt.Errorf("find %s: %w", podIfName, err)
	}
	if err := n.configurePod(pod, eth0, addr); err != nil {
		return err
	}
	n.waitOperUp(pod, podIfName)
	n.waitOperUp(n.nl, hostName)
	n.waitOperUp(n.nl, n.cfg.BridgeName)
	return nil
}

// waitOperUp waits, briefly, until the kernel has seen the carrier of a
// link that was just brought up. The kernel turns the carrier on at once
// but activates the device's queue later, from its link-watch work (for
// a bridge whose first port just appeared, up to a second later): until
// then every packet sent through it is dropped, and a pod's first
// connection would stall for a TCP retransmission. The operational state
// turns up in the same step, so it tells when the link is usable.
func (n *Network) waitOperUp(h *netlink.Handle, name string) {
	deadline := time.Now().Add(operUpTimeout)
	for {
		link, err := h.LinkByName(name)
		if err != nil {
			return // reported by whoever uses the link next
		}
		if link.Attrs().OperState == netlink.OperUp {
			return
		}
		if time.Now().After(deadline) {
			n.log.Warn("link not operationally up yet", "link", name, "state", link.Attrs().OperState)
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// createVeth makes the pair with the host end up and a bridge port, and
// the peer created directly inside the pod's namespace as eth0 (no rename
// or move afterwards).
func (n *Network) createVeth(hostName string, ns netns.NsHandle) error {
	for attempt := 0; ; attempt++ {
		n.mu.Lock()
		bridge := n.bridge
		n.mu.Unlock()
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MTU, attrs.MasterIndex, attrs.Flags = hostName, n.cfg.MTU, bridge, net.FlagUp
		veth := &netlink.Veth{LinkAttrs: attrs, PeerName: podIfName, PeerNamespace: netlink.NsFd(ns)}
		err := n.nl.LinkAdd(veth)
		if err == nil {
			// Hairpin lets a pod's packet come back out of the port it
			// entered by: a pod reaching itself through a Service address
			// is DNATed to its own IP.
			if err := n.nl.LinkSetHairpin(veth, true); err != nil {
				return fmt.Errorf("hairpin on %s: %w", hostName, err)
			}
			return nil
		}
		// The netlink package attaches the master in a second request, so
		// a failure can leave the pair created: remove it.
		if left, lerr := n.nl.LinkByName(hostName); lerr == nil {
			_ = n.nl.LinkDel(left)
		}
		// The bridge was deleted, and its index went with it: recreate it
		// once and try again.
		if attempt == 0 && (errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EINVAL)) {
			if berr := n.ensureBridge(); berr == nil {
				continue
			}
		}
		return fmt.Errorf("create veth %s: %w", hostName, err)
	}
}

// configurePod gives eth0 its address, brings it up and routes everything
// via the gateway. The connected route of the address makes the gateway
// reachable, so the default route needs no on-link flag.
func (n *Network) configurePod(pod *netlink.Handle, eth0 netlink.Link, addr *netlink.Addr) error {
	if err := pod.AddrAdd(eth0, addr); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("address %s: %w", addr.IPNet, err)
	}
	if err := pod.LinkSetUp(eth0); err != nil {
		return fmt.Errorf("bring up %s: %w", podIfName, err)
	}
	route := &netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: n.gateway.IP, Scope: netlink.SCOPE_UNIVERSE}
	if err := pod.RouteReplace(route); err != nil {
		return fmt.Errorf("default route via %s: %w", n.gateway.IP, err)
	}
	return nil
}

// repair is Setup of a pod that has its address already.
func (n *Network) repair(pod *netlink.Handle, eth0 netlink.Link, hostName string, addr *netlink.Addr) error {
	host, err := n.nl.LinkByName(hostName)
	if err != nil {
		return fmt.Errorf("host end %s: %w", hostName, err)
	}
	n.mu.Lock()
	bridge := n.bridge
	n.mu.Unlock()
	if host.Attrs().MasterIndex != bridge {
		if err := n.nl.LinkSetMasterByIndex(host, bridge); err != nil {
			return fmt.Errorf("attach %s to bridge: %w", hostName, err)
		}
	}
	if err := n.nl.LinkSetUp(host); err != nil {
		return fmt.Errorf("bring up %s: %w", hostName, err)
	}
	return n.configurePod(pod, eth0, addr)
}

func hasAddr(h *netlink.Handle, link netlink.Link, want *netlink.Addr) bool {
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if a.IPNet.String() == want.IPNet.String() {
			return true
		}
	}
	return false
}

// Teardown removes the pod's host ports, deletes its veth pair and
// releases its address. It is idempotent, and the namespace may already
// be gone (destroying a network namespace destroys the veth pair with
// it).
func (n *Network) Teardown(ctx context.Context, podUID, netnsPath string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// The host ports go while the veth pair does, as removing either waits
	// on the kernel (~10 and ~25 ms); the address is released after both,
	// so that no rule leads to an address that is free again.
	var hostPorts chan error
	if n.holdsHostPorts(podUID) {
		hostPorts = make(chan error, 1)
		go func() { hostPorts <- n.releaseHostPorts(podUID) }()
	}
	hostName := HostVethName(podUID)
	err := n.deleteVeth(hostName)
	if hostPorts != nil {
		if hpErr := <-hostPorts; hpErr != nil {
			err = errors.Join(err, fmt.Errorf("pod network for %s: %w", podUID, hpErr))
		}
	}
	if err != nil {
		return err
	}
	if err := n.ipam.release(podUID); err != nil {
		return err
	}
	n.log.Debug("pod network torn down", "podUID", podUID, "veth", hostName)
	return nil
}

// deleteVeth deletes the pair whose host end is name, if it exists.
func (n *Network) deleteVeth(name string) error {
	link, err := n.nl.LinkByName(name)
	switch {
	case err == nil:
		// Deleting either end deletes the pair.
		if err := n.nl.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("delete veth %s: %w", name, err)
		}
	case !isLinkNotFound(err):
		return fmt.Errorf("find veth %s: %w", name, err)
	}
	return nil
}

// PodIP returns the address allocated to the pod, or nil.
func (n *Network) PodIP(podUID string) net.IP { return n.ipam.lookup(podUID) }

func isLinkNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}
