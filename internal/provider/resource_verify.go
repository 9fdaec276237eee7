package provider

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

const (
	verifySummary       = "Unable to Verify DRBD Resource"
	defaultVerifyTimout = 24 * time.Hour
	// verifyPeerWait is how long the resync after a verify waits for the reconnected peer.
	verifyPeerWait = "5m"
)

// verifyResource is the drbd_verify resource: an online verify of the pair, run on Create and
// recorded in state. Read and Delete change nothing on the hosts; Update only takes the new
// settings (they matter to the next run).
type verifyResource struct {
	remoteBase
	planOnlyUpdate
}

func (r *verifyResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Runs DRBD's online verify (`drbdadm verify`) on a Connected pair with both disks UpToDate, " +
			"waits for it with progress in the log, and records how much it found out of sync. Like `terraform_data`, it " +
			"runs when created: change a value in `triggers`, or `terraform apply -replace`, to verify again. Blocks found " +
			"out of sync are a warning naming the amount, not an error (fail on them with a `check` block or a condition " +
			"on `out_of_sync_kib`); with `resync_out_of_sync` they are then resynced from the Primary by disconnecting and " +
			"reconnecting the Secondary (never `--discard-my-data`, never on a StandAlone or split-brained pair). A pair " +
			"that is not Connected and UpToDate/UpToDate, or without the net option `verify-alg`, is refused before " +
			"anything runs. Refresh reads nothing (the result is a record of the run) and destroying it changes nothing " +
			"on the hosts. It cannot be imported: there is no run on the hosts to read back.",
		Attributes: connectionResourceAttributes(map[string]schema.Attribute{
			"resource": drbdNameAttribute("DRBD resource name, e.g. `pc0`.", true),
			"triggers": schema.MapAttribute{
				MarkdownDescription: "Arbitrary strings; a change of any of them replaces the resource, which verifies " +
					"the pair again (as `triggers_replace` of `terraform_data`), e.g. `{ month = formatdate(\"YYYY-MM\", plantimestamp()) }`.",
				ElementType:   types.StringType,
				Optional:      true,
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
			},
			"resync_out_of_sync": schema.BoolAttribute{
				MarkdownDescription: "After a verify that found blocks out of sync, resync them: `drbdadm disconnect` then " +
					"`drbdadm connect` on the Secondary (`host` when it is Secondary, else `peer_host`, which is then " +
					"required), so that DRBD copies exactly those blocks from the Primary, then wait for UpToDate/UpToDate " +
					"(`stall_timeout` as in `drbd_sync`). Refused when neither node is Primary (DRBD would not resync) or " +
					"when either node is StandAlone. A change replaces the resource (verifies again). Defaults to `false`.",
				Optional:      true,
				Computed:      true,
				Default:       booldefault.StaticBool(false),
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.RequiresReplace()},
			},
			"peer_host": schema.StringAttribute{
				MarkdownDescription: "The other node of the pair. Needed only to resync when `host` is the Primary (the " +
					"Secondary is the node disconnected and reconnected). Reached with the provider's credentials and `user`.",
				Optional:      true,
				Validators:    []validator.String{hostValidator()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"peer_port":     peerPortAttribute("", true),
			"peer_host_key": peerHostKeyAttribute(),
			"peer_host_fingerprint": computedString("SHA256 fingerprint of `peer_host`'s host key when it was contacted, like " +
				"`host_key_fingerprint`. Null without `peer_host`."),
			"poll_interval": durationAttribute("How often the status is read while waiting, as a Go duration. Defaults to `2s`.",
				defaultPollInterval, 100*time.Millisecond),
			"stall_timeout": durationAttribute("How long a running verify may go without its progress (the `verified:` "+
				"percentage of `/proc/drbd`; on DRBD 9 `percent-resync-done` of `drbdsetup status --json`, which drbdsetup "+
				"computes from the verify's `ov-left`) increasing, or the resync after it without the out-of-sync amount "+
				"decreasing, before the wait fails naming the node, instead of waiting for `timeouts.create`. A Go duration; "+
				"defaults to `10m`.",
				defaultStallTimeout, time.Second),
			"out_of_sync_kib": schema.Int64Attribute{
				MarkdownDescription: "KiB marked out of sync on `host` when the verify finished (the `oos:` counter of " +
					"`/proc/drbd`, `out-of-sync` in DRBD 9's status): what online verify found, plus anything still marked " +
					"from before. With `resync_out_of_sync` it is the amount that was resynced.",
				Computed:      true,
				PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"verified_at": computedString("When the verify finished, in RFC 3339 (UTC)."),
			"verify_alg":  computedString("The `verify-alg` in force on `host` (`drbdsetup show`), e.g. `sha256`."),
		}),
		Blocks: map[string]schema.Block{
			"timeouts": timeoutsBlock(ctx, r.name()),
		},
	}
}

func (r *verifyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	m, h, name := openResource[verifyResourceModel](ctx, &r.remoteBase, req.Plan.Get, &resp.Diagnostics)
	if h == nil {
		return
	}
	v := &verifyStep{m: &m, name: name, h: h, diags: &resp.Diagnostics}
	if !m.PeerHost.IsNull() {
		v.peer = r.peerOf(m.peer())
		if entry, fenced := r.data.fencedTarget(m.PeerHost.ValueString(), int(m.PeerPort.ValueInt64())); fenced {
			resp.Diagnostics.AddAttributeError(path.Root("peer_host"), "Host Is Fenced", fmt.Sprintf("drbd_verify of DRBD "+
				"resource %s on %s was not run: its peer_host is in the provider's fenced_hosts (%q), so the pair is not "+
				"connected and there is nothing to verify against.", name, h, entry))
			return
		}
	}
	if v.run(ctx) {
		h.save(ctx, &resp.Diagnostics, &resp.State, &m, name.String())
	}
}

// Read keeps the state: it is the record of the last verify, not something read from the hosts.
func (r *verifyResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {}

// undoneOnDestroy says what Delete would have done on the host, for the warning of a
// destroy on a fenced host.
func (*verifyResource) undoneOnDestroy() string {
	return "nothing (destroying drbd_verify never changes a host)"
}

// Delete changes nothing on the hosts.
func (r *verifyResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}

// verifyStep is one Create of drbd_verify.
type verifyStep struct {
	m     *verifyResourceModel
	name  drbd.ResourceName
	h     *remoteHost
	peer  *remoteHost // nil without peer_host
	diags *diag.Diagnostics
}

// run verifies the pair and, when configured, resyncs what it found. It fills the model and
// reports success; on failure the diagnostics say why and what was run.
//
// The guard and the verify are one round trip (drbd.VerifyGuarded): the shell reads the
// state and the verify-alg and starts the verify only on a Connected, UpToDate/UpToDate pair
// with a verify-alg, and, with resync_out_of_sync, only when the roles let the blocks found be
// resynced. The peer is only connected to (its host key) before the verify; the resync's own
// command re-checks it.
func (v *verifyStep) run(ctx context.Context) bool {
	if v.peer != nil {
		fp, err := v.peer.pool.Fingerprint(ctx, v.peer.target)
		if err != nil {
			v.diags.AddError("Unable to Read Host Key of the Peer", transportDetail(ctx, v.peer, "(connect)", err))
			return false
		}
		v.m.PeerHostFingerprint = types.StringValue(fp)
	} else {
		v.m.PeerHostFingerprint = types.StringNull()
	}
	roles := drbd.VerifyAnyRoles
	if v.m.ResyncOutOfSync.ValueBool() {
		roles = drbd.VerifySecondaryOfPrimary
		if v.peer != nil {
			roles = drbd.VerifyOnePrimary
		}
	}
	cmd := drbd.VerifyGuarded(v.name, roles)
	res, err := v.h.exec(ctx, cmd)
	if err != nil {
		v.diags.AddError(verifySummary, transportDetail(ctx, v.h, "drbdadm verify "+v.name.String()+" (guarded)", err))
		return false
	}
	g, err := drbd.ParseVerifyGuarded(v.name.String(), res.Stdout)
	if err != nil {
		v.diags.AddError(verifySummary, fmt.Sprintf("The guarded online verify of DRBD resource %s on %s printed output "+
			"that could not be understood: %s. Whether the verify started is unknown: check with `cat /proc/drbd` (DRBD "+
			"9: `drbdadm status %s`).\n\nOutput:\n%s", v.name, v.h, err, v.name, tailLines(res.Stdout+res.Stderr, stderrTailLines)))
		return false
	}
	p, alg := g.Probe, g.Alg
	verify := drbd.NewCommands(p.Versions).Verify(v.name)
	if !g.Ran {
		v.refused(p, alg)
		return false
	}
	switch {
	case g.Result.Exit != 0 && drbd.VerifyRefusedNoAlg(g.Result.Output):
		v.noVerifyAlg(p, "`"+verify+"` was refused: "+strings.TrimSpace(g.Result.Output))
		return false
	case g.Result.Exit != 0:
		v.diags.AddError(verifySummary, fmt.Sprintf("`%s` on %s exited with status %d: %s. Online verify did not start; "+
			"nothing else was run.", verify, v.h, g.Result.Exit, strings.TrimSpace(g.Result.Output)))
		return false
	}
	tflog.Info(ctx, "DRBD online verify started", map[string]any{"host": v.h.String(), "resource": v.name.String(), "verify_alg": alg})
	last := v.waitVerify(ctx, p)
	if last == nil {
		return false
	}
	oos := last.Status.OutOfSyncKiB
	v.m.OutOfSyncKiB = types.Int64Value(oos)
	v.m.VerifiedAt = types.StringValue(time.Now().UTC().Format(time.RFC3339))
	v.m.VerifyAlg = types.StringValue(alg)
	if oos == 0 {
		// Nothing found: the last status read is the record; the kernel log is not read.
		tflog.Info(ctx, "DRBD online verify done", map[string]any{"host": v.h.String(), "resource": v.name.String(),
			"out_of_sync_kib": "0"})
		return true
	}
	// One fresh read (with the kernel log) quotes the kernel's lines and is the state the
	// resync checks.
	after, ok := v.h.probe(ctx, v.diags, verifySummary, v.name, statusFresh)
	if !ok {
		return false
	}
	kernel := kernelLinesOf(after, v.name)
	tflog.Info(ctx, "DRBD online verify done", map[string]any{"host": v.h.String(), "resource": v.name.String(),
		"out_of_sync_kib": strconv.FormatInt(oos, 10), "kernel": kernel})
	if !v.m.ResyncOutOfSync.ValueBool() {
		v.diags.AddWarning("DRBD Online Verify Found Out-of-Sync Blocks", fmt.Sprintf("Online verify of DRBD resource %s "+
			"on %s (verify-alg %s) found %d KiB out of sync.%s DRBD keeps them marked but does not copy them until the "+
			"connection is made again: set resync_out_of_sync = true and replace this resource, or run `drbdadm disconnect %s` "+
			"then `drbdadm connect %s` on the Secondary. out_of_sync_kib records the amount.", v.name, v.h, alg, oos,
			kernelQuote(kernel), v.name, v.name))
		return true
	}
	return v.resync(ctx, after, oos, alg, kernel)
}

// refused explains why the guarded verify did not start, from what its shell read.
func (v *verifyStep) refused(p *drbd.Probe, alg string) {
	if !v.h.requireUp(v.diags, verifySummary, p, v.name) {
		return
	}
	if err := drbd.VerifyRefusal(p.Status); err != nil {
		v.diags.AddError(verifySummary, fmt.Sprintf("Online verify of DRBD resource %s was not started on %s: %s. "+
			"DRBD verifies only a Connected pair with both disks UpToDate: let a running resync finish (drbd_sync waits "+
			"for it), reconnect a StandAlone node (drbd_resource, or split-brain recovery), then apply again. "+
			"Nothing was run.", v.name, v.h, err))
		return
	}
	if alg == "" {
		v.noVerifyAlg(p, "`drbdsetup show` shows no verify-alg")
		return
	}
	if v.m.ResyncOutOfSync.ValueBool() {
		if _, ok := v.resyncNode(p); !ok {
			return
		}
	}
	v.diags.AddError(verifySummary, fmt.Sprintf("Online verify of DRBD resource %s was not started on %s: its state "+
		"changed while it was checked (seen: %s, disks %s/%s, roles %s/%s). Nothing was run; apply again.", v.name, v.h,
		verifyState(p.Status), p.Status.DiskState, p.Status.PeerDiskState, p.Status.Role, p.Status.PeerRole))
}

// noVerifyAlg reports a resource without verify-alg, naming the option to add.
func (v *verifyStep) noVerifyAlg(p *drbd.Probe, seen string) {
	section := "net"
	if drbd.NewCommands(p.Versions).Family() == drbd.Family83 {
		section = "syncer"
	}
	v.diags.AddAttributeError(path.Root("resource"), "No DRBD Verify Algorithm Configured", fmt.Sprintf("DRBD resource %s "+
		"on %s has no verify algorithm (%s), and DRBD refuses online verify without one. Add `%s { verify-alg sha256; }` "+
		"to the resource's configuration on both nodes (drbd_resource's config) and apply it (`drbdadm adjust %s`), then "+
		"apply again. Nothing was run.", v.name, v.h, seen, section, v.name))
}

// waitVerify polls until the online verify is over and returns the last status, or nil with an
// error. The first status read after `drbdadm verify` may already show it done.
func (v *verifyStep) waitVerify(ctx context.Context, first *drbd.Probe) *drbd.Probe {
	interval := durationOr(v.m.PollInterval, 2*time.Second, v.diags)
	limit := durationOr(v.m.StallTimeout, 10*time.Minute, v.diags)
	progress := &logThrottle{every: progressLogInterval}
	var (
		since   time.Time
		best    = -1.0
		lastErr error
		last    *drbd.Probe
	)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		p, err := v.h.readStatus(ctx, v.name, statusPoll(first))
		switch {
		case err == nil:
			last, lastErr = p, nil
			st := p.Status
			if !drbd.Verifying(st) {
				if st.Configured && st.ConnectionState == drbd.ConnConnected {
					return p
				}
				v.diags.AddError(verifySummary, fmt.Sprintf("Online verify of DRBD resource %s on %s ended without finishing: "+
					"the connection is now %s (disks %s/%s), and DRBD aborts a verify when the connection is lost. "+
					"Nothing else was run; restore the connection and replace this resource to verify again.",
					v.name, v.h, st.ConnectionState, st.DiskState, st.PeerDiskState))
				return nil
			}
			now := time.Now()
			if st.VerifyPercent >= 0 {
				if since.IsZero() || st.VerifyPercent > best {
					since, best = now, st.VerifyPercent
				} else if now.Sub(since) >= limit {
					v.diags.AddError(verifySummary, fmt.Sprintf("Online verify of DRBD resource %s on %s stalled at %.1f%% for %s "+
						"(stall_timeout), %d KiB found out of sync so far. The verify goes on in the kernel; look at both "+
						"nodes' kernel logs and I/O. Stop it with `drbdadm disconnect %s` then `drbdadm connect %s` if needed.",
						v.name, v.h, best, now.Sub(since).Round(time.Second), st.OutOfSyncKiB, v.name, v.name))
					return nil
				}
			}
			if progress.due(now) {
				tflog.Info(ctx, "DRBD online verify progress", map[string]any{
					"host": v.h.String(), "resource": v.name.String(),
					"connection_state": string(st.ConnectionState), "replication_state": st.ReplicationState,
					"percent": fmt.Sprintf("%.1f", st.VerifyPercent), "out_of_sync_kib": strconv.FormatInt(st.OutOfSyncKiB, 10),
				})
			}
		case isTransportError(err) && ctx.Err() == nil:
			lastErr = err
			tflog.Warn(ctx, "lost contact with DRBD host during online verify; retrying", map[string]any{"host": v.h.String(), "error": err.Error()})
		default:
			if ctx.Err() == nil {
				v.diags.AddError(verifySummary, statusErrorDetail(ctx, v.h, err))
				return nil
			}
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("Waiting for the online verify of DRBD resource %s on %s ended (timeouts.create or cancelled).", v.name, v.h)
			if last != nil {
				msg += fmt.Sprintf(" Last state: %s, %.1f%% verified, %d KiB out of sync.", verifyState(last.Status), last.Status.VerifyPercent, last.Status.OutOfSyncKiB)
			}
			if lastErr != nil {
				msg += " Last error: " + lastErr.Error()
			}
			v.diags.AddError(verifySummary, msg+" The verify goes on in the kernel.")
			return nil
		case <-ticker.C:
		}
	}
}

// verifyState names the connection (and DRBD 9 replication) state of st.
func verifyState(st drbd.Status) string {
	if st.ReplicationState != "" {
		return string(st.ConnectionState) + "/" + st.ReplicationState
	}
	return string(st.ConnectionState)
}

// resyncNode picks the node that resync_out_of_sync disconnects and reconnects, the Secondary
// of a pair with one Primary, or adds an error saying why there is none. Whether that node is
// still a Connected Secondary is checked by the reconnect itself (drbd.ReconnectToResync).
func (v *verifyStep) resyncNode(p *drbd.Probe) (*remoteHost, bool) {
	st := p.Status
	refuse := func(why string) (*remoteHost, bool) {
		v.diags.AddAttributeError(path.Root("resync_out_of_sync"), verifySummary, fmt.Sprintf("DRBD resource %s on %s "+
			"cannot resync what online verify finds: %s. Nothing was run.", v.name, v.h, why))
		return nil, false
	}
	switch {
	case st.Role == drbd.RoleSecondary && st.PeerRole == drbd.RolePrimary:
		return v.h, true
	case st.Role == drbd.RolePrimary && st.PeerRole == drbd.RoleSecondary:
		if v.peer == nil {
			return refuse("it is the Primary, so its Secondary peer must be disconnected and reconnected, and peer_host is not set")
		}
		return v.peer, true
	case st.Role == drbd.RolePrimary:
		return refuse("both nodes are Primary")
	default:
		return refuse(fmt.Sprintf("neither node is Primary (roles %s/%s), and DRBD resyncs the blocks verify marks only from a Primary", st.Role, st.PeerRole))
	}
}

// resync disconnects and reconnects the Secondary so that DRBD resyncs the blocks the verify
// marked, then waits for UpToDate/UpToDate. p is a fresh read of the host (with the kernel log)
// made after the verify: never on a StandAlone or split-brained pair. The reconnect re-reads
// the state of the node it acts on in the same shell.
func (v *verifyStep) resync(ctx context.Context, p *drbd.Probe, oos int64, alg, kernel string) bool {
	if err := drbd.VerifyRefusal(p.Status); err != nil || p.Status.SplitBrain {
		if err == nil {
			err = fmt.Errorf("DRBD reported a split brain")
		}
		v.diags.AddError(verifySummary, fmt.Sprintf("Online verify of DRBD resource %s on %s found %d KiB out of sync, but "+
			"they were not resynced: %s. Nothing was run.", v.name, v.h, oos, err))
		return false
	}
	node, ok := v.resyncNode(p)
	if !ok {
		return false
	}
	// disconnect, connect, cstate and role are the same commands on every DRBD version.
	cmds := drbd.NewCommands(p.Versions)
	// The check and the disconnect/connect run in one shell (exit 3: refused, nothing run).
	connect := cmds.Connect(v.name)
	res, ok := node.run(ctx, v.diags, verifySummary, cmds.ReconnectToResync(v.name), withHint(fmt.Sprintf(
		"DRBD resource %s on %s may have been disconnected to resync the blocks online verify found and be StandAlone now: "+
			"check with `drbdadm cstate %s` and run `%s` there if so.", v.name, node, v.name, connect)), okExit(0, 3))
	if !ok {
		return false
	}
	if res.ExitCode == 3 {
		v.diags.AddError(verifySummary, fmt.Sprintf("Online verify of DRBD resource %s on %s found %d KiB out of sync, but "+
			"they were not resynced: right before the reconnect, %s was no longer a Connected Secondary (%s). Nothing was run.",
			v.name, v.h, oos, node, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(res.Stderr), "not reconnected: "))))
		return false
	}
	tflog.Info(ctx, "DRBD resync of the blocks online verify found started", map[string]any{"host": node.String(),
		"resource": v.name.String(), "out_of_sync_kib": strconv.FormatInt(oos, 10)})
	sm := syncResourceModel{PollInterval: v.m.PollInterval, StallTimeout: v.m.StallTimeout,
		ConnectTimeout: timetypes.NewGoDurationValueFromStringMust(verifyPeerWait)}
	s := &syncStep{m: &sm, name: v.name, h: v.h, peer: v.peer, diags: v.diags}
	if s.wait(ctx, p) == nil {
		return false
	}
	v.diags.AddWarning("DRBD Online Verify Found Out-of-Sync Blocks", fmt.Sprintf("Online verify of DRBD resource %s on %s "+
		"(verify-alg %s) found %d KiB out of sync.%s They were resynced from the Primary by disconnecting and reconnecting %s, "+
		"and the pair is UpToDate/UpToDate again. Find out why the disks differed (a failing disk, writes that bypassed DRBD) "+
		"before trusting them.", v.name, v.h, alg, oos, kernelQuote(kernel), node))
	return true
}

// kernelLinesOf returns the kernel's result lines of the verify just finished in p, a read
// with the kernel log ("Online verify found ..." and "Online verify done ..."), joined by
// "; ", or "" when the kernel log was not readable or shows no finished verify (best effort:
// out_of_sync_kib comes from the status).
func kernelLinesOf(p *drbd.Probe, name drbd.ResourceName) string {
	sec, ok := p.Sections[drbd.SectionKernelLog]
	if !ok || sec.Exit != 0 {
		return ""
	}
	r, ok := drbd.VerifyKernelResult(sec.Output, name.String(), p.Status.Minor)
	if !ok {
		return ""
	}
	return strings.Join(r.Lines, "; ")
}

// kernelQuote quotes the kernel's verify lines for a diagnostic, "" without them.
func kernelQuote(lines string) string {
	if lines == "" {
		return ""
	}
	return " The kernel logged: " + lines + "."
}
