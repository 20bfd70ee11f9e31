package e2e

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/test/e2e/framework"
)

// Three pods whose eviction order the kubelet's ranking fixes: first the
// pods using more memory than they request, the larger excess first (the
// BestEffort pod's 50 MiB over nothing, then the Burstable pod's 30 MiB
// over 5 Mi), then the Guaranteed pod within its request.
const evictionPods = `apiVersion: v1
kind: Pod
metadata: {name: best-effort}
spec:
  terminationGracePeriodSeconds: 1
  tolerations: [{key: node.kubernetes.io/memory-pressure, operator: Exists, effect: NoSchedule}]
  containers:
  - {name: app, image: busybox, command: [sh, -c, "dd if=/dev/zero of=/dev/shm/fill bs=1M count=50; sleep 3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: burstable}
spec:
  terminationGracePeriodSeconds: 1
  tolerations: [{key: node.kubernetes.io/memory-pressure, operator: Exists, effect: NoSchedule}]
  containers:
  - name: app
    image: busybox
    command: [sh, -c, "dd if=/dev/zero of=/dev/shm/fill bs=1M count=30; sleep 3600"]
    resources: {requests: {memory: 5Mi}, limits: {memory: 200Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: guaranteed}
spec:
  terminationGracePeriodSeconds: 1
  tolerations: [{key: node.kubernetes.io/memory-pressure, operator: Exists, effect: NoSchedule}]
  containers:
  - name: app
    image: busybox
    command: [sleep, "3600"]
    resources: {limits: {memory: 64Mi, cpu: 100m}}
`

// Node-pressure eviction with a threshold the machine always meets: the
// node reports MemoryPressure and is tainted, and pods are evicted one per
// cycle in the kubelet's order, each Failed with reason Evicted.
func TestMemoryPressureEvictsInTheKubeletsOrder(t *testing.T) {
	s := startNode(t, "--eviction-hard", "memory.available<1000Gi",
		"--eviction-monitoring-interval", "8s", "--eviction-pressure-transition-period", "1m")
	ctx := context.Background()
	framework.Eventually(t, 30*time.Second, "MemoryPressure and its taint", func() bool {
		node, err := s.Client().CoreV1().Nodes().Get(ctx, "orca-e2e", metav1.GetOptions{})
		if err != nil {
			return false
		}
		pressure := false
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeMemoryPressure && c.Status == corev1.ConditionTrue && c.Reason == "KubeletHasInsufficientMemory" {
				pressure = true
			}
		}
		tainted := slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeMemoryPressure })
		return pressure && tainted
	})
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun(evictionPods, "apply", "-f", "-")

	var order []string
	framework.Eventually(t, 90*time.Second, "all three evicted", func() bool {
		for _, name := range []string{"best-effort", "burstable", "guaranteed"} {
			if slices.Contains(order, name) {
				continue
			}
			p, err := s.Client().CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if err == nil && p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted" {
				order = append(order, name)
			}
		}
		return len(order) == 3
	})
	if want := []string{"best-effort", "burstable", "guaranteed"}; !slices.Equal(order, want) {
		t.Errorf("eviction order %v, want %v", order, want)
	}
	p, _ := s.Client().CoreV1().Pods("default").Get(ctx, "best-effort", metav1.GetOptions{})
	if !regexp.MustCompile(`^The node was low on resource: memory\. Threshold quantity: 1000Gi, available: \d+Ki\. Container app was using \d+Ki, request is 0, has larger consumption of memory\. $`).MatchString(p.Status.Message) {
		t.Errorf("message %q", p.Status.Message)
	}
	if !slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
		return c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue && c.Reason == "TerminationByKubelet"
	}) {
		t.Errorf("conditions %+v", p.Status.Conditions)
	}
	// As with a current kubelet, get shows the killed container's reason
	// (Error); describe shows the pod's.
	for _, v := range framework.KubectlVersions {
		out := framework.NewKubectl(t, s, v).MustRun("", "describe", "pod", "best-effort")
		if !regexp.MustCompile(`(?m)^Status:\s+Failed\nReason:\s+Evicted\nMessage:\s+The node was low on resource: memory\.`).MatchString(out) {
			t.Errorf("kubectl %s describe pod:\n%s", v, out)
		}
	}
	if ev := eventMessages(t, s, "best-effort", "Evicted"); len(ev) == 0 || !strings.HasPrefix(ev[0], "The node was low on resource: memory.") {
		t.Errorf("Evicted events: %q", ev)
	}
}
