package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// raisedRate is a node on which the resync rate was raised, with the settings read just
// before, which restoring puts back.
type raisedRate struct {
	host   *remoteHost
	cmds   drbd.Commands
	device string
	saved  drbd.ResyncSettings
}

// syncStep is one Create of drbd_sync: the node, its optional peer, and the nodes whose
// rate it raised.
type syncStep struct {
	m    *syncResourceModel
	name drbd.ResourceName
	h    *remoteHost
	peer *remoteHost // nil without peer_host, or when it is fenced
	// peerFence is the fenced_hosts entry that fences peer_host, "" when not fenced.
	peerFence string
	raised    []raisedRate
	diags     *diag.Diagnostics
}

const syncSummary = "Unable to Wait for DRBD Sync"

// run waits for the sync and returns the final probe of the node, or nil with an error
// diagnostic. Whatever happens it changes no connection or attachment state: the only
// commands it sends besides status reads set the resync rate and put it back.
func (s *syncStep) run(ctx context.Context) *drbd.Probe {
	// A promotion of this node has just read its state, and nothing that can change DRBD's
	// state ran since (probeCache): a pair it read in sync is in sync, and with the peer
	// fenced there is nothing to wait for.
	if st, ok := s.h.cache.afterPromotion(s.h, s.name); ok && (s.peerFence != "" || drbd.InSync(st)) {
		tflog.Info(ctx, "answering from the status the promotion read", map[string]any{"host": s.h.String(), "resource": s.name.String()})
		p := &drbd.Probe{Status: st}
		if s.peerFence != "" {
			return s.degraded(p)
		}
		if !s.notePeerKey(ctx) {
			return nil
		}
		return p
	}
	// Only a StandAlone node needs the split-brain verdict: the first read leaves out the
	// kernel log, and a StandAlone node is read again with it.
	p, ok := s.h.probe(ctx, s.diags, syncSummary, s.name, statusGuard)
	if !ok || !s.h.requireUp(s.diags, syncSummary, p, s.name) {
		return nil
	}
	if s.peerFence != "" {
		return s.degraded(p)
	}
	if p.Status.ConnectionState == drbd.ConnStandAlone {
		// Split brain or an administrative disconnect: only the kernel log tells which.
		if p, ok = s.h.probe(ctx, s.diags, syncSummary, s.name, statusFresh); !ok || !s.h.requireUp(s.diags, syncSummary, p, s.name) {
			return nil
		}
	}
	if !s.notePeerKey(ctx) {
		return nil
	}
	// Connected with both disks UpToDate, read on the node just now, is the pair in sync: the
	// peer's own state is read only when there is something to wait for (its StandAlone, the
	// rate to raise there).
	if drbd.InSync(p.Status) {
		return p
	}
	var pp *drbd.Probe
	if s.peer != nil {
		if pp, ok = s.peer.probe(ctx, s.diags, "Unable to Read DRBD Status of the Peer", s.name, statusFresh); !ok {
			return nil
		}
	}
	// A StandAlone node (split brain or an administrative disconnect) never syncs by
	// itself: fail before changing anything on either node.
	if err := drbd.SyncFailure(p.Status); err != nil {
		s.diags.AddError(syncSummary, cannotFinishDetail(s.h, s.name, err))
		return nil
	}
	if pp != nil && pp.Status.Configured && pp.Status.ConnectionState == drbd.ConnStandAlone {
		s.diags.AddError(syncSummary, cannotFinishDetail(s.peer, s.name, drbd.SyncFailure(pp.Status)))
		return nil
	}
	if !s.m.ResyncRate.IsNull() {
		s.raiseRate(ctx, p, pp)
		if s.diags.HasError() {
			s.restoreRate(ctx)
			return nil
		}
	}
	p = s.wait(ctx, p)
	if !s.m.KeepResyncRate.ValueBool() {
		s.restoreRate(ctx)
	}
	return p
}

// notePeerKey records the peer's host key fingerprint (null without a peer), connecting to it
// if needed; it reports false with an error when the peer cannot be reached.
func (s *syncStep) notePeerKey(ctx context.Context) bool {
	s.m.PeerHostFingerprint = types.StringNull()
	if s.peer == nil {
		return true
	}
	fp, err := s.peer.pool.Fingerprint(ctx, s.peer.target)
	if err != nil {
		s.diags.AddError("Unable to Read Host Key of the Peer", transportDetail(ctx, s.peer, "(connect)", err))
		return false
	}
	s.m.PeerHostFingerprint = types.StringValue(fp)
	return true
}

// degraded is the result with a fenced peer: nothing to wait for, so the steps after this
// one (the Chef step on the survivor) run on a degraded pair.
func (s *syncStep) degraded(p *drbd.Probe) *drbd.Probe {
	s.m.PeerHostFingerprint = types.StringNull()
	if drbd.InSync(p.Status) {
		return p
	}
	s.diags.AddWarning("DRBD Pair Degraded", fmt.Sprintf("The peer of DRBD resource %s on %s is fenced (%q), so drbd_sync did not "+
		"wait for it and reports in_sync = false (connection %s, disks %s/%s). The pair runs without redundancy until the "+
		"peer rejoins: unfence it once it is back (or rebuilt), and the next apply waits for the resync. Until then every "+
		"plan shows this drbd_sync as drift.", s.name, s.h, s.peerFence, p.Status.ConnectionState, p.Status.DiskState, p.Status.PeerDiskState))
	return p
}

// raiseRate reads the resync settings in force on the node and, when given, the peer, then
// applies the configured rate there.
func (s *syncStep) raiseRate(ctx context.Context, p, pp *drbd.Probe) {
	rate := s.m.ResyncRate.ValueString()
	nodes := []probedHost{{s.h, p}}
	switch {
	case s.peer == nil:
		s.diags.AddAttributeWarning(path.Root("peer_host"), "Resync Rate Applied on One Node Only",
			fmt.Sprintf("resync_rate was applied on %s only. In DRBD 8.4 the SyncTarget paces the resync, so without "+
				"peer_host the sync may stay slow.", s.h))
	case !pp.Status.Configured:
		// Setting options on a down resource fails, and bringing it up is drbd_resource's job.
		s.diags.AddAttributeWarning(path.Root("peer_host"), "Resync Rate Not Applied on the Peer",
			fmt.Sprintf("DRBD resource %s is down on %s, so resync_rate was not applied there; the wait goes on until "+
				"the peer connects (connect_timeout).", s.name, s.peer))
	default:
		nodes = append(nodes, probedHost{s.peer, pp})
	}
	// Read every node's settings before raising any: DRBD 8.4 sends a node's resync-rate and
	// c-plan-ahead to its connected peer (measured on 8.4.11), so a node read after its peer was
	// raised would "save" the raised values.
	targets := make([]raisedRate, 0, len(nodes))
	cmds := make([]string, 0, len(nodes))
	for _, n := range nodes {
		c := drbd.NewCommands(n.probe.Versions)
		cmd, err := c.SetResyncRate(s.name, n.probe.Device(), rate)
		if err != nil {
			s.diags.AddAttributeError(path.Root("resync_rate"), "Invalid Resync Rate", err.Error())
			return
		}
		saved, ok := readResyncSettings(ctx, n.host, c, s.name, n.probe.Device(), s.diags)
		if !ok {
			return
		}
		targets = append(targets, raisedRate{host: n.host, cmds: c, device: n.probe.Device(), saved: saved})
		cmds = append(cmds, cmd)
	}
	for i, t := range targets {
		// Recorded before it runs: a command cut off by a dropped connection may still have
		// taken effect, and putting the saved values back is harmless where it did not.
		s.raised = append(s.raised, t)
		if _, ok := t.host.run(ctx, s.diags, "Unable to Set DRBD Resync Rate", cmds[i]); !ok {
			return
		}
		tflog.Info(ctx, "raised DRBD resync rate", map[string]any{"host": t.host.String(), "command": cmds[i], "saved": t.saved.String()})
	}
}

// readResyncSettings reads the resync settings in force on a node.
func readResyncSettings(ctx context.Context, h *remoteHost, cmds drbd.Commands, name drbd.ResourceName, device string, diags *diag.Diagnostics) (drbd.ResyncSettings, bool) {
	const summary = "Unable to Read DRBD Resync Settings"
	cmd, err := cmds.ShowSettings(name, device)
	if err != nil {
		diags.AddError(summary, err.Error())
		return drbd.ResyncSettings{}, false
	}
	res, ok := h.run(ctx, diags, summary, cmd)
	if !ok {
		return drbd.ResyncSettings{}, false
	}
	saved, err := drbd.ParseResyncSettings(res.Stdout)
	if err != nil {
		diags.AddError(summary, fmt.Sprintf("The settings printed by `%s` on %s could not be read, so the resync rate was not changed: %s", cmd, h, err))
		return drbd.ResyncSettings{}, false
	}
	return saved, true
}

// restoreRate puts the settings read before the raise back on each node it raised, with
// disk options only (never `drbdadm adjust`, which would attach, connect or bring up the
// resource). It runs even when the wait failed, timed out or was cancelled, but it skips,
// with a warning naming the node, a node whose resource is down, and every node when
// either is StandAlone: that is for an operator to resolve, and nothing may touch it.
func (s *syncStep) restoreRate(ctx context.Context) {
	if len(s.raised) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restoreCommandsTimeout)
	defer cancel()
	const summary = "DRBD Resync Rate Left Raised"
	probes := make([]*drbd.Probe, len(s.raised)) // nil: unreadable, warned
	for i, t := range s.raised {
		p, err := t.host.readStatus(ctx, s.name, statusFresh)
		if err != nil {
			s.diags.AddWarning(summary, fmt.Sprintf("The resync rate raised on %s was not put back because its status could not be read: %s\n\n%s",
				t.host, statusErrorDetail(ctx, t.host, err), t.restoreHint(s.name)))
			continue
		}
		if drbd.StandAlone(p.Status) {
			s.diags.AddWarning(summary, fmt.Sprintf("The raised resync rate was not put back on any node because DRBD resource %s "+
				"on %s is StandAlone (%s). Nothing was run on either node. After resolving it, put the settings back on each node:\n%s",
				s.name, t.host, drbd.StandAloneReason(p.Status), s.restoreHints()))
			return
		}
		probes[i] = p
	}
	for i, t := range s.raised {
		switch {
		case probes[i] == nil:
			continue
		case !probes[i].Status.Configured:
			s.diags.AddWarning(summary, fmt.Sprintf("The resync rate raised on %s was not put back because DRBD resource %s is down there; "+
				"bringing it up again applies the configured values.", t.host, s.name))
			continue
		}
		cmd, err := t.cmds.RestoreResyncRate(s.name, t.device, t.saved)
		if err == nil {
			var res sshx.Result
			res, err = t.host.exec(ctx, cmd)
			if err == nil && res.ExitCode != 0 {
				err = errors.New(exitDetail(t.host, cmd, res, ""))
			}
		}
		if err != nil {
			s.diags.AddWarning("Unable to Restore DRBD Resync Rate",
				fmt.Sprintf("The raised resync rate on %s could not be put back: %s\n\n%s", t.host, err, t.restoreHint(s.name)))
			continue
		}
		tflog.Info(ctx, "restored DRBD resync settings", map[string]any{"host": t.host.String(), "command": cmd})
	}
}

// restoreHint is the command that puts t's saved settings back, for a warning.
func (t raisedRate) restoreHint(name drbd.ResourceName) string {
	cmd, err := t.cmds.RestoreResyncRate(name, t.device, t.saved)
	if err != nil {
		return "Put the resync settings back by hand."
	}
	return fmt.Sprintf("Run on %s: %s", t.host, cmd)
}

// restoreHints lists, one per line, the commands that put back the rates this step raised.
func (s *syncStep) restoreHints() string {
	var b strings.Builder
	for _, t := range s.raised {
		b.WriteString("  " + t.restoreHint(s.name) + "\n")
	}
	return b.String()
}

// wait polls until the pair is in sync. It returns the final probe, or nil with an error.
// It fails within one poll when the node or its readable peer turns StandAlone. What each
// read means is syncWatch's verdict (verdicts.go); wait only reads and acts on it.
func (s *syncStep) wait(ctx context.Context, first *drbd.Probe) *drbd.Probe {
	name, h := s.name, s.h
	interval := durationOr(s.m.PollInterval, 2*time.Second, s.diags)
	watch := &syncWatch{
		peerWait: durationOr(s.m.ConnectTimeout, 5*time.Minute, s.diags),
		stall:    stallWatch{limit: durationOr(s.m.StallTimeout, 10*time.Minute, s.diags)},
	}
	progress := &logThrottle{every: progressLogInterval}
	var (
		last      *drbd.Probe
		lastErr   error
		peerFirst *drbd.Probe
	)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		// After the full first read only the status itself is polled (one program per read).
		p, err := h.readStatus(ctx, name, statusPoll(first))
		switch {
		case err == nil:
			last, lastErr = p, nil
			st := p.Status
			switch v := watch.next(time.Now(), st); v.action {
			case syncDone:
				tflog.Info(ctx, "DRBD sync complete", map[string]any{"host": h.String(), "resource": name.String()})
				return p
			case syncStandAlone:
				s.reportStandAlone(ctx, h)
				return nil
			case syncFail:
				s.diags.AddError(syncSummary, v.detail(h, name, st, watch.peerWait))
				return nil
			case syncPeerAway:
				if s.peer != nil && s.peerStandAlone(ctx, &peerFirst) {
					return nil
				}
				if v.timedOut {
					s.diags.AddError(syncSummary, v.detail(h, name, st, watch.peerWait))
					return nil
				}
			case syncPeerBack:
				if s.peer != nil && len(s.raised) > 1 {
					s.reapplyPeerRate(ctx)
				}
			}
			if progress.due(time.Now()) {
				tflog.Info(ctx, "DRBD sync progress", map[string]any{
					"host": h.String(), "resource": name.String(),
					"connection_state": string(st.ConnectionState), "replication_state": st.ReplicationState,
					"disk_state": string(st.DiskState), "peer_disk_state": string(st.PeerDiskState),
					// Counts as strings: log pipelines print large JSON numbers as floats.
					"percent": fmt.Sprintf("%.1f", st.SyncPercent), "out_of_sync_kib": strconv.FormatInt(st.OutOfSyncKiB, 10),
					"speed_kib_per_sec": strconv.FormatInt(st.SpeedKiBps, 10), "eta": st.ETA.String(),
				})
			}
		case isTransportError(err) && ctx.Err() == nil:
			// The pool redials on the next read; a rebooting host refuses for a while.
			lastErr = err
			tflog.Warn(ctx, "lost contact with DRBD host while waiting for sync; retrying", map[string]any{"host": h.String(), "error": err.Error()})
		default:
			if ctx.Err() == nil {
				s.diags.AddError(syncSummary, statusErrorDetail(ctx, h, err))
				return nil
			}
		}
		select {
		case <-ctx.Done():
			s.diags.AddError(syncSummary, waitEndDetail(ctx, h, name, last, lastErr))
			return nil
		case <-ticker.C:
		}
	}
}

// stallWatch notices a resync whose out-of-sync amount stops decreasing while connected.
type stallWatch struct {
	limit     time.Duration
	since     time.Time // when the amount last decreased (or the watch started)
	leastKiB  int64
	lastSpeed int64
}

// observe records a status read at now and returns an error when the resync stalled.
func (w *stallWatch) observe(now time.Time, st drbd.Status) error {
	if !st.Syncing || st.PeerDiskState == drbd.DiskDUnknown {
		w.since = time.Time{} // not resyncing, or the peer is away: connect_timeout applies
		return nil
	}
	if st.SpeedKiBps > 0 {
		w.lastSpeed = st.SpeedKiBps
	}
	if w.since.IsZero() || st.OutOfSyncKiB < w.leastKiB {
		w.since, w.leastKiB = now, st.OutOfSyncKiB
		return nil
	}
	if now.Sub(w.since) < w.limit {
		return nil
	}
	return fmt.Errorf("%d KiB have been out of sync for %s without decreasing (stall_timeout), connection %s, last speed %d KiB/s",
		st.OutOfSyncKiB, now.Sub(w.since).Round(time.Second), st.ConnectionState, w.lastSpeed)
}

// reportStandAlone reports node StandAlone, re-reading its full status (the kernel log says
// whether DRBD reported a split brain).
func (s *syncStep) reportStandAlone(ctx context.Context, node *remoteHost) {
	p, err := node.readStatus(ctx, s.name, statusFresh)
	if err != nil || p.Status.ConnectionState != drbd.ConnStandAlone {
		s.diags.AddError(syncSummary, fmt.Sprintf("DRBD resource %s on %s became StandAlone while waiting for the sync; "+
			"it will not reconnect by itself. Nothing was changed on either node.", s.name, node))
		return
	}
	s.diags.AddError(syncSummary, cannotFinishDetail(node, s.name, drbd.SyncFailure(p.Status)))
}

// peerStandAlone reads the peer's status while the node waits for it and reports (with an
// error) whether the peer is StandAlone, so a peer that will never connect fails the wait
// at once. An unreachable peer (rebooting) is not an error here.
func (s *syncStep) peerStandAlone(ctx context.Context, first **drbd.Probe) bool {
	var (
		p   *drbd.Probe
		err error
	)
	if *first == nil {
		p, err = s.peer.readStatus(ctx, s.name, statusFresh)
		if err == nil {
			*first = p
		}
	} else {
		p, err = s.peer.readStatus(ctx, s.name, statusPoll(*first))
	}
	if err != nil || !p.Status.Configured || p.Status.ConnectionState != drbd.ConnStandAlone {
		return false
	}
	s.reportStandAlone(ctx, s.peer)
	return true
}

// reapplyPeerRate raises the rate on a peer that came back, best effort.
func (s *syncStep) reapplyPeerRate(ctx context.Context) {
	var d diag.Diagnostics
	pp, ok := s.peer.probe(ctx, &d, "peer", s.name, statusFresh)
	if !ok || !pp.Status.Configured || pp.Status.ConnectionState == drbd.ConnStandAlone {
		return
	}
	cmd, err := drbd.NewCommands(pp.Versions).SetResyncRate(s.name, pp.Device(), s.m.ResyncRate.ValueString())
	if err != nil {
		return
	}
	if res, err := s.peer.exec(ctx, cmd); err == nil && res.ExitCode == 0 {
		tflog.Info(ctx, "re-applied DRBD resync rate on the reconnected peer", map[string]any{"host": s.peer.String()})
	}
}

// waitEndDetail explains why waiting stopped at a deadline or cancellation, with the last state.
func waitEndDetail(ctx context.Context, h *remoteHost, name drbd.ResourceName, last *drbd.Probe, lastErr error) string {
	why := "was cancelled"
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		why = "timed out (timeouts.create)"
	}
	msg := fmt.Sprintf("Waiting for DRBD resource %s on %s to reach UpToDate/UpToDate %s.", name, h, why)
	if last != nil {
		st := last.Status
		msg += fmt.Sprintf(" Last state: cs:%s ds:%s/%s, %.1f%% synced, %d KiB out of sync.",
			st.ConnectionState, st.DiskState, st.PeerDiskState, st.SyncPercent, st.OutOfSyncKiB)
	}
	if lastErr != nil {
		msg += " Last error: " + lastErr.Error()
	}
	return msg + " The sync goes on in the kernel; apply again to keep waiting."
}

// logThrottle lets a message through at most once per interval; the first one passes at once.
type logThrottle struct {
	every time.Duration
	last  time.Time
}

// due reports whether a message may be logged at now, and if so records it.
func (l *logThrottle) due(now time.Time) bool {
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		return false
	}
	l.last = now
	return true
}
