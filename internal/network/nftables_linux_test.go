package network

import (
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// nftIn returns an nftables connection to the namespace at path, which
// stays usable after the Network there is closed.
func nftIn(t testing.TB, path string) *nftables.Conn {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// countRules counts the rules of every chain of the ip table.
func countRules(t testing.TB, c *nftables.Conn, table string) int {
	t.Helper()
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, ch := range chains {
		if ch.Table.Name != table {
			continue
		}
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			t.Fatal(err)
		}
		count += len(rules)
	}
	return count
}

func tableExists(t testing.TB, c *nftables.Conn, table string) bool {
	t.Helper()
	_, err := c.ListTableOfFamily(table, nftables.TableFamilyIPv4)
	if errors.Is(err, unix.ENOENT) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// setElements returns the elements of each host port set of the table.
func setElements(t testing.TB, c *nftables.Conn, table string) map[string][]nftables.SetElement {
	t.Helper()
	out := map[string][]nftables.SetElement{}
	tbl := &nftables.Table{Name: table, Family: nftables.TableFamilyIPv4}
	for _, name := range []string{mapHostPortAny, mapHostPortIP, setHostPortPods} {
		s, err := c.GetSetByName(tbl, name)
		if err != nil {
			t.Fatalf("set %s: %v", name, err)
		}
		elems, err := c.GetSetElements(s)
		if err != nil {
			t.Fatalf("elements of %s: %v", name, err)
		}
		out[name] = elems
	}
	return out
}

// nftList runs `nft list <what>` in the namespace at path, when the nft
// binary is installed (the code does not need it; it is a second opinion).
func nftList(t testing.TB, path string, what ...string) (string, bool) {
	t.Helper()
	bin, err := exec.LookPath("nft")
	if err != nil {
		return "", false
	}
	var out []byte
	// A child forked from a thread inside the namespace starts in it.
	in(t, path, func() error {
		var err error
		out, err = exec.Command(bin, append([]string{"list"}, what...)...).CombinedOutput()
		if err != nil {
			return errors.New(string(out))
		}
		return nil
	})
	return string(out), true
}

func TestInstallConvergesAndLooksRight(t *testing.T) {
	nd := newNode(t, "10.244.1.0/24")
	c := nftIn(t, nd.ns)
	first := countRules(t, c, testBridge)
	if first != 8 {
		t.Fatalf("%d rules after New, want 8", first)
	}
	// Whatever a previous run or an administrator left is replaced.
	if err := nd.net.nft.install(map[string]*podHostPorts{"x": {UID: "x", IP: net.IPv4(10, 244, 1, 9).To4(), Ports: []hostPortRule{{Protocol: "TCP", HostPort: 1, PodPort: 2}}}}); err != nil {
		t.Fatal(err)
	}
	nd.net.Close()
	nd.net = nd.open(t)
	if got := countRules(t, c, testBridge); got != first {
		t.Fatalf("%d rules after another New, want %d", got, first)
	}
	for name, elems := range setElements(t, c, testBridge) {
		if len(elems) != 0 {
			t.Fatalf("set %s kept %d elements of a pod the state does not know", name, len(elems))
		}
	}
	if out, ok := nftList(t, nd.ns, "table", "ip", testBridge); ok {
		t.Logf("nft list table:\n%s", out)
		for _, want := range []string{
			"ip saddr 10.244.1.0/24 ip daddr != 10.244.0.0/16 masquerade",
			"fib daddr type local jump hostports",
			"dnat ip to meta l4proto . th dport map @hostport-any",
			`iifname "orcatest0" ip daddr 127.0.0.0/8`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("nft list lacks %q", want)
			}
		}
	}
}
