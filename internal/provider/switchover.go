package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// The steps of a switchover run back to back while Chef's data is unmounted: umount and
// demote on the old primary, promote and mount on the new one. Each step checks and acts in
// one round trip on the host (hostfs.UmountIfMountedCommand, drbd.PromoteHealthyCommand,
// hostfs.MountIfFormattedCommand), the device learnt by the promotion serves the mount
// (deviceCache), and the SSH connection to the new primary is opened before it is needed:
// this file.

// warmTimeout bounds a background connection opened ahead of need.
const warmTimeout = 15 * time.Second

// warmConnection opens the pooled SSH connection to c in the background, so that the steps
// that come next on that host (in a switchover, the promotion and the mount on the new
// primary) do not wait for a handshake. It never contacts a fenced host, runs nothing there,
// and only logs a failure: the step that needs the host reports its own. Host keys are
// checked as for any connection. It reports whether it started.
func (d *providerData) warmConnection(ctx context.Context, c connectionModel) bool {
	h := d.warmable(ctx, c)
	if h == nil {
		return false
	}
	go func() {
		wctx, cancel := context.WithTimeout(context.Background(), warmTimeout)
		defer cancel()
		if _, err := d.pool.Fingerprint(wctx, h.target); err != nil {
			tflog.Debug(ctx, "opening a connection ahead of need failed", map[string]any{"host": h.String(), "error": err.Error()})
		}
	}()
	return true
}

// warmable returns the host of c when it may be contacted ahead of need: set, and not fenced.
func (d *providerData) warmable(ctx context.Context, c connectionModel) *remoteHost {
	if d == nil || d.pool == nil || c.Host.IsNull() || c.Host.IsUnknown() || c.Host.ValueString() == "" {
		return nil
	}
	h := &remoteHost{pool: d.pool, target: d.resolve(c), devices: &d.devices}
	if entry, fenced := d.fencedTarget(h.target.Host, h.target.Port); fenced {
		tflog.Debug(ctx, "not contacting a fenced host ahead of need", map[string]any{"host": h.String(), "fence": entry})
		return nil
	}
	return h
}
