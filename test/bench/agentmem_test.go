package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/orca-pods/orca/test/e2e/framework"
)

// BenchmarkAgentMemoryWith100Pods estimates the node agent's own resident
// memory with 100 running pods. The agent shares `orca server`'s process,
// so the same 100 pods are also created on a server without an agent,
// bound to a registered Node and never run; the difference between the
// two processes' RSS is the agent's share (its runtime, pod workers,
// informers and endpoint).
func BenchmarkAgentMemoryWith100Pods(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var withAgent, without []float64
		for r := 0; r < 3; r++ {
			s := startNode(b)
			client := unthrottled(s)
			startOne(b, client, sleepPod("warmup"))
			createRunning(b, client, 100)
			time.Sleep(10 * time.Second)
			withAgent = append(withAgent, rssMiB(b, s.PID()))
			s.DeleteAllPods(2 * time.Minute)
			s.Stop()

			c := framework.StartServer(b)
			cclient := unthrottled(c)
			registerFakeNode(b, cclient)
			createBound(b, cclient, 101)
			time.Sleep(10 * time.Second)
			without = append(without, rssMiB(b, c.PID()))
			c.Stop()
		}
		b.ReportMetric(median(withAgent), "MiB-server-with-agent")
		b.ReportMetric(median(without), "MiB-server-without-agent")
		b.ReportMetric(median(withAgent)-median(without), "MiB-agent-estimate")
	}
}

func createRunning(b *testing.B, client kubernetes.Interface, n int) {
	var wg sync.WaitGroup
	for j := 0; j < n; j++ {
		wg.Add(1)
		go func() { defer wg.Done(); startOne(b, client, sleepPod(fmt.Sprintf("mem-%d", j))) }()
	}
	wg.Wait()
}

func registerFakeNode(b *testing.B, client kubernetes.Interface) {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods: resource.MustParse("500"),
	}
	now := metav1.Now()
	_, err := client.CoreV1().Nodes().Create(context.Background(), &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "orca-e2e"},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity,
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: now, LastTransitionTime: now}}},
	}, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
}

func createBound(b *testing.B, client kubernetes.Interface, n int) {
	ctx := context.Background()
	for j := 0; j < n; j++ {
		if _, err := client.CoreV1().Pods("default").Create(ctx, sleepPod(fmt.Sprintf("mem-%d", j)), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		list, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=orca-e2e"})
		if err == nil && len(list.Items) == n {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.Fatal("pods were not bound")
}
