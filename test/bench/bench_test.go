// Package bench measures orca's control plane against the goals in the
// issues: start-to-ready time, idle memory, and pod-create throughput and
// latency. Each benchmark repeats its measurement and reports medians.
//
//	make bench    # or: go test -run '^$' -bench . -benchtime 1x ./test/bench/
package bench

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/test/e2e/framework"
)

const runs = 5

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func percentile(xs []float64, p float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[int(float64(len(s)-1)*p)]
}

// BenchmarkServerStartToReady: process start to the first 200 from /readyz.
func BenchmarkServerStartToReady(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var ms []float64
		for r := 0; r < runs; r++ {
			start := time.Now()
			s := framework.StartServer(b)
			ms = append(ms, float64(time.Since(start).Milliseconds()))
			s.Stop()
		}
		b.ReportMetric(median(ms), "ms-to-ready(median)")
	}
}

// BenchmarkServerIdleRSS: resident memory of an idle server with embedded
// etcd, 10 s after it became ready.
func BenchmarkServerIdleRSS(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var mib []float64
		for r := 0; r < runs; r++ {
			s := framework.StartServer(b)
			time.Sleep(10 * time.Second)
			mib = append(mib, rssMiB(b, s.PID()))
			s.Stop()
		}
		b.ReportMetric(median(mib), "MiB-rss(median)")
	}
}

// BenchmarkCreate1000Pods: 1,000 pods created through the API by 16
// concurrent clients, no node agent; throughput and per-request latency.
func BenchmarkCreate1000Pods(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var rates, p50s, p99s []float64
		for r := 0; r < runs; r++ {
			s := framework.StartServer(b)
			rate, p50, p99 := createPods(b, s, 1000, 16)
			rates, p50s, p99s = append(rates, rate), append(p50s, p50), append(p99s, p99)
			s.Stop()
		}
		b.ReportMetric(median(rates), "pods/s(median)")
		b.ReportMetric(median(p50s), "p50-ms(median)")
		b.ReportMetric(median(p99s), "p99-ms(median)")
	}
}

func createPods(b *testing.B, s *framework.Server, n, workers int) (rate, p50, p99 float64) {
	cfg := s.RESTConfig()
	cfg.QPS, cfg.Burst = 10000, 10000
	client := s.ClientFor(cfg)
	ctx := context.Background()
	lat := make([]float64, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", j)},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: "app", Image: "busybox:1.36", Command: []string{"sleep", "3600"},
					}}},
				}
				t0 := time.Now()
				if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
					b.Errorf("create %s: %v", pod.Name, err)
				}
				lat[j] = float64(time.Since(t0).Microseconds()) / 1000
			}
		}()
	}
	for j := 0; j < n; j++ {
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	return float64(n) / elapsed, percentile(lat, 0.5), percentile(lat, 0.99)
}

func rssMiB(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
