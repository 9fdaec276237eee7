package drbd

// Connect returns `drbdadm connect RES`, the same on DRBD 8.3, 8.4 and 9: it
// reconnects a StandAlone resource (left so by `drbdadm disconnect` or by a
// split brain DRBD did not resolve), which then waits for its peer
// (WFConnection, Connecting on 9). On a node that is not StandAlone DRBD
// refuses it ("Local address(port) already in use", 9: "Connection for peer
// node id N already exists").
func (c Commands) Connect(res ResourceName) string { return c.drbdadm(res, "connect") }

// ConnectDiscardMyData returns the connect of a split-brain victim, the node
// whose changes since the split brain are thrown away: 8.3
// `drbdadm -- --discard-my-data connect RES`, 8.4 and 9
// `drbdadm connect --discard-my-data RES` (the DRBD User's Guide, "Manual
// split brain recovery"). At the next handshake DRBD logs "Split-Brain
// detected, manually solved. Sync from peer node" and this node becomes
// SyncTarget of its peer for every block either node changed while apart.
//
// Run it only on a StandAlone Secondary node that DRBD reported in split
// brain (Status.SplitBrain): DRBD cannot make a Primary SyncTarget, and the
// option means nothing without a split brain. The Guide runs
// `drbdadm disconnect` first; on a StandAlone node that is not needed, and
// real DRBD 8.4.11 even fails it there ("(162) Invalid configuration request
// ... unknown connection", exit 10).
func (c Commands) ConnectDiscardMyData(res ResourceName) (string, error) {
	if err := c.needFamily("split-brain victim connect"); err != nil {
		return "", err
	}
	if c.family == Family83 {
		return c.drbdadm(res, "--", "--discard-my-data", "connect"), nil
	}
	return c.drbdadm(res, "connect", "--discard-my-data"), nil
}
