package drbdsim

import (
	"strings"
	"testing"
)

// inSyncPair returns a pair in sync with node1 Primary.
func inSyncPair(t *testing.T, cfg PairConfig) *Pair {
	t.Helper()
	p := primaryPair(t, cfg)
	p.CompleteSync()
	return p
}

// TestVerifyFindsInjectedBlocks runs drbdadm verify on 8.4 and 9: the Verify states and
// the "verified:" progress show while it runs, the injected blocks show as out of sync
// on both nodes afterwards, and a disconnect/connect of the Secondary resyncs them.
func TestVerifyFindsInjectedBlocks(t *testing.T) {
	t.Parallel()
	for _, v := range []Version{V84, V9} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			p := inSyncPair(t, PairConfig{Version: v, VerifyAlg: "sha256", SyncStepPercent: 40})
			n1, n2 := p.Node(0), p.Node(1)
			p.InjectOutOfSync(10) // 3 blocks
			mustRun(t, n1, "drbdadm verify pc0")
			if n1.ConnState() != csVerifyS || n2.ConnState() != csVerifyT {
				t.Fatalf("after verify: %s/%s", n1.ConnState(), n2.ConnState())
			}
			if v == V84 {
				if out := mustRun(t, n1, "cat /proc/drbd"); !strings.Contains(out, "cs:VerifyS") || !strings.Contains(out, "verified:") {
					t.Errorf("/proc/drbd while verifying:\n%s", out)
				}
			} else if out := mustRun(t, n1, "drbdsetup status pc0 --json"); !strings.Contains(out, `"replication-state": "VerifyS"`) {
				t.Errorf("status while verifying:\n%s", out)
			}
			for i := 0; i < 5; i++ {
				mustRun(t, n1, "drbdadm cstate pc0")
			}
			if running, _ := p.Verifying(); running {
				t.Fatal("verify still running after five status reads")
			}
			for _, n := range []*Node{n1, n2} {
				n.p.view(func() {
					if got := n.oosKiB(); got != 12 {
						t.Errorf("%s oos = %d, want 12", n.Name(), got)
					}
				})
			}
			want := "Online verify found 3 4k block out of sync!" // DRBD 9: "blocks"
			if v == V9 {
				want = "Online verify found 3 4k blocks out of sync!"
			}
			if log := mustRun(t, n1, "dmesg"); !strings.Contains(log, want) {
				t.Errorf("kernel log lacks the verify result:\n%s", log)
			}
			mustRun(t, n2, "drbdadm disconnect pc0")
			mustRun(t, n2, "drbdadm connect pc0")
			if n1.ConnState() != csSyncSource {
				t.Fatalf("after reconnect: %s", n1.ConnState())
			}
			p.CompleteSync()
			if n1.ConnState() != csConnected || n2.DiskState() != diskUpToDate {
				t.Fatalf("after resync: %s %s", n1.ConnState(), n2.DiskState())
			}
			n1.p.view(func() {
				if got := n1.oosKiB(); got != 0 {
					t.Errorf("oos after resync = %d", got)
				}
			})
		})
	}
}

// TestVerifyRefusals checks drbdadm verify's refusals: no verify-alg, and no connection.
func TestVerifyRefusals(t *testing.T) {
	t.Parallel()
	p := inSyncPair(t, PairConfig{Version: V84})
	r := run(t, p.Node(0), "drbdadm verify pc0")
	if r.code != 11 || !strings.Contains(r.stderr, "(-14) Need a verify algorithm to start online verify") {
		t.Errorf("verify without verify-alg: %+v", r)
	}
	p = inSyncPair(t, PairConfig{Version: V84, VerifyAlg: "sha1"})
	if out := mustRun(t, p.Node(0), "drbdsetup show pc0"); !strings.Contains(out, `verify-alg`) || !strings.Contains(out, `"sha1"`) {
		t.Errorf("drbdsetup show lacks verify-alg:\n%s", out)
	}
	mustRun(t, p.Node(1), "drbdadm disconnect pc0")
	r = run(t, p.Node(0), "drbdadm verify pc0")
	if r.code != 11 || !strings.Contains(r.stderr, "(-15) Need a connection to start verify or resync") {
		t.Errorf("verify while disconnected: %+v", r)
	}
}
