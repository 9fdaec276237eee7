package provider

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

// The remote commands of a verify and a grow apply, counted: every guard checks and acts in
// one round trip, and a read made once is not made again. Status polls (the wait for the
// verify or the resync) are left out: their number follows the simulated progress.

// roundTrip names a remote command for these counts; "" for a status poll.
func roundTrip(c string) string {
	switch {
	case strings.HasPrefix(c, "echo '@@drbd-probe proc'; cat /proc/drbd 2>&1; echo \"@@drbd-rc $?\"") && strings.Count(c, "@@drbd-probe") == 1,
		strings.HasPrefix(c, "echo '@@drbd-probe json'; drbdsetup status ") && strings.Count(c, "@@drbd-probe") == 1:
		return ""
	case strings.Contains(c, "@@drbd-probe guarded'; drbdadm verify "):
		return "guarded verify"
	case strings.Contains(c, "@@drbd-probe guarded'; drbdadm resize "):
		return "guarded resize"
	case strings.HasPrefix(c, "echo '@@drbd-probe version'") && strings.Contains(c, "@@drbd-probe sizes"):
		return "status+sizes"
	case strings.HasPrefix(c, "echo '@@drbd-probe version'") && strings.Contains(c, "@@drbd-probe kernlog"):
		return "status"
	case strings.HasPrefix(c, "echo '@@drbd-probe version'"):
		return "state"
	case strings.HasPrefix(c, "set -f; drbd_cs=$(drbdadm cstate"):
		return "reconnect"
	case strings.HasPrefix(c, "for d in $(drbdadm sh-ll-dev"):
		return "sizes"
	case strings.HasPrefix(c, "echo '@@hostfs blkid'") && strings.Contains(c, "'@@hostfs grow'"):
		return "guarded fs grow"
	case strings.HasPrefix(c, "echo '@@hostfs blkid'"):
		return "fs state"
	case strings.HasPrefix(c, "printf 'device '; blockdev --getsize64"):
		return "fs sizes"
	}
	if f := strings.Fields(c); len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return c
}

// roundTrips names the commands node i received from from on, polls left out.
func (e *testEnv) roundTrips(i, from int) []string {
	var out []string
	for _, c := range e.commandsSince(i, from) {
		if n := roundTrip(c); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// sentCounts is how many commands each node has received so far.
func (e *testEnv) sentCounts() [2]int {
	return [2]int{len(e.hosts[0].Commands()), len(e.hosts[1].Commands())}
}

// checkRoundTrips fails unless each node received exactly want[i] (in order, polls left out)
// since at[i].
func (e *testEnv) checkRoundTrips(at [2]int, want [2][]string) error {
	for i := range 2 {
		if got := e.roundTrips(i, at[i]); !slices.Equal(got, want[i]) {
			return fmt.Errorf("node%d received %q (polls left out), want %q", i+1, got, want[i])
		}
	}
	return nil
}

// TestAccVerify_roundTrips: a verify with resync_out_of_sync and peer_host sends the host one
// guarded verify (state, verify-alg, roles and the verify in one shell) and, when nothing was
// found, nothing else; the peer receives nothing. Blocks found add one status read with the
// kernel log (the kernel's lines and the resync's split-brain check) and the reconnect of the
// Secondary, which checks it in the same shell.
func TestAccVerify_roundTrips(t *testing.T) {
	testAccPreCheck(t)
	for _, v := range []drbdsim.Version{drbdsim.V84, drbdsim.V9} {
		t.Run(v.String(), func(t *testing.T) {
			e := verifyPair(t, v)
			var at [2]int
			cfg := func(run string) string {
				return e.verifyConfig(0, e.peerArgs(1), "resync_out_of_sync = true", fmt.Sprintf("triggers = { run = %q }", run))
			}
			clean := resource.TestStep{Config: cfg("1"), PreConfig: func() { at = e.sentCounts() }}
			clean.Check = func(*terraform.State) error {
				return e.checkRoundTrips(at, [2][]string{{"guarded verify"}, nil})
			}
			found := resource.TestStep{Config: cfg("2"), PreConfig: func() {
				e.pair.InjectOutOfSync(40)
				at = e.sentCounts()
			}}
			found.Check = func(*terraform.State) error {
				return e.checkRoundTrips(at, [2][]string{{"guarded verify", "status"}, {"reconnect"}})
			}
			accTest(t, clean, found)
		})
	}
}

// TestAccGrow_roundTrips: the apply of a grow of both disks (drbd_resource on both nodes,
// each naming the other as peer_host, and the mounted ext4). Besides the refresh (one shared
// status read with the sizes per node, the filesystem's state and sizes), the drbd_resource
// that resizes reads its node's state and sizes once, the peer's once, and runs the guarded
// resize (the state and sizes read again in the same shell); the other drbd_resource reads
// its node once and finds the device grown; the filesystem checks its mount and sizes, runs
// resize2fs and reads the sizes it records.
func TestAccGrow_roundTrips(t *testing.T) {
	t.Run("8.4", func(t *testing.T) { testGrowRoundTrips(t, newGrowEnv(t, drbdsim.V84)) })
	t.Run("9", func(t *testing.T) { testGrowRoundTrips(t, newGrowEnv(t, drbdsim.V9)) })
}

func testGrowRoundTrips(t *testing.T, d *day2Env) {
	d.writeGrow(d.growFilesystem())
	d.apply()
	d.node(0).GrowBacking(grownBackingKiB)
	d.node(1).GrowBacking(grownBackingKiB)
	at := d.sentCounts()
	d.apply()
	// Which node's drbd_resource resizes is Terraform's order: count over both nodes.
	all := append(d.roundTrips(0, at[0]), d.roundTrips(1, at[1])...)
	count := map[string]int{}
	for _, c := range all {
		count[c]++
	}
	want := map[string]int{
		"status+sizes":    5, // the refresh's one per node, each Update's own, the peer's before the resize
		"fs state":        1, // the filesystem's refresh (with its sizes)
		"guarded resize":  1,
		"sizes":           1, // the device size recorded after the resync of the new area
		"guarded fs grow": 1, // the mount check, resize2fs and the sizes recorded
	}
	if !maps.Equal(count, want) {
		t.Errorf("the grow apply sent %v (polls left out), want %v; node1 %q, node2 %q", count, want,
			d.roundTrips(0, at[0]), d.roundTrips(1, at[1]))
	}
}
