package drbd

import (
	"fmt"
	"strconv"
	"time"
)

// Status is the normalised state of one DRBD resource (one minor/volume and,
// on DRBD 9, its first peer connection) as seen from one node; Probe.Volumes has
// every volume and every peer.
type Status struct {
	Resource string
	// Configured reports whether the resource/minor exists in the kernel (it is "up").
	Configured bool
	// Minor is -1 when unknown.
	Minor int
	// Device is "/dev/drbd0" when known.
	Device           string
	Role, PeerRole   Role
	ConnectionState  ConnState
	ReplicationState string // DRBD 9 only
	DiskState        DiskState
	PeerDiskState    DiskState
	Syncing          bool
	// SyncPercent is 0..100, 100 when in sync; meaningful with Syncing or InSync.
	SyncPercent  float64
	OutOfSyncKiB int64
	// VerifyPercent is the progress of a running online verify (Verifying), 0..100, from the
	// "verified:" line of /proc/drbd on 8.x; -1 when DRBD does not print it (DRBD 9's status).
	VerifyPercent float64
	SpeedKiBps    int64         // 0 when unknown
	ETA           time.Duration // 0 when unknown
	// SplitBrain reports that the node is StandAlone and DRBD itself detected a
	// split brain on it since its last successful handshake (SplitBrainReported
	// on the kernel log), whatever words followed ("automatically solved" counts
	// only when the resync then started). It is false for a StandAlone
	// connection left by `drbdadm disconnect`, and false when the kernel log was
	// not read.
	SplitBrain bool
	// SplitBrainUnknown is set when the kernel log could not be read, so a
	// StandAlone connection cannot be told apart (see Probe.KernelLogError).
	SplitBrainUnknown bool
}

// unconfiguredStatus is the Status of a resource that is not up in the kernel.
func unconfiguredStatus(resource string, minor int, device string) Status {
	return Status{
		Resource:        resource,
		Minor:           minor,
		Device:          device,
		Role:            RoleUnknown,
		PeerRole:        RoleUnknown,
		ConnectionState: ConnUnconfigured,
		DiskState:       DiskDUnknown,
		PeerDiskState:   DiskDUnknown,
	}
}

// finish fills the derived fields (in-sync percent).
func (s *Status) finish() {
	if InSync(*s) {
		s.SyncPercent = 100
		s.Syncing = false
	}
}

// StandAlone reports whether the resource is up and StandAlone: it will not connect to its
// peer by itself (after `drbdadm disconnect`, a split brain, or a refused handshake).
func StandAlone(s Status) bool {
	return s.Configured && s.ConnectionState == ConnStandAlone
}

// PeerConnected reports whether DRBD sees its peer: the peer's disk state is known and the
// resource is not StandAlone.
func PeerConnected(s Status) bool {
	return s.PeerDiskState != DiskDUnknown && s.PeerDiskState != "" && s.ConnectionState != ConnStandAlone
}

// DevicePath is the device of a DRBD minor: /dev/drbd<minor>.
func DevicePath(minor int) string { return "/dev/drbd" + strconv.Itoa(minor) }

// InSync reports whether the pair is fully in sync: the connection is
// Connected (on DRBD 9 with replication Established) and both disks are
// UpToDate.
func InSync(s Status) bool {
	if !s.Configured || s.ConnectionState != ConnConnected {
		return false
	}
	if s.ReplicationState != "" && s.ReplicationState != ReplEstablished {
		return false
	}
	return s.DiskState == DiskUpToDate && s.PeerDiskState == DiskUpToDate
}

// StandAloneReason explains a StandAlone connection of s: a split brain DRBD
// reported, an administrative disconnect, or (kernel log unreadable) either.
func StandAloneReason(s Status) string {
	switch {
	case s.SplitBrain:
		return "DRBD reported a split brain on this node (\"Split-Brain detected\" in the kernel log): both nodes " +
			"changed data while apart, and DRBD will not reconnect until an operator chooses whose changes to discard"
	case s.SplitBrainUnknown:
		return "the kernel log could not be read, so it is unknown whether DRBD reported a split brain (look for " +
			"\"Split-Brain detected\" in the kernel log of both nodes) or an administrator ran `drbdadm disconnect`; " +
			"DRBD will not reconnect by itself"
	default:
		return "DRBD reported no split brain since the resource last connected, so the connection was dropped on " +
			"purpose (`drbdadm disconnect`, or brought up without connecting); DRBD will not reconnect by itself"
	}
}

// SyncFailure returns a non-nil error when waiting for the pair to get in
// sync is pointless: the resource is not up, the connection is StandAlone
// (split brain or manual disconnect), a disk is Diskless or Failed, or (DRBD 9)
// the resource has no peer connection at all. The error text names what was
// seen. A disconnected peer (WFConnection/Connecting) is not a failure here:
// the caller bounds that wait with its own connect timeout.
func SyncFailure(s Status) error {
	if !s.Configured {
		return fmt.Errorf("DRBD resource %s is not up on this node (%s)", nameOr(s.Resource), s.ConnectionState)
	}
	if s.ConnectionState == ConnStandAlone {
		return fmt.Errorf("DRBD resource %s is StandAlone (role %s/%s, disks %s/%s): %s",
			nameOr(s.Resource), s.Role, s.PeerRole, s.DiskState, s.PeerDiskState, StandAloneReason(s))
	}
	if s.ConnectionState == "" {
		return fmt.Errorf("DRBD resource %s has no peer connection: there is nothing to sync with", nameOr(s.Resource))
	}
	for _, d := range [...]struct {
		who   string
		state DiskState
	}{{"local", s.DiskState}, {"peer", s.PeerDiskState}} {
		if d.state == DiskDiskless || d.state == DiskFailed {
			return fmt.Errorf("DRBD resource %s: the %s disk is %s (disks %s/%s, connection %s): a resync cannot complete",
				nameOr(s.Resource), d.who, d.state, s.DiskState, s.PeerDiskState, s.ConnectionState)
		}
	}
	return nil
}

func nameOr(res string) string {
	if res == "" {
		return "(unnamed)"
	}
	return strconv.Quote(res)
}

// ForcePrimaryAllowed decides for one volume and one peer (ForcePrimaryAllowedAll for
// every volume and peer of a resource) whether a forced promotion (`primary --force`,
// the initial-sync promotion that declares the local data good and overwrites
// the peer) is safe. Per DESIGN.md it is allowed only when the local node is
// already Primary (nothing to do), or when the local disk is not UpToDate and
// the peer's disk holds no UpToDate/Consistent/Outdated data, i.e. a fresh
// pair. This implementation is stricter where the states prove nothing:
//   - the peer must be Inconsistent: DUnknown (not connected), Diskless (its
//     backing disk may hold data DRBD cannot see), and transient states are
//     refused because we cannot know the peer's data;
//   - the local disk must be Inconsistent, Outdated or Consistent, the states
//     --force can upgrade to UpToDate.
//
// The reason always names both disk states.
func ForcePrimaryAllowed(localRole Role, local, peer DiskState) (bool, string) {
	states := fmt.Sprintf("local disk %s, peer disk %s", orUnknown(string(local)), orUnknown(string(peer)))
	if localRole == RolePrimary {
		return true, "the local node is already Primary (" + states + "); nothing is forced"
	}
	switch local {
	case DiskUpToDate:
		return false, "the local disk is already UpToDate (" + states + "): a forced promotion is only for the initial sync of a fresh pair; promote without force"
	case DiskInconsistent, DiskOutdated, DiskConsistent:
	default:
		return false, "the local disk is " + orUnknown(string(local)) + " (" + states + "): DRBD can only force Inconsistent, Outdated or Consistent data to UpToDate"
	}
	switch peer {
	case DiskInconsistent:
		return true, "fresh pair (" + states + "): the peer holds no UpToDate, Consistent or Outdated data"
	case DiskUpToDate, DiskConsistent, DiskOutdated:
		return false, "the peer disk holds " + string(peer) + " data (" + states + "): forcing would overwrite it"
	case DiskDUnknown, "":
		return false, "the peer disk state is " + orUnknown(string(peer)) + " because the peer is not connected (" + states +
			"): that is no proof of a fresh pair, the peer's data cannot be known; connect the peer first"
	case DiskDiskless:
		return false, "the peer has no disk attached (" + states + "): its backing device may still hold data DRBD cannot see"
	default:
		return false, "the peer disk is " + string(peer) + " (" + states + "): its data cannot be known; wait until it settles"
	}
}

// orUnknown returns s, or "unknown" for prose when no state was read (roles in state use
// DRBD's own word, RoleUnknown).
func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
