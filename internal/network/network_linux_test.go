package network

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

func TestTwoPodsGetDistinctIPsAndReachEachOtherByPodIP(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	a, b := nd.newPod(t, "pod-a"), nd.newPod(t, "pod-b")
	if a.ip.Equal(b.ip) {
		t.Fatalf("both pods got %s", a.ip)
	}
	for _, p := range []*pod{a, b} {
		if !nd.cfg.PodCIDR.Contains(p.ip) || p.ip.Equal(nd.net.Gateway()) {
			t.Fatalf("pod %s got %s: want an address of %s other than the gateway", p.uid, p.ip, nd.cfg.PodCIDR)
		}
	}
	// Same cluster: no translation on the way.
	mustSeeFrom(t, a.ns, serveRemoteAddr(t, b.ns, b.ip), a.ip.String())
	mustSeeFrom(t, b.ns, serveRemoteAddr(t, a.ns, a.ip), b.ip.String())
}

func TestPodReachesItsGateway(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	p := nd.newPod(t, "pod-a")
	if got, want := nd.net.Gateway().String(), "10.244.1.1"; got != want {
		t.Fatalf("gateway %s, want %s", got, want)
	}
	mustSeeFrom(t, p.ns, serveRemoteAddr(t, nd.ns, nd.net.Gateway()), p.ip.String())
}

func TestPodInterfaceIsEth0WithPrefixAndDefaultRoute(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	p := nd.newPod(t, "pod-a")
	h := handleIn(t, p.ns)
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if eth0.Attrs().MTU != DefaultMTU || eth0.Attrs().Flags&net.FlagUp == 0 {
		t.Fatalf("eth0: mtu %d flags %v", eth0.Attrs().MTU, eth0.Attrs().Flags)
	}
	addrs, _ := h.AddrList(eth0, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != p.ip.String()+"/24" {
		t.Fatalf("eth0 addresses %v, want %s/24", addrs, p.ip)
	}
	routes, _ := h.RouteList(eth0, netlink.FAMILY_V4)
	var gw net.IP
	for _, r := range routes {
		if r.Dst == nil || r.Dst.String() == "0.0.0.0/0" {
			gw = r.Gw
		}
	}
	if !gw.Equal(nd.net.Gateway()) {
		t.Fatalf("default route via %v, want %s (routes %v)", gw, nd.net.Gateway(), routes)
	}
	host, err := handleIn(t, nd.ns).LinkByName(HostVethName("pod-a"))
	if err != nil {
		t.Fatal(err)
	}
	if host.Attrs().MasterIndex == 0 || host.Attrs().Flags&net.FlagUp == 0 {
		t.Fatalf("host end: master %d flags %v", host.Attrs().MasterIndex, host.Attrs().Flags)
	}
}

func TestSetupTwiceForOnePodReturnsTheSameIP(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	p := nd.newPod(t, "pod-a")
	before, err := handleIn(t, p.ns).LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	again, err := nd.net.Setup(t.Context(), p.uid, p.ns)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Equal(p.ip) {
		t.Fatalf("second Setup gave %s, first %s", again, p.ip)
	}
	after, err := handleIn(t, p.ns).LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if before.Attrs().Index != after.Attrs().Index {
		t.Fatal("second Setup replaced a working eth0")
	}
	mustSeeFrom(t, p.ns, serveRemoteAddr(t, nd.ns, nd.net.Gateway()), p.ip.String())
}

func TestAllocatedIPIsNotReusedAndReleasedIPNotAtOnce(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	a, b := nd.newPod(t, "pod-a"), nd.newPod(t, "pod-b")
	if err := nd.net.Teardown(t.Context(), a.uid, a.ns); err != nil {
		t.Fatal(err)
	}
	c := nd.newPod(t, "pod-c")
	if c.ip.Equal(a.ip) || c.ip.Equal(b.ip) {
		t.Fatalf("pod-c got %s; pod-a had %s (released just now), pod-b has %s", c.ip, a.ip, b.ip)
	}
}

func TestSetupOnAFullPoolReturnsErrPoolExhausted(t *testing.T) {
	// A /30 has the network, the gateway, one pod address and broadcast.
	nd := newNode(t, "10.244.1.0/30")
	p := nd.newPod(t, "pod-a")
	if p.ip.String() != "10.244.1.2" {
		t.Fatalf("only pod got %s, want 10.244.1.2", p.ip)
	}
	ns := newNetns(t)
	_, err := nd.net.Setup(t.Context(), "pod-b", ns)
	if !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("Setup on a full pool: %v, want ErrPoolExhausted", err)
	}
	if _, err := handleIn(t, nd.ns).LinkByName(HostVethName("pod-b")); !isLinkNotFound(err) {
		t.Fatalf("failed Setup left a veth: %v", err)
	}
	// Freeing the address makes room again.
	if err := nd.net.Teardown(t.Context(), p.uid, p.ns); err != nil {
		t.Fatal(err)
	}
	if ip, err := nd.net.Setup(t.Context(), "pod-b", ns); err != nil || ip.String() != "10.244.1.2" {
		t.Fatalf("Setup after Teardown: %v, %v", ip, err)
	}
}

func TestAllocationsSurviveANewNetworkOnTheSameStateDir(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	a := nd.newPod(t, "pod-a")
	if err := nd.net.Close(); err != nil {
		t.Fatal(err)
	}
	nd.net = nd.open(t) // as a restarted agent
	if ok, msg := nd.net.Ready(); !ok {
		t.Fatalf("adopted network not ready: %s", msg)
	}
	if got := nd.net.PodIP(a.uid); !got.Equal(a.ip) {
		t.Fatalf("after restart pod-a has %v, want %s", got, a.ip)
	}
	again, err := nd.net.Setup(t.Context(), a.uid, a.ns)
	if err != nil || !again.Equal(a.ip) {
		t.Fatalf("Setup after restart: %v, %v; want %s", again, err, a.ip)
	}
	b := nd.newPod(t, "pod-b")
	if b.ip.Equal(a.ip) {
		t.Fatalf("new pod got pod-a's %s", a.ip)
	}
	mustSeeFrom(t, b.ns, serveRemoteAddr(t, a.ns, a.ip), b.ip.String())
}

func TestTeardownRemovesTheVethAndFreesTheIP(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	p := nd.newPod(t, "pod-a")
	if err := nd.net.Teardown(t.Context(), p.uid, p.ns); err != nil {
		t.Fatal(err)
	}
	if _, err := handleIn(t, nd.ns).LinkByName(HostVethName(p.uid)); !isLinkNotFound(err) {
		t.Fatalf("host end after Teardown: %v", err)
	}
	if _, err := handleIn(t, p.ns).LinkByName("eth0"); !isLinkNotFound(err) {
		t.Fatalf("eth0 after Teardown: %v", err)
	}
	if ip := nd.net.PodIP(p.uid); ip != nil {
		t.Fatalf("pod still holds %s", ip)
	}
	if err := nd.net.Teardown(t.Context(), p.uid, p.ns); err != nil {
		t.Fatalf("second Teardown: %v", err)
	}
}

func TestTeardownAfterTheNamespaceIsGone(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	p := nd.newPod(t, "pod-a")
	if err := unpinNetns(p.ns); err != nil {
		t.Fatal(err)
	}
	if err := nd.net.Teardown(t.Context(), p.uid, p.ns); err != nil {
		t.Fatalf("Teardown without namespace: %v", err)
	}
	if ip := nd.net.PodIP(p.uid); ip != nil {
		t.Fatalf("pod still holds %s", ip)
	}
}

func TestReadyReportsAMissingBridgeAndSetupRecreatesIt(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	if ok, msg := nd.net.Ready(); !ok {
		t.Fatalf("fresh network not ready: %s", msg)
	}
	h := handleIn(t, nd.ns)
	br, err := h.LinkByName(testBridge)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkDel(br); err != nil {
		t.Fatal(err)
	}
	ok, msg := nd.net.Ready()
	if want := "network plugin not ready: bridge orcatest0 not found"; ok || msg != want {
		t.Fatalf("Ready() = %v, %q; want false, %q", ok, msg, want)
	}
	p := nd.newPod(t, "pod-a")
	if ok, msg := nd.net.Ready(); !ok {
		t.Fatalf("not ready after Setup recreated the bridge: %s", msg)
	}
	mustSeeFrom(t, p.ns, serveRemoteAddr(t, nd.ns, nd.net.Gateway()), p.ip.String())
}

func TestNewIsIdempotentAndUninstallRemovesTableAndBridge(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	c := nftIn(t, nd.ns)
	once := countRules(t, c, testBridge)
	nd.net.Close()
	nd.net = nd.open(t)
	if twice := countRules(t, c, testBridge); twice != once {
		t.Fatalf("%d rules after two New, %d after one", twice, once)
	}
	if err := nd.net.Uninstall(); err != nil {
		t.Fatal(err)
	}
	if tableExists(t, c, testBridge) {
		t.Error("nftables table left after Uninstall")
	}
	if out, ok := nftList(t, nd.ns, "tables"); ok && strings.Contains(out, testBridge) {
		t.Errorf("nft list tables after Uninstall:\n%s", out)
	}
	if _, err := handleIn(t, nd.ns).LinkByName(testBridge); !isLinkNotFound(err) {
		t.Fatalf("bridge after Uninstall: %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"no pod CIDR", Config{StateDir: t.TempDir()}},
		{"IPv6 pod CIDR", Config{PodCIDR: mustCIDR(t, "fd00::/64"), StateDir: t.TempDir()}},
		{"pod CIDR outside cluster CIDR", Config{PodCIDR: mustCIDR(t, "10.1.0.0/24"), ClusterCIDR: mustCIDR(t, testClusterCIDR), StateDir: t.TempDir()}},
		{"pod CIDR too small", Config{PodCIDR: mustCIDR(t, "10.244.0.0/31"), StateDir: t.TempDir()}},
		{"bridge name too long", Config{PodCIDR: mustCIDR(t, "10.244.0.0/24"), BridgeName: "a-very-long-bridge", StateDir: t.TempDir()}},
		{"no state dir", Config{PodCIDR: mustCIDR(t, "10.244.0.0/24")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.defaults(); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// The first pod on a bridge makes the bridge's carrier come up; the kernel
// drops what is sent through the bridge until it has processed that, so a
// Setup that returned too early would cost the first connection a SYN
// retransmission (one second). Setup waits for it instead.
func TestFirstPodConnectsWithoutARetransmission(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	addr := serveRemoteAddr(t, nd.ns, nd.net.Gateway())
	p := nd.newPod(t, "pod-a")
	start := time.Now()
	mustSeeFrom(t, p.ns, addr, p.ip.String())
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Fatalf("first connection took %v: a packet was dropped", d)
	}
}

func TestConcurrentSetupsGetDistinctIPs(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	const pods = 12
	nss := make([]string, pods)
	for i := range nss {
		nss[i] = newNetns(t)
	}
	ips := make([]net.IP, pods)
	errs := make([]error, pods)
	var wg sync.WaitGroup
	for i := range pods {
		wg.Go(func() { ips[i], errs[i] = nd.net.Setup(t.Context(), fmt.Sprintf("pod-%d", i), nss[i]) })
	}
	wg.Wait()
	seen := map[string]int{}
	for i, ip := range ips {
		if errs[i] != nil {
			t.Fatalf("pod-%d: %v", i, errs[i])
		}
		if j, dup := seen[ip.String()]; dup {
			t.Fatalf("pod-%d and pod-%d both got %s", j, i, ip)
		}
		seen[ip.String()] = i
	}
	mustSeeFrom(t, nss[0], serveRemoteAddr(t, nss[pods-1], ips[pods-1]), ips[0].String())
}

func TestGCReleasesWhatGonePodsLeftBehind(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	live, gone := nd.newPod(t, "live"), nd.newPod(t, "gone")
	if err := nd.net.GC(t.Context(), []string{live.uid}); err != nil {
		t.Fatal(err)
	}
	if ip := nd.net.PodIP(gone.uid); ip != nil {
		t.Fatalf("gone pod still holds %s", ip)
	}
	h := handleIn(t, nd.ns)
	if _, err := h.LinkByName(HostVethName(gone.uid)); !isLinkNotFound(err) {
		t.Fatalf("gone pod's veth after GC: %v", err)
	}
	if ip := nd.net.PodIP(live.uid); !ip.Equal(live.ip) {
		t.Fatalf("live pod holds %v, want %s", ip, live.ip)
	}
	mustSeeFrom(t, live.ns, serveRemoteAddr(t, nd.ns, nd.net.Gateway()), live.ip.String())
}
