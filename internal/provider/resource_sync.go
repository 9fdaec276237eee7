package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

var _ resource.ResourceWithImportState = (*syncResource)(nil)

const (
	defaultSyncTimeout     = 24 * time.Hour
	defaultPollInterval    = "2s"
	defaultPeerWait        = "5m"
	defaultStallTimeout    = "10m"
	progressLogInterval    = 10 * time.Second
	restoreCommandsTimeout = 2 * time.Minute
)

// syncResource is the drbd_sync resource. Its settings that change in place are used only while
// waiting. Update runs nothing on the host.
type syncResource struct {
	remoteBase
	planOnlyUpdate
}

func (r *syncResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
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
			"resource": drbdNameAttribute("DRBD resource name, e.g. `pc0`.", true),
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
			"peer_port":     peerPortAttribute("", true),
			"peer_host_key": peerHostKeyAttribute(),
			"peer_host_fingerprint": computedString("SHA256 fingerprint of `peer_host`'s host key, like `host_key_fingerprint`: with " +
				"`host_key_policy = \"accept-new\"` it is recorded on first contact and a different key is refused afterwards. " +
				"Null without `peer_host`."),
			"poll_interval": durationAttribute("How often the status is read while waiting, as a Go duration. Defaults to `2s`.",
				defaultPollInterval, 100*time.Millisecond),
			"connect_timeout": durationAttribute("How long the DRBD peer may stay disconnected (never connected, or rebooting mid-sync) before waiting fails, as a Go duration. Defaults to `5m`.",
				defaultPeerWait, time.Second),
			"stall_timeout": durationAttribute("How long a running resync may go without the out-of-sync amount decreasing, while "+
				"connected, before the wait fails naming the node, the KiB left and the last speed (a stuck SyncTarget is a "+
				"known DRBD failure), instead of waiting for `timeouts.create`. A Go duration; defaults to `10m`. A peer "+
				"that is disconnected is bounded by `connect_timeout` instead.",
				defaultStallTimeout, time.Second),
			"keep_resync_rate": schema.BoolAttribute{
				MarkdownDescription: "Keep the raised resync rate after the sync instead of putting back the values in force before the raise. Defaults to `false`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
			},
			"connection_state":  computedString("Connection state when last read, e.g. `Connected`."),
			"replication_state": computedString("DRBD 9 replication state when last read; empty on DRBD 8."),
			"disk_state":        computedString("Local disk state when last read, e.g. `UpToDate`."),
			"peer_disk_state":   computedString("Peer's disk state when last read, e.g. `UpToDate`."),
			"in_sync": schema.BoolAttribute{
				MarkdownDescription: "Whether the pair was in sync when last read.",
				Computed:            true,
				PlanModifiers:       []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			},
		}),
		Blocks: map[string]schema.Block{
			"timeouts": timeoutsBlock(ctx, r.name()),
		},
	}
}

func (r *syncResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	m, h, name := openResource[syncResourceModel](ctx, &r.remoteBase, req.Plan.Get, &resp.Diagnostics)
	if h == nil {
		return
	}
	s := &syncStep{m: &m, name: name, h: h, diags: &resp.Diagnostics}
	if !m.PeerHost.IsNull() {
		if entry, fenced := r.data.fencedTarget(m.PeerHost.ValueString(), int(m.PeerPort.ValueInt64())); fenced {
			s.peerFence = entry
		} else {
			s.peer = r.peerHost(m)
		}
	}
	if p := s.run(ctx); p != nil {
		m.fill(p.Status)
		h.save(ctx, &resp.Diagnostics, &resp.State, &m, s.name.String())
	}
}

// peerHost returns the peer of a drbd_sync.
func (r *syncResource) peerHost(m syncResourceModel) *remoteHost {
	return r.peerOf(m.peer())
}

func (r *syncResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	m, h, name, p := readResource[syncResourceModel](ctx, &r.remoteBase, req.State.Get, "Unable to Read DRBD Sync State", &resp.Diagnostics)
	if p == nil {
		return
	}
	peerFence := ""
	if !m.PeerHost.IsNull() {
		peerFence, _ = r.data.fencedTarget(m.PeerHost.ValueString(), int(m.PeerPort.ValueInt64()))
		h.primaries.notePeer(name.String(), h.String(), r.peerHost(m).String())
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
	h.save(ctx, &resp.Diagnostics, &resp.State, &m, name.String())
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

// undoneOnDestroy says what Delete would have done on the host, for the warning of a
// destroy on a fenced host.
func (*syncResource) undoneOnDestroy() string {
	return "nothing (destroying drbd_sync never changes a host)"
}

// Delete changes nothing on the hosts: a finished sync cannot be undone. When the pair is being switched over, the steps that
// follow need both hosts: their connections are opened meanwhile (never to a fenced host).
func (r *syncResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	m, ok := readModel[syncResourceModel](ctx, req.State.Get, &resp.Diagnostics)
	if !ok {
		return
	}
	r.data.warmConnection(ctx, m.connectionModel)
	r.data.warmConnection(ctx, m.peer())
}

// ImportState imports a finished sync; peer_host_fingerprint stays null until a peer_host is
// configured.
func (r *syncResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if id, ok := importResourceID(req.ID, &resp.Diagnostics); ok {
		importState(ctx, resp, id, map[string]attr.Value{"resource": types.StringValue(id.Rest), "peer_host_fingerprint": types.StringNull()})
	}
}
