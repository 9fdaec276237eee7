package drbd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"
)

// guardedCase is one state a guarded command is run against under the real /bin/sh.
type guardedCase struct {
	name    string
	proc    string // the /proc/drbd the shell reads
	events2 string // what drbdsetup events2 prints (DRBD 9)
	gi      string // what drbdadm get-gi prints
	minors  []int
	want    bool // whether the guarded command runs
}

// runGuarded runs cmd (built to read dir/proc) under /bin/sh with stand-ins for drbdsetup
// (printing tc.events2) and drbdadm (printing tc.gi for get-gi, logging anything else).
func runGuarded(t *testing.T, dir string, tc guardedCase, cmd string) (string, []byte) {
	t.Helper()
	write := func(name, body string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("proc", tc.proc, 0o644)
	write("events2.txt", tc.events2, 0o644)
	write("gi.txt", tc.gi, 0o644)
	write("drbdsetup", "#!/bin/sh\ncat \""+dir+"/events2.txt\"\n", 0o755)
	write("drbdadm", "#!/bin/sh\ncase \"$*\" in *get-gi*) cat \""+dir+"/gi.txt\"; exit 0;; esac\necho \"$*\" >> \""+dir+"/drbdadm.log\"\n", 0o755)
	return runPromotion(t, dir, cmd)
}

func proc84(t *testing.T, lines ...string) string {
	head := strings.SplitAfterN(readFixture(t, "01-connected-secondary-secondary-inconsistent.txt"), "\n", 3)
	return head[0] + head[1] + strings.Join(lines, "\n") + "\n"
}

const (
	fresh0  = " 0: cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent C r-----"
	fresh1  = " 1: cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent C r-----"
	giFresh = "0000000000000004:0000000000000000:0000000000000000:0000000000000000:0:0:0:1:0:1:0"
)

func freshEvents2(t *testing.T) string {
	return strings.NewReplacer("role:Primary", "role:Secondary", "disk:UpToDate", "disk:Inconsistent").Replace(readDay2(t, "40-node1-events2-now.txt"))
}

// withPeer adds a DRBD 9 peer connection (node id 2) with the given state to events2 output.
func withPeer(e2, conn, role, disk, repl string) string {
	return strings.Replace(e2, "exists -", "exists connection name:pc0 peer-node-id:2 conn-name:node3 connection:"+conn+" role:"+role+"\n"+
		"exists peer-device name:pc0 peer-node-id:2 conn-name:node3 volume:0 replication:"+repl+" peer-disk:"+disk+" resync-suspended:no\nexists -", 1)
}

// TestForcePrimaryGuarded_sh runs the guarded forced promotion under the real /bin/sh
// against the 8.4.11 captures (and variants: a second volume, a DRBD 9 third node): it
// runs `primary --force` only on a fresh pair over every volume and every peer, and Go's
// re-check agrees with the shell whenever it ran.
func TestForcePrimaryGuarded_sh(t *testing.T) {
	fresh := readFixture(t, "01-connected-secondary-secondary-inconsistent.txt")
	for _, tc := range []struct {
		guardedCase
		v Versions
	}{
		{guardedCase{name: "8.4 fresh pair (capture)", proc: fresh, minors: []int{0}, want: true}, v84},
		{guardedCase{name: "8.4 local Outdated, peer Inconsistent", proc: proc84(t, strings.Replace(fresh0, "ds:Inconsistent/", "ds:Outdated/", 1)), minors: []int{0}, want: true}, v84},
		{guardedCase{name: "8.4 two volumes fresh", proc: proc84(t, fresh0, fresh1), minors: []int{0, 1}, want: true}, v84},
		{guardedCase{name: "8.4 volume 1 peer UpToDate", proc: proc84(t, fresh0, strings.Replace(fresh1, "/Inconsistent C", "/UpToDate C", 1)), minors: []int{0, 1}}, v84},
		{guardedCase{name: "8.4 volume 1 not up", proc: fresh, minors: []int{0, 1}}, v84},
		{guardedCase{name: "8.4 peer UpToDate (capture)", proc: readFixture(t, "05-connected-secondary-uptodate.txt"), minors: []int{0}}, v84},
		{guardedCase{name: "8.4 peer not connected (capture)", proc: readFixture(t, "06-wfconnection-primary-peer-down.txt"), minors: []int{0}}, v84},
		{guardedCase{name: "8.4 StandAlone (capture)", proc: readFixture(t, "07-standalone-primary.txt"), minors: []int{0}}, v84},
		{guardedCase{name: "8.4 SyncTarget (capture)", proc: readFixture(t, "04-synctarget-secondary-47.7pct.txt"), minors: []int{0}}, v84},
		{guardedCase{name: "8.4 just forced (capture)", proc: readFixture(t, "02-wfbitmaps-primary-just-forced.txt"), minors: []int{0}}, v84},
		{guardedCase{name: "8.4 I/O suspended", proc: proc84(t, strings.Replace(fresh0, "r-----", "s-----", 1)), minors: []int{0}}, v84},
		{guardedCase{name: "8.4 another minor only", proc: proc84(t, strings.Replace(fresh0, " 0:", " 5:", 1)), minors: []int{0}}, v84},
		{guardedCase{name: "8.4 module not loaded", proc: "", minors: []int{0}}, v84},
		{guardedCase{name: "8.3 fresh pair", proc: "version: 8.3.13 (api:88/proto:86-96)\n 0: cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent C r----\n", minors: []int{0}, want: true}, v83},
		{guardedCase{name: "9 fresh pair", proc: proc9, events2: freshEvents2(t), want: true}, v9},
		{guardedCase{name: "9 three nodes fresh", proc: proc9, events2: withPeer(freshEvents2(t), "Connected", "Secondary", "Inconsistent", "Established"), want: true}, v9},
		{guardedCase{name: "9 third node UpToDate", proc: proc9, events2: withPeer(freshEvents2(t), "Connected", "Secondary", "UpToDate", "Established")}, v9},
		{guardedCase{name: "9 third node connecting", proc: proc9, events2: withPeer(freshEvents2(t), "Connecting", "Unknown", "DUnknown", "Off")}, v9},
		{guardedCase{name: "9 kernel is 8.4", proc: fresh, events2: freshEvents2(t)}, v9},
		{guardedCase{name: "9 local UpToDate", proc: proc9, events2: strings.Replace(freshEvents2(t), " disk:Inconsistent", " disk:UpToDate", 1)}, v9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cmds := NewCommands(tc.v)
			force, _ := cmds.ForcePrimary(rn("pc0"))
			cmd, err := cmds.guardedCommand(rn("pc0"), tc.minors, forceGuard, false, force, filepath.Join(dir, "proc"))
			if err != nil {
				t.Fatal(err)
			}
			ran, out := runGuarded(t, dir, tc.guardedCase, cmd)
			wantRan := strings.TrimPrefix(force, "drbdadm ")
			if tc.want != (ran == wantRan) || (!tc.want && ran != "") {
				t.Fatalf("want run %v, drbdadm ran %q\noutput:\n%s", tc.want, ran, out)
			}
			g, err := ParseGuarded("pc0", tc.minors, string(out))
			if err != nil {
				t.Fatal(err)
			}
			ok, reason, err := g.ForceAllowed()
			if err != nil || g.Ran != tc.want || (tc.want && !ok) {
				t.Errorf("Go re-check: ran %v allowed %v (%s), err %v\noutput:\n%s", g.Ran, ok, reason, err, out)
			}
		})
	}
}

// TestSkipInitialSyncGuarded_sh is TestForcePrimaryGuarded_sh for new-current-uuid
// --clear-bitmap: every volume Connected Inconsistent/Inconsistent, one peer, and every
// local generation line Just Created.
func TestSkipInitialSyncGuarded_sh(t *testing.T) {
	fresh := readFixture(t, "01-connected-secondary-secondary-inconsistent.txt")
	gi := readDay2(t, "01-node1-get-gi-just-created.txt")
	for _, tc := range []struct {
		guardedCase
		v Versions
	}{
		{guardedCase{name: "8.4 fresh pair (captures)", proc: fresh, gi: gi, minors: []int{0}, want: true}, v84},
		{guardedCase{name: "8.4 synced before (capture)", proc: fresh, gi: readDay2(t, "36-node1-get-gi-after-primary.txt"), minors: []int{0}}, v84},
		{guardedCase{name: "8.4 metadata missing", proc: fresh, gi: "No valid meta data found", minors: []int{0}}, v84},
		{guardedCase{name: "8.4 local Outdated", proc: proc84(t, strings.Replace(fresh0, "ds:Inconsistent/", "ds:Outdated/", 1)), gi: gi, minors: []int{0}}, v84},
		{guardedCase{name: "8.4 two volumes fresh", proc: proc84(t, fresh0, fresh1), gi: giFresh + "\n" + giFresh, minors: []int{0, 1}, want: true}, v84},
		{guardedCase{name: "8.4 two volumes, one gi line", proc: proc84(t, fresh0, fresh1), gi: giFresh, minors: []int{0, 1}}, v84},
		{guardedCase{name: "8.4 volume 1 peer UpToDate", proc: proc84(t, fresh0, strings.Replace(fresh1, "/Inconsistent C", "/UpToDate C", 1)), gi: giFresh + "\n" + giFresh, minors: []int{0, 1}}, v84},
		{guardedCase{name: "8.4 peer not connected", proc: readFixture(t, "06-wfconnection-primary-peer-down.txt"), gi: gi, minors: []int{0}}, v84},
		{guardedCase{name: "9 fresh pair", proc: proc9, events2: freshEvents2(t), gi: giFresh, want: true}, v9},
		{guardedCase{name: "9 three nodes", proc: proc9, events2: withPeer(freshEvents2(t), "Connected", "Secondary", "Inconsistent", "Established"), gi: giFresh}, v9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cmds := NewCommands(tc.v)
			skip, _ := cmds.SkipInitialSync(rn("pc0"))
			cmd, err := cmds.guardedCommand(rn("pc0"), tc.minors, skipGuard, true, skip, filepath.Join(dir, "proc"))
			if err != nil {
				t.Fatal(err)
			}
			ran, out := runGuarded(t, dir, tc.guardedCase, cmd)
			wantRan := strings.TrimPrefix(skip, "drbdadm ")
			if tc.want != (ran == wantRan) || (!tc.want && ran != "") {
				t.Fatalf("want run %v, drbdadm ran %q\noutput:\n%s", tc.want, ran, out)
			}
			g, err := ParseGuarded("pc0", tc.minors, string(out))
			if err != nil {
				t.Fatal(err)
			}
			ok, reason, err := g.SkipAllowed()
			if err != nil || g.Ran != tc.want || (tc.want && !ok) {
				t.Errorf("Go re-check: ran %v allowed %v (%s), err %v\noutput:\n%s", g.Ran, ok, reason, err, out)
			}
		})
	}
}

// TestGuarded_goRecheckCatchesAShellThatDisagrees: output claiming the command ran on a
// state the guard refuses is an error, not a success.
func TestGuarded_goRecheckCatchesAShellThatDisagrees(t *testing.T) {
	out := "@@drbd-probe kernel\nversion: 8.4.11 (api:1/proto:86-101)\n@@drbd-rc 0\n@@drbd-probe minor\n" +
		"0: cs:Connected ro:Secondary/Secondary ds:Inconsistent/UpToDate C r-----\n@@drbd-rc 0\n@@drbd-probe guarded\n@@drbd-rc 0\n"
	g, err := ParseGuarded("pc0", []int{0}, out)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.ForceAllowed(); err == nil || !strings.Contains(err.Error(), "UpToDate data") {
		t.Fatalf("ForceAllowed error = %v", err)
	}
	if _, _, err := g.SkipAllowed(); err == nil {
		t.Fatal("SkipAllowed accepted it")
	}
}

func TestGuardedCommands_oneLine(t *testing.T) {
	for _, v := range []Versions{v83, v84, v9} {
		for _, f := range []func(ResourceName, []int) (string, error){NewCommands(v).ForcePrimaryGuarded, NewCommands(v).SkipInitialSyncGuarded} {
			cmd, err := f(rn("pc0"), []int{0, 1})
			if err != nil || strings.Contains(cmd, "\n") {
				t.Errorf("%v: %q %v", v, cmd, err)
			}
		}
	}
	if _, err := NewCommands(v84).ForcePrimaryGuarded(rn("pc0"), nil); err == nil {
		t.Error("8.4 without minors accepted")
	}
}

// TestGuardedCommands_runOnlyTheirReadsAndAction: the guarded commands start no DRBD program
// but their state reads (events2, get-gi) and the one guarded action, whatever the version.
func TestGuardedCommands_runOnlyTheirReadsAndAction(t *testing.T) {
	for _, v := range []Versions{v83, v84, v9} {
		cmds := NewCommands(v)
		force, _ := cmds.ForcePrimaryGuarded(rn("pc0"), []int{0, 1})
		skip, _ := cmds.SkipInitialSyncGuarded(rn("pc0"), []int{0, 1})
		for name, tc := range map[string]struct {
			cmd     string
			allowed []string
		}{
			"force": {force, []string{"drbdsetup events2", "drbdadm primary", "drbdadm --"}},
			"skip":  {skip, []string{"drbdsetup events2", "drbdadm get-gi", "drbdadm new-current-uuid", "drbdadm --"}},
		} {
			f, err := syntax.NewParser().Parse(strings.NewReader(tc.cmd), "")
			if err != nil {
				t.Fatalf("%v %s: %v", v, name, err)
			}
			var progs []string
			syntax.Walk(f, func(n syntax.Node) bool {
				call, ok := n.(*syntax.CallExpr)
				if !ok || len(call.Args) < 2 {
					return true
				}
				if prog := call.Args[0].Lit(); strings.HasPrefix(prog, "drbd") {
					progs = append(progs, prog+" "+call.Args[1].Lit())
				}
				return true
			})
			if len(progs) == 0 {
				t.Errorf("%v %s: no DRBD program found", v, name)
			}
			for _, p := range progs {
				if !slices.Contains(tc.allowed, p) {
					t.Errorf("%v %s runs %s", v, name, p)
				}
			}
		}
	}
}
