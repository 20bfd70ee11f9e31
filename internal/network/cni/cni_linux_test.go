package cni

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/orca-pods/orca/internal/network"
)

// The tests run Debian's real plugins from here.
const pluginDir = "/usr/lib/cni"

const testNetName = "orcacnitest"

func requireRootAndPlugins(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and bridges")
	}
	for _, name := range []string{"bridge", "host-local", "portmap"} {
		if _, err := os.Stat(filepath.Join(pluginDir, name)); err != nil {
			t.Skipf("CNI plugin %s not installed: %v", name, err)
		}
	}
}

// testNet is a bridge network in a conf dir of its own. Addresses live in
// 10.231.X.0/24 on a bridge the test creates (through the plugin) and
// deletes.
type testNet struct {
	confDir, dataDir, cacheDir string
	bridge                     string
	subnet                     *net.IPNet
	gateway                    net.IP
}

func newTestNet(t *testing.T) *testNet {
	t.Helper()
	cleanupPortmapChains(t)
	tn := &testNet{
		confDir:  t.TempDir(),
		dataDir:  t.TempDir(),
		cacheDir: t.TempDir(),
	}
	for i := 0; ; i++ {
		if i == 20 {
			t.Fatal("no free test bridge name / subnet")
		}
		tn.bridge = fmt.Sprintf("cnitest%04d", rand.IntN(10000))
		x := rand.IntN(256)
		_, tn.subnet, _ = net.ParseCIDR(fmt.Sprintf("10.231.%d.0/24", x))
		tn.gateway = net.IPv4(10, 231, byte(x), 1).To4()
		if _, err := netlink.LinkByName(tn.bridge); err == nil {
			continue
		}
		if subnetInUse(t, tn.subnet) {
			continue
		}
		break
	}
	t.Cleanup(func() {
		link, err := netlink.LinkByName(tn.bridge)
		if err != nil {
			return
		}
		if err := netlink.LinkDel(link); err != nil {
			t.Errorf("delete bridge %s: %v", tn.bridge, err)
		}
	})
	tn.writeConf(t, "10-test.conflist", map[string]any{
		"cniVersion": "1.0.0",
		"name":       testNetName,
		"plugins": []any{
			map[string]any{
				"type":      "bridge",
				"bridge":    tn.bridge,
				"isGateway": true,
				"ipMasq":    false,
				"ipam": map[string]any{
					"type":    "host-local",
					"ranges":  [][]map[string]string{{{"subnet": tn.subnet.String()}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
					"dataDir": tn.dataDir,
				},
			},
			map[string]any{
				"type":         "portmap",
				"capabilities": map[string]bool{"portMappings": true},
			},
		},
	})
	return tn
}

func subnetInUse(t *testing.T, subnet *net.IPNet) bool {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		if ones, _ := r.Dst.Mask.Size(); ones > 0 && (r.Dst.Contains(subnet.IP) || subnet.Contains(r.Dst.IP)) {
			return true
		}
	}
	return false
}

func (tn *testNet) writeConf(t *testing.T, name string, conf any) {
	t.Helper()
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tn.confDir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (tn *testNet) plugin(t *testing.T) *Plugin {
	t.Helper()
	return newPlugin(t, tn.confDir, tn.cacheDir)
}

// leaseFile is where host-local records that ip is taken.
func (tn *testNet) leaseFile(ip net.IP) string {
	return filepath.Join(tn.dataDir, testNetName, ip.String())
}

func newPlugin(t *testing.T, confDir, cacheDir string) *Plugin {
	t.Helper()
	p, err := New(Config{
		ConfDir:  confDir,
		BinDirs:  []string{pluginDir},
		CacheDir: cacheDir,
		Logger:   slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// newNetns creates a named network namespace (under /run/netns) and
// deletes it when the test ends, unless the test did already.
func newNetns(t *testing.T) (name, path string) {
	t.Helper()
	name = fmt.Sprintf("orcacni-test-%08x", rand.Uint32())
	errc := make(chan error, 1)
	go func() {
		// NewNamed moves the thread into the new namespace; the thread
		// goes back or, failing that, dies with this goroutine still
		// locked to it.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		ns, err := netns.NewNamed(name)
		if err == nil {
			ns.Close()
		}
		if serr := netns.Set(orig); serr != nil {
			errc <- errors.Join(err, serr)
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatalf("create netns %s: %v", name, err)
	}
	t.Cleanup(func() { deleteNetns(t, name) })
	return name, filepath.Join("/run/netns", name)
}

func deleteNetns(t *testing.T, name string) {
	if _, err := os.Stat(filepath.Join("/run/netns", name)); errors.Is(err, os.ErrNotExist) {
		return
	}
	if err := netns.DeleteNamed(name); err != nil {
		t.Errorf("delete netns %s: %v", name, err)
	}
}

// inNetns runs fn on a thread in the namespace at path. Sockets fn
// creates stay in that namespace.
func inNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		ns, err := netns.GetFromPath(path)
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, err) // the thread dies locked
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// serve listens on addr in the namespace at path and greets every
// connection with greeting.
func serve(t *testing.T, nsPath, addr, greeting string) {
	t.Helper()
	var l net.Listener
	err := inNetns(nsPath, func() (err error) {
		l, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, nsPath, err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, greeting+"\n")
			c.Close()
		}
	}()
}

// greeting connects to addr from the namespace at nsPath (the host's when
// "") and returns the first line the server sends.
func greeting(nsPath, addr string) (string, error) {
	var c net.Conn
	dial := func() (err error) {
		c, err = net.DialTimeout("tcp4", addr, 3*time.Second)
		return err
	}
	var err error
	if nsPath == "" {
		err = dial()
	} else {
		err = inNetns(nsPath, dial)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func newPod(nsPath string, ports ...network.HostPort) network.Pod {
	uid := fmt.Sprintf("%08x-0000-4000-8000-%012x", rand.Uint32(), rand.Uint64()&(1<<48-1))
	return network.Pod{UID: uid, Namespace: "default", Name: "pod-" + uid[:8], NetNSPath: nsPath, HostPorts: ports}
}

func setUp(t *testing.T, p *Plugin, pod network.Pod) net.IP {
	t.Helper()
	ip, err := p.SetUpPod(context.Background(), pod)
	if err != nil {
		t.Fatalf("SetUpPod %s: %v", pod.Name, err)
	}
	t.Cleanup(func() {
		if err := p.TearDownPod(context.Background(), pod); err != nil {
			t.Errorf("TearDownPod %s: %v", pod.Name, err)
		}
	})
	return ip
}

func eth0Addrs(t *testing.T, nsPath string) []net.IP {
	t.Helper()
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	link, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatalf("eth0 in %s: %v", nsPath, err)
	}
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var ips []net.IP
	for _, a := range addrs {
		ips = append(ips, a.IP)
	}
	return ips
}

func hasIP(ips []net.IP, ip net.IP) bool {
	for _, i := range ips {
		if i.Equal(ip) {
			return true
		}
	}
	return false
}

func TestSetUpPodConnectivity(t *testing.T) {
	requireRootAndPlugins(t)
	tn := newTestNet(t)
	p := tn.plugin(t)
	_, ns1 := newNetns(t)
	_, ns2 := newNetns(t)
	pod1, pod2 := newPod(ns1), newPod(ns2)

	// Two pods at once: different pods must not serialise or collide.
	var ip1, ip2 net.IP
	var wg sync.WaitGroup
	var err1, err2 error
	wg.Add(2)
	go func() { defer wg.Done(); ip1, err1 = p.SetUpPod(context.Background(), pod1) }()
	go func() { defer wg.Done(); ip2, err2 = p.SetUpPod(context.Background(), pod2) }()
	wg.Wait()
	for _, pod := range []network.Pod{pod1, pod2} {
		t.Cleanup(func() {
			if err := p.TearDownPod(context.Background(), pod); err != nil {
				t.Errorf("TearDownPod: %v", err)
			}
		})
	}
	if err1 != nil || err2 != nil {
		t.Fatalf("SetUpPod: %v, %v", err1, err2)
	}
	if !tn.subnet.Contains(ip1) || !tn.subnet.Contains(ip2) || ip1.Equal(ip2) {
		t.Fatalf("pod IPs %s, %s; want two different addresses in %s", ip1, ip2, tn.subnet)
	}
	if ip1.To4() == nil {
		t.Fatalf("pod IP %s is not IPv4", ip1)
	}
	if got := eth0Addrs(t, ns1); !hasIP(got, ip1) {
		t.Fatalf("eth0 of pod1 has %v, want %s", got, ip1)
	}

	// Idempotent: CHECK passes and the cached address comes back.
	again, err := p.SetUpPod(context.Background(), pod1)
	if err != nil {
		t.Fatalf("second SetUpPod: %v", err)
	}
	if !again.Equal(ip1) {
		t.Fatalf("second SetUpPod gave %s, want %s", again, ip1)
	}
	if got := eth0Addrs(t, ns1); len(got) != 1 {
		t.Fatalf("eth0 of pod1 has %v after the second SetUpPod, want only %s", got, ip1)
	}

	serve(t, ns1, ":8080", "pod1")
	addr := net.JoinHostPort(ip1.String(), "8080")
	if got, err := greeting(ns2, addr); err != nil || got != "pod1" {
		t.Fatalf("pod2 -> pod1 %s: %q, %v", addr, got, err)
	}
	if got, err := greeting("", addr); err != nil || got != "pod1" {
		t.Fatalf("host -> pod1 %s: %q, %v", addr, got, err)
	}
}

func TestSetUpPodRepairsBrokenAttachment(t *testing.T) {
	requireRootAndPlugins(t)
	tn := newTestNet(t)
	p := tn.plugin(t)
	_, nsPath := newNetns(t)
	pod := newPod(nsPath)
	setUp(t, p, pod)

	// Break the pod's network behind the plugin's back: CHECK must notice,
	// and SetUpPod must DEL and ADD again.
	err := inNetns(nsPath, func() error {
		link, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		return netlink.LinkDel(link)
	})
	if err != nil {
		t.Fatal(err)
	}
	ip, err := p.SetUpPod(context.Background(), pod)
	if err != nil {
		t.Fatalf("SetUpPod after eth0 vanished: %v", err)
	}
	if got := eth0Addrs(t, nsPath); !hasIP(got, ip) {
		t.Fatalf("eth0 has %v, want %s", got, ip)
	}
	leases, err := os.ReadDir(filepath.Join(tn.dataDir, testNetName))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, l := range leases {
		if net.ParseIP(l.Name()) != nil {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("host-local holds %d leases, want 1 (the old one released)", n)
	}
}

func TestSetUpPodNewNetnsSamePod(t *testing.T) {
	requireRootAndPlugins(t)
	tn := newTestNet(t)
	p := tn.plugin(t)
	_, ns1 := newNetns(t)
	pod := newPod(ns1)
	ip1 := setUp(t, p, pod)

	// The sandbox is recreated: the same pod comes with a new namespace.
	_, ns2 := newNetns(t)
	pod.NetNSPath = ns2
	ip2, err := p.SetUpPod(context.Background(), pod)
	if err != nil {
		t.Fatalf("SetUpPod in a new netns: %v", err)
	}
	if got := eth0Addrs(t, ns2); !hasIP(got, ip2) {
		t.Fatalf("eth0 in the new netns has %v, want %s", got, ip2)
	}
	if _, err := os.Stat(tn.leaseFile(ip1)); !ip1.Equal(ip2) && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old address %s still leased: %v", ip1, err)
	}
	// The old attachment was deleted where it lived.
	err = inNetns(ns1, func() error {
		_, err := netlink.LinkByName("eth0")
		return err
	})
	var notFound netlink.LinkNotFoundError
	if !errors.As(err, &notFound) {
		t.Fatalf("eth0 in the old netns: %v, want it gone", err)
	}
}

func TestHostPort(t *testing.T) {
	requireRootAndPlugins(t)
	tn := newTestNet(t)
	p := tn.plugin(t)
	_, nsPath := newNetns(t)
	hostPort := freePort(t)
	pod := newPod(nsPath, network.HostPort{HostPort: hostPort, ContainerPort: 8080, Protocol: "TCP"})
	ip, err := p.SetUpPod(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	torn := false
	t.Cleanup(func() {
		if !torn {
			p.TearDownPod(context.Background(), pod)
		}
	})
	serve(t, nsPath, ":8080", "hostport")

	// The node reaches a hostPort through its own addresses: portmap
	// DNATs locally generated packets to local addresses in OUTPUT.
	targets := []string{tn.gateway.String()}
	if hostIP := primaryHostIP(t); hostIP != nil {
		targets = append(targets, hostIP.String())
	}
	for _, target := range targets {
		addr := net.JoinHostPort(target, fmt.Sprint(hostPort))
		if got, err := greeting("", addr); err != nil || got != "hostport" {
			t.Errorf("host -> %s: %q, %v", addr, got, err)
		}
	}

	// localhost works only where portmap could mark the traffic for SNAT
	// and route_localnet is on; it is not asserted, only reported.
	if got, err := greeting("", net.JoinHostPort("127.0.0.1", fmt.Sprint(hostPort))); err != nil || got != "hostport" {
		t.Logf("host -> 127.0.0.1:%d not forwarded: %q, %v", hostPort, got, err)
	} else {
		t.Logf("host -> 127.0.0.1:%d forwarded", hostPort)
	}

	rules := iptablesNAT(t)
	if rules != "" && !strings.Contains(rules, pod.UID) {
		t.Errorf("no nat rule names pod %s:\n%s", pod.UID, rules)
	}

	torn = true
	if err := p.TearDownPod(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	if rules := iptablesNAT(t); strings.Contains(rules, pod.UID) || strings.Contains(rules, ip.String()) {
		t.Errorf("nat rules of pod %s (%s) left after teardown:\n%s", pod.UID, ip, rules)
	}
	if _, err := greeting("", net.JoinHostPort(tn.gateway.String(), fmt.Sprint(hostPort))); err == nil {
		t.Errorf("hostPort %d still forwarded after teardown", hostPort)
	}
}

func freePort(t *testing.T) int32 {
	t.Helper()
	l, err := net.Listen("tcp4", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return int32(l.Addr().(*net.TCPAddr).Port)
}

// primaryHostIP is the source address of the host's default route.
func primaryHostIP(t *testing.T) net.IP {
	routes, err := netlink.RouteGet(net.IPv4(192, 0, 2, 1))
	if err != nil || len(routes) == 0 || routes[0].Src == nil {
		t.Logf("no default route source address (%v); testing the gateway only", err)
		return nil
	}
	return routes[0].Src
}

// iptablesNAT is the nat table as iptables-save prints it, "" without
// iptables.
func iptablesNAT(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("iptables-save"); err != nil {
		return ""
	}
	out, err := exec.Command("iptables-save", "-t", "nat").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables-save: %v: %s", err, out)
	}
	return string(out)
}

// cleanupPortmapChains removes, when the test ends, the chains portmap
// creates once per host and never deletes, if they did not exist before
// and no other pod uses them.
func cleanupPortmapChains(t *testing.T) {
	if strings.Contains(iptablesNAT(t), ":CNI-HOSTPORT-DNAT") {
		return
	}
	t.Cleanup(func() {
		rules := iptablesNAT(t)
		if !strings.Contains(rules, ":CNI-HOSTPORT-DNAT") {
			return
		}
		var restore strings.Builder
		restore.WriteString("*nat\n")
		for _, line := range strings.Split(rules, "\n") {
			switch {
			case strings.HasPrefix(line, "-A CNI-HOSTPORT-DNAT "):
				t.Logf("CNI-HOSTPORT-DNAT still used, kept: %s", line)
				return
			case strings.HasPrefix(line, "-A ") && strings.Contains(line, "-j CNI-HOSTPORT-"):
				restore.WriteString("-D" + strings.TrimPrefix(line, "-A") + "\n")
			}
		}
		for _, chain := range []string{"CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-SETMARK", "CNI-HOSTPORT-MASQ"} {
			if strings.Contains(rules, ":"+chain+" ") {
				fmt.Fprintf(&restore, "-F %s\n-X %s\n", chain, chain)
			}
		}
		restore.WriteString("COMMIT\n")
		cmd := exec.Command("iptables-restore", "--noflush")
		cmd.Stdin = strings.NewReader(restore.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("remove portmap chains: %v: %s\n%s", err, out, restore.String())
		}
	})
}

func TestMissingPlugin(t *testing.T) {
	requireRootAndPlugins(t)
	tn := &testNet{confDir: t.TempDir(), cacheDir: t.TempDir()}
	tn.writeConf(t, "10-missing.conflist", map[string]any{
		"cniVersion": "1.0.0",
		"name":       "mynet",
		"plugins":    []any{map[string]any{"type": "nosuchplugin"}},
	})
	p := tn.plugin(t)
	if ok, msg := p.Ready(); !ok {
		t.Fatalf("not ready: %s", msg)
	}
	_, nsPath := newNetns(t)
	_, err := p.SetUpPod(context.Background(), newPod(nsPath))
	if err == nil {
		t.Fatal("SetUpPod succeeded without the plugin")
	}
	t.Log(err)
	for _, want := range []string{`failed to find plugin "nosuchplugin" in path [` + pluginDir, `plugin type="nosuchplugin" name="mynet" failed (add)`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestReadyFollowsConfDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net.d") // missing at first
	p := newPlugin(t, dir, t.TempDir())
	ok, msg := p.Ready()
	if ok {
		t.Fatal("ready without a config")
	}
	for _, want := range []string{"NetworkReady=false", "reason:NetworkPluginNotReady", "no network config found in " + dir, "cni plugin not initialized"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Ready message %q lacks %q", msg, want)
		}
	}
	_, err := p.SetUpPod(context.Background(), newPod("/run/netns/none"))
	if !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("SetUpPod without config: %v, want ErrNotInitialized", err)
	}
	if err := p.TearDownPod(context.Background(), newPod("/run/netns/none")); err != nil {
		t.Fatalf("TearDownPod without config or cache: %v", err)
	}

	// A broken first file keeps the plugin not ready, as in containerd.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "05-bad.conflist"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, msg := p.Ready(); ok || !strings.Contains(msg, "05-bad.conflist") {
		t.Fatalf("Ready with a broken config: %v %q", ok, msg)
	}
	if err := os.Remove(filepath.Join(dir, "05-bad.conflist")); err != nil {
		t.Fatal(err)
	}

	// A single-plugin .conf is wrapped into a list; it sorts before the
	// .conflist, so it is the one used.
	conf := `{"cniVersion": "0.4.0", "name": "single", "type": "bridge", "bridge": "cnitest-x"}`
	if err := os.WriteFile(filepath.Join(dir, "10-single.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	list := `{"cniVersion": "1.0.0", "name": "later", "plugins": [{"type": "bridge"}]}`
	if err := os.WriteFile(filepath.Join(dir, "20-later.conflist"), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, msg := p.Ready(); !ok || msg != "" {
		t.Fatalf("Ready after adding a config: %v %q", ok, msg)
	}
	got, err := p.config()
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "single" || len(got.Plugins) != 1 || got.Plugins[0].Network.Type != "bridge" || got.CNIVersion != "0.4.0" {
		t.Fatalf("loaded %q (%s) with %d plugins, want the wrapped 10-single.conf", got.Name, got.CNIVersion, len(got.Plugins))
	}
}

func TestTearDownIdempotentAfterNetnsGone(t *testing.T) {
	requireRootAndPlugins(t)
	tn := newTestNet(t)
	p := tn.plugin(t)
	name, nsPath := newNetns(t)
	pod := newPod(nsPath, network.HostPort{HostPort: freePort(t), ContainerPort: 80, Protocol: "TCP"})
	ip, err := p.SetUpPod(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tn.leaseFile(ip)); err != nil {
		t.Fatalf("no host-local lease for %s: %v", ip, err)
	}

	// The sandbox went first: DEL gets a path that no longer exists.
	if err := netns.DeleteNamed(name); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := p.TearDownPod(context.Background(), pod); err != nil {
			t.Fatalf("TearDownPod #%d: %v", i+1, err)
		}
	}
	if _, err := os.Stat(tn.leaseFile(ip)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lease of %s kept after teardown: %v", ip, err)
	}
	if atts, err := p.cni.GetCachedAttachments(pod.UID); err != nil || len(atts) != 0 {
		t.Fatalf("cached attachments after teardown: %v, %v", atts, err)
	}
	if rules := iptablesNAT(t); strings.Contains(rules, pod.UID) {
		t.Errorf("nat rules of pod %s left after teardown", pod.UID)
	}

	// The address is free again: a new pod may be given it, and gets one.
	_, ns2 := newNetns(t)
	ip2 := setUp(t, p, newPod(ns2))
	if !tn.subnet.Contains(ip2) {
		t.Fatalf("new pod got %s, outside %s", ip2, tn.subnet)
	}
}

func TestPortMappingsAsContainerd(t *testing.T) {
	pod := network.Pod{HostPorts: []network.HostPort{
		{HostPort: 8080, ContainerPort: 80, Protocol: "TCP"},
		{HostPort: 5353, ContainerPort: 53, Protocol: "UDP", HostIP: "192.0.2.2"},
		{HostPort: 9000, ContainerPort: 9000}, // protocol defaulted
		{HostPort: 0, ContainerPort: 81, Protocol: "TCP"},
	}}
	b, err := json.Marshal(capabilityArgs(pod))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"portMappings":[` +
		`{"hostPort":8080,"containerPort":80,"protocol":"tcp"},` +
		`{"hostPort":5353,"containerPort":53,"protocol":"udp","hostIP":"192.0.2.2"},` +
		`{"hostPort":9000,"containerPort":9000,"protocol":"tcp"}]}`
	if string(b) != want {
		t.Fatalf("capability args\n got %s\nwant %s", b, want)
	}
	if b, _ := json.Marshal(capabilityArgs(network.Pod{})); string(b) != `{"portMappings":[]}` {
		t.Fatalf("capability args without hostPorts: %s", b)
	}
}

func TestPodIPv4(t *testing.T) {
	idx := func(i int) *int { return &i }
	res := &types100.Result{
		CNIVersion: "1.0.0",
		Interfaces: []*types100.Interface{{Name: "cni0"}, {Name: "eth0", Sandbox: "/run/netns/x"}},
		IPs: []*types100.IPConfig{
			{Interface: idx(0), Address: net.IPNet{IP: net.ParseIP("10.0.0.1"), Mask: net.CIDRMask(24, 32)}},
			{Interface: idx(1), Address: net.IPNet{IP: net.ParseIP("fd00::2"), Mask: net.CIDRMask(64, 128)}},
			{Interface: idx(1), Address: net.IPNet{IP: net.ParseIP("10.0.0.2"), Mask: net.CIDRMask(24, 32)}},
		},
	}
	ip, err := podIPv4(res)
	if err != nil || !ip.Equal(net.ParseIP("10.0.0.2")) {
		t.Fatalf("podIPv4 = %v, %v; want 10.0.0.2", ip, err)
	}
	res.IPs = res.IPs[:2]
	if ip, err := podIPv4(res); err == nil {
		t.Fatalf("podIPv4 without a pod IPv4 = %v, want an error", ip)
	}
}
