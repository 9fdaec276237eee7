package drbd

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseStatusJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		res  string
		want Status
	}{
		{
			file: "drbd9/syncsource.json", res: "pc0",
			want: Status{Resource: "pc0", Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RolePrimary,
				PeerRole: RoleSecondary, ConnectionState: ConnConnected, ReplicationState: ReplSyncSource,
				DiskState: DiskUpToDate, PeerDiskState: DiskInconsistent, Syncing: true, SyncPercent: 19.53,
				OutOfSyncKiB: 843708, SpeedKiBps: 34129, ETA: 25 * time.Second},
		},
		{
			file: "drbd9/connected-uptodate.json", res: "pc0",
			want: Status{Resource: "pc0", Configured: true, Minor: 3, Device: "/dev/drbd3", Role: RoleSecondary,
				PeerRole: RolePrimary, ConnectionState: ConnConnected, ReplicationState: ReplEstablished,
				DiskState: DiskUpToDate, PeerDiskState: DiskUpToDate, SyncPercent: 100},
		},
		{
			file: "drbd9/connected-uptodate.json", res: "other",
			want: Status{Resource: "other", Configured: true, Minor: -1, Role: RoleSecondary, PeerRole: RoleUnknown,
				DiskState: DiskDUnknown, PeerDiskState: DiskDUnknown},
		},
		{
			file: "drbd9/connecting.json", res: "pc0",
			want: Status{Resource: "pc0", Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RolePrimary,
				PeerRole: RoleUnknown, ConnectionState: ConnConnecting, ReplicationState: ReplOff,
				DiskState: DiskUpToDate, PeerDiskState: DiskDUnknown, SyncPercent: 98.05, OutOfSyncKiB: 20480},
		},
		{
			file: "drbd9/standalone-synctarget-unknown-eta.json", res: "pc0",
			want: Status{Resource: "pc0", Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RoleSecondary,
				PeerRole: RoleUnknown, ConnectionState: ConnStandAlone, ReplicationState: ReplOff,
				DiskState: DiskInconsistent, PeerDiskState: DiskDUnknown, SyncPercent: 50, OutOfSyncKiB: 524254},
		},
		{
			file: "drbd9/synctarget-stalled.json", res: "pc0",
			want: Status{Resource: "pc0", Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RoleSecondary,
				PeerRole: RolePrimary, ConnectionState: ConnConnected, ReplicationState: ReplSyncTarget,
				DiskState: DiskInconsistent, PeerDiskState: DiskUpToDate, Syncing: true, SyncPercent: 4.63,
				OutOfSyncKiB: 1000000},
		},
		{
			file: "drbd9/empty.json", res: "pc0",
			want: unconfiguredStatus("pc0", -1, ""),
		},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.res, func(t *testing.T) {
			t.Parallel()
			got, err := ParseStatusJSON([]byte(readTestdata(t, tt.file)), tt.res)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseStatusJSON_errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		wantNoSR bool
	}{
		{"no such resource", "pc0: No such resource\n", true},
		{"usage text from 8.4 drbdsetup", "status: unrecognized option '--json'\n\nUSAGE: drbdsetup command device arguments options\n", false},
		{"object, not array", `{"name":"pc0"}`, false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := ParseStatusJSON([]byte(tt.in), "pc0")
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, ErrNoSuchResource); got != tt.wantNoSR {
				t.Errorf("errors.Is(err, ErrNoSuchResource) = %v, want %v (err %v)", got, tt.wantNoSR, err)
			}
			if tt.wantNoSR && st.Configured {
				t.Error("Configured = true for a missing resource")
			}
		})
	}
}

func TestParseStatusText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		res  string
		want Status
	}{
		{
			name: "DRBD 9 sync target", text: readTestdata(t, "drbd9/status-synctarget.txt"), res: "pc0",
			want: Status{Resource: "pc0", Configured: true, Minor: -1, Role: RoleSecondary, PeerRole: RolePrimary,
				ConnectionState: ConnConnected, ReplicationState: ReplSyncTarget, DiskState: DiskInconsistent,
				PeerDiskState: DiskUpToDate, Syncing: true, SyncPercent: 19.52},
		},
		{
			name: "DRBD 9 connecting", text: readTestdata(t, "drbd9/status-connecting.txt"), res: "pc0",
			want: Status{Resource: "pc0", Configured: true, Minor: -1, Role: RolePrimary, PeerRole: RoleUnknown,
				ConnectionState: ConnConnecting, DiskState: DiskUpToDate, PeerDiskState: DiskDUnknown},
		},
		{
			name: "second resource, standalone, diskless", text: readTestdata(t, "drbd9/status-standalone-diskless.txt"), res: "pc0",
			want: Status{Resource: "pc0", Configured: true, Minor: -1, Role: RoleSecondary, PeerRole: RoleUnknown,
				ConnectionState: ConnStandAlone, DiskState: DiskDiskless, PeerDiskState: DiskDUnknown},
		},
		{
			name: "first of two resources", text: readTestdata(t, "drbd9/status-standalone-diskless.txt"), res: "other",
			want: Status{Resource: "other", Configured: true, Minor: -1, Role: RoleSecondary, PeerRole: RolePrimary,
				ConnectionState: ConnConnected, ReplicationState: ReplEstablished, DiskState: DiskUpToDate,
				PeerDiskState: DiskUpToDate, SyncPercent: 100},
		},
		{
			name: "verbose statistics, wrapped at 80 columns", text: readTestdata(t, "drbd9/status-verbose-ug9.txt"), res: "home",
			want: Status{Resource: "home", Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RoleSecondary,
				PeerRole: RoleSecondary, ConnectionState: ConnConnected, ReplicationState: ReplEstablished,
				DiskState: DiskUpToDate, PeerDiskState: DiskUpToDate, SyncPercent: 100},
		},
		{
			name: "none configured", text: readTestdata(t, "drbd9/status-none.txt"), res: "pc0",
			want: unconfiguredStatus("pc0", -1, ""),
		},
		{
			name: "other resource only", text: readTestdata(t, "drbd9/status-connecting.txt"), res: "pc1",
			want: unconfiguredStatus("pc1", -1, ""),
		},
		{
			name: "8.4 kernel via utils 9, hard-wrapped anywhere between tokens",
			text: "pc0\n role:Secondary\n  disk:Inconsistent\n  peer\n role:Primary\n    replication:SyncTarget\n peer-disk:UpToDate done:6.15\n",
			res:  "pc0",
			want: Status{Resource: "pc0", Configured: true, Minor: -1, Role: RoleSecondary, PeerRole: RolePrimary,
				ConnectionState: ConnConnected, ReplicationState: ReplSyncTarget, DiskState: DiskInconsistent,
				PeerDiskState: DiskUpToDate, Syncing: true, SyncPercent: 6.15},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseStatusText(tt.text, tt.res)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseStatusText_noSuchResource(t *testing.T) {
	t.Parallel()
	st, err := ParseStatusText("pc0: No such resource\nCommand 'drbdsetup-84 status pc0' terminated with exit code 10\n", "pc0")
	if !errors.Is(err, ErrNoSuchResource) {
		t.Fatalf("err = %v, want ErrNoSuchResource", err)
	}
	if st.Configured || st.ConnectionState != ConnUnconfigured {
		t.Errorf("status = %+v, want unconfigured", st)
	}
}
