package provider

// The host-side steps of drbd_filesystem: which device, what the device and the mountpoint
// hold, the checked mount, and who keeps a mount busy.

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
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
	if dev, ok := h.devices.get(ctx, h, name); ok {
		return dev, true // found by the promotion just before, in this apply
	}
	// The device comes from the configuration (drbdadm sh-dev): one program, no status probe.
	res, ok := h.runRead(ctx, diags, summary, drbd.NewCommands(drbd.Versions{}).ShDev(name))
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
	res, ok := h.runRead(ctx, diags, summary, cmd)
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

// mountIfFormatted reads the device signature and the mountpoint and, in the same round trip,
// mounts an existing filesystem of the configured type on a free mountpoint
// (hostfs.MountIfFormattedCommand). It returns the state read before any mount and whether
// the mount ran and succeeded; a failed mount is an error.
func (h *remoteHost) mountIfFormatted(ctx context.Context, diags *diag.Diagnostics, summary string, m *filesystemResourceModel) (hostfs.State, bool, bool) {
	fsType, dev, mp := m.FSType.ValueString(), m.Device.ValueString(), m.Mountpoint.ValueString()
	cmd, err := hostfs.MountIfFormattedCommand(fsType, dev, mp, m.MountOptions.ValueString())
	if err != nil {
		diags.AddError(summary, err.Error())
		return hostfs.State{}, false, false
	}
	res, ok := h.run(ctx, diags, summary, cmd)
	if !ok {
		return hostfs.State{}, false, false
	}
	fp, attempt, err := hostfs.ParseMountIfFormatted(res.Stdout)
	if err != nil {
		diags.AddError(summary, fmt.Sprintf("Reading %s and %s on %s gave unexpected output: %s", dev, mp, h, err))
		return fp, false, false
	}
	if attempt.Ran && !attempt.Mounted() {
		mount, _ := hostfs.MountCommand(fsType, dev, mp, m.MountOptions.ValueString())
		diags.AddError(summary, exitDetail(h, mount, sshx.Result{ExitCode: attempt.Exit, Stderr: attempt.Output},
			"The device carries a "+fsType+" filesystem and nothing was mounted there; the kernel log of this host tells why the mount failed. No data was changed."))
		return fp, false, false
	}
	return fp, attempt.Mounted(), true
}

// maxHoldersShown is how many processes a busy-unmount diagnostic names.
const maxHoldersShown = 10

// busyHint names the processes that keep mp busy (fuser, or /proc where psmisc is missing)
// and tells how to go on.
func busyHint(ctx context.Context, h *remoteHost, mp string) string {
	const next = "Stop them (for Chef: set stop_command on drbd_chef_backend_ready) and apply again. No data was touched."
	cmd := hostfs.HoldersCommand(mp)
	res, err := h.exec(ctx, sshx.Command{Cmd: cmd})
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
