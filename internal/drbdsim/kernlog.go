package drbdsim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The kernel log of a node: the DRBD messages the real module prints on the
// state changes the simulator models, in the real module's words and
// prefixes, so that split-brain detection reads the same text as on a host.

// klogConn logs a connection-level message: "drbd RES: " on 8.4, "drbd RES PEER: "
// on 9, "block drbdN: " on 8.3 (which has no connection objects). Callers hold mu.
func (n *Node) klogConn(msg string) {
	cfg := n.p.cfg
	switch cfg.Version {
	case V83:
		n.klog("block drbd" + strconv.Itoa(cfg.Minor) + ": " + msg)
	case V9:
		n.klog("drbd " + cfg.Resource + " " + n.peer().name + ": " + msg)
	default:
		n.klog("drbd " + cfg.Resource + ": " + msg)
	}
}

// klogDev logs a device-level message: "block drbdN: " on 8.x,
// "drbd RES/0 drbdN PEER: " on 9. Callers hold mu.
func (n *Node) klogDev(msg string) {
	cfg := n.p.cfg
	if cfg.Version == V9 {
		n.klog(fmt.Sprintf("drbd %s/0 drbd%d %s: %s", cfg.Resource, cfg.Minor, n.peer().name, msg))
		return
	}
	n.klog("block drbd" + strconv.Itoa(cfg.Minor) + ": " + msg)
}

// klogMinor is klogDev for the device of another volume's minor.
func (n *Node) klogMinor(minor int, msg string) {
	cfg := n.p.cfg
	if cfg.Version == V9 {
		n.klog(fmt.Sprintf("drbd %s/%d drbd%d %s: %s", cfg.Resource, minor-cfg.Minor, minor, n.peer().name, msg))
		return
	}
	n.klog("block drbd" + strconv.Itoa(minor) + ": " + msg)
}

func (n *Node) klog(line string) {
	n.p.klogSeq++
	s := n.p.klogSeq
	n.kernelLog = append(n.kernelLog, fmt.Sprintf("[%5d.%06d] %s", 100+s/10, (s%10)*100000, line))
}

// klogConnState logs a connection state change in the version's words.
func (n *Node) klogConnState(from, to string) {
	if n.p.cfg.Version == V9 {
		from, to = word9(from), word9(to)
	}
	n.klogConn("conn( " + from + " -> " + to + " )")
}

func word9(cs string) string {
	switch cs {
	case csWFConnection:
		return csConnecting
	case csSyncSource, csSyncTarget, csVerifyS, csVerifyT:
		return csConnected
	}
	return cs
}

// afterSBPolicyRE reads the after-sb-0pri, -1pri and -2pri policies from a resource file.
var afterSBPolicyRE = regexp.MustCompile(`after-sb-([012]pri)\s+([a-z-]+)\s*;`)

// afterSB1Pri returns the after-sb-1pri policy of the pair (afterSB). Callers hold mu.
func (p *Pair) afterSB1Pri() string { return p.afterSB("1pri", p.cfg.AfterSB1Pri) }

// afterSB returns the pair's after-sb-KIND policy (KIND "0pri", "1pri" or "2pri"):
// configured when not "", else the one written in a node's /etc/drbd.d files, else
// DRBD's default "disconnect". Callers hold mu.
func (p *Pair) afterSB(kind, configured string) string {
	if configured != "" {
		return configured
	}
	for _, n := range p.nodes {
		for path, e := range n.files {
			if e.dir || !strings.HasPrefix(path, "/etc/drbd.d/") {
				continue
			}
			for _, m := range afterSBPolicyRE.FindAllSubmatch(e.data, -1) {
				if string(m[1]) == kind {
					return string(m[2])
				}
			}
		}
	}
	return "disconnect"
}

// KernelLog returns the node's kernel log lines (as dmesg prints them) without
// counting as a command.
func (n *Node) KernelLog() (lines []string) {
	n.p.view(func() { lines = append(lines, n.kernelLog...) })
	return lines
}

// DiscardedKiB returns how many KiB of this node's own changes DRBD threw away:
// by an automatic split-brain recovery (after-sb-1pri discard-secondary) or by a
// connect with --discard-my-data. A test that sees it grow has lost data.
func (n *Node) DiscardedKiB() (kib int64) {
	n.p.view(func() { kib = n.discardedKiB })
	return kib
}

// progDmesg prints the kernel log; like a non-root user under
// kernel.dmesg_restrict, it fails when the node is set to restrict it.
func progDmesg(c *call) int {
	var code int
	c.p.view(func() {
		if c.n.dmesgRestricted {
			c.errf("dmesg: read kernel buffer failed: Operation not permitted\n")
			code = 1
			return
		}
		for _, l := range c.n.kernelLog {
			c.outf("%s\n", l)
		}
	})
	return code
}

// RestrictDmesg makes dmesg fail as it does for a non-root user under
// kernel.dmesg_restrict = 1.
func (n *Node) RestrictDmesg(restrict bool) { n.p.mutate(func() { n.dmesgRestricted = restrict }) }
