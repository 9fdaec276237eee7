package drbd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"
)

func readDay2(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "drbd-8.4.11", "day2", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseEvents2Now_captures(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Status
	}{
		{"40-node1-events2-now.txt", Status{Resource: "pc0", Configured: true, Minor: 0, Device: "/dev/drbd0",
			Role: RolePrimary, PeerRole: RoleSecondary, ConnectionState: ConnConnected, ReplicationState: "Established",
			DiskState: DiskUpToDate, PeerDiskState: DiskUpToDate}},
		{"47-node2-events2-now-statistics-during-resync.txt", Status{Resource: "pc0", Configured: true, Minor: 0, Device: "/dev/drbd0",
			Role: RoleSecondary, PeerRole: RolePrimary, ConnectionState: ConnSyncTarget, ReplicationState: "SyncTarget",
			DiskState: DiskInconsistent, PeerDiskState: DiskUpToDate}},
		{"82-node1-events2-now-split-brain.txt", Status{Resource: "pc0", Configured: true, Minor: 0, Device: "/dev/drbd0",
			Role: RolePrimary, PeerRole: RoleUnknown, ConnectionState: ConnStandAlone, ReplicationState: "Off",
			DiskState: DiskUpToDate, PeerDiskState: DiskDUnknown}},
		{"137-node2-events2-now-resource-down.txt", unconfiguredStatus("pc0", -1, "")},
	} {
		t.Run(tc.file, func(t *testing.T) {
			if got := ParseEvents2Now("pc0", readDay2(t, tc.file)); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if got := ParseEvents2Now("other", readDay2(t, "40-node1-events2-now.txt")); got.Configured {
		t.Errorf("another resource's lines were used: %+v", got)
	}
}

// healthyEvents2 is capture 40 (node1 Primary) as node2 sees the pair after a demotion:
// both Secondary, Connected, UpToDate/UpToDate.
func healthyEvents2(t *testing.T) string {
	return strings.Replace(readDay2(t, "40-node1-events2-now.txt"), "role:Primary", "role:Secondary", 1)
}

// TestPromoteHealthyCommand_promotesOnlyAHealthyPairAtRest runs the command under the real
// /bin/sh with stand-ins for drbdsetup (printing a capture, or a variant of one) and drbdadm
// (recording its arguments): the promotion runs only on a healthy pair at rest, and whenever
// it runs, ParsePromoteHealthy agrees that the state was one.
func TestPromoteHealthyCommand_promotesOnlyAHealthyPairAtRest(t *testing.T) {
	healthy := healthyEvents2(t)
	twoVolumes := strings.Replace(healthy, "exists peer-device",
		"exists device name:pc0 volume:1 minor:1 disk:Inconsistent\nexists peer-device", 1)
	for _, tc := range []struct {
		name    string
		events2 string
		rc      int
		promote bool
	}{
		{"healthy pair at rest", healthy, 0, true},
		{"healthy, with statistics", strings.Replace(healthy, "resync-suspended:no", "resync-suspended:no received:0 sent:0 out-of-sync:0", 1), 0, true},
		{"peer Primary", readDay2(t, "47-node2-events2-now-statistics-during-resync.txt"), 0, false},
		{"this node already Primary", readDay2(t, "40-node1-events2-now.txt"), 0, false},
		{"resyncing", strings.Replace(strings.Replace(readDay2(t, "47-node2-events2-now-statistics-during-resync.txt"), "role:Primary", "role:Secondary", 1), "disk:Inconsistent", "disk:UpToDate", 1), 0, false},
		{"StandAlone", readDay2(t, "82-node2-events2-now-split-brain.txt"), 0, false},
		{"peer not connected", strings.NewReplacer("connection:Connected role:Secondary", "connection:Connecting role:Unknown",
			"replication:Established peer-disk:UpToDate", "replication:Off peer-disk:DUnknown").Replace(healthy), 0, false},
		{"local disk Outdated", strings.Replace(healthy, " disk:UpToDate", " disk:Outdated", 1), 0, false},
		{"peer disk Consistent", strings.Replace(healthy, "peer-disk:UpToDate", "peer-disk:Consistent", 1), 0, false},
		{"second volume Inconsistent", twoVolumes, 0, false},
		{"I/O suspended", strings.Replace(healthy, "suspended:no", "suspended:user", 1), 0, false},
		{"resource down", readDay2(t, "137-node2-events2-now-resource-down.txt"), 0, false},
		{"events2 unknown (DRBD 8.3 utils)", "drbdsetup: unknown command 'events2'", 20, false},
		{"events2 failed after printing a healthy state", healthy, 10, false},
		{"another resource", strings.ReplaceAll(healthy, "name:pc0", "name:pc1"), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "events2.txt"), []byte(tc.events2), 0o644); err != nil {
				t.Fatal(err)
			}
			stub := func(name, body string) {
				if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			stub("drbdsetup", "cat \""+dir+"/events2.txt\"; exit "+strconv.Itoa(tc.rc))
			stub("drbdadm", "echo \"$*\" >> \""+dir+"/drbdadm.log\"")
			ran, out := runPromotion(t, dir, PromoteHealthyCommand(rn("pc0")))
			if tc.promote != (ran == "primary pc0") || (!tc.promote && ran != "") {
				t.Fatalf("promote %v, but drbdadm ran %q\noutput:\n%s", tc.promote, ran, out)
			}
			h, err := ParsePromoteHealthy("pc0", string(out))
			if err != nil {
				t.Fatalf("ParsePromoteHealthy: %v\noutput:\n%s", err, out)
			}
			if h.Attempted != tc.promote || h.Promoted() != tc.promote {
				t.Errorf("Attempted %v, Promoted %v, want %v", h.Attempted, h.Promoted(), tc.promote)
			}
			if tc.promote && (h.After().Role != RolePrimary || h.After().ReplicationState != "") {
				t.Errorf("After() = %+v, want Primary without an 8.4 replication state", h.After())
			}
		})
	}
}

func TestParsePromoteHealthy_refusesAPromotionOnAnUnhealthyState(t *testing.T) {
	out := "@@drbd-probe events2\n" + readDay2(t, "82-node2-events2-now-split-brain.txt") + "@@drbd-rc 0\n@@drbd-probe primary\n@@drbd-rc 0\n"
	if _, err := ParsePromoteHealthy("pc0", out); err == nil {
		t.Fatal("a promotion reported on a StandAlone state was accepted")
	}
	if _, err := ParsePromoteHealthy("pc0", "garbage"); err == nil {
		t.Fatal("output without markers was accepted")
	}
}

// runPromotion runs cmd, a one-line promotion script, under the real /bin/sh with dir first on
// PATH (where a drbdadm stand-in logs its arguments to drbdadm.log), and returns what
// drbdadm was run with and the script's output.
func runPromotion(t *testing.T, dir, cmd string) (string, []byte) {
	t.Helper()
	if strings.Contains(cmd, "\n") {
		t.Fatalf("the command spans lines: %q", cmd)
	}
	c := exec.Command("/bin/sh", "-c", cmd)
	c.Env = []string{"PATH=" + dir + ":/usr/bin:/bin"}
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "drbdadm.log"))
	return strings.TrimSpace(string(log)), out
}

// TestSwitchoverCommandsOnlyReadOrPromote: the commands of a switchover's promotion, and the
// read ahead of need, run no DRBD verb but events2 (a read) and primary; in particular none
// connects, disconnects, attaches, detaches or brings a resource up or down, whatever state
// they find.
func TestSwitchoverCommandsOnlyReadOrPromote(t *testing.T) {
	allowed := map[string]bool{"drbdsetup events2": true, "drbdadm primary": true}
	for name, cmd := range map[string]string{
		"PromoteHealthyCommand": PromoteHealthyCommand(rn("pc0")),
		"Events2NowCommand":     Events2NowCommand(rn("pc0")),
	} {
		f, err := syntax.NewParser().Parse(strings.NewReader(cmd), "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		calls := 0
		syntax.Walk(f, func(n syntax.Node) bool {
			call, ok := n.(*syntax.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			switch prog := call.Args[0].Lit(); prog {
			case "drbdadm", "drbdsetup", "drbdmeta":
				calls++
				verb := ""
				if len(call.Args) > 1 {
					verb = call.Args[1].Lit()
				}
				if !allowed[prog+" "+verb] {
					t.Errorf("%s runs %s %s", name, prog, verb)
				}
			}
			return true
		})
		if calls == 0 {
			t.Errorf("%s: no DRBD program found (the walk is broken)", name)
		}
	}
}
