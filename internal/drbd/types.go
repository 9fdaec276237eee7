package drbd

// Role is a DRBD node role as DRBD prints it.
type Role string

// Roles DRBD reports. RoleUnknown is what DRBD shows for a disconnected peer.
const (
	RolePrimary   Role = "Primary"
	RoleSecondary Role = "Secondary"
	RoleUnknown   Role = "Unknown"
)

// ConnState is a DRBD connection state, spelled as DRBD 8.4 prints it in the
// cs: field of /proc/drbd. DRBD 9 adds Connecting; on DRBD 9 the replication
// words (SyncSource, Established, ...) are carried by Status.ReplicationState.
type ConnState string

// Connection states of DRBD 8.4 (drbd_strings.c), plus DRBD 9's Connecting and
// the pseudo-values Unconfigured and TOO_LARGE that /proc/drbd can show.
const (
	ConnStandAlone     ConnState = "StandAlone"
	ConnDisconnecting  ConnState = "Disconnecting"
	ConnUnconnected    ConnState = "Unconnected"
	ConnTimeout        ConnState = "Timeout"
	ConnBrokenPipe     ConnState = "BrokenPipe"
	ConnNetworkFailure ConnState = "NetworkFailure"
	ConnProtocolError  ConnState = "ProtocolError"
	ConnTearDown       ConnState = "TearDown"
	ConnWFConnection   ConnState = "WFConnection"
	ConnWFReportParams ConnState = "WFReportParams"
	ConnConnected      ConnState = "Connected"
	ConnStartingSyncS  ConnState = "StartingSyncS"
	ConnStartingSyncT  ConnState = "StartingSyncT"
	ConnWFBitMapS      ConnState = "WFBitMapS"
	ConnWFBitMapT      ConnState = "WFBitMapT"
	ConnWFSyncUUID     ConnState = "WFSyncUUID"
	ConnSyncSource     ConnState = "SyncSource"
	ConnSyncTarget     ConnState = "SyncTarget"
	ConnVerifyS        ConnState = "VerifyS"
	ConnVerifyT        ConnState = "VerifyT"
	ConnPausedSyncS    ConnState = "PausedSyncS"
	ConnPausedSyncT    ConnState = "PausedSyncT"
	ConnAhead          ConnState = "Ahead"
	ConnBehind         ConnState = "Behind"
	ConnConnecting     ConnState = "Connecting"
	ConnUnconfigured   ConnState = "Unconfigured"
	ConnTooLarge       ConnState = "TOO_LARGE"
)

// DiskState is a DRBD disk state as DRBD prints it.
type DiskState string

// Disk states of DRBD 8.4, plus DRBD 9's Detaching.
const (
	DiskDiskless     DiskState = "Diskless"
	DiskAttaching    DiskState = "Attaching"
	DiskDetaching    DiskState = "Detaching"
	DiskFailed       DiskState = "Failed"
	DiskNegotiating  DiskState = "Negotiating"
	DiskInconsistent DiskState = "Inconsistent"
	DiskOutdated     DiskState = "Outdated"
	DiskDUnknown     DiskState = "DUnknown"
	DiskConsistent   DiskState = "Consistent"
	DiskUpToDate     DiskState = "UpToDate"
)

// Replication states of DRBD 9 (Status.ReplicationState); DRBD 8.x has none.
const (
	ReplOff           = "Off"
	ReplEstablished   = "Established"
	ReplStartingSyncS = "StartingSyncS"
	ReplStartingSyncT = "StartingSyncT"
	ReplWFBitMapS     = "WFBitMapS"
	ReplWFBitMapT     = "WFBitMapT"
	ReplWFSyncUUID    = "WFSyncUUID"
	ReplSyncSource    = "SyncSource"
	ReplSyncTarget    = "SyncTarget"
	ReplVerifyS       = "VerifyS"
	ReplVerifyT       = "VerifyT"
	ReplPausedSyncS   = "PausedSyncS"
	ReplPausedSyncT   = "PausedSyncT"
	ReplAhead         = "Ahead"
	ReplBehind        = "Behind"
)

// lookupRole returns the Role constant spelled s; unknown words come back as
// Role(s) with ok false.
func lookupRole(s string) (Role, bool) {
	switch s {
	case "Primary":
		return RolePrimary, true
	case "Secondary":
		return RoleSecondary, true
	case "Unknown":
		return RoleUnknown, true
	}
	return Role(s), false
}

// lookupConnState returns the ConnState constant spelled s.
func lookupConnState(s string) (ConnState, bool) {
	switch s {
	case "StandAlone":
		return ConnStandAlone, true
	case "Disconnecting":
		return ConnDisconnecting, true
	case "Unconnected":
		return ConnUnconnected, true
	case "Timeout":
		return ConnTimeout, true
	case "BrokenPipe":
		return ConnBrokenPipe, true
	case "NetworkFailure":
		return ConnNetworkFailure, true
	case "ProtocolError":
		return ConnProtocolError, true
	case "TearDown":
		return ConnTearDown, true
	case "WFConnection":
		return ConnWFConnection, true
	case "WFReportParams":
		return ConnWFReportParams, true
	case "Connected":
		return ConnConnected, true
	case "StartingSyncS":
		return ConnStartingSyncS, true
	case "StartingSyncT":
		return ConnStartingSyncT, true
	case "WFBitMapS":
		return ConnWFBitMapS, true
	case "WFBitMapT":
		return ConnWFBitMapT, true
	case "WFSyncUUID":
		return ConnWFSyncUUID, true
	case "SyncSource":
		return ConnSyncSource, true
	case "SyncTarget":
		return ConnSyncTarget, true
	case "VerifyS":
		return ConnVerifyS, true
	case "VerifyT":
		return ConnVerifyT, true
	case "PausedSyncS":
		return ConnPausedSyncS, true
	case "PausedSyncT":
		return ConnPausedSyncT, true
	case "Ahead":
		return ConnAhead, true
	case "Behind":
		return ConnBehind, true
	case "Connecting":
		return ConnConnecting, true
	case "Unconfigured":
		return ConnUnconfigured, true
	case "TOO_LARGE":
		return ConnTooLarge, true
	}
	return ConnState(s), false
}

// lookupDiskState returns the DiskState constant spelled s.
func lookupDiskState(s string) (DiskState, bool) {
	switch s {
	case "Diskless":
		return DiskDiskless, true
	case "Attaching":
		return DiskAttaching, true
	case "Detaching":
		return DiskDetaching, true
	case "Failed":
		return DiskFailed, true
	case "Negotiating":
		return DiskNegotiating, true
	case "Inconsistent":
		return DiskInconsistent, true
	case "Outdated":
		return DiskOutdated, true
	case "DUnknown":
		return DiskDUnknown, true
	case "Consistent":
		return DiskConsistent, true
	case "UpToDate":
		return DiskUpToDate, true
	}
	return DiskState(s), false
}

// syncingState reports whether a DRBD 8.x cs word (or a DRBD 9 replication
// word) means a resync is running, paused or about to start.
func syncingState(s string) bool {
	switch s {
	case "StartingSyncS", "StartingSyncT", "WFBitMapS", "WFBitMapT", "WFSyncUUID",
		"SyncSource", "SyncTarget", "PausedSyncS", "PausedSyncT":
		return true
	}
	return false
}
