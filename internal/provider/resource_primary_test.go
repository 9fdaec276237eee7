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

func TestAccPrimary_force(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	e.pair.BringUp()
	var before [2]int
	accCase(t, resource.TestCase{
		Steps: []resource.TestStep{
			{
				Config: e.primaryConfig(0, "force = true"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("drbd_primary.test", tfjsonpath.New("role"), knownvalue.StringExact("Primary")),
					statecheck.ExpectKnownValue("drbd_primary.test", tfjsonpath.New("peer_role"), knownvalue.StringExact("Secondary")),
					statecheck.ExpectKnownValue("drbd_primary.test", tfjsonpath.New("disk_state"), knownvalue.StringExact("UpToDate")),
				},
				Check: func(_ *terraform.State) error {
					if !e.ranCommand(0, "drbdadm", "primary", "--force", "pc0") {
						return fmt.Errorf("the 8.4 force syntax was not used: %q", e.mutations(0))
					}
					return nil
				},
			},
			e.idempotentStep(e.primaryConfig(0, "force = true")),
			{
				// Drift: demoted out of band. Its data is UpToDate now, so the repair is a plain
				// promotion, not a forced one.
				PreConfig: func() {
					e.pair.CompleteSync()
					e.sh(0, "drbdadm secondary pc0")
					before = e.mutationCounts()
				},
				Config:           e.primaryConfig(0, "force = true"),
				ConfigPlanChecks: planAction("drbd_primary.test", plancheck.ResourceActionCreate),
				Check: func(_ *terraform.State) error {
					if e.node(0).Role() != "Primary" {
						return fmt.Errorf("not repaired: role %s", e.node(0).Role())
					}
					if got := e.mutations(0)[before[0]:]; len(got) != 1 || got[0] != "drbdadm primary pc0" {
						return fmt.Errorf("repair ran %q, want exactly [drbdadm primary pc0]", got)
					}
					return nil
				},
			},
			e.importStep("drbd_primary.test", 0, "pc0", "force"),
		},
		CheckDestroy: func(_ *terraform.State) error {
			if e.node(0).Role() != "Secondary" {
				return fmt.Errorf("destroy must demote: role %s", e.node(0).Role())
			}
			return nil
		},
	})
}

// peerHoldsData leaves node2 with UpToDate data and node1 Inconsistent: forcing node1 would
// overwrite node2.
func peerHoldsData(e *testEnv) {
	e.pair.BringUp()
	e.sh(1, "drbdadm primary --force pc0")
	e.pair.CompleteSync()
	e.sh(1, "drbdadm secondary pc0")
	e.node(0).SetDiskState("Inconsistent")
}

func TestAccPrimary_refusesOverwritingPeerData(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1})
	peerHoldsData(e)
	before := len(e.mutations(0))
	accTest(t, resource.TestStep{
		Config:      e.primaryConfig(0, "force = true"),
		ExpectError: regexp.MustCompile(`(?s)Refusing to Force DRBD Primary.*UpToDate.*allow_overwrite_peer_data`),
	})
	if got := e.mutations(0)[before:]; len(got) != 0 {
		t.Errorf("the guard let mutating commands through: %q", got)
	}
	if e.node(0).Role() != "Secondary" {
		t.Errorf("node1 role %s", e.node(0).Role())
	}
}

func TestAccPrimary_allowOverwritePeerData(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1})
	peerHoldsData(e)
	accCase(t, resource.TestCase{
		Steps: []resource.TestStep{{
			Config: e.primaryConfig(0, "force = true", "allow_overwrite_peer_data = true", "demote_on_destroy = false"),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("drbd_primary.test", tfjsonpath.New("role"), knownvalue.StringExact("Primary")),
			},
		}},
		CheckDestroy: func(_ *terraform.State) error {
			if e.node(0).Role() != "Primary" {
				return fmt.Errorf("demote_on_destroy = false must leave the role alone")
			}
			return nil
		},
	})
}

func TestAccPrimary_freshPairNeedsForce(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	e.pair.BringUp()
	accTest(t, resource.TestStep{
		Config:      e.primaryConfig(1),
		ExpectError: regexp.MustCompile(`(?s)drbdadm primary pc0.*exited 17.*Need access to UpToDate data.*force = true`),
	})
}

func TestAccPrimary_drbd83Syntax(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Version: drbdsim.V83})
	e.pair.BringUp()
	accTest(t, resource.TestStep{
		Config: e.primaryConfig(0, "force = true"),
		Check: func(_ *terraform.State) error {
			if !e.ranCommand(0, "drbdadm", "--", "--overwrite-data-of-peer", "primary", "pc0") {
				return fmt.Errorf("8.3 syntax not used: %q", e.mutations(0))
			}
			return nil
		},
	})
}

func TestAccPrimary_resourceNotUp(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	accTest(t, resource.TestStep{
		Config:      e.primaryConfig(0, "force = true"),
		ExpectError: regexp.MustCompile(`(?s)"pc0" is not up on root@127\.0\.0\.1`),
	})
}

func TestAccPrimary_forceWaitsForPeerThenRefuses(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	e.pair.BringUp()
	e.pair.Disconnect()
	before := len(e.mutations(0))
	accTest(t, resource.TestStep{
		Config:      e.primaryConfig(0, "force = true", `connect_timeout = "2s"`),
		ExpectError: regexp.MustCompile(`(?s)Refusing to Force DRBD Primary.*DUnknown`),
	})
	if got := e.mutations(0)[before:]; len(got) != 0 {
		t.Errorf("mutating commands sent while the peer was unknown: %q", got)
	}
	// The wait polled the status only (cat /proc/drbd), after one full probe.
	polls := 0
	for _, c := range e.hosts[0].Commands() {
		if strings.Contains(c, probeMarker+" proc'; cat /proc/drbd") && !strings.Contains(c, "drbdadm") {
			polls++
		}
	}
	if polls == 0 {
		t.Errorf("no status-only polls while waiting for the peer: %q", e.hosts[0].Commands())
	}
}
