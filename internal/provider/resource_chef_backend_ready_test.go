package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

func (e *testEnv) readyConfig(i int, extra string) string {
	return e.providerConfig() + fmt.Sprintf(`
resource "drbd_chef_backend_ready" "test" {
  %s
  %s
}
`, e.hostArgs(i), extra)
}

func TestAccChefBackendReady_basic(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	var before [2]int
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: e.readyConfig(1, ""),
				Check: func(_ *terraform.State) error {
					if !e.node(1).FileExists(defaultReadyFile) || len(e.node(1).ReconfigureRuns()) != 1 {
						return fmt.Errorf("ready file %v, reconfigure runs %v", e.node(1).FileExists(defaultReadyFile), e.node(1).ReconfigureRuns())
					}
					return nil
				},
			},
			{
				PreConfig:        e.snapshotMutations(&before),
				Config:           e.readyConfig(1, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            e.checkNoNewMutations(&before),
			},
			{
				// Drift: the ready file removed out of band is touched again and reconfigure re-run.
				PreConfig: func() { e.node(1).RemoveFile(defaultReadyFile) },
				Config:    e.readyConfig(1, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("drbd_chef_backend_ready.test", plancheck.ResourceActionCreate),
				}},
				Check: func(_ *terraform.State) error {
					if !e.node(1).FileExists(defaultReadyFile) || len(e.node(1).ReconfigureRuns()) != 2 {
						return fmt.Errorf("not repaired: file %v runs %v", e.node(1).FileExists(defaultReadyFile), e.node(1).ReconfigureRuns())
					}
					return nil
				},
			},
			{
				ResourceName:            "drbd_chef_backend_ready.test",
				ImportState:             true,
				ImportStateId:           e.importID(1, defaultReadyFile),
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
		},
		CheckDestroy: func(_ *terraform.State) error {
			if !e.node(1).FileExists(defaultReadyFile) {
				return fmt.Errorf("destroy must leave the host alone by default")
			}
			return nil
		},
	})
}

func TestAccChefBackendReady_removeOnDestroy(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: e.readyConfig(0, "remove_ready_file_on_destroy = true\n  reconfigure = false"),
			Check: func(_ *terraform.State) error {
				if len(e.node(0).ReconfigureRuns()) != 0 {
					return fmt.Errorf("reconfigure = false still ran reconfigure")
				}
				return nil
			},
		}},
		CheckDestroy: func(_ *terraform.State) error {
			if e.node(0).FileExists(defaultReadyFile) {
				return fmt.Errorf("ready file left after destroy with remove_ready_file_on_destroy")
			}
			return nil
		},
	})
}

func TestAccChefBackendReady_reconfigureFails(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	e.node(0).FailNext("chef-server-ctl", 3, "FATAL: Chef::Exceptions::ChildConvergeError: boom")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      e.readyConfig(0, ""),
			ExpectError: regexp.MustCompile(`(?s)Unable to Reconfigure Chef Server.*chef-server-ctl reconfigure.*exited 3.*ChildConvergeError: boom`),
		}},
	})
}

func TestAccChefBackendReady_timeout(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	e.node(0).BlockReconfigure(true)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      e.readyConfig(0, "timeouts {\n    create = \"1s\"\n  }"),
			ExpectError: regexp.MustCompile(`(?s)Unable to Reconfigure Chef Server.*timeout`),
		}},
	})
}
