package network

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// SetUpPod gives the pod its address and interface and forwards its host
// ports. Errors read as containerd words a network plugin's failure, since
// users look those up.
func (n *Network) SetUpPod(ctx context.Context, p Pod) (net.IP, error) {
	ip, err := n.setUpPod(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("failed to setup network for sandbox %q: plugin type=\"orca-bridge\" failed (add): %w", p.UID, err)
	}
	return ip, nil
}

// setUpPod is Setup for the agent's pod workers, plus the pod's host
// ports: once the pod has its address, traffic to the node on each host
// port is DNATed to it. A host port another pod holds fails the call,
// with an error that is ErrHostPortAllocated, before the pod gets an
// address. Calling it again for the same pod is harmless; with other host
// ports it replaces the pod's.
func (n *Network) setUpPod(ctx context.Context, p Pod) (net.IP, error) {
	rules, err := normalizeHostPorts(p.HostPorts)
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	if len(rules) == 0 && !n.holdsHostPorts(p.UID) {
		return n.Setup(ctx, p.UID, p.NetNSPath) // the common case costs nothing more
	}
	if !validStateName(p.UID) {
		return nil, fmt.Errorf("invalid pod UID %q", p.UID)
	}
	// Held across Setup so that the check and the allocation are one step
	// for pods with host ports; other pods only take it for a lookup.
	n.hpMu.Lock()
	defer n.hpMu.Unlock()
	if err := hostPortConflict(n.hostPorts, p.UID, rules); err != nil {
		return nil, err
	}
	ip, err := n.Setup(ctx, p.UID, p.NetNSPath)
	if err != nil {
		return nil, err
	}
	var next *podHostPorts
	if len(rules) > 0 {
		next = &podHostPorts{UID: p.UID, Namespace: p.Namespace, Name: p.Name, IP: ip.To4(), Ports: rules}
	}
	if err := n.setHostPorts(p.UID, next); err != nil {
		return nil, fmt.Errorf("host ports of pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return ip, nil
}

// TearDownPod is Teardown for the agent's pod workers; Teardown removes
// the host ports too.
func (n *Network) TearDownPod(ctx context.Context, p Pod) error {
	return n.Teardown(ctx, p.UID, p.NetNSPath)
}

func (n *Network) holdsHostPorts(uid string) bool {
	n.hpMu.Lock()
	defer n.hpMu.Unlock()
	return n.hostPorts[uid] != nil
}

// releaseHostPorts removes the pod's host ports, if it has any.
func (n *Network) releaseHostPorts(uid string) error {
	n.hpMu.Lock()
	defer n.hpMu.Unlock()
	return n.setHostPorts(uid, nil)
}

// setHostPorts makes next (nil: none) the pod's host ports, in the state
// file, the kernel and memory. The caller holds hpMu.
//
// The state file is written before the kernel is changed, so that a crash
// in between leaves the next agent the new ports to install; a kernel
// change that fails is undone on disk. An element update that fails
// (someone edited or removed the table) falls back to rebuilding the
// whole table.
func (n *Network) setHostPorts(uid string, next *podHostPorts) error {
	old := n.hostPorts[uid]
	if old == nil && next == nil {
		return nil
	}
	changed := !next.equal(old)
	if next != nil && changed {
		if err := saveHostPorts(n.cfg.StateDir, next); err != nil {
			return err
		}
	}
	if err := n.nft.updateHostPorts(old, next); err != nil {
		want := maps.Clone(n.hostPorts)
		if next == nil {
			delete(want, uid)
		} else {
			want[uid] = next
		}
		if ierr := n.nft.install(want); ierr != nil {
			if next != nil && changed {
				n.restoreHostPortState(uid, old)
			}
			return errors.Join(err, ierr)
		}
		n.log.Warn("rebuilt the nftables table after a failed host port update", "table", n.nft.name, "err", err)
	}
	if next == nil {
		delete(n.hostPorts, uid)
		n.log.Debug("host ports removed", "pod", old.owner(), "podUID", uid)
		return removeHostPortState(n.cfg.StateDir, uid)
	}
	n.hostPorts[uid] = next
	if changed {
		n.log.Debug("host ports set", "pod", next.owner(), "podUID", uid, "ip", next.IP, "ports", next.Ports)
		n.forgetUDPFlows(old, next)
	}
	return nil
}

func (n *Network) restoreHostPortState(uid string, old *podHostPorts) {
	var err error
	if old == nil {
		err = removeHostPortState(n.cfg.StateDir, uid)
	} else {
		err = saveHostPorts(n.cfg.StateDir, old)
	}
	if err != nil {
		n.log.Warn("could not restore host port state", "podUID", uid, "err", err)
	}
}

// forgetUDPFlows deletes the conntrack entries of UDP flows to the host
// ports next gained, as the CNI portmap plugin does: a client that kept
// sending to such a port while no pod (or another pod) held it keeps its
// entry, and the translation decided for its first packet, for as long as
// it keeps sending.
func (n *Network) forgetUDPFlows(old, next *podHostPorts) {
	var ports []netlink.CustomConntrackFilter
	for _, r := range next.Ports {
		if r.Protocol != "UDP" || (old != nil && slices.Contains(old.Ports, r)) {
			continue
		}
		f := &netlink.ConntrackFilter{}
		if err := errors.Join(f.AddProtocol(unix.IPPROTO_UDP), f.AddPort(netlink.ConntrackOrigDstPort, r.HostPort)); err != nil {
			n.log.Warn("conntrack filter", "err", err)
			return
		}
		ports = append(ports, f)
	}
	if len(ports) == 0 {
		return
	}
	var h *netlink.Handle
	var err error
	if n.host.IsOpen() {
		h, err = netlink.NewHandleAt(n.host, unix.NETLINK_NETFILTER)
	} else {
		h, err = netlink.NewHandle(unix.NETLINK_NETFILTER)
	}
	if err == nil {
		defer h.Close()
		_, err = h.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, ports...)
	}
	if err != nil {
		n.log.Warn("could not forget UDP flows to new host ports", "pod", next.owner(), "err", err)
	}
}

// loadHostPorts reads what a previous run left in StateDir, keeping the
// host ports of pods that still hold the address they lead to.
func (n *Network) loadHostPorts() error {
	pods, bad, err := loadHostPorts(n.cfg.StateDir)
	if err != nil {
		return err
	}
	for _, e := range bad {
		n.log.Warn("ignoring host port state", "err", e)
	}
	n.hostPorts = map[string]*podHostPorts{}
	for _, uid := range slices.Sorted(maps.Keys(pods)) {
		p := pods[uid]
		if ip := n.ipam.lookup(uid); !p.IP.Equal(ip) {
			n.log.Info("dropping the host ports of a pod that lost its address", "pod", p.owner(), "podUID", uid)
			if err := removeHostPortState(n.cfg.StateDir, uid); err != nil {
				return err
			}
			continue
		}
		// Never written so, but two claims of one key would fail the
		// whole table: the node must come up regardless.
		if err := hostPortConflict(n.hostPorts, uid, p.Ports); err != nil {
			n.log.Warn("ignoring host port state", "podUID", uid, "err", err)
			continue
		}
		n.hostPorts[uid] = p
	}
	return nil
}
