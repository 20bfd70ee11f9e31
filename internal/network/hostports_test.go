package network

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNormalizeHostPorts(t *testing.T) {
	got, err := normalizeHostPorts([]HostPort{
		{HostPort: 8080, ContainerPort: 80, Protocol: "udp"},
		{HostPort: 8080, ContainerPort: 80},                  // TCP by default
		{HostPort: 8080, ContainerPort: 80, Protocol: "TCP"}, // the same, from another container
		{HostPort: 0, ContainerPort: 9090},                   // no host port
		{HostPort: 9090, ContainerPort: 90, Protocol: "SCTP", HostIP: "0.0.0.0"},
		{HostPort: 9091, ContainerPort: 91, HostIP: "192.0.2.1"},
		{HostPort: 9090, ContainerPort: 90, Protocol: "SCTP", HostIP: "::"}, // the same again
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []hostPortRule{
		{Protocol: "SCTP", HostPort: 9090, PodPort: 90},
		{Protocol: "TCP", HostPort: 8080, PodPort: 80},
		{Protocol: "TCP", HostIP: "192.0.2.1", HostPort: 9091, PodPort: 91},
		{Protocol: "UDP", HostPort: 8080, PodPort: 80},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	// A port on all addresses and on one: the one address wins.
	if _, err := normalizeHostPorts([]HostPort{{HostPort: 80, ContainerPort: 80}, {HostPort: 80, ContainerPort: 81, HostIP: "192.0.2.1"}}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		ports []HostPort
		want  string
	}{
		{"bad protocol", []HostPort{{HostPort: 80, ContainerPort: 80, Protocol: "ICMP"}}, `unsupported protocol "ICMP"`},
		{"port too big", []HostPort{{HostPort: 70000, ContainerPort: 80}}, "invalid hostPort 70000"},
		{"no container port", []HostPort{{HostPort: 80}}, "invalid containerPort 0"},
		{"IPv6 host IP", []HostPort{{HostPort: 80, ContainerPort: 80, HostIP: "2001:db8::1"}}, "not an IPv4 address"},
		{"bad host IP", []HostPort{{HostPort: 80, ContainerPort: 80, HostIP: "node-1"}}, `invalid hostIP "node-1"`},
		{"one port twice", []HostPort{{HostPort: 80, ContainerPort: 80}, {HostPort: 80, ContainerPort: 81}}, "hostPort 80/TCP is given twice"},
		{"one port twice on one address", []HostPort{{HostPort: 80, ContainerPort: 80, HostIP: "192.0.2.1"}, {HostPort: 80, ContainerPort: 81, HostIP: "192.0.2.1"}}, "hostPort 192.0.2.1:80/TCP is given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := normalizeHostPorts(tc.ports)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

func TestHostPortConflictRules(t *testing.T) {
	held := map[string]*podHostPorts{
		"a": {UID: "a", Namespace: "default", Name: "web-1", Ports: []hostPortRule{{Protocol: "TCP", HostPort: 80, PodPort: 80}}},
		"b": {UID: "b", Namespace: "kube-system", Name: "dns", Ports: []hostPortRule{{Protocol: "UDP", HostIP: "192.0.2.1", HostPort: 53, PodPort: 53}}},
	}
	for _, tc := range []struct {
		uid  string
		rule hostPortRule
		want string // "" for no conflict
	}{
		{"c", hostPortRule{Protocol: "TCP", HostPort: 80}, "hostPort 80/TCP is already allocated to pod default/web-1"},
		{"c", hostPortRule{Protocol: "TCP", HostIP: "192.0.2.9", HostPort: 80}, "hostPort 192.0.2.9:80/TCP is already allocated to pod default/web-1"},
		{"c", hostPortRule{Protocol: "UDP", HostPort: 80}, ""},
		{"c", hostPortRule{Protocol: "UDP", HostPort: 53}, "hostPort 53/UDP is already allocated to pod kube-system/dns"},
		{"c", hostPortRule{Protocol: "UDP", HostIP: "192.0.2.2", HostPort: 53}, ""},
		{"a", hostPortRule{Protocol: "TCP", HostPort: 80}, ""}, // its own
	} {
		err := hostPortConflict(held, tc.uid, []hostPortRule{tc.rule})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %s: %v", tc.uid, tc.rule, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want || !errors.Is(err, ErrHostPortAllocated)):
			t.Errorf("%s %s: %v, want %q", tc.uid, tc.rule, err, tc.want)
		}
	}
}

func TestHostPortStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := loadHostPorts(dir); err != nil { // creates the directory
		t.Fatal(err)
	}
	p := &podHostPorts{UID: "uid-1", Namespace: "default", Name: "web", IP: net.IPv4(10, 244, 1, 5).To4(),
		Ports: []hostPortRule{{Protocol: "TCP", HostPort: 80, PodPort: 8080}}}
	if err := saveHostPorts(dir, p); err != nil {
		t.Fatal(err)
	}
	// Left by a write that died, and garbage: neither stops the load.
	os.WriteFile(filepath.Join(dir, hostPortDir, ".tmp-123"), []byte("{"), 0o600)
	os.WriteFile(filepath.Join(dir, hostPortDir, "uid-2.json"), []byte("{"), 0o600)
	got, bad, err := loadHostPorts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got["uid-1"].equal(p) || len(bad) != 1 {
		t.Fatalf("loaded %+v, bad %v", got, bad)
	}
	if _, err := os.Stat(filepath.Join(dir, hostPortDir, ".tmp-123")); !os.IsNotExist(err) {
		t.Fatalf("temporary file kept: %v", err)
	}
	if err := removeHostPortState(dir, "uid-1"); err != nil {
		t.Fatal(err)
	}
	if err := removeHostPortState(dir, "uid-1"); err != nil {
		t.Fatalf("second remove: %v", err)
	}
	// The address allocator shares the directory.
	a, err := openIPAM(dir, &net.IPNet{IP: net.IPv4(10, 244, 1, 0).To4(), Mask: net.CIDRMask(24, 32)})
	if err != nil {
		t.Fatalf("ipam on a directory with host port state: %v", err)
	}
	a.close()
}
