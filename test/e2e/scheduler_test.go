package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/orca-pods/orca/test/e2e/framework"
)

// registerNode creates a Ready node the way an agent would, with capacity.
func registerNode(t *testing.T, client kubernetes.Interface, name, cpu, memory string, labels map[string]string, taints ...corev1.Taint) {
	t.Helper()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(cpu),
		corev1.ResourceMemory: resource.MustParse(memory),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	now := metav1.Now()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{
			Capacity: capacity, Allocatable: capacity,
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}},
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.37.2+orca", ContainerRuntimeVersion: "orca://test", OSImage: "Debian", KernelVersion: "6.1"},
		},
	}
	if _, err := client.CoreV1().Nodes().Create(context.Background(), node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func podWithCPU(name, cpu string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  containers:
  - name: app
    image: busybox:1.36
    resources:
      requests:
        cpu: %q
`, name, cpu)
}

func TestSchedulerBindsToAFittingNodeAndExplainsWhyNot(t *testing.T) {
	s := framework.StartServer(t)
	client := s.Client()
	registerNode(t, client, "node-a", "2", "4Gi", map[string]string{"disk": "ssd"})
	forEachKubectl(t, s, func(t *testing.T, k *framework.Kubectl, ns string) {
		k.MustRun(podWithCPU("fits", "500m"), "apply", "-n", ns, "-f", "-")
		framework.Eventually(t, 20*time.Second, "pod bound to node-a", func() bool {
			return k.MustRun("", "get", "pod", "fits", "-n", ns, "-o", "jsonpath={.spec.nodeName}") == "node-a"
		})
		wide := k.MustRun("", "get", "pod", "fits", "-n", ns, "-o", "wide")
		if !regexp.MustCompile(`(?m)^fits\s+0/1\s+Pending\s+0\s+\S+\s+<none>\s+node-a\s+<none>\s+<none>$`).MatchString(wide) {
			t.Fatalf("wide:\n%s", wide)
		}
		desc := k.MustRun("", "describe", "pod", "fits", "-n", ns)
		if !strings.Contains(desc, fmt.Sprintf("Successfully assigned %s/fits to node-a", ns)) || !regexp.MustCompile(`Normal\s+Scheduled`).MatchString(desc) {
			t.Fatalf("describe lacks the Scheduled event:\n%s", desc)
		}

		k.MustRun(podWithCPU("greedy", "3"), "apply", "-n", ns, "-f", "-")
		want := "0/1 nodes are available: 1 Insufficient cpu."
		framework.Eventually(t, 20*time.Second, "FailedScheduling for cpu", func() bool {
			return strings.Contains(k.MustRun("", "describe", "pod", "greedy", "-n", ns), want)
		})
		cond := k.MustRun("", "get", "pod", "greedy", "-n", ns, "-o", `jsonpath={.status.conditions[?(@.type=="PodScheduled")].reason}`)
		if cond != "Unschedulable" {
			t.Fatalf("PodScheduled reason = %q", cond)
		}

		picky := strings.Replace(podWithCPU("picky", "100m"), "spec:\n", "spec:\n  nodeSelector:\n    disk: hdd\n", 1)
		k.MustRun(picky, "apply", "-n", ns, "-f", "-")
		framework.Eventually(t, 20*time.Second, "FailedScheduling for the selector", func() bool {
			return strings.Contains(k.MustRun("", "describe", "pod", "picky", "-n", ns),
				"0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.")
		})
	})
}

func TestUnschedulablePodIsBoundWhenANodeArrives(t *testing.T) {
	s := framework.StartServer(t)
	client := s.Client()
	ctx := context.Background()
	registerNode(t, client, "tainted", "4", "8Gi", nil, corev1.Taint{Key: "dedicated", Value: "database", Effect: corev1.TaintEffectNoSchedule})
	k := framework.NewKubectl(t, s, framework.KubectlVersions[0])
	k.MustRun(podWithCPU("waiting", "1"), "apply", "-f", "-")
	framework.Eventually(t, 20*time.Second, "taint message", func() bool {
		p, err := client.CoreV1().Pods("default").Get(ctx, "waiting", metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && strings.HasPrefix(c.Message, "0/1 nodes are available: 1 node(s) had untolerated taint") {
				return true
			}
		}
		return false
	})
	registerNode(t, client, "fresh", "2", "2Gi", nil)
	framework.Eventually(t, 30*time.Second, "pod bound to the new node", func() bool {
		p, err := client.CoreV1().Pods("default").Get(ctx, "waiting", metav1.GetOptions{})
		return err == nil && p.Spec.NodeName == "fresh"
	})
	nodes := k.MustRun("", "get", "nodes")
	if !regexp.MustCompile(`(?m)^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$`).MatchString(nodes) ||
		!regexp.MustCompile(`(?m)^fresh\s+Ready\s+<none>\s+\S+\s+v1\.37\.2\+orca$`).MatchString(nodes) {
		t.Fatalf("get nodes:\n%s", nodes)
	}
}

func TestNotReadyNodeIsTaintedAndAvoided(t *testing.T) {
	s := framework.StartServer(t)
	client := s.Client()
	ctx := context.Background()
	registerNode(t, client, "sick", "4", "8Gi", nil)
	node, err := client.CoreV1().Nodes().Get(ctx, "sick", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Conditions[0].Status = corev1.ConditionFalse
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 20*time.Second, "not-ready taint", func() bool {
		n, err := client.CoreV1().Nodes().Get(ctx, "sick", metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, tn := range n.Spec.Taints {
			if tn.Key == corev1.TaintNodeNotReady && tn.Effect == corev1.TaintEffectNoSchedule {
				return true
			}
		}
		return false
	})
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	if out := k.MustRun("", "get", "nodes"); !regexp.MustCompile(`(?m)^sick\s+NotReady\s+`).MatchString(out) {
		t.Fatalf("get nodes:\n%s", out)
	}
	k.MustRun(podWithCPU("avoid", "100m"), "apply", "-f", "-")
	framework.Eventually(t, 20*time.Second, "FailedScheduling on the not-ready node", func() bool {
		return strings.Contains(k.MustRun("", "describe", "pod", "avoid"), "0/1 nodes are available: 1 node(s) had untolerated taint")
	})
}
