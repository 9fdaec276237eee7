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
