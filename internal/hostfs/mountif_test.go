package hostfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMountIfFormattedCommand_mountsOnlyAnUnmountedFilesystemOfTheType runs the command under
// the real /bin/sh with stand-ins for blkid, findmnt, mkdir and mount: it mounts only a device
// carrying exactly a filesystem of the configured type, with nothing at the mountpoint.
func TestMountIfFormattedCommand_mountsOnlyAnUnmountedFilesystemOfTheType(t *testing.T) {
	const ext4 = "DEVNAME=/dev/drbd0\nUUID=0b4e3d0e-1f0c-4a4e-9d4c-2f8e5f0c1a11\nVERSION=1.0\nBLOCK_SIZE=4096\nTYPE=ext4\nUSAGE=filesystem"
	for _, tc := range []struct {
		name               string
		blkid              string
		blkidRC            int
		findmnt            string
		findmntRC, mountRC int
		fsType             string
		mount              bool
	}{
		{name: "ext4, nothing mounted", blkid: ext4, findmntRC: 1, fsType: "ext4", mount: true},
		{name: "ext4, mount fails", blkid: ext4, findmntRC: 1, mountRC: 32, fsType: "ext4", mount: true},
		{name: "no signature", blkidRC: 2, findmntRC: 1, fsType: "ext4"},
		{name: "Secondary: wrong medium type", blkid: "error: /dev/drbd0: Wrong medium type", blkidRC: 2, findmntRC: 1, fsType: "ext4"},
		{name: "ambivalent", blkid: "ambivalent result", blkidRC: 8, findmntRC: 1, fsType: "ext4"},
		{name: "another type", blkid: strings.Replace(ext4, "TYPE=ext4", "TYPE=xfs", 1), findmntRC: 1, fsType: "ext4"},
		{name: "type with a longer name", blkid: strings.Replace(ext4, "TYPE=ext4", "TYPE=ext4dev", 1), findmntRC: 1, fsType: "ext4"},
		{name: "configured xfs, device ext4", blkid: ext4, findmntRC: 1, fsType: "xfs"},
		{name: "partition table too", blkid: ext4 + "\nPTTYPE=dos", findmntRC: 1, fsType: "ext4"},
		{name: "already mounted", blkid: ext4, findmnt: "/dev/drbd0 /mnt ext4 rw", fsType: "ext4"},
		{name: "findmnt failed", blkid: ext4, findmnt: "findmnt: bad usage", findmntRC: 2, fsType: "ext4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			stub := func(name, out string, rc int) {
				body := "#!/bin/sh\necho \"" + name + " $*\" >> \"" + dir + "/ran.log\"\n"
				if out != "" {
					if err := os.WriteFile(filepath.Join(dir, name+".out"), []byte(out+"\n"), 0o644); err != nil {
						t.Fatal(err)
					}
					body += "cat \"" + dir + "/" + name + ".out\"\n"
				}
				body += "exit " + strconv.Itoa(rc) + "\n"
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			stub("blkid", tc.blkid, tc.blkidRC)
			stub("findmnt", tc.findmnt, tc.findmntRC)
			stub("mkdir", "", 0)
			stub("mount", "", tc.mountRC)
			cmd, err := MountIfFormattedCommand(tc.fsType, "/dev/drbd0", "/var/opt/opscode/drbd/data", "")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(cmd, "\n") {
				t.Fatalf("the command spans lines: %q", cmd)
			}
			c := exec.Command("/bin/sh", "-c", cmd)
			c.Env = []string{"PATH=" + dir + ":/usr/bin:/bin"}
			out, _ := c.CombinedOutput()
			ran, _ := os.ReadFile(filepath.Join(dir, "ran.log"))
			mounted := strings.Contains(string(ran), "mount -t "+tc.fsType+" /dev/drbd0 /var/opt/opscode/drbd/data")
			if mounted != tc.mount {
				t.Fatalf("mount ran %v, want %v; commands:\n%s\noutput:\n%s", mounted, tc.mount, ran, out)
			}
			st, a, err := ParseMountIfFormatted(string(out))
			if err != nil && tc.findmntRC != 2 {
				t.Fatalf("ParseMountIfFormatted: %v\n%s", err, out)
			}
			if a.Ran != tc.mount || a.Mounted() != (tc.mount && tc.mountRC == 0) || (a.Ran && a.Exit != tc.mountRC) {
				t.Errorf("attempt %+v, want ran %v exit %d", a, tc.mount, tc.mountRC)
			}
			if tc.mount && (st.Signature.Type != "ext4" || st.Signature.UUID == "" || st.Mounted) {
				t.Errorf("state before the mount: %+v", st)
			}
		})
	}
	if _, err := MountIfFormattedCommand("ext4; rm", "/dev/drbd0", "/mnt", ""); err == nil {
		t.Error("a bad fs_type gave a command")
	}
}
