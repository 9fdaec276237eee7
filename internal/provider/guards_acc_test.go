package provider

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

// ranProgram reports whether node i ran a program whose argv contains every word of words.
func (e *testEnv) ranProgram(i int, words ...string) bool {
	for _, argv := range e.node(i).Executed() {
		if !slices.ContainsFunc(words, func(w string) bool { return !slices.Contains(argv, w) }) {
			return true
		}
	}
	return false
}

// TestAccGuards_forceEveryVolume: a two-volume 8.4 resource whose volume 0 is a fresh pair
// (Inconsistent/Inconsistent) and whose volume 1 the peer holds UpToDate: `primary --force`
// would force both, so the forced promotion is refused naming volume 1, and nothing runs.
func TestAccGuards_forceEveryVolume(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Volumes: 2, SyncStepPercent: -1})
	e.pair.BringUp()
	e.node(1).SetVolumeDiskState(1, "UpToDate")
	before := e.applyFails(t, e.primaryConfig(0, "force = true"),
		diagRE("Refusing to Force DRBD Primary", "volume 1 (minor 1)", "UpToDate data", "Nothing was changed"))
	e.expectNoMutations(before, "node%d ran %q although the force guard refused")
}

// TestAccGuards_forceEveryVolumeFresh: both volumes of a two-volume 8.4 resource fresh: forced.
func TestAccGuards_forceEveryVolumeFresh(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Volumes: 2, SyncStepPercent: -1})
	e.pair.BringUp()
	accTest(t, resource.TestStep{
		Config: e.primaryConfig(0, "force = true", "demote_on_destroy = false"),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("drbd_primary.test", tfjsonpath.New("role"), knownvalue.StringExact("Primary")),
		},
		Check: func(*terraform.State) error {
			if !e.ranCommand(0, "drbdadm", "primary", "--force", "pc0") {
				return fmt.Errorf("no forced promotion: %q", e.mutations(0))
			}
			return nil
		},
	})
}

// TestAccGuards_forceEveryPeer: a three-node DRBD 9 resource whose first peer is fresh and
// whose second (node3) holds UpToDate data: the forced promotion is refused naming node3.
func TestAccGuards_forceEveryPeer(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Version: drbdsim.V9, SyncStepPercent: -1})
	e.pair.BringUp()
	e.pair.SetThirdPeer(drbdsim.ThirdPeer{Connection: "Connected", Role: "Secondary", Disk: "UpToDate"})
	before := e.applyFails(t, e.primaryConfig(0, "force = true"),
		diagRE("Refusing to Force DRBD Primary", `peer "node3"`, "UpToDate data", "Nothing was changed"))
	e.expectNoMutations(before, "node%d ran %q although the force guard refused")
}

// TestAccGuards_failoverWithSeveralPeersRefused: on a three-node DRBD 9 resource with node3
// not connected, promoting a node with UpToDate data is a failover that drbd_primary cannot
// decide (quorum, one peer_host): refused, although its first peer is connected.
func TestAccGuards_failoverWithSeveralPeersRefused(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Version: drbdsim.V9, SyncStepPercent: -1})
	e.pair.BringUp()
	e.sh(0, "drbdadm primary --force pc0")
	e.pair.CompleteSync()
	e.sh(0, "drbdadm secondary pc0")
	e.pair.SetThirdPeer(drbdsim.ThirdPeer{Connection: "Connecting", Role: "Unknown", Disk: "DUnknown"})
	before := e.applyFails(t, e.primaryConfig(0, e.peerArgs(1)),
		diagRE("Refusing DRBD Failover", "2 peer connections", `peer "node3"`, "quorum", "Nothing was changed"))
	e.expectNoMutations(before, "node%d ran %q although the failover was refused")
}

// TestAccGuards_skipInitialSyncEveryVolume: volume 1 of node1 is Outdated (it passes the force
// guard, Outdated/Inconsistent) but is not the Inconsistent/Inconsistent that
// new-current-uuid --clear-bitmap may mark in sync: refused naming volume 1.
func TestAccGuards_skipInitialSyncEveryVolume(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Volumes: 2, SyncStepPercent: -1})
	e.pair.BringUp()
	e.node(0).SetVolumeDiskState(1, "Outdated")
	before := e.applyFails(t, e.skipSyncConfig(),
		diagRE("Refusing to Skip the Initial Sync", "volume 1 (minor 1)", "Outdated", "Nothing was changed"))
	e.expectNoMutations(before, "node%d ran %q although the skip was refused")
}

// TestAccGuards_forceStateChangedAfterProbe: the peer's disk becomes UpToDate between the
// status read and the forced promotion. The promotion re-checks in the same shell, runs
// nothing and says what it saw.
func TestAccGuards_forceStateChangedAfterProbe(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1})
	e.pair.BringUp()
	e.node(0).AfterNext("drbdadm dstate", func() { e.node(1).SetDiskState("UpToDate") })
	before := e.applyFails(t, e.primaryConfig(0, "force = true"),
		diagRE("Unable to Promote DRBD Resource", "primary --force", "not run on", "changed since it was read", "UpToDate", "Shell exit code 0", "Nothing was changed"))
	e.expectNoMutations(before, "node%d ran %q although the state changed")
	if e.ranProgram(0, "primary", "--force") {
		t.Error("primary --force ran")
	}
}

// TestAccGuards_skipStateChangedAfterChecks: the peer's disk becomes UpToDate after both
// nodes' generation identifiers were checked: new-current-uuid --clear-bitmap re-checks in
// the same shell and runs nothing.
func TestAccGuards_skipStateChangedAfterChecks(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1})
	e.pair.BringUp()
	e.node(1).AfterNext("get-gi", func() { e.node(1).SetDiskState("UpToDate") })
	before := e.applyFails(t, e.skipSyncConfig(),
		diagRE("Unable to Skip the Initial DRBD Sync", "new-current-uuid", "not run on", "changed since it was read", "UpToDate", "Nothing was changed"))
	e.expectNoMutations(before, "node%d ran %q although the state changed")
	if e.ranProgram(0, "new-current-uuid") {
		t.Error("new-current-uuid ran")
	}
	if got := e.mutations(0); slices.ContainsFunc(got, func(c string) bool { return strings.Contains(c, "primary") }) {
		t.Errorf("node1 promoted: %q", got)
	}
}

// TestAccGuards_forceEveryPeerFresh: every peer of a three-node DRBD 9 resource connected
// and Inconsistent is a fresh resource: forced (the guarded command reads events2).
func TestAccGuards_forceEveryPeerFresh(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Version: drbdsim.V9, SyncStepPercent: -1})
	e.pair.BringUp()
	e.pair.SetThirdPeer(drbdsim.ThirdPeer{Connection: "Connected", Role: "Secondary", Disk: "Inconsistent"})
	accTest(t, resource.TestStep{
		Config: e.primaryConfig(0, "force = true", "demote_on_destroy = false"),
		Check: func(*terraform.State) error {
			if !e.ranCommand(0, "drbdadm", "primary", "--force", "pc0") || !e.ranProgram(0, "events2") {
				return fmt.Errorf("no guarded forced promotion: %q", e.node(0).Executed())
			}
			return nil
		},
	})
}

// TestAccGuards_forceWaitsForEveryPeer: the forced promotion waits (connect_timeout) for every
// peer to connect, not only the first: node3 connects after the first status read, and the
// promotion then decides on it.
func TestAccGuards_forceWaitsForEveryPeer(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Version: drbdsim.V9, SyncStepPercent: -1})
	e.pair.BringUp()
	e.pair.SetThirdPeer(drbdsim.ThirdPeer{Connection: "Connecting", Role: "Unknown", Disk: "DUnknown"})
	e.node(0).AfterNext("drbdadm dstate", func() {
		e.pair.SetThirdPeer(drbdsim.ThirdPeer{Connection: "Connected", Role: "Secondary", Disk: "Inconsistent"})
	})
	accTest(t, resource.TestStep{
		Config: e.primaryConfig(0, "force = true", `connect_timeout = "30s"`, "demote_on_destroy = false"),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("drbd_primary.test", tfjsonpath.New("role"), knownvalue.StringExact("Primary")),
		},
	})
}

// TestAccGuards_failoverWithoutQuorumRefused9: a DRBD 9 resource with quorum enabled whose
// surviving node lost quorum when its fenced peer died ("quorum": false in its status): the
// failover is refused naming the host, the resource and the peer it sees, and nothing runs
// (DRBD refuses a plain promotion without quorum, and `primary --force` would override it).
func TestAccGuards_failoverWithoutQuorumRefused9(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Version: drbdsim.V9, SyncStepPercent: -1}).promote()
	e.pair.CompleteSync()
	e.pair.Disconnect()
	e.hosts[0].Stop()
	e.node(1).SetNoQuorum(true)
	before := e.applyFails(t, e.fencedProvider(0)+e.failoverPrimary(),
		diagRE("Refusing DRBD Promotion Without Quorum", "pc0", "no quorum", `"node1" Connecting`, "Nothing was changed"))
	if got := e.mutations(1)[before[1]:]; len(got) != 0 {
		t.Errorf("node2 ran %q although it has no quorum", got)
	}
}

// TestAccGuards_skipInitialSyncThirdPeerRefused9: skip_initial_sync on a three-node DRBD 9
// resource whose every peer is connected and Inconsistent (the force guard holds): the third
// node's generation identifiers are on a host the resource does not name, so the skip is
// refused naming the peers, and nothing runs (no forced promotion instead either).
func TestAccGuards_skipInitialSyncThirdPeerRefused9(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Version: drbdsim.V9, SyncStepPercent: -1})
	e.pair.BringUp()
	e.pair.SetThirdPeer(drbdsim.ThirdPeer{Connection: "Connected", Role: "Secondary", Disk: "Inconsistent"})
	before := e.applyFails(t, e.skipSyncConfig(),
		diagRE("Refusing to Skip the Initial Sync", "2 peer connections", `peer "node3"`, "Nothing was changed"))
	e.expectNoMutations(before, "node%d ran %q although the skip was refused")
}
