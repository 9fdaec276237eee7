package provider

import (
	"fmt"
	"regexp"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

func TestAccChefBackendReady_basic(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	accCase(t, resource.TestCase{
		Steps: []resource.TestStep{
			{
				Config: e.readyConfig(1),
				Check: func(_ *terraform.State) error {
					if !e.node(1).FileExists(defaultReadyFile) || len(e.node(1).ReconfigureRuns()) != 1 {
						return fmt.Errorf("ready file %v, reconfigure runs %v", e.node(1).FileExists(defaultReadyFile), e.node(1).ReconfigureRuns())
					}
					return nil
				},
			},
			e.idempotentStep(e.readyConfig(1)),
			{
				// Drift: the ready file removed out of band is touched again and reconfigure re-run.
				PreConfig:        func() { e.node(1).RemoveFile(defaultReadyFile) },
				Config:           e.readyConfig(1),
				ConfigPlanChecks: planAction("drbd_chef_backend_ready.test", plancheck.ResourceActionCreate),
				Check: func(_ *terraform.State) error {
					if !e.node(1).FileExists(defaultReadyFile) || len(e.node(1).ReconfigureRuns()) != 2 {
						return fmt.Errorf("not repaired: file %v runs %v", e.node(1).FileExists(defaultReadyFile), e.node(1).ReconfigureRuns())
					}
					return nil
				},
			},
			e.importStep("drbd_chef_backend_ready.test", 1, defaultReadyFile, "timeouts"),
		},
		CheckDestroy: e.checkReadyFile(1, true, "destroy must leave the host alone by default"),
	})
}

func TestAccChefBackendReady_removeOnDestroy(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	accCase(t, resource.TestCase{
		Steps: []resource.TestStep{{
			Config: e.readyConfig(0, "remove_ready_file_on_destroy = true", "reconfigure = false"),
			Check: func(_ *terraform.State) error {
				if len(e.node(0).ReconfigureRuns()) != 0 {
					return fmt.Errorf("reconfigure = false still ran reconfigure")
				}
				return nil
			},
		}},
		CheckDestroy: e.checkReadyFile(0, false, "ready file left after destroy with remove_ready_file_on_destroy"),
	})
}

func TestAccChefBackendReady_reconfigureFails(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	e.node(0).FailNext("chef-server-ctl", 3, "FATAL: Chef::Exceptions::ChildConvergeError: boom")
	accTest(t, resource.TestStep{
		Config:      e.readyConfig(0),
		ExpectError: regexp.MustCompile(`(?s)Unable to Reconfigure Chef Server.*chef-server-ctl reconfigure.*exited 3.*ChildConvergeError: boom`),
	})
}

func TestAccChefBackendReady_timeout(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	e.node(0).BlockReconfigure(true)
	accTest(t, resource.TestStep{
		Config:      e.readyConfig(0, "timeouts {\n    create = \"1s\"\n  }"),
		ExpectError: regexp.MustCompile(`(?s)Unable to Reconfigure Chef Server.*timeout`),
	})
}

// TestAccChefBackendReady_stopCommandRunsFirst: on destroy, stop_command runs before anything
// else of the resource (here, before the ready file is removed).
func TestAccChefBackendReady_stopCommandRunsFirst(t *testing.T) {
	testAccPreCheck(t)
	e, stop := newChefFSEnv(t)
	var from int
	accCase(t, resource.TestCase{
		Steps: []resource.TestStep{{
			Config: e.readyConfig(0, `stop_command = "chef-server-ctl stop"`, "remove_ready_file_on_destroy = true"),
			Check: func(_ *terraform.State) error {
				if stop.count(0) != 0 {
					return fmt.Errorf("stop_command ran on create")
				}
				from = len(e.hosts[0].Commands())
				return nil
			},
		}},
		CheckDestroy: func(_ *terraform.State) error {
			want := []string{"chef-server-ctl stop", "rm -f " + defaultReadyFile}
			if got := e.chefFSNonReads(from); !slices.Equal(got, want) {
				return fmt.Errorf("destroy ran %q, want %q", got, want)
			}
			return e.readyFile(0, false, "ready file left")
		},
	})
}

// TestAccChefBackendReady_stopCommandFails: a failing stop_command fails the destroy with the
// host, exit code and output, and nothing after it runs; the ready file stays.
func TestAccChefBackendReady_stopCommandFails(t *testing.T) {
	testAccPreCheck(t)
	e, stop := newChefFSEnv(t)
	cfg := e.readyConfig(0, `stop_command = "chef-server-ctl stop"`, "remove_ready_file_on_destroy = true", "reconfigure = false")
	var from int
	accCase(t, resource.TestCase{
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: func(_ *terraform.State) error {
					from = len(e.hosts[0].Commands())
					return nil
				},
			},
			{
				PreConfig: func() { stop.fail(1, "fail: opscode-erchef: runsv not running") },
				Config:    cfg,
				Destroy:   true,
				ExpectError: diagRE("Unable to Stop Chef Server", "`chef-server-ctl stop` on", e.hosts[0].Addr(), "exited 1.",
					"Last lines of output:", "fail: opscode-erchef: runsv not running", "Nothing else was done"),
			},
			{
				PreConfig: func() {
					if got, want := e.chefFSNonReads(from), []string{"chef-server-ctl stop"}; !slices.Equal(got, want) {
						t.Errorf("the failed destroy ran %q, want only %q", got, want)
					}
					if !e.node(0).FileExists(defaultReadyFile) {
						t.Error("the ready file was removed although the stop failed")
					}
					stop.fail(0, "")
				},
				Config:  cfg,
				Destroy: true,
			},
		},
		CheckDestroy: e.checkReadyFile(0, false, "ready file left after the stop succeeded"),
	})
}

// TestAccChefBackendReady_noStopCommand: without stop_command, destroy runs nothing but the
// removal it was asked for; a blank stop_command is refused at plan time.
func TestAccChefBackendReady_noStopCommand(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	var from int
	accCase(t, resource.TestCase{
		Steps: []resource.TestStep{
			{
				Config:      e.readyConfig(0, `stop_command = "  "`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Blank Value`),
			},
			{
				Config: e.readyConfig(0, "remove_ready_file_on_destroy = true"),
				Check: func(_ *terraform.State) error {
					from = len(e.hosts[0].Commands())
					return nil
				},
			},
		},
		CheckDestroy: func(_ *terraform.State) error {
			if got, want := e.chefFSNonReads(from), []string{"rm -f " + defaultReadyFile}; !slices.Equal(got, want) {
				return fmt.Errorf("destroy ran %q, want %q", got, want)
			}
			return nil
		},
	})
}
