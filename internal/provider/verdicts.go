package provider

import (
	"fmt"
	"time"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

// This file holds the decisions of the steps that wait or promote, as pure functions from
// what was read (status, peer, configuration, time) to a verdict: run this command, wait, or
// refuse with this reason. They run nothing and read nothing, so their rules are tested over
// captured real states without SSH (verdicts_test.go); the steps in sync_steps.go and
// primary_steps.go read, ask, and act.

// syncAction is what drbd_sync's wait does after one status read.
type syncAction int

const (
	syncWait syncAction = iota // keep polling
	syncDone                   // the pair is in sync
	syncFail                   // stop: the verdict's reason says why
	// syncStandAlone: this node is StandAlone and will not reconnect by itself; the step
	// reads its kernel log for the reason (a split brain, or a disconnect) and fails.
	syncStandAlone
	// syncPeerAway: DRBD does not see the peer; the step reads the peer, when it has one, and
	// fails when the peer is StandAlone, else fails when timedOut, else waits.
	syncPeerAway
	// syncPeerBack: the peer is seen again after being away; the step raises its rate again
	// (a rebooted peer comes back with its configured rate) and waits.
	syncPeerBack
)

// syncVerdict is syncWatch's decision on one status read.
type syncVerdict struct {
	action   syncAction
	reason   syncFailure // syncFail: which rule stopped the wait
	err      error       // syncFail: DRBD's own failure (drbd.SyncFailure) or the stall
	timedOut bool        // syncPeerAway: connect_timeout has passed
}

// syncFailure names the rule behind a syncFail verdict.
type syncFailure int

const (
	syncWentDown     syncFailure = iota + 1 // the resource went down on the node
	syncCannotFinish                        // DRBD says it cannot finish by itself
	syncStalled                             // stall_timeout passed without progress
)

// syncWatch decides, for each status read while drbd_sync waits, whether to keep waiting,
// finish or fail. It holds what the rules need from earlier reads: the stall watch, since
// when the peer is away, whether it was away.
type syncWatch struct {
	peerWait          time.Duration // connect_timeout
	stall             stallWatch
	disconnectedSince time.Time
	peerWasDown       bool
}

// peerAway reports whether the node has lost its peer: DRBD 8.x then reports the peer's disk
// DUnknown, while DRBD 9 keeps a peer it was resyncing Inconsistent as long as it is
// Connecting (seen on 9.2.12 when the SyncTarget's plug was pulled mid-resync), so the
// connection state counts too.
func peerAway(st drbd.Status) bool {
	switch st.ConnectionState {
	case drbd.ConnConnecting, drbd.ConnWFConnection, drbd.ConnUnconnected, drbd.ConnNetworkFailure,
		drbd.ConnBrokenPipe, drbd.ConnTimeout, drbd.ConnProtocolError, drbd.ConnTearDown, drbd.ConnDisconnecting:
		return true
	}
	return st.PeerDiskState == drbd.DiskDUnknown
}

// next decides on the status st read at now.
func (w *syncWatch) next(now time.Time, st drbd.Status) syncVerdict {
	if !st.Configured {
		return syncVerdict{action: syncFail, reason: syncWentDown}
	}
	if drbd.InSync(st) {
		return syncVerdict{action: syncDone}
	}
	if st.ConnectionState == drbd.ConnStandAlone {
		return syncVerdict{action: syncStandAlone}
	}
	if err := drbd.SyncFailure(st); err != nil {
		return syncVerdict{action: syncFail, reason: syncCannotFinish, err: err}
	}
	if err := w.stall.observe(now, st); err != nil {
		return syncVerdict{action: syncFail, reason: syncStalled, err: err}
	}
	if peerAway(st) {
		if w.disconnectedSince.IsZero() {
			w.disconnectedSince = now
		}
		w.peerWasDown = true
		return syncVerdict{action: syncPeerAway, timedOut: now.Sub(w.disconnectedSince) > w.peerWait}
	}
	w.disconnectedSince = time.Time{}
	if w.peerWasDown {
		w.peerWasDown = false
		return syncVerdict{action: syncPeerBack}
	}
	return syncVerdict{action: syncWait}
}

// detail is the diagnostic text of a syncFail verdict, or of a syncPeerAway one that timed
// out, for resource name on host with the last status st.
func (v syncVerdict) detail(host fmt.Stringer, name drbd.ResourceName, st drbd.Status, peerWait time.Duration) string {
	switch {
	case v.action == syncPeerAway:
		return fmt.Sprintf("The DRBD peer of %s on %s did not connect within connect_timeout (%s); "+
			"the connection state stayed %s. Check that the peer is up (drbdadm up %s) and that the replication link works.",
			name, host, peerWait, st.ConnectionState, name)
	case v.reason == syncWentDown:
		return fmt.Sprintf("DRBD resource %s went down on %s while waiting for the sync.", name, host)
	case v.reason == syncStalled:
		return fmt.Sprintf("The resync of DRBD resource %s on %s stalled: %s. "+
			"DRBD keeps trying in the kernel; look at both nodes' kernel logs and I/O, then apply again to keep waiting. "+
			"The raised rate is put back.", name, host, v.err)
	default:
		return cannotFinishDetail(host, name, v.err)
	}
}

// cannotFinishDetail explains a state in which waiting is pointless.
func cannotFinishDetail(host fmt.Stringer, name drbd.ResourceName, err error) string {
	return fmt.Sprintf("DRBD resource %s on %s cannot finish syncing by itself: %s\n\n"+
		"Nothing was changed on either node. Resolve it by hand (for split brain see the DRBD User's Guide, "+
		"\"Manual split brain recovery\") and apply again.", name, host, err)
}

// promoteAction is what drbd_primary's promotion does.
type promoteAction int

const (
	promoteRefuse promoteAction = iota // nothing runs: the verdict's refusal says why
	// promoteWaitPeerGone: the peer is fenced but DRBD still sees it (DRBD notices a dead
	// peer only after its ping timeout); wait until it drops the peer, then decide again.
	promoteWaitPeerGone
	// promoteWaitPeer: force on a pair whose peer has not connected yet (and is not
	// StandAlone): wait for it, so the fresh-pair guard sees both sides, then decide again.
	promoteWaitPeer
	// promotePlain: `drbdadm primary`: this node's data is UpToDate, or (why names the
	// volumes that are not) DRBD decides.
	promotePlain
	promoteFailover // `drbdadm primary` onto the UpToDate data of a node whose peer is fenced
	// promoteSkipSync: mark the fresh pair in sync (skip_initial_sync), then `drbdadm primary`.
	promoteSkipSync
	// promoteForce: `drbdadm primary --force` on a fresh pair; the host checks the guard again
	// and forces in one shell.
	promoteForce
	// promoteForceOverride: `drbdadm primary --force` with the fresh-pair guard lifted by
	// allow_overwrite_peer_data.
	promoteForceOverride
)

// promoteRefusal names the rule behind a promoteRefuse verdict.
type promoteRefusal int

const (
	refuseFailoverManyPeers   promoteRefusal = iota + 1 // a failover with more than one peer
	refuseFailoverUnfenced                              // the peer is not connected and not fenced
	refuseFailoverNotUpToDate                           // the peer is fenced but this node's data is not UpToDate
	refuseForceNotFresh                                 // force on a pair that is not fresh
	refuseNoQuorum                                      // DRBD 9 reports no quorum on this node
)

// promoteInput is what decidePromotion decides on: the status read just before, the peer's
// fence, drbd_primary's flags, and which waits already happened.
type promoteInput struct {
	probe                  *drbd.Probe
	peerFenced             bool
	force                  bool
	allowOverwritePeerData bool
	skipInitialSync        bool
	waitedPeerGone         bool // promoteWaitPeerGone already ran
	waitedPeer             bool // promoteWaitPeer already ran
}

// promoteVerdict is decidePromotion's decision.
type promoteVerdict struct {
	action  promoteAction
	refusal promoteRefusal
	// why is the state behind the verdict, for its message: the disconnected volumes or
	// peers, the volumes not UpToDate, or the fresh-pair guard's reason.
	why string
}

// decidePromotion decides how drbd_primary promotes a node, over every volume and every peer
// connection of the status it read (p.Volumes). A node that DRBD 9 reports without quorum
// (quorum enabled, too few nodes visible) is never promoted: DRBD refuses a plain promotion
// then, and `--force` would override quorum. The waits come first, since a peer that connects
// brings quorum back, and so do the other refusals, whose advice is more precise.
func decidePromotion(in promoteInput) promoteVerdict {
	v := promotionRules(in)
	switch v.action {
	case promoteWaitPeerGone, promoteWaitPeer, promoteRefuse:
		return v
	}
	if lost := in.probe.Volumes.NoQuorum(); lost != "" {
		return promoteVerdict{action: promoteRefuse, refusal: refuseNoQuorum, why: lost}
	}
	return v
}

// promotionRules is decidePromotion without the quorum rule.
func promotionRules(in promoteInput) promoteVerdict {
	vols := in.probe.Volumes
	if in.peerFenced && !in.waitedPeerGone && drbd.PeerConnected(in.probe.Status) {
		return promoteVerdict{action: promoteWaitPeerGone}
	}
	disconnected := vols.Disconnected()
	allUpToDate, notUpToDate := vols.AllUpToDate()
	switch {
	case disconnected != "" && len(vols.Peers) > 1 && (in.peerFenced || vols.AnyUpToDate()):
		return promoteVerdict{action: promoteRefuse, refusal: refuseFailoverManyPeers, why: disconnected}
	case disconnected != "" && !in.peerFenced && vols.AnyUpToDate():
		// Without UpToDate data DRBD itself refuses a plain promotion, and the forced one has
		// its own fresh-pair guard below; with it, a promotion now would be a failover.
		return promoteVerdict{action: promoteRefuse, refusal: refuseFailoverUnfenced, why: disconnected}
	case disconnected != "" && in.peerFenced && !allUpToDate:
		return promoteVerdict{action: promoteRefuse, refusal: refuseFailoverNotUpToDate, why: notUpToDate}
	case disconnected != "" && in.peerFenced:
		return promoteVerdict{action: promoteFailover}
	case allUpToDate:
		// Local data is good: a plain promotion is safe and needs no force.
		return promoteVerdict{action: promotePlain}
	case !in.force:
		// DRBD refuses it without UpToDate data; why tells the step to say how to start a pair.
		return promoteVerdict{action: promotePlain, why: notUpToDate}
	case disconnected != "" && !vols.StandAlone() && !in.waitedPeer:
		return promoteVerdict{action: promoteWaitPeer}
	}
	allowed, reason := drbd.ForcePrimaryAllowedAll(vols)
	switch {
	case !allowed && !in.allowOverwritePeerData:
		return promoteVerdict{action: promoteRefuse, refusal: refuseForceNotFresh, why: reason}
	case in.skipInitialSync:
		// Its own checks decide (both nodes' metadata Just Created, Connected, Inconsistent).
		return promoteVerdict{action: promoteSkipSync, why: reason}
	case !allowed:
		return promoteVerdict{action: promoteForceOverride, why: reason}
	default:
		return promoteVerdict{action: promoteForce}
	}
}
