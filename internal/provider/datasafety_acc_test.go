package provider

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"golang.org/x/crypto/ssh"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

// These tests reproduce what drbd_sync did on real DRBD 8.4.11 before it stopped using
// `drbdadm adjust` as cleanup: reconnecting a split-brained node (whose changes DRBD's
// after-sb policy then discarded), bringing a down resource up, calling every StandAlone
// a split brain, waiting out connect_timeout for a peer that cannot connect, and reaching
// the peer without its recorded host key.

// TestAccDataSafety_divergentStandAloneNodeKeepsItsData is the real incident: node1 has
// divergent data after a split brain, demoted and StandAlone; node2 is Primary and
// reconnected (WFConnection). drbd_sync on node2 must fail at once, naming node1 and the
// split brain, and change nothing: reconnecting node1 would let after-sb-1pri
// discard-secondary throw its changes away.
func TestAccDataSafety_divergentStandAloneNodeKeepsItsData(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	e.pair.CompleteSync()
	// A partition: both nodes write, node2 is promoted (failover), the link comes back,
	// DRBD detects the split brain with two primaries and drops the connection.
	e.pair.Disconnect()
	e.node(0).WriteData(4096)
	if err := e.node(1).Promote(); err != nil {
		t.Fatal(err)
	}
	e.node(1).WriteData(2048)
	e.pair.Reconnect()
	if e.node(0).ConnState() != "StandAlone" {
		t.Fatalf("setup: node1 is %s, want StandAlone after the split brain", e.node(0).ConnState())
	}
	e.sh(0, "drbdadm secondary pc0")
	e.sh(1, "drbdadm connect pc0")
	before := e.applyFails(t, e.syncOn(1, `resync_rate = "1100M"`, `connect_timeout = "15s"`),
		diagRE(e.hosts[0].Addr(), "cannot finish syncing by itself",
			"StandAlone", "reported a split brain", "Nothing was changed"))
	e.expectNoMutations(before, "node%d ran %q; nothing may change on a split-brained pair")
	if got := e.node(0).ConnState(); got != "StandAlone" {
		t.Errorf("node1 is %s after the failed drbd_sync, want StandAlone (left for the operator)", got)
	}
	if got := e.node(0).DiscardedKiB(); got != 0 {
		t.Errorf("DRBD discarded %d KiB of node1's changes", got)
	}
}

// TestAccDataSafety_downPeerStaysDown: a restarted peer with its resource down is not
// brought up by drbd_sync (no adjust, up or attach), on success or failure.
func TestAccDataSafety_downPeerStaysDown(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	e.sh(1, "drbdadm down pc0")
	before := e.applyFails(t, e.syncOn(0, `resync_rate = "1100M"`, `connect_timeout = "1s"`),
		regexp.MustCompile(`(?s)did not connect within\s+connect_timeout`))
	if e.node(1).IsUp() {
		t.Error("node2's resource was brought up by drbd_sync")
	}
	if got := e.mutations(1)[before[1]:]; len(got) != 0 {
		t.Errorf("node2 ran %q although its resource is down", got)
	}
	if got := e.mutations(0)[before[0]:]; !slices.Equal(got, rateRaisedAndRestored) {
		t.Errorf("node1 ran %q, want exactly %q (raise, then the saved values back)", got, rateRaisedAndRestored)
	}
	for _, m := range e.mutationsWith(0, before[0], "adjust", "up", "attach", "connect", "disconnect", "down", "detach") {
		t.Errorf("node1 ran %q, which changes connection or attachment state", m)
	}
}

// TestAccDataSafety_restoreSkipsStandAlone: when a node turns StandAlone during the wait,
// the raised rate is left in place (with the commands to put it back), and nothing runs.
func TestAccDataSafety_restoreSkipsStandAlone(t *testing.T) {
	testAccPreCheck(t)
	var (
		e            *testEnv
		once         sync.Once
		atDisconnect [2]int
	)
	e = newEnvWith(t, drbdsim.PairConfig{SyncStepPercent: -1}, envOptions{hook: func(node int, cmd string) {
		// The first poll of the wait loop (status only, after the full probe).
		if node == 0 && strings.Contains(cmd, probeMarker+" proc") && !strings.Contains(cmd, probeMarker+" version") {
			once.Do(func() {
				atDisconnect = e.mutationCounts()
				e.sh(1, "drbdadm disconnect pc0")
			})
		}
	}})
	e.promote()
	accTest(t, resource.TestStep{
		Config:      e.syncOn(0, `resync_rate = "1100M"`),
		ExpectError: diagRE(e.hosts[1].Addr(), "StandAlone", "no split brain", "drbdadm disconnect"),
	})
	for i := range 2 {
		if atDisconnect[i] == 0 {
			t.Fatal("the disconnect was never injected")
		}
		// atDisconnect counts the out-of-band disconnect on node2 itself.
		from := atDisconnect[i] + i
		if got := e.mutations(i)[from:]; len(got) != 0 {
			t.Errorf("node%d ran %q after the peer turned StandAlone", i+1, got)
		}
		if got := e.node(i).ResyncOptions(); len(got) == 0 {
			t.Errorf("node%d: the raised rate was put back although a node is StandAlone", i+1)
		}
	}
	if got := e.node(1).ConnState(); got != "StandAlone" {
		t.Errorf("node2 is %s, want StandAlone", got)
	}
}

// TestAccDataSafety_standAlonePeerFailsFast: with the peer StandAlone after `drbdadm
// disconnect`, drbd_sync fails before raising anything, instead of waiting out its
// five-minute connect_timeout.
func TestAccDataSafety_standAlonePeerFailsFast(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	e.sh(1, "drbdadm disconnect pc0")
	before := e.applyFails(t, e.syncOn(0, `resync_rate = "1100M"`, `connect_timeout = "5m"`),
		diagRE(e.hosts[1].Addr(), "StandAlone", "no split brain", "Nothing was changed"))
	e.expectNoMutations(before, "node%d ran %q")
	if n := e.probes(0); n > 1 {
		t.Errorf("node1 was read %d times; a StandAlone peer must fail before any poll", n)
	}
}

// TestAccDataSafety_splitBrainOnlyWhenDRBDSaysSo: drbd_status.split_brain is false after
// `drbdadm disconnect`, true after a split brain DRBD detected, and false with a warning
// when the kernel log cannot be read.
func TestAccDataSafety_splitBrainOnlyWhenDRBDSaysSo(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	e.pair.CompleteSync()
	cfg := e.providerConfig() + e.statusBlock(0, "n1")
	sb := func(want bool) []statecheck.StateCheck {
		return []statecheck.StateCheck{
			statecheck.ExpectKnownValue("data.drbd_status.n1", tfjsonpath.New("connection_state"), knownvalue.StringExact("StandAlone")),
			statecheck.ExpectKnownValue("data.drbd_status.n1", tfjsonpath.New("split_brain"), knownvalue.Bool(want)),
		}
	}
	accTest(t,
		resource.TestStep{
			PreConfig:         func() { e.sh(0, "drbdadm disconnect pc0") },
			Config:            cfg,
			ConfigStateChecks: sb(false),
		},
		resource.TestStep{
			PreConfig: func() {
				e.sh(0, "drbdadm connect pc0")
				e.pair.SplitBrain()
			},
			Config:            cfg,
			ConfigStateChecks: sb(true),
		},
		resource.TestStep{
			PreConfig:         func() { e.node(0).RestrictDmesg(true) },
			Config:            cfg,
			ConfigStateChecks: sb(false),
		},
	)
}

// TestAccDataSafety_peerHostKeyPinnedLikeAnyOther: under accept-new the peer's key is
// recorded as peer_host_fingerprint and a different key is refused on the next plan.
func TestAccDataSafety_peerHostKeyPinnedLikeAnyOther(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	e.pair.CompleteSync()
	first, second := e.newHostKeys(1)
	firstFP := e.hosts[1].Fingerprint()
	// node1 is trusted through known_hosts; node2, the peer, only through accept-new.
	cfg := e.providerBlock(fmt.Sprintf("known_hosts     = %q", e.hosts[0].KnownHostsLine()), `host_key_policy = "accept-new"`, "connect_retries = 0") +
		block(`resource "drbd_sync" "test"`, e.hostArgs(0), `resource  = "pc0"`, e.peerArgs(1))
	accTest(t,
		resource.TestStep{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("drbd_sync.test", tfjsonpath.New("peer_host_fingerprint"), knownvalue.StringExact(firstFP)),
			},
		},
		resource.TestStep{
			PreConfig:   func() { e.rekey(1, second) },
			Config:      cfg,
			ExpectError: diagRE("HOST KEY MISMATCH", firstFP, "recorded host_key_fingerprint"),
		},
		resource.TestStep{
			PreConfig: func() { e.rekey(1, first) },
			Config:    cfg,
		},
	)
}

// TestAccDataSafety_primaryPeerHostKeyRecordedAndEnforced: drbd_primary records its peer's
// key as peer_host_fingerprint (accept-new), and a different key is refused on the next
// plan naming the peer, like drbd_sync's peer and any host.
func TestAccDataSafety_primaryPeerHostKeyRecordedAndEnforced(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{}).healthyAtRest()
	first, second := e.newHostKeys(1)
	firstFP := e.hosts[1].Fingerprint()
	// node1 is trusted through known_hosts; node2, the peer, only through accept-new.
	cfg := e.providerBlock(fmt.Sprintf("known_hosts     = %q", e.hosts[0].KnownHostsLine()), `host_key_policy = "accept-new"`, "connect_retries = 0") +
		block(`resource "drbd_primary" "test"`, e.hostArgs(0), `resource  = "pc0"`, e.peerArgs(1))
	var before [2]int
	accTest(t,
		resource.TestStep{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("drbd_primary.test", tfjsonpath.New("role"), knownvalue.StringExact("Primary")),
				statecheck.ExpectKnownValue("drbd_primary.test", tfjsonpath.New("peer_host_fingerprint"), knownvalue.StringExact(firstFP)),
			},
		},
		resource.TestStep{
			PreConfig: func() {
				e.rekey(1, second)
				before = e.mutationCounts()
			},
			Config:      cfg,
			ExpectError: diagRE("HOST KEY MISMATCH", "root"+e.hostPort(1), firstFP, "is this drbd_primary's peer_host"),
		},
		resource.TestStep{
			PreConfig: func() {
				e.expectNoMutations(before, "node%d ran %q while its peer's host key was refused")
				e.rekey(1, first)
			},
			Config: cfg,
		},
	)
}

// TestAccDataSafety_primaryPeerHostKeyPinned: drbd_primary's peer_host_key is enforced,
// also when another resource opened the connection to the peer without a pin: the
// promotion is refused before anything changes.
func TestAccDataSafety_primaryPeerHostKeyPinned(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{}).healthyAtRest()
	other, _ := e.newHostKeys(0) // a key that is not node2's; node1 keeps it
	otherLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other.PublicKey())))
	cfg := e.providerBlock(fmt.Sprintf("known_hosts     = %q", e.hosts[0].KnownHostsLine()), `host_key_policy = "accept-new"`, "connect_retries = 0") +
		e.statusBlock(1, "peer") +
		block(`resource "drbd_primary" "test"`, e.hostArgs(0), `resource  = "pc0"`, e.peerArgs(1),
			fmt.Sprintf("peer_host_key = %q", otherLine), "depends_on = [data.drbd_status.peer]")
	before := e.applyFails(t, cfg, diagRE("HOST KEY MISMATCH", "root"+e.hostPort(1), sshx.Fingerprint(other.PublicKey())+" (pinned host_key)"))
	e.expectNoMutations(before, "node%d ran %q although the peer's key contradicts peer_host_key")
}

// TestAccDataSafety_primaryNewPeerNotHeldToOldKey: peer_host changes in place on
// drbd_primary, and the recorded key is the old peer's: the plan sets peer_host_fingerprint
// to null, and the next refresh records the new peer's key instead of refusing it.
func TestAccDataSafety_primaryNewPeerNotHeldToOldKey(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{}).healthyAtRest()
	signer, err := ssh.ParsePrivateKey([]byte(e.keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	third := testhost.New(t, testhost.Config{AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	provider := e.providerBlock(fmt.Sprintf("known_hosts     = %q", e.hosts[0].KnownHostsLine()), `host_key_policy = "accept-new"`, "connect_retries = 0")
	primary := func(peer string) string {
		return block(`resource "drbd_primary" "test"`, e.hostArgs(0), `resource  = "pc0"`, peer)
	}
	fp := func(want string) []statecheck.StateCheck {
		return []statecheck.StateCheck{statecheck.ExpectKnownValue("drbd_primary.test", tfjsonpath.New("peer_host_fingerprint"), knownvalue.StringExact(want))}
	}
	accTest(t,
		resource.TestStep{Config: provider + primary(e.peerArgs(1)), ConfigStateChecks: fp(e.hosts[1].Fingerprint())},
		resource.TestStep{
			Config: provider + primary(fmt.Sprintf("peer_host = %q\n  peer_port = %d", third.Host(), third.Port())),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("drbd_primary.test", plancheck.ResourceActionUpdate),
				plancheck.ExpectKnownValue("drbd_primary.test", tfjsonpath.New("peer_host_fingerprint"), knownvalue.Null()),
			}},
		},
		// The next refresh reaches the new peer and records its key.
		resource.TestStep{Config: provider + primary(fmt.Sprintf("peer_host = %q\n  peer_port = %d", third.Host(), third.Port())), ConfigStateChecks: fp(third.Fingerprint())},
	)
}
