package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"golang.org/x/sync/singleflight"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

// This file holds the one status read: readStatus (errors returned, for pollers) and probe
// (errors as diagnostics), both taking a statusKind that says how fresh the read must be.

// statusKind says which DRBD status read a step needs.
type statusKind struct {
	shared    bool        // may share a read made by another Read of this refresh
	stateOnly bool        // roles and disk states only, without the kernel log
	sizes     bool        // also the backing disk and device sizes (drbd.ProbeWithSizesCommand)
	after     *drbd.Probe // a repeated read after this one: the status command only
}

var (
	// statusFresh reads everything now (versions, device, state, the kernel log's split-brain
	// verdict): what Create, Update and Delete decide on.
	statusFresh = statusKind{}
	// statusShared is statusFresh with the sizes, shared by the Reads of one refresh: the
	// drbd_resource, drbd_primary, drbd_sync and drbd_status of one node ask for the same read
	// (probeCache), and drbd_resource's grow check finds the sizes in it.
	statusShared = statusKind{shared: true, sizes: true}
	// statusGuard reads roles and disk states without the kernel log
	// (drbd.StateProbeCommand): for a guard that needs no split-brain verdict; cheaper on
	// slow hosts.
	statusGuard = statusKind{stateOnly: true}
)

// statusPoll is the kind of a repeated read after prev: it runs only the status command (one
// program instead of four) and keeps prev's versions and device.
func statusPoll(prev *drbd.Probe) statusKind { return statusKind{after: prev} }

// statusError marks status reads that reached the host but failed there (bad exit status,
// unparsable output); everything else readStatus returns is a transport error.
type statusError struct{ msg string }

// Error returns the explanation.
func (e *statusError) Error() string { return e.msg }

// statusErrorf makes a statusError; its text is the whole explanation, with no prefix.
func statusErrorf(format string, args ...any) error {
	return &statusError{msg: fmt.Sprintf(format, args...)}
}

// readStatus reads the DRBD status of res on h in one round trip. Transport errors are
// returned as they come from sshx, so pollers can tell them apart and retry.
func (h *remoteHost) readStatus(ctx context.Context, res drbd.ResourceName, kind statusKind) (*drbd.Probe, error) {
	switch {
	case kind.shared && h.cache != nil:
		return h.cache.read(ctx, h, res)
	case kind.after != nil:
		prev := kind.after
		return h.statusFrom(ctx, prev.PollCommand(res), func(out string) (*drbd.Probe, error) { return prev.ParsePoll(res.String(), out) })
	}
	cmd := drbd.ProbeCommand(res)
	switch {
	case kind.stateOnly:
		cmd = drbd.StateProbeCommand(res)
	case kind.sizes:
		cmd = drbd.ProbeWithSizesCommand(res)
	}
	return h.statusFrom(ctx, cmd, func(out string) (*drbd.Probe, error) { return drbd.ParseProbe(res.String(), out) })
}

// statusFrom runs a status command and parses its output.
func (h *remoteHost) statusFrom(ctx context.Context, cmd string, parse func(string) (*drbd.Probe, error)) (*drbd.Probe, error) {
	out, err := h.exec(ctx, cmd, readOnly)
	if err != nil {
		return nil, err
	}
	if out.ExitCode != 0 {
		return nil, statusErrorf("%s", exitDetail(h, cmd, out, ""))
	}
	p, err := parse(out.Stdout)
	if err != nil {
		return nil, statusErrorf("the DRBD status read from %s could not be understood: %s\n\nOutput:\n%s",
			h, err, tailLines(out.Stdout, stderrTailLines))
	}
	for _, w := range p.Warnings {
		tflog.Warn(ctx, "DRBD status parse warning", map[string]any{"host": h.String(), "warning": w})
	}
	return p, nil
}

// probe is readStatus that reports a failure as a diagnostic under summary.
func (h *remoteHost) probe(ctx context.Context, diags *diag.Diagnostics, summary string, res drbd.ResourceName, kind statusKind) (*drbd.Probe, bool) {
	p, err := h.readStatus(ctx, res, kind)
	if err != nil {
		diags.AddError(summary, statusErrorDetail(ctx, h, err))
		return nil, false
	}
	return p, true
}

// statusErrorDetail explains a failed status read.
func statusErrorDetail(ctx context.Context, h *remoteHost, err error) string {
	if isTransportError(err) {
		return transportDetail(ctx, h, "(DRBD status read)", err)
	}
	return err.Error()
}

// isTransportError reports whether err came from SSH rather than from the command.
func isTransportError(err error) bool {
	var se *statusError
	return err != nil && !errors.As(err, &se)
}

// probeCacheTTL bounds how long a refresh reuses a status read of one host: long enough for
// the Reads of one `terraform plan` (they run in parallel), short enough that a later
// operation never sees an old state.
const probeCacheTTL = 10 * time.Second

// probeCache lets the Reads of one refresh share the DRBD status read of a host (statusShared).
// Create, Update, Delete, the guards and sync polling always read afresh, and any command
// not marked readOnly sent to any host drops every entry first (the two nodes' states are
// coupled).
//
// It also keeps the status a promotion read (afterPromotion): a healthy promotion's, the pair
// Connected with every disk UpToDate on both nodes read in its own round trip, or a guarded
// promotion's read after `drbdadm primary`. The drbd_sync that follows on that node answers
// from it when it shows the pair in sync, or the peer is fenced (a failover: nothing to wait
// for), instead of reading again, as an operator who has just seen the state does. Any
// command sent to any host afterwards drops it, except those marked leavesDRBD (the mount and
// the ready file between the promotion and the sync step), and it is used at most once,
// within probeCacheTTL.
type probeCache struct {
	mu       sync.Mutex
	entries  map[string]probeEntry // target + "/" + resource
	promoted map[string]probeEntry // target + "/" + resource: a healthy promotion's status
	group    singleflight.Group
}

// probeEntry is a status read and when it was read.
type probeEntry struct {
	probe *drbd.Probe
	at    time.Time
}

// read returns a probe of resource on h no older than probeCacheTTL, reading it (once, for
// every concurrent caller) when there is none.
func (c *probeCache) read(ctx context.Context, h *remoteHost, resource drbd.ResourceName) (*drbd.Probe, error) {
	key := h.String() + "/" + resource.String()
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && time.Since(e.at) < probeCacheTTL {
		c.mu.Unlock()
		return e.probe, nil
	}
	c.mu.Unlock()
	v, err, _ := c.group.Do(key, func() (any, error) {
		p, err := h.readStatus(ctx, resource, statusKind{sizes: true})
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.entries == nil {
			c.entries = map[string]probeEntry{}
		}
		c.entries[key] = probeEntry{probe: p, at: time.Now()}
		c.mu.Unlock()
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	p, _ := v.(*drbd.Probe)
	return p, nil
}

// forget drops every entry: a command on one node can change what its peer reports too.
// keepPromoted keeps the promotions' readings, for a command marked leavesDRBD.
func (c *probeCache) forget(keepPromoted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	if !keepPromoted {
		clear(c.promoted)
	}
}

// notePromoted records st, the status of resource on h read in a promotion's round trip or
// right after it: a healthy promotion's (the pair Connected, every disk UpToDate on both
// nodes, h now Primary) or a guarded promotion's read after `drbdadm primary`.
func (c *probeCache) notePromoted(h *remoteHost, resource drbd.ResourceName, st drbd.Status) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.promoted == nil {
		c.promoted = map[string]probeEntry{}
	}
	c.promoted[h.String()+"/"+resource.String()] = probeEntry{probe: &drbd.Probe{Status: st}, at: time.Now()}
}

// afterPromotion returns, once, the status a promotion of resource on h recorded, when no
// command that may change DRBD's state was sent to any host since and it is younger than
// probeCacheTTL.
func (c *probeCache) afterPromotion(h *remoteHost, resource drbd.ResourceName) (drbd.Status, bool) {
	if c == nil {
		return drbd.Status{}, false
	}
	key := h.String() + "/" + resource.String()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.promoted[key]
	delete(c.promoted, key)
	if !ok || time.Since(e.at) >= probeCacheTTL {
		return drbd.Status{}, false
	}
	return e.probe.Status, true
}
