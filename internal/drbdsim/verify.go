package drbdsim

import "fmt"

// Online-verify connection words (8.x cs:, DRBD 9 replication).
const (
	csVerifyS = "VerifyS"
	csVerifyT = "VerifyT"
)

// verifyRun is a running online verify, counted in 4 KiB bits like a resync.
type verifyRun struct {
	source    int
	totalBits int64
	leftBits  int64
}

// InjectOutOfSync makes kib KiB (rounded up to 4 KiB blocks) of the two backing disks differ
// without DRBD knowing, as a corrupted block on one disk would: the next online verify finds
// them and marks them out of sync on both nodes, and a disconnect/connect with a Primary
// resyncs them from it.
func (p *Pair) InjectOutOfSync(kib int64) {
	p.mutate(func() { p.divergentKiB += kibToBits(kib) * 4 })
}

// Verifying reports whether an online verify runs, and its progress in percent.
func (p *Pair) Verifying() (running bool, percent float64) {
	p.view(func() {
		if p.verify != nil && p.linkUp() {
			running = true
			percent = 100 * float64(p.verify.totalBits-p.verify.leftBits) / float64(p.verify.totalBits)
		}
	})
	return running, percent
}

// admVerify is `drbdadm verify`: DRBD's state-change checks, then an online verify with
// this node as VerifyS. Callers hold mu.
func admVerify(c *call, _ admArgs) int {
	n, p := c.n, c.p
	if !n.up {
		return c.notUp("verify")
	}
	_, pd := n.peerView()
	if !p.linkUp() || p.sync != nil || p.verify != nil || n.disk != diskUpToDate || pd != diskUpToDate {
		return c.stateFailed(11, "(-15) Need a connection to start verify or resync", "verify")
	}
	if p.cfg.VerifyAlg == "" {
		return c.stateFailed(11, "(-14) Need a verify algorithm to start online verify", "verify")
	}
	bits := kibToBits(p.cfg.SizeKiB)
	p.verify = &verifyRun{source: n.idx, totalBits: bits, leftBits: bits}
	for _, x := range p.nodes {
		to := csVerifyT
		if x == n {
			to = csVerifyS
		}
		x.klogVerifyState(csConnected, to)
	}
	n.klogDev("Starting Online Verify from sector 0")
	return 0
}

// klogVerifyState logs a change between Connected and a Verify state. Callers hold mu.
func (n *Node) klogVerifyState(from, to string) {
	if n.p.cfg.Version == V9 {
		if from == csConnected {
			from = "Established"
		}
		if to == csConnected {
			to = "Established"
		}
		n.klogDev("repl( " + from + " -> " + to + " )")
		return
	}
	n.klogDev("conn( " + from + " -> " + to + " )")
}

// advanceVerify moves a running verify forward by percent of its total. Callers hold mu.
func (p *Pair) advanceVerify(percent float64) {
	v := p.verify
	step := int64(float64(v.totalBits)*percent/100) + 1
	if step > v.leftBits {
		step = v.leftBits
	}
	v.leftBits -= step
	src := p.nodes[v.source]
	src.ctr.dr += step * 4
	p.nodes[1-v.source].ctr.dr += step * 4
	if v.leftBits > 0 {
		return
	}
	p.verify = nil
	found := p.divergentKiB
	p.divergentKiB = 0
	p.foundKiB += found
	for _, x := range p.nodes {
		if found > 0 {
			// DRBD 9 says "blocks", 8.4 "block".
			plural := ""
			if p.cfg.Version == V9 {
				plural = "s"
			}
			x.klogDev(fmt.Sprintf("Online verify found %d 4k block%s out of sync!", found/4, plural))
		}
		x.klogDev(fmt.Sprintf("Online verify done (total 1 sec; paused 0 sec; %d K/sec)", simSpeedKiB))
		to := csVerifyT
		if x == src {
			to = csVerifyS
		}
		x.klogVerifyState(to, csConnected)
	}
}

// primaryIndex returns the index of the only Primary node, or -1. Callers hold mu.
func (p *Pair) primaryIndex() int {
	idx := -1
	for i, n := range p.nodes {
		if n.role == rolePrimary {
			if idx >= 0 {
				return -1
			}
			idx = i
		}
	}
	return idx
}

// CompleteVerify finishes a running online verify at once (no-op when none runs), as its
// last status read would.
func (p *Pair) CompleteVerify() {
	p.mutate(func() {
		if p.verify != nil && p.linkUp() {
			p.advanceVerify(100)
		}
	})
}
