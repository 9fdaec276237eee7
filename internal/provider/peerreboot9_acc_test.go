package provider

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

// TestAccSync_peerRebootMidSync9: on DRBD 9 the SyncTarget rebooted mid-resync comes back
// with its configured rate, and DRBD 9's SyncTarget paces the resync, so drbd_sync raises the
// rate on it again. The SyncSource then sees the peer Connecting with its disk still
// Inconsistent, not DUnknown (real 9.2.12, lab crash scenario), which must count as the peer
// being away like 8.4's DUnknown.
func TestAccSync_peerRebootMidSync9(t *testing.T) {
	testAccPreCheck(t)
	var (
		mu    sync.Mutex
		polls int
		e     *testEnv
	)
	e = newEnvWith(t, drbdsim.PairConfig{Version: drbdsim.V9, SyncStepPercent: 10}, envOptions{hook: func(node int, cmd string) {
		if node != 0 || !strings.Contains(cmd, "drbdsetup status") {
			return
		}
		mu.Lock()
		polls++
		n := polls
		mu.Unlock()
		switch n {
		case 3:
			e.sh(1, "drbdadm down pc0") // the plug pulled: the peer's rate settings are gone
		case 6:
			e.sh(1, "drbdadm up pc0") // booted again with the configured (slow) rate
		}
	}})
	e.promote()
	accTest(t, resource.TestStep{
		Config: e.syncOn(0, `resync_rate = "1100M"`),
		Check: func(*terraform.State) error {
			raised := 0
			for _, argv := range e.node(1).Executed() {
				if strings.Join(argv, " ") == "drbdadm peer-device-options --c-plan-ahead=0 --resync-rate=1100M --c-min-rate=0 pc0" {
					raised++
				}
			}
			if raised < 2 {
				return fmt.Errorf("the rate was raised %d times on node2, want again after it came back; node2 ran %v", raised, e.node(1).Executed())
			}
			return nil
		},
	})
}
