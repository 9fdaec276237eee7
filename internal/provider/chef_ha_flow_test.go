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

// exampleDir is the complete two-backend runbook users apply; the flow tests apply it as is.
const exampleDir = "../../examples/chef-ha-failover"

func (e *testEnv) exampleVariables() config.Variables {
	return config.Variables{
		"backend1_host": config.StringVariable(e.hosts[0].Host()),
		"backend1_port": config.IntegerVariable(e.hosts[0].Port()),
		"backend2_host": config.StringVariable(e.hosts[1].Host()),
		"backend2_port": config.IntegerVariable(e.hosts[1].Port()),
		"private_key":   config.StringVariable(e.keyPEM),
		"known_hosts":   config.StringVariable(e.knownHosts()),
	}
}

// checkRunbookDone verifies the host side of the runbook on the simulated pair.
func (e *testEnv) checkRunbookDone() resource.TestCheckFunc {
	return func(_ *terraform.State) error {
		p, s := e.node(0), e.node(1)
		if p.Role() != "Primary" || s.Role() != "Secondary" {
			return fmt.Errorf("roles %s/%s, want Primary/Secondary", p.Role(), s.Role())
		}
		if p.DiskState() != "UpToDate" || s.DiskState() != "UpToDate" {
			return fmt.Errorf("disks %s/%s, want UpToDate/UpToDate", p.DiskState(), s.DiskState())
		}
		if dev, fs, ok := p.MountedAt(defaultMountpoint); !ok || dev != "/dev/drbd0" || fs != "ext4" {
			return fmt.Errorf("primary mount = %q %q %v, want /dev/drbd0 ext4", dev, fs, ok)
		}
		for i := range 2 {
			if !e.node(i).FileExists(defaultReadyFile) {
				return fmt.Errorf("node%d has no %s", i+1, defaultReadyFile)
			}
			if opts := e.node(i).ResyncOptions(); len(opts) != 0 {
				return fmt.Errorf("node%d still has raised resync options %v", i+1, opts)
			}
		}
		pr, sr := p.ReconfigureRuns(), s.ReconfigureRuns()
		if len(pr) != 1 || len(sr) != 1 || pr[0] > sr[0] {
			return fmt.Errorf("reconfigure runs primary=%v secondary=%v, want one each, primary first", pr, sr)
		}
		if !e.ranCommand(0, "mkfs.ext4") || e.ranCommand(1, "mkfs.ext4") {
			return fmt.Errorf("mkfs.ext4 must run on the primary only")
		}
		return nil
	}
}

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
				ConfigVariables:          e.exampleVariables(),
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
				ConfigVariables:          e.exampleVariables(),
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
