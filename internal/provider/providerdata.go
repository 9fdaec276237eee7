package provider

import "github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"

// providerData is what resources receive from Configure.
type providerData struct {
	// pool is nil when the provider configuration held values unknown at plan time.
	pool *sshx.Pool
	// user and port are the provider-level defaults, so that diagnostics name the real target.
	user string
	port int
	// fence is fenced_hosts: hosts never to contact.
	fence fenceSet
	// primaries tracks which hosts reported a resource Primary (second-Primary warnings).
	primaries primaryRegistry
	// probes lets the Reads of one refresh share a host's status read.
	probes probeCache
	// devices remembers the DRBD devices found on each host (see deviceCache).
	devices deviceCache
}

// resolve turns a connection model into the target the pool connects to (sshx decides
// defaults and which recorded fingerprint is enforced).
func (d *providerData) resolve(c connectionModel) sshx.Target {
	return d.pool.Resolve(c.unresolvedTarget())
}
