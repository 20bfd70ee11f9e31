package network

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// countRules dumps the rules of table (in the calling thread's namespace)
// and counts them.
func countRules(table string) (int, error) {
	s, err := openNfnetlink()
	if err != nil {
		return 0, err
	}
	defer unix.Close(s)
	msg := nftMessage(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_GETRULE, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, 1, unix.NFPROTO_IPV4, 0, attrString(unix.NFTA_RULE_TABLE, table))
	if err := unix.Sendto(s, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<16)
	count := 0
	for {
		n, _, err := unix.Recvfrom(s, buf, 0)
		if err != nil {
			return 0, err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return 0, err
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return count, nil
			case unix.NLMSG_ERROR:
				return 0, errors.New("rule dump failed")
			case unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWRULE:
				count++
			}
		}
	}
}
