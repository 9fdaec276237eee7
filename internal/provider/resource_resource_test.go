package provider

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

func TestAccResource_basic(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	accCase(t, resource.TestCase{
		Steps: []resource.TestStep{
			{
				Config: e.resourceConfig(0),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("drbd_resource.test", tfjsonpath.New("device"), knownvalue.StringExact("/dev/drbd0")),
					statecheck.ExpectKnownValue("drbd_resource.test", tfjsonpath.New("minor"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue("drbd_resource.test", tfjsonpath.New("drbd_version"), knownvalue.StringExact("8.4.11")),
					statecheck.ExpectKnownValue("drbd_resource.test", tfjsonpath.New("host_key_fingerprint"), knownvalue.StringExact(e.hosts[0].Fingerprint())),
				},
				Check: func(_ *terraform.State) error {
					if !e.node(0).HasMetadata() || !e.node(0).IsUp() {
						return fmt.Errorf("node1 metadata=%v up=%v", e.node(0).HasMetadata(), e.node(0).IsUp())
					}
					if e.node(1).IsUp() {
						return fmt.Errorf("node2 must be left alone")
					}
					return nil
				},
			},
			e.idempotentStep(e.resourceConfig(0)),
			{
				// Drift: taken down out of band; the plan re-creates, the apply brings it up
				// without creating metadata again.
				PreConfig:        func() { e.sh(0, "drbdadm down pc0") },
				Config:           e.resourceConfig(0),
				ConfigPlanChecks: planAction("drbd_resource.test", plancheck.ResourceActionCreate),
				Check: func(_ *terraform.State) error {
					if !e.node(0).IsUp() {
						return fmt.Errorf("apply did not bring pc0 up again")
					}
					n := 0
					for _, argv := range e.node(0).Executed() {
						if len(argv) > 1 && argv[0] == "drbdadm" && slices.Contains(argv, "create-md") {
							n++
						}
					}
					if n != 1 {
						return fmt.Errorf("create-md ran %d times, want 1", n)
					}
					return nil
				},
			},
			e.importStep("drbd_resource.test", 0, "pc0"),
		},
		CheckDestroy: func(_ *terraform.State) error {
			if e.node(0).IsUp() || !e.node(0).HasMetadata() {
				return fmt.Errorf("destroy must take pc0 down and keep its metadata (up=%v metadata=%v)", e.node(0).IsUp(), e.node(0).HasMetadata())
			}
			return nil
		},
	})
}

func TestAccResource_config(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	cfg := e.pair.ResConfig()
	withConfig := func(c string) string {
		return e.resourceConfig(0, fmt.Sprintf("config = %q", c))
	}
	accTest(t,
		resource.TestStep{
			Config: withConfig(cfg),
			Check: func(_ *terraform.State) error {
				if got, _ := e.node(0).ReadFile("/etc/drbd.d/pc0.res"); got != cfg {
					return fmt.Errorf("config file = %q", got)
				}
				return nil
			},
		},
		resource.TestStep{
			// Drift: the file edited by hand shows as an update, applied with adjust.
			PreConfig:        func() { e.node(0).WriteFile("/etc/drbd.d/pc0.res", cfg+"\n# edited by hand\n") },
			Config:           withConfig(cfg),
			ConfigPlanChecks: planAction("drbd_resource.test", plancheck.ResourceActionUpdate),
			Check: func(_ *terraform.State) error {
				if got, _ := e.node(0).ReadFile("/etc/drbd.d/pc0.res"); got != cfg {
					return fmt.Errorf("config file not repaired: %q", got)
				}
				if !e.ranCommand(0, "drbdadm", "adjust", "pc0") {
					return fmt.Errorf("drbdadm adjust did not run after the config change")
				}
				return nil
			},
		},
	)
}

func TestAccResource_refusesCreateMDOverFilesystem(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	e.node(1).PutBackingFilesystem("ext4")
	accTest(t, resource.TestStep{
		Config:      e.resourceConfig(1),
		ExpectError: regexp.MustCompile(`(?s)Refusing to Create DRBD Metadata.*/dev/vdb.*ext4`),
	})
	if got := e.mutations(1); len(got) != 0 {
		t.Errorf("mutating commands were sent despite the guard: %q", got)
	}
}

func TestAccResource_badName(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	for _, name := range []string{"pc0; rm -rf /", "pc 0", "", "-x", "pc0\nx", "$(id)"} {
		t.Run(name, func(t *testing.T) {
			accTest(t, resource.TestStep{
				Config:      e.providerConfig() + block(`resource "drbd_resource" "test"`, e.hostArgs(0), fmt.Sprintf("name = %q", name)),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Invalid DRBD Resource Name|Invalid Attribute Value`),
			})
		})
	}
	t.Cleanup(func() {
		if got := e.hosts[0].Commands(); len(got) != 0 {
			t.Errorf("commands reached the host despite plan-time validation: %q", got)
		}
	})
}

// TestAccResource_configTooLarge: a configuration file on the host larger than
// maxConfigBytes is refused at refresh instead of landing in the state, and so is such a
// config in the configuration.
func TestAccResource_configTooLarge(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	cfg := e.pair.ResConfig()
	huge := cfg + "\n#" + strings.Repeat("x", maxConfigBytes) + "\n"
	accTest(t,
		resource.TestStep{Config: e.resourceConfig(0, fmt.Sprintf("config = %q", cfg))},
		resource.TestStep{
			Config: e.resourceConfig(0, fmt.Sprintf("config = %q", huge)),
			// The framework's length validator words it "string length must be at most 1048576".
			ExpectError: diagRE("config", "at most 1048576"),
		},
		resource.TestStep{
			PreConfig:   func() { e.node(0).WriteFile("/etc/drbd.d/pc0.res", huge) },
			Config:      e.resourceConfig(0, fmt.Sprintf("config = %q", cfg)),
			ExpectError: diagRE("DRBD Configuration File Too Large", "/etc/drbd.d/pc0.res", "1 MiB"),
		},
		resource.TestStep{
			PreConfig: func() { e.node(0).WriteFile("/etc/drbd.d/pc0.res", cfg) },
			Config:    e.resourceConfig(0, fmt.Sprintf("config = %q", cfg)),
		},
	)
}
