package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
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
	defaultStallTimeout    = "10m"
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
	ID               types.String         `tfsdk:"id"`
	Resource         types.String         `tfsdk:"resource"`
	ResyncRate       types.String         `tfsdk:"resync_rate"`
	PeerHost         types.String         `tfsdk:"peer_host"`
	PeerPort         types.Int64          `tfsdk:"peer_port"`
	PeerHostKey      types.String         `tfsdk:"peer_host_key"`
	PollInterval     timetypes.GoDuration `tfsdk:"poll_interval"`
	ConnectTimeout   timetypes.GoDuration `tfsdk:"connect_timeout"`
	StallTimeout     timetypes.GoDuration `tfsdk:"stall_timeout"`
	KeepResyncRate   types.Bool           `tfsdk:"keep_resync_rate"`
	Timeouts         timeouts.Value       `tfsdk:"timeouts"`
	ConnectionState  types.String         `tfsdk:"connection_state"`
	ReplicationState types.String         `tfsdk:"replication_state"`
	DiskState        types.String         `tfsdk:"disk_state"`
	PeerDiskState    types.String         `tfsdk:"peer_disk_state"`
	InSync           types.Bool           `tfsdk:"in_sync"`
	// PeerHostFingerprint is the peer's host key fingerprint, recorded like host_key_fingerprint.
	PeerHostFingerprint types.String `tfsdk:"peer_host_fingerprint"`
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
			"node's DRBD syntax (fixed rate, no throttling behind application I/O) and afterwards puts back the values that " +
			"were in force before (read with `drbdsetup show`), with disk options only: it never runs `drbdadm adjust`, " +
			"`connect`, `attach` or `up`, on success, failure, timeout or cancel. Progress is logged at INFO at most every " +
			"10 s; lost SSH connections are redialled. A StandAlone node or peer (split brain, or `drbdadm disconnect`) fails " +
			"the wait before anything is changed, or within one poll, naming the node and whether DRBD reported a split brain; " +
			"Diskless or Failed disks and a peer that never connects fail fast too. " +
			"`terraform plan` shows drift when the pair is no longer in sync.",
		Attributes: connectionResourceAttributes(map[string]schema.Attribute{
			"resource": schema.StringAttribute{
				MarkdownDescription: "DRBD resource name, e.g. `pc0`.",
				Required:            true,
				Validators:          []validator.String{drbdNameValidator()},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"resync_rate": schema.StringAttribute{
				MarkdownDescription: "Resync rate to apply while waiting, in DRBD's syntax, e.g. `1100M`. Applied as " +
					"`--c-plan-ahead=0 --resync-rate=R --c-min-rate=0` (8.4: `disk-options`; 9: `peer-device-options`; " +
					"8.3: `drbdsetup <dev> syncer -r R`) on `host` and on `peer_host`. Unset leaves the rate alone.",
				Optional:   true,
				Validators: []validator.String{rateValidator()},
			},
			"peer_host": schema.StringAttribute{
				MarkdownDescription: "The other node of the pair, so that `resync_rate` is applied there too (in 8.4 the SyncTarget paces the resync). " +
					"Without it the rate is applied on `host` only, with a warning. Reached with the provider's credentials and `user`.",
				Optional:      true,
				Validators:    []validator.String{hostValidator()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"peer_port": schema.Int64Attribute{
				MarkdownDescription: "SSH port of `peer_host`; defaults to the provider's `port`.",
				Optional:            true,
				Validators: []validator.Int64{int64validator.Between(1, 65535),
					int64validator.AlsoRequires(path.MatchRoot("peer_host"))},
				PlanModifiers: []planmodifier.Int64{int64planmodifier.RequiresReplace()},
			},
			"peer_host_key": schema.StringAttribute{
				MarkdownDescription: "Pinned public key line of `peer_host`, like `host_key`.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("peer_host"))},
			},
			"peer_host_fingerprint": schema.StringAttribute{
				MarkdownDescription: "SHA256 fingerprint of `peer_host`'s host key, like `host_key_fingerprint`: with " +
					"`host_key_policy = \"accept-new\"` it is recorded on first contact and a different key is refused afterwards. " +
					"Null without `peer_host`.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"poll_interval": schema.StringAttribute{
				MarkdownDescription: "How often the status is read while waiting, as a Go duration. Defaults to `2s`.",
				Optional:            true,
				Computed:            true,
				CustomType:          timetypes.GoDurationType{},
				Default:             stringdefault.StaticString(defaultPollInterval),
				Validators:          []validator.String{durationValidator(100 * time.Millisecond)},
			},
			"connect_timeout": schema.StringAttribute{
				MarkdownDescription: "How long the DRBD peer may stay disconnected (never connected, or rebooting mid-sync) before waiting fails, as a Go duration. Defaults to `5m`.",
				Optional:            true,
				Computed:            true,
				CustomType:          timetypes.GoDurationType{},
				Default:             stringdefault.StaticString(defaultPeerWait),
				Validators:          []validator.String{durationValidator(time.Second)},
			},
			"stall_timeout": schema.StringAttribute{
				MarkdownDescription: "How long a running resync may go without the out-of-sync amount decreasing, while " +
					"connected, before the wait fails naming the node, the KiB left and the last speed (a stuck SyncTarget is a " +
					"known DRBD failure), instead of waiting for `timeouts.create`. A Go duration; defaults to `10m`. A peer " +
					"that is disconnected is bounded by `connect_timeout` instead.",
				Optional:   true,
				Computed:   true,
				CustomType: timetypes.GoDurationType{},
				Default:    stringdefault.StaticString(defaultStallTimeout),
				Validators: []validator.String{durationValidator(time.Second)},
			},
			"keep_resync_rate": schema.BoolAttribute{
				MarkdownDescription: "Keep the raised resync rate after the sync instead of putting back the values in force before the raise. Defaults to `false`.",
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

// rateTarget is a node on which the resync rate was raised, with the settings read just
// before, which restoring puts back.
type rateTarget struct {
	host   *remoteHost
	cmds   drbd.Commands
	device string
	saved  drbd.ResyncSettings
}

// syncStep is one Create of drbd_sync: the node, its optional peer, and the nodes whose
// rate it raised.
type syncStep struct {
	m    *syncResourceModel
	name string
	h    *remoteHost
	peer *remoteHost // nil without peer_host, or when it is fenced
	// peerFence is the fenced_hosts entry that fences peer_host, "" when not fenced.
	peerFence string
	raised    []rateTarget
	diags     *diag.Diagnostics
}

const syncSummary = "Unable to Wait for DRBD Sync"

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
	s := &syncStep{m: &m, name: m.Resource.ValueString(), h: h, diags: &resp.Diagnostics}
	if !m.PeerHost.IsNull() {
		if entry, fenced := r.data.fencedTarget(m.PeerHost.ValueString(), int(m.PeerPort.ValueInt64())); fenced {
			s.peerFence = entry
		} else {
			s.peer = r.peerHost(m)
		}
	}
	if p := s.run(ctx); p != nil {
		m.fill(p.Status)
		m.ID = types.StringValue(formatID(m.connectionModel, s.name))
		h.recordFingerprint(ctx, &m.connectionModel, &resp.Diagnostics)
		resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
	}
}

// peerHost returns the peer of a drbd_sync, checked like every host: a pinned
// peer_host_key, known_hosts, and under accept-new the recorded peer_host_fingerprint.
func (r *syncResource) peerHost(m syncResourceModel) *remoteHost {
	c := connectionModel{
		Host: m.PeerHost, Port: m.PeerPort, User: m.User, HostKey: m.PeerHostKey,
		HostKeyFingerprint: m.PeerHostFingerprint,
	}
	return &remoteHost{pool: r.data.pool, target: r.data.resolve(c.target())}
}

// run waits for the sync and returns the final probe of the node, or nil with an error
// diagnostic. Whatever happens it changes no connection or attachment state: the only
// commands it sends besides status reads set the resync rate and put it back.
func (s *syncStep) run(ctx context.Context) *drbd.Probe {
	p, ok := s.h.probe(ctx, s.diags, syncSummary, s.name)
	if !ok || !requireUp(s.h, p, s.name, syncSummary, s.diags) {
		return nil
	}
	if s.peerFence != "" {
		return s.degraded(p)
	}
	var pp *drbd.Probe
	if s.peer != nil {
		if pp, ok = s.peer.probe(ctx, s.diags, "Unable to Read DRBD Status of the Peer", s.name); !ok {
			return nil
		}
		fp, err := s.peer.pool.Fingerprint(ctx, s.peer.target)
		if err != nil {
			s.diags.AddError("Unable to Read Host Key of the Peer", transportDetail(ctx, s.peer, "(connect)", err))
			return nil
		}
		s.m.PeerHostFingerprint = types.StringValue(fp)
	} else {
		s.m.PeerHostFingerprint = types.StringNull()
	}
	if drbd.InSync(p.Status) {
		return p
	}
	// A StandAlone node (split brain or an administrative disconnect) never syncs by
	// itself: fail before changing anything on either node.
	if err := drbd.SyncFailure(p.Status); err != nil {
		s.diags.AddError(syncSummary, failureDetail(s.h, s.name, err))
		return nil
	}
	if pp != nil && pp.Status.Configured && pp.Status.ConnectionState == drbd.ConnStandAlone {
		s.diags.AddError(syncSummary, failureDetail(s.peer, s.name, drbd.SyncFailure(pp.Status)))
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

// failureDetail explains a state in which waiting is pointless.
func failureDetail(h *remoteHost, name string, err error) string {
	return fmt.Sprintf("DRBD resource %s on %s cannot finish syncing by itself: %s\n\n"+
		"Nothing was changed on either node. Resolve it by hand (for split brain see the DRBD User's Guide, "+
		"\"Manual split brain recovery\") and apply again.", name, h, err)
}

// raiseRate reads the resync settings in force on the node and, when given, the peer, then
// applies the configured rate there.
func (s *syncStep) raiseRate(ctx context.Context, p, pp *drbd.Probe) {
	rate := s.m.ResyncRate.ValueString()
	apply := func(node *remoteHost, p *drbd.Probe) bool {
		cmds := drbd.NewCommands(p.Versions)
		cmd, err := cmds.SetResyncRate(s.name, p.Device(), rate)
		if err != nil {
			s.diags.AddAttributeError(path.Root("resync_rate"), "Invalid Resync Rate", err.Error())
			return false
		}
		saved, ok := readResyncSettings(ctx, node, cmds, s.name, p.Device(), s.diags)
		if !ok {
			return false
		}
		// Recorded before it runs: a command cut off by a dropped connection may still have
		// taken effect, and putting the saved values back is harmless where it did not.
		s.raised = append(s.raised, rateTarget{host: node, cmds: cmds, device: p.Device(), saved: saved})
		if _, ok := node.run(ctx, s.diags, "Unable to Set DRBD Resync Rate", cmd); !ok {
			return false
		}
		tflog.Info(ctx, "raised DRBD resync rate", map[string]any{"host": node.String(), "command": cmd, "saved": saved.String()})
		return true
	}
	if !apply(s.h, p) {
		return
	}
	if s.peer == nil {
		s.diags.AddAttributeWarning(path.Root("peer_host"), "Resync Rate Applied on One Node Only",
			fmt.Sprintf("resync_rate was applied on %s only. In DRBD 8.4 the SyncTarget paces the resync, so without "+
				"peer_host the sync may stay slow.", s.h))
		return
	}
	if !pp.Status.Configured {
		// Setting options on a down resource fails, and bringing it up is drbd_resource's job.
		s.diags.AddAttributeWarning(path.Root("peer_host"), "Resync Rate Not Applied on the Peer",
			fmt.Sprintf("DRBD resource %s is down on %s, so resync_rate was not applied there; the wait goes on until "+
				"the peer connects (connect_timeout).", s.name, s.peer))
		return
	}
	apply(s.peer, pp)
}

// readResyncSettings reads the resync settings in force on a node.
func readResyncSettings(ctx context.Context, h *remoteHost, cmds drbd.Commands, name, device string, diags *diag.Diagnostics) (drbd.ResyncSettings, bool) {
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
	statuses := make([]drbd.Status, len(s.raised))
	for i, t := range s.raised {
		p, err := t.host.readStatus(ctx, s.name)
		if err != nil {
			s.diags.AddWarning(summary, fmt.Sprintf("The resync rate raised on %s was not put back because its status could not be read: %s\n\n%s",
				t.host, statusErrorDetail(ctx, t.host, err), t.restoreHint(s.name)))
			statuses[i].Configured = false
			statuses[i].ConnectionState = ""
			continue
		}
		statuses[i] = p.Status
	}
	for i, st := range statuses {
		if st.Configured && st.ConnectionState == drbd.ConnStandAlone {
			s.diags.AddWarning(summary, fmt.Sprintf("The raised resync rate was not put back on any node because DRBD resource %s "+
				"on %s is StandAlone (%s). Nothing was run on either node. After resolving it, put the settings back on each node:\n%s",
				s.name, s.raised[i].host, drbd.StandAloneReason(st), s.restoreHints()))
			return
		}
	}
	for i, t := range s.raised {
		st := statuses[i]
		if st.ConnectionState == "" && !st.Configured {
			continue // unreadable: warned above
		}
		if !st.Configured {
			s.diags.AddWarning(summary, fmt.Sprintf("The resync rate raised on %s was not put back because DRBD resource %s is down there; "+
				"bringing it up again applies the configured values.", t.host, s.name))
			continue
		}
		cmd, err := t.cmds.RestoreResyncRate(s.name, t.device, t.saved)
		if err == nil {
			var res sshx.Result
			res, err = t.host.exec(ctx, sshx.Command{Cmd: cmd})
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
func (t rateTarget) restoreHint(name string) string {
	cmd, err := t.cmds.RestoreResyncRate(name, t.device, t.saved)
	if err != nil {
		return "Put the resync settings back by hand."
	}
	return fmt.Sprintf("Run on %s: %s", t.host, cmd)
}

func (s *syncStep) restoreHints() string {
	var b strings.Builder
	for _, t := range s.raised {
		b.WriteString("  " + t.restoreHint(s.name) + "\n")
	}
	return b.String()
}

// wait polls until the pair is in sync. It returns the final probe, or nil with an error.
// It fails within one poll when the node or its readable peer turns StandAlone.
func (s *syncStep) wait(ctx context.Context, first *drbd.Probe) *drbd.Probe {
	name, h := s.name, s.h
	interval := durationOr(s.m.PollInterval, 2*time.Second, s.diags)
	peerWait := durationOr(s.m.ConnectTimeout, 5*time.Minute, s.diags)
	stall := &stallWatch{limit: durationOr(s.m.StallTimeout, 10*time.Minute, s.diags)}
	progress := &logThrottle{every: progressLogInterval}
	var (
		disconnectedSince time.Time
		peerWasDown       bool
		last              *drbd.Probe
		lastErr           error
		peerFirst         *drbd.Probe
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
				s.diags.AddError(syncSummary, fmt.Sprintf("DRBD resource %s went down on %s while waiting for the sync.", name, h))
				return nil
			}
			if drbd.InSync(st) {
				tflog.Info(ctx, "DRBD sync complete", map[string]any{"host": h.String(), "resource": name})
				return p
			}
			if st.ConnectionState == drbd.ConnStandAlone {
				s.standAlone(ctx, h)
				return nil
			}
			if ferr := drbd.SyncFailure(st); ferr != nil {
				s.diags.AddError(syncSummary, failureDetail(h, name, ferr))
				return nil
			}
			if err := stall.observe(time.Now(), st); err != nil {
				s.diags.AddError(syncSummary, fmt.Sprintf("The resync of DRBD resource %s on %s stalled: %s. "+
					"DRBD keeps trying in the kernel; look at both nodes' kernel logs and I/O, then apply again to keep waiting. "+
					"The raised rate is put back.", name, h, err))
				return nil
			}
			if st.PeerDiskState == drbd.DiskDUnknown {
				if s.peer != nil && s.peerStandAlone(ctx, &peerFirst) {
					return nil
				}
				if disconnectedSince.IsZero() {
					disconnectedSince = time.Now()
				}
				peerWasDown = true
				if time.Since(disconnectedSince) > peerWait {
					s.diags.AddError(syncSummary, fmt.Sprintf("The DRBD peer of %s on %s did not connect within connect_timeout (%s); "+
						"the connection state stayed %s. Check that the peer is up (drbdadm up %s) and that the replication link works.",
						name, h, peerWait, st.ConnectionState, name))
					return nil
				}
			} else {
				disconnectedSince = time.Time{}
				if peerWasDown && s.peer != nil && len(s.raised) > 1 {
					// A rebooted peer comes back with its configured (slow) rate.
					peerWasDown = false
					s.reapplyPeerRate(ctx)
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

// standAlone reports node StandAlone, re-reading its full status (the kernel log says
// whether DRBD reported a split brain).
func (s *syncStep) standAlone(ctx context.Context, node *remoteHost) {
	p, err := node.readStatus(ctx, s.name)
	if err != nil || p.Status.ConnectionState != drbd.ConnStandAlone {
		s.diags.AddError(syncSummary, fmt.Sprintf("DRBD resource %s on %s became StandAlone while waiting for the sync; "+
			"it will not reconnect by itself. Nothing was changed on either node.", s.name, node))
		return
	}
	s.diags.AddError(syncSummary, failureDetail(node, s.name, drbd.SyncFailure(p.Status)))
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
		p, err = s.peer.readStatus(ctx, s.name)
		if err == nil {
			*first = p
		}
	} else {
		p, err = s.peer.pollStatus(ctx, s.name, *first)
	}
	if err != nil || !p.Status.Configured || p.Status.ConnectionState != drbd.ConnStandAlone {
		return false
	}
	s.standAlone(ctx, s.peer)
	return true
}

// reapplyPeerRate raises the rate on a peer that came back, best effort.
func (s *syncStep) reapplyPeerRate(ctx context.Context) {
	var d diag.Diagnostics
	pp, ok := s.peer.probe(ctx, &d, "peer", s.name)
	if !ok || !pp.Status.Configured || pp.Status.ConnectionState == drbd.ConnStandAlone {
		return
	}
	cmd, err := drbd.NewCommands(pp.Versions).SetResyncRate(s.name, pp.Device(), s.m.ResyncRate.ValueString())
	if err != nil {
		return
	}
	if res, err := s.peer.exec(ctx, sshx.Command{Cmd: cmd}); err == nil && res.ExitCode == 0 {
		tflog.Info(ctx, "re-applied DRBD resync rate on the reconnected peer", map[string]any{"host": s.peer.String()})
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
	p, ok := h.probeForRead(ctx, &resp.Diagnostics, "Unable to Read DRBD Sync State", name)
	if !ok {
		return
	}
	peerFence := ""
	if !m.PeerHost.IsNull() {
		peerFence, _ = r.data.fencedTarget(m.PeerHost.ValueString(), int(m.PeerPort.ValueInt64()))
	}
	if !m.PeerHost.IsNull() && peerFence == "" && !r.checkPeerKey(ctx, m, &resp.Diagnostics) {
		return
	}
	if !p.Status.Configured || !drbd.InSync(p.Status) {
		next := "the next apply waits for the resync again"
		if peerFence != "" {
			next = fmt.Sprintf("the peer is fenced (%q), so the next apply does not wait and the pair stays degraded until the peer rejoins", peerFence)
		}
		seen := "down"
		if p.Status.Configured {
			seen = fmt.Sprintf("not in sync (connection %s, disks %s/%s, %.1f%% synced)",
				p.Status.ConnectionState, p.Status.DiskState, p.Status.PeerDiskState, p.Status.SyncPercent)
		}
		driftWarning(&resp.Diagnostics, h, "DRBD resource %s on %s is %s: %s.", name, h, seen, next)
		resp.State.RemoveResource(ctx)
		return
	}
	m.fill(p.Status)
	m.ID = types.StringValue(formatID(m.connectionModel, name))
	h.recordFingerprint(ctx, &m.connectionModel, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// checkPeerKey verifies the host key of a drbd_sync's peer on refresh, so a changed key
// is refused like that of any host. An unreachable peer is only logged: the pair's state
// on host is what Read reports, and a dead peer must not fail every plan.
func (r *syncResource) checkPeerKey(ctx context.Context, m syncResourceModel, diags *diag.Diagnostics) bool {
	peer := r.peerHost(m)
	_, err := peer.pool.Fingerprint(ctx, peer.target)
	var hk *sshx.HostKeyError
	switch {
	case errors.As(err, &hk):
		diags.AddError("Unable to Read DRBD Sync State", transportDetail(ctx, peer, "(connect)", err))
		return false
	case err != nil:
		tflog.Warn(ctx, "drbd_sync peer unreachable on refresh", map[string]any{"peer": peer.String(), "error": err.Error()})
	}
	return true
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
	m.ConnectionState, m.ReplicationState, m.DiskState, m.PeerDiskState, m.InSync, m.PeerHostFingerprint =
		prior.ConnectionState, prior.ReplicationState, prior.DiskState, prior.PeerDiskState, prior.InSync, prior.PeerHostFingerprint
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
		connectionModel:     connectionFromImport(id),
		Resource:            types.StringValue(id.Rest),
		ResyncRate:          types.StringNull(),
		PeerHost:            types.StringNull(),
		PeerPort:            types.Int64Null(),
		PeerHostKey:         types.StringNull(),
		PollInterval:        timetypes.NewGoDurationValueFromStringMust(defaultPollInterval),
		ConnectTimeout:      timetypes.NewGoDurationValueFromStringMust(defaultPeerWait),
		StallTimeout:        timetypes.NewGoDurationValueFromStringMust(defaultStallTimeout),
		KeepResyncRate:      types.BoolValue(false),
		Timeouts:            timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{"create": types.StringType})},
		ConnectionState:     types.StringUnknown(),
		ReplicationState:    types.StringUnknown(),
		DiskState:           types.StringUnknown(),
		PeerDiskState:       types.StringUnknown(),
		InSync:              types.BoolUnknown(),
		PeerHostFingerprint: types.StringNull(),
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
