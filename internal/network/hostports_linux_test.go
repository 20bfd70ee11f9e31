package network

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// setUpPod runs SetUpPod for a pod named name in namespace "default"
// with the given host ports, in a namespace of its own.
func (nd *node) setUpPod(t testing.TB, uid, name string, ports ...HostPort) (*pod, error) {
	t.Helper()
	p := &pod{uid: uid, ns: newNetns(t)}
	ip, err := nd.net.SetUpPod(t.Context(), Pod{UID: uid, Namespace: "default", Name: name, NetNSPath: p.ns, HostPorts: ports})
	p.ip = ip
	return p, err
}

func (nd *node) mustSetUpPod(t testing.TB, uid, name string, ports ...HostPort) *pod {
	t.Helper()
	p, err := nd.setUpPod(t, uid, name, ports...)
	if err != nil {
		t.Fatalf("SetUpPod %s: %v", uid, err)
	}
	return p
}

func (nd *node) tearDownPod(t testing.TB, p *pod) {
	t.Helper()
	if err := nd.net.TearDownPod(t.Context(), Pod{UID: p.uid, NetNSPath: p.ns}); err != nil {
		t.Fatalf("TearDownPod %s: %v", p.uid, err)
	}
}

func hostPortAddr(ip net.IP, port int) string {
	return net.JoinHostPort(ip.String(), strconv.Itoa(port))
}

// mustNotReach checks that a connection to addr from the namespace
// fails. Everything here is local, so a handshake that has not completed
// within half a second never will.
func mustNotReach(t testing.TB, nsPath, addr string) {
	t.Helper()
	if got, err := seenFromWithin(t, nsPath, addr, 500*time.Millisecond); err == nil {
		t.Fatalf("connection to %s succeeded (the server saw %s)", addr, got)
	}
}

// mustHaveNoHostPorts checks that neither the table nor the state
// mentions any host port, or the address ip.
func mustHaveNoHostPorts(t testing.TB, nd *node, ip net.IP) {
	t.Helper()
	for name, elems := range setElements(t, nftIn(t, nd.ns), testBridge) {
		if len(elems) != 0 {
			t.Errorf("set %s still has %d elements", name, len(elems))
		}
	}
	if out, ok := nftList(t, nd.ns, "ruleset"); ok && strings.Contains(out, ip.String()) {
		t.Errorf("nft ruleset still mentions %s:\n%s", ip, out)
	}
	files, err := os.ReadDir(filepath.Join(nd.stateDir, hostPortDir))
	if err != nil || len(files) != 0 {
		t.Errorf("host port state: %v, %v", files, err)
	}
}

func TestHostPortReachesThePodFromEverywhere(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	outside := &node{ns: newNetns(t)} // a machine on the node's network
	nodeIP, outsideIP := linkNodes(t, nd, outside)
	p := nd.mustSetUpPod(t, "pod-a", "web", HostPort{HostPort: 30080, ContainerPort: 8080, Protocol: "TCP"})
	serveRemoteAddrOn(t, p.ns, p.ip, 8080)
	gw := nd.net.Gateway()

	// From outside, the client's address is kept.
	mustSeeFrom(t, outside.ns, hostPortAddr(nodeIP, 30080), outsideIP.String())
	// From the node itself, to any of its addresses.
	mustSeeFrom(t, nd.ns, hostPortAddr(nodeIP, 30080), nodeIP.String())
	mustSeeFrom(t, nd.ns, hostPortAddr(gw, 30080), gw.String())
	// Localhost: translated to the bridge's address on the way out.
	mustSeeFrom(t, nd.ns, hostPortAddr(net.IPv4(127, 0, 0, 1), 30080), gw.String())
	// The pod itself (hairpin) and its neighbours, through the node:
	// masqueraded, or the reply would bypass the translation.
	mustSeeFrom(t, p.ns, hostPortAddr(nodeIP, 30080), gw.String())
	other := nd.newPod(t, "pod-b")
	mustSeeFrom(t, other.ns, hostPortAddr(gw, 30080), gw.String())
	// Other ports are not forwarded; the pod's own address is untouched.
	mustNotReach(t, outside.ns, hostPortAddr(nodeIP, 30081))
	mustSeeFrom(t, other.ns, hostPortAddr(p.ip, 8080), other.ip.String())

	nd.tearDownPod(t, p)
	for _, c := range []struct {
		ns   string
		addr string
	}{
		{outside.ns, hostPortAddr(nodeIP, 30080)},
		{nd.ns, hostPortAddr(gw, 30080)},
		{nd.ns, hostPortAddr(net.IPv4(127, 0, 0, 1), 30080)},
		{other.ns, hostPortAddr(gw, 30080)},
	} {
		mustNotReach(t, c.ns, c.addr)
	}
	mustHaveNoHostPorts(t, nd, p.ip)
	if err := nd.net.TearDownPod(t.Context(), Pod{UID: p.uid, NetNSPath: p.ns}); err != nil {
		t.Fatalf("second TearDownPod: %v", err)
	}
}

func TestHostIPLimitsTheHostPortToOneAddress(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	outside := &node{ns: newNetns(t)}
	nodeIP, outsideIP := linkNodes(t, nd, outside)
	p := nd.mustSetUpPod(t, "pod-a", "web", HostPort{HostPort: 30080, ContainerPort: 8080, HostIP: nodeIP.String()})
	serveRemoteAddrOn(t, p.ns, p.ip, 8080)
	mustSeeFrom(t, outside.ns, hostPortAddr(nodeIP, 30080), outsideIP.String())
	mustNotReach(t, nd.ns, hostPortAddr(nd.net.Gateway(), 30080))
	// Another pod may have the port on another address.
	q := nd.mustSetUpPod(t, "pod-b", "web-2", HostPort{HostPort: 30080, ContainerPort: 9090, HostIP: nd.net.Gateway().String()})
	serveRemoteAddrOn(t, q.ns, q.ip, 9090)
	mustSeeFrom(t, nd.ns, hostPortAddr(nd.net.Gateway(), 30080), nd.net.Gateway().String())
	mustSeeFrom(t, outside.ns, hostPortAddr(nodeIP, 30080), outsideIP.String())
	// One pod with a port on every address and the same port on one: the
	// one address goes its own way.
	r := nd.mustSetUpPod(t, "pod-c", "web-3", HostPort{HostPort: 30090, ContainerPort: 8080},
		HostPort{HostPort: 30090, ContainerPort: 9090, HostIP: nodeIP.String()})
	serveRemoteAddrOn(t, r.ns, r.ip, 9090) // nothing on 8080
	mustSeeFrom(t, outside.ns, hostPortAddr(nodeIP, 30090), outsideIP.String())
	mustNotReach(t, nd.ns, hostPortAddr(nd.net.Gateway(), 30090))
}

func TestHostPortConflicts(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	web := HostPort{HostPort: 30080, ContainerPort: 8080, Protocol: "TCP"}
	a := nd.mustSetUpPod(t, "pod-a", "web-1", web)

	b, err := nd.setUpPod(t, "pod-b", "web-2", HostPort{HostPort: 30080, ContainerPort: 80})
	if want := "hostPort 30080/TCP is already allocated to pod default/web-1"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("second pod on hostPort 30080/TCP: %v, want %q", err, want)
	}
	if !errors.Is(err, ErrHostPortAllocated) {
		t.Fatalf("%v is not ErrHostPortAllocated", err)
	}
	// Refused before it got anything.
	if ip := nd.net.PodIP(b.uid); ip != nil {
		t.Fatalf("refused pod holds %s", ip)
	}
	if _, err := handleIn(t, nd.ns).LinkByName(HostVethName(b.uid)); !isLinkNotFound(err) {
		t.Fatalf("refused pod has a veth: %v", err)
	}
	// A port on all addresses overlaps the same port on one.
	_, err = nd.setUpPod(t, "pod-c", "web-3", HostPort{HostPort: 30080, ContainerPort: 80, HostIP: "10.244.1.1"})
	if want := "hostPort 10.244.1.1:30080/TCP is already allocated to pod default/web-1"; err == nil || !strings.HasSuffix(err.Error(), "failed (add): "+want) {
		t.Fatalf("hostIP overlapping a wildcard: %v, want %q", err, want)
	}
	// Another protocol on the same port is another host port.
	nd.mustSetUpPod(t, "pod-u", "dns", HostPort{HostPort: 30080, ContainerPort: 53, Protocol: "UDP"})

	// Setting the first pod up again changes nothing.
	again, err := nd.net.SetUpPod(t.Context(), Pod{UID: a.uid, Namespace: "default", Name: "web-1", NetNSPath: a.ns, HostPorts: []HostPort{web}})
	if err != nil || !again.Equal(a.ip) {
		t.Fatalf("SetUpPod again: %v, %v; want %s", again, err, a.ip)
	}
	elems := setElements(t, nftIn(t, nd.ns), testBridge)
	if n := len(elems[mapHostPortAny]); n != 2 {
		t.Fatalf("%d host ports in the table, want 2", n)
	}
	// Once the first pod is gone its port is free.
	nd.tearDownPod(t, a)
	nd.mustSetUpPod(t, "pod-d", "web-4", HostPort{HostPort: 30080, ContainerPort: 80})
}

func TestSetUpPodReplacesAPodsHostPorts(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	p := nd.mustSetUpPod(t, "pod-a", "web", HostPort{HostPort: 30080, ContainerPort: 8080})
	serveRemoteAddrOn(t, p.ns, p.ip, 8080)
	gw := nd.net.Gateway()
	// Same pod, the port moved: the old one is released.
	if _, err := nd.net.SetUpPod(t.Context(), Pod{UID: p.uid, Namespace: "default", Name: "web", NetNSPath: p.ns,
		HostPorts: []HostPort{{HostPort: 30081, ContainerPort: 8080}}}); err != nil {
		t.Fatal(err)
	}
	mustNotReach(t, nd.ns, hostPortAddr(gw, 30080))
	mustSeeFrom(t, nd.ns, hostPortAddr(gw, 30081), gw.String())
	nd.mustSetUpPod(t, "pod-b", "web-2", HostPort{HostPort: 30080, ContainerPort: 80})
	// And none at all.
	if _, err := nd.net.SetUpPod(t.Context(), Pod{UID: p.uid, Namespace: "default", Name: "web", NetNSPath: p.ns}); err != nil {
		t.Fatal(err)
	}
	mustNotReach(t, nd.ns, hostPortAddr(gw, 30081))
}

func TestHostPortsSurviveANewNetworkOnTheSameStateDir(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	p := nd.mustSetUpPod(t, "pod-a", "web-1", HostPort{HostPort: 30080, ContainerPort: 8080})
	serveRemoteAddrOn(t, p.ns, p.ip, 8080)
	if err := nd.net.Close(); err != nil {
		t.Fatal(err)
	}
	nd.net = nd.open(t) // as a restarted agent: the table is rebuilt
	gw := nd.net.Gateway()
	mustSeeFrom(t, nd.ns, hostPortAddr(gw, 30080), gw.String())
	_, err := nd.setUpPod(t, "pod-b", "web-2", HostPort{HostPort: 30080, ContainerPort: 80})
	if !errors.Is(err, ErrHostPortAllocated) || !strings.Contains(err.Error(), "default/web-1") {
		t.Fatalf("conflicting pod after restart: %v", err)
	}
	nd.tearDownPod(t, p)
	mustNotReach(t, nd.ns, hostPortAddr(gw, 30080))
	mustHaveNoHostPorts(t, nd, p.ip)
}

func TestGCDropsTheHostPortsOfGonePods(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	live := nd.mustSetUpPod(t, "live", "a", HostPort{HostPort: 30080, ContainerPort: 8080})
	gone := nd.mustSetUpPod(t, "gone", "b", HostPort{HostPort: 30081, ContainerPort: 8080})
	serveRemoteAddrOn(t, live.ns, live.ip, 8080)
	serveRemoteAddrOn(t, gone.ns, gone.ip, 8080)
	nd.net.Close()
	nd.net = nd.open(t)
	if err := nd.net.GC(t.Context(), []string{live.uid}); err != nil {
		t.Fatal(err)
	}
	gw := nd.net.Gateway()
	mustSeeFrom(t, nd.ns, hostPortAddr(gw, 30080), gw.String())
	mustNotReach(t, nd.ns, hostPortAddr(gw, 30081))
	nd.mustSetUpPod(t, "new", "c", HostPort{HostPort: 30081, ContainerPort: 80})
	if _, err := os.Stat(filepath.Join(nd.stateDir, hostPortDir, "gone.json")); !os.IsNotExist(err) {
		t.Fatalf("state of the gone pod: %v", err)
	}
}

// A client that keeps sending UDP to a host port keeps its conntrack
// entry, and the translation it got first: a new pod on the port must
// still receive its datagrams.
func TestUDPHostPortMovesToANewPod(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	port := HostPort{HostPort: 30053, ContainerPort: 5353, Protocol: "UDP"}
	a := nd.mustSetUpPod(t, "pod-a", "dns-1", port)
	udpEcho(t, a.ns, a.ip, 5353, "a")
	gw := nd.net.Gateway()
	var c *net.UDPConn
	in(t, nd.ns, func() error {
		var err error
		c, err = net.DialUDP("udp4", &net.UDPAddr{IP: gw, Port: 40053}, &net.UDPAddr{IP: gw, Port: 30053})
		return err
	})
	defer c.Close()
	if got := udpAsk(c); got != "a" {
		t.Fatalf("first pod answered %q", got)
	}
	nd.tearDownPod(t, a)
	if got := udpAsk(c); got != "" {
		t.Fatalf("torn down pod answered %q", got)
	}
	b := nd.mustSetUpPod(t, "pod-b", "dns-2", port)
	udpEcho(t, b.ns, b.ip, 5353, "b")
	if got := udpAsk(c); got != "b" {
		t.Fatalf("after the port moved, got %q, want the new pod's answer", got)
	}
}

// udpEcho answers every datagram to ip:port in the namespace with reply.
func udpEcho(t testing.TB, nsPath string, ip net.IP, port int, reply string) {
	t.Helper()
	var c *net.UDPConn
	in(t, nsPath, func() error {
		var err error
		c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: port})
		return err
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			_, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			c.WriteToUDP([]byte(reply), from)
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
}

// udpAsk sends a datagram and returns the answer, "" if none came.
func udpAsk(c *net.UDPConn) string {
	if _, err := c.Write([]byte("?")); err != nil {
		return ""
	}
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// route_localnet on the bridge (for host ports on 127.0.0.1) must not let
// a pod reach what the node serves on its loopback only.
func TestPodCannotReachTheNodesLoopback(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	p := nd.newPod(t, "pod-a")
	target := net.IPv4(127, 0, 0, 53).To4()
	addr := serveRemoteAddr(t, nd.ns, target)
	// A hostile pod routes a loopback address to the gateway.
	in(t, p.ns, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/conf/eth0/route_localnet", []byte("1"), 0o644)
	})
	h := handleIn(t, p.ns)
	lo, err := h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	local := &netlink.Route{Table: unix.RT_TABLE_LOCAL, Type: unix.RTN_LOCAL, Dst: &net.IPNet{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)},
		LinkIndex: lo.Attrs().Index, Scope: netlink.SCOPE_HOST, Src: net.IPv4(127, 0, 0, 1).To4()}
	if err := h.RouteDel(local); err != nil {
		t.Fatalf("delete the pod's loopback route: %v", err)
	}
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	route := &netlink.Route{Dst: &net.IPNet{IP: target, Mask: net.CIDRMask(32, 32)}, Gw: nd.net.Gateway(), LinkIndex: eth0.Attrs().Index}
	if err := h.RouteAdd(route); err != nil {
		t.Fatalf("route %s via the gateway: %v", target, err)
	}
	mustNotReach(t, p.ns, addr)
}

// A table someone removed (or edited) is rebuilt by the next host port
// change rather than failing it.
func TestHostPortChangeRebuildsARemovedTable(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	a := nd.mustSetUpPod(t, "pod-a", "web-1", HostPort{HostPort: 30080, ContainerPort: 8080})
	serveRemoteAddrOn(t, a.ns, a.ip, 8080)
	c := nftIn(t, nd.ns)
	c.DelTable(&nftables.Table{Name: testBridge, Family: nftables.TableFamilyIPv4})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := nd.net.Ready(); ok {
		t.Fatal("ready without its table")
	}
	b := nd.mustSetUpPod(t, "pod-b", "web-2", HostPort{HostPort: 30081, ContainerPort: 8080})
	serveRemoteAddrOn(t, b.ns, b.ip, 8080)
	if ok, msg := nd.net.Ready(); !ok {
		t.Fatalf("not ready after the rebuild: %s", msg)
	}
	gw := nd.net.Gateway()
	mustSeeFrom(t, nd.ns, hostPortAddr(gw, 30080), gw.String())
	mustSeeFrom(t, nd.ns, hostPortAddr(gw, 30081), gw.String())
	// Removing works on a rebuilt table too.
	c.DelTable(&nftables.Table{Name: testBridge, Family: nftables.TableFamilyIPv4})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	nd.tearDownPod(t, a)
	mustNotReach(t, nd.ns, hostPortAddr(gw, 30080))
	mustSeeFrom(t, nd.ns, hostPortAddr(gw, 30081), gw.String())
}
