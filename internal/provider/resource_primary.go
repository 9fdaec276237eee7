package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
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
	_ resource.ResourceWithConfigure   = (*primaryResource)(nil)
	_ resource.ResourceWithImportState = (*primaryResource)(nil)
)

// NewPrimaryResource returns the drbd_primary resource.
func NewPrimaryResource() resource.Resource {
	return &primaryResource{}
}

type primaryResource struct {
	remoteBase
}

type primaryResourceModel struct {
	connectionModel
	ID                     types.String         `tfsdk:"id"`
	Resource               types.String         `tfsdk:"resource"`
	Force                  types.Bool           `tfsdk:"force"`
	AllowOverwritePeerData types.Bool           `tfsdk:"allow_overwrite_peer_data"`
	DemoteOnDestroy        types.Bool           `tfsdk:"demote_on_destroy"`
	ConnectTimeout         timetypes.GoDuration `tfsdk:"connect_timeout"`
	PeerHost               types.String         `tfsdk:"peer_host"`
	PeerPort               types.Int64          `tfsdk:"peer_port"`
	PeerHostKey            types.String         `tfsdk:"peer_host_key"`
	SkipInitialSync        types.Bool           `tfsdk:"skip_initial_sync"`
	roleStateModel
}

// roleStateModel is the DRBD state a resource reports as computed attributes.
type roleStateModel struct {
	Role             types.String `tfsdk:"role"`
	PeerRole         types.String `tfsdk:"peer_role"`
	DiskState        types.String `tfsdk:"disk_state"`
	PeerDiskState    types.String `tfsdk:"peer_disk_state"`
	ConnectionState  types.String `tfsdk:"connection_state"`
	ReplicationState types.String `tfsdk:"replication_state"`
}

func (s *roleStateModel) fill(st drbd.Status) {
	s.Role = types.StringValue(string(st.Role))
	s.PeerRole = types.StringValue(string(st.PeerRole))
	s.DiskState = types.StringValue(string(st.DiskState))
	s.PeerDiskState = types.StringValue(string(st.PeerDiskState))
	s.ConnectionState = types.StringValue(string(st.ConnectionState))
	s.ReplicationState = types.StringValue(st.ReplicationState)
}

// roleStateAttributes adds the computed DRBD state attributes to a resource schema.
func roleStateAttributes(attrs map[string]schema.Attribute) map[string]schema.Attribute {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{
			MarkdownDescription: desc,
			Computed:            true,
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		}
	}
	attrs["role"] = computed("Local role as DRBD prints it: `Primary`, `Secondary` or `Unknown`.")
	attrs["peer_role"] = computed("Peer's role: `Primary`, `Secondary` or `Unknown` (not connected).")
	attrs["disk_state"] = computed("Local disk state, e.g. `UpToDate`, `Inconsistent`, `Diskless`.")
	attrs["peer_disk_state"] = computed("Peer's disk state, e.g. `UpToDate`, `Inconsistent`, `DUnknown`.")
	attrs["connection_state"] = computed("Connection state, e.g. `Connected`, `SyncSource`, `WFConnection`, `StandAlone` " +
		"(on DRBD 9 the connection's state: `Connected`, `Connecting`, `StandAlone`).")
	attrs["replication_state"] = computed("DRBD 9 replication state (`Established`, `SyncSource`, ...); empty on DRBD 8.")
	return attrs
}

func (r *primaryResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_primary"
}

func (r *primaryResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Promotes one node of a DRBD pair to Primary. With `force`, the promotion is the " +
			"initial-sync one (`drbdadm primary --force`, or `drbdadm -- --overwrite-data-of-peer primary` on DRBD 8.3) " +
			"and it is **refused** unless the pair is fresh: the local disk is not UpToDate and the peer's disk holds no " +
			"UpToDate, Consistent or Outdated data (or the node is already Primary). A node whose own disk is UpToDate " +
			"is promoted without force, so `force = true` may stay in the configuration across switchovers and failovers. " +
			"A promotion while the DRBD peer is not connected (peer disk `DUnknown`) is a **failover**: it is allowed only " +
			"when `peer_host` is in the provider's `fenced_hosts` (the peer may otherwise still be Primary on the other side " +
			"of a partition), and only onto a node whose own disk is `UpToDate`. While a fenced peer still shows as " +
			"connected (DRBD notices a dead peer only after its ping timeout), the promotion waits up to `connect_timeout` " +
			"for DRBD to drop it. `terraform plan` shows drift when the node is no longer Primary.",
		Attributes: connectionResourceAttributes(roleStateAttributes(map[string]schema.Attribute{
			"resource": schema.StringAttribute{
				MarkdownDescription: "DRBD resource name, e.g. `pc0`.",
				Required:            true,
				Validators:          []validator.String{drbdNameValidator()},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"force": schema.BoolAttribute{
				MarkdownDescription: "Perform the initial-sync promotion of a fresh pair (this node becomes the sync source). Defaults to `false`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
			},
			"allow_overwrite_peer_data": schema.BoolAttribute{
				MarkdownDescription: "Lift the fresh-pair guard of `force`: the peer's data will be overwritten by this node's. " +
					"Applies with a warning. Defaults to `false`.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"demote_on_destroy": schema.BoolAttribute{
				MarkdownDescription: "Run `drbdadm secondary` when the resource is destroyed. Set `false` to leave the role alone. Defaults to `true`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(true),
			},
			"connect_timeout": schema.StringAttribute{
				MarkdownDescription: "How long a forced promotion waits for the DRBD peer to connect (the guard needs the peer's disk state), as a Go duration. Defaults to `60s`.",
				Optional:            true,
				Computed:            true,
				CustomType:          timetypes.GoDurationType{},
				Default:             stringdefault.StaticString("60s"),
				Validators:          []validator.String{durationValidator(0)},
			},
			"peer_host": schema.StringAttribute{
				MarkdownDescription: "The other node of the pair, as written in its resources' `host`. A failover (promotion while " +
					"the peer is not connected) needs it in the provider's `fenced_hosts`. The peer is never changed; it is " +
					"contacted only to explain a refused failover, and never when fenced.",
				Optional:   true,
				Validators: []validator.String{hostValidator()},
			},
			"peer_port": schema.Int64Attribute{
				MarkdownDescription: "SSH port of `peer_host`; defaults to the provider's `port`. Matched against `host:port` entries of `fenced_hosts`.",
				Optional:            true,
				Validators: []validator.Int64{int64validator.Between(1, 65535),
					int64validator.AlsoRequires(path.MatchRoot("peer_host"))},
			},
			"peer_host_key": schema.StringAttribute{
				MarkdownDescription: "Pinned public key line of `peer_host`, like `host_key`.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("peer_host"))},
			},
			"skip_initial_sync": schema.BoolAttribute{
				MarkdownDescription: "Skip the initial full sync of a pair built on blank devices (only with `force` and " +
					"`peer_host`). When the forced promotion would run, the metadata of **both** nodes is checked (`drbdadm " +
					"get-gi`, the peer's over SSH) to be DRBD's freshly created, never synced \"Just Created\" generation, with " +
					"the pair Connected and both disks Inconsistent; then the pair is marked in sync with `new-current-uuid " +
					"--clear-bitmap` (8.3/8.4: `drbdadm -- --clear-bitmap new-current-uuid`; 9: `drbdadm new-current-uuid " +
					"--clear-bitmap`) and this node is promoted without a resync. Otherwise it is refused and nothing changes " +
					"(for example this node Outdated with old data and the peer blank). It is ignored when the node is promoted " +
					"plainly or is already Primary. The trade-off: blocks never written are not compared, so both nodes hold " +
					"whatever the blank devices held there, and an online verify (`drbdadm verify`) may report those blocks as " +
					"out of sync until they are written; use it only on devices that are really blank (new disks, or after a " +
					"full discard). Defaults to `false`.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
		})),
	}
}

func (r *primaryResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m primaryResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	h := r.host(m.connectionModel, &resp.Diagnostics)
	if h == nil {
		return
	}
	const summary = "Unable to Promote DRBD Resource"
	name := m.Resource.ValueString()
	p, ok := h.probe(ctx, &resp.Diagnostics, summary, name)
	if !ok || !requireUp(h, p, name, summary, &resp.Diagnostics) {
		return
	}
	if p.Status.Role != drbd.RolePrimary {
		if p = r.promote(ctx, h, &m, p, &resp.Diagnostics); p == nil {
			return
		}
	}
	m.fill(p.Status)
	m.ID = types.StringValue(formatID(m.connectionModel, name))
	h.recordFingerprint(ctx, &m.connectionModel, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// promote chooses the promotion command under the guards and runs it; it returns the status
// after promotion, or nil with diagnostics.
func (r *primaryResource) promote(ctx context.Context, h *remoteHost, m *primaryResourceModel, p *drbd.Probe, diags *diag.Diagnostics) *drbd.Probe {
	const summary = "Unable to Promote DRBD Resource"
	name := m.Resource.ValueString()
	cmds := drbd.NewCommands(p.Versions)
	st := p.Status
	var cmd, hint string
	var err error
	fenceEntry, peerFenced := r.peerFenced(*m)
	if peerFenced && peerConnected(st) {
		// DRBD notices a dead peer only after its ping timeout: wait for it to drop the peer.
		if p = waitForPeerGone(ctx, h, name, p, durationOr(m.ConnectTimeout, time.Minute, diags), fenceEntry, diags); p == nil {
			return nil
		}
		st = p.Status
	}
	switch {
	case !peerConnected(st) && !peerFenced && st.DiskState == drbd.DiskUpToDate:
		// Without UpToDate data DRBD itself refuses a plain promotion, and the forced one has
		// its own fresh-pair guard below; with it, a promotion now would be a failover.
		diags.AddError("Refusing DRBD Failover", fmt.Sprintf("The DRBD peer of %s on %s is not connected (connection %s, peer disk %s), "+
			"so promoting this node would be a failover, and the peer may still be Primary on the other side of a partition. "+
			"Nothing was changed.\n\n%s", name, h, st.ConnectionState, st.PeerDiskState, r.peerHint(ctx, *m, name)))
		return nil
	case !peerConnected(st) && peerFenced && st.DiskState != drbd.DiskUpToDate:
		diags.AddError("Refusing DRBD Failover", fmt.Sprintf("The peer of %s on %s is fenced (%q), but this node's disk is %s, "+
			"not UpToDate: promoting it would serve data that may be older than what the dead peer last wrote. Nothing was changed. "+
			"Bring the peer back (unfence it) so the pair resyncs, or recover its data another way.",
			name, h, fenceEntry, st.DiskState))
		return nil
	case !peerConnected(st) && peerFenced:
		cmd, err = cmds.Primary(name)
		hint = "DRBD refused the failover promotion; the kernel log of this node has the details."
		diags.AddWarning("DRBD Failover", fmt.Sprintf("Promoting %s on %s while its peer is fenced (%q): a failover onto this "+
			"node's UpToDate data. When the peer returns, unfence it and let it rejoin as Secondary.", name, h, fenceEntry))
	case st.DiskState == drbd.DiskUpToDate:
		// Local data is good: a plain promotion is safe and needs no force.
		cmd, err = cmds.Primary(name)
		hint = "If the peer is Primary, demote it first: DRBD allows one Primary at a time in this configuration."
	case m.Force.ValueBool():
		if st.PeerDiskState == drbd.DiskDUnknown && st.ConnectionState != drbd.ConnStandAlone {
			if p = waitForPeer(ctx, h, name, p, durationOr(m.ConnectTimeout, time.Minute, diags), diags); p == nil {
				return nil
			}
			st = p.Status
		}
		allowed, reason := drbd.ForcePrimaryAllowed(st.Role, st.DiskState, st.PeerDiskState)
		if !allowed {
			if !m.AllowOverwritePeerData.ValueBool() {
				diags.AddAttributeError(path.Root("force"), "Refusing to Force DRBD Primary",
					fmt.Sprintf("Forcing %s primary on %s would make its data the sync source: %s\n\n"+
						"Nothing was changed. Only a fresh pair (both disks Inconsistent) may be forced. If overwriting the peer's "+
						"data is really intended, set allow_overwrite_peer_data = true.", name, h, reason))
				return nil
			}
			diags.AddAttributeWarning(path.Root("allow_overwrite_peer_data"), "Forcing DRBD Primary Over Peer Data",
				fmt.Sprintf("allow_overwrite_peer_data = true lifted the fresh-pair guard on %s: %s. The peer's data will be overwritten.", h, reason))
		}
		cmd, err = cmds.ForcePrimary(name)
		if m.SkipInitialSync.ValueBool() {
			if !r.skipInitialSync(ctx, h, m, p, diags) {
				return nil
			}
			// Both disks are UpToDate now: the promotion is a plain one, and there is no resync.
			cmd, err = cmds.Primary(name)
		}
	default:
		cmd, err = cmds.Primary(name)
		hint = "A fresh pair (both disks Inconsistent) has no UpToDate data: set force = true on the node chosen as the initial sync source."
	}
	if err != nil {
		diags.AddError(summary, err.Error())
		return nil
	}
	tflog.Info(ctx, "promoting DRBD resource", map[string]any{"host": h.String(), "command": cmd})
	if _, ok := h.runCommand(ctx, diags, summary, sshx.Command{Cmd: cmd}, hint); !ok {
		return nil
	}
	p, ok := h.probe(ctx, diags, summary, name)
	if !ok {
		return nil
	}
	return p
}

// ValidateConfig refuses skip_initial_sync without force and peer_host.
func (r *primaryResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var skip, force types.Bool
	var peer types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("skip_initial_sync"), &skip)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("force"), &force)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("peer_host"), &peer)...)
	if resp.Diagnostics.HasError() || !skip.ValueBool() {
		return
	}
	if !force.IsUnknown() && !force.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("skip_initial_sync"), "Skip Initial Sync Needs Force",
			"skip_initial_sync applies to the initial-sync promotion of a fresh pair only: set force = true as well.")
	}
	if peer.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("skip_initial_sync"), "Skip Initial Sync Needs the Peer",
			"skip_initial_sync checks the metadata of both nodes: set peer_host (and peer_port) to the other node.")
	}
}

// skipInitialSync marks a freshly created pair in sync after checking that both nodes'
// metadata is Just Created and the pair Connected with both disks Inconsistent. It changes
// nothing and returns false with an error otherwise.
func (r *primaryResource) skipInitialSync(ctx context.Context, h *remoteHost, m *primaryResourceModel, p *drbd.Probe, diags *diag.Diagnostics) bool {
	const summary = "Refusing to Skip the Initial Sync"
	name := m.Resource.ValueString()
	st := p.Status
	disksFresh := st.DiskState == drbd.DiskInconsistent && st.PeerDiskState == drbd.DiskInconsistent
	if !peerConnected(st) {
		diags.AddAttributeError(path.Root("skip_initial_sync"), summary, fmt.Sprintf("The initial sync of %s can be skipped only on a "+
			"Connected pair; %s shows connection %s, disks %s/%s. Nothing was changed.", name, h, st.ConnectionState, st.DiskState, st.PeerDiskState))
		return false
	}
	if _, fenced := r.peerFenced(*m); fenced || m.PeerHost.IsNull() {
		diags.AddAttributeError(path.Root("skip_initial_sync"), summary, "skip_initial_sync needs peer_host, not fenced, to check its metadata.")
		return false
	}
	c := connectionModel{Host: m.PeerHost, Port: m.PeerPort, User: m.User, HostKey: m.PeerHostKey, HostKeyFingerprint: types.StringNull()}
	peer := &remoteHost{pool: r.data.pool, target: r.data.resolve(c.target())}
	pp, ok := peer.probe(ctx, diags, "Unable to Read DRBD Status of the Peer", name)
	if !ok {
		return false
	}
	var seen []string
	just := true
	for _, n := range []struct {
		host  *remoteHost
		probe *drbd.Probe
	}{{h, p}, {peer, pp}} {
		cmd, err := drbd.NewCommands(n.probe.Versions).GetGI(name)
		if err != nil {
			diags.AddError(summary, err.Error())
			return false
		}
		res, ok := n.host.run(ctx, diags, "Unable to Read DRBD Generation Identifiers", cmd)
		if !ok {
			return false
		}
		gi, err := drbd.ParseGI(res.Stdout)
		if err != nil {
			diags.AddError(summary, fmt.Sprintf("%s on %s: %s", cmd, n.host, err))
			return false
		}
		state := "Just Created"
		if !gi.JustCreated() {
			state, just = "not Just Created (it has held data before)", false
		}
		seen = append(seen, fmt.Sprintf("%s: %s, %s", n.host, gi.Raw, state))
	}
	if !just || !disksFresh {
		diags.AddAttributeError(path.Root("skip_initial_sync"), summary, fmt.Sprintf("The initial sync of %s is skipped only when "+
			"the metadata of both nodes is freshly created and never synced (Just Created) and both disks are Inconsistent. "+
			"Disks: %s/%s. Generation identifiers (drbdadm get-gi):\n  %s\n\n"+
			"Nothing was changed. Set skip_initial_sync = false to sync normally.", name, st.DiskState, st.PeerDiskState, strings.Join(seen, "\n  ")))
		return false
	}
	cmd, err := drbd.NewCommands(p.Versions).SkipInitialSync(name)
	if err != nil {
		diags.AddError(summary, err.Error())
		return false
	}
	tflog.Info(ctx, "skipping the initial DRBD sync of blank devices", map[string]any{"host": h.String(), "command": cmd, "generations": seen})
	if _, ok := h.run(ctx, diags, "Unable to Skip the Initial DRBD Sync", cmd); !ok {
		return false
	}
	return true
}

// peerConnected reports whether DRBD sees its peer (its disk state is known).
func peerConnected(st drbd.Status) bool {
	return st.PeerDiskState != drbd.DiskDUnknown && st.PeerDiskState != "" && st.ConnectionState != drbd.ConnStandAlone
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
func (r *primaryResource) peerHint(ctx context.Context, m primaryResourceModel, name string) string {
	const fence = "If the peer is dead, make sure it stays so (power it off, or cut it off so that it cannot write), " +
		"then add it to the provider's fenced_hosts and apply again: that is a failover."
	if m.PeerHost.IsNull() || m.PeerHost.IsUnknown() {
		return fence + " Set peer_host on this drbd_primary to name the peer."
	}
	c := connectionModel{Host: m.PeerHost, Port: m.PeerPort, User: m.User, HostKey: m.PeerHostKey, HostKeyFingerprint: types.StringNull()}
	peer := &remoteHost{pool: r.data.pool, target: r.data.resolve(c.target())}
	ctx, cancel := context.WithTimeout(ctx, peerHintTimeout)
	defer cancel()
	pp, err := peer.readStatus(ctx, name)
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

// waitForPeerGone polls until DRBD no longer sees its fenced peer, or fails after timeout.
func waitForPeerGone(ctx context.Context, h *remoteHost, name string, first *drbd.Probe, timeout time.Duration, entry string, diags *diag.Diagnostics) *drbd.Probe {
	const summary = "Refusing DRBD Failover"
	deadline := time.Now().Add(timeout)
	p := first
	for peerConnected(p.Status) {
		if time.Now().After(deadline) {
			diags.AddError(summary, fmt.Sprintf("The peer of %s on %s is fenced (%q), but DRBD on %s still sees it connected "+
				"(connection %s, peer %s/%s) after connect_timeout (%s). A fenced host must be off or cut off; check the fence. "+
				"Nothing was changed.", name, h, entry, h, p.Status.ConnectionState, p.Status.PeerRole, p.Status.PeerDiskState, timeout))
			return nil
		}
		tflog.Info(ctx, "waiting for DRBD to notice that the fenced peer is gone", map[string]any{
			"host": h.String(), "resource": name, "connection_state": string(p.Status.ConnectionState),
		})
		select {
		case <-ctx.Done():
			diags.AddError(summary, fmt.Sprintf("Waiting for DRBD on %s to drop its fenced peer was cancelled: %s", h, ctx.Err()))
			return nil
		case <-time.After(time.Second):
		}
		var err error
		if p, err = h.pollStatus(ctx, name, first); err != nil {
			diags.AddError("Unable to Read DRBD Status", statusErrorDetail(ctx, h, err))
			return nil
		}
	}
	return p
}

// waitForPeer polls (status only, after the caller's full probe first) until the DRBD peer's
// disk state is known or timeout passes; then it returns the last probe (the caller's guard
// decides). It returns nil only on errors.
func waitForPeer(ctx context.Context, h *remoteHost, name string, first *drbd.Probe, timeout time.Duration, diags *diag.Diagnostics) *drbd.Probe {
	deadline := time.Now().Add(timeout)
	p := first
	for {
		if p.Status.PeerDiskState != drbd.DiskDUnknown || p.Status.ConnectionState == drbd.ConnStandAlone || time.Now().After(deadline) {
			return p
		}
		tflog.Info(ctx, "waiting for the DRBD peer to connect", map[string]any{
			"host": h.String(), "resource": name, "connection_state": string(p.Status.ConnectionState),
		})
		select {
		case <-ctx.Done():
			diags.AddError("Unable to Read DRBD Status", fmt.Sprintf("Waiting for the peer of %s on %s was cancelled: %s", name, h, ctx.Err()))
			return nil
		case <-time.After(time.Second):
		}
		var err error
		if p, err = h.pollStatus(ctx, name, first); err != nil {
			diags.AddError("Unable to Read DRBD Status", statusErrorDetail(ctx, h, err))
			return nil
		}
	}
}

func (r *primaryResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m primaryResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	h := r.host(m.connectionModel, &resp.Diagnostics)
	if h == nil {
		return
	}
	name := m.Resource.ValueString()
	p, ok := h.probeForRead(ctx, &resp.Diagnostics, "Unable to Read DRBD Role", name)
	if !ok {
		return
	}
	if !p.Status.Configured || p.Status.Role != drbd.RolePrimary {
		seen := "down (not configured in the kernel)"
		if p.Status.Configured {
			seen = string(p.Status.Role) + ", not Primary"
		}
		driftWarning(&resp.Diagnostics, h, "DRBD resource %s on %s is %s: the next apply promotes it.", name, h, seen)
		resp.State.RemoveResource(ctx)
		return
	}
	h.warnSecondPrimary(&resp.Diagnostics, p.Status, name)
	m.fill(p.Status)
	m.ID = types.StringValue(formatID(m.connectionModel, name))
	h.recordFingerprint(ctx, &m.connectionModel, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// Update only changes flags that matter for later operations; nothing runs on the host.
func (r *primaryResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m, prior primaryResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.roleStateModel = prior.roleStateModel
	m.HostKeyFingerprint = prior.HostKeyFingerprint
	m.ID = prior.ID
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *primaryResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m primaryResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !m.DemoteOnDestroy.ValueBool() {
		return
	}
	h := r.host(m.connectionModel, &resp.Diagnostics)
	if h == nil {
		return
	}
	const summary = "Unable to Demote DRBD Resource"
	name := m.Resource.ValueString()
	p, ok := h.probe(ctx, &resp.Diagnostics, summary, name)
	if !ok || !p.Status.Configured || p.Status.Role != drbd.RolePrimary {
		return
	}
	cmd, err := drbd.NewCommands(p.Versions).Secondary(name)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	h.runCommand(ctx, &resp.Diagnostics, summary, sshx.Command{Cmd: cmd},
		"DRBD cannot demote a device that is open (mounted or in use). Unmount it first, e.g. by destroying the drbd_filesystem "+
			"that depends on this resource, or set demote_on_destroy = false to leave the role alone.")
}

func (r *primaryResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id, ok := importResourceID(req.ID, &resp.Diagnostics)
	if !ok {
		return
	}
	m := primaryResourceModel{
		connectionModel:        connectionFromImport(id),
		Resource:               types.StringValue(id.Rest),
		Force:                  types.BoolValue(false),
		AllowOverwritePeerData: types.BoolValue(false),
		DemoteOnDestroy:        types.BoolValue(true),
		ConnectTimeout:         timetypes.NewGoDurationValueFromStringMust("60s"),
		PeerHost:               types.StringNull(),
		PeerPort:               types.Int64Null(),
		PeerHostKey:            types.StringNull(),
		SkipInitialSync:        types.BoolValue(false),
		roleStateModel:         unknownRoleState(),
	}
	m.ID = types.StringValue(formatID(m.connectionModel, id.Rest))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func unknownRoleState() roleStateModel {
	return roleStateModel{
		Role: types.StringUnknown(), PeerRole: types.StringUnknown(), DiskState: types.StringUnknown(),
		PeerDiskState: types.StringUnknown(), ConnectionState: types.StringUnknown(), ReplicationState: types.StringUnknown(),
	}
}
