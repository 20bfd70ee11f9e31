package linux

import (
	"log/slog"
	"slices"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/orca-pods/orca/internal/runtime"
)

// These tests build specs without running anything: no root needed.

func TestContainerCapabilities(t *testing.T) {
	host := without(append(slices.Clone(defaultCapabilities), "CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SYS_RESOURCE"), "CAP_NET_RAW")
	for _, tc := range []struct {
		name string
		sec  runtime.Security
		want []string
	}{
		{"default minus what the host lacks", runtime.Security{}, without(defaultCapabilities, "CAP_NET_RAW")},
		{"add without prefix", runtime.Security{CapabilitiesAdd: []string{"net_admin"}},
			append(without(defaultCapabilities, "CAP_NET_RAW"), "CAP_NET_ADMIN")},
		{"drop all then add", runtime.Security{CapabilitiesDrop: []string{"ALL"}, CapabilitiesAdd: []string{"CAP_CHOWN"}}, []string{"CAP_CHOWN"}},
		{"add all then drop", runtime.Security{CapabilitiesAdd: []string{"ALL"}, CapabilitiesDrop: []string{"SYS_ADMIN"}},
			without(host, "CAP_SYS_ADMIN")},
		{"privileged is the host set", runtime.Security{Privileged: true, CapabilitiesDrop: []string{"ALL"}}, host},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := containerCapabilities(tc.sec, host)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %v\nwant %v", got, want)
			}
		})
	}
	if _, err := containerCapabilities(runtime.Security{CapabilitiesAdd: []string{"NOPE"}}, host); err == nil {
		t.Error("unknown capability accepted")
	}
}

func TestSeccompProfileSelection(t *testing.T) {
	if p, _ := seccompProfile(runtime.Security{Privileged: true}, nil); p != nil {
		t.Error("privileged container got a profile")
	}
	if p, _ := seccompProfile(runtime.Security{SeccompProfile: "Unconfined"}, nil); p != nil {
		t.Error("unconfined container got a profile")
	}
	denied := func(p *specs.LinuxSeccomp, name string) bool {
		for _, s := range p.Syscalls {
			if slices.Contains(s.Names, name) && len(s.Args) == 0 {
				return true
			}
		}
		return false
	}
	p, err := seccompProfile(runtime.Security{}, defaultCapabilities)
	if err != nil || p == nil || p.DefaultAction != specs.ActAllow {
		t.Fatalf("default profile %v %v", p, err)
	}
	for _, name := range []string{"mount", "unshare", "keyctl", "bpf", "reboot", "clone3"} {
		if !denied(p, name) {
			t.Errorf("default profile allows %s", name)
		}
	}
	if denied(p, "chroot") {
		t.Error("default profile denies chroot, which CAP_SYS_CHROOT allows")
	}
	admin, _ := seccompProfile(runtime.Security{}, append(slices.Clone(defaultCapabilities), "CAP_SYS_ADMIN"))
	if denied(admin, "mount") || denied(admin, "clone3") || !denied(admin, "keyctl") {
		t.Error("CAP_SYS_ADMIN does not allow mount and clone3 (or allows keyctl)")
	}
}

func TestStopSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{
		"": syscall.SIGTERM, "SIGTERM": syscall.SIGTERM, "TERM": syscall.SIGTERM, "sigquit": syscall.SIGQUIT,
		"9": syscall.SIGKILL, "SIGRTMIN+3": 0,
	} {
		got, err := stopSignal(in)
		if want == 0 {
			if err == nil {
				t.Errorf("%q: accepted as %v", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: got %v %v, want %v", in, got, err, want)
		}
	}
}

func testSpecRuntime() *Runtime {
	return &Runtime{
		cfg:  Config{StateDir: "/state", RootDir: "/root"},
		log:  slog.New(slog.DiscardHandler),
		host: hostInfo{cgroup: cgroupV1, boundingCaps: defaultCapabilities, nofileHard: 4096, oomScoreAdj: -100},
	}
}

func TestBuildSpecForASandboxContainer(t *testing.T) {
	r := testSpecRuntime()
	sb := &sandbox{
		Config:       runtime.SandboxConfig{PodUID: "uid"},
		Hostname:     "pod",
		HostnamePath: "/pods/uid/hostname",
		Sandbox: runtime.Sandbox{ID: "uid", NetNSPath: "/run/netns/orca-uid", IPCNSPath: "/s/ipc", UTSNSPath: "/s/uts",
			EtcHostsPath: "/pods/uid/etc-hosts", CgroupParent: "/orca/poduid"},
	}
	cfg := &runtime.ContainerConfig{
		Args:      []string{"app"},
		Env:       []string{"A=1"},
		Mounts:    []runtime.Mount{{HostPath: "/h", ContainerPath: "/etc/hosts", Propagation: "rslave"}},
		Resources: runtime.Resources{MemoryLimitBytes: 1 << 20, OOMScoreAdj: -999},
	}
	spec, err := r.buildSpec("cid", sb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Hostname != "" {
		t.Errorf("hostname %q set in a joined UTS namespace", spec.Hostname)
	}
	if spec.Linux.CgroupsPath != "/orca/poduid/cid" {
		t.Errorf("cgroups path %q", spec.Linux.CgroupsPath)
	}
	wantNS := []specs.LinuxNamespace{{Type: "mount"}, {Type: "pid"}, {Type: "network", Path: "/run/netns/orca-uid"},
		{Type: "ipc", Path: "/s/ipc"}, {Type: "uts", Path: "/s/uts"}}
	if !slices.Equal(spec.Linux.Namespaces, wantNS) {
		t.Errorf("namespaces %v", spec.Linux.Namespaces)
	}
	hosts := 0
	for _, m := range spec.Mounts {
		if m.Destination == "/etc/hosts" {
			hosts++
			if m.Source != "/h" {
				t.Errorf("/etc/hosts from %s, want the container's own", m.Source)
			}
		}
	}
	if hosts != 1 {
		t.Errorf("%d mounts at /etc/hosts", hosts)
	}
	if spec.Linux.RootfsPropagation != "rslave" {
		t.Errorf("rootfs propagation %q", spec.Linux.RootfsPropagation)
	}
	if *spec.Process.OOMScoreAdj != -100 {
		t.Errorf("oom_score_adj %d, want ours (-100): lowering it needs CAP_SYS_RESOURCE", *spec.Process.OOMScoreAdj)
	}
	if rl := spec.Process.Rlimits[0]; rl.Hard != 4096 || rl.Soft != 4096 {
		t.Errorf("RLIMIT_NOFILE %+v, want the host's hard limit", rl)
	}
	if !slices.Contains(spec.Process.Env, defaultPathEnv) || !slices.Contains(spec.Process.Env, "HOSTNAME=pod") {
		t.Errorf("env %v", spec.Process.Env)
	}
	if _, err := libcontainerConfig("cid", spec); err != nil {
		t.Errorf("libcontainer rejects the spec: %v", err)
	}
}
