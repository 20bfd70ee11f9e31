package network

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func openTestIPAM(t *testing.T, dir, cidr string) *ipam {
	t.Helper()
	_, subnet, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	a, err := openIPAM(dir, subnet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.close() })
	return a
}

func mustAllocate(t *testing.T, a *ipam, uid string) string {
	t.Helper()
	ip, _, err := a.allocate(uid)
	if err != nil {
		t.Fatalf("allocate %s: %v", uid, err)
	}
	return ip.String()
}

func TestIPAMSkipsNetworkGatewayAndBroadcast(t *testing.T) {
	a := openTestIPAM(t, t.TempDir(), "10.244.1.0/29")
	var got []string
	for _, uid := range []string{"a", "b", "c", "d", "e"} {
		got = append(got, mustAllocate(t, a, uid))
	}
	if want := "10.244.1.2 10.244.1.3 10.244.1.4 10.244.1.5 10.244.1.6"; strings.Join(got, " ") != want {
		t.Fatalf("allocated %v, want %s", got, want)
	}
	if _, _, err := a.allocate("f"); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("allocate on a full /29: %v, want ErrPoolExhausted", err)
	}
}

func TestIPAMIsIdempotentPerPod(t *testing.T) {
	a := openTestIPAM(t, t.TempDir(), "10.244.1.0/24")
	first := mustAllocate(t, a, "pod-a")
	ip, fresh, err := a.allocate("pod-a")
	if err != nil || ip.String() != first || fresh {
		t.Fatalf("second allocate: %v fresh=%v err=%v; want %s, not fresh", ip, fresh, err, first)
	}
}

func TestIPAMAllocatesRoundRobinSoAReleasedIPIsNotReusedAtOnce(t *testing.T) {
	a := openTestIPAM(t, t.TempDir(), "10.244.1.0/29") // .2 to .6
	for _, uid := range []string{"a", "b", "c"} {
		mustAllocate(t, a, uid) // .2 .3 .4
	}
	if err := a.release("a"); err != nil {
		t.Fatal(err)
	}
	if got := mustAllocate(t, a, "d"); got != "10.244.1.5" {
		t.Fatalf("after releasing .2 got %s, want the next one, 10.244.1.5", got)
	}
	mustAllocate(t, a, "e") // .6
	// Wrapping around finds the released address last.
	if got := mustAllocate(t, a, "f"); got != "10.244.1.2" {
		t.Fatalf("wrapped to %s, want 10.244.1.2", got)
	}
}

func TestIPAMStateSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	_, subnet, _ := net.ParseCIDR("10.244.1.0/24")
	a, err := openIPAM(dir, subnet)
	if err != nil {
		t.Fatal(err)
	}
	ipA := mustAllocate(t, a, "pod-a")
	ipB := mustAllocate(t, a, "pod-b")
	if err := a.release("pod-a"); err != nil {
		t.Fatal(err)
	}
	a.close()

	b := openTestIPAM(t, dir, "10.244.1.0/24")
	if got := b.lookup("pod-b"); got == nil || got.String() != ipB {
		t.Fatalf("after reopen pod-b has %v, want %s", got, ipB)
	}
	if got := b.lookup("pod-a"); got != nil {
		t.Fatalf("released pod-a has %v after reopen", got)
	}
	// The round-robin position survives too: neither pod-a's released
	// address nor pod-b's comes next.
	if got := mustAllocate(t, b, "pod-c"); got == ipA || got == ipB {
		t.Fatalf("pod-c got %s (pod-a had %s, pod-b has %s)", got, ipA, ipB)
	}
	data, err := os.ReadFile(filepath.Join(dir, ipB))
	if err != nil || strings.TrimSpace(string(data)) != "pod-b" {
		t.Fatalf("state file %s: %q, %v", ipB, data, err)
	}
}

func TestIPAMStateDirHasOneOwner(t *testing.T) {
	dir := t.TempDir()
	openTestIPAM(t, dir, "10.244.1.0/24")
	_, subnet, _ := net.ParseCIDR("10.244.1.0/24")
	if _, err := openIPAM(dir, subnet); err == nil {
		t.Fatal("a second allocator opened a state dir in use")
	}
}

func TestIPAMRejectsBadPodUIDsAndReleasesUnknownOnes(t *testing.T) {
	a := openTestIPAM(t, t.TempDir(), "10.244.1.0/24")
	for _, uid := range []string{"", "a/b", "a\nb"} {
		if _, _, err := a.allocate(uid); err == nil {
			t.Errorf("allocate(%q) succeeded", uid)
		}
	}
	if err := a.release("never-allocated"); err != nil {
		t.Fatalf("release of an unknown pod: %v", err)
	}
}
