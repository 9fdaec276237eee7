//go:build lab

package labtest

import (
	"fmt"
	"strings"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

// drbd9 reports whether the lab's guests run LINBIT's DRBD 9 (`DRBD=9`, LAB_DRBD in
// `lab/lab.sh env`) instead of Debian's DRBD 8.4. DRBD 9's /proc/drbd has no state lines, so
// node state is read with `drbdsetup status --json` there.
func drbd9() bool { return env.drbd == "9" }

// status9 reads resource pc0 on node n with `drbdsetup status pc0 --json` (DRBD 9) and returns
// it with a one-line summary in DRBD 9's words. A resource that is down is Configured false.
func (s *scenario) status9(n int) (drbd.Status, string, error) {
	out, err := s.on(n, "drbdsetup status "+resName+" --json")
	if err != nil {
		if strings.Contains(err.Error(), "exited 10") {
			return drbd.Status{Resource: resName}, "resource down", nil
		}
		return drbd.Status{}, "", err
	}
	st, err := drbd.ParseStatusJSON([]byte(out), resName)
	if err != nil {
		return drbd.Status{}, "", fmt.Errorf("node%d: drbdsetup status --json: %w", n, err)
	}
	if !st.Configured {
		return st, "resource down", nil
	}
	return st, fmt.Sprintf("role:%s disk:%s connection:%s replication:%s peer-role:%s peer-disk:%s",
		st.Role, st.DiskState, st.ConnectionState, st.ReplicationState, st.PeerRole, st.PeerDiskState), nil
}

// mustStatus9 is status9 that fails the test on error or when the resource is down.
func (s *scenario) mustStatus9(n int) (drbd.Status, string) {
	s.t.Helper()
	st, line, err := s.status9(n)
	if err != nil {
		s.fail("%v", err)
	}
	if !st.Configured {
		s.fail("node%d: resource %s is down", n, resName)
	}
	return st, line
}

// checkPair9 checks, on DRBD 9, that node primary is Primary and node secondary Secondary,
// both UpToDate, connected with replication Established.
func (s *scenario) checkPair9(primary, secondary int) {
	s.t.Helper()
	for _, n := range []int{primary, secondary} {
		role, peerRole := drbd.RolePrimary, drbd.RoleSecondary
		if n == secondary {
			role, peerRole = drbd.RoleSecondary, drbd.RolePrimary
		}
		st, line := s.mustStatus9(n)
		s.logf("node%d: %s", n, line)
		if st.Role != role || st.PeerRole != peerRole || st.DiskState != drbd.DiskUpToDate || st.PeerDiskState != drbd.DiskUpToDate {
			s.fail("node%d is not %s (peer %s), UpToDate/UpToDate: %s", n, role, peerRole, line)
		}
		if st.ConnectionState != drbd.ConnConnected || st.ReplicationState != "Established" {
			s.fail("node%d is not Connected with replication Established: %s", n, line)
		}
		s.pass("node%d %s (peer %s), UpToDate/UpToDate, Connected, Established", n, role, peerRole)
	}
}

// procMinor9 is st (read with `drbdsetup status --json`) in the form of an 8.4 /proc/drbd
// entry, so that the scenarios make the same checks on both kernels: DRBD 9's connection state
// Connecting is 8.4's WFConnection, and a Connected peer that is resyncing or verifying is in
// the replication state (SyncSource, SyncTarget, ...), which 8.4 printed as its cs:. Sync
// progress is DRBD 9's percent-resync-done.
func procMinor9(st drbd.Status) *drbd.ProcMinor {
	m := &drbd.ProcMinor{Minor: minor}
	if !st.Configured {
		m.Unconfigured = true
		return m
	}
	m.Role, m.PeerRole, m.DiskState, m.PeerDiskState = st.Role, st.PeerRole, st.DiskState, st.PeerDiskState
	m.ConnState = st.ConnectionState
	switch {
	case st.ConnectionState == drbd.ConnConnecting:
		m.ConnState = drbd.ConnWFConnection
	case st.ConnectionState == drbd.ConnConnected && st.ReplicationState != "" && st.ReplicationState != drbd.ReplEstablished:
		m.ConnState = drbd.ConnState(st.ReplicationState)
	case st.ConnectionState == "":
		m.ConnState = drbd.ConnStandAlone // no connection configured
	}
	if st.Syncing {
		m.Sync = drbd.ProcSync{Present: true, Percent: st.SyncPercent, SpeedKiBps: st.SpeedKiBps}
	}
	return m
}

// procLine9 prints m in /proc/drbd's words, followed by DRBD 9's own ones from st.
func procLine9(m *drbd.ProcMinor, st drbd.Status) string {
	if m.Unconfigured {
		return "0: cs:Unconfigured (DRBD 9: resource down)"
	}
	l := fmt.Sprintf("0: cs:%s ro:%s/%s ds:%s/%s (DRBD 9: connection:%s replication:%s)",
		m.ConnState, m.Role, m.PeerRole, m.DiskState, m.PeerDiskState, st.ConnectionState, st.ReplicationState)
	if m.Sync.Present {
		l += fmt.Sprintf(" sync'ed: %.1f%%", m.Sync.Percent)
	}
	return l
}

// parseSample9 reads one `drbdsetup status --json` sample (as proc does on DRBD 9).
func parseSample9(text string) (*drbd.ProcMinor, error) {
	st, err := drbd.ParseStatusJSON([]byte(text), resName)
	if err != nil {
		return nil, err
	}
	return procMinor9(st), nil
}

// promoteSplitCmd promotes the disconnected Secondary of a pair while the other node stays
// Primary, to make a split brain on purpose. DRBD 8.4.11 leaves that Secondary UpToDate and
// promotes it as it is; DRBD 9 outdates it when it disconnects from a Primary ("disk:Outdated",
// `drbdadm primary` refused with "Need access to UpToDate data"), so only --force promotes it
// there: the operator's mistake that makes the split brain.
func promoteSplitCmd() string {
	if drbd9() {
		return "drbdadm primary --force " + resName
	}
	return "drbdadm primary " + resName
}

// promoteSplitHow says how promoteSplitCmd promotes.
func promoteSplitHow() string {
	if drbd9() {
		return "DRBD 9 outdated its disk at the disconnect: drbdadm primary --force"
	}
	return "its disk is UpToDate; no --force"
}

// The after-sb policies of lab/guest/pc0-drbd9.res (and pc0.res).
const (
	labAfterSB     = "--after-sb-0pri=discard-younger-primary --after-sb-1pri=discard-secondary --after-sb-2pri=call-pri-lost-after-sb"
	defaultAfterSB = "--after-sb-0pri=disconnect --after-sb-1pri=disconnect --after-sb-2pri=disconnect"
)

// afterSBDefault9 gives node n's connection DRBD's default split-brain policy (disconnect) on
// DRBD 9, after the after-sb lines were removed from its resource file. DRBD 8.4 drops a
// disconnected node's net options and reads the file again at `drbdadm connect`; DRBD 9 keeps
// the connection, with its options, through `disconnect` (StandAlone), so the file alone
// changes nothing there: without this, the lab's after-sb-1pri discard-secondary solved the
// split brain at the reconnect ("Split-Brain detected, 1 primaries, automatically solved").
// Run while connected, before the disconnect.
func (s *scenario) afterSBDefault9(n int) {
	s.t.Helper()
	if drbd9() {
		s.must(n, "drbdadm net-options "+defaultAfterSB+" "+resName)
	}
}

// afterSBLab9 puts the lab's policies back on node n's connection on DRBD 9 (best effort: the
// node may be StandAlone), as the restored resource file does on 8.4.
func (s *scenario) afterSBLab9(n int) {
	s.t.Helper()
	if !drbd9() {
		return
	}
	if _, err := s.on(n, "drbdadm net-options "+labAfterSB+" "+resName); err != nil {
		s.logf("  node%d: the lab's after-sb policies not set on the connection: %v", n, err)
	}
}
