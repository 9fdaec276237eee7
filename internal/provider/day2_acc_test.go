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
)

// fencedProvider is providerConfig with the given nodes in fenced_hosts (as host:port).
func (e *testEnv) fencedProvider(nodes ...int) string {
	var entries []string
	for _, i := range nodes {
		entries = append(entries, fmt.Sprintf("%q", fmt.Sprintf("%s:%d", e.hosts[i].Host(), e.hosts[i].Port())))
	}
	return strings.Replace(e.providerConfig(), "connect_retries = 0",
		"connect_retries = 0\n  fenced_hosts    = ["+strings.Join(entries, ", ")+"]", 1)
}

// primaryOn is a drbd_primary on node i that names node 1-i as its peer.
func (e *testEnv) primaryOn(i int, extra string) string { //nolint:unparam // the failover tests promote node2; kept general like hostArgs
	return fmt.Sprintf(`
resource "drbd_primary" "test" {
  %s
  resource        = "pc0"
  force           = true
  peer_host       = %q
  peer_port       = %d
  connect_timeout = "2s"
  %s
}
`, e.hostArgs(i), e.hosts[1-i].Host(), e.hosts[1-i].Port(), extra)
}

// commandsSince returns the commands node i's SSH server received after index from.
func (e *testEnv) commandsSince(i, from int) []string { return e.hosts[i].Commands()[from:] }

// deadPrimary is an in-sync pair whose primary (node1) has died: its sshd is gone and
// DRBD on node2 has noticed (WFConnection, peer DUnknown).
func deadPrimary(t *testing.T) *testEnv {
	t.Helper()
	e := primaryPair(t, drbdsim.PairConfig{SyncStepPercent: -1})
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
	var before [2]int
	e.snapshotMutations(&before)()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      e.providerConfig() + e.primaryOn(1, ""),
				ExpectError: diagRE("Refusing DRBD Failover", "not connected", "Nothing was changed", "fenced_hosts"),
			},
			{
				PreConfig: func() {
					if got := e.mutations(1)[before[1]:]; len(got) != 0 {
						t.Errorf("node2 ran %q although the failover was refused", got)
					}
				},
				Config: e.fencedProvider(0) + e.primaryOn(1, ""),
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
		},
	})
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
	var before [2]int
	e.snapshotMutations(&before)()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      e.fencedProvider(0) + e.primaryOn(1, ""),
			ExpectError: diagRE("Refusing DRBD Failover", "fenced", "disk is Outdated", "not UpToDate", "Nothing was changed"),
		}},
	})
	if got := e.mutations(1)[before[1]:]; len(got) != 0 {
		t.Errorf("node2 ran %q", got)
	}
}

// TestAccDay2_fencedPeerStillConnected: while DRBD still sees a fenced peer connected
// (before its ping timeout), the promotion waits, then refuses naming the fence.
func TestAccDay2_fencedPeerStillConnected(t *testing.T) {
	testAccPreCheck(t)
	e := primaryPair(t, drbdsim.PairConfig{SyncStepPercent: -1})
	e.pair.CompleteSync()
	e.sh(0, "drbdadm secondary pc0")
	var before [2]int
	e.snapshotMutations(&before)()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      e.fencedProvider(0) + e.primaryOn(1, ""),
			ExpectError: diagRE("Refusing DRBD Failover", "is fenced", "still sees it connected", "check the fence"),
		}},
	})
	for i := range 2 {
		if got := e.mutations(i)[before[i]:]; len(got) != 0 {
			t.Errorf("node%d ran %q", i+1, got)
		}
	}
}

// TestAccDay2_fencedHostIsNeverContacted: Read keeps the state with a warning, Create and
// drbd_status fail naming the fence, Delete forgets with a warning; no command reaches the
// fenced host, and the survivor's drbd_sync reports a degraded pair without waiting.
func TestAccDay2_fencedHostIsNeverContacted(t *testing.T) {
	testAccPreCheck(t)
	e := primaryPair(t, drbdsim.PairConfig{SyncStepPercent: -1})
	e.pair.CompleteSync()
	fsOn := func(i int) string {
		return fmt.Sprintf(`
resource "drbd_filesystem" "n%d" {
  %s
  resource   = "pc0"
  mountpoint = "/data"
}
`, i+1, e.hostArgs(i))
	}
	syncOn1 := fmt.Sprintf(`
resource "drbd_sync" "test" {
  %s
  resource      = "pc0"
  poll_interval = "100ms"
  peer_host     = %q
  peer_port     = %d
}
`, e.hostArgs(0), e.hosts[1].Host(), e.hosts[1].Port())
	status2 := fmt.Sprintf(`
data "drbd_status" "n2" {
  %s
  resource = "pc0"
}
`, e.hostArgs(1))
	var at int
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: e.providerConfig() + fsOn(0) + syncOn1,
			},
			{
				// node2 dies and is fenced: plans keep working without contacting it.
				PreConfig: func() {
					e.pair.Disconnect()
					e.hosts[1].Stop()
					at = len(e.hosts[1].Commands())
				},
				Config: e.fencedProvider(1) + fsOn(0) + syncOn1,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("drbd_sync.test", plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("drbd_sync.test", tfjsonpath.New("in_sync"), knownvalue.Bool(false)),
				},
				ExpectNonEmptyPlan: true, // degraded until the peer rejoins
			},
			{
				Config:      e.fencedProvider(1) + fsOn(0) + syncOn1 + fsOn(1),
				ExpectError: diagRE("Host Is Fenced", "drbd_filesystem cannot be created", "fenced_hosts"),
			},
			{
				Config:      e.fencedProvider(1) + fsOn(0) + syncOn1 + status2,
				ExpectError: diagRE("Host Is Fenced", "data.drbd_status cannot read", "fenced_hosts"),
			},
		},
	})
	if got := e.commandsSince(1, at); len(got) != 0 {
		t.Errorf("the fenced node2 received %d commands: %q", len(got), got)
	}
}

// TestAccDay2_fencedDeleteForgets: destroying a resource on a fenced host runs nothing
// and warns what was left undone.
func TestAccDay2_fencedDeleteForgets(t *testing.T) {
	testAccPreCheck(t)
	e := primaryPair(t, drbdsim.PairConfig{SyncStepPercent: -1})
	e.pair.CompleteSync()
	fs := fmt.Sprintf(`
resource "drbd_filesystem" "n1" {
  %s
  resource   = "pc0"
  mountpoint = "/data"
}
`, e.hostArgs(0))
	var at int
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: e.providerConfig() + fs},
			{
				PreConfig: func() {
					e.hosts[0].Stop()
					at = len(e.hosts[0].Commands())
				},
				Config: e.fencedProvider(0),
			},
		},
	})
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
	e := primaryPair(t, drbdsim.PairConfig{SyncStepPercent: -1})
	e.pair.CompleteSync()
	status := fmt.Sprintf(`
data "drbd_status" "n1" {
  %s
  resource = "pc0"
}
`, e.hostArgs(0))
	e.hosts[0].Stop()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      e.providerConfig() + status,
			ExpectError: regexp.MustCompile(`(?s)could not be reached over SSH.*fenced_hosts`),
		}},
	})
}

// TestAccDay2_secondPrimaryWarned: both nodes Primary (a partition with two writers) is
// warned about when the pair is read from both sides.
func TestAccDay2_secondPrimaryWarned(t *testing.T) {
	testAccPreCheck(t)
	e := primaryPair(t, drbdsim.PairConfig{SyncStepPercent: -1})
	e.pair.CompleteSync()
	e.pair.Disconnect()
	if err := e.node(1).Promote(); err != nil {
		t.Fatal(err)
	}
	cfg := e.providerConfig()
	for i := range 2 {
		cfg += fmt.Sprintf(`
data "drbd_status" "n%d" {
  %s
  resource = "pc0"
}
`, i+1, e.hostArgs(i))
	}
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
	e := primaryPair(t, drbdsim.PairConfig{SyncStepPercent: -1}) // a stuck SyncTarget
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      e.syncOn(0, `resync_rate = "1100M"`+"\n  stall_timeout = \"1s\""),
			ExpectError: diagRE("Unable to Wait for DRBD Sync", "stalled", "KiB have been out of sync", "without decreasing"),
		}},
	})
	for i := range 2 {
		if got := e.node(i).ResyncOptions(); len(got) != 0 {
			t.Errorf("node%d: raised rate left after the stall: %v", i+1, got)
		}
	}
}
