package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/orca-pods/orca/internal/testimages"
	"github.com/orca-pods/orca/test/e2e/framework"
)

func traceEnabled() bool { return os.Getenv("ORCA_TRACE") != "" }

func startNodeT(t *testing.T) *framework.Server { return startNodeTB(t) }

func startNode(b *testing.B) *framework.Server { return startNodeTB(b) }

func startNodeTB(b testing.TB) *framework.Server {
	if os.Geteuid() != 0 {
		b.Skip("running containers needs root")
	}
	_, registries := testimages.StartRegistry(b)
	path := filepath.Join(b.TempDir(), "registries.yaml")
	if err := os.WriteFile(path, []byte(registries), 0o644); err != nil {
		b.Fatal(err)
	}
	return framework.StartNode(b, "--registry-config", path)
}

// unthrottled is a client without client-go's default 5 QPS limit, which
// would otherwise be what the benchmarks measure.
func unthrottled(s *framework.Server) kubernetes.Interface {
	cfg := s.RESTConfig()
	cfg.QPS, cfg.Burst = 10000, 10000
	return s.ClientFor(cfg)
}

func sleepPod(name string, command ...string) *corev1.Pod {
	if len(command) == 0 {
		command = []string{"sleep", "3600"}
	}
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers:                    []corev1.Container{{Name: "app", Image: "busybox:1.36", ImagePullPolicy: corev1.PullIfNotPresent, Command: command}},
		},
	}
}

func allRunning(p *corev1.Pod) bool {
	if len(p.Status.ContainerStatuses) != len(p.Spec.Containers) {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
}

// startOne creates a pod and returns the time from the POST to the watch
// event showing all its containers running (the Kubernetes pod-startup SLI).
func startOne(b *testing.B, client kubernetes.Interface, pod *corev1.Pod) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w, err := client.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", pod.Name).String()})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	start := time.Now()
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	for ev := range w.ResultChan() {
		if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type != watch.Deleted && allRunning(p) {
			return time.Since(start)
		}
	}
	b.Fatalf("pod %s never ran", pod.Name)
	return 0
}

// BenchmarkPodStartupLatency: API POST to "all containers running" seen
// through a watch, busybox sleep, image present; 40 pods one after another.
func BenchmarkPodStartupLatency(b *testing.B) {
	s := startNode(b)
	client := unthrottled(s)
	startOne(b, client, sleepPod("warmup")) // pulls the image
	for i := 0; i < b.N; i++ {
		var ms []float64
		for j := 0; j < 40; j++ {
			ms = append(ms, float64(startOne(b, client, sleepPod(fmt.Sprintf("lat-%d-%d", i, j))).Microseconds())/1000)
		}
		b.Logf("start latencies in order (ms): %.0f", ms)
		b.ReportMetric(median(ms), "p50-ms")
		b.ReportMetric(percentile(ms, 0.99), "p99-ms")
	}
}

// BenchmarkHundredPodsAtOnce: 100 pods created concurrently until all run;
// also the server's (API server + agent) resident memory per running pod.
func BenchmarkHundredPodsAtOnce(b *testing.B) {
	s := startNode(b)
	client := unthrottled(s)
	startOne(b, client, sleepPod("warmup"))
	time.Sleep(2 * time.Second)
	rssBefore := rssMiB(b, s.PID())
	for i := 0; i < b.N; i++ {
		start := time.Now()
		var wg sync.WaitGroup
		for j := 0; j < 100; j++ {
			wg.Add(1)
			go func() { defer wg.Done(); startOne(b, client, sleepPod(fmt.Sprintf("many-%d-%d", i, j))) }()
		}
		wg.Wait()
		b.ReportMetric(time.Since(start).Seconds(), "s-all-running")
		time.Sleep(5 * time.Second)
		rssAfter := rssMiB(b, s.PID())
		b.ReportMetric(rssAfter, "MiB-server-rss-100-pods")
		b.ReportMetric((rssAfter-rssBefore)*1024/100, "KiB-server-rss-per-pod")
	}
}

// BenchmarkExitVisibleInStatus: from a container's exit to the watch event
// showing it terminated. The container busy-waits on a host file, so the
// test knows when it exits to within microseconds.
func BenchmarkExitVisibleInStatus(b *testing.B) {
	s := startNode(b)
	client := unthrottled(s)
	dir := b.TempDir()
	for i := 0; i < b.N; i++ {
		var ms []float64
		for j := 0; j < 10; j++ {
			name := fmt.Sprintf("exit-%d-%d", i, j)
			trigger := filepath.Join(dir, name)
			pod := sleepPod(name, "sh", "-c", "while [ ! -e /trigger/"+name+" ]; do :; done")
			pod.Spec.RestartPolicy = corev1.RestartPolicyNever
			pod.Spec.Volumes = []corev1.Volume{{Name: "t", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}}}}
			pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "t", MountPath: "/trigger"}}
			startOne(b, client, pod)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			w, err := client.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if err := os.WriteFile(trigger, nil, 0o644); err != nil {
				b.Fatal(err)
			}
			for ev := range w.ResultChan() {
				if p, ok := ev.Object.(*corev1.Pod); ok && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Terminated != nil {
					ms = append(ms, float64(time.Since(start).Microseconds())/1000)
					break
				}
			}
			w.Stop()
			cancel()
		}
		b.ReportMetric(median(ms), "p50-ms")
		b.ReportMetric(percentile(ms, 0.99), "max-ms")
	}
}
