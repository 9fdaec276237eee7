package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

func testAccChefHAFlow(t *testing.T, v drbdsim.Version, wantVersion string) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Version: v})
	var before [2]int
	// The example has its own provider block, so the providers are given per step.
	resource.ParallelTest(t, resource.TestCase{
		Steps: []resource.TestStep{
			{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				ConfigDirectory:          config.StaticDirectory(exampleDir),
				ConfigVariables:          e.exampleVariables(nil),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("drbd_primary.primary", tfjsonpath.New("role"), knownvalue.StringExact("Primary")),
					statecheck.ExpectKnownValue("drbd_sync.initial", tfjsonpath.New("in_sync"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("drbd_resource.backend1[0]", tfjsonpath.New("drbd_version"), knownvalue.StringExact(wantVersion)),
					statecheck.ExpectKnownValue("drbd_resource.backend1[0]", tfjsonpath.New("device"), knownvalue.StringExact("/dev/drbd0")),
					statecheck.ExpectKnownOutputValueAtPath("primary_status", tfjsonpath.New("disk_state"), knownvalue.StringExact("UpToDate")),
					statecheck.ExpectKnownOutputValueAtPath("secondary_status", tfjsonpath.New("role"), knownvalue.StringExact("Secondary")),
					statecheck.ExpectKnownOutputValueAtPath("secondary_status", tfjsonpath.New("in_sync"), knownvalue.Bool(true)),
				},
				Check: e.checkRunbookDone(),
			},
			{
				// Idempotent: a second apply plans nothing and sends no mutating command.
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				PreConfig:                e.snapshotMutations(&before),
				ConfigDirectory:          config.StaticDirectory(exampleDir),
				ConfigVariables:          e.exampleVariables(nil),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: e.checkNoNewMutations(&before),
			},
		},
		CheckDestroy: func(_ *terraform.State) error {
			// Destroy unmounts, demotes and takes the resource down, but never wipes data.
			if _, _, ok := e.node(0).MountedAt(defaultMountpoint); ok {
				return fmt.Errorf("filesystem still mounted after destroy")
			}
			if !e.node(0).HasMetadata() || e.node(0).FSUUID() == "" {
				return fmt.Errorf("destroy lost metadata or the filesystem")
			}
			return nil
		},
	})
}

func TestAccChefHAFlow_drbd84(t *testing.T) { testAccChefHAFlow(t, drbdsim.V84, "8.4.11") }

func TestAccChefHAFlow_drbd9(t *testing.T) { testAccChefHAFlow(t, drbdsim.V9, "9.2.12") }

func TestAccChefHAFlow_drbd83(t *testing.T) { testAccChefHAFlow(t, drbdsim.V83, "8.3.13") }
