package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

// deadPrimary is an in-sync pair whose primary (node1) has died: its sshd is gone and
// DRBD on node2 has noticed (WFConnection, peer DUnknown).
func deadPrimary(t *testing.T) *testEnv {
	t.Helper()
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	e.pair.CompleteSync()
	e.pair.Disconnect()
	e.hosts[0].Stop()
	return e
}

// TestAccDay2_failoverNeedsFencing: promoting node2 while node1 is dead is refused until
// node1 is fenced; then node2 is promoted plainly and node1 is never contacted.
func TestAccDay2_failoverNeedsFencing(t *testing.T) {
	testAccPreCheck(t)
	e := deadPrimary(t)
	before := e.mutationCounts()
	accTest(t,
		resource.TestStep{
			Config:      e.providerConfig() + e.failoverPrimary(),
			ExpectError: diagRE("Refusing DRBD Failover", "not connected", "Nothing was changed", "fenced_hosts"),
		},
		resource.TestStep{
			PreConfig: func() {
				if got := e.mutations(1)[before[1]:]; len(got) != 0 {
					t.Errorf("node2 ran %q although the failover was refused", got)
				}
			},
			Config: e.fencedProvider(0) + e.failoverPrimary(),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("drbd_primary.test", tfjsonpath.New("role"), knownvalue.StringExact("Primary")),
			},
			Check: func(*terraform.State) error {
				if got, want := e.mutations(1)[before[1]:], []string{"drbdadm primary pc0"}; strings.Join(got, "|") != strings.Join(want, "|") {
					return fmt.Errorf("node2 ran %q, want exactly %q (a plain promotion, never --force)", got, want)
				}
				return nil
			},
		},
	)
	if got := e.mutations(0)[before[0]:]; len(got) != 0 {
		t.Errorf("the dead node1 ran %q", got)
	}
}

// TestAccDay2_failoverOntoStaleDiskRefused: a fenced peer does not make an Outdated disk
// good enough to serve.
func TestAccDay2_failoverOntoStaleDiskRefused(t *testing.T) {
	testAccPreCheck(t)
	e := deadPrimary(t)
	e.node(1).SetDiskState("Outdated")
	before := e.applyFails(t, e.fencedProvider(0)+e.failoverPrimary(),
		diagRE("Refusing DRBD Failover", "fenced", "disk is Outdated", "not UpToDate", "Nothing was changed"))
	if got := e.mutations(1)[before[1]:]; len(got) != 0 {
		t.Errorf("node2 ran %q", got)
	}
}

// TestAccDay2_fencedPeerStillConnected: while DRBD still sees a fenced peer connected
// (before its ping timeout), the promotion waits, then refuses naming the fence.
func TestAccDay2_fencedPeerStillConnected(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	e.pair.CompleteSync()
	e.sh(0, "drbdadm secondary pc0")
	before := e.applyFails(t, e.fencedProvider(0)+e.failoverPrimary(),
		diagRE("Refusing DRBD Failover", "is fenced", "still sees it connected", "check the fence"))
	e.expectNoMutations(before, "node%d ran %q")
}

// TestAccDay2_fencedHostIsNeverContacted: Read keeps the state with a warning, Create and
// drbd_status fail naming the fence, Delete forgets with a warning; no command reaches the
// fenced host, and the survivor's drbd_sync reports a degraded pair without waiting.
func TestAccDay2_fencedHostIsNeverContacted(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	e.pair.CompleteSync()
	fs1, fs2 := e.dataFilesystem(0), e.dataFilesystem(1)
	sync1 := e.syncBlock(0, e.peerArgs(1))
	var at int
	accTest(t,
		resource.TestStep{
			Config: e.providerConfig() + fs1 + sync1,
		},
		resource.TestStep{
			// node2 dies and is fenced: plans keep working without contacting it.
			PreConfig: func() {
				e.pair.Disconnect()
				e.hosts[1].Stop()
				at = len(e.hosts[1].Commands())
			},
			Config:           e.fencedProvider(1) + fs1 + sync1,
			ConfigPlanChecks: planAction("drbd_sync.test", plancheck.ResourceActionCreate),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("drbd_sync.test", tfjsonpath.New("in_sync"), knownvalue.Bool(false)),
			},
			ExpectNonEmptyPlan: true, // degraded until the peer rejoins
		},
		resource.TestStep{
			Config:      e.fencedProvider(1) + fs1 + sync1 + fs2,
			ExpectError: diagRE("Host Is Fenced", "drbd_filesystem cannot be created", "fenced_hosts"),
		},
		resource.TestStep{
			Config:      e.fencedProvider(1) + fs1 + sync1 + e.statusBlock(1, "n2"),
			ExpectError: diagRE("Host Is Fenced", "data.drbd_status cannot read", "fenced_hosts"),
		},
	)
	if got := e.commandsSince(1, at); len(got) != 0 {
		t.Errorf("the fenced node2 received %d commands: %q", len(got), got)
	}
}

// TestAccDay2_fencedDeleteForgets: destroying a resource on a fenced host runs nothing
// and warns what was left undone.
func TestAccDay2_fencedDeleteForgets(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	e.pair.CompleteSync()
	var at int
	accTest(t,
		resource.TestStep{Config: e.providerConfig() + e.dataFilesystem(0)},
		resource.TestStep{
			PreConfig: func() {
				e.hosts[0].Stop()
				at = len(e.hosts[0].Commands())
			},
			Config: e.fencedProvider(0),
		},
	)
	if got := e.commandsSince(0, at); len(got) != 0 {
		t.Errorf("the fenced node1 received %q", got)
	}
	if _, _, ok := e.node(0).MountedAt("/data"); !ok {
		t.Error("the filesystem on the fenced node was unmounted")
	}
}

// TestAccDay2_unreachableHostSaysFence: a dead host that is not fenced is an error that
// says to fence it, without the internal probe script.
func TestAccDay2_unreachableHostSaysFence(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	e.pair.CompleteSync()
	status := e.statusBlock(0, "n1")
	e.hosts[0].Stop()
	accTest(t, resource.TestStep{
		Config:      e.providerConfig() + status,
		ExpectError: regexp.MustCompile(`(?s)could not be reached over SSH.*fenced_hosts`),
	})
}

// TestAccDay2_secondPrimaryWarned: both nodes Primary (a partition with two writers) is
// warned about when the pair is read from both sides.
func TestAccDay2_secondPrimaryWarned(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	e.pair.CompleteSync()
	e.pair.Disconnect()
	if err := e.node(1).Promote(); err != nil {
		t.Fatal(err)
	}
	cfg := e.providerConfig() + e.statusBlock(0, "n1") + e.statusBlock(1, "n2")
	// A warning does not fail the step; run the CLI to see it.
	h := newCLIHarness(t)
	h.writeFile("main.tf", cfg)
	h.init()
	out, err := h.run("plan", "-no-color")
	if err != nil {
		t.Fatalf("plan failed: %v\n%s", err, out)
	}
	if text := strings.Join(strings.Fields(out), " "); !strings.Contains(text, "Two DRBD Primaries") || !strings.Contains(text, "Primary on") {
		t.Errorf("plan output lacks the second-Primary warning:\n%s", out)
	}
}

// TestAccSync_stallTimeout: a resync that makes no progress while connected fails after
// stall_timeout, naming the KiB left, instead of waiting for the create timeout; the raised
// rate is put back.
func TestAccSync_stallTimeout(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote() // a stuck SyncTarget
	accTest(t, resource.TestStep{
		Config:      e.syncOn(0, `resync_rate = "1100M"`, `stall_timeout = "1s"`),
		ExpectError: diagRE("Unable to Wait for DRBD Sync", "stalled", "KiB have been out of sync", "without decreasing"),
	})
	for i := range 2 {
		if got := e.node(i).ResyncOptions(); len(got) != 0 {
			t.Errorf("node%d: raised rate left after the stall: %v", i+1, got)
		}
	}
}

// TestAccDay2_primariesOfOtherPairsAreNotASecondPrimary: pairs may share a resource name;
// each pair's Primary is not a second Primary of another pair.
func TestAccDay2_primariesOfOtherPairsAreNotASecondPrimary(t *testing.T) {
	testAccPreCheck(t)
	signer, keyPEM, err := testhost.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	var envs [2]*testEnv
	cfg := ""
	for i := range envs {
		envs[i] = newEnvWith(t, drbdsim.PairConfig{}, envOptions{signer: signer, keyPEM: keyPEM}).promote()
		envs[i].pair.CompleteSync()
		cfg += strings.ReplaceAll(envs[i].statusBlock(0, "n1")+envs[i].statusBlock(1, "n2"), `"n`, fmt.Sprintf(`"p%d_n`, i+1))
	}
	known := envs[0].knownHosts() + envs[1].knownHosts()
	h := newCLIHarness(t)
	h.writeFile("main.tf", envs[0].providerBlock("known_hosts = <<-EOT\n"+strings.TrimSpace(known)+"\nEOT")+cfg)
	h.init()
	out, err := h.run("plan", "-no-color")
	if err != nil {
		t.Fatalf("plan failed: %v\n%s", err, out)
	}
	if strings.Count(out, "Read complete after") != 4 {
		t.Fatalf("the plan did not read the four nodes:\n%s", out)
	}
	if strings.Contains(out, "Two DRBD Primaries") {
		t.Errorf("the Primaries of two different pairs were warned about as a second Primary:\n%s", out)
	}
}

func TestPrimaryRegistry_pairs(t *testing.T) {
	var r primaryRegistry
	// No peer known, two hosts seen: they are the pair.
	if got := r.note("pc0", "a", true); got != nil {
		t.Fatalf("first Primary: %v", got)
	}
	if got := r.note("pc0", "b", true); len(got) != 1 || got[0] != "a" {
		t.Fatalf("second Primary of an unnamed pair: %v", got)
	}
	// A third host of the same name without a known peer: not warned.
	r.note("pc0", "b", false)
	if got := r.note("pc0", "c", true); got != nil {
		t.Fatalf("a third host was taken for a's pair: %v", got)
	}
	// With peers known, only the configured peer counts.
	r.notePeer("pc0", "c", "d")
	r.notePeer("pc0", "a", "b")
	if got := r.note("pc0", "c", true); got != nil {
		t.Fatalf("c's peer d is not Primary, yet: %v", got)
	}
	if got := r.note("pc0", "d", true); len(got) != 1 || got[0] != "c" {
		t.Fatalf("d and c both Primary: %v", got)
	}
	if got := r.note("pc1", "a", true); got != nil {
		t.Fatalf("another resource name: %v", got)
	}
	var nilRegistry *primaryRegistry
	nilRegistry.notePeer("pc0", "a", "b") // no panic
}
