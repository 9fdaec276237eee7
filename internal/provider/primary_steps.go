package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// promote runs the promotion decidePromotion chooses (verdicts.go) and returns the status
// after it, or nil with diagnostics.
func (r *primaryResource) promote(ctx context.Context, h *remoteHost, m *primaryResourceModel, name drbd.ResourceName, p *drbd.Probe, diags *diag.Diagnostics) *drbd.Probe {
	const summary = "Unable to Promote DRBD Resource"
	cmds := drbd.NewCommands(p.Versions)
	fenceEntry, peerFenced := r.peerFenced(*m)
	in := promoteInput{probe: p, peerFenced: peerFenced, force: m.Force.ValueBool(),
		allowOverwritePeerData: m.AllowOverwritePeerData.ValueBool(), skipInitialSync: m.SkipInitialSync.ValueBool()}
	v := decidePromotion(in)
	for v.action == promoteWaitPeerGone || v.action == promoteWaitPeer {
		if v.action == promoteWaitPeerGone {
			in.waitedPeerGone = true
			p = waitForPeerGone(ctx, h, name, p, durationOr(m.ConnectTimeout, time.Minute, diags), fenceEntry, diags)
		} else {
			in.waitedPeer = true
			p = waitForPeer(ctx, h, name, p, durationOr(m.ConnectTimeout, time.Minute, diags), diags)
		}
		if p == nil {
			return nil
		}
		in.probe = p
		v = decidePromotion(in)
	}
	var cmd, hint string
	var err error
	switch v.action {
	case promoteRefuse:
		r.refusePromotion(ctx, v, h, m, name, p, fenceEntry, diags)
		return nil
	case promoteFailover:
		cmd = cmds.Primary(name)
		hint = "DRBD refused the failover promotion; the kernel log of this node has the details."
		diags.AddWarning("DRBD Failover", fmt.Sprintf("Promoting %s on %s while its peer is fenced (%q): a failover onto this "+
			"node's UpToDate data. When the peer returns, unfence it and let it rejoin as Secondary.", name, h, fenceEntry))
	case promotePlain:
		cmd = cmds.Primary(name)
		hint = "If the peer is Primary, demote it first: DRBD allows one Primary at a time in this configuration."
		if v.why != "" {
			hint = "A fresh pair (both disks Inconsistent) has no UpToDate data: set force = true on the node chosen as the initial sync source."
		}
	case promoteSkipSync:
		if v.why != "" {
			warnOverride(h, v.why, diags)
		}
		if !r.skipInitialSync(ctx, h, m, name, p, diags) {
			return nil
		}
		// Both disks are UpToDate now: the promotion is a plain one, and there is no resync.
		cmd = cmds.Primary(name)
	case promoteForceOverride:
		warnOverride(h, v.why, diags)
		cmd, err = cmds.ForcePrimary(name) // the guard lifted: nothing to check again
	case promoteForce:
		// The guard held on the probe: the host checks it again and forces in one shell.
		var guardedCmd, force string
		if guardedCmd, err = cmds.ForcePrimaryGuarded(name, p.Volumes.Minors()); err != nil {
			break
		}
		force, _ = cmds.ForcePrimary(name)
		if !runGuarded(ctx, h, diags, summary, force, name, p.Volumes.Minors(), guardedCmd, drbd.GuardedRun.ForceAllowed) {
			return nil
		}
	}
	if err != nil {
		diags.AddError(summary, err.Error())
		return nil
	}
	if cmd != "" {
		tflog.Info(ctx, "promoting DRBD resource", map[string]any{"host": h.String(), "command": cmd})
		if _, ok := h.run(ctx, diags, summary, cmd, withHint(hint)); !ok {
			return nil
		}
	}
	// Only the new role is needed: the status alone (one program), not another full probe.
	p, err = h.readStatus(ctx, name, statusPoll(p))
	if err != nil {
		diags.AddError(summary, statusErrorDetail(ctx, h, err))
		return nil
	}
	h.cache.notePromoted(h, name, p.Status)
	return p
}

// warnOverride is the warning of a force whose fresh-pair guard allow_overwrite_peer_data lifted.
func warnOverride(h *remoteHost, reason string, diags *diag.Diagnostics) {
	diags.AddAttributeWarning(path.Root("allow_overwrite_peer_data"), "Forcing DRBD Primary Over Peer Data",
		fmt.Sprintf("allow_overwrite_peer_data = true lifted the fresh-pair guard on %s: %s. The peer's data will be overwritten.", h, reason))
}

// refusePromotion turns a promoteRefuse verdict into its error.
func (r *primaryResource) refusePromotion(ctx context.Context, v promoteVerdict, h *remoteHost, m *primaryResourceModel, name drbd.ResourceName,
	p *drbd.Probe, fenceEntry string, diags *diag.Diagnostics) {
	st, vols := p.Status, p.Volumes
	switch v.refusal {
	case refuseFailoverManyPeers:
		diags.AddError("Refusing DRBD Failover", fmt.Sprintf("%s on %s has %d peer connections and %s, so promoting this node would "+
			"be a failover, which drbd_primary cannot decide for more than one peer: peer_host names one peer, and whether the "+
			"others form a majority (quorum) is not known here (%s). Nothing was changed. Promote it by hand after checking "+
			"every peer, or reconnect the peers.", name, h, len(vols.Peers), v.why, vols))
	case refuseFailoverUnfenced:
		diags.AddError("Refusing DRBD Failover", fmt.Sprintf("The DRBD peer of %s on %s is not connected (%s; connection %s, peer disk %s), "+
			"so promoting this node would be a failover, and the peer may still be Primary on the other side of a partition. "+
			"Nothing was changed.\n\n%s", name, h, v.why, st.ConnectionState, st.PeerDiskState, r.peerHint(ctx, *m, name)))
	case refuseFailoverNotUpToDate:
		disk := "this node's disk is " + string(st.DiskState)
		if len(vols.Local) > 1 {
			disk = "on this node " + v.why
		}
		diags.AddError("Refusing DRBD Failover", fmt.Sprintf("The peer of %s on %s is fenced (%q), but %s, "+
			"not UpToDate: promoting it would serve data that may be older than what the dead peer last wrote. Nothing was changed. "+
			"Bring the peer back (unfence it) so the pair resyncs, or recover its data another way.",
			name, h, fenceEntry, disk))
	case refuseNoQuorum:
		diags.AddError("Refusing DRBD Promotion Without Quorum", fmt.Sprintf("DRBD reports that %s on %s has no quorum: %s. "+
			"Quorum is enabled on this resource and this node sees too few of its nodes. DRBD refuses a plain promotion without "+
			"quorum, and `drbdadm primary --force` would override it, which drbd_primary never does. Nothing was changed. "+
			"Bring enough peers back, or decide by hand (quorum exists to stop a lone node from being promoted).", name, h, v.why))
	case refuseForceNotFresh:
		diags.AddAttributeError(path.Root("force"), "Refusing to Force DRBD Primary",
			fmt.Sprintf("Forcing %s primary on %s would make its data the sync source: %s\n\n"+
				"Nothing was changed. Only a fresh pair (every volume Inconsistent on both sides) may be forced. If "+
				"overwriting the peer's data is really intended, set allow_overwrite_peer_data = true.", name, h, v.why))
	}
}

// skipInitialSync marks a freshly created pair in sync after checking that both nodes'
// metadata is Just Created and the pair Connected with both disks Inconsistent. It changes
// nothing and returns false with an error otherwise.
func (r *primaryResource) skipInitialSync(ctx context.Context, h *remoteHost, m *primaryResourceModel, name drbd.ResourceName, p *drbd.Probe, diags *diag.Diagnostics) bool {
	const summary = "Refusing to Skip the Initial Sync"
	st := p.Status
	freshOK, fresh := drbd.SkipInitialSyncAllowed(p.Volumes)
	if disconnected := p.Volumes.Disconnected(); disconnected != "" {
		diags.AddAttributeError(path.Root("skip_initial_sync"), summary, fmt.Sprintf("The initial sync of %s can be skipped only on a "+
			"Connected pair; %s shows %s (connection %s, disks %s/%s). Nothing was changed.", name, h, disconnected, st.ConnectionState, st.DiskState, st.PeerDiskState))
		return false
	}
	if _, fenced := r.peerFenced(*m); fenced || m.PeerHost.IsNull() {
		diags.AddAttributeError(path.Root("skip_initial_sync"), summary, "skip_initial_sync needs peer_host, not fenced, to check its metadata.")
		return false
	}
	peer := r.peerOf(m.peer())
	pp, ok := peer.probe(ctx, diags, "Unable to Read DRBD Status of the Peer", name, statusFresh)
	if !ok {
		return false
	}
	var seen []string
	just := true
	for _, n := range []probedHost{{h, p}, {peer, pp}} {
		cmd := drbd.NewCommands(n.probe.Versions).GetGI(name)
		res, ok := n.host.run(ctx, diags, "Unable to Read DRBD Generation Identifiers", cmd)
		if !ok {
			return false
		}
		gis, err := drbd.ParseGIAll(res.Stdout)
		if err != nil {
			diags.AddError(summary, fmt.Sprintf("%s on %s: %s", cmd, n.host, err))
			return false
		}
		for i, gi := range gis {
			state := "Just Created"
			if !gi.JustCreated() {
				state, just = "not Just Created (it has held data before)", false
			}
			seen = append(seen, fmt.Sprintf("%s volume %d: %s, %s", n.host, i, gi.Raw, state))
		}
		if len(gis) != len(p.Volumes.Local) {
			just = false
			seen = append(seen, fmt.Sprintf("%s: %d generation lines for %d volumes", n.host, len(gis), len(p.Volumes.Local)))
		}
	}
	if !just || !freshOK {
		if freshOK {
			fresh = "every volume is Connected and Inconsistent/Inconsistent"
		}
		diags.AddAttributeError(path.Root("skip_initial_sync"), summary, fmt.Sprintf("The initial sync of %s is skipped only when "+
			"the metadata of both nodes is freshly created and never synced (Just Created) and every disk on both nodes is "+
			"Inconsistent. State: %s. Generation identifiers (drbdadm get-gi):\n  %s\n\n"+
			"Nothing was changed. Set skip_initial_sync = false to sync normally.", name, fresh, strings.Join(seen, "\n  ")))
		return false
	}
	cmds := drbd.NewCommands(p.Versions)
	cmd, err := cmds.SkipInitialSyncGuarded(name, p.Volumes.Minors())
	if err != nil {
		diags.AddError(summary, err.Error())
		return false
	}
	skip, _ := cmds.SkipInitialSync(name)
	tflog.Info(ctx, "skipping the initial DRBD sync of blank devices", map[string]any{"host": h.String(), "command": skip, "generations": seen})
	return runGuarded(ctx, h, diags, "Unable to Skip the Initial DRBD Sync", skip, name, p.Volumes.Minors(), cmd, drbd.GuardedRun.SkipAllowed)
}

// runGuarded runs cmd, a guarded command of the drbd package (ForcePrimaryGuarded,
// SkipInitialSyncGuarded) whose action is what, and re-checks the host's decision with
// check. It reports success; otherwise it records a diagnostic naming the host, what the
// host saw, the exit code and stderr: when the host ran nothing because the state changed
// since the probe, when the host and the provider disagree, or when the action failed.
func runGuarded(ctx context.Context, h *remoteHost, diags *diag.Diagnostics, summary, what string, name drbd.ResourceName, minors []int,
	cmd string, check func(drbd.GuardedRun) (bool, string, error)) bool {
	tflog.Info(ctx, "running a guarded DRBD command", map[string]any{"host": h.String(), "command": what})
	res, err := h.exec(ctx, cmd)
	if err != nil {
		diags.AddError(summary, transportDetail(ctx, h, what, err))
		return false
	}
	g, err := drbd.ParseGuarded(name.String(), minors, res.Stdout)
	if err != nil {
		diags.AddError(summary, exitDetail(h, what, res, "The check before it printed no state ("+err.Error()+"), so it is unknown whether it ran. "+
			"Check the resource with `drbdadm status "+name.String()+"` there."))
		return false
	}
	ok, reason, mismatch := check(g)
	stderr := strings.TrimSpace(res.Stderr)
	if stderr == "" {
		stderr = "(empty)"
	}
	switch {
	case mismatch != nil:
		diags.AddError(summary, fmt.Sprintf("`%s` ran on %s although the state the host read just before does not allow it: %s. "+
			"The host saw:\n%s\n\nShell exit code %d, stderr: %s. Check the pair now (`drbdadm status %s` on both nodes).",
			what, h, mismatch, g.Raw, res.ExitCode, stderr, name))
		return false
	case !g.Ran:
		switch {
		case g.ReadExit != 0:
			reason = fmt.Sprintf("reading the state exited %d", g.ReadExit)
		case ok:
			reason = "the host's own check, stricter than the provider's, refused it"
		}
		diags.AddError(summary, fmt.Sprintf("`%s` was not run on %s: the host re-checked the state of %s in the same shell, and it "+
			"changed since it was read: %s. The host saw (%s):\n%s\n\nShell exit code %d, stderr: %s. Nothing was changed; "+
			"apply again to decide on the new state.", what, h, name, reason, g.Seen, g.Raw, res.ExitCode, stderr))
		return false
	case g.Result.Exit != 0:
		diags.AddError(summary, exitDetail(h, what, sshx.Result{ExitCode: g.Result.Exit, Stderr: g.Result.Output},
			"The state allowed it just before (checked in the same shell); the kernel log of this node has DRBD's reason."))
		return false
	}
	return true
}

// peerFenced reports whether the resource's peer_host is fenced, and the entry that says so.
func (r *primaryResource) peerFenced(m primaryResourceModel) (string, bool) {
	if m.PeerHost.IsNull() || m.PeerHost.IsUnknown() {
		return "", false
	}
	return r.data.fencedTarget(m.PeerHost.ValueString(), int(m.PeerPort.ValueInt64()))
}

// peerHint explains a refused failover: what the peer looks like from here, if it can be
// reached within a few seconds, and how to fence it.
func (r *primaryResource) peerHint(ctx context.Context, m primaryResourceModel, name drbd.ResourceName) string {
	const fence = "If the peer is dead, make sure it stays so (power it off, or cut it off so that it cannot write), " +
		"then add it to the provider's fenced_hosts and apply again: that is a failover."
	if m.PeerHost.IsNull() || m.PeerHost.IsUnknown() {
		return fence + " Set peer_host on this drbd_primary to name the peer."
	}
	peer := r.peerOf(m.peer())
	ctx, cancel := context.WithTimeout(ctx, peerHintTimeout)
	defer cancel()
	pp, err := peer.readStatus(ctx, name, statusFresh)
	switch {
	case err != nil:
		return fmt.Sprintf("The peer %s could not be read (%s). %s", peer, err, fence)
	case pp.Status.Role == drbd.RolePrimary:
		return fmt.Sprintf("The peer %s is alive and Primary (connection %s): this is a partition or a split brain, not a dead "+
			"peer. Demote one side before connecting them.", peer, pp.Status.ConnectionState)
	default:
		return fmt.Sprintf("The peer %s is alive (role %s, connection %s, disk %s): reconnect the pair (its drbd_resource "+
			"reconnects it) and switch over instead of failing over.", peer, pp.Status.Role, pp.Status.ConnectionState, pp.Status.DiskState)
	}
}

// peerHintTimeout bounds the look at the peer when a failover is refused.
const peerHintTimeout = 10 * time.Second

// pollPeer polls the status (after the caller's full probe first) every second until done
// holds or timeout passes, and returns the last probe and whether done held. It returns nil
// only on errors (cancellation, a failed read), with a diagnostic.
func pollPeer(ctx context.Context, h *remoteHost, name drbd.ResourceName, first *drbd.Probe, timeout time.Duration, waitingFor string,
	done func(*drbd.Probe) bool, diags *diag.Diagnostics) (*drbd.Probe, bool) {
	deadline := time.Now().Add(timeout)
	p := first
	for !done(p) {
		if time.Now().After(deadline) {
			return p, false
		}
		tflog.Info(ctx, "waiting for "+waitingFor, map[string]any{
			"host": h.String(), "resource": name.String(), "connection_state": string(p.Status.ConnectionState),
		})
		select {
		case <-ctx.Done():
			diags.AddError("Unable to Read DRBD Status", fmt.Sprintf("Waiting on %s for %s (resource %s) was cancelled: %s", h, waitingFor, name, ctx.Err()))
			return nil, false
		case <-time.After(time.Second):
		}
		var err error
		if p, err = h.readStatus(ctx, name, statusPoll(first)); err != nil {
			diags.AddError("Unable to Read DRBD Status", statusErrorDetail(ctx, h, err))
			return nil, false
		}
	}
	return p, true
}

// waitForPeerGone waits until DRBD no longer sees its fenced peer, or fails after timeout.
func waitForPeerGone(ctx context.Context, h *remoteHost, name drbd.ResourceName, first *drbd.Probe, timeout time.Duration, entry string, diags *diag.Diagnostics) *drbd.Probe {
	p, gone := pollPeer(ctx, h, name, first, timeout, "DRBD to notice that the fenced peer is gone",
		func(p *drbd.Probe) bool { return !drbd.PeerConnected(p.Status) }, diags)
	if p != nil && !gone {
		diags.AddError("Refusing DRBD Failover", fmt.Sprintf("The peer of %s on %s is fenced (%q), but DRBD on %s still sees it connected "+
			"(connection %s, peer %s/%s) after connect_timeout (%s). A fenced host must be off or cut off; check the fence. "+
			"Nothing was changed.", name, h, entry, h, p.Status.ConnectionState, p.Status.PeerRole, p.Status.PeerDiskState, timeout))
		return nil
	}
	return p
}

// waitForPeer waits until the disk state of every DRBD peer of every volume is known (or a
// connection is StandAlone) or timeout passes; then it returns the last probe (the caller's
// guard decides). It returns nil only on errors.
func waitForPeer(ctx context.Context, h *remoteHost, name drbd.ResourceName, first *drbd.Probe, timeout time.Duration, diags *diag.Diagnostics) *drbd.Probe {
	p, _ := pollPeer(ctx, h, name, first, timeout, "the DRBD peers to connect", func(p *drbd.Probe) bool {
		return p.Volumes.Disconnected() == "" || p.Volumes.StandAlone()
	}, diags)
	return p
}

// promoteHealthy promotes resource in one round trip when the pair is healthy and at rest
// (drbd.PromoteHealthyCommand). It returns the status after the promotion and true when it
// promoted, or reported why DRBD refused (an error in diags); false when the state was
// anything else, so that nothing ran and the caller takes its guarded path.
func (h *remoteHost) promoteHealthy(ctx context.Context, diags *diag.Diagnostics, summary string, res drbd.ResourceName) (drbd.Status, bool) {
	cmd := drbd.PromoteHealthyCommand(res)
	out, ok := h.run(ctx, diags, summary, cmd)
	if !ok {
		return drbd.Status{}, true
	}
	hp, err := drbd.ParsePromoteHealthy(res.String(), out.Stdout)
	switch {
	case err != nil:
		diags.AddError(summary, fmt.Sprintf("Promoting %s on %s: %s. Check the resource with `drbdadm status %s` there.", res, h, err, res))
		return drbd.Status{}, true
	case !hp.Attempted:
		tflog.Debug(ctx, "not a healthy pair at rest: taking the guarded promotion", map[string]any{"host": h.String(), "state": out.Stdout})
		return drbd.Status{}, false
	case !hp.Promoted():
		diags.AddError(summary, exitDetail(h, drbd.NewCommands(drbd.Versions{}).Primary(res), sshx.Result{ExitCode: hp.Primary.Exit, Stderr: hp.Primary.Output},
			"The pair looked healthy (Connected, both Secondary, both UpToDate) just before; check the kernel log of this node."))
		return drbd.Status{}, true
	}
	tflog.Info(ctx, "promoted a healthy DRBD pair at rest", map[string]any{"host": h.String(), "resource": res.String()})
	st := hp.After()
	h.devices.set(h, res, st.Device)
	h.cache.notePromoted(h, res, st)
	return st, true
}
