package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"golang.org/x/crypto/ssh"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

func TestAccProvider_badConfig(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	cases := map[string]struct {
		provider string
		want     string
	}{
		"policy": {`
provider "drbd" {
  host_key_policy = "maybe"
}`, `(?s)host_key_policy.*value must be one of`},
		"malformedKey": {`
provider "drbd" {
  private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n"
}`, `(?s)Invalid SSH Configuration.*private`},
		"duration": {`
provider "drbd" {
  connect_timeout = "soon"
}`, `Invalid (Time )?Duration`},
		"port": {`
provider "drbd" {
  port = 70000
}`, `(?s)port.*between 1 and 65535`},
		// Nothing records the bastion's key in any state: under accept-new it must be pinned or
		// in known_hosts, or every run would trust whatever key it offers.
		"bastionUnknownUnderAcceptNew": {`
provider "drbd" {
  password         = "x"
  host_key_policy  = "accept-new"
  known_hosts_file = "/dev/null"
  bastion {
    host = "bastion.example.invalid"
  }
}`, diagRE("Invalid SSH Configuration", "bastion root@bastion.example.invalid:22", "accept-new", "host_key in the bastion block", "known_hosts").String()},
		"bastionRevokedMarker": {`
provider "drbd" {
  password = "x"
  bastion {
    host     = "bastion.example.invalid"
    host_key = "@revoked * ` + e.hosts[0].AuthorizedKeyLine() + `"
  }
}`, diagRE("Invalid Host Key", "@revoked").String()},
		"passphraseWithoutKey": {`
provider "drbd" {
  private_key_passphrase = "x"
}`, `(?s)private_key.*must be specified|Missing Attribute`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			accTest(t, resource.TestStep{
				Config:      requiredProviders + tc.provider + e.statusBlock(0, "test"),
				ExpectError: regexp.MustCompile(tc.want),
			})
		})
	}
}

func TestAccProvider_hostKeyMismatch(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	// known_hosts lists the original key; then the host presents another one.
	cfg := e.providerConfig() + e.statusBlock(0, "test")
	e.newHostKeys(0)
	accTest(t, resource.TestStep{
		Config:      cfg,
		ExpectError: regexp.MustCompile(`(?s)host key.*` + regexp.QuoteMeta(e.hosts[0].Fingerprint())),
	})
	if got := e.hosts[0].Commands(); len(got) != 0 {
		t.Errorf("commands sent to a host with the wrong key: %q", got)
	}
}

func TestAccProvider_acceptNewRecordsAndEnforces(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	first, second := e.newHostKeys(0)
	firstFP := e.hosts[0].Fingerprint()
	cfg := e.providerBlock(`host_key_policy = "accept-new"`) +
		block(`resource "drbd_chef_backend_ready" "test"`, e.hostArgs(0), "reconfigure = false")
	accTest(t,
		resource.TestStep{
			Config: cfg,
			Check:  resource.TestCheckResourceAttr("drbd_chef_backend_ready.test", "host_key_fingerprint", firstFP),
		},
		resource.TestStep{
			// The key changes after the first contact: accept-new refuses it on refresh.
			PreConfig:   func() { e.rekey(0, second) },
			Config:      cfg,
			ExpectError: regexp.MustCompile(`(?s)host key.*` + regexp.QuoteMeta(firstFP)),
		},
		resource.TestStep{
			// The original key is back: refresh and destroy work again.
			PreConfig: func() { e.rekey(0, first) },
			Config:    cfg,
		},
	)
}

// TestAccProvider_pinEnforcedOnReusedConnection: a drbd_status without a pin (accept-new)
// opens the connection to the host; a second drbd_status on the same host pinned to another
// key, read after it on that pooled connection, is refused naming the pin, and nothing runs
// for it.
func TestAccProvider_pinEnforcedOnReusedConnection(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	other, _ := e.newHostKeys(1) // a key that is not node1's
	otherLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other.PublicKey())))
	cfg := e.providerBlock(`host_key_policy = "accept-new"`, "connect_retries = 0") +
		e.statusBlock(0, "open") +
		block(`data "drbd_status" "pinned"`, e.hostArgs(0), `resource   = "pc0"`, fmt.Sprintf("host_key   = %q", otherLine),
			"depends_on = [data.drbd_status.open]")
	accTest(t, resource.TestStep{
		Config:      cfg,
		PlanOnly:    true,
		ExpectError: diagRE("HOST KEY MISMATCH", e.hosts[0].Fingerprint(), sshx.Fingerprint(other.PublicKey())+" (pinned host_key)"),
	})
	if got, want := e.probes(0), 1; got != want {
		t.Errorf("status reads on node1 = %d, want %d (the unpinned data source's only)", got, want)
	}
	if got := e.hosts[0].Handshakes(); got != 1 {
		t.Errorf("handshakes with node1 = %d, want 1", got)
	}
}
