package drbd

import (
	"strings"
	"testing"
)

func TestForcePrimaryAllowed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		role        Role
		local, peer DiskState
		want        bool
		reasonHas   []string
	}{
		{"fresh pair", RoleSecondary, DiskInconsistent, DiskInconsistent, true, []string{"fresh pair"}},
		{"already primary", RolePrimary, DiskUpToDate, DiskUpToDate, true, []string{"already Primary"}},
		{"already primary, peer down", RolePrimary, DiskUpToDate, DiskDUnknown, true, []string{"already Primary"}},
		{"local outdated, peer fresh", RoleSecondary, DiskOutdated, DiskInconsistent, true, nil},
		{"local consistent, peer fresh", RoleSecondary, DiskConsistent, DiskInconsistent, true, nil},
		{"peer up to date", RoleSecondary, DiskInconsistent, DiskUpToDate, false, []string{"UpToDate data", "overwrite"}},
		{"peer consistent", RoleSecondary, DiskInconsistent, DiskConsistent, false, []string{"Consistent data"}},
		{"peer outdated", RoleSecondary, DiskInconsistent, DiskOutdated, false, []string{"Outdated data"}},
		{"peer not connected", RoleSecondary, DiskInconsistent, DiskDUnknown, false, []string{"DUnknown", "not connected", "no proof"}},
		{"peer state empty", RoleSecondary, DiskInconsistent, "", false, []string{"unknown", "not connected"}},
		{"peer diskless", RoleSecondary, DiskInconsistent, DiskDiskless, false, []string{"no disk attached"}},
		{"peer attaching", RoleSecondary, DiskInconsistent, DiskAttaching, false, []string{"Attaching"}},
		{"local up to date", RoleSecondary, DiskUpToDate, DiskInconsistent, false, []string{"already UpToDate", "without force"}},
		{"local diskless", RoleSecondary, DiskDiskless, DiskInconsistent, false, []string{"Diskless"}},
		{"local failed", RoleUnknown, DiskFailed, DiskInconsistent, false, []string{"Failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, reason := ForcePrimaryAllowed(tt.role, tt.local, tt.peer)
			if got != tt.want {
				t.Errorf("allowed = %v, want %v (reason %q)", got, tt.want, reason)
			}
			// The reason always names both disk states.
			wantStates := "local disk " + orUnknown(string(tt.local)) + ", peer disk " + orUnknown(string(tt.peer))
			for _, s := range append([]string{wantStates}, tt.reasonHas...) {
				if !strings.Contains(reason, s) {
					t.Errorf("reason %q does not contain %q", reason, s)
				}
			}
		})
	}
}

func connected(local, peer DiskState) Status {
	return Status{Resource: "pc0", Configured: true, Minor: 0, Role: RolePrimary, PeerRole: RoleSecondary,
		ConnectionState: ConnConnected, DiskState: local, PeerDiskState: peer}
}

func TestInSync(t *testing.T) {
	t.Parallel()
	with := func(s Status, f func(*Status)) Status { f(&s); return s }
	tests := []struct {
		name string
		s    Status
		want bool
	}{
		{"8.x connected uptodate", connected(DiskUpToDate, DiskUpToDate), true},
		{"9 established", with(connected(DiskUpToDate, DiskUpToDate), func(s *Status) { s.ReplicationState = ReplEstablished }), true},
		{"9 sync source", with(connected(DiskUpToDate, DiskInconsistent), func(s *Status) { s.ReplicationState = ReplSyncSource }), false},
		{"9 connected but replication off", with(connected(DiskUpToDate, DiskUpToDate), func(s *Status) { s.ReplicationState = ReplOff }), false},
		{"peer inconsistent", connected(DiskUpToDate, DiskInconsistent), false},
		{"local inconsistent", connected(DiskInconsistent, DiskUpToDate), false},
		{"sync target cs", with(connected(DiskInconsistent, DiskUpToDate), func(s *Status) { s.ConnectionState = ConnSyncTarget }), false},
		{"wfconnection", with(connected(DiskUpToDate, DiskDUnknown), func(s *Status) { s.ConnectionState = ConnWFConnection }), false},
		{"not configured", with(connected(DiskUpToDate, DiskUpToDate), func(s *Status) { s.Configured = false }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := InSync(tt.s); got != tt.want {
				t.Errorf("InSync = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSyncFailure(t *testing.T) {
	t.Parallel()
	with := func(s Status, f func(*Status)) Status { f(&s); return s }
	tests := []struct {
		name    string
		s       Status
		wantHas []string // nil: no failure
	}{
		{"in sync", connected(DiskUpToDate, DiskUpToDate), nil},
		{"syncing", with(connected(DiskUpToDate, DiskInconsistent), func(s *Status) { s.ConnectionState = ConnSyncSource }), nil},
		{"peer not yet connected", with(connected(DiskUpToDate, DiskDUnknown), func(s *Status) { s.ConnectionState = ConnWFConnection }), nil},
		{"9 connecting", with(connected(DiskUpToDate, DiskDUnknown), func(s *Status) { s.ConnectionState = ConnConnecting }), nil},
		{"paused", with(connected(DiskInconsistent, DiskUpToDate), func(s *Status) { s.ConnectionState = ConnPausedSyncT }), nil},
		{"standalone after split brain", with(connected(DiskUpToDate, DiskDUnknown), func(s *Status) { s.ConnectionState = ConnStandAlone; s.SplitBrain = true }),
			[]string{`"pc0"`, "StandAlone", "reported a split brain", "Split-Brain detected", "UpToDate/DUnknown"}},
		{"standalone after disconnect", with(connected(DiskUpToDate, DiskDUnknown), func(s *Status) { s.ConnectionState = ConnStandAlone }),
			[]string{`"pc0"`, "StandAlone", "no split brain", "drbdadm disconnect"}},
		{"standalone, kernel log unread", with(connected(DiskUpToDate, DiskDUnknown), func(s *Status) { s.ConnectionState = ConnStandAlone; s.SplitBrainUnknown = true }),
			[]string{"StandAlone", "unknown whether DRBD reported a split brain"}},
		{"local diskless", connected(DiskDiskless, DiskUpToDate), []string{"local disk is Diskless"}},
		{"peer failed", connected(DiskUpToDate, DiskFailed), []string{"peer disk is Failed"}},
		{"peer diskless", connected(DiskUpToDate, DiskDiskless), []string{"peer disk is Diskless"}},
		{"not up", unconfiguredStatus("pc0", 0, "/dev/drbd0"), []string{"not up", "Unconfigured"}},
		{"9 no connection", with(connected(DiskUpToDate, DiskDUnknown), func(s *Status) { s.ConnectionState = "" }), []string{"no peer connection"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := SyncFailure(tt.s)
			if (err != nil) != (tt.wantHas != nil) {
				t.Fatalf("SyncFailure = %v, want failure %v", err, tt.wantHas != nil)
			}
			for _, s := range tt.wantHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}
