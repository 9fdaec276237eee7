package provider

import (
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

// primaryRegistry remembers which hosts reported a resource Primary without a connected
// peer in this provider process, so that two such Primaries of one pair (a partition with
// two writers, which neither side can see) are warned about wherever the second is seen
// (drbd_primary and drbd_status on both nodes read the pair from both sides). A connected
// Primary needs no registry: DRBD shows its peer's role. Many pairs may use the same
// resource name, so a host's pair is its configured peer (peer_host of drbd_primary or
// drbd_sync) when one is known, else the only other host seen with that resource name; with
// more hosts and no peer known nothing is warned.
type primaryRegistry struct {
	mu    sync.Mutex
	roles map[string]map[string]bool   // resource -> host -> Primary without a connected peer
	peers map[string]map[string]string // resource -> host -> its peer (both directions)
}

// notePeer records that host and peer form the pair of resource.
func (r *primaryRegistry) notePeer(resource, host, peer string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peers == nil {
		r.peers = map[string]map[string]string{}
	}
	if r.peers[resource] == nil {
		r.peers[resource] = map[string]string{}
	}
	r.peers[resource][host], r.peers[resource][peer] = peer, host
}

// note records whether host is Primary without a connected peer for resource and, when it
// is, returns its pair's other host if that one is too.
func (r *primaryRegistry) note(resource, host string, primary bool) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.roles == nil {
		r.roles = map[string]map[string]bool{}
	}
	roles := r.roles[resource]
	if roles == nil {
		roles = map[string]bool{}
		r.roles[resource] = roles
	}
	roles[host] = primary
	if !primary {
		return nil
	}
	peer, known := r.peers[resource][host]
	if !known {
		if len(roles) != 2 {
			return nil
		}
		for h := range roles {
			if h != host {
				peer = h
			}
		}
	}
	if roles[peer] {
		return []string{peer}
	}
	return nil
}

// warnSecondPrimary records what a Read saw and warns when the other host of the same pair
// was seen Primary too.
func (h *remoteHost) warnSecondPrimary(diags *diag.Diagnostics, st drbd.Status, resource drbd.ResourceName) {
	if h.primaries == nil || !st.Configured {
		return
	}
	others := h.primaries.note(resource.String(), h.String(), st.Role == drbd.RolePrimary && !drbd.PeerConnected(st))
	if len(others) == 0 {
		return
	}
	diags.AddWarning("Two DRBD Primaries", fmt.Sprintf("DRBD resource %s is Primary on %s and on %s: both can write, and "+
		"their data diverges while they are not connected (split brain). If that is not a dual-primary configuration, "+
		"demote the node whose writes are to be discarded, or fence it.", resource, h, strings.Join(others, " and ")))
}
