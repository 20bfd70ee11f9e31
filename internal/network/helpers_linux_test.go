package network

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Every address below lives only inside network namespaces the tests
// create: pods in 10.244.0.0/16, the link between simulated nodes in
// 198.51.100.0/24 (TEST-NET-2). Nothing leaves them.
const (
	testBridge      = "orcatest0"
	testClusterCIDR = "10.244.0.0/16"
)

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces, bridges and veths")
	}
}

func mustCIDR(t testing.TB, s string) *net.IPNet {
	t.Helper()
	_, cidr, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return cidr
}

// newNetns creates a network namespace with loopback up, pinned at a file
// in a temporary directory, and destroys it when the test ends.
func newNetns(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "netns")
	if err := pinNewNetns(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unpinNetns(path); err != nil {
			t.Errorf("unpin %s: %v", path, err)
		}
	})
	return path
}

// pinNewNetns unshares a network namespace on a thread that is never
// unlocked (it ends with its goroutine) and bind-mounts it at path.
func pinNewNetns(path string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("unshare: %w", err)
			}
			lo, err := netlink.LinkByName("lo")
			if err != nil {
				return err
			}
			if err := netlink.LinkSetUp(lo); err != nil {
				return err
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
			if err != nil {
				return err
			}
			f.Close()
			src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
			if err := unix.Mount(src, path, "", unix.MS_BIND, ""); err != nil {
				os.Remove(path)
				return fmt.Errorf("pin netns: %w", err)
			}
			return nil
		}()
	}()
	return <-errc
}

// unpinNetns drops the pin; the kernel destroys the namespace, with every
// interface, route and nftables table in it, once nothing else holds it.
func unpinNetns(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// in runs fn inside the namespace pinned at path.
func in(t testing.TB, path string, fn func() error) {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := inNetns(ns, fn); err != nil {
		t.Fatal(err)
	}
}

// handleIn returns a rtnetlink handle for the namespace at path.
func handleIn(t testing.TB, path string) *netlink.Handle {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := routeHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// serveRemoteAddr listens on ip (port chosen by the kernel) inside the
// namespace at nsPath and answers every connection with the address it
// came from, so a test sees whether the source was translated. It returns
// the listening address.
func serveRemoteAddr(t testing.TB, nsPath string, ip net.IP) string {
	t.Helper()
	return serveRemoteAddrOn(t, nsPath, ip, 0)
}

// serveRemoteAddrOn is serveRemoteAddr on a given port.
func serveRemoteAddrOn(t testing.TB, nsPath string, ip net.IP, port int) string {
	t.Helper()
	var ln net.Listener
	in(t, nsPath, func() error {
		var err error
		ln, err = net.Listen("tcp4", net.JoinHostPort(ip.String(), strconv.Itoa(port)))
		return err
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, host+"\n")
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// seenFrom connects from inside the namespace at nsPath to addr and
// returns the source address the server saw.
func seenFrom(t testing.TB, nsPath, addr string) (string, error) {
	t.Helper()
	return seenFromWithin(t, nsPath, addr, 3*time.Second)
}

// seenFromWithin is seenFrom giving up connecting after timeout.
func seenFromWithin(t testing.TB, nsPath, addr string, timeout time.Duration) (string, error) {
	t.Helper()
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	var c net.Conn
	// The socket is created (and connects) on the namespace's thread and
	// stays in that namespace for its life.
	err = inNetns(ns, func() error {
		var err error
		c, err = net.DialTimeout("tcp4", addr, timeout)
		return err
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func mustSeeFrom(t testing.TB, nsPath, addr, wantSource string) {
	t.Helper()
	got, err := seenFrom(t, nsPath, addr)
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	if got != wantSource {
		t.Fatalf("connection to %s came from %s, want %s", addr, got, wantSource)
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// node is a simulated node: a network namespace of its own as the
// "host", with a Network in it.
type node struct {
	ns       string
	stateDir string
	cfg      Config
	net      *Network
}

func newNode(t testing.TB, podCIDR string) *node {
	t.Helper()
	requireRoot(t)
	nd := &node{ns: newNetns(t), stateDir: t.TempDir()}
	nd.cfg = Config{
		PodCIDR: mustCIDR(t, podCIDR), ClusterCIDR: mustCIDR(t, testClusterCIDR),
		BridgeName: testBridge, StateDir: nd.stateDir, NetnsPath: nd.ns, Logger: testLogger(t),
	}
	nd.net = nd.open(t)
	return nd
}

// open starts a Network on the node's config; it is closed at the end.
func (nd *node) open(t testing.TB) *Network {
	t.Helper()
	n, err := New(nd.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// pod is a sandbox's network namespace set up on a node.
type pod struct {
	uid, ns string
	ip      net.IP
}

func (nd *node) newPod(t testing.TB, uid string) *pod {
	t.Helper()
	p := &pod{uid: uid, ns: newNetns(t)}
	ip, err := nd.net.Setup(t.Context(), uid, p.ns)
	if err != nil {
		t.Fatalf("setup %s: %v", uid, err)
	}
	p.ip = ip
	return p
}

// linkNodes joins two simulated nodes with a veth pair, as if on one
// layer-2 network, and returns their addresses on it.
func linkNodes(t testing.TB, a, b *node) (ipA, ipB net.IP) {
	t.Helper()
	ipA, ipB = net.ParseIP("198.51.100.1").To4(), net.ParseIP("198.51.100.2").To4()
	ha, hb := handleIn(t, a.ns), handleIn(t, b.ns)
	nsB, err := netns.GetFromPath(b.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer nsB.Close()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "uplink"
	if err := ha.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "uplink", PeerNamespace: netlink.NsFd(nsB)}); err != nil {
		t.Fatal(err)
	}
	for _, side := range []struct {
		h  *netlink.Handle
		ip net.IP
	}{{ha, ipA}, {hb, ipB}} {
		l, err := side.h.LinkByName("uplink")
		if err != nil {
			t.Fatal(err)
		}
		if err := side.h.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: side.ip, Mask: net.CIDRMask(24, 32)}}); err != nil {
			t.Fatal(err)
		}
		if err := side.h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	return ipA, ipB
}
