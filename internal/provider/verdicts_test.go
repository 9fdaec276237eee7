package provider

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

// realStatus reads one state captured on real DRBD: an 8.4.11 /proc/drbd
// (internal/drbd/testdata/drbd-8.4.11/states/NAME.txt, minor 0) or a 9.2.12
// `drbdsetup status --json` (internal/drbd/testdata/drbd-9.2.12/STATE/nodeN-status-json.txt).
func realStatus(t *testing.T, capture string) drbd.Status {
	t.Helper()
	dir := filepath.Join("..", "drbd", "testdata")
	if filepath.Ext(capture) == ".txt" {
		b, err := os.ReadFile(filepath.Join(dir, "drbd-8.4.11", "states", capture))
		if err != nil {
			t.Fatal(err)
		}
		p, err := drbd.ParseProcDRBD(string(b))
		if err != nil {
			t.Fatal(err)
		}
		st, ok := p.StatusOf(0)
		if !ok {
			return drbd.Status{}
		}
		return st
	}
	b, err := os.ReadFile(filepath.Join(dir, "drbd-9.2.12", capture+"-status-json.txt"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := drbd.ParseStatusJSON(b, "pc0")
	if err != nil && !errors.Is(err, drbd.ErrNoSuchResource) {
		t.Fatal(err)
	}
	return st
}

// TestSyncWatch_realStates: drbd_sync's verdict on one read of each captured real state, on a
// fresh watch (no earlier read).
func TestSyncWatch_realStates(t *testing.T) {
	for _, tc := range []struct {
		capture string
		want    syncAction
		reason  syncFailure
	}{
		{"00-module-loaded-no-resource.txt", syncFail, syncWentDown},
		{"01-connected-secondary-secondary-inconsistent.txt", syncWait, 0},
		{"03-syncsource-primary-14.5pct.txt", syncWait, 0},
		{"04-synctarget-secondary-47.7pct.txt", syncWait, 0},
		{"05-connected-primary-uptodate.txt", syncDone, 0},
		{"05-connected-secondary-uptodate.txt", syncDone, 0},
		{"06-wfconnection-primary-peer-down.txt", syncPeerAway, 0},
		{"07-standalone-primary.txt", syncStandAlone, 0},
		{"09-after-switchover-node2-primary.txt", syncDone, 0},
		{"02-connected-secondary-inconsistent/node1", syncWait, 0},
		{"03-syncsource-primary/node1", syncWait, 0},
		{"03-syncsource-primary/node2", syncWait, 0},
		{"04-connected-primary-uptodate/node2", syncDone, 0},
		{"05-standalone-after-disconnect/node1", syncStandAlone, 0},
		{"05-standalone-after-disconnect/node2", syncPeerAway, 0},
		{"06-peer-down/node1", syncPeerAway, 0},
		{"06-peer-down/node2", syncFail, syncWentDown},
		{"09-split-brain-standalone/node2", syncStandAlone, 0},
		{"10-down/node1", syncFail, syncWentDown},
	} {
		t.Run(tc.capture, func(t *testing.T) {
			w := &syncWatch{peerWait: time.Minute, stall: stallWatch{limit: time.Minute}}
			v := w.next(time.Unix(1000, 0), realStatus(t, tc.capture))
			if v.action != tc.want || v.reason != tc.reason {
				t.Errorf("verdict %+v, want action %d reason %d", v, tc.want, tc.reason)
			}
			if v.action == syncPeerAway && v.timedOut {
				t.Error("timed out on the first read")
			}
		})
	}
}

// TestSyncWatch_sequences: the rules that depend on earlier reads, over real states in
// order: the peer away past connect_timeout, the peer back (its rate raised again once), a
// resync that stops decreasing past stall_timeout.
func TestSyncWatch_sequences(t *testing.T) {
	t0 := time.Unix(1000, 0)
	away := realStatus(t, "06-wfconnection-primary-peer-down.txt")
	syncing := realStatus(t, "03-syncsource-primary-14.5pct.txt")
	done := realStatus(t, "05-connected-primary-uptodate.txt")

	t.Run("peer away then back", func(t *testing.T) {
		w := &syncWatch{peerWait: time.Minute, stall: stallWatch{limit: time.Hour}}
		steps := []struct {
			at       time.Duration
			st       drbd.Status
			want     syncAction
			timedOut bool
		}{
			{0, away, syncPeerAway, false},
			{59 * time.Second, away, syncPeerAway, false},
			{61 * time.Second, syncing, syncPeerBack, false},
			{62 * time.Second, syncing, syncWait, false},
			{63 * time.Second, away, syncPeerAway, false},
			{63*time.Second + time.Minute + 1, away, syncPeerAway, true},
		}
		for i, s := range steps {
			v := w.next(t0.Add(s.at), s.st)
			if v.action != s.want || v.timedOut != s.timedOut {
				t.Fatalf("read %d: verdict %+v, want action %d timedOut %v", i, v, s.want, s.timedOut)
			}
		}
	})
	t.Run("stall", func(t *testing.T) {
		w := &syncWatch{peerWait: time.Hour, stall: stallWatch{limit: time.Minute}}
		if v := w.next(t0, syncing); v.action != syncWait {
			t.Fatalf("first read: %+v", v)
		}
		if v := w.next(t0.Add(59*time.Second), syncing); v.action != syncWait {
			t.Fatalf("before stall_timeout: %+v", v)
		}
		v := w.next(t0.Add(61*time.Second), syncing)
		if v.action != syncFail || v.reason != syncStalled || v.err == nil {
			t.Fatalf("past stall_timeout: %+v", v)
		}
		if d := v.detail(stringer("root@n1:22"), mustName(t, "pc0"), syncing, time.Hour); d == "" {
			t.Fatal("no detail")
		}
		if v := w.next(t0.Add(62*time.Second), done); v.action != syncDone {
			t.Fatalf("in sync: %+v", v)
		}
	})
}

// stringer is a host name for verdict details.
type stringer string

func (s stringer) String() string { return string(s) }

// realProbe is realStatus as a probe of one volume and one peer.
func realProbe(t *testing.T, capture string) *drbd.Probe {
	st := realStatus(t, capture)
	return &drbd.Probe{Status: st, Volumes: drbd.VolumesOf(st)}
}

// TestDecidePromotion_realStates: drbd_primary's verdict on each captured real state, with the
// peer fenced or not, force or not.
func TestDecidePromotion_realStates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		capture string
		in      promoteInput
		want    promoteAction
		refusal promoteRefusal
	}{
		{"fresh pair, no force: DRBD decides", "01-connected-secondary-secondary-inconsistent.txt", promoteInput{}, promotePlain, 0},
		{"fresh pair, force", "01-connected-secondary-secondary-inconsistent.txt", promoteInput{force: true}, promoteForce, 0},
		{"fresh pair, force, skip", "01-connected-secondary-secondary-inconsistent.txt", promoteInput{force: true, skipInitialSync: true}, promoteSkipSync, 0},
		{"fresh pair 9, force", "02-connected-secondary-inconsistent/node1", promoteInput{force: true}, promoteForce, 0},
		{"healthy secondary", "05-connected-secondary-uptodate.txt", promoteInput{}, promotePlain, 0},
		{"healthy secondary, force is not needed", "05-connected-secondary-uptodate.txt", promoteInput{force: true}, promotePlain, 0},
		{"healthy secondary 9 after switchover", "08-switchover-node2-primary/node1", promoteInput{}, promotePlain, 0},
		{"syncing target, force: not fresh", "04-synctarget-secondary-47.7pct.txt", promoteInput{force: true}, promoteRefuse, refuseForceNotFresh},
		{"syncing target, force over peer data", "04-synctarget-secondary-47.7pct.txt", promoteInput{force: true, allowOverwritePeerData: true}, promoteForceOverride, 0},
		{"peer down, not fenced: failover refused", "06-wfconnection-primary-peer-down.txt", promoteInput{}, promoteRefuse, refuseFailoverUnfenced},
		{"peer down, fenced: failover", "06-wfconnection-primary-peer-down.txt", promoteInput{peerFenced: true}, promoteFailover, 0},
		{"peer down 9, not fenced", "06-peer-down/node1", promoteInput{}, promoteRefuse, refuseFailoverUnfenced},
		{"peer down 9, fenced", "06-peer-down/node1", promoteInput{peerFenced: true}, promoteFailover, 0},
		{"StandAlone after disconnect 9, not fenced", "05-standalone-after-disconnect/node1", promoteInput{}, promoteRefuse, refuseFailoverUnfenced},
		{"Outdated after disconnect 9, fenced", "05-standalone-after-disconnect/node2", promoteInput{peerFenced: true}, promoteRefuse, refuseFailoverNotUpToDate},
		{"split brain 9, not fenced", "09-split-brain-standalone/node1", promoteInput{}, promoteRefuse, refuseFailoverUnfenced},
		{"fenced peer still seen: wait", "05-connected-secondary-uptodate.txt", promoteInput{peerFenced: true}, promoteWaitPeerGone, 0},
		{"fenced peer still seen after the wait: DRBD decides", "05-connected-secondary-uptodate.txt", promoteInput{peerFenced: true, waitedPeerGone: true}, promotePlain, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.probe = realProbe(t, tc.capture)
			v := decidePromotion(in)
			if v.action != tc.want || v.refusal != tc.refusal {
				t.Errorf("verdict %+v, want action %d refusal %d", v, tc.want, tc.refusal)
			}
		})
	}
}

// TestDecidePromotion_forceWaitsForThePeerOnce: force on a fresh node whose peer has not
// connected yet waits for the peer first, and decides on what it sees after the wait.
func TestDecidePromotion_forceWaitsForThePeerOnce(t *testing.T) {
	st := realStatus(t, "01-connected-secondary-secondary-inconsistent.txt")
	st.ConnectionState, st.PeerDiskState, st.PeerRole = drbd.ConnWFConnection, drbd.DiskDUnknown, drbd.RoleUnknown
	p := &drbd.Probe{Status: st, Volumes: drbd.VolumesOf(st)}
	if v := decidePromotion(promoteInput{probe: p, force: true}); v.action != promoteWaitPeer {
		t.Fatalf("before the wait: %+v", v)
	}
	v := decidePromotion(promoteInput{probe: p, force: true, waitedPeer: true})
	if v.action == promoteWaitPeer {
		t.Fatalf("waits again: %+v", v)
	}
}

// TestDecidePromotion_noQuorum9: the real DRBD 9 states with the local volume reporting no
// quorum (what a resource with quorum enabled prints on a node that sees too few nodes):
// the failover onto it and a plain promotion are refused, while a force on a fresh node
// whose peer has not connected yet still waits for the peer (it brings quorum back), and the
// other refusals keep their own reason.
func TestDecidePromotion_noQuorum9(t *testing.T) {
	lost := func(t *testing.T, capture string) *drbd.Probe {
		t.Helper()
		p := realProbe(t, capture)
		for i := range p.Volumes.Local {
			p.Volumes.Local[i].NoQuorum = true
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		capture string
		in      promoteInput
		want    promoteAction
		refusal promoteRefusal
	}{
		{"peer down, fenced: refused", "06-peer-down/node1", promoteInput{peerFenced: true}, promoteRefuse, refuseNoQuorum},
		{"peer down, not fenced: the fence reason", "06-peer-down/node1", promoteInput{}, promoteRefuse, refuseFailoverUnfenced},
		{"healthy secondary: refused", "08-switchover-node2-primary/node1", promoteInput{}, promoteRefuse, refuseNoQuorum},
		{"fresh pair, force: refused", "02-connected-secondary-inconsistent/node1", promoteInput{force: true}, promoteRefuse, refuseNoQuorum},
		{"fresh pair, force over peer data: refused", "02-connected-secondary-inconsistent/node1",
			promoteInput{force: true, allowOverwritePeerData: true}, promoteRefuse, refuseNoQuorum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.probe = lost(t, tc.capture)
			v := decidePromotion(in)
			if v.action != tc.want || v.refusal != tc.refusal {
				t.Errorf("verdict %+v, want action %d refusal %d", v, tc.want, tc.refusal)
			}
		})
	}
	st := realStatus(t, "02-connected-secondary-inconsistent/node1")
	st.ConnectionState, st.PeerDiskState, st.PeerRole = drbd.ConnConnecting, drbd.DiskDUnknown, drbd.RoleUnknown
	p := &drbd.Probe{Status: st, Volumes: drbd.VolumesOf(st)}
	p.Volumes.Local[0].NoQuorum = true
	if v := decidePromotion(promoteInput{probe: p, force: true}); v.action != promoteWaitPeer {
		t.Errorf("force on a fresh node without its peer (no quorum yet): %+v, want a wait for the peer", v)
	}
}
