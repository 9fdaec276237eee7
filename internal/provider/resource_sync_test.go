package provider

import (
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

func (e *testEnv) syncConfig(extra string) string {
	return e.providerConfig() + fmt.Sprintf(`
resource "drbd_sync" "test" {
  %s
  resource      = "pc0"
  poll_interval = "100ms"
  %s
}
`, e.hostArgs(0), extra)
}

func (e *testEnv) peerArgs() string {
	return fmt.Sprintf("peer_host = %q\n  peer_port = %d", e.hosts[1].Host(), e.hosts[1].Port())
}

func testAccSyncBasic(t *testing.T, v drbdsim.Version, rateCmd []string) {
	testAccPreCheck(t)
	e := primaryPair(t, drbdsim.PairConfig{Version: v, SyncStepPercent: 10})
	extra := `resync_rate = "1100M"` + "\n  " + e.peerArgs()
	var before [2]int
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: e.syncConfig(extra),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("drbd_sync.test", tfjsonpath.New("in_sync"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("drbd_sync.test", tfjsonpath.New("disk_state"), knownvalue.StringExact("UpToDate")),
					statecheck.ExpectKnownValue("drbd_sync.test", tfjsonpath.New("peer_disk_state"), knownvalue.StringExact("UpToDate")),
				},
				Check: func(_ *terraform.State) error {
					for i := range 2 {
						if !e.ranCommand(i, rateCmd...) {
							return fmt.Errorf("node%d: resync rate not applied with %q: %q", i+1, rateCmd, e.mutations(i))
						}
						if e.ranCommand(i, "drbdadm", "adjust", "pc0") || len(e.node(i).ResyncOptions()) != 0 {
							return fmt.Errorf("node%d: configured resync values not restored: %v", i+1, e.node(i).ResyncOptions())
						}
					}
					return nil
				},
			},
			{
				PreConfig:        e.snapshotMutations(&before),
				Config:           e.syncConfig(extra),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            e.checkNoNewMutations(&before),
			},
			{
				// Drift: the pair degrades (full resync of the secondary); apply waits again.
				PreConfig: func() { e.sh(1, "drbdadm invalidate pc0") },
				Config:    e.syncConfig(extra),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("drbd_sync.test", plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("drbd_sync.test", tfjsonpath.New("in_sync"), knownvalue.Bool(true)),
				},
			},
			{
				ResourceName:            "drbd_sync.test",
				ImportState:             true,
				ImportStateId:           e.importID(0, "pc0"),
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"resync_rate", "peer_host", "peer_port", "poll_interval"},
			},
		},
	})
}

func TestAccSync_drbd84(t *testing.T) {
	testAccSyncBasic(t, drbdsim.V84, []string{"drbdadm", "disk-options", "--c-plan-ahead=0", "--resync-rate=1100M", "--c-min-rate=0", "pc0"})
}

func TestAccSync_drbd9(t *testing.T) {
	testAccSyncBasic(t, drbdsim.V9, []string{"drbdadm", "peer-device-options", "--c-plan-ahead=0", "--resync-rate=1100M", "--c-min-rate=0", "pc0"})
}

func TestAccSync_drbd83(t *testing.T) {
	testAccSyncBasic(t, drbdsim.V83, []string{"drbdsetup", "/dev/drbd0", "syncer", "-r", "1100M"})
}

func TestAccSync_peerDisconnected(t *testing.T) {
	testAccPreCheck(t)
	e := primaryPair(t, drbdsim.PairConfig{SyncStepPercent: 10})
	e.pair.Disconnect()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      e.syncConfig(`connect_timeout = "1s"`),
			ExpectError: regexp.MustCompile(`(?s)did not connect within\s+connect_timeout`),
		}},
	})
}

func TestAccSync_failsFast(t *testing.T) {
	testAccPreCheck(t)
	faults := map[string]struct {
		inject func(e *testEnv)
		want   string
	}{
		"splitBrain": {func(e *testEnv) { e.pair.SplitBrain() }, `(?s)cannot finish syncing.*StandAlone`},
		"diskless":   {func(e *testEnv) { e.node(0).SetDiskState("Diskless") }, `(?s)cannot finish syncing.*Diskless`},
		"failed":     {func(e *testEnv) { e.node(1).SetDiskState("Failed") }, `(?s)cannot finish syncing.*Failed`},
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			e := primaryPair(t, drbdsim.PairConfig{SyncStepPercent: -1})
			f.inject(e)
			before := [2]int{len(e.mutations(0)), len(e.mutations(1))}
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      e.syncConfig(`resync_rate = "1100M"` + "\n  " + e.peerArgs()),
					ExpectError: regexp.MustCompile(f.want),
				}},
			})
			for i := range 2 {
				if got := e.mutations(i)[before[i]:]; len(got) != 0 {
					t.Errorf("node%d: commands sent although the state was hopeless: %q", i+1, got)
				}
			}
		})
	}
}

func TestAccSync_timeoutRestoresRate(t *testing.T) {
	testAccPreCheck(t)
	e := primaryPair(t, drbdsim.PairConfig{SyncStepPercent: -1})
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      e.syncConfig(`resync_rate = "1100M"` + "\n  " + e.peerArgs() + "\n  timeouts {\n    create = \"1s\"\n  }"),
			ExpectError: regexp.MustCompile(`(?s)timed out.*Last state: cs:SyncSource`),
		}},
	})
	for i := range 2 {
		if len(e.node(i).ResyncOptions()) != 0 {
			t.Errorf("node%d: raised rate left in place after the timeout: %v", i+1, e.node(i).ResyncOptions())
		}
	}
}

func TestAccSync_survivesDroppedConnection(t *testing.T) {
	testAccPreCheck(t)
	e := primaryPair(t, drbdsim.PairConfig{SyncStepPercent: 10})
	var probes atomic.Int32
	e.hosts[0].DropOnCommand(func(cmd string) bool {
		// Drop the third status read: well inside the wait loop.
		return strings.Contains(cmd, "@@drbd-probe") && probes.Add(1) == 3
	})
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: e.syncConfig(""),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("drbd_sync.test", tfjsonpath.New("in_sync"), knownvalue.Bool(true)),
			},
			Check: func(_ *terraform.State) error {
				if probes.Load() < 3 || e.hosts[0].Handshakes() < 2 {
					return fmt.Errorf("the drop did not happen (probes %d, handshakes %d)", probes.Load(), e.hosts[0].Handshakes())
				}
				return nil
			},
		}},
	})
}

func TestAccSync_badRate(t *testing.T) {
	testAccPreCheck(t)
	e := primaryPair(t, drbdsim.PairConfig{})
	for _, rate := range []string{"fast", "1100M; reboot", "", "-1M", "1100 M"} {
		t.Run(rate, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      e.syncConfig(fmt.Sprintf("resync_rate = %q", rate)),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(`Invalid Resync Rate`),
				}},
			})
		})
	}
}
