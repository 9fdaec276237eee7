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

func testAccSyncBasic(t *testing.T, v drbdsim.Version, rateCmd []string) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Version: v, SyncStepPercent: 10}).promote()
	cfg := e.syncOn(0, `resync_rate = "1100M"`)
	accTest(t,
		resource.TestStep{
			Config: cfg,
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
		e.idempotentStep(cfg),
		resource.TestStep{
			// Drift: the pair degrades (full resync of the secondary); apply waits again.
			PreConfig:        func() { e.sh(1, "drbdadm invalidate pc0") },
			Config:           cfg,
			ConfigPlanChecks: planAction("drbd_sync.test", plancheck.ResourceActionCreate),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("drbd_sync.test", tfjsonpath.New("in_sync"), knownvalue.Bool(true)),
			},
		},
		e.importStep("drbd_sync.test", 0, "pc0", "resync_rate", "peer_host", "peer_port", "poll_interval"),
	)
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
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: 10}).promote()
	e.pair.Disconnect()
	accTest(t, resource.TestStep{
		Config:      e.syncConfig(`connect_timeout = "1s"`),
		ExpectError: regexp.MustCompile(`(?s)did not connect within\s+connect_timeout`),
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
			e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
			f.inject(e)
			before := e.applyFails(t, e.syncOn(0, `resync_rate = "1100M"`),
				regexp.MustCompile(f.want))
			e.expectNoMutations(before, "node%d: commands sent although the state was hopeless: %q")
		})
	}
}

func TestAccSync_timeoutRestoresRate(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	accTest(t, resource.TestStep{
		Config:      e.syncOn(0, `resync_rate = "1100M"`, "timeouts {\n    create = \"1s\"\n  }"),
		ExpectError: regexp.MustCompile(`(?s)timed out.*Last state: cs:SyncSource`),
	})
	for i := range 2 {
		if len(e.node(i).ResyncOptions()) != 0 {
			t.Errorf("node%d: raised rate left in place after the timeout: %v", i+1, e.node(i).ResyncOptions())
		}
	}
}

func TestAccSync_survivesDroppedConnection(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: 10}).promote()
	var probes atomic.Int32
	e.hosts[0].DropOnCommand(func(cmd string) bool {
		// Drop the third status read: well inside the wait loop.
		return strings.Contains(cmd, probeMarker) && probes.Add(1) == 3
	})
	accTest(t, resource.TestStep{
		Config: e.syncConfig(),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("drbd_sync.test", tfjsonpath.New("in_sync"), knownvalue.Bool(true)),
		},
		Check: func(_ *terraform.State) error {
			if probes.Load() < 3 || e.hosts[0].Handshakes() < 2 {
				return fmt.Errorf("the drop did not happen (probes %d, handshakes %d)", probes.Load(), e.hosts[0].Handshakes())
			}
			return nil
		},
	})
}

func TestAccSync_badRate(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{}).promote()
	for _, rate := range []string{"fast", "1100M; reboot", "", "-1M", "1100 M"} {
		t.Run(rate, func(t *testing.T) {
			accTest(t, resource.TestStep{
				Config:      e.syncConfig(fmt.Sprintf("resync_rate = %q", rate)),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Invalid Resync Rate`),
			})
		})
	}
}
