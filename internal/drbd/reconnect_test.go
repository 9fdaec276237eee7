package drbd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReconnectToResync_onlyAConnectedSecondary runs the command under the real /bin/sh with
// a stand-in drbdadm: disconnect and connect run, in that order and in the same shell, only
// while every connection is Connected and every volume Secondary; otherwise nothing runs.
func TestReconnectToResync_onlyAConnectedSecondary(t *testing.T) {
	for _, tc := range []struct {
		name, cstate, role string
		reconnect          bool
	}{
		{name: "8.4 Connected Secondary", cstate: "Connected", role: "Secondary/Primary", reconnect: true},
		{name: "9 Connected Secondary", cstate: "Connected", role: "Secondary", reconnect: true},
		{name: "promoted meanwhile", cstate: "Connected", role: "Primary/Secondary"},
		{name: "two volumes, one Primary", cstate: "Connected\nConnected", role: "Secondary/Primary\nPrimary/Secondary"},
		{name: "StandAlone meanwhile", cstate: "StandAlone", role: "Secondary/Unknown"},
		{name: "syncing meanwhile", cstate: "SyncTarget", role: "Secondary/Primary"},
		{name: "resource down", cstate: "pc0: No such resource", role: "pc0: No such resource"},
		{name: "nothing read", cstate: "", role: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "cstate.txt"), tc.cstate+"\n")
			writeFile(t, filepath.Join(dir, "role.txt"), tc.role+"\n")
			writeExec(t, filepath.Join(dir, "drbdadm"), "echo \"$*\" >> '"+dir+"/drbdadm.log'\ncase \"$*\" in\n"+
				"'cstate pc0') cat '"+dir+"/cstate.txt';;\n'role pc0') cat '"+dir+"/role.txt';;\nesac")
			cmd := NewCommands(Versions{Kernel: Version{8, 4, 11}, Utils: Version{9, 22, 0}}).ReconnectToResync(ResourceName{name: "pc0"})
			if strings.Contains(cmd, "\n") {
				t.Fatalf("the command spans lines: %q", cmd)
			}
			c := exec.Command("/bin/sh", "-c", cmd)
			c.Env = []string{"PATH=" + dir + ":/usr/bin:/bin"}
			out, err := c.CombinedOutput()
			log := readFileOrEmpty(filepath.Join(dir, "drbdadm.log"))
			ran := strings.Contains(log, "disconnect") || strings.Contains(log, "\nconnect")
			if tc.reconnect {
				if err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				if log != "cstate pc0\nrole pc0\ndisconnect pc0\nconnect pc0\n" {
					t.Errorf("drbdadm calls:\n%s", log)
				}
				return
			}
			if ran {
				t.Errorf("ran although the node is not a Connected Secondary:\n%s", log)
			}
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 || !strings.Contains(string(out), "not reconnected") {
				t.Errorf("want exit 3 and a refusal, got %v: %s", err, out)
			}
		})
	}
}

// readFileOrEmpty is the file's content, "" when it does not exist.
func readFileOrEmpty(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}
