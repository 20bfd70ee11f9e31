// Package network is orca's built-in pod network, the model of k3s'
// flannel with the host-gw backend:
//
//   - every node has a bridge (orca0) holding the first address of the
//     node's pod CIDR, the pods' gateway;
//   - every pod gets a veth pair: eth0 in the pod's network namespace with
//     an address from the pod CIDR and a default route via the gateway,
//     the host end (veth<hash of the pod UID>) a port of the bridge;
//   - addresses come from a host-local style allocator whose state is a
//     directory (one file per address), so a restarted agent hands out
//     neither a pod's address to another pod nor a new one to the same pod;
//   - traffic from pods to anywhere outside the cluster CIDR is
//     masqueraded by one nftables table (named after the bridge)
//     programmed over netlink;
//   - a pod's hostPorts are DNATed, as the CNI portmap plugin does, see
//     below;
//   - between nodes, each node routes every other node's pod CIDR via that
//     node's IP (AddRoute), so pod-to-pod traffic crosses nodes unNATed
//     when the nodes share a layer-2 network.
//
// The lifecycle is: New once per agent (idempotent: it adopts the bridge,
// table and addresses a previous run left), GC once the agent knows which
// sandboxes survived, Setup when a sandbox's network namespace exists,
// Teardown before the namespace is destroyed (it also copes with the
// namespace being gone), Close when the agent stops (the pods keep their
// network), Uninstall only to take the node's networking away entirely.
//
// Host ports (SetUpPod) behave as with the CNI portmap plugin:
// hostPort/protocol on every node address, or on hostIP alone, leads to
// podIP:containerPort, from outside (the client's address kept), from the
// node itself, 127.0.0.1 included, and from pods, the pod itself included
// (these two masqueraded, or the replies would bypass the translation).
// They are elements of two nftables maps that the nat prerouting and
// output chains consult for local destinations. Localhost needs
// route_localnet on the bridge; a filter rule keeps pods from using it to
// reach the node's loopback services (CVE-2020-8558). Each pod's ports are
// kept in memory and in StateDir/hostports/<uid>.json, from which New
// rebuilds the table: a port another pod holds on a common address fails
// SetUpPod with ErrHostPortAllocated before the pod gets an address, after
// an agent restart too. Teardown and GC remove them; a new UDP host port
// clears the conntrack entries to its port, as portmap does.
//
// Everything is done over netlink, never by running ip, nft or iptables:
// one pod's Setup is a few netlink round trips, ~3 ms (median, measured by
// BenchmarkPodSetupTeardown), where the same through the ip command costs
// 25-30 ms; pods without host ports pay nothing for them, host ports add
// under 1 ms. Teardown costs ~27 ms, nearly all of it the kernel's
// unregistering of the veth pair: callers run it off the critical path.
// Removing host ports (a deletion from nftables also waits ~10 ms for the
// kernel) runs alongside and adds ~5 ms.
//
// Not handled: a host firewall whose forward chain drops by default (as
// Docker sets iptables' FORWARD policy) drops forwarded pod traffic too;
// an accept rule in our own table cannot override another table's drop.
package network
