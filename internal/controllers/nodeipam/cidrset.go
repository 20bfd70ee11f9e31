package nodeipam

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
)

// errNoCIDR means every subnet of the cluster CIDR belongs to a node.
var errNoCIDR = errors.New("no free pod CIDR left in the cluster CIDR")

// cidrSet splits the cluster CIDR into subnets of one size and records
// which node owns each. A node owns the subnets its spec names (several,
// if an administrator gave it a larger range) or the one reserved for it
// while its update is on the way. It is safe for concurrent use.
type cidrSet struct {
	base     uint32 // the cluster CIDR's network address
	size     uint32 // addresses per subnet
	count    int
	maskBits int

	mu     sync.Mutex
	owner  map[int]string
	byNode map[string][]int
	next   int // where the search for a free subnet starts
}

func newCIDRSet(cluster *net.IPNet, maskSize int) (*cidrSet, error) {
	ip := cluster.IP.To4()
	ones, bits := cluster.Mask.Size()
	if ip == nil || bits != 32 {
		return nil, fmt.Errorf("cluster CIDR %s: only IPv4 is supported", cluster)
	}
	if maskSize < ones || maskSize > 30 {
		return nil, fmt.Errorf("node mask size %d does not fit cluster CIDR %s (want %d to 30)", maskSize, cluster, ones)
	}
	if maskSize-ones > 20 {
		return nil, fmt.Errorf("node mask size %d splits cluster CIDR %s into too many subnets", maskSize, cluster)
	}
	return &cidrSet{
		base:     binary.BigEndian.Uint32(ip.Mask(cluster.Mask)),
		size:     1 << (32 - maskSize),
		count:    1 << (maskSize - ones),
		maskBits: maskSize,
		owner:    map[int]string{},
		byNode:   map[string][]int{},
	}, nil
}

func (s *cidrSet) subnet(i int) *net.IPNet {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, s.base+uint32(i)*s.size)
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(s.maskBits, 32)}
}

// indexes returns the subnets cidr overlaps; none if it is IPv6 or
// outside the cluster CIDR.
func (s *cidrSet) indexes(cidr *net.IPNet) []int {
	ip := cidr.IP.To4()
	ones, bits := cidr.Mask.Size()
	if ip == nil || bits != 32 {
		return nil
	}
	lo := uint64(binary.BigEndian.Uint32(ip.Mask(cidr.Mask)))
	hi := lo + 1<<(32-ones) - 1
	end := uint64(s.base) + uint64(s.count)*uint64(s.size) - 1
	lo, hi = max(lo, uint64(s.base)), min(hi, end)
	if lo > hi {
		return nil
	}
	var out []int
	for i := (lo - uint64(s.base)) / uint64(s.size); i <= (hi-uint64(s.base))/uint64(s.size); i++ {
		out = append(out, int(i))
	}
	return out
}

// occupy records that node owns cidr. It returns the other nodes that
// already owned part of it: two nodes with overlapping pod CIDRs, which
// only an administrator can cause and fix.
func (s *cidrSet) occupy(node string, cidr *net.IPNet) (conflicts []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range s.indexes(cidr) {
		switch owner, taken := s.owner[i]; {
		case !taken:
			s.owner[i] = node
			s.byNode[node] = append(s.byNode[node], i)
		case owner != node:
			conflicts = append(conflicts, owner)
		}
	}
	return conflicts
}

// allocate returns the subnet reserved for node, reserving the next free
// one if it has none.
func (s *cidrSet) allocate(node string) (*net.IPNet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if held := s.byNode[node]; len(held) > 0 {
		return s.subnet(held[0]), nil
	}
	for n := 0; n < s.count; n++ {
		i := (s.next + n) % s.count
		if _, taken := s.owner[i]; taken {
			continue
		}
		s.owner[i] = node
		s.byNode[node] = []int{i}
		s.next = (i + 1) % s.count
		return s.subnet(i), nil
	}
	return nil, fmt.Errorf("%w (%d subnets of /%d, all assigned)", errNoCIDR, s.count, s.maskBits)
}

// release frees every subnet node owns.
func (s *cidrSet) release(node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range s.byNode[node] {
		if s.owner[i] == node {
			delete(s.owner, i)
		}
	}
	delete(s.byNode, node)
}

// releaseExcept frees node's subnets other than keep (the ones its spec
// names): a reservation made from a stale view of the node.
func (s *cidrSet) releaseExcept(node string, keep []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var held []int
	for _, i := range s.byNode[node] {
		if slices.Contains(keep, i) {
			held = append(held, i)
		} else if s.owner[i] == node {
			delete(s.owner, i)
		}
	}
	if len(held) == 0 {
		delete(s.byNode, node)
	} else {
		s.byNode[node] = held
	}
}
