package provider

import (
	"fmt"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

// TestAccPrimary_skipInitialSync: on a fresh pair (both nodes Just Created, Connected,
// Inconsistent) the pair is marked in sync with the version's clear-bitmap command and
// promoted plainly: no resync runs.
func TestAccPrimary_skipInitialSync(t *testing.T) {
	for _, tc := range []struct {
		v    drbdsim.Version
		skip []string
	}{
		{drbdsim.V84, []string{"drbdadm", "--", "--clear-bitmap", "new-current-uuid", "pc0"}},
		{drbdsim.V83, []string{"drbdadm", "--", "--clear-bitmap", "new-current-uuid", "pc0"}},
		{drbdsim.V9, []string{"drbdadm", "new-current-uuid", "--clear-bitmap", "pc0"}},
	} {
		t.Run(tc.v.String(), func(t *testing.T) {
			testAccPreCheck(t)
			e := newTestEnv(t, drbdsim.PairConfig{Version: tc.v, SyncStepPercent: -1})
			e.pair.BringUp()
			accTest(t, resource.TestStep{
				Config: e.skipSyncConfig(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("drbd_primary.test", tfjsonpath.New("role"), knownvalue.StringExact("Primary")),
					statecheck.ExpectKnownValue("drbd_primary.test", tfjsonpath.New("peer_disk_state"), knownvalue.StringExact("UpToDate")),
				},
				Check: func(*terraform.State) error {
					if running, _ := e.pair.Syncing(); running {
						return fmt.Errorf("a resync runs although the initial sync was skipped")
					}
					got := e.node(0).Mutating()
					primary := []string{"drbdadm", "primary", "pc0"}
					if len(got) != 2 || !slices.Equal(got[0], tc.skip) || !slices.Equal(got[1], primary) {
						return fmt.Errorf("node1 ran %q, want exactly %q then %q", got, tc.skip, primary)
					}
					if len(e.node(1).Mutating()) != 0 {
						return fmt.Errorf("node2 ran %q", e.node(1).Mutating())
					}
					return nil
				},
			})
		})
	}
}

// TestAccPrimary_skipInitialSyncRefused: this node Outdated with old data and the peer
// blank passes the fresh-pair guard, but its metadata is not Just Created: the skip is
// refused and nothing changes.
func TestAccPrimary_skipInitialSyncRefused(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1})
	e.pair.BringUp()
	e.node(0).SetDiskState("UpToDate") // node1 held data once...
	e.node(0).SetDiskState("Outdated") // ...and is Outdated now; node2 is blank (Inconsistent)
	e.pair.Disconnect()
	e.pair.Reconnect()
	before := e.applyFails(t, e.skipSyncConfig(),
		diagRE("Refusing to Skip the Initial Sync", "not Just Created", "Nothing was changed"))
	e.expectNoMutations(before, "node%d ran %q")
}

// TestAccPrimary_skipInitialSyncNeedsForceAndPeer is a plan-time check.
func TestAccPrimary_skipInitialSyncNeedsForceAndPeer(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	accTest(t, resource.TestStep{
		Config:      e.primaryConfig(0, "skip_initial_sync = true"),
		PlanOnly:    true,
		ExpectError: diagRE("Skip Initial Sync Needs Force"),
	})
}
