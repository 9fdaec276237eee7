package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
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

// verdict decides what the sizes call for. A grow that the peer's smaller backing disk would
// stop (read on peer_host when set) is a warning and no grow.
func (r *resourceResource) verdict(ctx context.Context, h *remoteHost, m *resourceResourceModel, name drbd.ResourceName,
	sizes []drbd.VolumeSize, diags *diag.Diagnostics) growVerdict {
	var grow *drbd.VolumeSize
	for i := range sizes {
		v := sizes[i]
		if v.Shrunk() {
			return growVerdict{Action: growShrunk, Detail: fmt.Sprintf("The backing disk %s of DRBD resource %s on %s holds "+
				"%s, less than the %s of its DRBD device (minor %d): the end of the device has no disk under it. The provider "+
				"never shrinks a DRBD device and runs nothing: put back a backing disk at least as large (shrinking needs a "+
				"filesystem shrink, `drbdadm resize --size`, then the disk, by hand).", v.Backing, name, h,
				bytesText(v.BackingBytes), bytesText(v.DeviceBytes), v.Minor)}
		}
		if grow == nil && v.CanGrow() {
			grow = &sizes[i]
		}
	}
	if grow == nil {
		return growVerdict{}
	}
	if !m.PeerHost.IsNull() {
		if _, fenced := r.data.fencedTarget(m.PeerHost.ValueString(), int(m.PeerPort.ValueInt64())); !fenced {
			if smaller := r.peerSmaller(ctx, h, m, name, sizes, diags); smaller {
				return growVerdict{}
			}
		}
	}
	return growVerdict{Action: growDevice, Detail: fmt.Sprintf("The backing disk %s of DRBD resource %s on %s grew from %s "+
		"(%d bytes, what DRBD uses) to %s (%d bytes). The apply grows the DRBD device online with `drbdadm resize` "+
		"(only on a Connected pair with both disks UpToDate) and waits for the resync of the new area.",
		grow.Backing, name, h, bytesText(grow.DeviceBytes), grow.DeviceBytes, bytesText(grow.BackingBytes), grow.BackingBytes)}
}

// peerSmaller reads the peer's sizes and reports, with a warning, whether a volume that could
// grow here is held back by the peer's backing disk. An unreadable peer is logged and not
// held against the grow: DRBD itself grows only to the smaller disk.
func (r *resourceResource) peerSmaller(ctx context.Context, h *remoteHost, m *resourceResourceModel, name drbd.ResourceName,
	sizes []drbd.VolumeSize, diags *diag.Diagnostics) bool {
	peer := r.peerOf(m.peer())
	pp, err := peer.readStatus(ctx, name, statusFresh)
	var peerSizes []drbd.VolumeSize
	if err == nil {
		peerSizes, err = readSizes(ctx, peer, pp, name)
	}
	if err != nil {
		tflog.Warn(ctx, "could not read the peer's backing disk size", map[string]any{"host": peer.String(), "error": err.Error()})
		return false
	}
	if fp, err := peer.pool.Fingerprint(ctx, peer.target); err == nil {
		m.PeerHostFingerprint = types.StringValue(fp)
	}
	for i, v := range sizes {
		if !v.CanGrow() || i >= len(peerSizes) {
			continue
		}
		if pv := peerSizes[i]; drbd.UsableKiB(pv.BackingBytes)*1024 <= v.DeviceBytes {
			diags.AddWarning("Peer Backing Disk Still Smaller", fmt.Sprintf("The backing disk %s of DRBD resource %s on %s "+
				"grew to %s, but the backing disk %s on its peer %s is still %s. DRBD grows a device only to the smaller of "+
				"the two, so the device stays at %s and nothing is planned. Grow the disk on %s too; the next plan then "+
				"grows the device.", v.Backing, name, h, bytesText(v.BackingBytes), pv.Backing, peer, bytesText(pv.BackingBytes),
				bytesText(v.DeviceBytes), peer))
			return true
		}
	}
	return false
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

// grow reads the node again and runs `drbdadm resize` when a backing disk is larger than the
// device, then waits for the resync of the new area. It returns the last probe; false means
// an error was added.
func (r *resourceResource) grow(ctx context.Context, h *remoteHost, m *resourceResourceModel, name drbd.ResourceName,
	diags *diag.Diagnostics) (*drbd.Probe, bool) {
	// Both nodes' drbd_resource plan the grow and Terraform applies them in parallel: the
	// first resizes, the second then finds the device grown and runs nothing.
	unlock := growLocks.lock(name.String())
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()
	p, ok := h.probe(ctx, diags, growSummary, name, statusFresh)
	if !ok {
		return nil, false
	}
	sizes, err := p.Sizes, p.SizesError
	if sizes == nil && err == nil {
		// Not read with the status (statusShared without a cache, or another kind).
		sizes, err = readSizes(ctx, h, p, name)
	}
	if err != nil {
		diags.AddError(growSummary, fmt.Sprintf("The sizes of DRBD resource %s on %s could not be read: %s. Nothing was run.", name, h, err))
		return nil, false
	}
	v := r.verdict(ctx, h, m, name, sizes, diags)
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
	cmd := drbd.NewCommands(p.Versions).Resize(name)
	oosBefore := p.Status.OutOfSyncKiB
	if _, ok := h.run(ctx, diags, growSummary, cmd, withHint("The pair was Connected and UpToDate/UpToDate "+
		"just before; DRBD also needs one node Primary to resize.")); !ok {
		return nil, false
	}
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
	if after, err := readSizes(ctx, h, p, name); err == nil && anyCanGrow(after) {
		diags.AddWarning("Peer Backing Disk Still Smaller", fmt.Sprintf("DRBD resource %s on %s ran `%s`, but DRBD kept "+
			"the device at %s: the peer's backing disk is still smaller (DRBD grows to the smaller of the two). Grow the "+
			"peer's disk too, or set peer_host so that the plan checks it first.", name, h, cmd, bytesText(after[0].DeviceBytes)))
	}
	return p, true
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
