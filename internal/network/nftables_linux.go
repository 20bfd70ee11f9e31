package network

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The node's NAT, with the one filter rule it needs, is one nftables
// table spoken over nfnetlink (through google/nftables), so the node
// needs neither the nft nor the iptables binary and works the same
// whichever backend the host's iptables uses.
// It is named after the bridge (`nft list table ip orca0`), so two
// networks in one namespace do not collide:
//
//	table ip <bridge> {
//		map hostport-any {       # hostPorts on every node address
//			type inet_proto . inet_service : ipv4_addr . inet_service
//		}
//		map hostport-ip {        # hostPorts bound to one hostIP
//			type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service
//		}
//		set hostport-backends {  # podIP . proto . containerPort behind them
//			type ipv4_addr . inet_proto . inet_service
//		}
//		chain prerouting {
//			type nat hook prerouting priority dstnat; policy accept;
//			fib daddr type local jump hostports
//		}
//		chain output {
//			type nat hook output priority dstnat; policy accept;
//			fib daddr type local jump hostports
//		}
//		chain hostports {
//			dnat ip to ip daddr . meta l4proto . th dport map @hostport-ip
//			dnat ip to meta l4proto . th dport map @hostport-any
//		}
//		chain postrouting {
//			type nat hook postrouting priority srcnat; policy accept;
//			ip saddr <podCIDR> ip daddr != <clusterCIDR> masquerade random-fully
//			ip saddr <podCIDR> ct status dnat ip daddr . meta l4proto . th dport @hostport-backends masquerade
//			ip saddr 127.0.0.0/8 oifname <bridge> masquerade
//		}
//		chain input {
//			type filter hook input priority filter; policy accept;
//			iifname <bridge> ip daddr 127.0.0.0/8 ct status & dnat == 0 drop
//		}
//	}
//
// The second postrouting rule is for pods reaching a host port on their
// own node, their own included: without it the reply would go straight
// back over the bridge, bypassing the un-DNAT. The third and the input
// rule come with host ports on 127.0.0.1, for which the bridge has
// route_localnet: DNATed loopback traffic must leave with the bridge's
// address, and pods must not use the sysctl to reach the node's loopback
// services (CVE-2020-8558).
//
// install builds the whole table in one transaction that deletes whatever
// is there first, so it converges from any state and never duplicates.
// Host ports change by map elements only, a few bytes per pod.

const (
	nftTimeout = 5 * time.Second

	chainPostrouting = "postrouting"
	chainPrerouting  = "prerouting"
	chainOutput      = "output"
	chainInput       = "input"
	chainHostPorts   = "hostports"
	mapHostPortAny   = "hostport-any"
	mapHostPortIP    = "hostport-ip"
	setHostPortPods  = "hostport-backends"

	// Concatenations fill consecutive 32-bit registers, the first of
	// which shares its storage with NFT_REG_1.
	regConcat0 = unix.NFT_REG_1
	regConcat1 = unix.NFT_REG32_01
	regConcat2 = unix.NFT_REG32_02

	ctStatusDNAT    = 1 << 5 // IPS_DST_NAT
	nftCommentLimit = 127    // what nft accepts for a comment
)

var (
	keyAnyType     = nftables.MustConcatSetType(nftables.TypeInetProto, nftables.TypeInetService)
	keyIPType      = nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService)
	targetType     = nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService)
	loopbackPrefix = &net.IPNet{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)}
)

// nftTable is a Network's table.
type nftTable struct {
	netns                int // the node's namespace (until Close), -1 for the caller's
	name, bridge         string
	podCIDR, clusterCIDR *net.IPNet
}

// conn returns a connection whose every request opens a socket in the
// node's namespace (so it may be used from any thread) that gives up
// after nftTimeout.
func (t *nftTable) conn() (*nftables.Conn, error) {
	opts := []nftables.ConnOption{nftables.WithSockOptions(func(c *netlink.Conn) error {
		return c.SetDeadline(time.Now().Add(nftTimeout))
	})}
	if t.netns >= 0 {
		opts = append(opts, nftables.WithNetNSFd(t.netns))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return c, nil
}

func (t *nftTable) table() *nftables.Table {
	return &nftables.Table{Name: t.name, Family: nftables.TableFamilyIPv4}
}

// sets describes the named sets. Their IDs are fixed: they only need to
// be unique within one batch, and the library's own counter is a global
// that concurrent networks would race on.
func (t *nftTable) sets() (anyMap, ipMap, backends *nftables.Set) {
	tbl := t.table()
	anyMap = &nftables.Set{Table: tbl, ID: 1, Name: mapHostPortAny, IsMap: true, KeyType: keyAnyType, DataType: targetType}
	ipMap = &nftables.Set{Table: tbl, ID: 2, Name: mapHostPortIP, IsMap: true, KeyType: keyIPType, DataType: targetType}
	backends = &nftables.Set{Table: tbl, ID: 3, Name: setHostPortPods, KeyType: keyIPType}
	return anyMap, ipMap, backends
}

// install replaces the table with one holding the host ports of pods.
func (t *nftTable) install(pods map[string]*podHostPorts) error {
	c, err := t.conn()
	if err != nil {
		return err
	}
	tbl := t.table()
	c.AddTable(tbl) // so that the delete finds one
	c.DelTable(tbl)
	c.AddTable(tbl)

	accept := nftables.ChainPolicyAccept
	baseChain := func(name string, typ nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		return c.AddChain(&nftables.Chain{Name: name, Table: tbl, Type: typ, Hooknum: hook, Priority: prio, Policy: &accept})
	}
	// The regular chain first: the base chains jump to it.
	hostPorts := c.AddChain(&nftables.Chain{Name: chainHostPorts, Table: tbl})
	pre := baseChain(chainPrerouting, nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest)
	out := baseChain(chainOutput, nftables.ChainTypeNAT, nftables.ChainHookOutput, nftables.ChainPriorityNATDest)
	post := baseChain(chainPostrouting, nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource)
	in := baseChain(chainInput, nftables.ChainTypeFilter, nftables.ChainHookInput, nftables.ChainPriorityFilter)

	anyMap, ipMap, backends := t.sets()
	var all hostPortElems
	for _, uid := range slices.Sorted(maps.Keys(pods)) {
		all.add(hostPortElements(pods[uid]))
	}
	for _, s := range []struct {
		set   *nftables.Set
		elems []nftables.SetElement
	}{{anyMap, all.anyPort}, {ipMap, all.ipPort}, {backends, all.backends}} {
		if err := c.AddSet(s.set, s.elems); err != nil {
			return fmt.Errorf("nftables set %s: %w", s.set.Name, err)
		}
	}

	rule := func(chain *nftables.Chain, exprs ...[]expr.Any) {
		c.AddRule(&nftables.Rule{Table: tbl, Chain: chain, Exprs: slices.Concat(exprs...)})
	}
	toHostPorts := []expr.Any{
		&expr.Fib{Register: regConcat0, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: regConcat0, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
		&expr.Verdict{Kind: expr.VerdictJump, Chain: chainHostPorts},
	}
	rule(pre, toHostPorts)
	rule(out, toHostPorts)
	rule(hostPorts, loadDaddr(regConcat0), loadProtoPort(regConcat1, regConcat2), lookupDNAT(ipMap))
	rule(hostPorts, loadProtoPort(regConcat0, regConcat1), lookupDNAT(anyMap))

	rule(post, matchPrefix(12, t.podCIDR, expr.CmpOpEq), matchPrefix(16, t.clusterCIDR, expr.CmpOpNeq),
		[]expr.Any{&expr.Masq{FullyRandom: true}})
	rule(post, matchPrefix(12, t.podCIDR, expr.CmpOpEq), matchDNATed(true),
		loadDaddr(regConcat0), loadProtoPort(regConcat1, regConcat2),
		[]expr.Any{&expr.Lookup{SourceRegister: regConcat0, SetName: backends.Name, SetID: backends.ID}, &expr.Masq{}})
	rule(post, matchPrefix(12, loopbackPrefix, expr.CmpOpEq), matchIfname(expr.MetaKeyOIFNAME, t.bridge),
		[]expr.Any{&expr.Masq{}})
	rule(in, matchIfname(expr.MetaKeyIIFNAME, t.bridge), matchPrefix(16, loopbackPrefix, expr.CmpOpEq),
		matchDNATed(false), []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}})

	if err := c.Flush(); err != nil {
		return fmt.Errorf("install nftables table %s: %w", t.name, err)
	}
	return nil
}

// updateHostPorts turns one pod's elements from old into next (either may
// be nil) in one transaction. Elements to go are added first, which is a
// no-op when present, so a missing one is no error.
func (t *nftTable) updateHostPorts(old, next *podHostPorts) error {
	c, err := t.conn()
	if err != nil {
		return err
	}
	was, want := hostPortElements(old), hostPortElements(next)
	anyMap, ipMap, backends := t.sets()
	for _, s := range []struct {
		set       *nftables.Set
		was, want []nftables.SetElement
	}{{anyMap, was.anyPort, want.anyPort}, {ipMap, was.ipPort, want.ipPort}, {backends, was.backends, want.backends}} {
		var gone []nftables.SetElement
		for _, e := range s.was {
			if !slices.ContainsFunc(s.want, func(w nftables.SetElement) bool { return sameElement(e, w) }) {
				gone = append(gone, e)
			}
		}
		if len(gone) > 0 {
			if err := c.SetAddElements(s.set, gone); err != nil {
				return err
			}
			if err := c.SetDeleteElements(s.set, gone); err != nil {
				return err
			}
		}
		if len(s.want) > 0 {
			if err := c.SetAddElements(s.set, s.want); err != nil {
				return err
			}
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables table %s: %w", t.name, err)
	}
	return nil
}

// remove deletes the table; a missing one is no error.
func (t *nftTable) remove() error {
	c, err := t.conn()
	if err != nil {
		return err
	}
	tbl := t.table()
	c.AddTable(tbl)
	c.DelTable(tbl)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("remove nftables table %s: %w", t.name, err)
	}
	return nil
}

// exists asks the kernel for the table.
func (t *nftTable) exists() (bool, error) {
	c, err := t.conn()
	if err != nil {
		return false, err
	}
	_, err = c.ListTableOfFamily(t.name, nftables.TableFamilyIPv4)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.ENOENT):
		return false, nil
	default:
		return false, fmt.Errorf("nftables table %s: %w", t.name, err)
	}
}

// hostPortElems are the set elements of some pods' host ports.
type hostPortElems struct {
	anyPort, ipPort, backends []nftables.SetElement
}

func (h *hostPortElems) add(o hostPortElems) {
	h.anyPort = append(h.anyPort, o.anyPort...)
	h.ipPort = append(h.ipPort, o.ipPort...)
	h.backends = append(h.backends, o.backends...)
}

// hostPortElements encodes a pod's host ports. Each part of a
// concatenation takes a whole 32-bit register, zero padded; ports are in
// network byte order. The comment names the pod in `nft list`.
func hostPortElements(p *podHostPorts) hostPortElems {
	var out hostPortElems
	if p == nil {
		return out
	}
	comment := p.owner()
	if len(comment) > nftCommentLimit {
		comment = comment[:nftCommentLimit]
	}
	podIP := p.IP.To4()
	for _, r := range p.Ports {
		proto := []byte{hostPortProtocols[r.Protocol], 0, 0, 0}
		target := slices.Concat(podIP, portBytes(r.PodPort))
		key := slices.Concat(proto, portBytes(r.HostPort))
		if r.HostIP == "" {
			out.anyPort = append(out.anyPort, nftables.SetElement{Key: key, Val: target, Comment: comment})
		} else {
			key = slices.Concat(net.ParseIP(r.HostIP).To4(), key)
			out.ipPort = append(out.ipPort, nftables.SetElement{Key: key, Val: target, Comment: comment})
		}
		backend := nftables.SetElement{Key: slices.Concat(podIP, proto, portBytes(r.PodPort)), Comment: comment}
		if !slices.ContainsFunc(out.backends, func(e nftables.SetElement) bool { return sameElement(e, backend) }) {
			out.backends = append(out.backends, backend)
		}
	}
	return out
}

func sameElement(a, b nftables.SetElement) bool {
	return string(a.Key) == string(b.Key) && string(a.Val) == string(b.Val)
}

func portBytes(port uint16) []byte { return []byte{byte(port >> 8), byte(port), 0, 0} }

// matchPrefix compares the IPv4 address at offset of the network header,
// masked to the prefix, with the prefix.
func matchPrefix(offset uint32, cidr *net.IPNet, op expr.CmpOp) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: regConcat0, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: regConcat0, DestRegister: regConcat0, Len: 4, Mask: net.IP(cidr.Mask).To4(), Xor: make([]byte, 4)},
		&expr.Cmp{Op: op, Register: regConcat0, Data: cidr.IP.Mask(cidr.Mask).To4()},
	}
}

// matchDNATed matches connections whose destination was translated, or
// (yes false) was not.
func matchDNATed(yes bool) []expr.Any {
	op := expr.CmpOpEq
	if yes {
		op = expr.CmpOpNeq
	}
	return []expr.Any{
		&expr.Ct{Register: regConcat0, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: regConcat0, DestRegister: regConcat0, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(ctStatusDNAT), Xor: make([]byte, 4)},
		&expr.Cmp{Op: op, Register: regConcat0, Data: make([]byte, 4)},
	}
}

// matchIfname compares an interface name, by name rather than index so
// that a recreated bridge still matches.
func matchIfname(key expr.MetaKey, name string) []expr.Any {
	data := make([]byte, unix.IFNAMSIZ)
	copy(data, name)
	return []expr.Any{
		&expr.Meta{Key: key, Register: regConcat0},
		&expr.Cmp{Op: expr.CmpOpEq, Register: regConcat0, Data: data},
	}
}

func loadDaddr(reg uint32) []expr.Any {
	return []expr.Any{&expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4}}
}

// loadProtoPort loads "meta l4proto . th dport" into two registers.
func loadProtoPort(protoReg, portReg uint32) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: protoReg},
		&expr.Payload{DestRegister: portReg, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
	}
}

// lookupDNAT looks the key loaded from the first register up in m and
// DNATs to the address and port found.
func lookupDNAT(m *nftables.Set) []expr.Any {
	return []expr.Any{
		&expr.Lookup{SourceRegister: regConcat0, DestRegister: regConcat0, IsDestRegSet: true, SetName: m.Name, SetID: m.ID},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: regConcat0, RegProtoMin: regConcat1},
	}
}
