package linux

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/moby/sys/capability"
	"github.com/opencontainers/runc/libcontainer/seccomp"

	"github.com/orca-pods/orca/internal/runtime"
)

func capMask(t *testing.T, names []string) string {
	t.Helper()
	byName := make(map[string]capability.Cap)
	for _, c := range capability.ListKnown() {
		byName[capName(c)] = c
	}
	var mask uint64
	for _, n := range names {
		mask |= 1 << uint(byName[n])
	}
	return fmt.Sprintf("%016x", mask)
}

func procStatus(t *testing.T, key string) string {
	t.Helper()
	for _, line := range strings.Split(readFileString(t, "/proc/self/status"), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in /proc/self/status", key)
	return ""
}

func TestCapabilitiesDefaultAddDropAndPrivileged(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("caps")
	for _, tc := range []struct {
		name string
		sec  runtime.Security
		want string
	}{
		{"default", runtime.Security{}, capMask(t, defaultCapabilities)},
		{"drop-all-add-chown", runtime.Security{CapabilitiesDrop: []string{"ALL"}, CapabilitiesAdd: []string{"CHOWN"}},
			capMask(t, []string{"CAP_CHOWN"})},
		{"add-net-admin-drop-kill", runtime.Security{CapabilitiesAdd: []string{"NET_ADMIN"}, CapabilitiesDrop: []string{"KILL"}},
			capMask(t, append(without(defaultCapabilities, "CAP_KILL"), "CAP_NET_ADMIN"))},
		// Only what the host has, even when asking for everything.
		{"add-all", runtime.Security{CapabilitiesAdd: []string{"ALL"}}, procStatus(t, "CapBnd")},
		{"privileged", runtime.Security{Privileged: true}, procStatus(t, "CapBnd")},
	} {
		cfg := e.config(tc.name, "sh", "-c", "grep -E '^Cap(Eff|Bnd):' /proc/self/status")
		cfg.Security = tc.sec
		if st := e.run(sb, cfg); st.ExitCode != 0 {
			t.Fatalf("%s: exit %d %s", tc.name, st.ExitCode, st.Message)
		}
		want := fmt.Sprintf("CapEff:\t%s\nCapBnd:\t%s\n", tc.want, tc.want)
		if got := logText(t, cfg.LogPath, "stdout"); got != want {
			t.Errorf("%s: got %q, want %q", tc.name, got, want)
		}
	}
}

func without(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

func TestSeccompNoNewPrivsAndRlimits(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("seccomp")
	script := "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; ulimit -n; unshare -U true 2>/dev/null && echo userns || echo no-userns"
	wantNofile := fmt.Sprint(min(uint64(maxNofile), e.rt.host.nofileHard))
	for _, tc := range []struct {
		name string
		sec  runtime.Security
		want string
	}{
		{"runtime-default", runtime.Security{NoNewPrivileges: true}, "NoNewPrivs:\t1\nSeccomp:\t2\n" + wantNofile + "\nno-userns\n"},
		{"unconfined", runtime.Security{SeccompProfile: "Unconfined"}, "NoNewPrivs:\t0\nSeccomp:\t0\n" + wantNofile + "\nuserns\n"},
	} {
		if !seccomp.Enabled && tc.sec.SeccompProfile == "" {
			t.Logf("%s: seccomp is not compiled in (-tags seccomp); expecting no filter", tc.name)
			tc.want = strings.Replace(tc.want, "Seccomp:\t2", "Seccomp:\t0", 1)
			tc.want = strings.Replace(tc.want, "no-userns", "userns", 1)
		}
		cfg := e.config(tc.name, "sh", "-c", script)
		cfg.Security = tc.sec
		e.run(sb, cfg)
		if got := logText(t, cfg.LogPath, "stdout"); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestPrivilegedGetsHostDevicesAndWritableSys(t *testing.T) {
	e := newTestEnv(t)
	sb := e.sandbox("priv")
	cfg := e.config("priv", "sh", "-c", "test -c /dev/null && ls /dev | wc -l; grep -c ' /sys sysfs rw' /proc/mounts")
	cfg.Security.Privileged = true
	if st := e.run(sb, cfg); st.ExitCode != 0 {
		t.Fatalf("exit %d %s", st.ExitCode, st.Message)
	}
	out := strings.Fields(logText(t, cfg.LogPath, "stdout"))
	hostDevs, _ := os.ReadDir("/dev")
	if len(out) != 2 || out[1] != "1" {
		t.Fatalf("output %q", out)
	}
	var n int
	fmt.Sscan(out[0], &n)
	if n < 10 || n > len(hostDevs)+5 {
		t.Errorf("%d entries in the privileged container's /dev, %d in the host's", n, len(hostDevs))
	}
}
