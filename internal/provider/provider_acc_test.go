package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
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
}`, `Invalid Duration`},
		"port": {`
provider "drbd" {
  port = 70000
}`, `(?s)port.*between 1 and 65535`},
		"passphraseWithoutKey": {`
provider "drbd" {
  private_key_passphrase = "x"
}`, `(?s)private_key.*must be specified|Missing Attribute`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: requiredProviders + tc.provider + fmt.Sprintf(`
data "drbd_status" "test" {
  %s
  resource = "pc0"
}
`, e.hostArgs(0)),
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

func TestAccProvider_hostKeyMismatch(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	other, _, err := testhost.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	// known_hosts lists the original key; then the host presents another one.
	providerBlock := e.providerConfig()
	e.hosts[0].SetHostKey(other)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: providerBlock + fmt.Sprintf(`
data "drbd_status" "test" {
  %s
  resource = "pc0"
}
`, e.hostArgs(0)),
			ExpectError: regexp.MustCompile(`(?s)host key.*` + regexp.QuoteMeta(e.hosts[0].Fingerprint())),
		}},
	})
	if got := e.hosts[0].Commands(); len(got) != 0 {
		t.Errorf("commands sent to a host with the wrong key: %q", got)
	}
}

func TestAccProvider_acceptNewRecordsAndEnforces(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	first, _, err := testhost.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := testhost.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	e.hosts[0].SetHostKey(first)
	firstFP := e.hosts[0].Fingerprint()
	cfg := func(policy string) string {
		return requiredProviders + fmt.Sprintf(`
provider "drbd" {
  private_key     = <<-EOT
%s
EOT
  host_key_policy = %q
}

resource "drbd_chef_backend_ready" "test" {
  %s
  reconfigure = false
}
`, e.keyPEM, policy, e.hostArgs(0))
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg("accept-new"),
				Check:  resource.TestCheckResourceAttr("drbd_chef_backend_ready.test", "host_key_fingerprint", firstFP),
			},
			{
				// The key changes after the first contact: accept-new refuses it on refresh.
				PreConfig: func() {
					e.hosts[0].SetHostKey(second)
					e.hosts[0].DropConnections()
				},
				Config:      cfg("accept-new"),
				ExpectError: regexp.MustCompile(`(?s)host key.*` + regexp.QuoteMeta(firstFP)),
			},
			{
				// The original key is back: refresh and destroy work again.
				PreConfig: func() {
					e.hosts[0].SetHostKey(first)
					e.hosts[0].DropConnections()
				},
				Config: cfg("accept-new"),
			},
		},
	})
}
