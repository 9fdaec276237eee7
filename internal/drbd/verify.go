package drbd

import (
	"fmt"
	"regexp"
)

// Verify returns `drbdadm verify RES`, the same on DRBD 8.3, 8.4 and 9: it starts an online
// verify with this node as VerifyS and its peer as VerifyT, and returns once the state change
// is made (the verify itself runs in the kernel). DRBD refuses it without a Connected pair with
// both disks UpToDate ("(-15) Need a connection to start verify or resync") and without the
// net option verify-alg ("(-14) Need a verify algorithm to start online verify"). The blocks
// found to differ are marked out of sync on both nodes (oos: in /proc/drbd, out-of-sync in
// DRBD 9's status); nothing is resynced until the connection is made again.
func (c Commands) Verify(res ResourceName) string { return c.drbdadm(res, "verify") }

// Disconnect returns `drbdadm disconnect RES`, the same on DRBD 8.3, 8.4 and 9: the node goes
// StandAlone until Connect. Followed by Connect on the Secondary of a pair whose online verify
// found blocks out of sync, it makes DRBD resync those blocks from the Primary (the DRBD
// User's Guide, "Using on-line device verification").
func (c Commands) Disconnect(res ResourceName) string { return c.drbdadm(res, "disconnect") }

// verifyAlgRE matches the verify-alg line of `drbdsetup show` (8.3 syncer section, 8.4 and 9
// net section), quoted or not.
var verifyAlgRE = regexp.MustCompile(`(?m)^\s*verify-alg\s+"?([A-Za-z0-9_()-]+)"?\s*;`)

// ParseVerifyAlg returns the verify-alg in force as `drbdsetup show` (ShowSettings) prints it,
// "" when none is set (DRBD's default: online verify is refused).
func ParseVerifyAlg(show string) string {
	if m := verifyAlgRE.FindStringSubmatch(show); m != nil {
		return m[1]
	}
	return ""
}

// Verifying reports whether an online verify runs: cs VerifyS or VerifyT on DRBD 8.x, the
// replication state VerifyS or VerifyT on DRBD 9.
func Verifying(s Status) bool {
	if !s.Configured {
		return false
	}
	switch {
	case s.ReplicationState == ReplVerifyS || s.ReplicationState == ReplVerifyT:
		return true
	case s.ConnectionState == ConnVerifyS || s.ConnectionState == ConnVerifyT:
		return true
	}
	return false
}

// VerifyRefusal returns nil when an online verify may start on s, the status of one node:
// up, Connected (on DRBD 9 with replication Established) and both disks UpToDate. Otherwise
// it returns an error naming what it saw, a StandAlone connection with its reason.
func VerifyRefusal(s Status) error {
	switch {
	case !s.Configured:
		return fmt.Errorf("the resource is down")
	case s.ConnectionState == ConnStandAlone:
		return fmt.Errorf("the connection is StandAlone (%s)", StandAloneReason(s))
	case Verifying(s):
		return fmt.Errorf("an online verify is already running (%s)", verifyWord(s))
	case !InSync(s):
		repl := ""
		if s.ReplicationState != "" {
			repl = ", replication " + s.ReplicationState
		}
		return fmt.Errorf("the pair is not Connected with both disks UpToDate (connection %s%s, disks %s/%s)",
			s.ConnectionState, repl, s.DiskState, s.PeerDiskState)
	}
	return nil
}

// verifyWord is the Verify state of s as DRBD prints it.
func verifyWord(s Status) string {
	if s.ReplicationState != "" {
		return s.ReplicationState
	}
	return string(s.ConnectionState)
}
