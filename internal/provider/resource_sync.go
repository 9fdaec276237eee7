package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

var (
	_ resource.ResourceWithConfigure   = (*syncResource)(nil)
	_ resource.ResourceWithImportState = (*syncResource)(nil)
)

const (
	defaultSyncTimeout     = 24 * time.Hour
	defaultPollInterval    = "2s"
	defaultPeerWait        = "5m"
	progressLogInterval    = 10 * time.Second
	restoreCommandsTimeout = 2 * time.Minute
)

// NewSyncResource returns the drbd_sync resource.
func NewSyncResource() resource.Resource {
	return &syncResource{}
}

type syncResource struct {
	remoteBase
}

type syncResourceModel struct {
	connectionModel
	ID               types.String   `tfsdk:"id"`
	Resource         types.String   `tfsdk:"resource"`
	ResyncRate       types.String   `tfsdk:"resync_rate"`
	PeerHost         types.String   `tfsdk:"peer_host"`
	PeerPort         types.Int64    `tfsdk:"peer_port"`
	PeerHostKey      types.String   `tfsdk:"peer_host_key"`
	PollInterval     types.String   `tfsdk:"poll_interval"`
	ConnectTimeout   types.String   `tfsdk:"connect_timeout"`
	KeepResyncRate   types.Bool     `tfsdk:"keep_resync_rate"`
	Timeouts         timeouts.Value `tfsdk:"timeouts"`
	ConnectionState  types.String   `tfsdk:"connection_state"`
	ReplicationState types.String   `tfsdk:"replication_state"`
	DiskState        types.String   `tfsdk:"disk_state"`
	PeerDiskState    types.String   `tfsdk:"peer_disk_state"`
	InSync           types.Bool     `tfsdk:"in_sync"`
}

func (m *syncResourceModel) fill(st drbd.Status) {
	m.ConnectionState = types.StringValue(string(st.ConnectionState))
	m.ReplicationState = types.StringValue(st.ReplicationState)
	m.DiskState = types.StringValue(string(st.DiskState))
	m.PeerDiskState = types.StringValue(string(st.PeerDiskState))
	m.InSync = types.BoolValue(drbd.InSync(st))
}

func (r *syncResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_sync"
}

func (r *syncResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Waits until the DRBD pair is in sync (`ds:UpToDate/UpToDate`, connected), the runbook's " +
			"\"this process MUST be allowed to complete\" step. Optionally raises the resync rate on both nodes with each " +
			"node's DRBD syntax (fixed rate, no throttling behind application I/O) and restores the configured values with " +
			"`drbdadm adjust` afterwards. Progress is logged at INFO at most every 10 s; lost SSH connections are redialled; " +
			"split brain (StandAlone), Diskless or Failed disks, or a peer that never connects fail fast. " +
			"`terraform plan` shows drift when the pair is no longer in sync.",
		Attributes: connectionResourceAttributes(map[string]schema.Attribute{
			"resource": schema.StringAttribute{
				MarkdownDescription: "DRBD resource name, e.g. `pc0`.",
				Required:            true,
				Validators:          []validator.String{drbdNameValidator{}},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"resync_rate": schema.StringAttribute{
				MarkdownDescription: "Resync rate to apply while waiting, in DRBD's syntax, e.g. `1100M`. Applied as " +
					"`--c-plan-ahead=0 --resync-rate=R --c-min-rate=0` (8.4: `disk-options`; 9: `peer-device-options`; " +
					"8.3: `drbdsetup <dev> syncer -r R`) on `host` and on `peer_host`. Unset leaves the rate alone.",
				Optional:   true,
				Validators: []validator.String{rateValidator{}},
			},
			"peer_host": schema.StringAttribute{
				MarkdownDescription: "The other node of the pair, so that `resync_rate` is applied there too (in 8.4 the SyncTarget paces the resync). " +
					"Without it the rate is applied on `host` only, with a warning. Reached with the provider's credentials and `user`.",
				Optional:   true,
				Validators: []validator.String{hostValidator()},
			},
			"peer_port": schema.Int64Attribute{
				MarkdownDescription: "SSH port of `peer_host`; defaults to the provider's `port`.",
				Optional:            true,
				Validators: []validator.Int64{int64validator.Between(1, 65535),
					int64validator.AlsoRequires(path.MatchRoot("peer_host"))},
			},
			"peer_host_key": schema.StringAttribute{
				MarkdownDescription: "Pinned public key line of `peer_host`, like `host_key`.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("peer_host"))},
			},
			"poll_interval": schema.StringAttribute{
				MarkdownDescription: "How often the status is read while waiting, as a Go duration. Defaults to `2s`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(defaultPollInterval),
				Validators:          []validator.String{durationValidator{min: 100 * time.Millisecond}},
			},
			"connect_timeout": schema.StringAttribute{
				MarkdownDescription: "How long the DRBD peer may stay disconnected (never connected, or rebooting mid-sync) before waiting fails, as a Go duration. Defaults to `5m`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(defaultPeerWait),
				Validators:          []validator.String{durationValidator{min: time.Second}},
			},
			"keep_resync_rate": schema.BoolAttribute{
				MarkdownDescription: "Keep the raised resync rate after the sync instead of restoring the configured values with `drbdadm adjust`. Defaults to `false`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
			},
			"connection_state":  computed("Connection state when last read, e.g. `Connected`."),
			"replication_state": computed("DRBD 9 replication state when last read; empty on DRBD 8."),
			"disk_state":        computed("Local disk state when last read, e.g. `UpToDate`."),
			"peer_disk_state":   computed("Peer's disk state when last read, e.g. `UpToDate`."),
			"in_sync": schema.BoolAttribute{
				MarkdownDescription: "Whether the pair was in sync when last read.",
				Computed:            true,
				PlanModifiers:       []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			},
		}),
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true}),
		},
	}
}

// rateTarget is a node on which the resync rate was raised.
type rateTarget struct {
	host *remoteHost
	cmds drbd.Commands
}

func (r *syncResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m syncResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Create(ctx, defaultSyncTimeout)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	h := r.host(m.connectionModel, &resp.Diagnostics)
	if h == nil {
		return
	}
	const summary = "Unable to Wait for DRBD Sync"
	name := m.Resource.ValueString()
	p, ok := h.probe(ctx, &resp.Diagnostics, summary, name)
	if !ok || !requireUp(h, p, name, summary, &resp.Diagnostics) {
		return
	}
	if !drbd.InSync(p.Status) {
		if err := drbd.SyncFailure(p.Status); err != nil {
			resp.Diagnostics.AddError(summary, failureDetail(h, name, err))
			return
		}
		var peer *remoteHost
		if !m.PeerHost.IsNull() {
			peer = &remoteHost{pool: h.pool, target: r.data.resolve(sshx.Target{
				Host: m.PeerHost.ValueString(), Port: int(m.PeerPort.ValueInt64()),
				User: m.User.ValueString(), HostKey: m.PeerHostKey.ValueString(),
			})}
		}
		var raised []rateTarget
		if !m.ResyncRate.IsNull() {
			raised = r.raiseRate(ctx, h, peer, p, m.ResyncRate.ValueString(), name, &resp.Diagnostics)
			if resp.Diagnostics.HasError() {
				r.restoreRate(ctx, raised, name, &resp.Diagnostics)
				return
			}
		}
		var splitBrain bool
		p, splitBrain = r.wait(ctx, h, peer, &m, p, raised, &resp.Diagnostics)
		switch {
		case splitBrain && len(raised) > 0:
			// drbdadm adjust would reconnect a StandAlone node and could set off an automatic
			// split-brain recovery policy; resolving split brain is a human decision.
			resp.Diagnostics.AddWarning("DRBD Resync Rate Left Raised",
				fmt.Sprintf("The raised resync rate was not reset because the pair is in split brain: `drbdadm adjust %s` "+
					"would reconnect the StandAlone node. Run it on each node after resolving the split brain.", name))
		case !m.KeepResyncRate.ValueBool():
			r.restoreRate(ctx, raised, name, &resp.Diagnostics)
		}
		if p == nil {
			return
		}
	}
	m.fill(p.Status)
	m.ID = types.StringValue(formatID(m.connectionModel, name))
	h.recordFingerprint(ctx, &m.connectionModel, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// failureDetail explains a state in which waiting is pointless.
func failureDetail(h *remoteHost, name string, err error) string {
	return fmt.Sprintf("DRBD resource %s on %s cannot finish syncing by itself: %s\n\n"+
		"Resolve it by hand (for split brain see the DRBD User's Guide, \"Manual split brain recovery\") and apply again.", name, h, err)
}

// raiseRate applies the resync rate on host and, when given, on the peer.
func (r *syncResource) raiseRate(ctx context.Context, h, peer *remoteHost, p *drbd.Probe, rate, name string, diags *diag.Diagnostics) []rateTarget {
	var raised []rateTarget
	apply := func(node *remoteHost, p *drbd.Probe) bool {
		cmds := drbd.NewCommands(p.Versions)
		cmd, err := cmds.SetResyncRate(name, p.Device(), rate)
		if err != nil {
			diags.AddAttributeError(path.Root("resync_rate"), "Invalid Resync Rate", err.Error())
			return false
		}
		// Recorded before it runs: a command cut off by a dropped connection may still have
		// taken effect, and restoring (drbdadm adjust) is harmless where it did not.
		raised = append(raised, rateTarget{host: node, cmds: cmds})
		if _, ok := node.run(ctx, diags, "Unable to Set DRBD Resync Rate", cmd); !ok {
			return false
		}
		tflog.Info(ctx, "raised DRBD resync rate", map[string]any{"host": node.String(), "command": cmd})
		return true
	}
	if !apply(h, p) {
		return raised
	}
	if peer == nil {
		diags.AddAttributeWarning(path.Root("peer_host"), "Resync Rate Applied on One Node Only",
			fmt.Sprintf("resync_rate was applied on %s only. In DRBD 8.4 the SyncTarget paces the resync, so without "+
				"peer_host the sync may stay slow.", h))
		return raised
	}
	pp, ok := peer.probe(ctx, diags, "Unable to Read DRBD Status of the Peer", name)
	if ok {
		apply(peer, pp)
	}
	return raised
}

// restoreRate puts the configured resync values back with drbdadm adjust on each node it
// raised; it runs even when the wait was cancelled or timed out.
func (r *syncResource) restoreRate(ctx context.Context, raised []rateTarget, name string, diags *diag.Diagnostics) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restoreCommandsTimeout)
	defer cancel()
	for _, t := range raised {
		cmd, err := t.cmds.Adjust(name)
		if err == nil {
			var res sshx.Result
			res, err = t.host.exec(ctx, sshx.Command{Cmd: cmd})
			if err == nil && res.ExitCode != 0 {
				err = errors.New(exitDetail(t.host, cmd, res, ""))
			}
		}
		if err != nil {
			diags.AddWarning("Unable to Restore DRBD Resync Rate",
				fmt.Sprintf("The raised resync rate on %s could not be reset with `drbdadm adjust %s`: %s\n\nRun it by hand.", t.host, name, err))
			continue
		}
		tflog.Info(ctx, "restored configured DRBD resync settings", map[string]any{"host": t.host.String(), "command": cmd})
	}
}

// wait polls until the pair is in sync. It returns the final probe, or nil with diagnostics
// and whether the wait ended on split brain.
func (r *syncResource) wait(ctx context.Context, h, peer *remoteHost, m *syncResourceModel, first *drbd.Probe, raised []rateTarget, diags *diag.Diagnostics) (*drbd.Probe, bool) {
	const summary = "Unable to Wait for DRBD Sync"
	name := m.Resource.ValueString()
	interval := durationOr(m.PollInterval, 2*time.Second)
	peerWait := durationOr(m.ConnectTimeout, 5*time.Minute)
	progress := &logThrottle{every: progressLogInterval}
	var (
		disconnectedSince time.Time
		peerWasDown       bool
		last              *drbd.Probe
		lastErr           error
	)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		// After the full first read only the status itself is polled (one program per read).
		p, err := h.pollStatus(ctx, name, first)
		switch {
		case err == nil:
			last, lastErr = p, nil
			st := p.Status
			if !st.Configured {
				diags.AddError(summary, fmt.Sprintf("DRBD resource %s went down on %s while waiting for the sync.", name, h))
				return nil, false
			}
			if drbd.InSync(st) {
				tflog.Info(ctx, "DRBD sync complete", map[string]any{"host": h.String(), "resource": name})
				return p, false
			}
			if ferr := drbd.SyncFailure(st); ferr != nil {
				diags.AddError(summary, failureDetail(h, name, ferr))
				return nil, st.SplitBrain || st.ConnectionState == drbd.ConnStandAlone
			}
			if st.PeerDiskState == drbd.DiskDUnknown {
				if disconnectedSince.IsZero() {
					disconnectedSince = time.Now()
				}
				peerWasDown = true
				if time.Since(disconnectedSince) > peerWait {
					diags.AddError(summary, fmt.Sprintf("The DRBD peer of %s on %s did not connect within connect_timeout (%s); "+
						"the connection state stayed %s. Check that the peer is up (drbdadm up %s) and that the replication link works.",
						name, h, peerWait, st.ConnectionState, name))
					return nil, false
				}
			} else {
				disconnectedSince = time.Time{}
				if peerWasDown && peer != nil && len(raised) > 1 {
					// A rebooted peer comes back with its configured (slow) rate.
					peerWasDown = false
					r.reapplyPeerRate(ctx, peer, m, name)
				}
			}
			if progress.due(time.Now()) {
				tflog.Info(ctx, "DRBD sync progress", map[string]any{
					"host": h.String(), "resource": name,
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
				diags.AddError(summary, err.Error())
				return nil, false
			}
		}
		select {
		case <-ctx.Done():
			diags.AddError(summary, waitEndDetail(ctx, h, name, last, lastErr))
			return nil, false
		case <-ticker.C:
		}
	}
}

// reapplyPeerRate raises the rate on a peer that came back, best effort.
func (r *syncResource) reapplyPeerRate(ctx context.Context, peer *remoteHost, m *syncResourceModel, name string) {
	var d diag.Diagnostics
	pp, ok := peer.probe(ctx, &d, "peer", name)
	if !ok {
		return
	}
	cmd, err := drbd.NewCommands(pp.Versions).SetResyncRate(name, pp.Device(), m.ResyncRate.ValueString())
	if err != nil {
		return
	}
	if res, err := peer.exec(ctx, sshx.Command{Cmd: cmd}); err == nil && res.ExitCode == 0 {
		tflog.Info(ctx, "re-applied DRBD resync rate on the reconnected peer", map[string]any{"host": peer.String()})
	}
}

// waitEndDetail explains why waiting stopped at a deadline or cancellation, with the last state.
func waitEndDetail(ctx context.Context, h *remoteHost, name string, last *drbd.Probe, lastErr error) string {
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

func (r *syncResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m syncResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	h := r.host(m.connectionModel, &resp.Diagnostics)
	if h == nil {
		return
	}
	name := m.Resource.ValueString()
	p, ok := h.probe(ctx, &resp.Diagnostics, "Unable to Read DRBD Sync State", name)
	if !ok {
		return
	}
	if !p.Status.Configured || !drbd.InSync(p.Status) {
		tflog.Warn(ctx, "DRBD pair is no longer in sync; removing drbd_sync from state so the next apply waits again",
			map[string]any{"host": h.String(), "resource": name, "connection_state": string(p.Status.ConnectionState),
				"disk_state": string(p.Status.DiskState), "peer_disk_state": string(p.Status.PeerDiskState)})
		resp.State.RemoveResource(ctx)
		return
	}
	m.fill(p.Status)
	m.ID = types.StringValue(formatID(m.connectionModel, name))
	h.recordFingerprint(ctx, &m.connectionModel, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// Update changes only settings used while waiting; nothing runs on the host.
func (r *syncResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m, prior syncResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.ID, m.HostKeyFingerprint = prior.ID, prior.HostKeyFingerprint
	m.ConnectionState, m.ReplicationState, m.DiskState, m.PeerDiskState, m.InSync =
		prior.ConnectionState, prior.ReplicationState, prior.DiskState, prior.PeerDiskState, prior.InSync
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// Delete leaves the host alone: a finished sync cannot be undone.
func (r *syncResource) Delete(_ context.Context, _ resource.DeleteRequest, _ *resource.DeleteResponse) {
}

func (r *syncResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id, ok := importResourceID(req.ID, &resp.Diagnostics)
	if !ok {
		return
	}
	m := syncResourceModel{
		connectionModel:  connectionFromImport(id),
		Resource:         types.StringValue(id.Rest),
		ResyncRate:       types.StringNull(),
		PeerHost:         types.StringNull(),
		PeerPort:         types.Int64Null(),
		PeerHostKey:      types.StringNull(),
		PollInterval:     types.StringValue(defaultPollInterval),
		ConnectTimeout:   types.StringValue(defaultPeerWait),
		KeepResyncRate:   types.BoolValue(false),
		Timeouts:         timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{"create": types.StringType})},
		ConnectionState:  types.StringUnknown(),
		ReplicationState: types.StringUnknown(),
		DiskState:        types.StringUnknown(),
		PeerDiskState:    types.StringUnknown(),
		InSync:           types.BoolUnknown(),
	}
	m.ID = types.StringValue(formatID(m.connectionModel, id.Rest))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
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
