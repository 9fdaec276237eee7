package drbd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestConnectDiscardMyDataIfSplitBrain_connectsOnlyTheVictim runs the command under the real
// /bin/sh with stand-ins for drbdadm and dmesg printing the 8.4.11 captures of an unresolved
// split brain (node2: cstate StandAlone, dmesg), or variants of them: the connect runs only
// while the node is StandAlone, Secondary, and still in the split brain it was decided on.
func TestConnectDiscardMyDataIfSplitBrain_connectsOnlyTheVictim(t *testing.T) {
	cstate := readTestdata(t, "drbd-8.4.11/day2/79-node2-cstate-split-brain.txt")
	klog := readTestdata(t, "drbd-8.4.11/day2/84-node2-dmesg-drbd-split-brain-unresolved.txt")
	devices := []string{"/dev/drbd0"}
	line := LastSplitBrainLine(klog, "pc0", devices)
	if line != "[  416.197148] block drbd0: Split-Brain detected but unresolved, dropping connection!" {
		t.Fatalf("LastSplitBrainLine = %q", line)
	}
	const left = "[  500.000001] drbd pc0: conn( StandAlone -> Unconnected ) \n[  500.100000] drbd pc0: conn( WFConnection -> Disconnecting ) \n"
	for _, tc := range []struct {
		name, cstate, role, klog string
		klogRC                   int
		connect                  bool
	}{
		{name: "StandAlone Secondary victim", cstate: cstate, role: "Secondary/Unknown", klog: klog, connect: true},
		{name: "promoted meanwhile", cstate: cstate, role: "Primary/Unknown", klog: klog},
		{name: "reconnecting meanwhile", cstate: "WFConnection", role: "Secondary/Unknown", klog: klog},
		{name: "two volumes, one Primary", cstate: cstate + cstate, role: "Secondary/Unknown\nPrimary/Unknown", klog: klog},
		{name: "left StandAlone after the split brain", cstate: cstate, role: "Secondary/Unknown", klog: klog + left},
		{name: "another resource left StandAlone", cstate: cstate, role: "Secondary/Unknown",
			klog: klog + "[  500.000001] drbd pc1: conn( StandAlone -> Unconnected ) \n", connect: true},
		{name: "split brain no longer in the log", cstate: cstate, role: "Secondary/Unknown", klog: strings.ReplaceAll(klog, "Split-Brain", "Split brain")},
		{name: "dmesg not allowed", cstate: cstate, role: "Secondary/Unknown", klog: "dmesg: read kernel buffer failed: Operation not permitted", klogRC: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "cstate.txt"), tc.cstate)
			writeFile(t, filepath.Join(dir, "role.txt"), tc.role+"\n")
			writeFile(t, filepath.Join(dir, "dmesg.txt"), tc.klog)
			writeExec(t, filepath.Join(dir, "drbdadm"), "echo \"$*\" >> '"+dir+"/drbdadm.log'\ncase \"$*\" in\n"+
				"'cstate pc0') cat '"+dir+"/cstate.txt';;\n'role pc0') cat '"+dir+"/role.txt';;\nesac")
			writeExec(t, filepath.Join(dir, "dmesg"), "cat '"+dir+"/dmesg.txt'; exit "+strconv.Itoa(tc.klogRC))
			cmds := NewCommands(Versions{Kernel: Version{8, 4, 11}, Utils: Version{9, 22, 0}})
			cmd, err := cmds.ConnectDiscardMyDataIfSplitBrain(ResourceName{name: "pc0"}, devices, line)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(cmd, "\n") {
				t.Fatalf("the command spans lines: %q", cmd)
			}
			c := exec.Command("/bin/sh", "-c", cmd)
			c.Env = []string{"PATH=" + dir + ":/usr/bin:/bin"}
			out, err := c.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			logb, _ := os.ReadFile(filepath.Join(dir, "drbdadm.log"))
			ran := strings.Contains(string(logb), "connect --discard-my-data pc0")
			if ran != tc.connect {
				t.Fatalf("connect ran %v, want %v; drbdadm ran:\n%s\noutput:\n%s", ran, tc.connect, logb, out)
			}
			v, err := ParseConnectDiscardMyData(string(out), "pc0", devices, line)
			if err != nil {
				t.Fatalf("ParseConnectDiscardMyData: %v\n%s", err, out)
			}
			if why := v.Refusal("pc0", devices, line); v.Attempted != tc.connect || (why == "") != tc.connect {
				t.Errorf("attempted %v, refusal %q\n%s", v.Attempted, why, out)
			}
		})
	}
	if _, err := NewCommands(Versions{Kernel: Version{8, 4, 11}}).ConnectDiscardMyDataIfSplitBrain(ResourceName{name: "pc0"}, devices, ""); err == nil {
		t.Error("a victim connect without a split-brain line")
	}
}

// TestParseConnectDiscardMyData_refusesAConnectOnAStateThatForbidsIt: output in which the
// connect ran on a Primary is an error.
func TestParseConnectDiscardMyData_refusesAConnectOnAStateThatForbidsIt(t *testing.T) {
	line := "[  416.197148] block drbd0: Split-Brain detected but unresolved, dropping connection!"
	out := "@@drbd-probe cstate\nStandAlone\n@@drbd-rc 0\n@@drbd-probe roles\nPrimary/Unknown\n@@drbd-rc 0\n@@drbd-probe kernlog\n" +
		line + "\n@@drbd-rc 0\n@@drbd-probe connect\n@@drbd-rc 0\n"
	if _, err := ParseConnectDiscardMyData(out, "pc0", []string{"/dev/drbd0"}, line); err == nil {
		t.Error("no error for a connect on a Primary")
	}
}
