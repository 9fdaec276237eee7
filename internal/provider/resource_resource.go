package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/hostfs"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

var (
	_ resource.ResourceWithConfigure   = (*resourceResource)(nil)
	_ resource.ResourceWithImportState = (*resourceResource)(nil)
)

// NewResourceResource returns the drbd_resource resource.
func NewResourceResource() resource.Resource {
	return &resourceResource{}
}

type resourceResource struct {
	remoteBase
}

type resourceResourceModel struct {
	connectionModel
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	Config      types.String `tfsdk:"config"`
	Device      types.String `tfsdk:"device"`
	Minor       types.Int64  `tfsdk:"minor"`
	DRBDVersion types.String `tfsdk:"drbd_version"`
	// SplitBrainVictim makes apply reconnect a split-brained StandAlone node with --discard-my-data.
	SplitBrainVictim types.Bool `tfsdk:"split_brain_victim"`
}

func (r *resourceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_resource"
}

func (r *resourceResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Brings a DRBD resource up on one node and keeps it connected: writes its configuration file " +
			"(optional), creates the metadata only when none exists (and refuses when the backing disk holds a filesystem), " +
			"then `drbdadm up`, or `drbdadm adjust` when it is already up, which also reconnects a StandAlone node.\n\n" +
			"A resource found down or StandAlone is drift: it is removed from the state, so the plan proposes to create it " +
			"again, with a warning that names the host and what was seen (down, or StandAlone and whether DRBD reported a " +
			"split brain). After a split brain, DRBD keeps both nodes StandAlone until an operator chooses the node whose " +
			"changes are discarded: set `split_brain_victim` on that node's resource. Destroying it runs `drbdadm down`; " +
			"metadata and data are kept.",
		Attributes: connectionResourceAttributes(map[string]schema.Attribute{
			"name": schema.StringAttribute{
				MarkdownDescription: "DRBD resource name, e.g. `pc0`.",
				Required:            true,
				Validators:          []validator.String{drbdNameValidator()},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"config": schema.StringAttribute{
				MarkdownDescription: "Content of `/etc/drbd.d/<name>.res`, written atomically (mode 0600) before the resource is brought up; " +
					"a change is applied with `drbdadm adjust`. Unset leaves the file alone. Sensitive because it usually holds the " +
					"`shared-secret`; it is sent on standard input, never on a command line, but it is stored in the state.",
				Optional:   true,
				Sensitive:  true,
				Validators: []validator.String{nonBlankValidator()},
			},
			"device": schema.StringAttribute{
				MarkdownDescription: "DRBD device of the resource, e.g. `/dev/drbd0`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
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
					"unmount its device and demote it first.\n\n" +
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
			"drbd_version": schema.StringAttribute{
				MarkdownDescription: "Version of the DRBD kernel module on the host, e.g. `8.4.11`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		}),
	}
}

// configPath is where drbd_resource writes a resource's configuration.
func configPath(name string) string { return "/etc/drbd.d/" + name + ".res" }

func (r *resourceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m resourceResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	h := r.host(m.connectionModel, &resp.Diagnostics)
	if h == nil {
		return
	}
	const summary = "Unable to Bring Up DRBD Resource"
	name := m.Name.ValueString()
	written := false
	if !m.Config.IsNull() {
		var ok bool
		if written, ok = r.writeConfigIfChanged(ctx, h, name, m.Config.ValueString(), &resp.Diagnostics); !ok {
			return
		}
	}
	p, ok := h.probe(ctx, &resp.Diagnostics, summary, name)
	if !ok {
		return
	}
	if p, ok = r.converge(ctx, h, &m, p, written, &resp.Diagnostics); !ok {
		return
	}
	r.fill(&m, p)
	m.ID = types.StringValue(formatID(m.connectionModel, name))
	h.recordFingerprint(ctx, &m.connectionModel, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// standAlone reports whether the probed resource is up and StandAlone.
func standAlone(s drbd.Status) bool {
	return s.Configured && s.ConnectionState == drbd.ConnStandAlone
}

// converge brings the probed resource up and connected and returns the status read afterwards:
// create-md where no metadata exists, then `drbdadm up`, or `drbdadm adjust` on a resource that
// is up (adjust also reconnects a StandAlone node). A StandAlone node that DRBD reported in split
// brain is reconnected with --discard-my-data instead when it is the split-brain victim, and
// plainly, with a warning, when it is not. configWritten says the resource file was just
// rewritten.
func (r *resourceResource) converge(ctx context.Context, h *remoteHost, m *resourceResourceModel, p *drbd.Probe,
	configWritten bool, diags *diag.Diagnostics) (*drbd.Probe, bool) {
	const summary = "Unable to Bring Up DRBD Resource"
	name := m.Name.ValueString()
	cmds := drbd.NewCommands(p.Versions)
	st := p.Status
	if standAlone(st) && st.SplitBrain && m.SplitBrainVictim.ValueBool() {
		if !r.reconnectVictim(ctx, h, cmds, p, name, configWritten, diags) {
			return nil, false
		}
		return h.probe(ctx, diags, summary, name)
	}
	if p.Metadata == drbd.MetadataAbsent && !st.Configured {
		if !r.createMetadata(ctx, h, cmds, name, diags) {
			return nil, false
		}
	}
	var cmd string
	var err error
	if st.Configured {
		cmd, err = cmds.Adjust(name)
	} else {
		cmd, err = cmds.Up(name)
	}
	if err != nil {
		diags.AddError(summary, err.Error())
		return nil, false
	}
	if _, ok := h.run(ctx, diags, summary, cmd); !ok {
		return nil, false
	}
	if standAlone(st) {
		tflog.Info(ctx, "reconnected a StandAlone DRBD resource", map[string]any{"host": h.String(), "resource": name,
			"split_brain": st.SplitBrain, "split_brain_unknown": st.SplitBrainUnknown})
		warnPlainReconnect(h, name, cmd, st, m.SplitBrainVictim.ValueBool(), diags)
	}
	return h.probe(ctx, diags, summary, name)
}

// afterSBCaution is the part of the split-brain warnings about DRBD's automatic recovery
// policies, which the provider does not read.
const afterSBCaution = "DRBD resolves the split brain by itself instead when the resource's after-sb-0pri, " +
	"after-sb-1pri or after-sb-2pri policies allow it (for example `after-sb-1pri discard-secondary`): on the " +
	"reconnect it throws away the changes of the node the policy picks. The provider does not read those policies; " +
	"check the resource file on both nodes."

// warnPlainReconnect warns after a StandAlone node that may be in split brain was reconnected
// without --discard-my-data.
func warnPlainReconnect(h *remoteHost, name, cmd string, st drbd.Status, victim bool, diags *diag.Diagnostics) {
	switch {
	case st.SplitBrain:
		diags.AddWarning("Split Brain Not Resolved on "+h.String(), fmt.Sprintf(
			"DRBD resource %s on %s was StandAlone after a split brain DRBD reported, and it was reconnected plainly "+
				"(`%s`). When its peer connects, DRBD detects the split brain again and drops the connection: both nodes "+
				"stay StandAlone until a victim is chosen. Set split_brain_victim = true on the drbd_resource of the node "+
				"whose changes since the split brain are to be discarded, and apply again.\n\n%s",
			name, h, cmd, afterSBCaution))
	case st.SplitBrainUnknown:
		ignored := ""
		if victim {
			ignored = " split_brain_victim = true was ignored: the provider discards a node's changes only when DRBD itself reported the split brain."
		}
		diags.AddWarning("Split Brain Unknown on "+h.String(), fmt.Sprintf(
			"DRBD resource %s on %s was StandAlone and its kernel log could not be read, so it is unknown whether DRBD "+
				"reported a split brain; it was reconnected plainly (`%s`). If it was a split brain, DRBD drops the "+
				"connection again and the node stays StandAlone.%s\n\n%s",
			name, h, cmd, ignored, afterSBCaution))
	}
}

// reconnectVictim reconnects a StandAlone split-brain victim with --discard-my-data, unless it is
// Primary.
func (r *resourceResource) reconnectVictim(ctx context.Context, h *remoteHost, cmds drbd.Commands, p *drbd.Probe, name string,
	configWritten bool, diags *diag.Diagnostics) bool {
	if p.Status.Role == drbd.RolePrimary {
		diags.AddError("Refusing to Discard the Changes of a Primary DRBD Node", primaryVictimDetail(ctx, h, p, name))
		return false
	}
	const summary = "Unable to Reconnect DRBD Split-Brain Victim"
	cmd, err := cmds.ConnectDiscardMyData(name)
	if err != nil {
		diags.AddError(summary, err.Error())
		return false
	}
	if _, ok := h.run(ctx, diags, summary, cmd); !ok {
		return false
	}
	tflog.Warn(ctx, "reconnected a split-brain victim with --discard-my-data", map[string]any{"host": h.String(), "resource": name})
	detail := fmt.Sprintf("DRBD resource %s on %s was StandAlone after a split brain DRBD reported, and split_brain_victim "+
		"is true: it was reconnected with `%s`. When its peer connects, DRBD throws away this node's changes since the "+
		"split brain and resyncs those blocks from the peer (this node is SyncTarget). If the peer is StandAlone too, "+
		"reconnect it: apply its drbd_resource, or run `drbdadm connect %s` there.\n\n"+
		"Remove split_brain_victim once the pair is Connected again, so that a later split brain does not discard this "+
		"node's changes unasked.", name, h, cmd, name)
	if configWritten {
		detail += fmt.Sprintf("\n\n%s was rewritten but not applied: `drbdadm adjust` would have reconnected without "+
			"--discard-my-data. Run `drbdadm adjust %s` on %s once the resync has finished.", configPath(name), name, h)
	}
	diags.AddWarning("Discarding Split-Brain Changes on "+h.String(), detail)
	return true
}

// primaryVictimDetail explains why a Primary split-brain victim is not reconnected, naming the
// device and, when findmnt can tell, where it is mounted.
func primaryVictimDetail(ctx context.Context, h *remoteHost, p *drbd.Probe, name string) string {
	dev := p.Device()
	what := "its DRBD device"
	if dev != "" {
		what = dev
		if mounts := mountpointsOf(ctx, h, dev); len(mounts) > 0 {
			what = fmt.Sprintf("%s (mounted on %s)", dev, strings.Join(mounts, ", "))
		}
	}
	return fmt.Sprintf("DRBD resource %s on %s is StandAlone after a split brain DRBD reported, and split_brain_victim = true "+
		"asks to discard this node's changes, but this node is Primary: DRBD does not make a Primary the SyncTarget of "+
		"its peer, and the data would change under whatever uses %s. Nothing was run.\n\n"+
		"To make this node the victim, stop what uses it, unmount %s and demote the node (`drbdadm secondary %s`, or "+
		"destroy its drbd_filesystem and drbd_primary), then apply again. To keep this node's changes instead, set "+
		"split_brain_victim = true on its peer's drbd_resource and remove it here.", name, h, what, what, name)
}

// mountpointsOf lists where dev is mounted on h (findmnt --source); nil when it is not mounted or
// cannot be told. It only reads.
func mountpointsOf(ctx context.Context, h *remoteHost, dev string) []string {
	if drbd.ValidateDevice(dev) != nil {
		return nil
	}
	res, err := h.exec(ctx, sshx.Command{Cmd: hostfs.MountTargetsCommand(dev)})
	if err != nil || res.ExitCode != 0 {
		return nil
	}
	var out []string
	for _, l := range strings.Split(res.Stdout, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, strings.ReplaceAll(l, `\x20`, " "))
		}
	}
	return out
}

// standAloneDrift is Read's drift warning for a StandAlone resource: why DRBD left it so, and
// what the next apply does about it. Read sees the state, not the configuration, so it names
// both outcomes of split_brain_victim.
func standAloneDrift(h *remoteHost, name string, p *drbd.Probe) string {
	st := p.Status
	msg := fmt.Sprintf("DRBD resource %s on %s is StandAlone: %s.", name, h, drbd.StandAloneReason(st))
	switch {
	case st.SplitBrain:
		primary := ""
		if st.Role == drbd.RolePrimary {
			dev := p.Device()
			if dev == "" {
				dev = "its DRBD device"
			}
			primary = fmt.Sprintf(", except that this node is Primary: the apply refuses, and runs nothing, until %s is "+
				"unmounted and the node demoted (`drbdadm secondary %s`)", dev, name)
		}
		return msg + " The next apply reconnects it. Where split_brain_victim = true, it reconnects with --discard-my-data: " +
			"this node's changes since the split brain are thrown away and it resyncs them from its peer as SyncTarget" +
			primary + ". Otherwise it reconnects plainly, and DRBD will detect the split brain again and keep it " +
			"StandAlone until a victim is chosen: set split_brain_victim = true on the drbd_resource of the node whose " +
			"changes are to be discarded.\n\n" + afterSBCaution
	case st.SplitBrainUnknown:
		return msg + " The next apply reconnects it plainly (split_brain_victim has no effect while no split brain is known)." +
			"\n\n" + afterSBCaution
	default:
		return msg + " The next apply reconnects it."
	}
}

// createMetadata runs create-md after checking that the backing disk carries no filesystem.
func (r *resourceResource) createMetadata(ctx context.Context, h *remoteHost, cmds drbd.Commands, name string, diags *diag.Diagnostics) bool {
	const summary = "Unable to Create DRBD Metadata"
	llCmd, err := cmds.ShLLDev(name)
	if err != nil {
		diags.AddError(summary, err.Error())
		return false
	}
	res, ok := h.run(ctx, diags, summary, llCmd)
	if !ok {
		return false
	}
	disks := strings.Fields(res.Stdout)
	if len(disks) == 0 {
		diags.AddError(summary, fmt.Sprintf("`drbdadm sh-ll-dev %s` on %s named no backing disk.", name, h))
		return false
	}
	for _, disk := range disks {
		sig, ok := probeSignature(ctx, h, disk, diags, summary)
		if !ok {
			return false
		}
		if !sig.Empty() {
			diags.AddError("Refusing to Create DRBD Metadata",
				fmt.Sprintf("The backing disk %s of DRBD resource %q on %s carries a %s signature (%s). "+
					"Creating internal metadata on it could destroy that data, so nothing was changed.\n\n"+
					"If the disk really is disposable, wipe it by hand (for example `wipefs -a %s`) and apply again.",
					disk, name, h, sig.Describe(), sig.Raw, disk))
			return false
		}
	}
	cmd, err := cmds.CreateMD(name)
	if err != nil {
		diags.AddError(summary, err.Error())
		return false
	}
	_, ok = h.run(ctx, diags, summary, cmd)
	return ok
}

// writeConfigIfChanged writes the resource file atomically when its content differs, and reports
// whether it wrote it and whether it succeeded.
func (r *resourceResource) writeConfigIfChanged(ctx context.Context, h *remoteHost, name, content string, diags *diag.Diagnostics) (written, ok bool) {
	current, exists, ok := readRemoteFile(ctx, h, configPath(name), diags, "Unable to Read DRBD Configuration")
	if !ok {
		return false, false
	}
	if exists && current == content {
		return false, true
	}
	dst := configPath(name)
	_, ok = h.runCommand(ctx, diags, "Unable to Write DRBD Configuration",
		sshx.Command{Cmd: hostfs.WriteFileCommand(dst, "600"), Stdin: strings.NewReader(content)}, "")
	if ok {
		tflog.Info(ctx, "wrote DRBD resource configuration", map[string]any{"host": h.String(), "path": dst})
	}
	return ok, ok
}

// readRemoteFile returns a remote file's content and whether it exists.
func readRemoteFile(ctx context.Context, h *remoteHost, file string, diags *diag.Diagnostics, summary string) (string, bool, bool) {
	res, ok := h.run(ctx, diags, summary, hostfs.ReadFileCommand(file), 0, hostfs.FileMissingExit)
	if !ok {
		return "", false, false
	}
	return res.Stdout, res.ExitCode == 0, true
}

func (r *resourceResource) fill(m *resourceResourceModel, p *drbd.Probe) {
	m.DRBDVersion = types.StringValue(versionString(p.Versions.Kernel))
	m.Device = types.StringValue(p.Device())
	m.Minor = types.Int64Value(int64(p.Status.Minor))
}

func (r *resourceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m resourceResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	h := r.host(m.connectionModel, &resp.Diagnostics)
	if h == nil {
		return
	}
	name := m.Name.ValueString()
	p, ok := h.probeForRead(ctx, &resp.Diagnostics, "Unable to Read DRBD Resource", name)
	if !ok {
		return
	}
	// Drift means the step is gone: a resource that is down, or up but StandAlone, is removed
	// from the state so that the plan brings it up and connects it again.
	switch {
	case !p.Status.Configured:
		driftWarning(&resp.Diagnostics, h, "DRBD resource %s on %s is down (not configured in the kernel): the next apply brings it up.", name, h)
		resp.State.RemoveResource(ctx)
		return
	case standAlone(p.Status):
		driftWarning(&resp.Diagnostics, h, "%s", standAloneDrift(h, name, p))
		resp.State.RemoveResource(ctx)
		return
	}
	r.fill(&m, p)
	if !m.Config.IsNull() {
		content, exists, ok := readRemoteFile(ctx, h, configPath(name), &resp.Diagnostics, "Unable to Read DRBD Configuration")
		if !ok {
			return
		}
		if !exists {
			m.Config = types.StringNull()
		} else {
			m.Config = types.StringValue(content)
		}
	}
	if m.SplitBrainVictim.IsNull() {
		m.SplitBrainVictim = types.BoolValue(false)
	}
	m.ID = types.StringValue(formatID(m.connectionModel, name))
	h.recordFingerprint(ctx, &m.connectionModel, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *resourceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m, prior resourceResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	h := r.host(m.connectionModel, &resp.Diagnostics)
	if h == nil {
		return
	}
	name := m.Name.ValueString()
	const summary = "Unable to Update DRBD Resource"
	written := false
	configChanged := !m.Config.IsNull() && !m.Config.Equal(prior.Config)
	if configChanged {
		var ok bool
		if written, ok = r.writeConfigIfChanged(ctx, h, name, m.Config.ValueString(), &resp.Diagnostics); !ok {
			return
		}
	}
	p, ok := h.probe(ctx, &resp.Diagnostics, summary, name)
	if !ok {
		return
	}
	// A changed file is applied; a resource that went down or StandAlone since the refresh (or
	// with -refresh=false) is brought up and connected as Create does. Changing only
	// split_brain_victim runs nothing else.
	if configChanged || !p.Status.Configured || standAlone(p.Status) {
		if p, ok = r.converge(ctx, h, &m, p, written, &resp.Diagnostics); !ok {
			return
		}
	}
	r.fill(&m, p)
	m.ID = types.StringValue(formatID(m.connectionModel, name))
	h.recordFingerprint(ctx, &m.connectionModel, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *resourceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m resourceResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	h := r.host(m.connectionModel, &resp.Diagnostics)
	if h == nil {
		return
	}
	const summary = "Unable to Take Down DRBD Resource"
	name := m.Name.ValueString()
	p, ok := h.probe(ctx, &resp.Diagnostics, summary, name)
	if !ok {
		return
	}
	if !p.Status.Configured {
		return
	}
	cmd, err := drbd.NewCommands(p.Versions).Down(name)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	h.runCommand(ctx, &resp.Diagnostics, summary, sshx.Command{Cmd: cmd},
		"DRBD refuses to go down while its device is open (mounted or in use). Destroy or unmount what uses it first; "+
			"metadata and data on the backing disk are kept either way.")
}

func (r *resourceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id, ok := importResourceID(req.ID, &resp.Diagnostics)
	if !ok {
		return
	}
	m := resourceResourceModel{
		connectionModel:  connectionFromImport(id),
		ID:               types.StringValue(req.ID),
		Name:             types.StringValue(id.Rest),
		Config:           types.StringNull(),
		Device:           types.StringUnknown(),
		Minor:            types.Int64Unknown(),
		DRBDVersion:      types.StringUnknown(),
		SplitBrainVictim: types.BoolValue(false),
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), formatID(m.connectionModel, id.Rest))...)
}
