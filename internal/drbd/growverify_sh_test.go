package drbd

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The guarded resize and verify under the real /bin/sh, with stand-ins for drbdadm,
// drbdsetup, blockdev and the /sys/block size files (through cat). Without /proc/drbd on the
// test machine the shell takes the DRBD 8.x path (cstate, dstate and role from drbdadm).

// guardedShell writes the stand-ins into a directory and runs cmd; it returns the output and
// the drbdadm calls.
func guardedShell(t *testing.T, cmd string, answers map[string]string, backing, sectors string) (string, string) {
	t.Helper()
	return guardedShellIn(t, t.TempDir(), cmd, answers, backing, sectors)
}

func guardedShellIn(t *testing.T, dir, cmd string, answers map[string]string, backing, sectors string) (string, string) {
	t.Helper()
	script := "echo \"$*\" >> '" + dir + "/drbdadm.log'\ncase \"$*\" in\n"
	for args, out := range answers {
		script += "'" + args + "') printf '%s\\n' '" + out + "';;\n"
	}
	script += "'--version') echo 'DRBDADM_VERSION=0x091600';;\n'verify pc0'|'resize pc0') ;;\n*) exit 10;;\nesac"
	writeExec(t, filepath.Join(dir, "drbdadm"), script)
	writeExec(t, filepath.Join(dir, "drbdsetup"), "case \"$1\" in show) printf '%s\\n' '"+answers["show"]+"';; *) exit 20;; esac")
	writeExec(t, filepath.Join(dir, "blockdev"), "echo "+backing)
	writeExec(t, filepath.Join(dir, "cat"), "case \"$1\" in /sys/block/drbd*/size) echo "+sectors+";; *) exec /bin/cat \"$@\";; esac")
	writeExec(t, filepath.Join(dir, "dmesg"), "exit 0")
	c := exec.Command("/bin/sh", "-c", cmd)
	c.Env = []string{"PATH=" + dir + ":/usr/bin:/bin"}
	out, _ := c.CombinedOutput()
	logb, _ := os.ReadFile(filepath.Join(dir, "drbdadm.log"))
	return string(out), string(logb)
}

func TestResizeGuarded_shell(t *testing.T) {
	synced := map[string]string{"cstate pc0": "Connected", "dstate pc0": "UpToDate/UpToDate", "sh-ll-dev pc0": "/dev/vdb",
		"sh-minor pc0": "0", "sh-dev pc0": "/dev/drbd0"}
	with := func(k, v string) map[string]string { return withAnswer(synced, k, v) }
	for _, tc := range []struct {
		name             string
		answers          map[string]string
		backing, sectors string
		ran              bool
	}{
		{"grown disk, in sync", synced, "2147483648", "2097016", true},
		{"disk as large as the device", synced, "1073741824", "2097152", true},
		{"disk smaller than the device", synced, "536870912", "2097016", false},
		{"not connected", with("cstate pc0", "WFConnection"), "2147483648", "2097016", false},
		{"resyncing", with("cstate pc0", "SyncSource"), "2147483648", "2097016", false},
		{"peer disk Inconsistent", with("dstate pc0", "UpToDate/Inconsistent"), "2147483648", "2097016", false},
		{"second volume not UpToDate", with("dstate pc0", "UpToDate/UpToDate\nUpToDate/Outdated"), "2147483648", "2097016", false},
		{"more minors than disks", with("sh-minor pc0", "0\n1"), "2147483648", "2097016", false},
		{"size unreadable", synced, "", "2097016", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := ResizeGuarded(ResourceName{name: "pc0"})
			out, log := guardedShell(t, cmd, tc.answers, tc.backing, tc.sectors)
			if ran := strings.Contains(log, "resize pc0"); ran != tc.ran {
				t.Fatalf("resize ran %v, want %v; drbdadm calls:\n%s\noutput:\n%s", ran, tc.ran, log, out)
			}
			g, err := ParseResizeGuarded("pc0", out)
			if err != nil || g.Ran != tc.ran {
				t.Errorf("ParseResizeGuarded: ran %v, err %v\n%s", g.Ran, err, out)
			}
		})
	}
}

func TestVerifyGuarded_shell(t *testing.T) {
	synced := map[string]string{"cstate pc0": "Connected", "dstate pc0": "UpToDate/UpToDate", "role pc0": "Primary/Secondary",
		"sh-dev pc0": "/dev/drbd0", "show": "resource pc0 {\n    net {\n        verify-alg \"sha1\";\n    }\n}"}
	with := func(k, v string) map[string]string { return withAnswer(synced, k, v) }
	for _, tc := range []struct {
		name    string
		answers map[string]string
		roles   VerifyRoles
		ran     bool
	}{
		{"in sync", synced, VerifyAnyRoles, true},
		{"no verify-alg", with("show", "resource pc0 {\n}"), VerifyAnyRoles, false},
		{"verifying already", with("cstate pc0", "VerifyS"), VerifyAnyRoles, false},
		{"StandAlone", with("cstate pc0", "StandAlone"), VerifyAnyRoles, false},
		{"peer Outdated", with("dstate pc0", "UpToDate/Outdated"), VerifyAnyRoles, false},
		{"resync, one Primary", synced, VerifyOnePrimary, true},
		{"resync, both Secondary", with("role pc0", "Secondary/Secondary"), VerifyOnePrimary, false},
		{"resync from the Secondary, host Primary", synced, VerifySecondaryOfPrimary, false},
		{"resync from the Secondary", with("role pc0", "Secondary/Primary"), VerifySecondaryOfPrimary, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, log := guardedShell(t, VerifyGuarded(ResourceName{name: "pc0"}, tc.roles), tc.answers, "", "")
			if ran := strings.Contains(log, "verify pc0"); ran != tc.ran {
				t.Fatalf("verify ran %v, want %v; drbdadm calls:\n%s\noutput:\n%s", ran, tc.ran, log, out)
			}
			g, err := ParseVerifyGuarded("pc0", out)
			if err != nil || g.Ran != tc.ran {
				t.Errorf("ParseVerifyGuarded: ran %v, err %v\n%s", g.Ran, err, out)
			}
			if want := map[bool]string{true: "", false: "sha1"}[strings.Contains(tc.name, "no verify-alg")]; g.Alg != want {
				t.Errorf("verify-alg %q, want %q", g.Alg, want)
			}
		})
	}
}

// TestVerifyGuarded_shell84 runs the DRBD 8.4 path (a /proc/drbd of 8.4.11): the minors from
// `drbdsetup show`, the state from their /proc/drbd lines, no drbdadm but --version and the
// verify; the show section carries the verify-alg and not the shared secret.
func TestVerifyGuarded_shell84(t *testing.T) {
	const show = "resource pc0 {\n    net {\n        shared-secret   \t\"s3cret\";\n        verify-alg      \t\"sha1\";\n    }\n" +
		"    _this_host {\n        volume 0 {\n            device\t\t\tminor 0;\n        }\n        volume 1 {\n            device\t\t\tminor 1;\n        }\n    }\n}"
	const head = "version: 8.4.11 (api:1/proto:86-101)\nsrcversion: 2A9A9BF5B2D4D1B1A5F1F5B\n"
	line := func(m, cs, ro, ds string) string {
		return " " + m + ": cs:" + cs + " ro:" + ro + " ds:" + ds + " C r-----\n    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n"
	}
	ok0, ok1 := line("0", "Connected", "Primary/Secondary", "UpToDate/UpToDate"), line("1", "Connected", "Primary/Secondary", "UpToDate/UpToDate")
	for _, tc := range []struct {
		name  string
		proc  string
		show  string
		roles VerifyRoles
		ran   bool
	}{
		{"both volumes in sync", head + ok0 + ok1, show, VerifyOnePrimary, true},
		{"volume 1 peer Outdated", head + ok0 + line("1", "Connected", "Primary/Secondary", "UpToDate/Outdated"), show, VerifyAnyRoles, false},
		{"volume 1 missing", head + ok0, show, VerifyAnyRoles, false},
		{"verifying", head + line("0", "VerifyS", "Primary/Secondary", "UpToDate/UpToDate") + ok1, show, VerifyAnyRoles, false},
		{"host Primary, Secondary asked", head + ok0 + ok1, show, VerifySecondaryOfPrimary, false},
		{"no verify-alg", head + ok0 + ok1, strings.Replace(show, "verify-alg", "csums-alg", 1), VerifyAnyRoles, false},
		{"line of minor 10 does not count for 1", head + ok0 + line("10", "Connected", "Primary/Secondary", "UpToDate/UpToDate"), show, VerifyAnyRoles, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			proc := filepath.Join(dir, "proc-drbd")
			writeFile(t, proc, tc.proc)
			cmd := verifyGuarded(ResourceName{name: "pc0"}, tc.roles, proc)
			out, log := guardedShellIn(t, dir, cmd, map[string]string{"show": tc.show}, "", "")
			if ran := strings.Contains(log, "verify pc0"); ran != tc.ran {
				t.Fatalf("verify ran %v, want %v; drbdadm calls:\n%s\noutput:\n%s", ran, tc.ran, log, out)
			}
			if calls := strings.Count(log, "\n"); calls != map[bool]int{true: 2, false: 1}[tc.ran] {
				t.Errorf("drbdadm ran %d times, want --version (and the verify):\n%s", calls, log)
			}
			if strings.Contains(out, "s3cret") {
				t.Errorf("the output shows the shared secret:\n%s", out)
			}
			g, err := ParseVerifyGuarded("pc0", out)
			if err != nil || g.Ran != tc.ran {
				t.Fatalf("ParseVerifyGuarded: ran %v, err %v\n%s", g.Ran, err, out)
			}
			if !strings.Contains(tc.name, "verify-alg") && g.Alg != "sha1" {
				t.Errorf("verify-alg %q, want sha1", g.Alg)
			}
			if st := g.Probe.Status; !st.Configured || st.Minor != 0 {
				t.Errorf("status of the probe sections: %+v", st)
			}
		})
	}
}

// withAnswer is answers with the answer to k replaced by v.
func withAnswer(answers map[string]string, k, v string) map[string]string {
	m := maps.Clone(answers)
	m[k] = v
	return m
}
