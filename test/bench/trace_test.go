package bench

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// TestTraceOnePodStart prints when each watch event of one pod start
// arrived, to see where start-up time goes. Run with ORCA_TRACE=1.
func TestTraceOnePodStart(t *testing.T) {
	if testing.Short() || !traceEnabled() {
		t.Skip("set ORCA_TRACE=1")
	}
	s := startNodeT(t)
	client := unthrottled(s)
	for _, name := range []string{"warm", "t1", "t2", "t3", "t4", "t5"} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		w, _ := client.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
		start := time.Now()
		client.CoreV1().Pods("default").Create(ctx, sleepPod(name), metav1.CreateOptions{})
		for ev := range w.ResultChan() {
			p := ev.Object.(*corev1.Pod)
			state := ""
			for _, cs := range p.Status.ContainerStatuses {
				state = cs.State.String()
			}
			t.Logf("%s +%6.1fms %s node=%q phase=%s %s", name, float64(time.Since(start).Microseconds())/1000, ev.Type, p.Spec.NodeName, p.Status.Phase, state)
			if allRunning(p) {
				break
			}
		}
		cancel()
	}
}
