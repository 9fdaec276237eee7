package provider

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/hostfs"
)

// Online grow of drbd_filesystem: Read compares the filesystem's size (its superblock) with
// its device's and leaves the verdict in the private state; ModifyPlan shows it (size known
// after apply, a warning); Update grows the mounted filesystem with resize2fs or xfs_growfs.
// grow_triggers (as on drbd_resource) lets a device grow planned in the same run reach it.

var _ resource.ResourceWithModifyPlan = (*filesystemResource)(nil)

const fsGrowSummary = "Unable to Grow DRBD Filesystem"

// growTriggersAttribute is grow_triggers of drbd_resource and drbd_filesystem.
func growTriggersAttribute(what string) schema.MapAttribute {
	return schema.MapAttribute{
		MarkdownDescription: "Arbitrary strings; a change of any of them plans an in-place update that " + what +
			" Nothing is compared with them: they only put the update in the same plan, ordered after what they reference.",
		ElementType: types.StringType,
		Optional:    true,
	}
}

// filesystemGrowAttributes adds size and grow_triggers to drbd_filesystem's attributes.
func filesystemGrowAttributes(attrs map[string]schema.Attribute) map[string]schema.Attribute {
	attrs["size"] = schema.Int64Attribute{
		MarkdownDescription: "Size in bytes of the filesystem, as its superblock records it (`dumpe2fs -h` for ext4, " +
			"`xfs_info` for xfs). When the device is larger by more than 16 MiB (the DRBD device grew), the plan shows " +
			"this attribute as known after apply with a warning, and the apply grows the mounted filesystem online: " +
			"`resize2fs DEVICE` for ext4, `xfs_growfs MOUNTPOINT` for xfs, on the host where it is mounted (the Primary). " +
			"Never shrinks, never unmounts. Null when the sizes could not be read.",
		Computed:      true,
		PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
	}
	attrs["grow_triggers"] = growTriggersAttribute("checks the sizes again and grows the filesystem when its device is " +
		"larger, e.g. `{ size = drbd_resource.node1.size }`, so that a device grown in this apply also grows the filesystem " +
		"in this apply (a device grown outside Terraform shows in the next plan anyway).")
	return attrs
}

// readFSSizes reads the device and filesystem sizes of a mounted filesystem.
func readFSSizes(ctx context.Context, h *remoteHost, fsType, dev, mp string) (hostfs.Sizes, error) {
	cmd, err := hostfs.SizesCommand(fsType, dev, mp)
	if err != nil {
		return hostfs.Sizes{}, err
	}
	res, err := h.exec(ctx, cmd, readOnly)
	if err != nil {
		return hostfs.Sizes{}, err
	}
	s, err := hostfs.ParseSizes(fsType, res.Stdout)
	if err != nil {
		return s, fmt.Errorf("%w (exit code %d, stderr: %s)", err, res.ExitCode, tailLines(res.Stderr, 3))
	}
	return s, nil
}

// fsGrowDetail explains a filesystem smaller than its device.
func fsGrowDetail(h *remoteHost, fsType, dev, mp string, s hostfs.Sizes) string {
	cmd, _ := hostfs.GrowCommand(fsType, dev, mp)
	return fmt.Sprintf("The %s filesystem mounted on %s on %s is %s (%d bytes) but its device %s is %s (%d bytes). The "+
		"apply grows it online with `%s`; it stays mounted.", fsType, mp, h, bytesText(s.FSBytes), s.FSBytes, dev,
		bytesText(s.DeviceBytes), s.DeviceBytes, cmd)
}

// fsSizeRead is a size read made already, in the same round trip as the state (Read).
type fsSizeRead struct {
	sizes hostfs.Sizes
	err   error
}

// fillFSSize puts the sizes (known, or read now when nil) into m.Size and returns the verdict
// for the plan.
func fillFSSize(ctx context.Context, h *remoteHost, m *filesystemResourceModel, known *fsSizeRead) growVerdict {
	m.Size = types.Int64Null()
	fsType, dev, mp := m.FSType.ValueString(), m.Device.ValueString(), m.Mountpoint.ValueString()
	if known == nil {
		s, err := readFSSizes(ctx, h, fsType, dev, mp)
		known = &fsSizeRead{s, err}
	}
	s, err := known.sizes, known.err
	if err != nil {
		tflog.Warn(ctx, "could not read the filesystem and device sizes", map[string]any{"host": h.String(), "mountpoint": mp, "error": err.Error()})
		return growVerdict{}
	}
	m.Size = types.Int64Value(s.FSBytes)
	if s.CanGrow() {
		return growVerdict{Action: growDevice, Detail: fsGrowDetail(h, fsType, dev, mp, s)}
	}
	return growVerdict{}
}

// ModifyPlan shows Read's verdict (size known after apply, a warning), and marks size
// unknown when grow_triggers change.
func (r *filesystemResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	if triggersChanged(ctx, req, &resp.Diagnostics) {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("size"), types.Int64Unknown())...)
	}
	if req.Private == nil {
		return
	}
	b, d := req.Private.GetKey(ctx, growKey)
	var v growVerdict
	if resp.Diagnostics.Append(d...); len(b) == 0 || json.Unmarshal(b, &v) != nil || v.Action != growDevice {
		return
	}
	resp.Diagnostics.AddWarning("Filesystem Smaller Than Its Device", v.Detail)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("size"), types.Int64Unknown())...)
}

// triggersChanged reports whether grow_triggers differ between the state and the plan.
func triggersChanged(ctx context.Context, req resource.ModifyPlanRequest, diags *diag.Diagnostics) bool {
	var before, after types.Map
	diags.Append(req.State.GetAttribute(ctx, path.Root("grow_triggers"), &before)...)
	diags.Append(req.Plan.GetAttribute(ctx, path.Root("grow_triggers"), &after)...)
	return !before.Equal(after)
}

// Update grows the filesystem when the plan says so (size unknown); any other change is
// recorded without running anything.
func (r *filesystemResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	m, h := openHost[filesystemResourceModel](ctx, &r.remoteBase, req.Plan.Get, &resp.Diagnostics)
	if h == nil {
		return
	}
	if !m.Size.IsUnknown() {
		resp.State.Raw = req.Plan.Raw
		return
	}
	fsType, dev, mp := m.FSType.ValueString(), m.Device.ValueString(), m.Mountpoint.ValueString()
	// The mount check, the grow and the sizes it records in one round trip.
	cmd, err := hostfs.GrowGuardedCommand(fsType, dev, mp)
	if err != nil {
		resp.Diagnostics.AddError(fsGrowSummary, err.Error())
		return
	}
	res, ok := h.run(ctx, &resp.Diagnostics, fsGrowSummary, cmd, withHint("The filesystem stays mounted and keeps its "+
		"size; fix the cause and apply again."))
	if !ok {
		return
	}
	g, err := hostfs.ParseGrowGuarded(fsType, res.Stdout)
	if err != nil {
		resp.Diagnostics.AddError(fsGrowSummary, fmt.Sprintf("The guarded grow of the filesystem on %s on %s printed output "+
			"that could not be understood: %s. Whether it grew is unknown; the next plan reads its size again.", mp, h, err))
		return
	}
	fp := g.State
	if !g.Ran {
		if !fp.Mounted || fp.Mount.Source != dev || fp.Mount.FSType != fsType {
			resp.Diagnostics.AddError(fsGrowSummary, fmt.Sprintf("The filesystem on %s was not grown: %s on %s has %s, not %s (%s). "+
				"Nothing was run; the next plan mounts it again first.", dev, mp, h, describeMount(fp), dev, fsType))
		} else {
			resp.Diagnostics.AddError(fsGrowSummary, fmt.Sprintf("The filesystem on %s was not grown: the mount of %s on %s "+
				"changed while it was checked. Nothing was run; apply again.", dev, mp, h))
		}
		return
	}
	grow, _ := hostfs.GrowCommand(fsType, dev, mp)
	tflog.Info(ctx, "grew the filesystem online", map[string]any{"host": h.String(), "mountpoint": mp, "command": grow})
	if g.Exit != 0 {
		resp.Diagnostics.AddError(fsGrowSummary, fmt.Sprintf("`%s` on %s exited with status %d: %s. The filesystem stays "+
			"mounted and keeps its size; fix the cause and apply again.", grow, h, g.Exit, g.Output))
		return
	}
	fillFSSize(ctx, h, &m, &fsSizeRead{g.After, g.AfterErr})
	setVerdict(ctx, resp.Private, growVerdict{}, &resp.Diagnostics)
	h.save(ctx, &resp.Diagnostics, &resp.State, &m, mp)
}
