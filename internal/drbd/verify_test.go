package drbd

import (
	"strings"
	"testing"
)

func TestVerifyCommands(t *testing.T) {
	t.Parallel()
	name, err := ParseResourceName("pc0")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []Versions{v83, v84, v84old, v9, vUnknown} {
		c := NewCommands(v)
		if got := c.Verify(name); got != "drbdadm verify pc0" {
			t.Errorf("%v Verify = %q", v, got)
		}
		if got := c.Disconnect(name); got != "drbdadm disconnect pc0" {
			t.Errorf("%v Disconnect = %q", v, got)
		}
	}
}

func TestParseVerifyAlg(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, show, want string }{
		{"8.4 net section", "resource pc0 {\n    options {\n    }\n    net {\n        verify-alg       \t\"sha256\";\n        after-sb-1pri    \tdiscard-secondary;\n    }\n}\n", "sha256"},
		{"8.3 syncer section", "disk {\n}\nsyncer {\n\tverify-alg\t\"md5\";\n\trate\t\t1100M;\n}\n", "md5"},
		{"unquoted", "net {\n verify-alg crc32c;\n}\n", "crc32c"},
		{"none", "resource pc0 {\n    net {\n        cram-hmac-alg \"sha1\";\n    }\n}\n", ""},
		{"commented words do not count", "net {\n    csums-alg \"sha1\"; # verify-alg sha1\n}\n", ""},
	}
	for _, tc := range tests {
		if got := ParseVerifyAlg(tc.show); got != tc.want {
			t.Errorf("%s: ParseVerifyAlg = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestVerifyRefusal(t *testing.T) {
	t.Parallel()
	ok := Status{Configured: true, ConnectionState: ConnConnected, DiskState: DiskUpToDate, PeerDiskState: DiskUpToDate}
	if err := VerifyRefusal(ok); err != nil {
		t.Errorf("in-sync pair refused: %v", err)
	}
	ok9 := ok
	ok9.ReplicationState = ReplEstablished
	if err := VerifyRefusal(ok9); err != nil {
		t.Errorf("in-sync DRBD 9 pair refused: %v", err)
	}
	tests := []struct {
		name string
		edit func(*Status)
		want string
	}{
		{"down", func(s *Status) { s.Configured = false }, "down"},
		{"standalone split brain", func(s *Status) {
			s.ConnectionState, s.PeerDiskState, s.SplitBrain = ConnStandAlone, DiskDUnknown, true
		}, "StandAlone"},
		{"waiting for the peer", func(s *Status) { s.ConnectionState, s.PeerDiskState = ConnWFConnection, DiskDUnknown }, "connection WFConnection, disks UpToDate/DUnknown"},
		{"syncing", func(s *Status) { s.ConnectionState, s.PeerDiskState = ConnSyncSource, DiskInconsistent }, "connection SyncSource, disks UpToDate/Inconsistent"},
		{"already verifying 8.4", func(s *Status) { s.ConnectionState = ConnVerifyT }, "already running (VerifyT)"},
		{"already verifying 9", func(s *Status) { s.ReplicationState = ReplVerifyS }, "already running (VerifyS)"},
		{"9 peer outdated", func(s *Status) { s.ReplicationState, s.PeerDiskState = ReplEstablished, DiskOutdated }, "replication Established, disks UpToDate/Outdated"},
	}
	for _, tc := range tests {
		s := ok
		tc.edit(&s)
		err := VerifyRefusal(s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: VerifyRefusal = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// TestVerifyStatusParsed reads a running verify from /proc/drbd (8.4, with the oos counter and
// the verified: progress) and from DRBD 9's status JSON.
func TestVerifyStatusParsed(t *testing.T) {
	t.Parallel()
	proc := "version: 8.4.11 (api:1/proto:86-101)\nsrcversion: 2A0D7A5A9E9D5A0F5B8B0E0\n" +
		" 0: cs:VerifyS ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n" +
		"    ns:0 nr:0 dw:0 dr:524288 al:8 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:12\n" +
		"\t[=========>..........] verified: 50.0% (524252/1048508)K\n" +
		"\tfinish: 0:00:15 speed: 34,132 (34,132) want: 102,400 K/sec\n"
	p, err := ParseProcDRBD(proc)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := p.StatusOf(0)
	if !ok || !Verifying(s) || s.VerifyPercent != 50 || s.OutOfSyncKiB != 12 || s.Syncing {
		t.Errorf("8.4 verify status = %+v", s)
	}
	js := `[{"name":"pc0","node-id":0,"role":"Primary","devices":[{"volume":0,"minor":0,"disk-state":"UpToDate","size":1048508}],` +
		`"connections":[{"peer-node-id":1,"name":"node2","connection-state":"Connected","peer-role":"Secondary",` +
		`"peer_devices":[{"volume":0,"replication-state":"VerifyT","peer-disk-state":"UpToDate","out-of-sync":8,"percent-in-sync":100.0}]}]}]`
	s, err = ParseStatusJSON([]byte(js), "pc0")
	if err != nil {
		t.Fatal(err)
	}
	if !Verifying(s) || s.VerifyPercent != -1 || s.OutOfSyncKiB != 8 || InSync(s) {
		t.Errorf("9 verify status = %+v", s)
	}
}

// TestVerifyKernelResult reads the result of the last online verify from the kernel log:
// DRBD 8.4's "block drbdN:" lines and DRBD 9's "drbd RES/VOL drbdN PEER:" lines, "block"
// and "blocks", a run without blocks found, and lines of another resource ignored.
func TestVerifyKernelResult(t *testing.T) {
	t.Parallel()
	log84 := "[  10.1] block drbd0: conn( Connected -> VerifyS )\n" +
		"[  10.2] block drbd0: Starting Online Verify from sector 0\n" +
		"[  11.0] block drbd0: Online verify found 3 4k block out of sync!\n" +
		"[  11.1] block drbd0: Online verify done (total 1 sec; paused 0 sec; 34132 K/sec)\n" +
		"[  11.2] block drbd0: conn( VerifyS -> Connected )\n" +
		"[  20.0] block drbd1: Online verify found 9 4k block out of sync!\n"
	log9 := "[  5.0] drbd pc0/0 drbd0 node2: repl( Established -> VerifyS )\n" +
		"[  5.1] drbd pc0/0 drbd0 node2: Starting Online Verify from sector 0\n" +
		"[  6.0] drbd pc0/0 drbd0 node2: Online verify found 2 4k blocks out of sync!\n" +
		"[  6.1] drbd pc0/0 drbd0 node2: Online verify done (total 1 sec; paused 0 sec; 34132 K/sec)\n" +
		"[  7.0] drbd pc0/0 drbd0 node2: Starting Online Verify from sector 0\n" +
		"[  8.0] drbd pc0/0 drbd0 node2: Online verify done (total 1 sec; paused 0 sec; 34132 K/sec)\n"
	tests := []struct {
		name, log string
		minor     int
		wantKiB   int64
		wantOK    bool
		wantLines string
	}{
		{"8.4 blocks found", log84, 0, 12, true, "Online verify found 3 4k block out of sync!"},
		{"9 last run clean", log9, 0, 0, true, "Online verify done (total 1 sec"},
		{"no verify", "[ 1.0] block drbd0: conn( WFConnection -> Connected )\n", 0, 0, false, ""},
		{"running, not done", "[ 1.0] block drbd0: Starting Online Verify from sector 0\n", 0, 0, false, ""},
	}
	for _, tc := range tests {
		r, ok := VerifyKernelResult(tc.log, "pc0", tc.minor)
		if ok != tc.wantOK || r.FoundKiB != tc.wantKiB || !strings.Contains(strings.Join(r.Lines, "\n"), tc.wantLines) {
			t.Errorf("%s: VerifyKernelResult = %+v, %v; want %d KiB, %v, lines with %q", tc.name, r, ok, tc.wantKiB, tc.wantOK, tc.wantLines)
		}
	}
}

func TestVerifyRefusedNoAlg(t *testing.T) {
	for stderr, want := range map[string]bool{
		"pc0: State change failed: (-14) Need a verify algorithm to start online verify\n": true,
		"0: State change failed: (-15) Need a connection to start verify or resync\n":      false,
		"": false,
	} {
		if got := VerifyRefusedNoAlg(stderr); got != want {
			t.Errorf("VerifyRefusedNoAlg(%q) = %v, want %v", stderr, got, want)
		}
	}
}
