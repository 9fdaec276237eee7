package provider

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

// Day 2 of drbd_resource: it keeps its node up and connected. These tests drive the real
// Terraform CLI (cliHarness) so that they can read the drift and apply warnings it prints.

// day2Env is a simulated pair with a Terraform working directory.
type day2Env struct {
	*testEnv
	h *cliHarness
}

func newDay2Env(t *testing.T, cfg drbdsim.PairConfig) *day2Env {
	t.Helper()
	testAccPreCheck(t)
	d := &day2Env{testEnv: newTestEnv(t, cfg), h: newCLIHarness(t)}
	d.h.init()
	return d
}

// write makes main.tf hold one drbd_resource per node in nodes (named node1, node2), with
// split_brain_victim = true on the nodes in victims.
func (d *day2Env) write(nodes, victims []int) {
	d.t.Helper()
	cfg := d.providerConfig()
	for _, i := range nodes {
		extra := ""
		if slices.Contains(victims, i) {
			extra = "split_brain_victim = true"
		}
		cfg += block(fmt.Sprintf(`resource "drbd_resource" "node%d"`, i+1), d.hostArgs(i), `name = "pc0"`, extra)
	}
	d.h.writeFile("main.tf", cfg)
}

var bothNodes = []int{0, 1}

func (d *day2Env) apply() string {
	d.t.Helper()
	return d.h.mustRun("apply", "-auto-approve", "-input=false")
}

func (d *day2Env) plan() string {
	d.t.Helper()
	return d.h.mustRun("plan", "-input=false")
}

// expectOutput fails the test unless out matches every group of phrases (each group in order).
func (d *day2Env) expectOutput(what, out string, groups ...[]string) {
	d.t.Helper()
	for _, g := range groups {
		if !diagRE(g...).MatchString(out) {
			d.t.Errorf("%s output lacks %q:\n%s", what, g, out)
		}
	}
}

// expectNoOutput fails the test when out contains s.
func (d *day2Env) expectNoOutput(what, out, s string) {
	d.t.Helper()
	if strings.Contains(out, s) {
		d.t.Errorf("%s output contains %q:\n%s", what, s, out)
	}
}

func (d *day2Env) expectConn(want ...string) {
	d.t.Helper()
	for i := range 2 {
		if got := d.node(i).ConnState(); got != want[i] {
			d.t.Errorf("node%d is %s, want %s", i+1, got, want[i])
		}
	}
}

// splitBrain makes a real split brain on a synced pair with node1 Primary: the replication
// link breaks, node1 writes, node2 is promoted, writes and is demoted again (unless
// node2Primary), then the link comes back and DRBD finds both sides changed. The resource file
// carries DRBD's default after-sb policies (disconnect), as in the 8.4.11 lab capture of an
// unresolved split brain (testdata/drbd-8.4.11/day2, section 5c), so DRBD drops the
// connection and both nodes end StandAlone. The mount, when given, is node2's.
func (d *day2Env) splitBrain(node2Primary bool, mount string) {
	d.t.Helper()
	var keep []string
	for _, l := range strings.SplitAfter(d.pair.ResConfig(), "\n") {
		if !strings.Contains(l, "after-sb-") {
			keep = append(keep, l)
		}
	}
	for i := range 2 {
		d.node(i).WriteFile("/etc/drbd.d/pc0.res", strings.Join(keep, ""))
	}
	d.pair.Disconnect()
	d.node(0).WriteData(4096)
	if err := d.node(1).Promote(); err != nil {
		d.t.Fatal(err)
	}
	if mount != "" {
		if err := d.node(1).Mount(mount); err != nil {
			d.t.Fatal(err)
		}
	}
	d.node(1).WriteData(2048)
	if !node2Primary {
		if err := d.node(1).Demote(); err != nil {
			d.t.Fatal(err)
		}
	}
	d.pair.Reconnect()
	d.expectConn("StandAlone", "StandAlone")
}

// TestAccDay2Resource_downIsDrift: a resource taken down out of band shows as a create, with a
// warning that names the host and says it is down; the apply brings it up (no create-md) and
// the pair connects again.
func TestAccDay2Resource_downIsDrift(t *testing.T) {
	d := newDay2Env(t, drbdsim.PairConfig{SyncStepPercent: -1})
	d.write(bothNodes, nil)
	d.apply()
	d.expectConn("Connected", "Connected")
	d.sh(0, "drbdadm down pc0")
	before := d.mutationCounts()

	out := d.plan()
	d.expectOutput("plan", out,
		[]string{"drbd_resource.node1 will be created"},
		[]string{"Warning: Drift on", d.hostPort(0), "DRBD resource pc0 on", d.hostPort(0),
			"is down (not configured in the kernel): the next apply brings it up."})
	d.expectNoOutput("plan", out, "drbd_resource.node2 will be")
	d.expectNoOutput("plan", out, d.hostPort(1))

	d.apply()
	d.expectMutations(before, [2][]string{{"drbdadm up pc0"}, nil})
	d.expectConn("Connected", "Connected")
	d.expectOutput("plan after apply", d.plan(), []string{"No changes."})
}

// TestAccDay2Resource_adminDisconnect: after `drbdadm disconnect`, Read reports the StandAlone
// node as drift with no split brain; the apply reconnects it with adjust and the pair is
// Connected again.
func TestAccDay2Resource_adminDisconnect(t *testing.T) {
	d := newDay2Env(t, drbdsim.PairConfig{SyncStepPercent: -1})
	d.write(bothNodes, nil)
	d.apply()
	d.sh(1, "drbdadm disconnect pc0")
	d.expectConn("WFConnection", "StandAlone")
	before := d.mutationCounts()

	out := d.plan()
	d.expectOutput("plan", out,
		[]string{"drbd_resource.node2 will be created"},
		[]string{"Warning: Drift on", d.hostPort(1), "DRBD resource pc0 on", d.hostPort(1), "is StandAlone:",
			"DRBD reported no split brain", "drbdadm disconnect", "The next apply reconnects it."})
	d.expectNoOutput("plan", out, "drbd_resource.node1 will be")
	d.expectNoOutput("plan", out, "Where split_brain_victim")

	out = d.apply()
	d.expectNoOutput("apply", out, "Split Brain")
	d.expectMutations(before, [2][]string{nil, {"drbdadm adjust pc0"}})
	d.expectConn("Connected", "Connected")
	d.expectOutput("plan after apply", d.plan(), []string{"No changes."})
}

// TestAccDay2Resource_splitBrain: after a real split brain, an apply without a victim
// reconnects both nodes plainly and warns; DRBD finds the split brain again, both stay
// StandAlone and nothing is discarded. With split_brain_victim = true on node2, node2
// reconnects with --discard-my-data and becomes SyncTarget: its changes, and only its, are
// discarded. Each DRBD version's syntax is checked.
func TestAccDay2Resource_splitBrain(t *testing.T) {
	for _, tc := range []struct {
		v       drbdsim.Version
		discard string
	}{
		{drbdsim.V84, "drbdadm connect --discard-my-data pc0"},
		{drbdsim.V83, "drbdadm -- --discard-my-data connect pc0"},
		{drbdsim.V9, "drbdadm connect --discard-my-data pc0"},
	} {
		t.Run(tc.v.String(), func(t *testing.T) {
			d := newDay2Env(t, drbdsim.PairConfig{Version: tc.v, SyncStepPercent: -1})
			d.promote()
			d.pair.CompleteSync()
			d.write(bothNodes, nil)
			d.apply()
			d.splitBrain(false, "")

			// Without a victim: both nodes are drift, the warning asks for a victim.
			out := d.plan()
			for i := range 2 {
				d.expectOutput("plan", out,
					[]string{fmt.Sprintf("drbd_resource.node%d will be created", i+1)},
					[]string{"Warning: Drift on", d.hostPort(i), "DRBD resource pc0 on", d.hostPort(i), "is StandAlone:",
						"DRBD reported a split brain", "The next apply reconnects it.", "Where split_brain_victim = true",
						"--discard-my-data", "Otherwise it reconnects plainly", "until a victim is chosen",
						"set split_brain_victim = true", "after-sb-1pri discard-secondary"})
			}
			before := d.mutationCounts()
			out = d.apply()
			d.expectMutations(before, [2][]string{{"drbdadm adjust pc0"}, {"drbdadm adjust pc0"}})
			d.expectOutput("apply", out, []string{"Warning: Split Brain Not Resolved on", "reconnected plainly",
				"both nodes stay StandAlone until a victim is chosen"})
			d.expectConn("StandAlone", "StandAlone")
			for i := range 2 {
				if got := d.node(i).DiscardedKiB(); got != 0 {
					t.Errorf("node%d: DRBD discarded %d KiB without a victim", i+1, got)
				}
			}

			// node2 is the victim.
			d.write(bothNodes, []int{1})
			out = d.plan()
			d.expectOutput("plan", out,
				[]string{"drbd_resource.node2 will be created", "split_brain_victim", "= true"},
				[]string{"Warning: Drift on", d.hostPort(1), "is StandAlone:", "DRBD reported a split brain"},
				[]string{"Warning: Drift on", d.hostPort(0), "is StandAlone:", "DRBD reported a split brain"})
			before = d.mutationCounts()
			out = d.apply()
			d.expectMutations(before, [2][]string{{"drbdadm adjust pc0"}, {tc.discard}})
			d.expectOutput("apply", out, []string{"Warning: Discarding Split-Brain Changes on", d.hostPort(1),
				"it was reconnected with", tc.discard, "Remove split_brain_victim once the pair is Connected"})
			d.expectConn("SyncSource", "SyncTarget")
			if got := d.node(1).DiscardedKiB(); got <= 0 {
				t.Errorf("node2 (the victim) discarded %d KiB, want its 2048 KiB", got)
			}
			if got := d.node(0).DiscardedKiB(); got != 0 {
				t.Errorf("node1 (the survivor) discarded %d KiB", got)
			}
			if got := d.node(0).Role(); got != "Primary" {
				t.Errorf("node1 is %s, want Primary", got)
			}

			// Left set, split_brain_victim does nothing on a pair that is not in split brain.
			d.pair.CompleteSync()
			d.expectConn("Connected", "Connected")
			before = d.mutationCounts()
			d.expectOutput("plan after recovery", d.plan(), []string{"No changes."})
			d.apply()
			d.expectMutations(before, [2][]string{nil, nil})
		})
	}
}

// TestAccDay2Resource_primaryVictimRefused: split_brain_victim on a node that is Primary, with
// its device mounted, is refused before anything runs, naming the device, where it is mounted
// and what to do. Once unmounted and demoted, the apply reconnects it with --discard-my-data;
// it waits for its StandAlone peer, which the warning says to reconnect.
func TestAccDay2Resource_primaryVictimRefused(t *testing.T) {
	d := newDay2Env(t, drbdsim.PairConfig{SyncStepPercent: -1})
	d.promote()
	d.sh(0, "mkfs.ext4 -q /dev/drbd0")
	d.pair.CompleteSync()
	d.splitBrain(true, "/data")
	if got := d.node(1).Role(); got != "Primary" {
		t.Fatalf("setup: node2 is %s, want Primary", got)
	}
	d.write([]int{1}, []int{1})
	before := d.mutationCounts()

	out, err := d.h.run("apply", "-auto-approve", "-input=false")
	if err == nil {
		t.Fatalf("apply succeeded; want the victim refused while Primary:\n%s", out)
	}
	d.expectOutput("apply", out, []string{"Error: Refusing to Discard the Changes of a Primary DRBD Node",
		"DRBD resource pc0 on", d.hostPort(1), "is StandAlone after a split brain", "this node is Primary",
		"/dev/drbd0 (mounted on /data)", "Nothing was run.", "unmount /dev/drbd0 (mounted on /data) and demote the node",
		"drbdadm secondary pc0"})
	d.expectMutations(before, [2][]string{nil, nil})
	d.expectConn("StandAlone", "StandAlone")
	if got := d.node(1).DiscardedKiB(); got != 0 {
		t.Errorf("node2 discarded %d KiB although the victim was refused", got)
	}

	if err := d.node(1).Unmount("/data"); err != nil {
		t.Fatal(err)
	}
	d.sh(1, "drbdadm secondary pc0")
	before = d.mutationCounts()
	out = d.apply()
	d.expectMutations(before, [2][]string{nil, {"drbdadm connect --discard-my-data pc0"}})
	d.expectOutput("apply", out, []string{"Warning: Discarding Split-Brain Changes on", d.hostPort(1),
		"If the peer is StandAlone too, reconnect it", "drbdadm connect pc0"})
	d.expectConn("StandAlone", "WFConnection")
	d.sh(0, "drbdadm connect pc0")
	d.expectConn("SyncSource", "SyncTarget")
	if got := d.node(1).DiscardedKiB(); got <= 0 {
		t.Errorf("node2 (the victim) discarded %d KiB, want its 2048 KiB", got)
	}
	if got := d.node(0).DiscardedKiB(); got != 0 {
		t.Errorf("node1 discarded %d KiB", got)
	}
}

// TestAccDay2Resource_victimNeedsAReportedSplitBrain: when the kernel log cannot be read (a
// non-root user under kernel.dmesg_restrict), a StandAlone node is not known to be in split
// brain, so split_brain_victim discards nothing: the node is reconnected plainly, with a
// warning that says so.
func TestAccDay2Resource_victimNeedsAReportedSplitBrain(t *testing.T) {
	d := newDay2Env(t, drbdsim.PairConfig{SyncStepPercent: -1})
	d.promote()
	d.pair.CompleteSync()
	d.write(bothNodes, []int{1})
	d.apply()
	d.splitBrain(false, "")
	d.node(1).RestrictDmesg(true)

	out := d.plan()
	d.expectOutput("plan", out,
		[]string{"Warning: Drift on", d.hostPort(1), "is StandAlone:", "the kernel log could not be read",
			"The next apply reconnects it plainly (split_brain_victim has no effect while no split brain is known)",
			"after-sb-1pri discard-secondary"})
	before := d.mutationCounts()
	out = d.apply()
	d.expectMutations(before, [2][]string{{"drbdadm adjust pc0"}, {"drbdadm adjust pc0"}})
	d.expectOutput("apply", out,
		[]string{"Warning: Split Brain Unknown on", d.hostPort(1), "reconnected plainly (`drbdadm adjust pc0`)",
			"split_brain_victim = true was ignored"},
		[]string{"Warning: Split Brain Not Resolved on", d.hostPort(0)})
	d.expectNoOutput("apply", out, "Discarding Split-Brain Changes")
	d.expectConn("StandAlone", "StandAlone")
	for i := range 2 {
		if got := d.node(i).DiscardedKiB(); got != 0 {
			t.Errorf("node%d: DRBD discarded %d KiB although no split brain was known", i+1, got)
		}
	}
}

// TestAccDay2Resource_twoPrimariesSplitBrain: the split brain of issue 19 (real 8.4.11
// sequence in internal/drbd/testdata/drbd-8.4.11/splitbrain-2pri): node2 promoted and
// written while apart, both nodes Primary at the reconnect with the lab's after-sb-2pri
// call-pri-lost-after-sb. node1's kernel log says "automatically solved. Sync from this node",
// but no resync starts. Usually node1 refuses it and both nodes are StandAlone: drbd_status
// says split_brain = true on both. When node2 drops the connection first (a race, also seen
// in the lab), node1 goes back to WFConnection: not in split brain by itself (false), node2
// is (true). Either way, with node2 unmounted and demoted and split_brain_victim = true on it,
// the apply discards node2's changes, and only those: node1 stays Primary, mounted, and
// resyncs to node2.
func TestAccDay2Resource_twoPrimariesSplitBrain(t *testing.T) {
	for _, tc := range []struct {
		name          string
		victimFirst   bool
		conn          [2]string
		splitBrain    string
		node1Recovery []string
	}{
		{"node1 StandAlone", false, [2]string{"StandAlone", "StandAlone"}, "[true,true]", []string{"drbdadm adjust pc0"}},
		{"node2 drops first", true, [2]string{"WFConnection", "StandAlone"}, "[false,true]", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDay2Env(t, drbdsim.PairConfig{SyncStepPercent: -1, VictimDropsFirst: tc.victimFirst})
			d.promote()
			d.sh(0, "mkfs.ext4 -q /dev/drbd0 && mkdir -p /data && mount /dev/drbd0 /data")
			d.pair.CompleteSync()
			d.write(bothNodes, nil)
			d.h.writeFile("status.tf", d.statusBlock(0, "n1")+d.statusBlock(1, "n2")+
				"\noutput \"split_brain\" {\n  value = [data.drbd_status.n1.split_brain, data.drbd_status.n2.split_brain]\n}\n")
			d.apply()
			d.expectConn("Connected", "Connected")

			d.sh(0, "drbdadm disconnect pc0")
			d.sh(1, "drbdadm disconnect pc0")
			d.node(0).WriteData(1024)
			d.sh(1, "drbdadm primary pc0 && mkdir -p /mnt/sb && mount /dev/drbd0 /mnt/sb")
			d.node(1).WriteData(2048)
			d.sh(1, "drbdadm connect pc0")
			d.sh(0, "drbdadm connect pc0")
			d.expectConn(tc.conn[:]...)
			if log := strings.Join(d.node(0).KernelLog(), "\n"); !strings.Contains(log,
				"Split-Brain detected, 2 primaries, automatically solved. Sync from this node") {
				t.Fatalf("setup: node1's kernel log lacks the two-primaries message:\n%s", log)
			}

			d.h.mustRun("apply", "-refresh-only", "-auto-approve", "-input=false")
			if out := strings.Join(strings.Fields(d.h.mustRun("output", "-json", "split_brain")), ""); out != tc.splitBrain {
				t.Errorf("drbd_status split_brain on node1, node2 = %s, want %s", out, tc.splitBrain)
			}

			d.sh(1, "umount /mnt/sb && drbdadm secondary pc0")
			d.write(bothNodes, []int{1})
			before := d.mutationCounts()
			out := d.apply()
			d.expectMutations(before, [2][]string{tc.node1Recovery, {"drbdadm connect --discard-my-data pc0"}})
			d.expectOutput("apply", out, []string{"Warning: Discarding Split-Brain Changes on", d.hostPort(1)})
			d.expectConn("SyncSource", "SyncTarget")
			if got := d.node(1).DiscardedKiB(); got != 2048 {
				t.Errorf("node2 (the victim) discarded %d KiB, want its 2048", got)
			}
			if got := d.node(0).DiscardedKiB(); got != 0 {
				t.Errorf("node1 (the survivor) discarded %d KiB", got)
			}
			if got := d.node(0).Role(); got != "Primary" {
				t.Errorf("node1 is %s, want Primary", got)
			}
			if dev, _, ok := d.node(0).MountedAt("/data"); !ok || dev != "/dev/drbd0" {
				t.Errorf("node1: /data is not /dev/drbd0 any more (%q, %v)", dev, ok)
			}
			d.pair.CompleteSync()
			d.h.mustRun("apply", "-refresh-only", "-auto-approve", "-input=false")
			if out := strings.Join(strings.Fields(d.h.mustRun("output", "-json", "split_brain")), ""); out != "[false,false]" {
				t.Errorf("after the recovery: split_brain = %s, want [false,false]", out)
			}
		})
	}
}
