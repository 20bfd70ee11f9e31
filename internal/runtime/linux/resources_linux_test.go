package linux

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/cgroups"

	"github.com/orca-pods/orca/internal/runtime"
)

func TestMemoryLimitOOMKillsTheWholeContainer(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("oom")
	for _, tc := range []struct{ name, script string }{
		{"pipeline", "head -c 100000000 /dev/zero | tail"},
		// The parent survives its worker's OOM kill and exits 1.
		{"parent-exits-1", "head -c 100000000 /dev/zero | tail; exit 1"},
		// A sibling that would run for minutes dies with the container.
		{"with-sleeper", "sleep 600 & head -c 100000000 /dev/zero | tail; wait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.config(tc.name, "sh", "-c", tc.script)
			cfg.Resources.MemoryLimitBytes = 20 << 20
			start := time.Now()
			st := e.run(sb, cfg)
			if !st.OOMKilled || st.ExitCode != 137 || st.State != runtime.StateExited {
				t.Fatalf("status: exited=%v code %d OOMKilled %v, want OOMKilled 137", st.State, st.ExitCode, st.OOMKilled)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestCPUQuotaThrottlesABusyLoop(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("cpu")
	cfg := e.config("busy", "sh", "-c", "while :; do :; done")
	cfg.Resources.CPUQuota, cfg.Resources.CPUPeriod = 10000, 100000 // 0.1 CPU
	id := e.start(sb, cfg)
	time.Sleep(600 * time.Millisecond)
	dir := controllerDir(t, "cpu", filepath.Join(sb.CgroupParent, id))
	stat := readFileString(t, filepath.Join(dir, "cpu.stat"))
	var throttled int
	for _, line := range strings.Split(stat, "\n") {
		if v, ok := strings.CutPrefix(line, "nr_throttled "); ok {
			throttled, _ = strconv.Atoi(v)
		}
	}
	t.Logf("cpu.stat: %q", stat)
	if throttled == 0 {
		t.Errorf("nr_throttled = 0 after 600ms of a busy loop at 0.1 CPU")
	}
	if err := e.rt.StopContainer(context.Background(), id, 0); err != nil {
		t.Fatal(err)
	}
}

func TestResourcesBecomeCgroupSettings(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("resources")
	cfg := e.config("limits", "sleep", "1000")
	cfg.Resources = runtime.Resources{
		CPUShares:        512,
		CPUQuota:         50000,
		CPUPeriod:        100000,
		MemoryLimitBytes: 64 << 20,
		PidsLimit:        100,
		OOMScoreAdj:      500,
	}
	id := e.start(sb, cfg)
	defer e.rt.StopContainer(context.Background(), id, 0)
	cg := filepath.Join(sb.CgroupParent, id)
	checks := []struct{ controller, file, want string }{
		{"memory", "memory.limit_in_bytes", strconv.Itoa(64 << 20)},
		{"cpu", "cpu.shares", "512"},
		{"cpu", "cpu.cfs_quota_us", "50000"},
		{"cpu", "cpu.cfs_period_us", "100000"},
		{"pids", "pids.max", "100"},
	}
	if e.rt.host.cgroup == cgroupV2 {
		checks = []struct{ controller, file, want string }{
			{"", "memory.max", strconv.Itoa(64 << 20)},
			{"", "cpu.max", "50000 100000"},
			{"", "pids.max", "100"},
			{"", "memory.oom.group", "1"},
		}
	}
	for _, c := range checks {
		if got := readFileString(t, filepath.Join(controllerDir(t, c.controller, cg), c.file)); got != c.want {
			t.Errorf("%s = %q, want %q", c.file, got, c.want)
		}
	}
	procs := readFileString(t, filepath.Join(controllerDir(t, "pids", cg), "cgroup.procs"))
	pid := strings.Fields(procs)[0]
	if got := readFileString(t, filepath.Join("/proc", pid, "oom_score_adj")); got != "500" {
		t.Errorf("oom_score_adj = %s, want 500", got)
	}
	if _, err := os.Stat(controllerDir(t, "memory", sb.CgroupParent)); err != nil {
		t.Errorf("pod cgroup: %v", err)
	}
}

// The pod cgroup carries the pod's own limits (what its containers add up
// to, and the node's per-pod process cap), above the containers' ones.
func TestPodCgroupLimits(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("podlimits", func(c *runtime.SandboxConfig) {
		c.Resources = runtime.Resources{CPUShares: 512, CPUQuota: 50000, CPUPeriod: 100000, MemoryLimitBytes: 64 << 20, PidsLimit: 7}
	})
	if cgroups.IsCgroup2UnifiedMode() {
		t.Skip("v1 file names")
	}
	for _, c := range []struct{ controller, file, want string }{
		{"cpu", "cpu.shares", "512"},
		{"cpu", "cpu.cfs_quota_us", "50000"},
		{"memory", "memory.limit_in_bytes", "67108864"},
		{"pids", "pids.max", "7"},
	} {
		if got := readFileString(t, filepath.Join(controllerDir(t, c.controller, sb.CgroupParent), c.file)); got != c.want {
			t.Errorf("%s: %q, want %q", c.file, got, c.want)
		}
	}
	// Eight processes do not fit under pids.max 7.
	st := e.run(sb, e.config("forker", "sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait"))
	if st.ExitCode == 0 {
		t.Errorf("eight sleeps ran under pids.max 7")
	}
}
