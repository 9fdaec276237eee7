package provider

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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

// TestAccDay2Example_operations applies examples/chef-ha-failover through every day-2
// operation, each as one change of its variables: switchover and back, failover from a dead
// primary (refused until fenced), rejoin of the restarted node, and split-brain recovery.
func TestAccDay2Example_operations(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Version: drbdsim.V84})
	var (
		fsUUID string
		mark   [2]int
		cmdAt  [2]int
		sentAt [2]int
	)
	snap := func() {
		mark = e.mutationCounts()
		cmdAt = [2]int{len(e.node(0).Executed()), len(e.node(1).Executed())}
		sentAt = [2]int{len(e.hosts[0].Commands()), len(e.hosts[1].Commands())}
	}
	// ranSince reports whether node i ran a command starting with prefix since the last snap.
	ranSince := func(i int, prefix ...string) bool { return argvIndex(e.node(i).Executed(), cmdAt[i], prefix...) >= 0 }
	step := func(vars map[string]config.Variable) resource.TestStep {
		return resource.TestStep{
			ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
			ConfigDirectory:          config.StaticDirectory(exampleDir),
			ConfigVariables:          e.exampleVariables(vars),
		}
	}
	backend2 := map[string]config.Variable{"primary": config.StringVariable("backend2")}
	fenced1 := map[string]config.Variable{
		"primary": config.StringVariable("backend2"),
		"fenced":  config.SetVariable(config.StringVariable("backend1")),
	}

	day1 := step(nil)
	day1.Check = func(*terraform.State) error { return e.checkServing(0, &fsUUID) }

	// Switchover: backend2 becomes primary. Replacement order does it: stop Chef on backend1,
	// unmount, demote, promote backend2 (plainly: its disk is UpToDate), mount, reconfigure.
	switchover := step(backend2)
	switchover.PreConfig = snap
	switchover.ConfigPlanChecks = resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
		plancheck.ExpectResourceAction("drbd_primary.primary", plancheck.ResourceActionDestroyBeforeCreate),
		plancheck.ExpectResourceAction("drbd_filesystem.data", plancheck.ResourceActionDestroyBeforeCreate),
		plancheck.ExpectResourceAction("drbd_resource.backend1[0]", plancheck.ResourceActionNoop),
		plancheck.ExpectResourceAction("drbd_resource.backend2[0]", plancheck.ResourceActionNoop),
	}}
	switchover.Check = func(*terraform.State) error {
		if err := e.checkServing(1, &fsUUID); err != nil {
			return err
		}
		if e.node(0).Role() != "Secondary" || e.node(0).ConnState() != "Connected" {
			return fmt.Errorf("old primary is %s/%s, want Secondary/Connected", e.node(0).Role(), e.node(0).ConnState())
		}
		executed := e.node(0).Executed()
		stop, umount := argvIndex(executed, cmdAt[0], "chef-server-ctl", "stop"), argvIndex(executed, cmdAt[0], "umount")
		if stop < 0 || umount < 0 || stop > umount {
			return fmt.Errorf("on the old primary chef-server-ctl stop ran at %d and umount at %d; the services must stop first", stop, umount)
		}
		if ranSince(1, "drbdadm", "primary", "--force") {
			return errors.New("the switchover forced the promotion; an UpToDate node must be promoted plainly")
		}
		if err := checkSwitchoverRoundTrips(e.commandsSince(0, sentAt[0]), e.commandsSince(1, sentAt[1]), e.node(1).Executed()[cmdAt[1]:]); err != nil {
			return err
		}
		if err := checkChefDowntimeRoundTrips(e.commandsSince(0, sentAt[0]), e.commandsSince(1, sentAt[1])); err != nil {
			return err
		}
		return e.checkNoDown(mark)
	}

	back := step(nil)
	back.PreConfig = snap
	back.Check = func(*terraform.State) error {
		if err := e.checkServing(0, &fsUUID); err != nil {
			return err
		}
		return e.checkNoDown(mark)
	}

	// backend1 (the primary) dies: plans fail, saying to fence it.
	dead := step(nil)
	dead.PreConfig = func() {
		e.pair.Disconnect()
		e.hosts[0].Stop()
	}
	dead.ExpectError = diagRE("could not be reached over SSH", "fenced_hosts")

	// Failover: fence backend1 and make backend2 primary.
	failover := step(fenced1)
	failover.PreConfig = snap
	failover.ExpectNonEmptyPlan = true // drbd_sync stays degraded until backend1 rejoins
	failover.ConfigStateChecks = []statecheck.StateCheck{
		statecheck.ExpectKnownValue("drbd_sync.initial", tfjsonpath.New("in_sync"), knownvalue.Bool(false)),
	}
	failover.Check = func(*terraform.State) error {
		if err := e.checkServing(1, &fsUUID); err != nil {
			return err
		}
		if got := e.commandsSince(0, 0); len(e.node(0).Executed()) != cmdAt[0] {
			return fmt.Errorf("the fenced backend1 ran commands: %q", got)
		}
		if !ranSince(1, "chef-server-ctl", "reconfigure") {
			return errors.New("Chef was not reconfigured on the survivor")
		}
		// Between the mount and the reconfigure only the ready file: drbd_sync reports the
		// degraded pair (its peer fenced) from the status the promotion read after promoting.
		to := e.commandsSince(1, sentAt[1])
		mount := slices.IndexFunc(to, func(c string) bool { return strings.Contains(c, "@@hostfs mount") })
		reconf := slices.Index(to, "chef-server-ctl reconfigure")
		if mount < 0 || reconf < mount {
			return fmt.Errorf("survivor: no mount followed by the reconfigure; all: %q", to)
		}
		// The filesystem's size is read in the mount's round trip.
		if between := to[mount+1 : reconf]; len(between) != 1 || !strings.HasPrefix(between[0], "touch ") {
			return fmt.Errorf("survivor: between the mount and the reconfigure came %q, want only the ready file", between)
		}
		// The device the promotion's read showed serves the mount: no lookup of its own.
		if mount > 0 && strings.HasPrefix(to[mount-1], "drbdadm sh-dev") {
			return fmt.Errorf("survivor: the mount looked up the device again (%q) after the promotion had read it", to[mount-1])
		}
		return nil
	}

	// backend1 boots again (resource down, as after a reboot) and is unfenced: it rejoins as
	// Secondary and resyncs from backend2.
	rejoin := step(backend2)
	rejoin.PreConfig = func() {
		if err := e.node(0).Unmount(defaultMountpoint); err != nil {
			t.Fatal(err)
		}
		e.sh(0, "drbdadm secondary pc0 && drbdadm down pc0")
		e.pair.Reconnect()
		if err := e.hosts[0].Restart(); err != nil {
			t.Fatal(err)
		}
		snap()
	}
	rejoin.ConfigStateChecks = []statecheck.StateCheck{
		statecheck.ExpectKnownValue("drbd_sync.initial", tfjsonpath.New("in_sync"), knownvalue.Bool(true)),
		statecheck.ExpectKnownOutputValueAtPath("secondary_status", tfjsonpath.New("disk_state"), knownvalue.StringExact("UpToDate")),
	}
	rejoin.Check = func(*terraform.State) error {
		if err := e.checkServing(1, &fsUUID); err != nil {
			return err
		}
		if !ranSince(0, "drbdadm", "up", "pc0") {
			return errors.New("backend1's resource was not brought up")
		}
		if ranSince(0, "drbdadm", "create-md") {
			return errors.New("create-md ran on a backend that has metadata")
		}
		if e.node(0).Role() != "Secondary" || e.node(0).DiskState() != "UpToDate" {
			return fmt.Errorf("backend1 is %s/%s, want Secondary/UpToDate", e.node(0).Role(), e.node(0).DiskState())
		}
		return nil
	}

	// A split brain: a partition during which both backends were Primary and wrote. With
	// backend1 chosen as the victim, its changes are discarded and it resyncs from backend2.
	splitBrain := step(map[string]config.Variable{
		"primary":            config.StringVariable("backend2"),
		"split_brain_victim": config.StringVariable("backend1"),
	})
	splitBrain.PreConfig = func() {
		e.pair.Disconnect()
		if err := e.node(0).Promote(); err != nil {
			t.Fatal(err)
		}
		e.node(0).WriteData(4096)
		e.node(1).WriteData(2048)
		e.pair.Reconnect() // two Primaries: DRBD drops the connection, both StandAlone
		e.sh(0, "drbdadm secondary pc0")
		if e.node(0).ConnState() != "StandAlone" || e.node(1).ConnState() != "StandAlone" {
			t.Fatalf("setup: %s/%s, want a split brain", e.node(0).ConnState(), e.node(1).ConnState())
		}
		snap()
	}
	splitBrain.Check = func(*terraform.State) error {
		if err := e.checkServing(1, &fsUUID); err != nil {
			return err
		}
		if got := e.node(0).DiscardedKiB(); got == 0 {
			return errors.New("the victim backend1 discarded nothing")
		}
		if got := e.node(1).DiscardedKiB(); got != 0 {
			return fmt.Errorf("backend2, the survivor, lost %d KiB", got)
		}
		if e.node(0).ConnState() != "Connected" || e.node(0).DiskState() != "UpToDate" {
			return fmt.Errorf("backend1 is %s/%s after recovery, want Connected/UpToDate", e.node(0).ConnState(), e.node(0).DiskState())
		}
		return nil
	}

	resource.ParallelTest(t, resource.TestCase{
		Steps: []resource.TestStep{day1, switchover, back, dead, failover, rejoin, splitBrain},
	})
}

// checkSwitchoverRoundTrips checks what each node received while Chef's data was unmounted
// in a switchover from node1 to node2: on node1 the umount and then at once `drbdadm
// secondary` (no status read in between), on node2 one round trip that checks the pair and
// promotes, then at once one that checks the device and mounts it (no status read, no
// device lookup), running no program but blkid and mount (and mkdir for a new mountpoint)
// after the promotion (ran: the programs node2 ran).
func checkSwitchoverRoundTrips(from, to []string, ran [][]string) error {
	next := func(cmds []string, i int) string {
		if i+1 < len(cmds) {
			return cmds[i+1]
		}
		return "(nothing)"
	}
	umount := slices.IndexFunc(from, isUmount)
	if umount < 0 || next(from, umount) != "drbdadm secondary pc0" {
		return fmt.Errorf("old primary: after the umount came %q, want `drbdadm secondary pc0`; all: %q", next(from, umount), from)
	}
	promote := slices.IndexFunc(to, func(c string) bool { return strings.Contains(c, "echo '@@drbd-probe primary'") })
	if promote < 0 || !strings.Contains(to[promote], "drbdadm primary pc0") || !strings.Contains(to[promote], "drbdsetup events2 --now pc0") {
		return fmt.Errorf("new primary: no promotion checked with events2 in its own round trip; all: %q", to)
	}
	if got := next(to, promote); !strings.Contains(got, "@@hostfs mount") {
		return fmt.Errorf("new primary: after the promotion came %q, want the mount in one round trip; all: %q", got, to)
	}
	i := argvIndex(ran, 0, "drbdadm", "primary", "pc0")
	if i >= 0 && len(ran) > i+2 && ran[i+2][0] == "mkdir" {
		ran = slices.Delete(slices.Clone(ran), i+2, i+3) // the first time on this node: the mountpoint is new
	}
	if i < 0 || len(ran) < i+3 || ran[i+1][0] != "blkid" || ran[i+2][0] != "mount" {
		return fmt.Errorf("new primary: the programs after the promotion were not blkid, then mount: %q", ran)
	}
	return nil
}

// isUmount reports whether c is the switchover's unmount (the checked one, or plain).
func isUmount(c string) bool {
	return strings.HasPrefix(c, "umount ") || strings.Contains(c, "@@hostfs umount")
}

// checkChefDowntimeRoundTrips checks what each node received while Chef was down in a
// switchover from node1 to node2 (from `chef-server-ctl stop` on node1 to the reconfigure on
// node2): on node1 the stop, one
// round trip that checks the mount and unmounts, `drbdadm secondary`, and nothing more before
// its own Chef step (drbd_sync reads no second node of a pair that its node shows in sync);
// on node2, after the promotion and the mount (which reads the filesystem's size in its round
// trip), only the ready file and the reconfigure: drbd_sync answers from the promotion's read
// of a pair in sync, as the by-hand switchover does.
func checkChefDowntimeRoundTrips(from, to []string) error {
	stop := slices.Index(from, "chef-server-ctl stop")
	if stop < 0 || len(from) < stop+4 {
		return fmt.Errorf("old primary: no stop followed by three commands; all: %q", from)
	}
	got := from[stop+1 : stop+4]
	if !strings.Contains(got[0], "@@hostfs umount") || got[1] != "drbdadm secondary pc0" || !strings.HasPrefix(got[2], "touch ") {
		return fmt.Errorf("old primary: after the stop came %q, want the checked umount, `drbdadm secondary pc0`, then its own ready file; all: %q", got, from)
	}
	mount := slices.IndexFunc(to, func(c string) bool { return strings.Contains(c, "@@hostfs mount") })
	reconf := slices.Index(to, "chef-server-ctl reconfigure")
	if mount < 0 || reconf < mount {
		return fmt.Errorf("new primary: no mount followed by the reconfigure; all: %q", to)
	}
	// What a switchover does by hand: only the ready file between the mount and the
	// reconfigure. The filesystem's size is read in the mount's round trip, and drbd_sync
	// answers from the in-sync state the promotion read.
	if between := to[mount+1 : reconf]; len(between) != 1 || !strings.HasPrefix(between[0], "touch ") {
		return fmt.Errorf("new primary: between the mount and the reconfigure came %q, want only the ready file", between)
	}
	return nil
}
