package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Masquerade is one nftables table spoken over nfnetlink directly, so the
// node needs neither the nft nor the iptables binary (Debian's minimal
// images have neither) and works the same whether the host's iptables is
// the nft or the legacy backend:
//
//	table ip <bridge> {
//		chain postrouting {
//			type nat hook postrouting priority srcnat; policy accept;
//			ip saddr <podCIDR> ip daddr != <clusterCIDR> masquerade random-fully
//		}
//	}
//
// The table is named after the bridge, so it is easy to find (`nft list
// table ip orca0`) and two networks in one namespace do not collide.
// Installing sends one atomic batch that creates the table if missing,
// deletes it and builds it anew: running it again converges to the same
// single rule, never duplicates. Removing creates-then-deletes it, so a
// missing table is no error.

// NF_ACCEPT and NF_NAT_RANGE_PROTO_RANDOM_FULLY, which x/sys/unix lacks.
const (
	nfAccept              = 1
	natRangeRandomFully   = 1 << 4
	nlaNested             = 0x8000
	nftSocketTimeout      = 5 * time.Second
	nftPostroutingPrioNAT = 100 // NF_IP_PRI_NAT_SRC, nft's "srcnat"
)

func installMasquerade(table string, podCIDR, clusterCIDR *net.IPNet) error {
	b := newNftBatch()
	b.add(unix.NFT_MSG_NEWTABLE, unix.NLM_F_CREATE, tableAttrs(table))
	b.add(unix.NFT_MSG_DELTABLE, 0, tableAttrs(table))
	b.add(unix.NFT_MSG_NEWTABLE, unix.NLM_F_CREATE, tableAttrs(table))
	b.add(unix.NFT_MSG_NEWCHAIN, unix.NLM_F_CREATE, chainAttrs(table, "postrouting"))
	b.add(unix.NFT_MSG_NEWRULE, unix.NLM_F_CREATE|unix.NLM_F_APPEND, masqueradeRule(table, "postrouting", podCIDR, clusterCIDR))
	if err := b.send(); err != nil {
		return fmt.Errorf("install masquerade table %s: %w", table, err)
	}
	return nil
}

func removeMasquerade(table string) error {
	b := newNftBatch()
	b.add(unix.NFT_MSG_NEWTABLE, unix.NLM_F_CREATE, tableAttrs(table))
	b.add(unix.NFT_MSG_DELTABLE, 0, tableAttrs(table))
	if err := b.send(); err != nil {
		return fmt.Errorf("remove masquerade table %s: %w", table, err)
	}
	return nil
}

// masqueradeTableExists asks the kernel for the table.
func masqueradeTableExists(table string) (bool, error) {
	s, err := openNfnetlink()
	if err != nil {
		return false, err
	}
	defer unix.Close(s)
	msg := nftMessage(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_GETTABLE, unix.NLM_F_REQUEST|unix.NLM_F_ACK, 1, unix.NFPROTO_IPV4, 0, tableAttrs(table))
	if err := unix.Sendto(s, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return false, fmt.Errorf("nfnetlink send: %w", err)
	}
	err = readAcks(s, 1)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.ENOENT):
		return false, nil
	default:
		return false, err
	}
}

func tableAttrs(table string) []byte {
	return attrString(unix.NFTA_TABLE_NAME, table)
}

func chainAttrs(table, chain string) []byte {
	hook := cat(attrU32(unix.NFTA_HOOK_HOOKNUM, unix.NF_INET_POST_ROUTING), attrU32(unix.NFTA_HOOK_PRIORITY, nftPostroutingPrioNAT))
	return cat(
		attrString(unix.NFTA_CHAIN_TABLE, table),
		attrString(unix.NFTA_CHAIN_NAME, chain),
		attrNested(unix.NFTA_CHAIN_HOOK, hook),
		attrU32(unix.NFTA_CHAIN_POLICY, nfAccept),
		attrString(unix.NFTA_CHAIN_TYPE, "nat"),
	)
}

// masqueradeRule is "ip saddr src ip daddr != dst masquerade random-fully"
// in nftables' register machine: load each address from the IPv4 header
// into register 1, mask it to the prefix, compare.
func masqueradeRule(table, chain string, src, dst *net.IPNet) []byte {
	var exprs []byte
	exprs = append(exprs, matchAddress(12, src, unix.NFT_CMP_EQ)...)  // saddr
	exprs = append(exprs, matchAddress(16, dst, unix.NFT_CMP_NEQ)...) // daddr
	exprs = append(exprs, expr("masq", attrU32(unix.NFTA_MASQ_FLAGS, natRangeRandomFully))...)
	return cat(
		attrString(unix.NFTA_RULE_TABLE, table),
		attrString(unix.NFTA_RULE_CHAIN, chain),
		attrNested(unix.NFTA_RULE_EXPRESSIONS, exprs),
	)
}

func matchAddress(offset uint32, cidr *net.IPNet, op uint32) []byte {
	payload := expr("payload", cat(
		attrU32(unix.NFTA_PAYLOAD_DREG, unix.NFT_REG_1),
		attrU32(unix.NFTA_PAYLOAD_BASE, unix.NFT_PAYLOAD_NETWORK_HEADER),
		attrU32(unix.NFTA_PAYLOAD_OFFSET, offset),
		attrU32(unix.NFTA_PAYLOAD_LEN, 4),
	))
	mask := []byte(net.IP(cidr.Mask).To4())
	bitwise := expr("bitwise", cat(
		attrU32(unix.NFTA_BITWISE_SREG, unix.NFT_REG_1),
		attrU32(unix.NFTA_BITWISE_DREG, unix.NFT_REG_1),
		attrU32(unix.NFTA_BITWISE_LEN, 4),
		attrNested(unix.NFTA_BITWISE_MASK, attr(unix.NFTA_DATA_VALUE, mask)),
		attrNested(unix.NFTA_BITWISE_XOR, attr(unix.NFTA_DATA_VALUE, make([]byte, 4))),
	))
	cmp := expr("cmp", cat(
		attrU32(unix.NFTA_CMP_SREG, unix.NFT_REG_1),
		attrU32(unix.NFTA_CMP_OP, op),
		attrNested(unix.NFTA_CMP_DATA, attr(unix.NFTA_DATA_VALUE, []byte(cidr.IP.Mask(cidr.Mask).To4()))),
	))
	return cat(payload, bitwise, cmp)
}

// expr is one element of a rule's expression list.
func expr(name string, data []byte) []byte {
	return attrNested(unix.NFTA_LIST_ELEM, cat(attrString(unix.NFTA_EXPR_NAME, name), attrNested(unix.NFTA_EXPR_DATA, data)))
}

// nftBatch is a transaction: the kernel applies all of its messages or
// none.
type nftBatch struct {
	buf []byte
	n   int // messages between begin and end
}

func newNftBatch() *nftBatch {
	b := &nftBatch{}
	b.buf = nftMessage(unix.NFNL_MSG_BATCH_BEGIN, unix.NLM_F_REQUEST, 0, unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES, nil)
	return b
}

func (b *nftBatch) add(msgType uint16, flags uint16, attrs []byte) {
	b.n++
	b.buf = append(b.buf, nftMessage(unix.NFNL_SUBSYS_NFTABLES<<8|msgType, unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags, uint32(b.n), unix.NFPROTO_IPV4, 0, attrs)...)
}

// send submits the batch and waits for every message's acknowledgement.
func (b *nftBatch) send() error {
	b.buf = append(b.buf, nftMessage(unix.NFNL_MSG_BATCH_END, unix.NLM_F_REQUEST, uint32(b.n+1), unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES, nil)...)
	s, err := openNfnetlink()
	if err != nil {
		return err
	}
	defer unix.Close(s)
	if err := unix.Sendto(s, b.buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("nfnetlink send: %w", err)
	}
	return readAcks(s, b.n)
}

// openNfnetlink opens a netfilter netlink socket in the calling thread's
// network namespace, where it stays for its life.
func openNfnetlink() (int, error) {
	s, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return -1, fmt.Errorf("nfnetlink socket: %w", err)
	}
	tv := unix.NsecToTimeval(nftSocketTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(s, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(s)
		return -1, fmt.Errorf("nfnetlink socket: %w", err)
	}
	if err := unix.Bind(s, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(s)
		return -1, fmt.Errorf("nfnetlink bind: %w", err)
	}
	return s, nil
}

// readAcks reads until want acknowledgements arrived, returning the
// first error the kernel reported. On an error the whole batch was
// rolled back; the socket is closed after, so unread replies do not
// matter.
func readAcks(s, want int) error {
	buf := make([]byte, 1<<16)
	for got := 0; got < want; {
		n, _, err := unix.Recvfrom(s, buf, 0)
		if err != nil {
			return fmt.Errorf("nfnetlink receive: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("nfnetlink receive: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Type != unix.NLMSG_ERROR {
				continue // a reply to a GET
			}
			if len(m.Data) < 4 {
				return errors.New("nfnetlink: short error message")
			}
			if code := int32(binary.NativeEndian.Uint32(m.Data[:4])); code != 0 {
				return unix.Errno(-code)
			}
			got++
		}
	}
	return nil
}

// nftMessage is a netlink header, nfgenmsg and attributes. resID is the
// subsystem for batch delimiters, in network byte order as the kernel
// reads it.
func nftMessage(msgType, flags uint16, seq uint32, family uint8, resID uint16, attrs []byte) []byte {
	msg := make([]byte, unix.NLMSG_HDRLEN+4, unix.NLMSG_HDRLEN+4+len(attrs))
	msg = append(msg, attrs...)
	binary.NativeEndian.PutUint32(msg[0:4], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:6], msgType)
	binary.NativeEndian.PutUint16(msg[6:8], flags)
	binary.NativeEndian.PutUint32(msg[8:12], seq)
	// msg[12:16], the port id, stays 0: the kernel fills in the sender's.
	msg[16] = family
	msg[17] = unix.NFNETLINK_V0
	binary.BigEndian.PutUint16(msg[18:20], resID)
	return msg
}

// attr encodes one netlink attribute, padded to 4 bytes.
func attr(typ uint16, data []byte) []byte {
	l := 4 + len(data)
	out := make([]byte, 4, (l+3)&^3)
	binary.NativeEndian.PutUint16(out[0:2], uint16(l))
	binary.NativeEndian.PutUint16(out[2:4], typ)
	out = append(out, data...)
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	return out
}

func attrNested(typ uint16, data []byte) []byte { return attr(typ|nlaNested, data) }

func attrString(typ uint16, s string) []byte { return attr(typ, append([]byte(s), 0)) }

// attrU32 encodes a 32-bit value in network byte order, as nf_tables
// expects all of its integers.
func attrU32(typ uint16, v uint32) []byte {
	return attr(typ, binary.BigEndian.AppendUint32(nil, v))
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
