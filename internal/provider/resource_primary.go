package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

var _ resource.ResourceWithImportState = (*primaryResource)(nil)

// defaultPromoteWait is connect_timeout's default: how long a forced promotion waits for the peer.
const defaultPromoteWait = "60s"

// primaryResource is the drbd_primary resource. Its flags that change in place matter only to
// later operations. Update runs nothing on the host.
type primaryResource struct {
	remoteBase
	planOnlyUpdate
}

// roleStateAttributes adds the computed DRBD state attributes to a resource schema.
func roleStateAttributes(attrs map[string]schema.Attribute) map[string]schema.Attribute {
	attrs["role"] = computedString("Local role as DRBD prints it: `Primary`, `Secondary` or `Unknown`.")
	attrs["peer_role"] = computedString("Peer's role: `Primary`, `Secondary` or `Unknown` (not connected).")
	attrs["disk_state"] = computedString("Local disk state, e.g. `UpToDate`, `Inconsistent`, `Diskless`.")
	attrs["peer_disk_state"] = computedString("Peer's disk state, e.g. `UpToDate`, `Inconsistent`, `DUnknown`.")
	attrs["connection_state"] = computedString("Connection state, e.g. `Connected`, `SyncSource`, `WFConnection`, `StandAlone` " +
		"(on DRBD 9 the connection's state: `Connected`, `Connecting`, `StandAlone`).")
	attrs["replication_state"] = computedString("DRBD 9 replication state (`Established`, `SyncSource`, ...); empty on DRBD 8.")
	return attrs
}

func (r *primaryResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Promotes one node of a DRBD pair to Primary. With `force`, the promotion is the " +
			"initial-sync one (`drbdadm primary --force`, or `drbdadm -- --overwrite-data-of-peer primary` on DRBD 8.3) " +
			"and it is **refused** unless the pair is fresh: the local disk is not UpToDate and the peer's disk holds no " +
			"UpToDate, Consistent or Outdated data (or the node is already Primary), on **every volume** of the resource " +
			"and towards **every peer** (DRBD 9), since `--force` forces them all; the error names the volume or peer that " +
			"fails. The state is checked again on the host in the same shell that runs `--force`: if it changed since it " +
			"was read, nothing runs and the error says what the host saw. A node whose own disk is UpToDate on every volume " +
			"is promoted without force, so `force = true` may stay in the configuration across switchovers and failovers. " +
			"A promotion while a DRBD peer is not connected (peer disk `DUnknown`) is a **failover**: it is allowed only " +
			"when `peer_host` is in the provider's `fenced_hosts` (the peer may otherwise still be Primary on the other side " +
			"of a partition), and only onto a node whose own disk is `UpToDate` on every volume. A failover of a resource " +
			"with more than one peer (DRBD 9) is refused: one `peer_host` cannot be fenced for all of them, and whether " +
			"the rest holds a quorum is not decided here. While a fenced peer still shows as " +
			"connected (DRBD notices a dead peer only after its ping timeout), the promotion waits up to `connect_timeout` " +
			"for DRBD to drop it. `terraform plan` shows drift when the node is no longer Primary.",
		Attributes: connectionResourceAttributes(roleStateAttributes(map[string]schema.Attribute{
			"resource": drbdNameAttribute("DRBD resource name, e.g. `pc0`.", true),
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
			"connect_timeout": durationAttribute("How long a forced promotion waits for the DRBD peer to connect (the guard needs the peer's disk state), as a Go duration. Defaults to `60s`.",
				defaultPromoteWait, 0),
			"peer_host": schema.StringAttribute{
				MarkdownDescription: "The other node of the pair, as written in its resources' `host`. A failover (promotion while " +
					"the peer is not connected) needs it in the provider's `fenced_hosts`. The peer is never changed; it is " +
					"contacted to check and record its host key (`peer_host_fingerprint`), for `skip_initial_sync` and to explain a " +
					"refused failover, and never when fenced.",
				Optional:   true,
				Validators: []validator.String{hostValidator()},
			},
			"peer_port":     peerPortAttribute("Matched against `host:port` entries of `fenced_hosts`.", false),
			"peer_host_key": peerHostKeyAttribute(),
			"peer_host_fingerprint": schema.StringAttribute{
				MarkdownDescription: "SHA256 fingerprint of `peer_host`'s host key, like `host_key_fingerprint`: recorded when the " +
					"resource is created (before anything changes) and by each refresh that reaches the peer; with " +
					"`host_key_policy = \"accept-new\"` a different key is refused afterwards. Null without `peer_host`, and when the " +
					"peer was fenced or unreachable at creation or `peer_host` or `peer_port` changed, until a refresh reaches the peer.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{samePeerFingerprint{}},
			},
			"skip_initial_sync": schema.BoolAttribute{
				MarkdownDescription: "Skip the initial full sync of a pair built on blank devices (only with `force` and " +
					"`peer_host`). When the forced promotion would run, the metadata of **both** nodes is checked (`drbdadm " +
					"get-gi`, the peer's over SSH) to be DRBD's freshly created, never synced \"Just Created\" generation, with " +
					"the pair Connected to its one peer and every volume's disks Inconsistent on both nodes; then the pair is " +
					"marked in sync with `new-current-uuid " +
					"--clear-bitmap` (8.3/8.4: `drbdadm -- --clear-bitmap new-current-uuid`; 9: `drbdadm new-current-uuid " +
					"--clear-bitmap`) and this node is promoted without a resync. The local state and metadata are checked " +
					"again in the same shell that runs it (the peer's were read just before). Otherwise it is refused and nothing changes " +
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
		Blocks: map[string]schema.Block{"timeouts": timeoutsBlock(ctx, r.name())},
	}
}

func (r *primaryResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	m, h, name := openResource[primaryResourceModel](ctx, &r.remoteBase, req.Plan.Get, &resp.Diagnostics)
	if h == nil {
		return
	}
	const summary = "Unable to Promote DRBD Resource"
	if !r.recordPeerKey(ctx, &m, &resp.Diagnostics) {
		return
	}
	if _, fenced := r.peerFenced(m); !fenced {
		// A healthy pair at rest (a switchover) is promoted in one round trip; anything else
		// takes the guarded path below, nothing having changed.
		if st, done := h.promoteHealthy(ctx, &resp.Diagnostics, summary, name); done {
			if !resp.Diagnostics.HasError() {
				m.fill(st)
				h.save(ctx, &resp.Diagnostics, &resp.State, &m, name.String())
			}
			return
		}
	}
	p, ok := h.probe(ctx, &resp.Diagnostics, summary, name, statusGuard)
	if !ok || !h.requireUp(&resp.Diagnostics, summary, p, name) {
		return
	}
	if p.Status.Role != drbd.RolePrimary {
		if p = r.promote(ctx, h, &m, name, p, &resp.Diagnostics); p == nil {
			return
		}
	}
	// The device this read shows (drbdadm sh-dev, read after the promotion) serves the
	// drbd_filesystem that follows.
	h.devices.set(h, name, drbd.ParseShDev(strings.Join(p.Devices, "\n")))
	m.fill(p.Status)
	h.save(ctx, &resp.Diagnostics, &resp.State, &m, name.String())
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

func (r *primaryResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	m, h, name, p := readResource[primaryResourceModel](ctx, &r.remoteBase, req.State.Get, "Unable to Read DRBD Role", &resp.Diagnostics)
	if p == nil || !r.checkPeerKey(ctx, &m, &resp.Diagnostics) {
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
	if !m.PeerHost.IsNull() && !m.PeerHost.IsUnknown() {
		h.primaries.notePeer(name.String(), h.String(), r.data.resolve(m.peer()).String())
	}
	h.warnSecondPrimary(&resp.Diagnostics, p.Status, name)
	m.fill(p.Status)
	h.save(ctx, &resp.Diagnostics, &resp.State, &m, name.String())
}

// undoneOnDestroy says what Delete would have done on the host, for the warning of a
// destroy on a fenced host.
func (*primaryResource) undoneOnDestroy() string {
	return "the node was not demoted (`drbdadm secondary`)"
}

func (r *primaryResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	m, h, name := openResource[primaryResourceModel](ctx, &r.remoteBase, req.State.Get, &resp.Diagnostics)
	if h == nil || !m.DemoteOnDestroy.ValueBool() {
		return
	}
	const summary = "Unable to Demote DRBD Resource"
	// In a switchover the promotion on the peer comes next: open that connection meanwhile.
	r.data.warmConnection(ctx, m.peer())
	// `drbdadm secondary` is a no-op on a Secondary, so it runs without a status read first;
	// only a failure is looked into (a resource that is down has nothing to demote).
	cmd := drbd.NewCommands(drbd.Versions{}).Secondary(name)
	res, err := h.exec(ctx, cmd)
	switch {
	case err != nil:
		resp.Diagnostics.AddError(summary, transportDetail(ctx, h, cmd, err))
		return
	case res.ExitCode == 0:
		return
	}
	if p, ok := h.probe(ctx, &resp.Diagnostics, summary, name, statusGuard); !ok || !p.Status.Configured || p.Status.Role != drbd.RolePrimary {
		return
	}
	resp.Diagnostics.AddError(summary, exitDetail(h, cmd, res,
		"DRBD cannot demote a device that is open (mounted or in use). Unmount it first, e.g. by destroying the drbd_filesystem "+
			"that depends on this resource, or set demote_on_destroy = false to leave the role alone."))
}

func (r *primaryResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if id, ok := importResourceID(req.ID, &resp.Diagnostics); ok {
		importState(ctx, resp, id, map[string]attr.Value{"resource": types.StringValue(id.Rest), "peer_host_fingerprint": types.StringNull()})
	}
}

// peerHost is the peer_host of m, checked under accept-new against the recorded
// peer_host_fingerprint.
func (r *primaryResource) peerHost(m primaryResourceModel) *remoteHost {
	return r.peerOf(m.peer())
}

// recordPeerKey reads the host key of peer_host, checked like any host's (peer_host_key,
// known_hosts, the policy), into peer_host_fingerprint before the promotion changes
// anything, so the later looks at the peer (skip_initial_sync's metadata check, a refused
// failover's hint) and later runs use a recorded key. A refused key fails the step. A
// fenced peer is never contacted; one not reached within peerHintTimeout leaves the
// fingerprint null, with a warning, for a later refresh to record.
func (r *primaryResource) recordPeerKey(ctx context.Context, m *primaryResourceModel, diags *diag.Diagnostics) bool {
	m.PeerHostFingerprint = types.StringNull()
	if m.PeerHost.IsNull() || m.PeerHost.IsUnknown() {
		return true
	}
	if _, fenced := r.peerFenced(*m); fenced {
		return true
	}
	peer := r.peerHost(*m)
	pctx, cancel := context.WithTimeout(ctx, peerHintTimeout)
	defer cancel()
	fp, err := peer.pool.Fingerprint(pctx, peer.target)
	var hk *sshx.HostKeyError
	switch {
	case errors.As(err, &hk):
		diags.AddError("Unable to Read Host Key of the Peer", peerKeyDetail(ctx, peer, err))
		return false
	case err != nil:
		diags.AddAttributeWarning(path.Root("peer_host_fingerprint"), "Peer Host Key Not Recorded",
			fmt.Sprintf("The peer %s could not be reached within %s, so its host key was not recorded in peer_host_fingerprint; "+
				"the next refresh that reaches it records it: %s", peer, peerHintTimeout, err))
		return true
	}
	m.PeerHostFingerprint = types.StringValue(fp)
	return true
}

// checkPeerKey verifies peer_host's key on refresh, so a changed key is refused like that of
// any host, and records it in peer_host_fingerprint. A fenced peer is not contacted (its
// recorded key is kept); an unreachable one is only logged: a dead peer must not fail every
// plan.
func (r *primaryResource) checkPeerKey(ctx context.Context, m *primaryResourceModel, diags *diag.Diagnostics) bool {
	if m.PeerHostFingerprint.IsUnknown() {
		m.PeerHostFingerprint = types.StringNull() // imported
	}
	if m.PeerHost.IsNull() || m.PeerHost.IsUnknown() {
		m.PeerHostFingerprint = types.StringNull()
		return true
	}
	if _, fenced := r.peerFenced(*m); fenced {
		return true
	}
	peer := r.peerHost(*m)
	fp, err := peer.pool.Fingerprint(ctx, peer.target)
	var hk *sshx.HostKeyError
	switch {
	case errors.As(err, &hk):
		diags.AddError("Unable to Read DRBD Role", peerKeyDetail(ctx, peer, err))
		return false
	case err != nil:
		tflog.Warn(ctx, "drbd_primary peer unreachable on refresh", map[string]any{"peer": peer.String(), "error": err.Error()})
		return true
	}
	m.PeerHostFingerprint = types.StringValue(fp)
	return true
}

// peerKeyDetail explains a refused host key of peer_host, naming the attributes that hold
// the peer's keys (the host key error speaks of host_key and host_key_fingerprint).
func peerKeyDetail(ctx context.Context, peer *remoteHost, err error) string {
	return transportDetail(ctx, peer, "(connect)", err) + fmt.Sprintf("\n\n%s is this drbd_primary's peer_host: its pinned key "+
		"is peer_host_key, and its recorded key peer_host_fingerprint.", peer)
}

// samePeerFingerprint plans drbd_primary's peer_host_fingerprint: the recorded value while
// peer_host and peer_port stay the same, null when either changes (the recorded key is the
// old peer's; a refresh that reaches the new peer records its key).
type samePeerFingerprint struct{}

// Description implements planmodifier.String.
func (samePeerFingerprint) Description(context.Context) string {
	return "Keeps the recorded fingerprint while peer_host and peer_port stay the same."
}

// MarkdownDescription implements planmodifier.String.
func (m samePeerFingerprint) MarkdownDescription(ctx context.Context) string {
	return m.Description(ctx)
}

// PlanModifyString implements planmodifier.String.
func (samePeerFingerprint) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if req.State.Raw.IsNull() || !req.PlanValue.IsUnknown() {
		return // Create records it.
	}
	var before, after peerModel
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("peer_host"), &before.PeerHost)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("peer_port"), &before.PeerPort)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("peer_host"), &after.PeerHost)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("peer_port"), &after.PeerPort)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.PlanValue = types.StringNull()
	if before.PeerHost.Equal(after.PeerHost) && before.PeerPort.Equal(after.PeerPort) {
		resp.PlanValue = req.StateValue
	}
}
