package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/hostfs"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// converge brings the probed resource up and connected and returns the status read afterwards:
// create-md where no metadata exists, then `drbdadm up`, or `drbdadm adjust` on a resource that
// is up (adjust also reconnects a StandAlone node). A StandAlone node that DRBD reported in split
// brain is reconnected with --discard-my-data instead when it is the split-brain victim, and
// plainly, with a warning, when it is not. configWritten says the resource file was just
// rewritten.
func (r *resourceResource) converge(ctx context.Context, h *remoteHost, m *resourceResourceModel, name drbd.ResourceName, p *drbd.Probe,
	configWritten bool, diags *diag.Diagnostics) (*drbd.Probe, bool) {
	const summary = "Unable to Bring Up DRBD Resource"
	cmds := drbd.NewCommands(p.Versions)
	st := p.Status
	if drbd.StandAlone(st) && st.SplitBrain && m.SplitBrainVictim.ValueBool() {
		if !r.reconnectVictim(ctx, h, cmds, p, name, configWritten, diags) {
			return nil, false
		}
		return h.probe(ctx, diags, summary, name, statusFresh)
	}
	if p.Metadata == drbd.MetadataAbsent && !st.Configured {
		if !r.createMetadata(ctx, h, cmds, name, diags) {
			return nil, false
		}
	}
	cmd := cmds.Up(name)
	if st.Configured {
		cmd = cmds.Adjust(name)
	}
	if _, ok := h.run(ctx, diags, summary, cmd); !ok {
		return nil, false
	}
	if drbd.StandAlone(st) {
		tflog.Info(ctx, "reconnected a StandAlone DRBD resource", map[string]any{"host": h.String(), "resource": name.String(),
			"split_brain": st.SplitBrain, "split_brain_unknown": st.SplitBrainUnknown})
		warnPlainReconnect(h, name, cmd, st, m.SplitBrainVictim.ValueBool(), diags)
	}
	return h.probe(ctx, diags, summary, name, statusFresh)
}

// afterSBCaution is the part of the split-brain warnings about DRBD's automatic recovery
// policies, which the provider does not read.
const afterSBCaution = "DRBD resolves the split brain by itself instead when the resource's after-sb-0pri, " +
	"after-sb-1pri or after-sb-2pri policies allow it (for example `after-sb-1pri discard-secondary`): on the " +
	"reconnect it throws away the changes of the node the policy picks. The provider does not read those policies; " +
	"check the resource file on both nodes."

// warnPlainReconnect warns after a StandAlone node that may be in split brain was reconnected
// without --discard-my-data.
func warnPlainReconnect(h *remoteHost, name drbd.ResourceName, cmd string, st drbd.Status, victim bool, diags *diag.Diagnostics) {
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
func (r *resourceResource) reconnectVictim(ctx context.Context, h *remoteHost, cmds drbd.Commands, p *drbd.Probe, name drbd.ResourceName,
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
	// The split brain the decision rests on, looked for again right before the connect.
	line := drbd.LastSplitBrainLine(p.Sections[drbd.SectionKernelLog].Output, name.String(), p.Devices)
	checked, err := cmds.ConnectDiscardMyDataIfSplitBrain(name, p.Devices, line)
	if err != nil {
		diags.AddError(summary, fmt.Sprintf("DRBD resource %s on %s: %s. Nothing was run.", name, h, err))
		return false
	}
	res, ok := h.run(ctx, diags, summary, checked)
	if !ok {
		return false
	}
	v, err := drbd.ParseConnectDiscardMyData(res.Stdout, name.String(), p.Devices, line)
	switch {
	case err != nil && v.Attempted:
		diags.AddError(summary, fmt.Sprintf("The checked `%s` on %s ran although %s (exit %d: %s). Check the pair by hand.",
			cmd, h, strings.TrimPrefix(err.Error(), "connect --discard-my-data ran although "), v.Connect.Exit, strings.TrimSpace(v.Connect.Output)))
		return false
	case err != nil:
		diags.AddError(summary, fmt.Sprintf("Reconnecting DRBD resource %s on %s gave unexpected output (exit %d, stderr %q): %s. "+
			"Nothing is known to have run.", name, h, res.ExitCode, strings.TrimSpace(res.Stderr), err))
		return false
	case !v.Attempted:
		diags.AddError("Refusing to Discard Split-Brain Changes", fmt.Sprintf(
			"DRBD resource %s on %s was a StandAlone Secondary after a split brain DRBD reported when it was probed, but right "+
				"before `%s` the check saw that %s. This node's changes are discarded only while it is still StandAlone and "+
				"Secondary in that split brain. Nothing was run (exit %d, stderr %q).\n\nApply again to decide on the new state.",
			name, h, cmd, v.Refusal(name.String(), p.Devices, line), res.ExitCode, strings.TrimSpace(res.Stderr)))
		return false
	case !v.Connected():
		diags.AddError(summary, exitDetail(h, cmd, sshx.Result{ExitCode: v.Connect.Exit, Stderr: v.Connect.Output},
			"The node was a StandAlone Secondary in the split brain when the connect started."))
		return false
	}
	tflog.Warn(ctx, "reconnected a split-brain victim with --discard-my-data", map[string]any{"host": h.String(), "resource": name.String()})
	detail := fmt.Sprintf("DRBD resource %s on %s was StandAlone after a split brain DRBD reported, and split_brain_victim "+
		"is true: it was reconnected with `%s`. When its peer connects, DRBD throws away this node's changes since the "+
		"split brain and resyncs those blocks from the peer (this node is SyncTarget). If the peer is StandAlone too, "+
		"reconnect it: apply its drbd_resource, or run `drbdadm connect %s` there.\n\n"+
		"Remove split_brain_victim once the pair is Connected again, so that a later split brain does not discard this "+
		"node's changes unasked.", name, h, cmd, name)
	if configWritten {
		detail += fmt.Sprintf("\n\n%s was rewritten but not applied: `drbdadm adjust` would have reconnected without "+
			"--discard-my-data. Run `drbdadm adjust %s` on %s once the resync has finished.", name.ConfigFile(), name, h)
	}
	diags.AddWarning("Discarding Split-Brain Changes on "+h.String(), detail)
	return true
}

// primaryVictimDetail explains why a Primary split-brain victim is not reconnected, naming the
// device and, when findmnt can tell, where it is mounted.
func primaryVictimDetail(ctx context.Context, h *remoteHost, p *drbd.Probe, name drbd.ResourceName) string {
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
	res, err := h.exec(ctx, hostfs.MountTargetsCommand(dev))
	if err != nil || res.ExitCode != 0 {
		return nil
	}
	return hostfs.ParseMountTargets(res.Stdout)
}

// standAloneDrift is Read's drift warning for a StandAlone resource: why DRBD left it so, and
// what the next apply does about it. Read sees the state, not the configuration, so it names
// both outcomes of split_brain_victim.
func standAloneDrift(h *remoteHost, name drbd.ResourceName, p *drbd.Probe) string {
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

// createMetadata runs create-md in the round trip that checks, right before, that every
// volume's backing disk is blank and has no metadata (drbd.Commands.CreateMDIfBlank); in any
// other state nothing runs and the error names what was seen.
func (r *resourceResource) createMetadata(ctx context.Context, h *remoteHost, cmds drbd.Commands, name drbd.ResourceName, diags *diag.Diagnostics) bool {
	const summary = "Unable to Create DRBD Metadata"
	res, ok := h.run(ctx, diags, summary, cmds.CreateMDIfBlank(name))
	if !ok {
		return false
	}
	md, err := drbd.ParseCreateMDIfBlank(res.Stdout)
	switch {
	case err != nil && md.Attempted:
		diags.AddError(summary, fmt.Sprintf("The checked create-md of DRBD resource %s on %s ran although %s (create-md exit %d: %s). "+
			"Check the backing disks by hand before bringing the resource up.", name, h, strings.TrimPrefix(err.Error(), "create-md ran although "),
			md.CreateMD.Exit, strings.TrimSpace(md.CreateMD.Output)))
		return false
	case err != nil:
		diags.AddError(summary, fmt.Sprintf("Creating the metadata of DRBD resource %s on %s gave unexpected output (exit %d, stderr %q): %s. "+
			"Nothing is known to have run.", name, h, res.ExitCode, strings.TrimSpace(res.Stderr), err))
		return false
	case !md.Attempted:
		diags.AddError("Refusing to Create DRBD Metadata", fmt.Sprintf(
			"DRBD resource %s on %s had no metadata when it was probed, but right before create-md the check saw that %s. "+
				"create-md runs only when every volume's backing disk carries no signature at all and no metadata; creating "+
				"metadata over anything else could destroy data, so nothing was changed. Nothing was run (exit %d, stderr %q).\n\n"+
				"If a backing disk really is disposable, wipe it by hand (for example `wipefs -a DISK`) and apply again.",
			name, h, md.Refusal(), res.ExitCode, strings.TrimSpace(res.Stderr)))
		return false
	case !md.Created():
		diags.AddError(summary, exitDetail(h, cmds.CreateMD(name), sshx.Result{ExitCode: md.CreateMD.Exit, Stderr: md.CreateMD.Output},
			"Every backing disk was blank and without metadata when create-md started."))
		return false
	}
	return true
}

// writeConfigIfChanged writes the resource file atomically when its content differs, and reports
// whether it wrote it and whether it succeeded.
func (r *resourceResource) writeConfigIfChanged(ctx context.Context, h *remoteHost, name drbd.ResourceName, content string, diags *diag.Diagnostics) (written, ok bool) {
	current, exists, ok := h.readFile(ctx, diags, "Unable to Read DRBD Configuration", name.ConfigFile())
	if !ok {
		return false, false
	}
	if exists && current == content {
		return false, true
	}
	dst := name.ConfigFile()
	h.devices.forgetHost(h) // a new configuration may name other devices
	_, ok = h.run(ctx, diags, "Unable to Write DRBD Configuration", hostfs.WriteFileCommand(dst, "600"), withStdin(strings.NewReader(content)))
	if ok {
		tflog.Info(ctx, "wrote DRBD resource configuration", map[string]any{"host": h.String(), "path": dst})
	}
	return ok, ok
}

// readFile returns a remote file's content and whether it exists.
func (h *remoteHost) readFile(ctx context.Context, diags *diag.Diagnostics, summary, file string) (string, bool, bool) {
	res, ok := h.run(ctx, diags, summary, hostfs.ReadFileCommand(file), readOnly, okExit(0, hostfs.FileMissingExit))
	if !ok {
		return "", false, false
	}
	return res.Stdout, res.ExitCode == 0, true
}
