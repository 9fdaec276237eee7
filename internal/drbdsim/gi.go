package drbdsim

import "fmt"

// Generation identifiers: fresh metadata carries DRBD's "Just Created" UUID until the node
// first holds UpToDate data (a forced promotion, a finished sync, or a skipped initial sync).

const (
	giJustCreated = "0000000000000004:0000000000000000:0000000000000000:0000000000000000"
	giSynced      = "2892BE5219AE1AC0:0000000000000000:0000000000000000:0000000000000000"
)

// admGetGI implements `drbdadm get-gi RES` like drbd-utils 9.22 on 8.4.11: the resource
// need not be up (drbdmeta reads the metadata then). Callers hold mu.
func admGetGI(c *call, _ admArgs) int {
	n := c.n
	if !n.hasMD {
		if c.p.cfg.Version != V9 { // drbd-utils 9.22 on DRBD 9 prints nothing
			c.errf("No valid meta data found\n")
		}
		return 1
	}
	cur := giSynced
	if n.justCreated() {
		cur = giJustCreated
	}
	primary, connected := 0, 0
	if n.up && n.role == rolePrimary {
		primary = 1
	}
	if n.up && n.p.linkUp() {
		connected = 1
	}
	consistent := 0
	if n.mdDisk == diskUpToDate || n.mdDisk == diskConsistent || n.mdDisk == diskOutdated {
		consistent = 1
	}
	for range c.p.volumes() { // one line per volume, as drbdadm runs get-gi on each
		if c.p.cfg.Version == V9 {
			c.outf("%s:%s\n", cur, flags9(n, consistent, primary, connected))
			continue
		}
		c.outf("%s:%d:%d:%d:%d:0:%d:0\n", cur, consistent, consistent, primary, connected, 1-consistent)
	}
	return 0
}

// JustCreated reports whether the node's metadata still has the Just Created generation.
func (n *Node) JustCreated() (ok bool) {
	n.p.view(func() { ok = n.justCreated() })
	return ok
}

// flags9 returns the 12 flags drbd-utils 9.22 prints after DRBD 9's four UUIDs, in the shape
// seen on 9.2.12 (consistent, up to date, primary twice, never attached, connected, attached
// once); the provider reads the UUIDs only. Callers hold mu.
func flags9(n *Node, consistent, primary, connected int) string {
	uptodate, fresh, attached := 0, 0, 0
	if consistent == 1 && n.mdDisk != diskOutdated {
		uptodate = 1
	}
	if !n.everUp {
		fresh = 1
	} else {
		attached = 1
	}
	return fmt.Sprintf("%d:%d:%d:%d:%d:0:0:%d:0:0:0:%d", consistent, uptodate, primary, primary, fresh, connected, attached)
}
