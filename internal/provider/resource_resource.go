package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

var _ resource.ResourceWithImportState = (*resourceResource)(nil)

// maxConfigBytes bounds drbd_resource's config, in the configuration and as read back from the
// host into the state; real resource files are a few KiB.
const maxConfigBytes = 1 << 20

// resourceResource is the drbd_resource resource.
type resourceResource struct{ remoteBase }

func (r *resourceResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Brings a DRBD resource up on one node and keeps it connected: writes its configuration file " +
			"(optional), creates the metadata only when none exists (and refuses when a backing disk holds a filesystem or any other " +
			"signature; the check reads every volume's backing disk and DRBD's answer in the same command as `create-md`), " +
			"then `drbdadm up`, or `drbdadm adjust` when it is already up, which also reconnects a StandAlone node.\n\n" +
			"A resource found down or StandAlone is drift: it is removed from the state, so the plan proposes to create it " +
			"again, with a warning that names the host and what was seen (down, or StandAlone and whether DRBD reported a " +
			"split brain). After a split brain, DRBD keeps both nodes StandAlone until an operator chooses the node whose " +
			"changes are discarded: set `split_brain_victim` on that node's resource. Destroying it runs `drbdadm down`; " +
			"metadata and data are kept.",
		Attributes: connectionResourceAttributes(growAttributes(map[string]schema.Attribute{
			"name": drbdNameAttribute("DRBD resource name, e.g. `pc0`.", true),
			"config": schema.StringAttribute{
				MarkdownDescription: "Content of `/etc/drbd.d/<name>.res`, written atomically (mode 0600) before the resource is brought up; " +
					"a change is applied with `drbdadm adjust`. Unset leaves the file alone. Sensitive because it usually holds the " +
					"`shared-secret`; it is sent on standard input, never on a command line, but it is stored in the state. " +
					"The file is DRBD configuration read by `drbdadm` as root: its `handlers {}` section names commands that " +
					"DRBD runs as root on the host (on split brain, fencing, resync), so whoever may set `config` may run " +
					"commands as root there; treat it like `reconfigure_command`.",
				Optional:   true,
				Sensitive:  true,
				Validators: []validator.String{nonBlankValidator(), stringvalidator.LengthAtMost(maxConfigBytes)},
			},
			"device": computedString("DRBD device of the resource, e.g. `/dev/drbd0`."),
			"minor": schema.Int64Attribute{
				MarkdownDescription: "DRBD minor number of the device.",
				Computed:            true,
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"split_brain_victim": schema.BoolAttribute{
				MarkdownDescription: "Make this node the victim of a split brain. When DRBD reported a split brain on this node " +
					"(`Split-Brain detected` in its kernel log) and the node is StandAlone, apply reconnects it with " +
					"`drbdadm connect --discard-my-data` (DRBD 8.3: `drbdadm -- --discard-my-data connect`) instead of " +
					"`drbdadm adjust`. **This node's changes since the split brain are thrown away**: it becomes SyncTarget " +
					"and receives those blocks from its peer. Apply refuses, and runs nothing, while this node is Primary: " +
					"unmount its device and demote it first. The connect runs in the command that checks, right before it, " +
					"that the node is still StandAlone and Secondary and still in the split brain seen by the plan's read; " +
					"otherwise nothing runs and the error says what was seen.\n\n" +
					"On a node that is not in split brain it does nothing, so it may stay set until the apply after the " +
					"recovery; remove it then, so that a later split brain does not discard this node's changes unasked. " +
					"Without it, a split-brained node is reconnected plainly and DRBD keeps it StandAlone until a victim is " +
					"chosen, unless the resource's `after-sb-0pri`, `after-sb-1pri` or `after-sb-2pri` policies let DRBD " +
					"discard one node's changes by itself (the provider does not read those policies). When the kernel log " +
					"cannot be read, no split brain is known and this attribute has no effect. Defaults to `false`.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"drbd_version": computedString("Version of the DRBD kernel module on the host, e.g. `8.4.11`."),
		})),
		Blocks: map[string]schema.Block{"timeouts": timeoutsBlock(ctx, r.name())},
	}
}

func (r *resourceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	m, h, name := openResource[resourceResourceModel](ctx, &r.remoteBase, req.Plan.Get, &resp.Diagnostics)
	if h == nil {
		return
	}
	p, written, ok := r.writeAndProbe(ctx, h, name, &m, !m.Config.IsNull(), statusFresh, "Unable to Bring Up DRBD Resource", &resp.Diagnostics)
	if !ok {
		return
	}
	if p, ok = r.converge(ctx, h, &m, name, p, written, &resp.Diagnostics); !ok {
		return
	}
	r.fill(&m, p)
	r.fillSizes(ctx, h, &m, p, name)
	h.save(ctx, &resp.Diagnostics, &resp.State, &m, name.String())
}

// writeAndProbe writes the resource file when write is set (and its content differs), then
// reads the status (of kind); it reports whether it wrote the file and whether both succeeded.
func (r *resourceResource) writeAndProbe(ctx context.Context, h *remoteHost, name drbd.ResourceName, m *resourceResourceModel, write bool,
	kind statusKind, summary string, diags *diag.Diagnostics) (p *drbd.Probe, written, ok bool) {
	if write {
		if written, ok = r.writeConfigIfChanged(ctx, h, name, m.Config.ValueString(), diags); !ok {
			return nil, false, false
		}
	}
	p, ok = h.probe(ctx, diags, summary, name, kind)
	return p, written, ok
}

// fill sets the computed attributes (device, minor, DRBD version) from a probe.
func (r *resourceResource) fill(m *resourceResourceModel, p *drbd.Probe) {
	m.DRBDVersion = types.StringValue(versionString(p.Versions.Kernel))
	m.Device = types.StringValue(p.Device())
	m.Minor = types.Int64Value(int64(p.Status.Minor))
	if m.PeerHost.IsNull() || m.PeerHostFingerprint.IsUnknown() {
		m.PeerHostFingerprint = types.StringNull()
	}
}

func (r *resourceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	m, h, name, p := readResource[resourceResourceModel](ctx, &r.remoteBase, req.State.Get, "Unable to Read DRBD Resource", &resp.Diagnostics)
	if p == nil {
		return
	}
	// Drift means the step is gone: a resource that is down, or up but StandAlone, is removed
	// from the state so that the plan brings it up and connects it again.
	switch {
	case !p.Status.Configured:
		driftWarning(&resp.Diagnostics, h, "DRBD resource %s on %s is down (not configured in the kernel): the next apply brings it up.", name, h)
		resp.State.RemoveResource(ctx)
		return
	case drbd.StandAlone(p.Status):
		driftWarning(&resp.Diagnostics, h, "%s", standAloneDrift(h, name, p))
		resp.State.RemoveResource(ctx)
		return
	}
	r.fill(&m, p)
	if !m.Config.IsNull() {
		content, exists, ok := h.readFile(ctx, &resp.Diagnostics, "Unable to Read DRBD Configuration", name.ConfigFile())
		if !ok {
			return
		}
		switch {
		case !exists:
			m.Config = types.StringNull()
		case len(content) > maxConfigBytes:
			resp.Diagnostics.AddError("DRBD Configuration File Too Large", fmt.Sprintf("%s on %s holds %d bytes, more than "+
				"the 1 MiB a drbd_resource config may have, so it was not read into the state. Check who wrote it; the next "+
				"apply replaces it with the configured config.", name.ConfigFile(), h, len(content)))
			return
		default:
			m.Config = types.StringValue(content)
		}
	}
	if m.SplitBrainVictim.IsNull() {
		m.SplitBrainVictim = types.BoolValue(false)
	}
	v := growVerdict{}
	if sizes := r.fillSizes(ctx, h, &m, p, name); sizes != nil {
		v = r.verdict(ctx, h, &m, name, sizes, &resp.Diagnostics)
	}
	setVerdict(ctx, resp.Private, v, &resp.Diagnostics)
	h.save(ctx, &resp.Diagnostics, &resp.State, &m, name.String())
}

func (r *resourceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	m, h, name := openResource[resourceResourceModel](ctx, &r.remoteBase, req.Plan.Get, &resp.Diagnostics)
	if h == nil {
		return
	}
	var priorConfig types.String
	if resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("config"), &priorConfig)...); resp.Diagnostics.HasError() {
		return
	}
	configChanged := !m.Config.IsNull() && !m.Config.Equal(priorConfig)
	// An unknown size is the plan's grow (ModifyPlan). Without a configuration change the
	// Update's read is the grow's: made under the grow lock, with the sizes.
	growing := m.Size.IsUnknown()
	var unlock func()
	kind := statusFresh
	if growing && !configChanged {
		unlock, kind = growLocks.lock(name.String()), statusKind{sizes: true}
	}
	p, written, ok := r.writeAndProbe(ctx, h, name, &m, configChanged, kind, "Unable to Update DRBD Resource", &resp.Diagnostics)
	if !ok {
		if unlock != nil {
			unlock()
		}
		return
	}
	// A changed file is applied; a resource that went down or StandAlone since the refresh (or
	// with -refresh=false) is brought up and connected as Create does. Changing only
	// split_brain_victim runs nothing else.
	if configChanged || !p.Status.Configured || drbd.StandAlone(p.Status) {
		if unlock != nil {
			unlock()
			unlock = nil
		}
		if p, ok = r.converge(ctx, h, &m, name, p, written, &resp.Diagnostics); !ok {
			return
		}
	}
	switch {
	case growing && p.Status.Configured:
		if p, ok = r.grow(ctx, h, &m, name, p, unlock, &resp.Diagnostics); !ok {
			return
		}
	case unlock != nil:
		unlock()
	}
	r.fill(&m, p)
	r.fillSizes(ctx, h, &m, p, name)
	setVerdict(ctx, resp.Private, growVerdict{}, &resp.Diagnostics)
	h.save(ctx, &resp.Diagnostics, &resp.State, &m, name.String())
}

// undoneOnDestroy says what Delete would have done on the host, for the warning of a
// destroy on a fenced host.
func (*resourceResource) undoneOnDestroy() string {
	return "`drbdadm down` was not run"
}

func (r *resourceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	_, h, name := openResource[resourceResourceModel](ctx, &r.remoteBase, req.State.Get, &resp.Diagnostics)
	if h == nil {
		return
	}
	const summary = "Unable to Take Down DRBD Resource"
	p, ok := h.probe(ctx, &resp.Diagnostics, summary, name, statusFresh)
	if !ok {
		return
	}
	if !p.Status.Configured {
		return
	}
	h.run(ctx, &resp.Diagnostics, summary, drbd.NewCommands(p.Versions).Down(name), withHint("DRBD refuses to go down while its device is open (mounted or in use). Destroy or unmount what uses it first; "+
		"metadata and data on the backing disk are kept either way."))
}

func (r *resourceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if id, ok := importResourceID(req.ID, &resp.Diagnostics); ok {
		importState(ctx, resp, id, map[string]attr.Value{"name": types.StringValue(id.Rest)})
	}
}
