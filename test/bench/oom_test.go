package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/cgroups"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/orca-pods/orca/internal/agent/pods"
)

// BenchmarkOOMKillVisibleInStatus: from the moment the kernel's OOM killer
// records a kill in a container's memory cgroup (the test polls the
// counter every 0.2 ms) to the watch event showing the container
// terminated with OOMKilled; 10 kills, median and max.
func BenchmarkOOMKillVisibleInStatus(b *testing.B) {
	if cgroups.IsCgroup2UnifiedMode() {
		b.Skip("polls the cgroup v1 memory.oom_control")
	}
	s := startNode(b)
	client := unthrottled(s)
	dir := b.TempDir()
	mem, err := cgroups.FindCgroupMountpoint("", "memory")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		var ms []float64
		for j := 0; j < 10; j++ {
			name := fmt.Sprintf("oom-%d-%d", i, j)
			// After the trigger, tail keeps all of an endless line in memory.
			pod := sleepPod(name, "sh", "-c", "while [ ! -e /trigger/"+name+" ]; do sleep 0.01; done; head -c 500m /dev/zero | tail")
			pod.Spec.RestartPolicy = corev1.RestartPolicyNever
			pod.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}
			pod.Spec.Volumes = []corev1.Volume{{Name: "t", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}}}}
			pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "t", MountPath: "/trigger"}}
			startOne(b, client, pod)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			p, err := client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				b.Fatal(err)
			}
			id := strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, "orca://")
			oomControl := filepath.Join(mem, pods.PodCgroup(p), id, "memory.oom_control")
			w, err := client.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
			if err != nil {
				b.Fatal(err)
			}
			killed := make(chan time.Time, 1)
			go func() {
				for ctx.Err() == nil {
					data, err := os.ReadFile(oomControl)
					if err == nil && !strings.Contains(string(data), "oom_kill 0") {
						killed <- time.Now()
						return
					}
					time.Sleep(200 * time.Microsecond)
				}
			}()
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
				b.Fatal(err)
			}
			for ev := range w.ResultChan() {
				p, ok := ev.Object.(*corev1.Pod)
				if !ok || len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Terminated == nil {
					continue
				}
				seen := time.Now()
				if r := p.Status.ContainerStatuses[0].State.Terminated.Reason; r != "OOMKilled" {
					b.Fatalf("terminated with %q", r)
				}
				select {
				case at := <-killed:
					ms = append(ms, float64(seen.Sub(at).Microseconds())/1000)
				case <-time.After(time.Second):
					b.Fatal("the OOM kill was never seen in the cgroup")
				}
				break
			}
			w.Stop()
			cancel()
		}
		b.ReportMetric(median(ms), "p50-ms")
		b.ReportMetric(percentile(ms, 0.99), "max-ms")
	}
}
