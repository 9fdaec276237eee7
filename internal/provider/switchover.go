package provider

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// The steps of a switchover run back to back while Chef's data is unmounted: umount and
// demote on the old primary, promote and mount on the new one. This file keeps that window
// short without weakening a guard: each step checks and acts in one round trip on the host
// (drbd.PromoteHealthyCommand, hostfs.MountIfFormattedCommand), a device learnt by one step
// serves the next, and the SSH connection to the new primary is opened before it is needed.

// deviceCache remembers, per host and DRBD resource, the device a promotion or a device
// lookup on that host found in this provider process, so that the drbd_filesystem that
// follows a drbd_primary needs no lookup of its own. A device changes only with the resource's
// configuration: writing a resource file on a host forgets that host's entries.
type deviceCache struct {
	mu sync.Mutex
	m  map[string]string // target + "/" + resource
}

func (c *deviceCache) get(h *remoteHost, res drbd.ResourceName) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	dev, ok := c.m[h.String()+"/"+res.String()]
	return dev, ok
}

func (c *deviceCache) set(h *remoteHost, res drbd.ResourceName, dev string) {
	if dev == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]string{}
	}
	c.m[h.String()+"/"+res.String()] = dev
}

// forgetHost drops every entry of h.
func (c *deviceCache) forgetHost(h *remoteHost) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prefix := h.String() + "/"
	for k := range c.m {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			delete(c.m, k)
		}
	}
}

// warmTimeout bounds a background connection opened ahead of need.
const warmTimeout = 15 * time.Second

// warm opens the pooled SSH connection to c in the background, so that the step that needs
// it next (in a switchover, the promotion on the new primary) does not wait for a
// handshake. It never connects to a fenced host, sends no command, and only logs a failure:
// the step that needs the host reports its own. Host keys are checked as for any connection.
// It reports whether it started.
func (d *providerData) warm(ctx context.Context, c connectionModel) bool {
	if d == nil || d.pool == nil || c.Host.IsNull() || c.Host.IsUnknown() || c.Host.ValueString() == "" {
		return false
	}
	t := d.target(c)
	if entry, fenced := d.fencedTarget(t.Host, t.Port); fenced {
		tflog.Debug(ctx, "not warming a fenced host", map[string]any{"host": t.String(), "fence": entry})
		return false
	}
	go func() {
		wctx, cancel := context.WithTimeout(context.Background(), warmTimeout)
		defer cancel()
		if _, err := d.pool.Fingerprint(wctx, t); err != nil {
			tflog.Debug(ctx, "opening a connection ahead of need failed", map[string]any{"host": t.String(), "error": err.Error()})
		}
	}()
	return true
}

// promoteHealthy promotes resource in one round trip when the pair is healthy and at rest
// (drbd.PromoteHealthyCommand). It returns the status after the promotion and true when it
// promoted, or reported why DRBD refused (an error in diags); false when the state was
// anything else, so that nothing ran and the caller takes its guarded path.
func (h *remoteHost) promoteHealthy(ctx context.Context, diags *diag.Diagnostics, summary string, res drbd.ResourceName) (drbd.Status, bool) {
	out, ok := h.run(ctx, diags, summary, drbd.PromoteHealthyCommand(res))
	if !ok {
		return drbd.Status{}, true
	}
	hp, err := drbd.ParsePromoteHealthy(res.String(), out.Stdout)
	switch {
	case err != nil:
		diags.AddError(summary, fmt.Sprintf("Promoting %s on %s: %s. Check the resource with `drbdadm status %s` there.", res, h, err, res))
		return drbd.Status{}, true
	case !hp.Attempted:
		tflog.Debug(ctx, "not a healthy pair at rest: taking the guarded promotion", map[string]any{"host": h.String(), "events2": hp.Events2.Output})
		return drbd.Status{}, false
	case !hp.Promoted():
		diags.AddError(summary, exitDetail(h, drbd.NewCommands(drbd.Versions{}).Primary(res), sshx.Result{ExitCode: hp.Primary.Exit, Stderr: hp.Primary.Output},
			"The pair looked healthy (Connected, both Secondary, both UpToDate) just before; check the kernel log of this node."))
		return drbd.Status{}, true
	}
	tflog.Info(ctx, "promoted a healthy DRBD pair at rest", map[string]any{"host": h.String(), "resource": res.String()})
	st := hp.After()
	h.devices.set(h, res, st.Device)
	return st, true
}
