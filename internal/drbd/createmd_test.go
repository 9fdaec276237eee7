package drbd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCreateMDIfBlank_createsOnlyOnBlankVolumes runs CreateMDIfBlank under the real /bin/sh
// with stand-ins for drbdadm (printing the 8.4.11 answers of dstate: "No valid meta data
// found" before create-md, a down resource's "Consistent", a StandAlone node's
// "UpToDate/DUnknown") and blkid: create-md runs only when every volume's backing disk is
// blank and has no metadata, and then for the whole resource with --force.
func TestCreateMDIfBlank_createsOnlyOnBlankVolumes(t *testing.T) {
	down := strings.TrimSpace(readTestdata(t, "drbd-8.4.11/day2/135-node2-dstate-resource-down.txt"))
	up := strings.TrimSpace(readTestdata(t, "drbd-8.4.11/day2/81-node2-dstate-split-brain.txt"))
	const none, ext4 = noMetadata, "DEVNAME=/dev/vdb\nUUID=0b4e\nTYPE=ext4\nUSAGE=filesystem"
	for _, tc := range []struct {
		name    string
		lldev   string
		llRC    int
		dstate  string
		dsRC    int
		blkid   map[string]string // disk: output (exit 0); missing: blank (exit 2)
		created bool
	}{
		{name: "one blank volume", lldev: "/dev/vdb", dstate: none, dsRC: 1, created: true},
		{name: "two blank volumes", lldev: "/dev/vdb\n/dev/vdc", dstate: none + "\n" + none, dsRC: 1, created: true},
		{name: "metadata, down", lldev: "/dev/vdb", dstate: down, dsRC: 0},
		{name: "up, StandAlone", lldev: "/dev/vdb", dstate: up, dsRC: 0},
		{name: "filesystem on the disk", lldev: "/dev/vdb", dstate: none, dsRC: 1, blkid: map[string]string{"/dev/vdb": ext4}},
		{name: "second volume has metadata", lldev: "/dev/vdb\n/dev/vdc", dstate: none + "\n" + down, dsRC: 1},
		{name: "drbdadm answered for one volume of two", lldev: "/dev/vdb\n/dev/vdc", dstate: none, dsRC: 1},
		{name: "filesystem on the second disk", lldev: "/dev/vdb\n/dev/vdc", dstate: none + "\n" + none, dsRC: 1, blkid: map[string]string{"/dev/vdc": ext4}},
		{name: "sh-ll-dev fails", lldev: "'pc0' not defined in your config (for this host).", llRC: 10, dstate: none, dsRC: 1},
		{name: "diskless volume", lldev: "none", dstate: none, dsRC: 1},
		{name: "dstate says more", lldev: "/dev/vdb", dstate: none + "\nopen(/dev/vdb) failed: Device or resource busy", dsRC: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "lldev.txt"), tc.lldev+"\n")
			writeFile(t, filepath.Join(dir, "dstate.txt"), tc.dstate+"\n")
			writeExec(t, filepath.Join(dir, "drbdadm"), "echo \"$*\" >> '"+dir+"/drbdadm.log'\ncase \"$*\" in\n"+
				"'sh-ll-dev pc0') cat '"+dir+"/lldev.txt'; exit "+itoa(tc.llRC)+";;\n"+
				"'dstate pc0') cat '"+dir+"/dstate.txt'; exit "+itoa(tc.dsRC)+";;\nesac")
			blkid := "case \"$4\" in\n"
			for disk, out := range tc.blkid {
				writeFile(t, filepath.Join(dir, filepath.Base(disk)+".blkid"), out+"\n")
				blkid += "'" + disk + "') cat '" + dir + "/" + filepath.Base(disk) + ".blkid'; exit 0;;\n"
			}
			writeExec(t, filepath.Join(dir, "blkid"), blkid+"esac\nexit 2")
			cmd := NewCommands(Versions{Kernel: Version{8, 4, 11}, Utils: Version{9, 22, 0}}).CreateMDIfBlank(ResourceName{name: "pc0"})
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
			ran := strings.Contains(string(logb), "create-md --force pc0")
			if ran != tc.created {
				t.Fatalf("create-md ran %v, want %v; drbdadm ran:\n%s\noutput:\n%s", ran, tc.created, logb, out)
			}
			m, err := ParseCreateMDIfBlank(string(out))
			if err != nil {
				t.Fatalf("ParseCreateMDIfBlank: %v\n%s", err, out)
			}
			if m.Attempted != tc.created || (m.Refusal() == "") != tc.created {
				t.Errorf("attempted %v, refusal %q\n%s", m.Attempted, m.Refusal(), out)
			}
		})
	}
}

// TestParseCreateMDIfBlank_refusesACreateMDOnAStateThatForbidsIt: output in which create-md
// ran over a signature or existing metadata is an error.
func TestParseCreateMDIfBlank_refusesACreateMDOnAStateThatForbidsIt(t *testing.T) {
	for _, out := range []string{
		"@@drbd-probe lldev\n/dev/vdb\n@@drbd-rc 0\n@@drbd-probe dstate\nConsistent\n@@drbd-rc 0\n@@drbd-probe blkid /dev/vdb\n\n@@drbd-rc 2\n@@drbd-probe createmd\n@@drbd-rc 0\n",
		"@@drbd-probe lldev\n/dev/vdb\n@@drbd-rc 0\n@@drbd-probe dstate\nNo valid meta data found\n@@drbd-rc 1\n@@drbd-probe blkid /dev/vdb\nTYPE=xfs\n@@drbd-rc 0\n@@drbd-probe createmd\n@@drbd-rc 0\n",
	} {
		if _, err := ParseCreateMDIfBlank(out); err == nil {
			t.Errorf("no error for %q", out)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
