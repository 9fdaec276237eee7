package drbd

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// procFixtures lists every /proc/drbd fixture: output copied from real DRBD 8.4.11 hosts.
func procFixtures(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"states", "initial-sync", "full-resync"} {
		f, err := filepath.Glob(filepath.Join("testdata", "drbd-8.4.11", dir, "*.txt"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f...)
	}
	if len(files) != 36 {
		t.Fatalf("expected the 36 /proc/drbd fixtures of fixtures/drbd-8.4.11, found %d", len(files))
	}
	return files
}

// Independent oracle for the fixtures: the format strings of drbd_proc.c as
// regular expressions (the parser itself does not use regexps).
var (
	oracleMinor   = regexp.MustCompile(`(?m)^ ?(\d+): cs:(\w+) (?:ro|st):(\w+)/(\w+) ds:(\w+)/(\w+) ([ABC ]) ([rs][a-][p-][u-][-dbna]?[s-]?)$`)
	oracleOOS     = regexp.MustCompile(`oos:(\d+)`)
	oracleSync    = regexp.MustCompile(`sync'ed: *([\d.]+)% \((\d+)/(\d+)\)([KM])`)
	oracleFinish  = regexp.MustCompile(`finish: (\d+):(\d\d):(\d\d) speed: ([\d,]+) \(([\d,]+)\)(?: want: ([\d,]+))? K/sec`)
	oracleVersion = regexp.MustCompile(`^version: (\d+)\.(\d+)\.(\d+) \(api:(\d+)/proto:(\d+)-(\d+)\)`)
)

func atoi(t testing.TB, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// oracleStatus derives the expected Status of minor 0 from a fixture text.
func oracleStatus(t testing.TB, text string) (Status, bool) {
	m := oracleMinor.FindStringSubmatch(text)
	if m == nil {
		return Status{}, false
	}
	s := Status{
		Configured:      true,
		Minor:           int(atoi(t, m[1])),
		Device:          "/dev/drbd" + m[1],
		Role:            Role(m[3]),
		PeerRole:        Role(m[4]),
		ConnectionState: ConnState(m[2]),
		DiskState:       DiskState(m[5]),
		PeerDiskState:   DiskState(m[6]),
		Syncing:         m[2] == "SyncSource" || m[2] == "SyncTarget" || m[2] == "WFSyncUUID" || m[2] == "WFBitMapS",
	}
	if o := oracleOOS.FindStringSubmatch(text); o != nil {
		s.OutOfSyncKiB = atoi(t, o[1])
	}
	if sy := oracleSync.FindStringSubmatch(text); sy != nil {
		s.SyncPercent, _ = strconv.ParseFloat(sy[1], 64)
	}
	if f := oracleFinish.FindStringSubmatch(text); f != nil {
		s.SpeedKiBps = atoi(t, f[4])
		s.ETA = time.Duration(atoi(t, f[1]))*time.Hour + time.Duration(atoi(t, f[2]))*time.Minute + time.Duration(atoi(t, f[3]))*time.Second
	}
	if m[2] == "Connected" && m[5] == "UpToDate" && m[6] == "UpToDate" {
		s.SyncPercent = 100
	}
	return s, true
}

func TestParseProcDRBD_allFixturesAgainstOracle(t *testing.T) {
	t.Parallel()
	for _, file := range procFixtures(t) {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			p, err := ParseProcDRBD(text)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Warnings) != 0 {
				t.Errorf("real DRBD output produced warnings: %q", p.Warnings)
			}
			v := oracleVersion.FindStringSubmatch(text)
			if v == nil {
				t.Fatal("oracle: no version line")
			}
			wantHdr := [6]int64{atoi(t, v[1]), atoi(t, v[2]), atoi(t, v[3]), atoi(t, v[4]), atoi(t, v[5]), atoi(t, v[6])}
			gotHdr := [6]int64{int64(p.Version.Major), int64(p.Version.Minor), int64(p.Version.Patch), int64(p.API), int64(p.ProtoMin), int64(p.ProtoMax)}
			if gotHdr != wantHdr {
				t.Errorf("header = %v, want %v", gotHdr, wantHdr)
			}
			if p.Build != "srcversion: F73C670A7EC572DB9CF3E5B" {
				t.Errorf("Build = %q", p.Build)
			}
			want, ok := oracleStatus(t, text)
			got, gotOK := p.StatusOf(0)
			if ok != gotOK {
				t.Fatalf("StatusOf(0) ok = %v, oracle found a minor: %v", gotOK, ok)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("StatusOf(0) mismatch (-oracle +got):\n%s", diff)
			}
		})
	}
}

func TestParseProcDRBD_fixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want Status
	}{
		{
			file: "drbd-8.4.11/states/04-synctarget-secondary-47.7pct.txt",
			want: Status{Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RoleSecondary, PeerRole: RolePrimary,
				ConnectionState: ConnSyncTarget, DiskState: DiskInconsistent, PeerDiskState: DiskUpToDate,
				Syncing: true, SyncPercent: 47.7, OutOfSyncKiB: 549680, SpeedKiBps: 24940, ETA: 22 * time.Second},
		},
		{
			file: "drbd-8.4.11/states/03-syncsource-primary-2.0pct.txt",
			want: Status{Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RolePrimary, PeerRole: RoleSecondary,
				ConnectionState: ConnSyncSource, DiskState: DiskUpToDate, PeerDiskState: DiskInconsistent,
				Syncing: true, SyncPercent: 2.0, OutOfSyncKiB: 1028652, SpeedKiBps: 6616, ETA: 2*time.Minute + 34*time.Second},
		},
		{
			file: "drbd-8.4.11/states/05-connected-primary-uptodate.txt",
			want: Status{Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RolePrimary, PeerRole: RoleSecondary,
				ConnectionState: ConnConnected, DiskState: DiskUpToDate, PeerDiskState: DiskUpToDate, SyncPercent: 100},
		},
		{
			file: "drbd-8.4.11/states/06-wfconnection-primary-peer-down.txt",
			want: Status{Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RolePrimary, PeerRole: RoleUnknown,
				ConnectionState: ConnWFConnection, DiskState: DiskUpToDate, PeerDiskState: DiskDUnknown},
		},
		{
			file: "drbd-8.4.11/states/07-standalone-primary.txt",
			want: Status{Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RolePrimary, PeerRole: RoleUnknown,
				ConnectionState: ConnStandAlone, DiskState: DiskUpToDate, PeerDiskState: DiskDUnknown},
		},
		{
			file: "drbd-8.4.11/states/02-wfbitmaps-primary-just-forced.txt",
			want: Status{Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RolePrimary, PeerRole: RoleSecondary,
				ConnectionState: ConnWFBitMapS, DiskState: DiskUpToDate, PeerDiskState: DiskInconsistent,
				Syncing: true, OutOfSyncKiB: 262100},
		},
		{
			file: "drbd-8.4.11/initial-sync/node1-0002.txt",
			want: Status{Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RolePrimary, PeerRole: RoleSecondary,
				ConnectionState: ConnSyncSource, DiskState: DiskUpToDate, PeerDiskState: DiskInconsistent,
				Syncing: true, SyncPercent: 0.4, OutOfSyncKiB: 1048508, ETA: 43*time.Minute + 41*time.Second},
		},
		{
			file: "drbd-8.4.11/states/10-bitmap-resync-after-reconnect-node1.txt",
			want: Status{Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RolePrimary, PeerRole: RoleSecondary,
				ConnectionState: ConnSyncSource, DiskState: DiskUpToDate, PeerDiskState: DiskInconsistent,
				Syncing: true, SyncPercent: 16.7, OutOfSyncKiB: 20504, ETA: 51 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			p, err := ParseProcDRBD(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := p.StatusOf(0)
			if !ok {
				t.Fatal("minor 0 not found")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("StatusOf(0) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseProcDRBD_syncTargetDetails(t *testing.T) {
	t.Parallel()
	p, err := ParseProcDRBD(readTestdata(t, "drbd-8.4.11/full-resync/node2-0049.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := ProcMinor{
		Minor: 0, ConnState: ConnSyncTarget, Role: RoleSecondary, PeerRole: RolePrimary,
		DiskState: DiskInconsistent, PeerDiskState: DiskUpToDate, Protocol: "C", IOFlags: "r-----",
		Counters: ProcCounters{Present: true, NR: 701180, DW: 1781564, AL: 8, LO: 2, PE: 3, UA: 1, EP: 1, WO: "f", OOS: 349116, HasOOS: true},
		Sync: ProcSync{Present: true, Percent: 66.8, LeftKiB: 349116, TotalKiB: 1048508, Finish: 10 * time.Second, HasFinish: true,
			SpeedKiBps: 33732, AvgSpeedKiBps: 33304, WantKiBps: 102400},
	}
	if diff := cmp.Diff([]ProcMinor{want}, p.Minors); diff != "" {
		t.Errorf("Minors mismatch (-want +got):\n%s", diff)
	}
}

func TestParseProcDRBD_noResource(t *testing.T) {
	t.Parallel()
	p, err := ParseProcDRBD(readTestdata(t, "drbd-8.4.11/states/00-module-loaded-no-resource.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Minors) != 0 || len(p.Warnings) != 0 {
		t.Errorf("Minors = %v, Warnings = %q; want none", p.Minors, p.Warnings)
	}
	if _, ok := p.StatusOf(0); ok {
		t.Error("StatusOf(0) found a minor in a file without minors")
	}
	if p.Version != (Version{8, 4, 11}) {
		t.Errorf("Version = %v", p.Version)
	}
}

func TestParseProcDRBD_empty(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", " \n\t\n"} {
		if _, err := ParseProcDRBD(in); err == nil {
			t.Errorf("ParseProcDRBD(%q): no error", in)
		}
	}
}

// runbookSample extracts the /proc/drbd sample from the runbook (its text as the
// documentation renderer garbled it).
func runbookSample(t testing.TB) string {
	t.Helper()
	rst := readTestdata(t, "seed-runbook.rst")
	_, after, ok := strings.Cut(rst, "cat /proc/drbd output\n")
	if !ok {
		t.Fatal("runbook sample not found")
	}
	var lines []string
	for _, l := range strings.Split(after, "\n") {
		if strings.TrimSpace(l) == "" {
			if len(lines) > 0 {
				break
			}
			continue
		}
		lines = append(lines, strings.TrimPrefix(l, "      "))
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestParseProcDRBD_runbookSample(t *testing.T) {
	t.Parallel()
	p, err := ParseProcDRBD(runbookSample(t))
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != (Version{8, 4, 1}) || p.API != 1 || p.ProtoMin != 86 || p.ProtoMax != 0 {
		t.Errorf("header = %v api %d proto %d-%d; want 8.4.1 api 1 proto 86-(unparseable)", p.Version, p.API, p.ProtoMin, p.ProtoMax)
	}
	wantBuild := "GIT-hash: 91b4c048c1a0e06777b5f65d312b38d47abaea80 build by dag@Build64R6, 2011]12[STRIKEOUT:21 06:08:50"
	if p.Build != wantBuild {
		t.Errorf("Build = %q, want %q", p.Build, wantBuild)
	}
	got, ok := p.StatusOf(0)
	if !ok {
		t.Fatal("minor 0 not found")
	}
	want := Status{Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RolePrimary, PeerRole: RoleSecondary,
		ConnectionState: ConnSyncSource, DiskState: DiskUpToDate, PeerDiskState: DiskInconsistent,
		Syncing: true, SyncPercent: 19.5, OutOfSyncKiB: 12685660, SpeedKiBps: 19188, ETA: 11 * time.Minute}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("StatusOf(0) mismatch (-want +got):\n%s", diff)
	}
	m := p.Minors[0]
	if m.Sync.LeftKiB != 12388*1024 || m.Sync.TotalKiB != 15372*1024 || m.Sync.AvgSpeedKiBps != 24468 {
		t.Errorf("Sync = %+v", m.Sync)
	}
	if m.Counters.WO != "b" || m.Counters.BM != 187 {
		t.Errorf("wrapped counters line not merged: %+v", m.Counters)
	}
	// The garbled parts must be reported, each clearly.
	wantWarnings := []string{
		`/proc/drbd line 1: unparseable protocol range "86[STRIKEOUT:100"`,
		`/proc/drbd line 3: build line continued on the next line (wrapped?): "dag@Build64R6, 2011]12[STRIKEOUT:21 06:08:50"`,
		`/proc/drbd line 4: minor 0: unrecognised I/O flags "r]—-"`,
	}
	if diff := cmp.Diff(wantWarnings, p.Warnings); diff != "" {
		t.Errorf("Warnings mismatch (-want +got):\n%s", diff)
	}
}

func TestParseProcDRBD_formats(t *testing.T) {
	t.Parallel()
	const hdr84 = "version: 8.4.11 (api:1/proto:86-101)\nGIT-hash: 0123456789abcdef0123456789abcdef01234567 build by builder@host, 2020-01-01 00:00:00\n"
	tests := []struct {
		name         string
		text         string
		wantMinors   []ProcMinor
		wantBuild    string
		wantWarnings int
	}{
		{
			name: "8.3 four-char flags, st: before 8.3, verify state",
			text: "version: 8.3.0 (api:88/proto:86-89)\nGIT-hash: abc build by x@y, 2008-12-18 00:00:00\n" +
				" 0: cs:VerifyS st:Primary/Secondary ds:UpToDate/UpToDate C r---\n" +
				"    ns:1 nr:2 dw:3 dr:4 al:5 bm:6 lo:0 pe:0 ua:0 ap:0\n" +
				"\t[====>...............] verified: 25.0% (3072/4096)K\n" +
				"\tfinish: 0:00:10 speed: 1,024 (1,000) want: 2,048 K/sec (stalled)\n",
			wantMinors: []ProcMinor{{
				Minor: 0, ConnState: ConnVerifyS, Role: RolePrimary, PeerRole: RoleSecondary, DiskState: DiskUpToDate,
				PeerDiskState: DiskUpToDate, Protocol: "C", IOFlags: "r---",
				Counters: ProcCounters{Present: true, NS: 1, NR: 2, DW: 3, DR: 4, AL: 5, BM: 6},
				Sync: ProcSync{Present: true, Verify: true, Percent: 25, LeftKiB: 3072, TotalKiB: 4096, Finish: 10 * time.Second,
					HasFinish: true, SpeedKiBps: 1024, AvgSpeedKiBps: 1000, WantKiBps: 2048, Stalled: true},
			}},
			wantBuild: "GIT-hash: abc build by x@y, 2008-12-18 00:00:00",
		},
		{
			name: "unconfigured minors, gaps, blank protocol, five-char flags, Ahead",
			text: hdr84 +
				" 0: cs:Ahead ro:Primary/Secondary ds:UpToDate/Outdated A r-p--\n" +
				" 1: cs:Unconfigured\n" +
				"\n" +
				"12: cs:StandAlone ro:Secondary/Unknown ds:Outdated/DUnknown   s-----\n" +
				"    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:d oos:42\n",
			wantMinors: []ProcMinor{
				{Minor: 0, ConnState: ConnAhead, Role: RolePrimary, PeerRole: RoleSecondary, DiskState: DiskUpToDate,
					PeerDiskState: DiskOutdated, Protocol: "A", IOFlags: "r-p--"},
				{Minor: 1, Unconfigured: true, ConnState: ConnUnconfigured},
				{Minor: 12, ConnState: ConnStandAlone, Role: RoleSecondary, PeerRole: RoleUnknown, DiskState: DiskOutdated,
					PeerDiskState: DiskDUnknown, IOFlags: "s-----",
					Counters: ProcCounters{Present: true, EP: 1, WO: "d", OOS: 42, HasOOS: true}},
			},
			wantBuild: "GIT-hash: 0123456789abcdef0123456789abcdef01234567 build by builder@host, 2020-01-01 00:00:00",
		},
		{
			name: "built-in, MiB totals, 8.3.0 stalled line, proc_details extras",
			text: "version: 8.3.0 (api:88/proto:86-89)\nbuilt-in\n" +
				" 3: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate B r---\n" +
				"\t[>...................] sync'ed:  0.0% (15372/15372)M\n" +
				"\tstalled\n" +
				"\t  0% sector pos: 0/31457280\n" +
				"\tresync: used:0/61 hits:0 misses:0 starving:0 locked:0 changed:0\n" +
				"\tact_log: used:0/1237 hits:0 misses:0 starving:0 locked:0 changed:0\n",
			wantMinors: []ProcMinor{{
				Minor: 3, ConnState: ConnSyncTarget, Role: RoleSecondary, PeerRole: RolePrimary, DiskState: DiskInconsistent,
				PeerDiskState: DiskUpToDate, Protocol: "B", IOFlags: "r---",
				Sync: ProcSync{Present: true, LeftKiB: 15372 * 1024, TotalKiB: 15372 * 1024, Stalled: true},
			}},
			wantBuild: "built-in",
		},
		{
			name:      "DRBD 9 header only (real 9.2.12)",
			text:      proc9,
			wantBuild: "GIT-hash: 2da6f528dc4ab3fd25c511f7b03531100e54ab08 build by @vm, 2026-12-07 17:30:52",
		},
		{
			name: "unknown lines, states and fields are warnings",
			text: hdr84 + "something new\n" +
				" 0: cs:Teleporting ro:Primary/Boss ds:UpToDate/Quantum C r----- extra\n" +
				"    ns:0 zz:1 oos:x\n" +
				"0: Failure: (127) Device minor not allocated\n",
			wantMinors: []ProcMinor{{
				Minor: 0, ConnState: "Teleporting", Role: RolePrimary, PeerRole: "Boss", DiskState: DiskUpToDate,
				PeerDiskState: "Quantum", Protocol: "C", IOFlags: "r-----", Counters: ProcCounters{Present: true},
			}},
			wantBuild:    "GIT-hash: 0123456789abcdef0123456789abcdef01234567 build by builder@host, 2020-01-01 00:00:00",
			wantWarnings: 8,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := ParseProcDRBD(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantMinors, p.Minors); diff != "" {
				t.Errorf("Minors mismatch (-want +got):\n%s", diff)
			}
			if p.Build != tt.wantBuild {
				t.Errorf("Build = %q, want %q", p.Build, tt.wantBuild)
			}
			t.Logf("warnings: %q", p.Warnings)
			if len(p.Warnings) != tt.wantWarnings {
				t.Errorf("got %d warnings, want %d: %q", len(p.Warnings), tt.wantWarnings, p.Warnings)
			}
		})
	}
}

func TestProcDRBD_StatusOf(t *testing.T) {
	t.Parallel()
	p, err := ParseProcDRBD("version: 8.4.11 (api:1/proto:86-101)\nsrcversion: X \n 0: cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent C r-----\n 1: cs:Unconfigured\n")
	if err != nil {
		t.Fatal(err)
	}
	got, ok := p.StatusOf(1)
	want := Status{Minor: 1, Device: "/dev/drbd1", Role: RoleUnknown, PeerRole: RoleUnknown,
		ConnectionState: ConnUnconfigured, DiskState: DiskDUnknown, PeerDiskState: DiskDUnknown}
	if !ok {
		t.Fatal("minor 1 not found")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("StatusOf(1) mismatch (-want +got):\n%s", diff)
	}
	if _, ok := p.StatusOf(2); ok {
		t.Error("StatusOf(2) found an unlisted minor")
	}
}
