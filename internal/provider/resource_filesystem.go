package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/hostfs"
)

var _ resource.ResourceWithImportState = (*filesystemResource)(nil)

// Defaults of drbd_filesystem, from the Chef HA runbook.
const (
	defaultDevice     = "/dev/drbd0"
	defaultMountpoint = "/var/opt/opscode/drbd/data"
	defaultFSType     = "ext4"
)

// filesystemResource is the drbd_filesystem resource. Only mkfs_options (used at creation) and
// grow_triggers can change in place; Update runs nothing on the host but the online grow.
type filesystemResource struct {
	remoteBase
}

func (r *filesystemResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Creates a filesystem on the DRBD device of the Primary and mounts it. `mkfs` runs only when " +
			"the device is Primary and carries no signature at all (`blkid -p`), both read in the same command as `mkfs`, " +
			"and is never forced; the mount runs only on a free mountpoint that is its own canonical path (no symbolic link " +
			"on the way), in the command that checks the filesystem. An existing filesystem of the same type is reused and one " +
			"of another type (or any other signature) is an error, never overwritten. Destroying it unmounts only: data is never wiped. " +
			"When the unmount fails because the filesystem is busy, the error names the processes using it (`fuser -vm`, or " +
			"`/proc` on hosts without psmisc); for Chef Server, set `stop_command` on `drbd_chef_backend_ready` so its services " +
			"stop before the unmount. `terraform plan` warns and plans a new mount when the filesystem is no longer mounted there.",
		Attributes: connectionResourceAttributes(filesystemGrowAttributes(map[string]schema.Attribute{
			"device": schema.StringAttribute{
				MarkdownDescription: "DRBD device to format and mount: `/dev/drbdN`, or a link DRBD's udev rules make to it, " +
					"`/dev/drbd/by-res/RESOURCE[/VOLUME]` or `/dev/drbd/by-disk/DISK`; any other device is refused at plan time. " +
					"Defaults to the device of `resource` (`drbdadm sh-dev`), or `/dev/drbd0`.",
				Optional: true,
				Computed: true,
				Validators: []validator.String{absPathValidator(), drbdDeviceValidator(),
					stringvalidator.ConflictsWith(path.MatchRoot("resource"))},
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplaceIfConfigured()},
			},
			"resource": drbdNameAttribute("DRBD resource whose device is used (looked up with `drbdadm sh-dev`).", false),
			"fs_type": schema.StringAttribute{
				MarkdownDescription: "Filesystem type: `ext4` (default) or `xfs`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(defaultFSType),
				Validators:          []validator.String{stringvalidator.OneOf(hostfs.FSTypes...)},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"mkfs_options": schema.StringAttribute{
				MarkdownDescription: "Extra `mkfs` options, white-space separated, e.g. `-E nodiscard` or `-L chef -m 0`. Used only when a filesystem is created; changing it later changes nothing on the host. " +
					"Options that force mkfs (`-f`, `-F`, `--force`, or a group of short flags holding one, such as `-qF`) are refused at plan time: " +
					"mkfs's own refusal to overwrite a filesystem is a second guard behind the blank-device check. Write a value holding `f` or `F` as a word of its own (`-L chef`, not `-Lchef`).",
				Optional:   true,
				Validators: []validator.String{mkfsOptionsValidator()},
			},
			"mountpoint": schema.StringAttribute{
				MarkdownDescription: "Where the filesystem is mounted (created with `mkdir -p`). Defaults to `/var/opt/opscode/drbd/data`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(defaultMountpoint),
				Validators:          []validator.String{absPathValidator()},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"mount_options": schema.StringAttribute{
				MarkdownDescription: "Comma-separated `mount -o` options, e.g. `noatime`. Changing them remounts (unmount, mount).",
				Optional:            true,
				Validators:          []validator.String{mountOptionsValidator()},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"uuid": computedString("UUID of the filesystem."),
		})),
		Blocks: map[string]schema.Block{"timeouts": timeoutsBlock(ctx, r.name())},
	}
}

func (r *filesystemResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	m, h := openHost[filesystemResourceModel](ctx, &r.remoteBase, req.Plan.Get, &resp.Diagnostics)
	if h == nil {
		return
	}
	const summary = "Unable to Create DRBD Filesystem"
	dev, ok := r.resolveDevice(ctx, h, &m, &resp.Diagnostics)
	if !ok {
		return
	}
	m.Device = types.StringValue(dev)
	fsType, mp := m.FSType.ValueString(), m.Mountpoint.ValueString()
	// The usual case (a switchover) mounts in the round trip that reads the state; any other
	// state is decided below from what that read saw.
	fp, mounted, ok := h.mountIfFormatted(ctx, &resp.Diagnostics, summary, &m)
	if !ok {
		return
	}
	if mounted {
		m.UUID = types.StringValue(fp.Signature.UUID)
		h.save(ctx, &resp.Diagnostics, &resp.State, &m, mp)
		return
	}
	if fp.Mounted && (fp.Mount.Source != dev || fp.Mount.FSType != fsType) {
		resp.Diagnostics.AddAttributeError(path.Root("mountpoint"), summary,
			fmt.Sprintf("%s on %s already has %s (%s) mounted, not %s (%s). Nothing was changed.", mp, h, fp.Mount.Source, fp.Mount.FSType, dev, fsType))
		return
	}
	switch {
	case fp.SigErr != nil:
		hint := ""
		if errors.Is(fp.SigErr, hostfs.ErrUnreadable) {
			hint = " A DRBD device can only be opened on the Primary: make this resource depend on the drbd_primary of the same host."
		}
		resp.Diagnostics.AddError(summary, fmt.Sprintf("%s on %s could not be probed for an existing filesystem, so nothing was changed: %s.%s", dev, h, fp.SigErr, hint))
		return
	case fp.Signature.Empty():
		if !h.mkfsIfBlank(ctx, &resp.Diagnostics, summary, &m) {
			return
		}
	case fp.Signature.Type != fsType:
		resp.Diagnostics.AddAttributeError(path.Root("fs_type"), "Refusing to Overwrite Existing Data",
			fmt.Sprintf("%s on %s already carries a %s signature, not %s. It is never reformatted by this provider.\n\n"+
				"Set fs_type = %q to use it, or wipe the device by hand if its data is really disposable.", dev, h, fp.Signature.Describe(), fsType, fp.Signature.Type))
		return
	default:
		tflog.Info(ctx, "device already carries the filesystem; not formatting", map[string]any{"host": h.String(), "device": dev, "uuid": fp.Signature.UUID})
	}
	if !fp.Mounted {
		// The same checked mount as above: only a filesystem of the type, on a free, canonical
		// mountpoint.
		if fp, mounted, ok = h.mountIfFormatted(ctx, &resp.Diagnostics, summary, &m); !ok {
			return
		}
		if !mounted && (!fp.Mounted || fp.Mount.Source != dev || fp.Mount.FSType != fsType) {
			resp.Diagnostics.AddAttributeError(path.Root("mountpoint"), summary, fmt.Sprintf(
				"%s on %s was not mounted on %s: the mount runs only when the device carries exactly a %s filesystem and "+
					"%s is a free directory that is its own canonical path (no symbolic link on the way). Seen: %s signature "+
					"on the device, %s. No data was changed.", dev, h, mp, fsType, mp, fp.Signature.Describe(), describeMount(fp)))
			return
		}
	}
	m.UUID = types.StringValue(fp.Signature.UUID)
	if !mounted { // mounted already (adopted): the mount's round trip read no sizes
		fillFSSize(ctx, h, &m, nil)
	}
	h.save(ctx, &resp.Diagnostics, &resp.State, &m, mp)
}

// describeMount says what fsState or mountIfFormatted saw mounted at the mountpoint.
func describeMount(fp hostfs.State) string {
	if !fp.Mounted {
		return "nothing mounted there"
	}
	return fmt.Sprintf("%s (%s) mounted there", fp.Mount.Source, fp.Mount.FSType)
}

func (r *filesystemResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	m, h := openHost[filesystemResourceModel](ctx, &r.remoteBase, req.State.Get, &resp.Diagnostics)
	if h == nil {
		return
	}
	mp := m.Mountpoint.ValueString()
	dev := m.Device.ValueString()
	if m.Device.IsUnknown() || dev == "" { // after import
		var ok bool
		if dev, ok = r.resolveDevice(ctx, h, &m, &resp.Diagnostics); !ok {
			return
		}
	}
	fp, sizes, ok := h.fsStateWithSizes(ctx, &resp.Diagnostics, "Unable to Read DRBD Filesystem", m.FSType.ValueString(), dev, mp)
	if !ok {
		return
	}
	switch {
	case !fp.Mounted:
		driftWarning(&resp.Diagnostics, h, "%s is not mounted on %s: the next apply mounts %s there.", mp, h, dev)
		resp.State.RemoveResource(ctx)
		return
	case fp.Mount.Source != dev:
		driftWarning(&resp.Diagnostics, h, "%s on %s has %s mounted, not %s: the next apply refuses to mount over it "+
			"and changes nothing until it is unmounted.", mp, h, fp.Mount.Source, dev)
		resp.State.RemoveResource(ctx)
		return
	case !m.UUID.IsNull() && !m.UUID.IsUnknown() && fp.Signature.UUID != "" && fp.Signature.UUID != m.UUID.ValueString():
		driftWarning(&resp.Diagnostics, h, "%s on %s holds a different filesystem (UUID %s, not %s): the next apply "+
			"adopts it if it is %s, and never formats it.", dev, h, fp.Signature.UUID, m.UUID.ValueString(), m.FSType.ValueString())
		resp.State.RemoveResource(ctx)
		return
	}
	m.Device = types.StringValue(dev)
	if fp.Mount.FSType != m.FSType.ValueString() {
		sizes = nil // read for the type in state: read again for the one mounted
	}
	m.FSType = types.StringValue(fp.Mount.FSType)
	if fp.Signature.UUID != "" {
		m.UUID = types.StringValue(fp.Signature.UUID)
	}
	setVerdict(ctx, resp.Private, fillFSSize(ctx, h, &m, sizes), &resp.Diagnostics)
	h.save(ctx, &resp.Diagnostics, &resp.State, &m, mp)
}

// undoneOnDestroy says what Delete would have done on the host, for the warning of a
// destroy on a fenced host.
func (*filesystemResource) undoneOnDestroy() string {
	return "the filesystem was not unmounted"
}

func (r *filesystemResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	m, h := openHost[filesystemResourceModel](ctx, &r.remoteBase, req.State.Get, &resp.Diagnostics)
	if h == nil {
		return
	}
	const summary = "Unable to Unmount DRBD Filesystem"
	dev, mp := m.Device.ValueString(), m.Mountpoint.ValueString()
	// One round trip checks that dev is what is mounted at mp and unmounts it; only when
	// the host cannot be checked that way does the state come from a read of its own.
	a, ok := h.umountIfMounted(ctx, &resp.Diagnostics, summary, dev, mp)
	if !ok || a.Checked {
		return
	}
	fp, ok := h.fsState(ctx, &resp.Diagnostics, summary, dev, mp)
	if !ok || !fp.Mounted || fp.Mount.Source != dev {
		return
	}
	cmd := hostfs.UmountCommand(mp)
	res, err := h.exec(ctx, cmd)
	switch {
	case err != nil:
		resp.Diagnostics.AddError(summary, transportDetail(ctx, h, cmd, err))
	case res.ExitCode != 0:
		umountFailed(ctx, &resp.Diagnostics, summary, h, cmd, mp, res)
	}
}

func (r *filesystemResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id, ok := importPathID(req.ID, "mountpoint", "192.0.2.10/var/opt/opscode/drbd/data", &resp.Diagnostics)
	if !ok {
		return
	}
	// The device and the filesystem type are whatever is mounted there.
	h := r.host(connectionFromImport(id), &resp.Diagnostics)
	if h == nil {
		return
	}
	res, ok := h.run(ctx, &resp.Diagnostics, "Unable to Import DRBD Filesystem", hostfs.FindmntCommand(id.Rest), okExit(0, 1))
	if !ok {
		return
	}
	mnt, mounted, err := hostfs.ParseFindmnt(res.Stdout, res.ExitCode)
	if err != nil || !mounted {
		resp.Diagnostics.AddError("Unable to Import DRBD Filesystem",
			fmt.Sprintf("Nothing is mounted at %s on %s, so there is no filesystem to import.", id.Rest, h))
		return
	}
	importState(ctx, resp, id, map[string]attr.Value{"mountpoint": types.StringValue(id.Rest),
		"device": types.StringValue(mnt.Source), "fs_type": types.StringValue(mnt.FSType)})
}
