package network

import (
	"context"
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
)

// GC releases what pods that no longer exist left behind: the host ports
// and addresses of every pod not in live, and every veth on the bridge
// that belongs to none of them. The agent calls it at start, once it
// knows which sandboxes survived: after a crash or reboot StateDir can
// hold allocations whose Teardown never ran (here /run is on disk).
func (n *Network) GC(ctx context.Context, live []string) error {
	keepPod := make(map[string]bool, len(live))
	keepVeth := make(map[string]bool, len(live))
	for _, uid := range live {
		keepPod[uid], keepVeth[HostVethName(uid)] = true, true
	}
	var errs []error
	n.hpMu.Lock()
	var goneHostPorts []string
	for uid, p := range n.hostPorts {
		if !keepPod[uid] {
			goneHostPorts = append(goneHostPorts, uid)
			n.log.Info("releasing the host ports of a pod that is gone", "pod", p.owner(), "podUID", uid)
		}
	}
	n.hpMu.Unlock()
	for _, uid := range goneHostPorts {
		errs = append(errs, n.releaseHostPorts(uid))
	}
	for _, uid := range n.ipam.pods() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !keepPod[uid] {
			n.log.Info("releasing the address of a pod that is gone", "podUID", uid, "ip", n.ipam.lookup(uid))
			errs = append(errs, n.ipam.release(uid))
		}
	}
	n.mu.Lock()
	bridge := n.bridge
	n.mu.Unlock()
	links, err := n.nl.LinkList()
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return errors.Join(append(errs, fmt.Errorf("list links: %w", err))...)
	}
	for _, link := range links {
		a := link.Attrs()
		if link.Type() != "veth" || a.MasterIndex != bridge || keepVeth[a.Name] {
			continue
		}
		n.log.Info("deleting the veth of a pod that is gone", "veth", a.Name)
		if err := n.nl.LinkDel(link); err != nil && !isLinkNotFound(err) {
			errs = append(errs, fmt.Errorf("delete veth %s: %w", a.Name, err))
		}
	}
	return errors.Join(errs...)
}
