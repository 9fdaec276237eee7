package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

// Online grow of drbd_resource: Read compares every volume's backing disk with the size DRBD
// uses and leaves its verdict in the private state; ModifyPlan turns it into an in-place
// update (size unknown) with a warning, or an error for a backing disk smaller than the
// device; Update runs `drbdadm resize` on a Connected UpToDate/UpToDate pair and waits for
// the resync of the new area.

var _ resource.ResourceWithModifyPlan = (*resourceResource)(nil)

// growKey is the private-state key holding Read's growVerdict.
const growKey = "grow"

const growSummary = "Unable to Grow DRBD Device"

// Grow verdicts.
const (
	growNone   = ""
	growDevice = "grow"
	growShrunk = "shrunk"
)

// growVerdict is what Read found about the sizes, for the plan.
type growVerdict struct {
	Action string `json:"action"`
	Detail string `json:"detail"`
}

// growAttributes adds drbd_resource's size and peer attributes to attrs.
func growAttributes(attrs map[string]schema.Attribute) map[string]schema.Attribute {
	attrs["size"] = schema.Int64Attribute{
		MarkdownDescription: "Size in bytes of the DRBD device (its first volume), as DRBD uses it (`/sys/block/drbdN/size`). " +
			"When a backing disk is larger than DRBD uses (the VM's disk grew), the plan shows this attribute as known " +
			"after apply with a warning, and the apply grows the device online with `drbdadm resize`: only on a Connected " +
			"pair with both disks UpToDate (DRBD's rule; otherwise the apply fails and runs nothing), then it waits for the " +
			"resync of the new area, logging the progress. DRBD grows to the smaller of the two backing disks, so with " +
			"`peer_host` set nothing is planned while the peer's disk is still smaller (a warning names it); without it the " +
			"apply runs the resize and warns when DRBD kept the size. A backing disk smaller than the device fails the plan: " +
			"the provider never shrinks a device. Null when the sizes could not be read.",
		Computed:      true,
		PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
	}
	attrs["backing_size"] = schema.Int64Attribute{
		MarkdownDescription: "Size in bytes of the backing disk of the first volume (`blockdev --getsize64` of what " +
			"`drbdadm sh-ll-dev` names). With internal metadata DRBD uses it less the metadata (about 32 KiB per GiB plus 36 KiB).",
		Computed:      true,
		PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
	}
	attrs["grow_triggers"] = growTriggersAttribute("checks the sizes again and grows the device when the backing disk " +
		"is larger, e.g. `{ disk = google_compute_disk.backend1.size }`, so that a disk grown by the VM provider in this " +
		"apply also grows the DRBD device in this apply (a disk grown outside Terraform shows in the next plan anyway).")
	attrs["peer_host"] = schema.StringAttribute{
		MarkdownDescription: "The other node of the pair, optional. When this node's backing disk grew, its size is read " +
			"there too (read only), so that a grow the peer's smaller disk would stop is not planned. Reached with the " +
			"provider's credentials and `user`.",
		Optional:   true,
		Validators: []validator.String{hostValidator()},
	}
	attrs["peer_port"] = peerPortAttribute("", false)
	attrs["peer_host_key"] = peerHostKeyAttribute()
	attrs["peer_host_fingerprint"] = computedString("SHA256 fingerprint of `peer_host`'s host key when it was last contacted, " +
		"like `host_key_fingerprint`.")
	return attrs
}

// peer is the connection to peer_host; under accept-new the recorded fingerprint is enforced.
func (m resourceResourceModel) peer() connectionModel {
	return m.peerConnection(m.User, m.PeerHostFingerprint)
}

// readSizes reads every volume's backing disk and device size.
func readSizes(ctx context.Context, h *remoteHost, p *drbd.Probe, name drbd.ResourceName) ([]drbd.VolumeSize, error) {
	var minors []int
	for i, v := range p.Volumes.Local {
		if v.Minor < 0 {
			minors = append(minors, p.Status.Minor+i)
		} else {
			minors = append(minors, v.Minor)
		}
	}
	if len(minors) == 0 {
		minors = []int{p.Status.Minor}
	}
	cmd := drbd.NewCommands(p.Versions).ReadSizes(name, minors)
	res, err := h.exec(ctx, cmd, readOnly)
	if err != nil {
		return nil, err
	}
	sizes, err := drbd.ParseSizes(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("%w (exit code %d, stderr: %s)", err, res.ExitCode, tailLines(res.Stderr, 3))
	}
	return sizes, nil
}

// fillSizes reads the sizes into the model; a failed read leaves them null (logged), as the
// sizes only serve the grow.
func (r *resourceResource) fillSizes(ctx context.Context, h *remoteHost, m *resourceResourceModel, p *drbd.Probe, name drbd.ResourceName) []drbd.VolumeSize {
	m.Size, m.BackingSize = types.Int64Null(), types.Int64Null()
	if !p.Status.Configured {
		return nil
	}
	sizes, err := p.Sizes, p.SizesError
	if sizes == nil && err == nil {
		// Not read with the status (statusShared without a cache, or another kind).
		sizes, err = readSizes(ctx, h, p, name)
	}
	if err != nil {
		tflog.Warn(ctx, "could not read the DRBD device and backing disk sizes", map[string]any{
			"host": h.String(), "resource": name.String(), "error": err.Error()})
		return nil
	}
	m.Size, m.BackingSize = types.Int64Value(sizes[0].DeviceBytes), types.Int64Value(sizes[0].BackingBytes)
	return sizes
}

// verdict decides what the sizes call for in a refresh (verdictChecked without saying whether
// the peer was read): the peer's read is shared with the other Reads of the refresh.
func (r *resourceResource) verdict(ctx context.Context, h *remoteHost, m *resourceResourceModel, name drbd.ResourceName,
	sizes []drbd.VolumeSize, diags *diag.Diagnostics) growVerdict {
	v, _ := r.verdictChecked(ctx, h, m, name, sizes, statusShared, diags)
	return v
}

// verdictChecked decides what the sizes call for, and reports whether the peer's sizes were
// read (of peerKind) and found large enough. A grow that the peer's smaller backing disk would
// stop (read on peer_host when set) is a warning and no grow.
func (r *resourceResource) verdictChecked(ctx context.Context, h *remoteHost, m *resourceResourceModel, name drbd.ResourceName,
	sizes []drbd.VolumeSize, peerKind statusKind, diags *diag.Diagnostics) (growVerdict, bool) {
	var grow *drbd.VolumeSize
	for i := range sizes {
		v := sizes[i]
		if v.Shrunk() {
			return growVerdict{Action: growShrunk, Detail: fmt.Sprintf("The backing disk %s of DRBD resource %s on %s holds "+
				"%s, less than the %s of its DRBD device (minor %d): the end of the device has no disk under it. The provider "+
				"never shrinks a DRBD device and runs nothing: put back a backing disk at least as large (shrinking needs a "+
				"filesystem shrink, `drbdadm resize --size`, then the disk, by hand).", v.Backing, name, h,
				bytesText(v.BackingBytes), bytesText(v.DeviceBytes), v.Minor)}, false
		}
		if grow == nil && v.CanGrow() {
			grow = &sizes[i]
		}
	}
	if grow == nil {
		return growVerdict{}, false
	}
	checked := false
	if !m.PeerHost.IsNull() {
		if _, fenced := r.data.fencedTarget(m.PeerHost.ValueString(), int(m.PeerPort.ValueInt64())); !fenced {
			smaller, read := r.peerSmaller(ctx, h, m, name, sizes, peerKind, diags)
			if smaller {
				return growVerdict{}, true
			}
			checked = read
		}
	}
	return growVerdict{Action: growDevice, Detail: fmt.Sprintf("The backing disk %s of DRBD resource %s on %s grew from %s "+
		"(%d bytes, what DRBD uses) to %s (%d bytes). The apply grows the DRBD device online with `drbdadm resize` "+
		"(only on a Connected pair with both disks UpToDate) and waits for the resync of the new area.",
		grow.Backing, name, h, bytesText(grow.DeviceBytes), grow.DeviceBytes, bytesText(grow.BackingBytes), grow.BackingBytes)}, checked
}

// peerSmaller reads the peer's state and sizes (one round trip; in a refresh, with kind
// statusShared, the read the peer's own Reads share) and reports, with a warning,
// whether a volume that could grow here is held back by the peer's backing disk, and whether
// the peer's sizes were read. An unreadable peer is logged and not held against the grow:
// DRBD itself grows only to the smaller disk.
func (r *resourceResource) peerSmaller(ctx context.Context, h *remoteHost, m *resourceResourceModel, name drbd.ResourceName,
	sizes []drbd.VolumeSize, kind statusKind, diags *diag.Diagnostics) (bool, bool) {
	peer := r.peerOf(m.peer())
	if kind.shared {
		peer.cache = &r.data.probes
	}
	pp, err := peer.readStatus(ctx, name, kind)
	var peerSizes []drbd.VolumeSize
	if err == nil {
		peerSizes, err = pp.Sizes, pp.SizesError
		if err == nil && peerSizes == nil {
			err = fmt.Errorf("no sizes in the status read")
		}
	}
	if err != nil {
		tflog.Warn(ctx, "could not read the peer's backing disk size", map[string]any{"host": peer.String(), "error": err.Error()})
		return false, false
	}
	if fp, err := peer.pool.Fingerprint(ctx, peer.target); err == nil {
		m.PeerHostFingerprint = types.StringValue(fp)
	}
	for i, v := range sizes {
		if i >= len(peerSizes) {
			continue
		}
		// A volume grown on the peer only holds the grow back as well: every volume that
		// grew must have grown on both nodes.
		if pv := peerSizes[i]; !v.CanGrow() && pv.CanGrow() {
			warnStillSmaller(diags, name, i, grownDisk{peer, pv}, grownDisk{h, v})
			return true, true
		}
		if !v.CanGrow() {
			continue
		}
		if pv := peerSizes[i]; drbd.UsableKiB(pv.BackingBytes)*1024 <= v.DeviceBytes {
			warnStillSmaller(diags, name, i, grownDisk{h, v}, grownDisk{peer, pv})
			return true, true
		}
	}
	return false, true
}

// grownDisk is one node's backing disk of a volume, with the size of the device on it.
type grownDisk struct {
	host *remoteHost
	size drbd.VolumeSize
}

// warnStillSmaller warns that volume i's backing disk grew on one node (grown) but not on the
// other (small), so that nothing is grown.
func warnStillSmaller(diags *diag.Diagnostics, name drbd.ResourceName, i int, grown, small grownDisk) {
	diags.AddWarning("Peer Backing Disk Still Smaller", fmt.Sprintf("The backing disk %s of DRBD resource %s "+
		"volume %d on %s grew to %s, but the backing disk %s of volume %d on %s is still %s. DRBD grows a "+
		"device only to the smaller of the two, so the device stays at %s and nothing is planned (no volume is "+
		"grown). Grow the disk on %s too; the next plan then grows the device.", grown.size.Backing, name, i, grown.host,
		bytesText(grown.size.BackingBytes), small.size.Backing, i, small.host, bytesText(small.size.BackingBytes),
		bytesText(small.size.DeviceBytes), small.host))
}

// setVerdict stores v in the private state for the plan.
func setVerdict(ctx context.Context, priv interface {
	SetKey(context.Context, string, []byte) diag.Diagnostics
}, v growVerdict, diags *diag.Diagnostics) {
	b, err := json.Marshal(v)
	if err != nil {
		diags.AddError("Unable to Record DRBD Sizes", err.Error())
		return
	}
	diags.Append(priv.SetKey(ctx, growKey, b)...)
}

// ModifyPlan shows Read's grow verdict: an in-place update (size known after apply) with a
// warning, or an error for a backing disk smaller than the device.
func (r *resourceResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
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
	if resp.Diagnostics.Append(d...); len(b) == 0 {
		return
	}
	var v growVerdict
	if err := json.Unmarshal(b, &v); err != nil {
		return
	}
	switch v.Action {
	case growShrunk:
		resp.Diagnostics.AddError("Backing Disk Smaller Than DRBD Device", v.Detail)
	case growDevice:
		resp.Diagnostics.AddWarning("Backing Disk Grew", v.Detail)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("size"), types.Int64Unknown())...)
	}
}

// grow runs `drbdadm resize` when a backing disk is larger than the device, then waits for
// the resync of the new area. held is the Update's own read of the node with the sizes, made
// under growLocks with unlock its unlock; with a nil unlock, grow takes the lock and reads the
// node itself. It returns the last probe, with the sizes; false means an error was added.
func (r *resourceResource) grow(ctx context.Context, h *remoteHost, m *resourceResourceModel, name drbd.ResourceName,
	held *drbd.Probe, unlock func(), diags *diag.Diagnostics) (*drbd.Probe, bool) {
	// Both nodes' drbd_resource plan the grow and Terraform applies them in parallel: the
	// first resizes, the second then finds the device grown and runs nothing.
	p := held
	if unlock == nil || p == nil || (p.Sizes == nil && p.SizesError == nil) {
		if unlock == nil {
			unlock = growLocks.lock(name.String())
		}
		var ok bool
		// One read of the state and sizes decides whether there is anything to grow; the
		// guarded resize reads them again in the same shell as the resize.
		if p, ok = h.probe(ctx, diags, growSummary, name, statusKind{sizes: true}); !ok {
			unlock()
			return nil, false
		}
	}
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()
	sizes, err := p.Sizes, p.SizesError
	if err == nil && sizes == nil {
		err = fmt.Errorf("no sizes in the status read")
	}
	if err != nil {
		diags.AddError(growSummary, fmt.Sprintf("The sizes of DRBD resource %s on %s could not be read: %s. Nothing was run.", name, h, err))
		return nil, false
	}
	v, peerChecked := r.verdictChecked(ctx, h, m, name, sizes, statusKind{sizes: true}, diags)
	switch v.Action {
	case growShrunk:
		diags.AddError("Backing Disk Smaller Than DRBD Device", v.Detail)
		return nil, false
	case growNone:
		return p, true // grown already (by the peer's drbd_resource), or held back by the peer
	}
	if err := drbd.ResizeRefusal(p.Status); err != nil {
		diags.AddError(growSummary, fmt.Sprintf("DRBD resource %s on %s was not grown: %s. Nothing was run. Apply again "+
			"once the pair is Connected with both disks UpToDate (drbd_sync waits for that).", name, h, err))
		return nil, false
	}
	if p = r.resizeGuarded(ctx, h, name, diags); p == nil {
		return nil, false
	}
	oosBefore := p.Status.OutOfSyncKiB
	cmd := drbd.NewCommands(p.Versions).Resize(name)
	unlock()
	locked = false
	tflog.Info(ctx, "DRBD device resized; waiting for the resync of the new area", map[string]any{
		"host": h.String(), "resource": name.String(), "backing_bytes": strconv.FormatInt(sizes[0].BackingBytes, 10)})
	if p = growResyncStarted(ctx, h, name, p, oosBefore, diags); p == nil {
		return nil, false
	}
	s := &syncStep{m: &syncResourceModel{}, name: name, h: h, diags: diags}
	if p = s.wait(ctx, p); p == nil {
		return nil, false
	}
	// One read of the sizes after the resync: the state's record, and DRBD's verdict.
	after, err := readSizes(ctx, h, p, name)
	p.Sizes, p.SizesError = after, err
	if err == nil && anyCanGrow(after) {
		hint := "Grow the peer's disk too, or set peer_host so that the plan checks it first."
		if peerChecked {
			hint = "The peer's disk was large enough just before: compare both nodes' backing disks and apply again."
		}
		diags.AddWarning("Peer Backing Disk Still Smaller", fmt.Sprintf("DRBD resource %s on %s ran `%s`, but DRBD kept "+
			"the device at %s: the peer's backing disk is still smaller (DRBD grows to the smaller of the two). %s",
			name, h, cmd, bytesText(after[0].DeviceBytes), hint))
	}
	return p, true
}

// resizeGuarded runs `drbdadm resize` behind its guard in one round trip
// (drbd.ResizeGuarded): a Connected UpToDate/UpToDate pair and no backing disk smaller than its
// device, read in the same shell. It returns the state the guard read, nil after an error.
func (r *resourceResource) resizeGuarded(ctx context.Context, h *remoteHost, name drbd.ResourceName, diags *diag.Diagnostics) *drbd.Probe {
	cmd := drbd.ResizeGuarded(name)
	resize := "drbdadm resize " + name.String()
	res, err := h.exec(ctx, cmd)
	if err != nil {
		diags.AddError(growSummary, transportDetail(ctx, h, resize+" (guarded)", err))
		return nil
	}
	g, err := drbd.ParseResizeGuarded(name.String(), res.Stdout)
	if err != nil {
		diags.AddError(growSummary, fmt.Sprintf("The guarded `%s` on %s printed output that could not be understood: %s. "+
			"Whether it ran is unknown: compare /sys/block/drbdN/size on both nodes.\n\nOutput:\n%s", resize, h, err,
			tailLines(res.Stdout+res.Stderr, stderrTailLines)))
		return nil
	}
	p := g.Probe
	if !g.Ran {
		why := "its state or sizes changed while they were checked"
		if err := drbd.ResizeRefusal(p.Status); err != nil {
			why = err.Error()
		} else {
			for _, v := range p.Sizes {
				if v.Shrunk() {
					why = fmt.Sprintf("the backing disk %s holds %s, less than the %s of its DRBD device (minor %d), and the "+
						"provider never shrinks a device", v.Backing, bytesText(v.BackingBytes), bytesText(v.DeviceBytes), v.Minor)
				}
			}
		}
		diags.AddError(growSummary, fmt.Sprintf("DRBD resource %s on %s was not grown: %s. Nothing was run. Apply again "+
			"once the pair is Connected with both disks UpToDate (drbd_sync waits for that).", name, h, why))
		return nil
	}
	if g.Result.Exit != 0 {
		diags.AddError(growSummary, fmt.Sprintf("`%s` on %s exited with status %d: %s. The pair was Connected and "+
			"UpToDate/UpToDate just before; DRBD also needs one node Primary to resize.", resize, h, g.Result.Exit,
			strings.TrimSpace(g.Result.Output)))
		return nil
	}
	return p
}

// growStartPoll and growStartLimit pace and bound the wait for DRBD to start the resync of a
// grown area: DRBD starts it one exchange between the peers after `drbdadm resize` returned.
const (
	growStartPoll  = 250 * time.Millisecond
	growStartLimit = 2 * time.Minute
)

// growResyncStarted polls the node after `drbdadm resize` until DRBD has started the resync of
// the new area, or shows no more out of sync than oosBefore (nothing new to resync). DRBD starts
// that resync when the peers have exchanged their new sizes, after the command returned, so a
// status read in between shows a Connected pair with both disks UpToDate and the new area out
// of sync, which waiting for UpToDate/UpToDate alone would take for the end. It returns the
// last probe, nil after an error.
func growResyncStarted(ctx context.Context, h *remoteHost, name drbd.ResourceName, first *drbd.Probe, oosBefore int64,
	diags *diag.Diagnostics) *drbd.Probe {
	end := time.Now().Add(growStartLimit)
	for {
		p, err := h.readStatus(ctx, name, statusPoll(first))
		if err != nil {
			diags.AddError(growSummary, statusErrorDetail(ctx, h, err))
			return nil
		}
		st := p.Status
		if !drbd.InSync(st) || st.Syncing || st.OutOfSyncKiB <= oosBefore {
			return p
		}
		if time.Now().After(end) {
			diags.AddError(growSummary, fmt.Sprintf("DRBD resource %s on %s was grown with `drbdadm resize`, but DRBD did "+
				"not start the resync of the new area within %s: %d KiB out of sync on a Connected UpToDate/UpToDate pair. "+
				"Look at both nodes' kernel logs; `drbdadm disconnect %s` then `drbdadm connect %s` on the Secondary "+
				"resyncs them.", name, h, growStartLimit, st.OutOfSyncKiB, name, name))
			return nil
		}
		select {
		case <-ctx.Done():
			diags.AddError(growSummary, fmt.Sprintf("Waiting for the resync of the new area of DRBD resource %s on %s "+
				"ended (timeouts or cancelled); the resync goes on in the kernel.", name, h))
			return nil
		case <-time.After(growStartPoll):
		}
	}
}

// keyedLocks serialises work by key.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// growLocks serialises the grow of DRBD resources of the same name within the provider
// process (two pairs that share a name only wait for each other).
var growLocks keyedLocks

// lock locks key and returns the unlock.
func (k *keyedLocks) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*sync.Mutex{}
	}
	l, ok := k.locks[key]
	if !ok {
		l = &sync.Mutex{}
		k.locks[key] = l
	}
	k.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func anyCanGrow(sizes []drbd.VolumeSize) bool {
	for _, v := range sizes {
		if v.CanGrow() {
			return true
		}
	}
	return false
}

// bytesText is n in GiB or MiB for a reader, e.g. "2.0 GiB".
func bytesText(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
