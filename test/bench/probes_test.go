package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// BenchmarkProbeCPUWith100Pods: 100 pods, each with an HTTP readiness
// probe every second and an exec liveness probe every 10 s; the CPU the
// orca process (API server, controllers and agent together, so an upper
// bound for the agent) uses over 30 s of steady state, in % of one core,
// against the same 100 pods without probes.
func BenchmarkProbeCPUWith100Pods(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var with, without []float64
		for r := 0; r < 3; r++ {
			for _, probes := range []bool{true, false} {
				s := startNode(b)
				client := unthrottled(s)
				var wg sync.WaitGroup
				for j := range 100 {
					wg.Go(func() { startOne(b, client, probedPod(fmt.Sprintf("probed-%d", j), probes)) })
				}
				wg.Wait()
				time.Sleep(5 * time.Second) // probes settle (readiness reported)
				pct := cpuPercent(b, s.PID(), 30*time.Second)
				if probes {
					with = append(with, pct)
				} else {
					without = append(without, pct)
				}
				s.DeleteAllPods(2 * time.Minute)
				s.Stop()
			}
		}
		b.ReportMetric(median(with), "%core-with-probes(median)")
		b.ReportMetric(median(without), "%core-without-probes(median)")
		b.ReportMetric(median(with)-median(without), "%core-probes-estimate")
	}
}

func probedPod(name string, probes bool) *corev1.Pod {
	p := sleepPod(name, "sh", "-c", "echo ok > /tmp/index.html; exec httpd -f -p 8080 -h /tmp")
	if probes {
		c := &p.Spec.Containers[0]
		c.ReadinessProbe = &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}}}
		c.LivenessProbe = &corev1.Probe{PeriodSeconds: 10, ProbeHandler: corev1.ProbeHandler{
			Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	}
	return p
}

// cpuPercent samples a process's user+system time over d.
func cpuPercent(b *testing.B, pid int, d time.Duration) float64 {
	t0 := cpuTicks(b, pid)
	time.Sleep(d)
	return float64(cpuTicks(b, pid)-t0) / 100 / d.Seconds() * 100
}

func cpuTicks(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command (which may hold spaces) start after ")".
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime
}
