package stats

import (
	"context"
	"errors"
	"testing"
	"time"

	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	clocktesting "k8s.io/utils/clock/testing"
)

const mib = 1 << 20

func val(p *uint64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestRateTracker(t *testing.T) {
	t0 := time.Unix(1000, 0)
	rt := newRateTracker()
	steps := []struct {
		name  string
		usage uint64
		at    time.Duration
		want  any // uint64 nanocores or nil
	}{
		{"first sample has no rate", 5e9, 0, nil},
		{"too soon, no rate yet", 5e9 + 1e8, 500 * time.Millisecond, nil},
		// 1.5 cores for 2s, measured from the first sample.
		{"rate over the window", 8e9, 2 * time.Second, uint64(1.5e9)},
		{"too soon repeats the rate", 8e9 + 9e9, 2*time.Second + 10*time.Millisecond, uint64(1.5e9)},
		{"idle", 8e9, 4 * time.Second, uint64(0)},
		{"quarter core", 8e9 + 25e7, 5 * time.Second, uint64(25e7)},
		{"counter reset starts over", 1e6, 6 * time.Second, nil},
		{"after the reset", 1e6 + 2e9, 8 * time.Second, uint64(1e9)},
		{"clock went back starts over", 1e6 + 3e9, 7 * time.Second, nil},
	}
	for _, s := range steps {
		if got := val(rt.observe("/pod", s.usage, t0.Add(s.at))); got != s.want {
			t.Errorf("%s: rate = %v, want %v", s.name, got, s.want)
		}
	}

	rt.observe("/gone", 1, t0)
	rt.retain(map[string]bool{"/pod": true})
	if _, ok := rt.samples["/gone"]; ok {
		t.Error("retain kept a sample not asked for")
	}
	if _, ok := rt.samples["/pod"]; !ok {
		t.Error("retain dropped a kept sample")
	}
}

func TestWorkingSet(t *testing.T) {
	for _, c := range []struct{ usage, inactive, want uint64 }{
		{100 * mib, 30 * mib, 70 * mib},
		{100 * mib, 0, 100 * mib},
		{100 * mib, 100 * mib, 0},
		{10 * mib, 11 * mib, 0}, // counters read at different moments
	} {
		if got := workingSet(c.usage, c.inactive); got != c.want {
			t.Errorf("workingSet(%d, %d) = %d, want %d", c.usage, c.inactive, got, c.want)
		}
	}
	m := meminfo{total: 1000, free: 300, inactiveFile: 200}
	if m.usage() != 700 || m.workingSet() != 500 {
		t.Errorf("meminfo usage/workingSet = %d/%d, want 700/500", m.usage(), m.workingSet())
	}
}

// cgroupLayouts runs a test against fake v1 and v2 cgroup trees.
var cgroupLayouts = []struct {
	name  string
	fs    func(root string) *cgroupFS
	write func(t *testing.T, fs *cgroupFS, rel string, c fakeCgroup)
}{
	{"v1", fakeV1, writeV1},
	{"v2", fakeV2, writeV2},
}

func TestReadCgroup(t *testing.T) {
	for _, l := range cgroupLayouts {
		t.Run(l.name, func(t *testing.T) {
			fs := l.fs(t.TempDir())
			l.write(t, fs, "/orca/burstable/podX", fakeCgroup{
				cpuNanos: 7e9, usage: 100 * mib, inactiveFile: 30 * mib, rss: 60 * mib,
				pgfault: 1234, pgmajfault: 12, processes: 4,
			})
			raw, err := fs.read("orca/burstable/podX", true)
			if err != nil {
				t.Fatal(err)
			}
			m := raw.memory
			if m == nil {
				t.Fatal("no memory stats")
			}
			want := memoryUsage{usage: 100 * mib, workingSet: 70 * mib, rss: 60 * mib, pageFaults: 1234, majorPageFaults: 12}
			if *m != want {
				t.Errorf("memory = %+v, want %+v", *m, want)
			}
			if val(raw.cpu) != uint64(7e9) {
				t.Errorf("cpu = %v, want 7e9", val(raw.cpu))
			}
			if val(raw.processes) != uint64(4) {
				t.Errorf("processes = %v, want 4", val(raw.processes))
			}
			if l.name == "v2" && (raw.cpuPSI == nil || raw.cpuPSI.Some.Total != 1234 || raw.cpuPSI.Some.Avg10 != 1.5) {
				t.Errorf("cpu PSI = %+v", raw.cpuPSI)
			}

			// Memory only: no CPU or pids read.
			raw, err = fs.read("/orca/burstable/podX", false)
			if err != nil {
				t.Fatal(err)
			}
			if raw.cpu != nil || raw.processes != nil || raw.memory == nil {
				t.Errorf("memory-only read = cpu %v, processes %v, memory %v", raw.cpu, raw.processes, raw.memory)
			}

			if _, err := fs.read("/orca/burstable/podGone", true); !errors.Is(err, ErrCgroupNotFound) {
				t.Errorf("missing cgroup: err = %v, want ErrCgroupNotFound", err)
			}
			// ".." cannot reach outside the hierarchy.
			if _, err := fs.read("/../../etc", true); !errors.Is(err, ErrCgroupNotFound) {
				t.Errorf("escaping path: err = %v, want ErrCgroupNotFound", err)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	for _, l := range cgroupLayouts {
		t.Run(l.name, func(t *testing.T) {
			root, proc, data := t.TempDir(), t.TempDir(), t.TempDir()
			fs := l.fs(root)
			const podCg, appCg, sideCg = "/orca/burstable/poduid-1", "/orca/burstable/poduid-1/c1", "/orca/burstable/poduid-1/c2"
			l.write(t, fs, podCg, fakeCgroup{cpuNanos: 10e9, usage: 90 * mib, inactiveFile: 10 * mib, rss: 70 * mib, processes: 3})
			l.write(t, fs, appCg, fakeCgroup{cpuNanos: 6e9, usage: 50 * mib, inactiveFile: 5 * mib, rss: 40 * mib, processes: 2})
			procs := fakeProc{cpuTicks: 100_000, memTotalKB: 8 << 20, memFreeKB: 2 << 20, availKB: 5 << 20, inactiveFileKB: 1 << 20, anonKB: 3 << 20}
			writeProc(t, proc, procs)

			start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			clk := clocktesting.NewFakePassiveClock(start)
			pods := []PodInfo{
				{
					Name: "web", Namespace: "default", UID: "uid-1", CgroupPath: podCg, StartTime: start.Add(-time.Hour),
					Containers: []ContainerInfo{
						{Name: "app", CgroupPath: appCg, StartTime: start.Add(-time.Minute)},
						// Listed but its cgroup is gone (just exited): left out.
						{Name: "sidecar", CgroupPath: sideCg},
					},
				},
				// Its cgroup is gone altogether: the pod is left out.
				{Name: "stopping", Namespace: "default", UID: "uid-2", CgroupPath: "/orca/besteffort/poduid-2"},
			}
			p := newProvider(Config{NodeName: "node-a", DataDir: data, Pods: func() []PodInfo { return pods }, Clock: clk}, fs, proc)

			s, err := p.Summary(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			n := s.Node
			if n.NodeName != "node-a" || !n.StartTime.Time.Equal(time.Unix(1700000000, 0)) {
				t.Errorf("node name/start = %q/%v", n.NodeName, n.StartTime)
			}
			if val(n.CPU.UsageCoreNanoSeconds) != uint64(100_000*1e7) || n.CPU.UsageNanoCores != nil {
				t.Errorf("node cpu = %v ns, %v nanocores; want 1e12 ns and no rate yet", val(n.CPU.UsageCoreNanoSeconds), val(n.CPU.UsageNanoCores))
			}
			checkMemory(t, "node", n.Memory, map[string]uint64{
				"available": 5 << 30, "usage": 6 << 30, "workingSet": 5 << 30, "rss": 3 << 30,
			})
			if n.Fs == nil || val(n.Fs.CapacityBytes) == nil || n.Runtime == nil || n.Runtime.ImageFs == nil || n.Runtime.ContainerFs == nil {
				t.Errorf("node fs = %+v, runtime = %+v", n.Fs, n.Runtime)
			} else if *n.Fs.CapacityBytes < *n.Fs.AvailableBytes || *n.Runtime.ImageFs.CapacityBytes != *n.Fs.CapacityBytes {
				t.Errorf("node fs capacity %d < available %d, or imagefs differs", *n.Fs.CapacityBytes, *n.Fs.AvailableBytes)
			}
			if n.Rlimit == nil || *n.Rlimit.MaxPID != 4194304 || *n.Rlimit.NumOfRunningProcesses != 456 {
				t.Errorf("node rlimit = %+v", n.Rlimit)
			}

			if len(s.Pods) != 1 {
				t.Fatalf("pods = %d, want 1 (the pod without a cgroup left out)", len(s.Pods))
			}
			pod := s.Pods[0]
			if pod.PodRef != (statsv1alpha1.PodReference{Name: "web", Namespace: "default", UID: "uid-1"}) || !pod.StartTime.Time.Equal(start.Add(-time.Hour)) {
				t.Errorf("pod ref/start = %+v/%v", pod.PodRef, pod.StartTime)
			}
			checkMemory(t, "pod", pod.Memory, map[string]uint64{"usage": 90 * mib, "workingSet": 80 * mib, "rss": 70 * mib})
			if pod.ProcessStats == nil || val(pod.ProcessStats.ProcessCount) != uint64(3) {
				t.Errorf("pod process stats = %+v", pod.ProcessStats)
			}
			if val(pod.CPU.UsageCoreNanoSeconds) != uint64(10e9) || pod.CPU.UsageNanoCores != nil || !pod.CPU.Time.Time.Equal(start) {
				t.Errorf("pod cpu = %+v", pod.CPU)
			}
			if len(pod.Containers) != 1 || pod.Containers[0].Name != "app" || !pod.Containers[0].StartTime.Time.Equal(start.Add(-time.Minute)) {
				t.Fatalf("containers = %+v, want app only", pod.Containers)
			}
			checkMemory(t, "container", pod.Containers[0].Memory, map[string]uint64{"usage": 50 * mib, "workingSet": 45 * mib, "rss": 40 * mib})

			// Four seconds on: the pod used 2 cores, the app 0.5 and the
			// machine 3 (1200 ticks of 10ms).
			clk.SetTime(start.Add(4 * time.Second))
			l.write(t, fs, podCg, fakeCgroup{cpuNanos: 18e9, usage: 90 * mib, inactiveFile: 10 * mib, processes: 3})
			l.write(t, fs, appCg, fakeCgroup{cpuNanos: 8e9, usage: 50 * mib, processes: 2})
			procs.cpuTicks += 1200
			writeProc(t, proc, procs)
			s, err = p.Summary(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for name, c := range map[string]struct {
				cpu  *statsv1alpha1.CPUStats
				want uint64
			}{
				"node": {s.Node.CPU, 3e9}, "pod": {s.Pods[0].CPU, 2e9}, "container": {s.Pods[0].Containers[0].CPU, 5e8},
			} {
				if val(c.cpu.UsageNanoCores) != c.want {
					t.Errorf("%s usageNanoCores = %v, want %d", name, val(c.cpu.UsageNanoCores), c.want)
				}
			}

			// The pod goes away: its samples are forgotten.
			pods = nil
			if _, err := p.Summary(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(p.rates.samples) != 1 {
				t.Errorf("rate samples after the pod left = %v, want the node's only", p.rates.samples)
			}
		})
	}
}

func checkMemory(t *testing.T, what string, m *statsv1alpha1.MemoryStats, want map[string]uint64) {
	t.Helper()
	if m == nil {
		t.Errorf("%s: no memory stats", what)
		return
	}
	got := map[string]*uint64{
		"available": m.AvailableBytes, "usage": m.UsageBytes, "workingSet": m.WorkingSetBytes, "rss": m.RSSBytes,
	}
	for k, w := range want {
		if val(got[k]) != w {
			t.Errorf("%s memory %s = %v, want %d", what, k, val(got[k]), w)
		}
	}
}

func TestEvictionHelpers(t *testing.T) {
	root, proc := t.TempDir(), t.TempDir()
	fs := fakeV1(root)
	writeV1(t, fs, "/orca/guaranteed/podA", fakeCgroup{usage: 300 * mib, inactiveFile: 100 * mib})
	writeProc(t, proc, fakeProc{cpuTicks: 10, memTotalKB: 4 << 20, memFreeKB: 1 << 20, availKB: 2 << 20, inactiveFileKB: 512 << 10})
	p := newProvider(Config{NodeName: "n"}, fs, proc)

	avail, ws, err := p.NodeMemory()
	if err != nil {
		t.Fatal(err)
	}
	if avail != 2<<30 || ws != 3<<30-512<<20 {
		t.Errorf("NodeMemory = %d, %d; want %d, %d", avail, ws, 2<<30, 3<<30-512<<20)
	}
	got, err := p.PodMemoryWorkingSet("/orca/guaranteed/podA")
	if err != nil || got != 200*mib {
		t.Errorf("PodMemoryWorkingSet = %d, %v; want %d", got, err, 200*mib)
	}
	if _, err := p.PodMemoryWorkingSet("/orca/guaranteed/podB"); !errors.Is(err, ErrCgroupNotFound) {
		t.Errorf("missing pod: err = %v, want ErrCgroupNotFound", err)
	}
}

func TestNodeStatsErrors(t *testing.T) {
	proc := t.TempDir()
	p := newProvider(Config{NodeName: "n"}, fakeV1(t.TempDir()), proc)
	if _, err := p.Summary(context.Background()); err == nil {
		t.Error("Summary without /proc/stat succeeded")
	}
	writeFiles(t, proc, map[string]string{"stat": "cpu  1 1 1 1 1 1 1 1 0 0\nbtime 1\n", "meminfo": "MemTotal: 1 kB\n"})
	if _, _, err := p.NodeMemory(); err == nil {
		t.Error("NodeMemory with a partial meminfo succeeded")
	}
	if _, err := p.Summary(context.Background()); err == nil {
		t.Error("Summary with a partial meminfo succeeded")
	}
}
