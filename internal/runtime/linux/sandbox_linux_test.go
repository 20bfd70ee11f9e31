package linux

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/orca-pods/orca/internal/runtime"
)

func nsInode(t *testing.T, path string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(st.Ino)
}

func TestContainersInASandboxShareNetIPCAndUTSButNotPID(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("shared")
	ctx := context.Background()
	// Both run at once: namespace inodes are reused once a namespace is gone.
	var outs [2][]string
	for i := range outs {
		id := e.start(sb, e.config(fmt.Sprintf("c%d", i), "sleep", fmt.Sprint(1000+i)))
		defer e.rt.StopContainer(ctx, id, 0)
		var out bytes.Buffer
		script := "for ns in net ipc uts pid; do readlink /proc/self/ns/$ns; done; hostname; tr '\\0' ' ' < /proc/1/cmdline"
		if code, err := e.rt.Exec(ctx, id, runtime.ExecRequest{Cmd: []string{"sh", "-c", script}, Stdout: &out}); err != nil || code != 0 {
			t.Fatalf("exec: %d %v", code, err)
		}
		outs[i] = strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(outs[i]) != 6 {
			t.Fatalf("container %d printed %q", i, outs[i])
		}
	}
	a, b := outs[0], outs[1]
	for i, want := range []string{
		"net:[" + nsInode(t, sb.NetNSPath) + "]",
		"ipc:[" + nsInode(t, sb.IPCNSPath) + "]",
		"uts:[" + nsInode(t, sb.UTSNSPath) + "]",
	} {
		if a[i] != want || b[i] != want {
			t.Errorf("namespace %d: containers see %s and %s, sandbox pin is %s", i, a[i], b[i], want)
		}
	}
	if a[3] == b[3] {
		t.Errorf("both containers are in PID namespace %s", a[3])
	}
	if a[4] != "shared" || b[4] != "shared" {
		t.Errorf("hostnames %q and %q, want the pod's", a[4], b[4])
	}
	if a[5] != "sleep 1000" || b[5] != "sleep 1001" {
		t.Errorf("pid 1 is %q and %q, want each container's own command", a[5], b[5])
	}
	if host := nsInode(t, "/proc/self/ns/net"); a[0] == "net:["+host+"]" {
		t.Error("the sandbox uses the host network namespace")
	}
}

func TestContainersInASandboxTalkOverLoopback(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("loopback")
	server := e.config("server", "nc", "-l", "-p", "8080")
	// An open stdin: busybox nc quits at EOF on stdin, maybe before the
	// client's data arrives.
	server.Stdin = true
	serverID := e.start(sb, server)
	client := e.config("client", "sh", "-c",
		"for i in $(seq 100); do echo ping | nc 127.0.0.1 8080 && exit 0; sleep 0.05; done; exit 1")
	if st := e.run(sb, client); st.ExitCode != 0 {
		t.Fatalf("client exit %d: %s", st.ExitCode, logText(t, client.LogPath, "stderr"))
	}
	e.waitEvent(serverID, runtime.ContainerExited, 10e9)
	if got := logText(t, server.LogPath, "stdout"); got != "ping\n" {
		t.Errorf("server received %q", got)
	}
}

func TestHostNetworkAndIPCSandboxesPinNothing(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("hostns", func(c *runtime.SandboxConfig) { c.HostNetwork, c.HostIPC = true, true })
	if sb.NetNSPath != "" || sb.IPCNSPath != "" || sb.UTSNSPath != "" {
		t.Fatalf("host namespaces pinned: %+v", sb)
	}
	cfg := e.config("hostns", "sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; hostname")
	e.run(sb, cfg)
	host, _ := os.Hostname()
	want := fmt.Sprintf("net:[%s]\nipc:[%s]\n%s\n", nsInode(t, "/proc/self/ns/net"), nsInode(t, "/proc/self/ns/ipc"), host)
	if got := logText(t, cfg.LogPath, "stdout"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCreateSandboxIsIdempotentPerPodUID(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("idem")
	again, err := e.rt.CreateSandbox(context.Background(), runtime.SandboxConfig{PodUID: sb.PodUID, PodName: "idem"})
	if err != nil {
		t.Fatal(err)
	}
	if *again != *sb {
		t.Errorf("second create = %+v, want %+v", again, sb)
	}
	list, _ := e.rt.ListSandboxes(context.Background())
	if len(list) != 1 {
		t.Errorf("%d sandboxes", len(list))
	}
}

// Teardown must leave no mounts, namespace pins, cgroups or state behind,
// even when the sandbox still has a running container.
func TestRemoveLeavesNoMountsPinsCgroupsOrState(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	sb := e.sandbox("teardown")
	exited := e.config("exited", "true")
	exitedID := e.start(sb, exited)
	e.waitEvent(exitedID, runtime.ContainerExited, 10e9)
	running := e.start(sb, e.config("running", "sleep", "1000"))
	created := e.create(sb, e.config("created", "true"))

	if m := mountsUnder(t, filepath.Join(e.base, "root")); len(m) != 2 { // the overlays of exited and running
		t.Errorf("mounts before removal: %q", m)
	}
	if err := e.rt.RemoveContainer(ctx, exitedID); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.RemoveSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.RemoveSandbox(ctx, sb.ID); err != nil {
		t.Errorf("second RemoveSandbox: %v", err)
	}
	for _, id := range []string{exitedID, running, created} {
		if _, err := e.rt.ContainerStatus(ctx, id); err == nil {
			t.Errorf("container %s still listed", id)
		}
		for _, dir := range cgroupDirs(t, filepath.Join(sb.CgroupParent, id)) {
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("cgroup %s remains", dir)
			}
		}
	}
	if m := mountsUnder(t, e.base); len(m) > 0 {
		t.Errorf("mounts remain: %q", m)
	}
	for _, pin := range []string{sb.NetNSPath, sb.IPCNSPath, sb.UTSNSPath} {
		if m := mountsUnder(t, pin); len(m) > 0 {
			t.Errorf("pin mounts remain: %q", m)
		}
		if _, err := os.Stat(pin); err == nil {
			t.Errorf("pin file %s remains", pin)
		}
	}
	for _, dir := range cgroupDirs(t, sb.CgroupParent) {
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("pod cgroup %s remains", dir)
		}
	}
	for _, dir := range []string{"state/libcontainer", "state/containers", "state/sandboxes", "state/io", "root"} {
		entries, _ := os.ReadDir(filepath.Join(e.base, dir))
		if len(entries) > 0 {
			t.Errorf("%s not empty: %v", dir, entries)
		}
	}
}
