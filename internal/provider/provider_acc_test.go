package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
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
