package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/orca-pods/orca/test/e2e/framework"
)

const cniBinDir = "/usr/lib/cni"

// cniNetwork is a bridge + host-local + portmap configuration with a
// bridge and subnet of its own, removed after the test.
type cniNetwork struct {
	confDir, bridge, subnet string
}

func newCNINetwork(t *testing.T) *cniNetwork {
	t.Helper()
	if _, err := os.Stat(filepath.Join(cniBinDir, "bridge")); err != nil {
		t.Skip("the CNI plugins are not installed in " + cniBinDir)
	}
	n := &cniNetwork{
		confDir: t.TempDir(),
		bridge:  fmt.Sprintf("cnie2e%d", rand.IntN(10000)),
		subnet:  fmt.Sprintf("10.233.%d.0/24", rand.IntN(250)),
	}
	hadChains := portmapChainsExist()
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(n.bridge); err == nil {
			_ = netlink.LinkDel(l)
		}
		if !hadChains {
			removePortmapChains(t)
		}
	})
	return n
}

// portmap creates its shared iptables chains once per machine and never
// removes them; tests take away what they brought.
func portmapChainsExist() bool {
	out, err := exec.Command("iptables", "-t", "nat", "-S", "CNI-HOSTPORT-DNAT").CombinedOutput()
	return err == nil && len(out) > 0
}

func removePortmapChains(t *testing.T) {
	out, err := exec.Command("iptables", "-t", "nat", "-S", "CNI-HOSTPORT-DNAT").CombinedOutput()
	if err != nil || strings.Count(string(out), "\n") > 1 {
		return // gone already, or still used by someone's pods
	}
	for _, args := range [][]string{
		{"-D", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT"},
		{"-D", "OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT"},
		{"-D", "POSTROUTING", "-m", "comment", "--comment", "CNI portfwd requiring masquerade", "-j", "CNI-HOSTPORT-MASQ"},
		{"-F", "CNI-HOSTPORT-DNAT"}, {"-F", "CNI-HOSTPORT-MASQ"}, {"-F", "CNI-HOSTPORT-SETMARK"},
		{"-X", "CNI-HOSTPORT-DNAT"}, {"-X", "CNI-HOSTPORT-MASQ"}, {"-X", "CNI-HOSTPORT-SETMARK"},
	} {
		if out, err := exec.Command("iptables", append([]string{"-t", "nat"}, args...)...).CombinedOutput(); err != nil {
			t.Logf("iptables %v: %v %s", args, err, out)
		}
	}
}

// write installs the configuration, with plugin as the main plugin's
// type (a missing one tests the error path).
func (n *cniNetwork) write(t *testing.T, plugin string) {
	t.Helper()
	conf := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "e2e",
  "plugins": [
    {"type": %q, "bridge": %q, "isGateway": true, "ipMasq": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": %q}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}`, plugin, n.bridge, n.subnet, filepath.Join(filepath.Dir(n.confDir), "ipam"))
	tmp := filepath.Join(n.confDir, ".tmp")
	if err := os.WriteFile(tmp, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(n.confDir, "10-e2e.conflist")); err != nil {
		t.Fatal(err)
	}
}

// With --cni-conf-dir, pods are networked by the standard CNI plugins:
// an address from their IPAM, and hostPort through portmap.
func TestCNIPluginsNetworkPods(t *testing.T) {
	n := newCNINetwork(t)
	n.write(t, "bridge")
	s := startNode(t, "--cni-conf-dir", n.confDir, "--cni-bin-dir", cniBinDir)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	hostPort := framework.FreePort(t)
	k.MustRun(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: nginx
    image: nginx:alpine
    ports: [{containerPort: 80, hostPort: %d}]
`, hostPort), "apply", "-f", "-")
	p := waitForPod(t, s, "default", "web", 60*time.Second, "Running with an IP", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && p.Status.PodIP != ""
	})
	_, subnet, _ := net.ParseCIDR(n.subnet)
	if !subnet.Contains(net.ParseIP(p.Status.PodIP)) {
		t.Fatalf("pod IP %s is not from the CNI subnet %s", p.Status.PodIP, n.subnet)
	}
	if body := httpGet(t, "http://"+p.Status.PodIP+"/"); !strings.Contains(body, "Welcome to nginx!") {
		t.Errorf("GET the pod IP: %q", body)
	}
	node, err := s.Client().CoreV1().Nodes().Get(context.Background(), "orca-e2e", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var nodeIP string
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			nodeIP = a.Address
		}
	}
	if body := httpGet(t, fmt.Sprintf("http://%s:%d/", nodeIP, hostPort)); !strings.Contains(body, "Welcome to nginx!") {
		t.Errorf("GET the node's hostPort: %q", body)
	}
}

// Without a usable configuration the node says NetworkReady=false and pods
// wait in ContainerCreating; a missing plugin is named in the pod's
// FailedCreatePodSandBox event; a good configuration lets the pod start.
func TestCNIMissingConfigurationAndPlugin(t *testing.T) {
	n := newCNINetwork(t)
	s := startNode(t, "--cni-conf-dir", n.confDir, "--cni-bin-dir", cniBinDir)
	ctx := context.Background()
	framework.Eventually(t, 30*time.Second, "node NotReady with NetworkReady=false", func() bool {
		node, err := s.Client().CoreV1().Nodes().Get(ctx, "orca-e2e", metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionFalse && strings.Contains(c.Message, "NetworkReady=false")
			}
		}
		return false
	})
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	// Bound to the node directly: the scheduler keeps pods off a node
	// that is not ready.
	k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: waiting
spec:
  nodeName: orca-e2e
  containers:
  - {name: app, image: busybox, command: [sleep, "3600"]}
`, "apply", "-f", "-")
	sandboxEvent := func(want string) func() bool {
		return func() bool {
			evs, err := s.Client().CoreV1().Events("default").List(ctx, metav1.ListOptions{
				FieldSelector: fields.Set{"involvedObject.name": "waiting", "reason": "FailedCreatePodSandBox"}.String(),
			})
			if err != nil {
				return false
			}
			for _, e := range evs.Items {
				if strings.Contains(e.Message, want) {
					return true
				}
			}
			return false
		}
	}
	framework.Eventually(t, 30*time.Second, "FailedCreatePodSandBox: not initialized", sandboxEvent("cni plugin not initialized"))

	n.write(t, "nosuchplugin")
	framework.Eventually(t, 30*time.Second, "FailedCreatePodSandBox naming the plugin",
		sandboxEvent(`plugin type="nosuchplugin" name="e2e" failed (add): failed to find plugin "nosuchplugin"`))
	if r := k.MustRun("", "get", "pod", "waiting"); !strings.Contains(r, "ContainerCreating") {
		t.Errorf("kubectl get pod:\n%s", r)
	}

	n.write(t, "bridge")
	waitForPod(t, s, "default", "waiting", 60*time.Second, "Running once the plugin exists", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && p.Status.PodIP != ""
	})
}
