package provider

import (
	"context"
	"fmt"
	"strings"
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

// deviceCache remembers, per host and DRBD resource, the device (and, for a resource of one
// volume, the minor) that a promotion, a device lookup or a prefetch on that host found in
// this provider process, so that the drbd_filesystem that follows a drbd_primary needs no
// lookup of its own, and a promotion can read the state from /proc/drbd alone. Both change
// only with the resource's configuration: writing a resource file on a host forgets that
// host's entries. An entry a prefetch is still reading is waited for.
type deviceCache struct {
	mu sync.Mutex
	m  map[string]*deviceEntry // target + "/" + resource
}

// deviceEntry is what deviceCache knows of one resource on one host.
type deviceEntry struct {
	ready  chan struct{} // closed once device and minor are set (or the prefetch gave up)
	device string
	minor  int // -1: unknown, or more than one volume
}

// entry returns the entry of res on h, nil when there is none.
func (c *deviceCache) entry(h *remoteHost, res drbd.ResourceName) *deviceEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[h.String()+"/"+res.String()]
}

// wait returns the entry of res on h once it is complete, nil when there is none (or ctx
// ended first).
func (c *deviceCache) wait(ctx context.Context, h *remoteHost, res drbd.ResourceName) *deviceEntry {
	e := c.entry(h, res)
	if e == nil {
		return nil
	}
	select {
	case <-e.ready:
		return e
	case <-ctx.Done():
		return nil
	}
}

// get returns the device of res on h when it is known.
func (c *deviceCache) get(ctx context.Context, h *remoteHost, res drbd.ResourceName) (string, bool) {
	if e := c.wait(ctx, h, res); e != nil && e.device != "" {
		return e.device, true
	}
	return "", false
}

// minor returns the minor of res on h when it is known and the resource has one volume.
func (c *deviceCache) minor(ctx context.Context, h *remoteHost, res drbd.ResourceName) (int, bool) {
	if e := c.wait(ctx, h, res); e != nil && e.minor >= 0 {
		return e.minor, true
	}
	return 0, false
}

// set records dev for res on h, with the minor unknown.
func (c *deviceCache) set(h *remoteHost, res drbd.ResourceName, dev string) {
	c.setMinor(h, res, dev, -1)
}

// setMinor records dev and minor (-1: unknown) for res on h; an empty dev records nothing.
func (c *deviceCache) setMinor(h *remoteHost, res drbd.ResourceName, dev string, minor int) {
	if dev == "" {
		return
	}
	e := &deviceEntry{ready: make(chan struct{}), device: dev, minor: minor}
	close(e.ready)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*deviceEntry{}
	}
	c.m[h.String()+"/"+res.String()] = e
}

// pending records that a prefetch is reading res on h, unless something is known or being
// read already, and returns the function that completes it (dev "" when it found nothing).
func (c *deviceCache) pending(h *remoteHost, res drbd.ResourceName) (func(dev string, minor int), bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := h.String() + "/" + res.String()
	if c.m[key] != nil {
		return nil, false
	}
	if c.m == nil {
		c.m = map[string]*deviceEntry{}
	}
	e := &deviceEntry{ready: make(chan struct{}), minor: -1}
	c.m[key] = e
	return func(dev string, minor int) {
		c.mu.Lock()
		e.device, e.minor = dev, minor
		if dev == "" && c.m[key] == e {
			delete(c.m, key)
		}
		c.mu.Unlock()
		close(e.ready)
	}, true
}

// forgetHost drops every entry of h.
func (c *deviceCache) forgetHost(h *remoteHost) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prefix := h.String() + "/"
	for k := range c.m {
		if strings.HasPrefix(k, prefix) {
			delete(c.m, k)
		}
	}
}

// warmTimeout bounds a background connection opened ahead of need.
const warmTimeout = 15 * time.Second

// warm opens the pooled SSH connection to c in the background and reads there, with one
// `drbdsetup events2 --now` (a status read, by name), the device and minor of res, so that
// the steps that come next on that host (in a switchover, the promotion and the mount on
// the new primary) wait neither for a handshake nor for a lookup. It never contacts a fenced
// host, changes nothing, and only logs a failure: the step that needs the host reports its
// own. Host keys are checked as for any connection. It reports whether it started.
func (d *providerData) warm(ctx context.Context, c connectionModel, res drbd.ResourceName) bool {
	h := d.warmable(ctx, c)
	if h == nil {
		return false
	}
	done, reading := d.devices.pending(h, res)
	if !reading {
		return d.warmConnection(ctx, c) // known, or being read already
	}
	go func() {
		wctx, cancel := context.WithTimeout(context.Background(), warmTimeout)
		defer cancel()
		dev, minor := "", -1
		defer func() { done(dev, minor) }()
		out, err := d.pool.Exec(wctx, h.target, sshx.Command{Cmd: drbd.Events2NowCommand(res)})
		if err != nil || out.ExitCode != 0 {
			tflog.Debug(ctx, "reading a host ahead of need failed", map[string]any{"host": h.String(), "error": fmt.Sprint(err), "exit_code": out.ExitCode})
			return
		}
		if minors := drbd.ParseEvents2Minors(res.String(), out.Stdout); len(minors) == 1 {
			dev, minor = drbd.DevicePath(minors[0]), minors[0]
		}
	}()
	return true
}

// warmConnection is warm without the read: only the SSH connection is opened.
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

// minorWait bounds how long a promotion waits for a minor still being read ahead of need;
// past it, the promotion reads the state with events2 itself.
const minorWait = time.Second

// promoteHealthy promotes resource in one round trip when the pair is healthy and at rest
// (drbd.PromoteHealthyCommand). It returns the status after the promotion and true when it
// promoted, or reported why DRBD refused (an error in diags); false when the state was
// anything else, so that nothing ran and the caller takes its guarded path.
func (h *remoteHost) promoteHealthy(ctx context.Context, diags *diag.Diagnostics, summary string, res drbd.ResourceName) (drbd.Status, bool) {
	// With the minor known (one volume) the state comes from /proc/drbd alone; a state that is
	// not plainly healthy there gets the events2 check before the guarded path.
	mctx, cancel := context.WithTimeout(ctx, minorWait)
	minor, ok := h.devices.minor(mctx, h, res)
	cancel()
	if ok {
		if st, done := h.promoteHealthyWith(ctx, diags, summary, res, drbd.PromoteHealthyMinorCommand(res, minor)); done {
			return st, true
		}
	}
	return h.promoteHealthyWith(ctx, diags, summary, res, drbd.PromoteHealthyCommand(res))
}

// promoteHealthyWith is promoteHealthy with the promotion command cmd.
func (h *remoteHost) promoteHealthyWith(ctx context.Context, diags *diag.Diagnostics, summary string, res drbd.ResourceName, cmd string) (drbd.Status, bool) {
	out, ok := h.run(ctx, diags, summary, cmd)
	if !ok {
		return drbd.Status{}, true
	}
	hp, err := drbd.ParsePromoteHealthy(res.String(), out.Stdout)
	switch {
	case err != nil:
		diags.AddError(summary, fmt.Sprintf("Promoting %s on %s: %s. Check the resource with `drbdadm status %s` there.", res, h, err, res))
		return drbd.Status{}, true
	case !hp.Attempted:
		tflog.Debug(ctx, "not a healthy pair at rest: taking the guarded promotion", map[string]any{"host": h.String(), "state": out.Stdout})
		return drbd.Status{}, false
	case !hp.Promoted():
		diags.AddError(summary, exitDetail(h, drbd.NewCommands(drbd.Versions{}).Primary(res), sshx.Result{ExitCode: hp.Primary.Exit, Stderr: hp.Primary.Output},
			"The pair looked healthy (Connected, both Secondary, both UpToDate) just before; check the kernel log of this node."))
		return drbd.Status{}, true
	}
	tflog.Info(ctx, "promoted a healthy DRBD pair at rest", map[string]any{"host": h.String(), "resource": res.String()})
	st := hp.After()
	minor := -1
	if minors := drbd.ParseEvents2Minors(res.String(), hp.Events2.Output); len(minors) == 1 || hp.Events2.Output == "" {
		minor = st.Minor
	}
	h.devices.setMinor(h, res, st.Device, minor)
	return st, true
}
