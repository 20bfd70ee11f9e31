package network

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrHostPortAllocated means a pod asked for a host port (protocol, port
// and host IP) another pod on the node holds. The scheduler keeps such
// pods apart; this is the node's own check.
var ErrHostPortAllocated = errors.New("host port already allocated")

// hostPortDir is the subdirectory of StateDir with one file per pod that
// has host ports, so that a restarted agent still knows who holds what.
const hostPortDir = "hostports"

// IP protocol numbers of the protocols a pod spec can name.
var hostPortProtocols = map[string]uint8{"TCP": 6, "UDP": 17, "SCTP": 132}

// hostPortRule is a HostPort checked and normalized: the protocol in
// upper case, the host IP in dotted form or "" for every address.
type hostPortRule struct {
	Protocol string `json:"protocol"`
	HostIP   string `json:"hostIP,omitempty"`
	HostPort uint16 `json:"hostPort"`
	PodPort  uint16 `json:"containerPort"`
}

// String is how the rule is named in errors: "8080/TCP", or
// "192.0.2.1:8080/TCP" when bound to one address.
func (r hostPortRule) String() string {
	port := strconv.Itoa(int(r.HostPort)) + "/" + r.Protocol
	if r.HostIP == "" {
		return port
	}
	return r.HostIP + ":" + port
}

// overlaps tells whether two rules claim the same packets: the same
// protocol and port on a common address (no host IP means all of them).
func (r hostPortRule) overlaps(o hostPortRule) bool {
	return r.Protocol == o.Protocol && r.HostPort == o.HostPort &&
		(r.HostIP == "" || o.HostIP == "" || r.HostIP == o.HostIP)
}

func compareRules(a, b hostPortRule) int {
	return cmp.Or(cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.HostIP, b.HostIP),
		cmp.Compare(a.HostPort, b.HostPort), cmp.Compare(a.PodPort, b.PodPort))
}

// normalizeHostPorts checks a pod's host ports and returns them sorted,
// without duplicates. A hostPort of 0 is no host port.
func normalizeHostPorts(ports []HostPort) ([]hostPortRule, error) {
	var rules []hostPortRule
	for _, p := range ports {
		if p.HostPort == 0 {
			continue
		}
		if p.HostPort < 0 || p.HostPort > 65535 {
			return nil, fmt.Errorf("invalid hostPort %d", p.HostPort)
		}
		if p.ContainerPort <= 0 || p.ContainerPort > 65535 {
			return nil, fmt.Errorf("hostPort %d: invalid containerPort %d", p.HostPort, p.ContainerPort)
		}
		r := hostPortRule{Protocol: strings.ToUpper(p.Protocol), HostPort: uint16(p.HostPort), PodPort: uint16(p.ContainerPort)}
		if r.Protocol == "" {
			r.Protocol = "TCP" // the API's default
		}
		if _, ok := hostPortProtocols[r.Protocol]; !ok {
			return nil, fmt.Errorf("hostPort %d: unsupported protocol %q", p.HostPort, p.Protocol)
		}
		if p.HostIP != "" {
			ip := net.ParseIP(p.HostIP)
			switch {
			case ip == nil:
				return nil, fmt.Errorf("hostPort %d: invalid hostIP %q", p.HostPort, p.HostIP)
			case ip.IsUnspecified(): // 0.0.0.0 or ::, every address
			case ip.To4() == nil:
				return nil, fmt.Errorf("hostPort %d: hostIP %s is not an IPv4 address (the pod network is IPv4 only)", p.HostPort, p.HostIP)
			default:
				r.HostIP = ip.To4().String()
			}
		}
		rules = append(rules, r)
	}
	slices.SortFunc(rules, compareRules)
	rules = slices.Compact(rules)
	// One pod may have a port on all addresses and the same port on one
	// (the address's map is consulted first), but not one port twice.
	for i := 1; i < len(rules); i++ {
		if a, b := rules[i-1], rules[i]; a.sameKey(b) {
			return nil, fmt.Errorf("hostPort %s is given twice, to containerPorts %d and %d", a, a.PodPort, b.PodPort)
		}
	}
	return rules, nil
}

func (r hostPortRule) sameKey(o hostPortRule) bool {
	return r.Protocol == o.Protocol && r.HostIP == o.HostIP && r.HostPort == o.HostPort
}

func (r hostPortRule) invalid() bool {
	_, ok := hostPortProtocols[r.Protocol]
	return !ok || r.HostPort == 0 || r.PodPort == 0 || (r.HostIP != "" && net.ParseIP(r.HostIP).To4() == nil)
}

// podHostPorts is what one pod holds, as kept in memory and in its state
// file.
type podHostPorts struct {
	UID       string         `json:"uid"`
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	IP        net.IP         `json:"ip"` // where the ports lead
	Ports     []hostPortRule `json:"ports"`
}

func (p *podHostPorts) owner() string {
	if p.Name == "" {
		return p.UID
	}
	return p.Namespace + "/" + p.Name
}

func (p *podHostPorts) equal(o *podHostPorts) bool {
	return p != nil && o != nil && p.IP.Equal(o.IP) && slices.Equal(p.Ports, o.Ports) &&
		p.Namespace == o.Namespace && p.Name == o.Name
}

// hostPortConflictError names the first port of a pod's request that
// another pod holds.
type hostPortConflictError struct {
	port  hostPortRule
	owner string
}

func (e *hostPortConflictError) Error() string {
	return fmt.Sprintf("hostPort %s is already allocated to pod %s", e.port, e.owner)
}

func (e *hostPortConflictError) Is(target error) bool { return target == ErrHostPortAllocated }

// hostPortConflict returns the conflict of uid asking for rules, given
// what every pod holds, or nil.
func hostPortConflict(held map[string]*podHostPorts, uid string, rules []hostPortRule) error {
	for _, r := range rules {
		for otherUID, other := range held {
			if otherUID == uid {
				continue
			}
			for _, o := range other.Ports {
				if r.overlaps(o) {
					return &hostPortConflictError{port: r, owner: other.owner()}
				}
			}
		}
	}
	return nil
}

// validStateName tells whether a pod UID can name a file of its own.
func validStateName(uid string) bool {
	return uid != "" && !strings.HasPrefix(uid, ".") && !strings.ContainsAny(uid, "/\n\x00")
}

// loadHostPorts reads the host port state under stateDir. Files that do
// not parse are reported, not fatal: one bad file must not stop the node.
func loadHostPorts(stateDir string) (map[string]*podHostPorts, []error, error) {
	dir := filepath.Join(stateDir, hostPortDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("host port state: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("host port state: %w", err)
	}
	out := map[string]*podHostPorts{}
	var bad []error
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			os.Remove(filepath.Join(dir, name)) // a write that never completed
			continue
		}
		uid, ok := strings.CutSuffix(name, ".json")
		if !ok || e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, fmt.Errorf("host port state: %w", err)
		}
		var p podHostPorts
		err = json.Unmarshal(data, &p)
		if err == nil && (p.UID != uid || p.IP.To4() == nil || slices.ContainsFunc(p.Ports, hostPortRule.invalid)) {
			err = errors.New("inconsistent")
		}
		if err != nil {
			bad = append(bad, fmt.Errorf("host port state %s: %w", name, err))
			continue
		}
		p.IP = p.IP.To4()
		out[uid] = &p
	}
	return out, bad, nil
}

// saveHostPorts writes p's state file, replacing the previous one at once
// (a rename), so a crash leaves either version and never a torn one.
func saveHostPorts(stateDir string, p *podHostPorts) error {
	if !validStateName(p.UID) {
		return fmt.Errorf("invalid pod UID %q", p.UID)
	}
	dir := filepath.Join(stateDir, hostPortDir)
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return fmt.Errorf("host port state: %w", err)
	}
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, p.UID+".json"))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("host port state: %w", err)
	}
	return nil
}

func removeHostPortState(stateDir, uid string) error {
	if !validStateName(uid) {
		return nil // never saved
	}
	err := os.Remove(filepath.Join(stateDir, hostPortDir, uid+".json"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("host port state: %w", err)
	}
	return nil
}
