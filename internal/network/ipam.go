package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrPoolExhausted means every address of the node's pod CIDR is allocated.
// The agent turns it into a FailedCreatePodSandBox event.
var ErrPoolExhausted = errors.New("no free pod IP in the node's pod CIDR")

// lastFile records the most recently allocated address, so the search for
// the next one starts after it and a just-released address is not handed
// out again at once (a peer may still hold connections or ARP entries
// for it).
const (
	lastFile = "last_reserved_ip"
	lockFile = "lock"
)

// ipam is a host-local style allocator: StateDir holds one file per
// allocated address, named by the address and holding the pod UID,
// created exclusively (O_EXCL), so an address is never taken twice.
//
// One ipam owns its directory (an flock held from open to close), so the
// in-memory index is the truth and allocation costs no directory scan.
// Files are not fsynced: allocations only matter while the pods' network
// namespaces exist, and those do not survive the crash of the machine.
type ipam struct {
	dir    string
	lock   *os.File
	subnet *net.IPNet
	// first and last bound the assignable addresses: the network address,
	// the gateway (first address) and the broadcast address are skipped.
	first, last uint32

	mu    sync.Mutex
	byPod map[string]uint32
	byIP  map[uint32]string
	prev  uint32 // last allocated address, 0 if none
}

func openIPAM(dir string, subnet *net.IPNet) (*ipam, error) {
	network, broadcast, err := ipv4Bounds(subnet)
	if err != nil {
		return nil, err
	}
	if broadcast-network < 3 {
		return nil, fmt.Errorf("pod CIDR %s is too small: it needs a gateway and at least one pod address", subnet)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ipam state: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ipam state: %w", err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("ipam state %s is in use by another network: %w", dir, err)
	}
	a := &ipam{
		dir: dir, lock: lock, subnet: subnet,
		first: network + 2, last: broadcast - 1,
		byPod: map[string]uint32{}, byIP: map[uint32]string{},
	}
	if err := a.load(); err != nil {
		lock.Close()
		return nil, err
	}
	return a, nil
}

// load rebuilds the index from the directory. Allocations outside the
// current subnet (the node's pod CIDR changed) are kept: their pods still
// use them until torn down.
func (a *ipam) load() error {
	entries, err := os.ReadDir(a.dir)
	if err != nil {
		return fmt.Errorf("ipam state: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || name == lockFile || e.IsDir() {
			continue // the host port state is a directory here too
		}
		data, err := os.ReadFile(filepath.Join(a.dir, name))
		if err != nil {
			return fmt.Errorf("ipam state: %w", err)
		}
		ip := net.ParseIP(name).To4()
		if ip == nil {
			if name == lastFile {
				if last := net.ParseIP(strings.TrimSpace(string(data))).To4(); last != nil {
					a.prev = ipToU32(last)
				}
			}
			continue
		}
		uid := strings.TrimSpace(string(data))
		if uid == "" {
			// Created by an allocation that died before writing: no pod
			// was ever told this address.
			os.Remove(filepath.Join(a.dir, name))
			continue
		}
		a.byIP[ipToU32(ip)] = uid
		a.byPod[uid] = ipToU32(ip)
	}
	return nil
}

func (a *ipam) close() error {
	return a.lock.Close()
}

// allocate returns pod's address, reserving the next free one after the
// previous allocation if it has none. fresh tells whether it was reserved
// by this call.
func (a *ipam) allocate(podUID string) (ip net.IP, fresh bool, err error) {
	if podUID == "" || strings.ContainsAny(podUID, "\n/") {
		return nil, false, fmt.Errorf("invalid pod UID %q", podUID)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if addr, ok := a.byPod[podUID]; ok {
		return u32ToIP(addr), false, nil
	}
	size := a.last - a.first + 1
	start := a.prev + 1
	if start < a.first || start > a.last {
		start = a.first
	}
	for i := uint32(0); i < size; i++ {
		addr := a.first + (start-a.first+i)%size
		if _, taken := a.byIP[addr]; taken {
			continue
		}
		if err := a.write(u32ToIP(addr).String(), podUID); err != nil {
			if errors.Is(err, os.ErrExist) {
				continue // a file the index lacks: leave it be
			}
			return nil, false, err
		}
		a.byIP[addr], a.byPod[podUID], a.prev = podUID, addr, addr
		// The marker only steers the search: losing it is harmless.
		a.writeLast(addr)
		return u32ToIP(addr), true, nil
	}
	return nil, false, fmt.Errorf("%w %s (%d addresses in use)", ErrPoolExhausted, a.subnet, len(a.byIP))
}

// release frees pod's address; a pod without one is not an error.
func (a *ipam) release(podUID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	addr, ok := a.byPod[podUID]
	if !ok {
		return nil
	}
	err := os.Remove(filepath.Join(a.dir, u32ToIP(addr).String()))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("release %s: %w", u32ToIP(addr), err)
	}
	delete(a.byPod, podUID)
	delete(a.byIP, addr)
	return nil
}

// pods returns the UIDs of the pods holding addresses.
func (a *ipam) pods() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.byPod))
	for uid := range a.byPod {
		out = append(out, uid)
	}
	return out
}

// lookup returns pod's address, or nil.
func (a *ipam) lookup(podUID string) net.IP {
	a.mu.Lock()
	defer a.mu.Unlock()
	if addr, ok := a.byPod[podUID]; ok {
		return u32ToIP(addr)
	}
	return nil
}

// write creates name holding content, failing with os.ErrExist if it
// exists. Content is one small write(2), which a crashed agent does not
// tear; only a crashed machine could, and that takes the pods' namespaces
// with it (load drops empty files).
func (a *ipam) write(name, content string) error {
	f, err := os.OpenFile(filepath.Join(a.dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return err
		}
		return fmt.Errorf("ipam state: %w", err)
	}
	_, err = f.WriteString(content + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ipam state: %w", err)
	}
	return nil
}

// writeLast overwrites the marker in place, padded to a fixed width: a
// truncating or renaming rewrite makes ext4 flush the file on close
// (auto_da_alloc), several times the cost of the whole allocation.
func (a *ipam) writeLast(addr uint32) {
	f, err := os.OpenFile(filepath.Join(a.dir, lastFile), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteAt([]byte(fmt.Sprintf("%-15s\n", u32ToIP(addr))), 0)
}

// ipv4Bounds returns the network and broadcast addresses of an IPv4 CIDR.
func ipv4Bounds(cidr *net.IPNet) (network, broadcast uint32, err error) {
	if cidr == nil {
		return 0, 0, errors.New("no CIDR given")
	}
	ip := cidr.IP.To4()
	ones, bits := cidr.Mask.Size()
	if ip == nil || bits != 32 {
		return 0, 0, fmt.Errorf("%s is not an IPv4 CIDR", cidr)
	}
	mask := ^uint32(0) << (32 - ones)
	if ones == 0 {
		mask = 0
	}
	network = ipToU32(ip) & mask
	return network, network | ^mask, nil
}

func ipToU32(ip net.IP) uint32 { return binary.BigEndian.Uint32(ip.To4()) }

func u32ToIP(v uint32) net.IP {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, v)
	return ip
}
