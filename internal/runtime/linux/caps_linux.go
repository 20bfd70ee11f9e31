package linux

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/sys/capability"

	"github.com/orca-pods/orca/internal/runtime"
)

// defaultCapabilities is the set containerd and CRI-O give a container
// unless its securityContext adds or drops some.
var defaultCapabilities = []string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FSETID",
	"CAP_FOWNER",
	"CAP_MKNOD",
	"CAP_NET_RAW",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETFCAP",
	"CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT",
	"CAP_KILL",
	"CAP_AUDIT_WRITE",
}

// containerCapabilities resolves a security context to the capability set
// the process gets (bounding = permitted = effective), in containerd's
// order: add ALL, drop ALL, then single adds, then single drops. The result
// is intersected with the host's bounding set, since asking the kernel for
// a capability we do not have fails the whole start with EPERM.
func containerCapabilities(sec runtime.Security, host []string) ([]string, error) {
	if sec.Privileged {
		return slices.Clone(host), nil
	}
	set := make(map[string]bool)
	for _, c := range defaultCapabilities {
		set[c] = true
	}
	add, err := normalizeCaps(sec.CapabilitiesAdd)
	if err != nil {
		return nil, err
	}
	drop, err := normalizeCaps(sec.CapabilitiesDrop)
	if err != nil {
		return nil, err
	}
	if slices.Contains(add, "ALL") {
		for _, c := range capability.ListKnown() {
			set[capName(c)] = true
		}
	}
	if slices.Contains(drop, "ALL") {
		clear(set)
	}
	for _, c := range add {
		if c != "ALL" {
			set[c] = true
		}
	}
	for _, c := range drop {
		if c != "ALL" {
			delete(set, c)
		}
	}
	var out []string
	for _, c := range host {
		if set[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

// normalizeCaps accepts "NET_ADMIN", "CAP_NET_ADMIN" or "net_admin" (the
// Kubernetes API uses the first form) and "ALL".
func normalizeCaps(in []string) ([]string, error) {
	known := make(map[string]bool)
	for _, c := range capability.ListKnown() {
		known[capName(c)] = true
	}
	out := make([]string, 0, len(in))
	for _, c := range in {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c == "ALL" {
			out = append(out, c)
			continue
		}
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		if !known[c] {
			return nil, fmt.Errorf("unknown capability %q", c)
		}
		out = append(out, c)
	}
	return out, nil
}
