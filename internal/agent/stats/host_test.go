package stats

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
)

// TestHostCgroups reads a real pod-like cgroup pair (pod and container)
// whose container wrote 24 MiB to tmpfs: shmem pages are charged to the
// writer's memory cgroup and are not inactive file cache, so they show in
// both usage and working set.
func TestHostCgroups(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	podCg := "/orca-stats-test-" + hex.EncodeToString(suffix)
	ctrCg := path.Join(podCg, "ctr")
	shm := "/dev/shm/orca-stats-test-" + hex.EncodeToString(suffix)

	// The manager creates the cgroup in every hierarchy (and enables the
	// v2 controllers on the way), as the runtime does for pods.
	pod := newHostCgroup(t, podCg)
	ctr := newHostCgroup(t, ctrCg)
	t.Cleanup(func() {
		// Children first; a v1 cgroup with charged pages still goes.
		for _, m := range []cgroups.Manager{ctr, pod} {
			if err := m.Destroy(); err != nil {
				t.Errorf("remove cgroup: %v", err)
			}
		}
	})
	t.Cleanup(func() { _ = os.Remove(shm) })

	// The shell waits for a line on stdin, so it is in the cgroup before
	// dd starts; then it stays as a sleep to be counted.
	cmd := exec.Command("/bin/sh", "-c", `read go && dd if=/dev/zero of="$1" bs=1M count=24 2>/dev/null && echo done && exec sleep 60`, "sh", shm)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	})
	if err := ctr.Apply(cmd.Process.Pid); err != nil {
		t.Fatalf("move into cgroup: %v", err)
	}
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		done <- line
	}()
	select {
	case line := <-done:
		if line != "done\n" {
			t.Fatalf("dd in cgroup: got %q", line)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("dd did not finish")
	}

	p, err := New(Config{NodeName: "test", DataDir: t.TempDir(), Pods: func() []PodInfo {
		return []PodInfo{{
			Name: "p", Namespace: "ns", UID: "u", CgroupPath: podCg, StartTime: time.Now(),
			Containers: []ContainerInfo{{Name: "c", CgroupPath: ctrCg, StartTime: time.Now()}},
		}}
	}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Pods) != 1 || len(s.Pods[0].Containers) != 1 {
		t.Fatalf("summary pods = %+v", s.Pods)
	}
	if b, err := json.MarshalIndent(s, "", " "); err == nil {
		t.Logf("%s", b)
	}
	const atLeast = 20 * mib
	ps, cs := s.Pods[0], s.Pods[0].Containers[0]
	for name, m := range map[string]*uint64{
		"pod usage": ps.Memory.UsageBytes, "pod working set": ps.Memory.WorkingSetBytes,
		"container usage": cs.Memory.UsageBytes, "container working set": cs.Memory.WorkingSetBytes,
	} {
		if m == nil || *m < atLeast {
			t.Errorf("%s = %v, want >= %d", name, val(m), atLeast)
		}
	}
	if ps.ProcessStats == nil || val(ps.ProcessStats.ProcessCount) != uint64(1) {
		t.Errorf("pod process count = %+v, want 1 (the sleep)", ps.ProcessStats)
	}
	if cs.CPU == nil || val(cs.CPU.UsageCoreNanoSeconds) == uint64(0) {
		t.Errorf("container cpu = %+v, want some use by sh and dd", cs.CPU)
	}
	if s.Node.Memory == nil || val(s.Node.Memory.WorkingSetBytes) == uint64(0) || s.Node.Fs == nil {
		t.Errorf("node = %+v", s.Node)
	}

	ws, err := p.PodMemoryWorkingSet(podCg)
	if err != nil || ws < atLeast {
		t.Errorf("PodMemoryWorkingSet = %d, %v; want >= %d", ws, err, atLeast)
	}
	avail, nodeWS, err := p.NodeMemory()
	if err != nil || avail == 0 || nodeWS < atLeast {
		t.Errorf("NodeMemory = %d, %d, %v", avail, nodeWS, err)
	}
}

func newHostCgroup(t *testing.T, p string) cgroups.Manager {
	t.Helper()
	m, err := manager.New(&cgroups.Cgroup{Path: p, Resources: &cgroups.Resources{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(-1); err != nil {
		t.Fatalf("create cgroup %s: %v", p, err)
	}
	return m
}
