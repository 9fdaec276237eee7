package provider

// The host-side steps of drbd_filesystem: which device, what the device and the mountpoint
// hold, the checked mount, and who keeps a mount busy.

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/hostfs"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// resolveDevice returns the device to use: configured, looked up from the resource, or the default.
func (r *filesystemResource) resolveDevice(ctx context.Context, h *remoteHost, m *filesystemResourceModel, diags *diag.Diagnostics) (string, bool) {
	if !m.Device.IsNull() && !m.Device.IsUnknown() {
		return m.Device.ValueString(), true
	}
	if m.Resource.IsNull() {
		return defaultDevice, true
	}
	const summary = "Unable to Look Up DRBD Device"
	name, err := drbd.ParseResourceName(m.Resource.ValueString())
	if err != nil {
		diags.AddError(summary, err.Error())
		return "", false
	}
	if dev, ok := h.devices.get(h, name); ok {
		return dev, true // found by the promotion just before, in this apply
	}
	// The device comes from the configuration (drbdadm sh-dev): one program, no status probe.
	res, ok := h.run(ctx, diags, summary, drbd.NewCommands(drbd.Versions{}).ShDev(name), readOnly)
	if !ok {
		return "", false
	}
	dev := drbd.ParseShDev(res.Stdout)
	if dev == "" {
		diags.AddError(summary, fmt.Sprintf("`drbdadm sh-dev %s` on %s named no device. Is the resource defined in /etc/drbd.d?", name, h))
		return "", false
	}
	h.devices.set(h, name, dev)
	return dev, true
}

// fsState reads the device signature and the mount at the mountpoint in one round trip.
func (h *remoteHost) fsState(ctx context.Context, diags *diag.Diagnostics, summary, dev, mountpoint string) (hostfs.State, bool) {
	cmd := hostfs.StateCommand(dev, mountpoint)
	res, ok := h.run(ctx, diags, summary, cmd, readOnly)
	if !ok {
		return hostfs.State{}, false
	}
	p, err := hostfs.ParseState(res.Stdout)
	if err != nil {
		diags.AddError(summary, fmt.Sprintf("Reading %s and %s on %s gave unexpected output: %s", dev, mountpoint, h, err))
		return p, false
	}
	return p, true
}

// fsStateWithSizes is fsState that also reads the device and filesystem sizes in the same
// round trip, for a refresh's grow check (a size read that failed is in the returned read's
// err, logged by fillFSSize). With the type unknown (after import) it is fsState, and the
// sizes are read on their own.
func (h *remoteHost) fsStateWithSizes(ctx context.Context, diags *diag.Diagnostics, summary, fsType, dev, mountpoint string) (hostfs.State, *fsSizeRead, bool) {
	cmd, err := hostfs.StateWithSizesCommand(fsType, dev, mountpoint)
	if err != nil {
		st, ok := h.fsState(ctx, diags, summary, dev, mountpoint)
		return st, nil, ok
	}
	res, ok := h.run(ctx, diags, summary, cmd, readOnly)
	if !ok {
		return hostfs.State{}, nil, false
	}
	st, sizes, sizesErr, err := hostfs.ParseStateWithSizes(fsType, res.Stdout)
	if err != nil {
		diags.AddError(summary, fmt.Sprintf("Reading %s and %s on %s gave unexpected output: %s", dev, mountpoint, h, err))
		return st, nil, false
	}
	if sizesErr != nil {
		sizesErr = fmt.Errorf("%w (stderr: %s)", sizesErr, tailLines(res.Stderr, 3))
	}
	return st, &fsSizeRead{sizes, sizesErr}, true
}

// mountIfFormatted reads the device signature and the mountpoint and, in the same round trip,
// mounts an existing filesystem of the configured type on a free mountpoint
// (hostfs.MountIfFormattedCommand), and only when the device is Primary on the host, read
// right before the mount (drbd.DeviceRoleCommand): on DRBD 9 a mount of a Secondary would
// promote it by itself (auto-promote), past drbd_primary's guards. It returns the state read
// before any mount and whether the mount ran and succeeded; after a mount, m.Size holds the
// filesystem's size, read in the same round trip. A failed mount, and a filesystem left
// unmounted because the device is not Primary, are errors.
func (h *remoteHost) mountIfFormatted(ctx context.Context, diags *diag.Diagnostics, summary string, m *filesystemResourceModel) (hostfs.State, bool, bool) {
	fsType, dev, mp := m.FSType.ValueString(), m.Device.ValueString(), m.Mountpoint.ValueString()
	role, err := drbd.DeviceRoleCommand(dev)
	if err != nil {
		diags.AddAttributeError(path.Root("device"), summary, err.Error())
		return hostfs.State{}, false, false
	}
	cmd, err := hostfs.MountIfFormattedCommand(fsType, dev, mp, m.MountOptions.ValueString(), role)
	if err != nil {
		diags.AddError(summary, err.Error())
		return hostfs.State{}, false, false
	}
	// The mount runs only on a Primary (the precondition): it leaves DRBD's state as it is.
	res, ok := h.run(ctx, diags, summary, cmd, leavesDRBD)
	if !ok {
		return hostfs.State{}, false, false
	}
	fp, attempt, err := hostfs.ParseMountIfFormatted(fsType, res.Stdout)
	if err != nil {
		diags.AddError(summary, fmt.Sprintf("Reading %s and %s on %s gave unexpected output: %s", dev, mp, h, err))
		return fp, false, false
	}
	if attempt.PreconditionFailed && !fp.Mounted && fp.SigErr == nil && !fp.Signature.Empty() {
		seen := "no role"
		if r, ok := drbd.ParseDeviceRole(res.Stdout); ok && r.Role != "" {
			seen = string(r.Role)
		}
		diags.AddError("Refusing to Mount", fmt.Sprintf("%s on %s is not Primary (seen: %s), so its %s was not mounted on %s. "+
			"drbd_filesystem mounts only a device that is Primary on its host, as drbd_primary leaves it: on DRBD 9 the mount "+
			"of a Secondary would promote it by itself (auto-promote), past drbd_primary's checks of the peer, fencing and "+
			"split brain. Make this resource depend on the drbd_primary of the same host. Nothing was mounted.",
			dev, h, seen, fp.Signature.Describe(), mp))
		return fp, false, false
	}
	if attempt.Ran && !attempt.Mounted() {
		mount, _ := hostfs.MountCommand(fsType, dev, mp, m.MountOptions.ValueString())
		diags.AddError(summary, exitDetail(h, mount, sshx.Result{ExitCode: attempt.Exit, Stderr: attempt.Output},
			"The device carries a "+fsType+" filesystem and nothing was mounted there; the kernel log of this host tells why the mount failed. No data was changed."))
		return fp, false, false
	}
	if attempt.Mounted() {
		sizesErr := attempt.SizesErr
		if sizesErr != nil {
			sizesErr = fmt.Errorf("%w (stderr: %s)", sizesErr, tailLines(res.Stderr, 3))
		}
		fillFSSize(ctx, h, m, &fsSizeRead{attempt.Sizes, sizesErr})
	}
	return fp, attempt.Mounted(), true
}

// mkfsIfBlank formats the device in the round trip that checks, right before, that it is a
// Primary DRBD device carrying no signature at all (hostfs.MkfsIfBlankCommand with
// drbd.DeviceRoleCommand as its precondition). It reports whether mkfs ran and succeeded;
// anything else is an error naming what was seen.
func (h *remoteHost) mkfsIfBlank(ctx context.Context, diags *diag.Diagnostics, summary string, m *filesystemResourceModel) bool {
	fsType, dev := m.FSType.ValueString(), m.Device.ValueString()
	opts, err := hostfs.SplitMkfsOptions(m.MkfsOptions.ValueString())
	if err != nil {
		diags.AddError(summary, err.Error())
		return false
	}
	role, err := drbd.DeviceRoleCommand(dev)
	if err != nil {
		diags.AddAttributeError(path.Root("device"), summary, errSentence(err))
		return false
	}
	cmd, err := hostfs.MkfsIfBlankCommand(fsType, dev, opts, role)
	if err != nil {
		diags.AddError(summary, err.Error())
		return false
	}
	mkfs, _ := hostfs.MkfsCommand(fsType, dev, opts)
	tflog.Info(ctx, "creating filesystem if the device is still blank", map[string]any{"host": h.String(), "command": mkfs})
	res, ok := h.run(ctx, diags, summary, cmd)
	if !ok {
		return false
	}
	seenRole, _ := drbd.ParseDeviceRole(res.Stdout)
	a, err := hostfs.ParseMkfsIfBlank(res.Stdout)
	switch {
	case err != nil && a.Ran:
		diags.AddError(summary, fmt.Sprintf("The checked mkfs of %s on %s ran although what it read before does not allow it (%s; %s, %s signature), mkfs exit %d: %s. "+
			"Check the device by hand before using it.", dev, h, err, seenRole, a.Signature.Describe(), a.Exit, a.Output))
		return false
	case err != nil:
		diags.AddError(summary, fmt.Sprintf("Formatting %s on %s gave unexpected output (exit %d, stderr %q): %s. Nothing is known to have run.",
			dev, h, res.ExitCode, strings.TrimSpace(res.Stderr), err))
		return false
	case !a.Ran:
		seen := seenRole.String()
		if a.SigErr != nil {
			seen += ", and the device could not be probed: " + a.SigErr.Error()
		} else if !a.Signature.Empty() {
			seen += fmt.Sprintf(", and the device carries a %s signature (%s)", a.Signature.Describe(), strings.ReplaceAll(a.Signature.Raw, "\n", " "))
		}
		diags.AddError("Refusing to Format DRBD Device", fmt.Sprintf(
			"%s on %s was blank when it was first read, but right before mkfs the check saw: %s. mkfs runs only on a Primary "+
				"device carrying no signature at all. Nothing was run (exit %d, stderr %q).\n\nFind out what changed the device "+
				"(another node or person) and apply again.", dev, h, seen, res.ExitCode, strings.TrimSpace(res.Stderr)))
		return false
	case !a.Formatted():
		diags.AddError(summary, exitDetail(h, mkfs, sshx.Result{ExitCode: a.Exit, Stderr: a.Output},
			"The device was Primary and blank when mkfs started."))
		return false
	}
	return true
}

// maxHoldersShown is how many processes a busy-unmount diagnostic names.
const maxHoldersShown = 10

// busyHint names the processes that keep mp busy (fuser, or /proc where psmisc is missing)
// and tells how to go on.
func busyHint(ctx context.Context, h *remoteHost, mp string) string {
	const next = "Stop them (for Chef: set stop_command on drbd_chef_backend_ready) and apply again. No data was touched."
	cmd := hostfs.HoldersCommand(mp)
	res, err := h.exec(ctx, cmd)
	if err != nil {
		tflog.Warn(ctx, "listing the processes using the filesystem failed", map[string]any{"host": h.String(), "error": err.Error()})
		return fmt.Sprintf("The processes using %s could not be listed (%s). %s", mp, err, next)
	}
	holders, perr := hostfs.ParseHolders(res.Stdout)
	switch {
	case perr != nil:
		tflog.Warn(ctx, "unexpected output listing the processes using the filesystem", map[string]any{"host": h.String(), "output": res.Stdout})
		return fmt.Sprintf("The processes using %s could not be listed (exit %d). %s", mp, res.ExitCode, next)
	case len(holders) == 0:
		return fmt.Sprintf("No process using %s was found (a process of another user without sudo, a bind "+
			"mount, an NFS export or a loop device can hold it too). Find what uses it, stop it and apply again. "+
			"No data was touched.", mp)
	}
	return fmt.Sprintf("Processes using %s: %s.\n\n%s", mp, hostfs.DescribeHolders(holders, maxHoldersShown), next)
}

// umountIfMounted unmounts mp when dev is what is mounted there, checking and acting in one
// round trip (hostfs.UmountIfMountedCommand). It reports false after an error; an attempt
// that is not Checked ran nothing, and the caller reads the state itself.
func (h *remoteHost) umountIfMounted(ctx context.Context, diags *diag.Diagnostics, summary, dev, mp string) (hostfs.UmountAttempt, bool) {
	cmd := hostfs.UmountIfMountedCommand(dev, mp)
	res, ok := h.run(ctx, diags, summary, cmd)
	if !ok {
		return hostfs.UmountAttempt{}, false
	}
	a, err := hostfs.ParseUmountIfMounted(res.Stdout)
	switch {
	case err != nil:
		diags.AddError(summary, fmt.Sprintf("Unmounting %s on %s gave unexpected output: %s", mp, h, err))
		return a, false
	case a.Ran && a.Exit != 0:
		umountFailed(ctx, diags, summary, h, hostfs.UmountCommand(mp), mp, sshx.Result{ExitCode: a.Exit, Stderr: a.Output})
		return a, false
	}
	return a, true
}

// umountFailed explains a failed umount of mp: who holds it when it is busy.
func umountFailed(ctx context.Context, diags *diag.Diagnostics, summary string, h *remoteHost, cmd, mp string, res sshx.Result) {
	if hostfs.IsBusy(res.Stderr) {
		diags.AddError(summary, exitDetail(h, cmd, res, busyHint(ctx, h, mp)))
		return
	}
	diags.AddError(summary, exitDetail(h, cmd, res, "No data was touched; fix the cause and apply again."))
}
