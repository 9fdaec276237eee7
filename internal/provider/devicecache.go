package provider

import (
	"strings"
	"sync"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

// deviceCache remembers, per host and DRBD resource, the device that a promotion or a device
// lookup on that host found in this provider process, so that the drbd_filesystem that
// follows a drbd_primary needs no lookup of its own. A device changes only with the
// resource's configuration: writing a resource file on a host forgets that host's entries.
type deviceCache struct {
	mu sync.Mutex
	m  map[string]string // target + "/" + resource -> device
}

// get returns the device of res on h when it is known.
func (c *deviceCache) get(h *remoteHost, res drbd.ResourceName) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	dev, ok := c.m[h.String()+"/"+res.String()]
	return dev, ok
}

// set records dev for res on h; an empty dev records nothing.
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
		if strings.HasPrefix(k, prefix) {
			delete(c.m, k)
		}
	}
}
