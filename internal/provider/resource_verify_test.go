package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

// applyWarnings records the warnings the provider returns from ApplyResourceChange (what
// terraform apply prints after a Create).
type applyWarnings struct {
	mu   sync.Mutex
	list []string
}

// all returns the warnings recorded so far, as "summary: detail".
func (w *applyWarnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.list)
}

// factories serves the provider in-process with the recording.
func (w *applyWarnings) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"drbd": func() (tfprotov6.ProviderServer, error) {
			return &applyWarningServer{ProviderServer: providerserver.NewProtocol6(New("test")())(), w: w}, nil
		},
	}
}

type applyWarningServer struct {
	tfprotov6.ProviderServer
	w *applyWarnings
}

func (s *applyWarningServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	resp, err := s.ProviderServer.ApplyResourceChange(ctx, req)
	if resp != nil {
		for _, d := range resp.Diagnostics {
			if d.Severity == tfprotov6.DiagnosticSeverityWarning {
				s.w.mu.Lock()
				s.w.list = append(s.w.list, d.Summary+": "+d.Detail)
				s.w.mu.Unlock()
			}
		}
	}
	return resp, err
}

// verifyPair is a pair in sync with node1 Primary and verify-alg sha256.
func verifyPair(t *testing.T, v drbdsim.Version) *testEnv {
	t.Helper()
	e := newTestEnv(t, drbdsim.PairConfig{Version: v, VerifyAlg: "sha256"}).promote()
	e.pair.CompleteSync()
	return e
}

// verifyConfig is providerConfig and a drbd_verify "test" for pc0 on node i polling every 100ms.
func (e *testEnv) verifyConfig(i int, attrs ...string) string {
	return e.providerConfig() + block(`resource "drbd_verify" "test"`,
		append([]string{e.hostArgs(i), `resource      = "pc0"`, `poll_interval = "100ms"`}, attrs...)...)
}

// verifiedState checks the state a finished drbd_verify records.
func verifiedState(oos int64) []statecheck.StateCheck {
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue("drbd_verify.test", tfjsonpath.New("out_of_sync_kib"), knownvalue.Int64Exact(oos)),
		statecheck.ExpectKnownValue("drbd_verify.test", tfjsonpath.New("verify_alg"), knownvalue.StringExact("sha256")),
		statecheck.ExpectKnownValue("drbd_verify.test", tfjsonpath.New("verified_at"),
			knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`))),
	}
}

// TestAccVerify_clean: a clean verify records 0 KiB, the second plan is empty and runs
// nothing, a changed trigger replaces the resource and verifies again; no warning.
func TestAccVerify_clean(t *testing.T) {
	testAccPreCheck(t)
	for _, v := range []drbdsim.Version{drbdsim.V84, drbdsim.V9} {
		t.Run(v.String(), func(t *testing.T) {
			e := verifyPair(t, v)
			w := &applyWarnings{}
			cfg := func(run string) string { return e.verifyConfig(0, fmt.Sprintf("triggers = { run = %q }", run)) }
			verifies := func(want int) resource.TestCheckFunc {
				return func(*terraform.State) error {
					if got := countArgv(e.node(0).Mutating(), "drbdadm", "verify", "pc0"); got != want {
						return fmt.Errorf("node1 ran drbdadm verify %d times, want %d: %q", got, want, e.mutations(0))
					}
					if got := e.mutations(1); len(got) != 0 {
						return fmt.Errorf("node2 ran %q", got)
					}
					if got := w.all(); len(got) != 0 {
						return fmt.Errorf("warnings on a clean verify: %q", got)
					}
					return nil
				}
			}
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: w.factories(),
				Steps: []resource.TestStep{
					{Config: cfg("1"), ConfigStateChecks: verifiedState(0), Check: verifies(1)},
					e.idempotentStep(cfg("1")),
					{
						Config:           cfg("2"),
						ConfigPlanChecks: planAction("drbd_verify.test", plancheck.ResourceActionReplace),
						Check:            verifies(2),
					},
				},
			})
		})
	}
}

// TestAccVerify_findsBlocks: blocks that differ are recorded in out_of_sync_kib with a
// warning naming the amount; nothing but the verify runs (no resync unless asked for).
func TestAccVerify_findsBlocks(t *testing.T) {
	testAccPreCheck(t)
	for _, v := range []drbdsim.Version{drbdsim.V84, drbdsim.V9, drbdsim.V83} {
		t.Run(v.String(), func(t *testing.T) {
			e := verifyPair(t, v)
			e.pair.InjectOutOfSync(40)
			w := &applyWarnings{}
			before := e.mutationCounts()
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: w.factories(),
				Steps: []resource.TestStep{{
					Config:            e.verifyConfig(0),
					ConfigStateChecks: verifiedState(40),
					Check: func(*terraform.State) error {
						if err := e.checkMutations(before, [2][]string{{"drbdadm verify pc0"}, nil}); err != nil {
							return err
						}
						want := diagRE("DRBD Online Verify Found Out-of-Sync Blocks: Online verify of DRBD resource pc0 on",
							e.hostPort(0), "(verify-alg sha256) found 40 KiB out of sync.",
							"The kernel logged:", "Online verify found 10 4k block", "out of sync!; ", "Online verify done", "resync_out_of_sync = true")
						if !slices.ContainsFunc(w.all(), want.MatchString) {
							return fmt.Errorf("no warning matches %s: %q", want, w.all())
						}
						return nil
					},
				}},
			})
		})
	}
}

// TestAccVerify_resyncOutOfSync: with resync_out_of_sync the Secondary (the peer of the
// Primary host) is disconnected and reconnected, never with --discard-my-data, and the apply
// returns with the pair UpToDate/UpToDate and nothing out of sync.
func TestAccVerify_resyncOutOfSync(t *testing.T) {
	testAccPreCheck(t)
	for _, v := range []drbdsim.Version{drbdsim.V84, drbdsim.V9} {
		t.Run(v.String(), func(t *testing.T) {
			e := verifyPair(t, v)
			e.pair.InjectOutOfSync(40)
			before := e.mutationCounts()
			accTest(t, resource.TestStep{
				Config:            e.verifyConfig(0, e.peerArgs(1), "resync_out_of_sync = true"),
				ConfigStateChecks: verifiedState(40),
				Check: func(*terraform.State) error {
					if err := e.checkMutations(before, [2][]string{{"drbdadm verify pc0"},
						{"drbdadm disconnect pc0", "drbdadm connect pc0"}}); err != nil {
						return err
					}
					if cs, ds := e.node(0).ConnState(), e.node(1).DiskState(); cs != "Connected" || ds != "UpToDate" {
						return fmt.Errorf("after the apply node1 is %s and node2's disk %s, want Connected and UpToDate", cs, ds)
					}
					if out := e.node(0).ProcDRBD(); v == drbdsim.V84 && !regexp.MustCompile(`oos:0\b`).MatchString(out) {
						return fmt.Errorf("blocks still out of sync:\n%s", out)
					}
					return nil
				},
			})
		})
	}
}

// TestAccVerify_resyncOnSecondaryHost: when host is the Secondary, it is the node verified
// from and the node disconnected and reconnected; the Primary runs nothing and no peer_host is
// needed.
func TestAccVerify_resyncOnSecondaryHost(t *testing.T) {
	testAccPreCheck(t)
	e := verifyPair(t, drbdsim.V84)
	e.pair.InjectOutOfSync(8)
	before := e.mutationCounts()
	accTest(t, resource.TestStep{
		Config:            e.verifyConfig(1, "resync_out_of_sync = true"),
		ConfigStateChecks: verifiedState(8),
		Check: func(*terraform.State) error {
			if err := e.checkMutations(before, [2][]string{nil,
				{"drbdadm verify pc0", "drbdadm disconnect pc0", "drbdadm connect pc0"}}); err != nil {
				return err
			}
			if cs, ds := e.node(1).ConnState(), e.node(1).DiskState(); cs != "Connected" || ds != "UpToDate" {
				return fmt.Errorf("after the apply node2 is %s/%s, want Connected/UpToDate", cs, ds)
			}
			return nil
		},
	})
}

// TestAccVerify_stalls: a verify whose progress stops fails after stall_timeout, on 8.4 (the
// verified: percentage of /proc/drbd) and on DRBD 9 (percent-resync-done of `drbdsetup status
// --json`, which drbdsetup computes from ov-left during a verify); both name the node and
// leave the verify to the kernel, running nothing else.
func TestAccVerify_stalls(t *testing.T) {
	testAccPreCheck(t)
	cases := map[string]struct {
		v     drbdsim.Version
		attrs []string
		want  *regexp.Regexp
	}{
		"8.4": {drbdsim.V84, []string{`stall_timeout = "1s"`},
			diagRE("Online verify of DRBD resource pc0 on", "stalled at", "(stall_timeout)", "goes on in the kernel")},
		"9": {drbdsim.V9, []string{`stall_timeout = "1s"`, "timeouts {\n    create = \"1m\"\n  }"},
			diagRE("Online verify of DRBD resource pc0 on", "stalled at", "(stall_timeout)", "goes on in the kernel")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t, drbdsim.PairConfig{Version: tc.v, VerifyAlg: "sha256", SyncStepPercent: -1}).promote()
			e.pair.CompleteSync()
			before := e.applyFails(t, e.verifyConfig(0, tc.attrs...), tc.want)
			if err := e.checkMutations(before, [2][]string{{"drbdadm verify pc0"}, nil}); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestAccVerify_refused: a pair that is not Connected and UpToDate/UpToDate, a StandAlone or
// split-brained node, a missing verify-alg and a resync that would need a peer that is not
// configured are refused before anything runs, naming what was seen.
func TestAccVerify_refused(t *testing.T) {
	testAccPreCheck(t)
	cases := map[string]struct {
		cfg    drbdsim.PairConfig
		inject func(e *testEnv)
		node   int
		attrs  []string
		want   *regexp.Regexp
	}{
		"degraded": {drbdsim.PairConfig{VerifyAlg: "sha256"}, func(e *testEnv) { e.pair.Disconnect() }, 0, nil,
			diagRE("Online verify of DRBD resource pc0 was not started on", "not Connected with both disks UpToDate",
				"connection WFConnection, disks UpToDate/DUnknown", "Nothing was run.")},
		"syncing": {drbdsim.PairConfig{VerifyAlg: "sha256", SyncStepPercent: -1}, func(e *testEnv) { e.sh(1, "drbdadm invalidate pc0") }, 0, nil,
			diagRE("was not started on", "connection SyncSource, disks UpToDate/Inconsistent")},
		"standAlone": {drbdsim.PairConfig{VerifyAlg: "sha256"}, func(e *testEnv) { e.sh(1, "drbdadm disconnect pc0") }, 1, nil,
			diagRE("was not started on", "the connection is StandAlone", "Nothing was run.")},
		"splitBrain": {drbdsim.PairConfig{VerifyAlg: "sha256"}, func(e *testEnv) { e.pair.SplitBrain() }, 0, nil,
			diagRE("was not started on", "StandAlone", "split brain")},
		"noVerifyAlg": {drbdsim.PairConfig{}, func(*testEnv) {}, 0, nil,
			diagRE("No DRBD Verify Algorithm Configured", "DRBD resource pc0 on", "has no verify algorithm",
				"Add `net { verify-alg sha256; }`", "Nothing was run.")},
		"resyncWithoutPeer": {drbdsim.PairConfig{VerifyAlg: "sha256"}, func(*testEnv) {}, 0, []string{"resync_out_of_sync = true"},
			diagRE("cannot resync what online verify finds", "it is the Primary", "peer_host is not set", "Nothing was run.")},
		"resyncNoPrimary": {drbdsim.PairConfig{VerifyAlg: "sha256"}, func(e *testEnv) { e.sh(0, "drbdadm secondary pc0") }, 1,
			[]string{"resync_out_of_sync = true"}, diagRE("cannot resync", "neither node is Primary")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t, tc.cfg).promote()
			e.pair.CompleteSync()
			tc.inject(e)
			before := e.applyFails(t, e.verifyConfig(tc.node, tc.attrs...), tc.want)
			e.expectNoMutations(before, "node%d: commands sent although verify was refused: %q")
		})
	}
	// DRBD 9: the guarded verify's shell reads the replication state and the roles per
	// connection (events2), where 8.x reads them from drbdadm.
	cases9 := map[string]struct {
		cfg    drbdsim.PairConfig
		inject func(e *testEnv)
		node   int
		attrs  []string
		want   *regexp.Regexp
	}{
		"degraded": {drbdsim.PairConfig{VerifyAlg: "sha256"}, func(e *testEnv) { e.pair.Disconnect() }, 0, nil,
			diagRE("was not started on", "not Connected with both disks UpToDate", "Nothing was run.")},
		"syncing": {drbdsim.PairConfig{VerifyAlg: "sha256", SyncStepPercent: -1}, func(e *testEnv) { e.sh(1, "drbdadm invalidate pc0") }, 0, nil,
			diagRE("was not started on", "replication SyncSource")},
		"noVerifyAlg": {drbdsim.PairConfig{}, func(*testEnv) {}, 0, nil, diagRE("No DRBD Verify Algorithm Configured", "Nothing was run.")},
		"resyncWithoutPeer": {drbdsim.PairConfig{VerifyAlg: "sha256"}, func(*testEnv) {}, 0, []string{"resync_out_of_sync = true"},
			diagRE("cannot resync what online verify finds", "it is the Primary", "peer_host is not set")},
		"resyncNoPrimary": {drbdsim.PairConfig{VerifyAlg: "sha256"}, func(e *testEnv) { e.sh(0, "drbdadm secondary pc0") }, 1,
			[]string{"resync_out_of_sync = true"}, diagRE("cannot resync", "neither node is Primary")},
	}
	for name, tc := range cases9 {
		t.Run("9/"+name, func(t *testing.T) {
			tc.cfg.Version = drbdsim.V9
			e := newTestEnv(t, tc.cfg).promote()
			e.pair.CompleteSync()
			tc.inject(e)
			before := e.applyFails(t, e.verifyConfig(tc.node, tc.attrs...), tc.want)
			e.expectNoMutations(before, "node%d: commands sent although verify was refused: %q")
		})
	}
}

// healthCheck is the documented health check: a check block with a scoped drbd_status of
// node i asserting a healthy pair.
func (e *testEnv) healthCheck(i int) string {
	return fmt.Sprintf(`
check "pc0_healthy" {
  data "drbd_status" "n" {
    %s
    resource = "pc0"
  }

  assert {
    condition = alltrue([
      data.drbd_status.n.connection_state == "Connected",
      data.drbd_status.n.disk_state == "UpToDate",
      data.drbd_status.n.peer_disk_state == "UpToDate",
      data.drbd_status.n.out_of_sync_kib == 0,
      !data.drbd_status.n.split_brain,
    ])
    error_message = "DRBD pc0 is degraded: ${data.drbd_status.n.connection_state}."
  }
}
`, e.hostArgs(i))
}

// TestAccStatus_healthCheckDegraded: the health check of the guide reads a healthy pair, and
// a degraded, StandAlone or down pair does not fail the plan or the apply (a failed check is
// a warning), so HCP Terraform's health assessments can report it.
func TestAccStatus_healthCheckDegraded(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{}).promote()
	e.pair.CompleteSync()
	cfg := e.providerConfig() + e.healthCheck(1)
	// A scoped data source is read on every plan, so no plan of a check block is empty.
	accTest(t,
		resource.TestStep{Config: cfg, ExpectNonEmptyPlan: true},
		resource.TestStep{PreConfig: func() { e.sh(1, "drbdadm disconnect pc0") }, Config: cfg, ExpectNonEmptyPlan: true},
		resource.TestStep{PreConfig: func() { e.sh(1, "drbdadm down pc0") }, Config: cfg, ExpectNonEmptyPlan: true},
	)
}
