package drbdsim

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
		c.errf("No valid meta data found\n")
		return 1
	}
	cur := giSynced
	if !n.everUpToDate {
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
		c.outf("%s:%d:%d:%d:%d:0:%d:0\n", cur, consistent, consistent, primary, connected, 1-consistent)
	}
	return 0
}

// JustCreated reports whether the node's metadata still has the Just Created generation.
func (n *Node) JustCreated() (ok bool) {
	n.p.view(func() { ok = n.hasMD && !n.everUpToDate })
	return ok
}
