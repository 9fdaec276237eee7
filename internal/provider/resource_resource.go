package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
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
}

func (r *resourceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_resource"
}

func (r *resourceResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Brings a DRBD resource up on one node: writes its configuration file (optional), " +
			"creates the metadata only when none exists (and refuses when the backing disk holds a filesystem), " +
			"then `drbdadm up`, or `drbdadm adjust` when it is already up. Destroying it runs `drbdadm down`; " +
			"metadata and data are kept.",
		Attributes: connectionResourceAttributes(map[string]schema.Attribute{
			"name": schema.StringAttribute{
				MarkdownDescription: "DRBD resource name, e.g. `pc0`.",
				Required:            true,
				Validators:          []validator.String{drbdNameValidator{}},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"config": schema.StringAttribute{
				MarkdownDescription: "Content of `/etc/drbd.d/<name>.res`, written atomically (mode 0600) before the resource is brought up; " +
					"a change is applied with `drbdadm adjust`. Unset leaves the file alone. Sensitive because it usually holds the " +
					"`shared-secret`; it is sent on standard input, never on a command line, but it is stored in the state.",
				Optional:   true,
				Sensitive:  true,
				Validators: []validator.String{nonBlankValidator{}},
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
	if !m.Config.IsNull() {
		if !r.writeConfigIfChanged(ctx, h, name, m.Config.ValueString(), &resp.Diagnostics) {
			return
		}
	}
	p, ok := h.probe(ctx, &resp.Diagnostics, summary, name)
	if !ok {
		return
	}
	cmds := drbd.NewCommands(p.Versions)
	if p.Metadata == drbd.MetadataAbsent && !p.Status.Configured {
		if !r.createMetadata(ctx, h, cmds, name, &resp.Diagnostics) {
			return
		}
	}
	var cmd string
	var err error
	if p.Status.Configured {
		cmd, err = cmds.Adjust(name)
	} else {
		cmd, err = cmds.Up(name)
	}
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if _, ok := h.run(ctx, &resp.Diagnostics, summary, cmd); !ok {
		return
	}
	p, ok = h.probe(ctx, &resp.Diagnostics, summary, name)
	if !ok {
		return
	}
	r.fill(&m, p)
	m.ID = types.StringValue(formatID(m.connectionModel, name))
	h.recordFingerprint(ctx, &m.connectionModel, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// createMetadata runs create-md after checking that the backing disk carries no filesystem.
func (r *resourceResource) createMetadata(ctx context.Context, h *remoteHost, cmds drbd.Commands, name string, diags *diag.Diagnostics) bool {
	const summary = "Unable to Create DRBD Metadata"
	res, ok := h.run(ctx, diags, summary, sshx.Join("drbdadm", "sh-ll-dev", name))
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

// writeConfigIfChanged writes the resource file atomically when its content differs.
func (r *resourceResource) writeConfigIfChanged(ctx context.Context, h *remoteHost, name, content string, diags *diag.Diagnostics) bool {
	current, exists, ok := readRemoteFile(ctx, h, configPath(name), diags, "Unable to Read DRBD Configuration")
	if !ok {
		return false
	}
	if exists && current == content {
		return true
	}
	dst := configPath(name)
	tmp := "/etc/drbd.d/." + name + ".res.terraform-tmp"
	cmd := "mkdir -p /etc/drbd.d && cat > " + sshx.Quote(tmp) + " && chmod 600 " + sshx.Quote(tmp) +
		" && mv -f " + sshx.Quote(tmp) + " " + sshx.Quote(dst)
	_, ok = h.runCommand(ctx, diags, "Unable to Write DRBD Configuration",
		sshx.Command{Cmd: cmd, Stdin: strings.NewReader(content)}, "")
	if ok {
		tflog.Info(ctx, "wrote DRBD resource configuration", map[string]any{"host": h.String(), "path": dst})
	}
	return ok
}

// readRemoteFile returns a remote file's content and whether it exists.
func readRemoteFile(ctx context.Context, h *remoteHost, file string, diags *diag.Diagnostics, summary string) (string, bool, bool) {
	cmd := "if test -e " + sshx.Quote(file) + "; then cat " + sshx.Quote(file) + "; else exit 3; fi"
	res, ok := h.run(ctx, diags, summary, cmd, 0, 3)
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
	p, ok := h.probe(ctx, &resp.Diagnostics, "Unable to Read DRBD Resource", name)
	if !ok {
		return
	}
	if !p.Status.Configured {
		tflog.Warn(ctx, "DRBD resource is no longer up; removing it from state so the next apply brings it up",
			map[string]any{"host": h.String(), "resource": name})
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
	if !m.Config.IsNull() && !m.Config.Equal(prior.Config) {
		if !r.writeConfigIfChanged(ctx, h, name, m.Config.ValueString(), &resp.Diagnostics) {
			return
		}
		p, ok := h.probe(ctx, &resp.Diagnostics, summary, name)
		if !ok {
			return
		}
		cmd, err := drbd.NewCommands(p.Versions).Adjust(name)
		if err != nil {
			resp.Diagnostics.AddError(summary, err.Error())
			return
		}
		if _, ok := h.run(ctx, &resp.Diagnostics, summary, cmd); !ok {
			return
		}
	}
	p, ok := h.probe(ctx, &resp.Diagnostics, summary, name)
	if !ok {
		return
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
		connectionModel: connectionFromImport(id),
		ID:              types.StringValue(req.ID),
		Name:            types.StringValue(id.Rest),
		Config:          types.StringNull(),
		Device:          types.StringUnknown(),
		Minor:           types.Int64Unknown(),
		DRBDVersion:     types.StringUnknown(),
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), formatID(m.connectionModel, id.Rest))...)
}
