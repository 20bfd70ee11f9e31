package stats

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/cgroups"
)

// The library refuses files outside a cgroup filesystem unless told this
// is a test; real cgroups under /sys/fs/cgroup are still read as usual.
func init() { cgroups.TestMode = true }

// fakeCgroup is what a fake cgroup reports, in the units of the summary.
type fakeCgroup struct {
	cpuNanos                       uint64
	usage, inactiveFile, rss       uint64
	pgfault, pgmajfault, processes uint64
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeV1 lays out the cpuacct, memory and pids hierarchies under root,
// as /sys/fs/cgroup/<controller> on a v1 host.
func fakeV1(root string) *cgroupFS {
	return &cgroupFS{v1: map[string]string{
		"cpuacct": filepath.Join(root, "cpuacct"),
		"memory":  filepath.Join(root, "memory"),
		"pids":    filepath.Join(root, "pids"),
	}}
}

// writeV1 writes the files the v1 controllers' GetStats read. memory.stat
// carries both the local and the total_* keys, with different values, so
// a test notices reading the wrong ones.
func writeV1(t *testing.T, fs *cgroupFS, rel string, c fakeCgroup) {
	t.Helper()
	writeFiles(t, filepath.Join(fs.v1["cpuacct"], rel), map[string]string{
		"cpuacct.usage":        fmt.Sprint(c.cpuNanos),
		"cpuacct.stat":         "user 10\nsystem 5\n",
		"cpuacct.usage_percpu": fmt.Sprint(c.cpuNanos),
	})
	writeFiles(t, filepath.Join(fs.v1["memory"], rel), map[string]string{
		"memory.usage_in_bytes":     fmt.Sprint(c.usage),
		"memory.max_usage_in_bytes": fmt.Sprint(c.usage),
		"memory.limit_in_bytes":     "9223372036854771712",
		"memory.failcnt":            "0",
		"memory.use_hierarchy":      "1",
		"memory.stat": fmt.Sprintf("cache 1\nrss 2\ninactive_file 3\npgfault 4\npgmajfault 5\n"+
			"total_cache 100\ntotal_rss %d\ntotal_inactive_file %d\ntotal_pgfault %d\ntotal_pgmajfault %d\n",
			c.rss, c.inactiveFile, c.pgfault, c.pgmajfault),
	})
	writeFiles(t, filepath.Join(fs.v1["pids"], rel), map[string]string{
		"pids.current": fmt.Sprint(c.processes),
		"pids.max":     "max",
	})
}

func fakeV2(root string) *cgroupFS { return &cgroupFS{unified: root} }

func writeV2(t *testing.T, fs *cgroupFS, rel string, c fakeCgroup) {
	t.Helper()
	writeFiles(t, filepath.Join(fs.unified, rel), map[string]string{
		"cgroup.controllers": "cpu memory pids",
		"cpu.stat":           fmt.Sprintf("usage_usec %d\nuser_usec 1\nsystem_usec 1\n", c.cpuNanos/1000),
		"cpu.pressure":       "some avg10=1.50 avg60=0.00 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=99\n",
		"memory.current":     fmt.Sprint(c.usage),
		"memory.max":         "max",
		"memory.stat": fmt.Sprintf("anon %d\nfile 100\ninactive_file %d\npgfault %d\npgmajfault %d\n",
			c.rss, c.inactiveFile, c.pgfault, c.pgmajfault),
		"pids.current": fmt.Sprint(c.processes),
		"pids.max":     "max",
	})
}

// fakeProc is the part of /proc the node stats read. cpuTicks is the busy
// time in USER_HZ ticks; idle, iowait and steal get values of their own
// that must not count.
type fakeProc struct {
	cpuTicks                       uint64
	memTotalKB, memFreeKB, availKB uint64
	inactiveFileKB, anonKB         uint64
}

func writeProc(t *testing.T, dir string, p fakeProc) {
	t.Helper()
	// user nice system idle iowait irq softirq steal guest guest_nice
	user := p.cpuTicks - 3
	writeFiles(t, dir, map[string]string{
		"stat": fmt.Sprintf("cpu  %d 1 1 99999 777 0 1 555 0 0\ncpu0 %d 1 1 99999 777 0 1 555 0 0\nintr 1\nbtime 1700000000\nprocesses 42\n",
			user, user),
		"meminfo": fmt.Sprintf("MemTotal:       %d kB\nMemFree:        %d kB\nMemAvailable:   %d kB\nBuffers: 1 kB\n"+
			"Active(file):   1 kB\nInactive(file): %d kB\nAnonPages:      %d kB\n",
			p.memTotalKB, p.memFreeKB, p.availKB, p.inactiveFileKB, p.anonKB),
		"vmstat":  "nr_free_pages 1\npgfault 1000\npgmajfault 10\n",
		"loadavg": "0.10 0.20 0.30 3/456 7890\n",
	})
	writeFiles(t, filepath.Join(dir, "sys/kernel"), map[string]string{"pid_max": "4194304\n"})
}
