package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/orca-pods/orca/test/e2e/framework"
)

// eventMessages lists the messages of a pod's events with a reason.
func eventMessages(t *testing.T, s *framework.Server, pod, reason string) []string {
	t.Helper()
	evs, err := s.Client().CoreV1().Events("default").List(context.Background(), metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.name": pod, "reason": reason}.String()})
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range evs.Items {
		out = append(out, e.Message)
	}
	return out
}

func hasEvent(t *testing.T, s *framework.Server, pod, reason, substr string) func() bool {
	return func() bool {
		for _, m := range eventMessages(t, s, pod, reason) {
			if strings.Contains(m, substr) {
				return true
			}
		}
		return false
	}
}

// hostPort on the built-in network: the node's port reaches the pod (also
// on localhost); the scheduler keeps a second pod wanting the port away,
// and a pod bound to the node anyway is refused by the node.
func TestHostPortOnTheBuiltInNetwork(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	port := framework.FreePort(t)
	pod := func(name, extra string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
%s  containers:
  - name: nginx
    image: nginx:alpine
    ports: [{containerPort: 80, hostPort: %d}]
`, name, extra, port)
	}
	k.MustRun(pod("hp-web", ""), "apply", "-f", "-")
	waitForPod(t, s, "default", "hp-web", 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	for _, host := range []string{"127.0.0.1", nodeIP(t, s)} {
		if body := httpGet(t, fmt.Sprintf("http://%s:%d/", host, port)); !strings.Contains(body, "Welcome to nginx!") {
			t.Errorf("GET %s:%d: %q", host, port, body)
		}
	}
	k.MustRun(pod("hp-second", ""), "apply", "-f", "-")
	framework.Eventually(t, 30*time.Second, "FailedScheduling for the port", hasEvent(t, s, "hp-second", "FailedScheduling",
		"0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."))
	k.MustRun(pod("hp-forced", "  nodeName: orca-e2e\n"), "apply", "-f", "-")
	framework.Eventually(t, 30*time.Second, "FailedCreatePodSandBox for the port", hasEvent(t, s, "hp-forced", "FailedCreatePodSandBox",
		fmt.Sprintf("hostPort %d/TCP is already allocated to pod default/hp-web", port)))
	// Once the first pod is gone the port is free again.
	k.MustRun("", "delete", "pod", "hp-web", "hp-second", "--grace-period=1")
	waitForPod(t, s, "default", "hp-forced", 60*time.Second, "Running once the port is free", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	if body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); !strings.Contains(body, "Welcome to nginx!") {
		t.Errorf("GET after the move: %q", body)
	}
}

func nodeIP(t *testing.T, s *framework.Server) string {
	t.Helper()
	node, err := s.Client().CoreV1().Nodes().Get(context.Background(), "orca-e2e", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	t.Fatal("node has no InternalIP")
	return ""
}

// hostNetwork pods share the node's network and name; dnsConfig and
// hostAliases shape /etc/resolv.conf and /etc/hosts.
func TestHostNetworkDNSConfigAndHostAliases(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: on-host
spec:
  hostNetwork: true
  containers:
  - {name: app, image: busybox, command: [sleep, "3600"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: dns-shaped
spec:
  dnsPolicy: None
  dnsConfig:
    nameservers: [192.0.2.53]
    searches: [corp.example]
    options: [{name: ndots, value: "2"}, {name: edns0}]
  hostAliases:
  - {ip: 192.0.2.10, hostnames: [db.internal, db]}
  containers:
  - {name: app, image: busybox, command: [sleep, "3600"]}
`, "apply", "-f", "-")
	p := waitForPod(t, s, "default", "on-host", 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	if ip := nodeIP(t, s); p.Status.PodIP != ip || p.Status.HostIP != ip {
		t.Errorf("hostNetwork pod: podIP %s hostIP %s, want the node's %s", p.Status.PodIP, p.Status.HostIP, ip)
	}
	host, _ := os.Hostname()
	if got := strings.TrimSpace(k.MustRun("", "exec", "on-host", "--", "hostname")); got != host {
		t.Errorf("hostname in a hostNetwork pod: %q, want %q", got, host)
	}
	hostNS, _ := os.Readlink("/proc/self/ns/net")
	if got := strings.TrimSpace(k.MustRun("", "exec", "on-host", "--", "readlink", "/proc/self/ns/net")); got != hostNS {
		t.Errorf("network namespace %q, want the node's %q", got, hostNS)
	}

	waitForPod(t, s, "default", "dns-shaped", 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	if got, want := k.MustRun("", "exec", "dns-shaped", "--", "cat", "/etc/resolv.conf"),
		"search corp.example\nnameserver 192.0.2.53\noptions ndots:2 edns0\n"; got != want {
		t.Errorf("resolv.conf %q, want %q", got, want)
	}
	hosts := k.MustRun("", "exec", "dns-shaped", "--", "cat", "/etc/hosts")
	if !strings.Contains(hosts, "# Entries added by HostAliases.\n192.0.2.10\tdb.internal\tdb\n") {
		t.Errorf("/etc/hosts:\n%s", hosts)
	}
}

// A node whose pod CIDR is used up leaves the next pod in
// ContainerCreating with an event saying so; a freed address lets it run.
func TestPodIPPoolExhaustion(t *testing.T) {
	// A /29: six addresses, the first the bridge's, so five pods.
	s := startNode(t, "--node-cidr-mask-size", "29")
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	var b strings.Builder
	for i := range 6 {
		fmt.Fprintf(&b, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p%d\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - {name: app, image: busybox, command: [sleep, \"3600\"]}\n---\n", i)
	}
	k.MustRun(b.String(), "apply", "-f", "-")
	var stuck string
	framework.Eventually(t, 60*time.Second, "five pods running, one refused an IP", func() bool {
		pods, err := s.Client().CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false
		}
		running := 0
		stuck = ""
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			} else {
				stuck = p.Name
			}
		}
		return running == 5 && stuck != "" && hasEvent(t, s, stuck, "FailedCreatePodSandBox", "no free pod IP in the node's pod CIDR")()
	})
	if out := k.MustRun("", "get", "pod", stuck); !strings.Contains(out, "ContainerCreating") {
		t.Errorf("get pod %s:\n%s", stuck, out)
	}
	victim := "p0"
	if stuck == "p0" {
		victim = "p1"
	}
	k.MustRun("", "delete", "pod", victim, "--grace-period=1")
	waitForPod(t, s, "default", stuck, 60*time.Second, "Running once an address is free", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
}
