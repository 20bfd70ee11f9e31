package network

import (
	"net"
	"testing"
)

// twoNodes is two simulated nodes on one link, each routing the other's
// pod CIDR via the other's link address, with one pod each.
type twoNodes struct {
	a, b         *node
	ipA, ipB     net.IP // the nodes' link addresses
	podA, podB   *pod
	cidrA, cidrB string
}

func newTwoNodes(t *testing.T) *twoNodes {
	tn := &twoNodes{cidrA: "10.244.1.0/24", cidrB: "10.244.2.0/24"}
	tn.a, tn.b = newNode(t, tn.cidrA), newNode(t, tn.cidrB)
	tn.ipA, tn.ipB = linkNodes(t, tn.a, tn.b)
	ipA, ipB := tn.ipA, tn.ipB
	if err := tn.a.net.AddRoute(mustCIDR(t, tn.cidrB), ipB); err != nil {
		t.Fatal(err)
	}
	if err := tn.b.net.AddRoute(mustCIDR(t, tn.cidrA), ipA); err != nil {
		t.Fatal(err)
	}
	tn.podA, tn.podB = tn.a.newPod(t, "pod-on-a"), tn.b.newPod(t, "pod-on-b")
	return tn
}

func TestPodsOnTwoNodesReachEachOtherByPodIP(t *testing.T) {
	tn := newTwoNodes(t)
	// Pod to pod across nodes keeps the pod's address (no masquerade
	// inside the cluster CIDR), both ways.
	mustSeeFrom(t, tn.podA.ns, serveRemoteAddr(t, tn.podB.ns, tn.podB.ip), tn.podA.ip.String())
	mustSeeFrom(t, tn.podB.ns, serveRemoteAddr(t, tn.podA.ns, tn.podA.ip), tn.podB.ip.String())
}

func TestAddRouteIsIdempotentAndDelRouteCutsTheOtherNode(t *testing.T) {
	tn := newTwoNodes(t)
	if err := tn.a.net.AddRoute(mustCIDR(t, tn.cidrB), tn.b.cfg.PodCIDR.IP); err == nil {
		t.Fatal("AddRoute via an address that is not on a connected network succeeded")
	}
	addr := serveRemoteAddr(t, tn.podB.ns, tn.podB.ip)
	for range 2 {
		if err := tn.a.net.AddRoute(mustCIDR(t, tn.cidrB), tn.ipB); err != nil {
			t.Fatalf("AddRoute again: %v", err)
		}
	}
	mustSeeFrom(t, tn.podA.ns, addr, tn.podA.ip.String())
	for range 2 {
		if err := tn.a.net.DelRoute(mustCIDR(t, tn.cidrB)); err != nil {
			t.Fatalf("DelRoute: %v", err)
		}
	}
	if _, err := seenFrom(t, tn.podA.ns, addr); err == nil {
		t.Fatal("pod on node A still reaches node B's pod without a route")
	}
	if err := tn.a.net.AddRoute(mustCIDR(t, tn.cidrA), tn.ipB); err == nil {
		t.Fatal("AddRoute for the node's own pod CIDR succeeded")
	}
}

func TestTrafficLeavingTheClusterCIDRIsMasqueraded(t *testing.T) {
	tn := newTwoNodes(t)
	// Node B's link address is outside the cluster CIDR: the connection
	// arrives from node A's address, not the pod's.
	mustSeeFrom(t, tn.podA.ns, serveRemoteAddr(t, tn.b.ns, tn.ipB), tn.ipA.String())
}
