package network

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkPodSetupTeardown measures one pod's Setup and Teardown on a
// node bridge that already has other pods, and reports the medians
// (setup-p50-ms, teardown-p50-ms). Creating and destroying the pod's
// namespace is not measured.
//
//	go test -tags seccomp -run '^$' -bench PodSetupTeardown -benchtime 200x ./internal/network/
func BenchmarkPodSetupTeardown(b *testing.B) {
	nd := newNode(b, "10.244.1.0/24")
	for i := range 3 { // the first pod also brings up the bridge: not typical
		nd.newPod(b, fmt.Sprintf("resident-%d", i))
	}
	dir := b.TempDir()
	var setups, teardowns []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		uid := fmt.Sprintf("bench-%d", i)
		ns := filepath.Join(dir, uid)
		if err := pinNewNetns(ns); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := nd.net.Setup(b.Context(), uid, ns); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := nd.net.Teardown(b.Context(), uid, ns); err != nil {
			b.Fatal(err)
		}
		end := time.Now()
		b.StopTimer()
		setups, teardowns = append(setups, mid.Sub(start)), append(teardowns, end.Sub(mid))
		if err := unpinNetns(ns); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(median(setups), "setup-p50-ms")
	b.ReportMetric(median(teardowns), "teardown-p50-ms")
}

func median(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[len(ds)/2]) / float64(time.Millisecond)
}

// BenchmarkPodSetupTeardownWithHostPort is BenchmarkPodSetupTeardown for
// pods with one host port, through SetUpPod and TearDownPod: what a host
// port adds (state file, one nftables transaction each way).
//
//	go test -tags seccomp -run '^$' -bench PodSetupTeardownWithHostPort -benchtime 200x ./internal/network/
func BenchmarkPodSetupTeardownWithHostPort(b *testing.B) {
	nd := newNode(b, "10.244.1.0/24")
	for i := range 3 {
		nd.mustSetUpPod(b, fmt.Sprintf("resident-%d", i), "resident", HostPort{HostPort: int32(30000 + i), ContainerPort: 80})
	}
	dir := b.TempDir()
	var setups, teardowns []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		p := Pod{UID: fmt.Sprintf("bench-%d", i), Namespace: "default", Name: "bench",
			HostPorts: []HostPort{{HostPort: 30080, ContainerPort: 8080}}}
		p.NetNSPath = filepath.Join(dir, p.UID)
		if err := pinNewNetns(p.NetNSPath); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := nd.net.SetUpPod(b.Context(), p); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := nd.net.TearDownPod(b.Context(), p); err != nil {
			b.Fatal(err)
		}
		end := time.Now()
		b.StopTimer()
		setups, teardowns = append(setups, mid.Sub(start)), append(teardowns, end.Sub(mid))
		if err := unpinNetns(p.NetNSPath); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(median(setups), "setup-p50-ms")
	b.ReportMetric(median(teardowns), "teardown-p50-ms")
}
