package provider

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"golang.org/x/sync/singleflight"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

// probeCacheTTL bounds how long a refresh reuses a status read of one host: long enough for
// the Reads of one `terraform plan` (they run in parallel), short enough that a later
// operation never sees an old state.
const probeCacheTTL = 10 * time.Second

// probeCache lets the Reads of one refresh share the DRBD status read of a host: the
// drbd_resource, drbd_primary, drbd_sync and drbd_status of one node all ask for the same
// probe. Only Reads use it; Create, Update, Delete, the guards and sync polling always read
// afresh, and any other command sent to any host drops every entry first (the two nodes'
// states are coupled).
type probeCache struct {
	mu      sync.Mutex
	entries map[string]probeEntry // target + "/" + resource
	group   singleflight.Group
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
		p, err := h.readStatus(ctx, resource)
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
func (c *probeCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}

// probeForRead is probe for Read: it may share a status read with other Reads of the same
// host in this refresh.
func (h *remoteHost) probeForRead(ctx context.Context, diags *diag.Diagnostics, summary string, res drbd.ResourceName) (*drbd.Probe, bool) {
	if h.cache == nil {
		return h.probe(ctx, diags, summary, res)
	}
	p, err := h.cache.read(ctx, h, res)
	if err != nil {
		diags.AddError(summary, statusErrorDetail(ctx, h, err))
		return nil, false
	}
	return p, true
}
