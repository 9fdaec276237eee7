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
// the real /bin/sh with stand-ins for blkid, findmnt, mkdir and mount and a mount table of the
// test's own: it mounts only a device carrying exactly a filesystem of the configured type,
// on a canonical mountpoint with nothing mounted there; otherwise it reads the mount with
// findmnt instead.
func TestMountIfFormattedCommand_mountsOnlyAnUnmountedFilesystemOfTheType(t *testing.T) {
	const ext4 = "DEVNAME=/dev/drbd0\nUUID=0b4e3d0e-1f0c-4a4e-9d4c-2f8e5f0c1a11\nVERSION=1.0\nBLOCK_SIZE=4096\nTYPE=ext4\nUSAGE=filesystem"
	const table = "sysfs /sys sysfs rw 0 0\n/dev/vda1 / ext4 rw,relatime 0 0\n"
	for _, tc := range []struct {
		name     string
		blkid    string
		blkidRC  int
		mounted  bool   // the mount table lists the mountpoint
		missing  bool   // the mountpoint directory does not exist yet
		symlink  bool   // the mountpoint is reached through a symbolic link
		table    string // "" = table, "-" = no readable mount table
		mountRC  int
		fsType   string
		mount    bool
		mkdirRan bool
		// pre is the precondition ("" = none); preFailed is what the attempt must report.
		pre       string
		preFailed bool
	}{
		{name: "ext4, nothing mounted", blkid: ext4, fsType: "ext4", mount: true},
		{name: "ext4, directory missing", blkid: ext4, missing: true, fsType: "ext4", mount: true, mkdirRan: true},
		{name: "ext4, mount fails", blkid: ext4, mountRC: 32, fsType: "ext4", mount: true},
		{name: "no signature", blkidRC: 2, fsType: "ext4"},
		{name: "Secondary: wrong medium type", blkid: "error: /dev/drbd0: Wrong medium type", blkidRC: 2, fsType: "ext4"},
		{name: "ambivalent", blkid: "ambivalent result", blkidRC: 8, fsType: "ext4"},
		{name: "another type", blkid: strings.Replace(ext4, "TYPE=ext4", "TYPE=xfs", 1), fsType: "ext4"},
		{name: "type with a longer name", blkid: strings.Replace(ext4, "TYPE=ext4", "TYPE=ext4dev", 1), fsType: "ext4"},
		{name: "configured xfs, device ext4", blkid: ext4, fsType: "xfs"},
		{name: "partition table too", blkid: ext4 + "\nPTTYPE=dos", fsType: "ext4"},
		{name: "already mounted", blkid: ext4, mounted: true, fsType: "ext4"},
		{name: "mountpoint behind a symbolic link", blkid: ext4, symlink: true, fsType: "ext4"},
		{name: "no mount table", blkid: ext4, table: "-", fsType: "ext4"},
		{name: "precondition holds", blkid: ext4, fsType: "ext4", mount: true, pre: "echo role Primary"},
		{name: "precondition fails (DRBD 9 Secondary: readable, not Primary)", blkid: ext4, fsType: "ext4", pre: "echo role Secondary; false", preFailed: true},
		{name: "precondition fails, already mounted", blkid: ext4, mounted: true, fsType: "ext4", pre: "false", preFailed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			target := filepath.Join(dir, "real")
			for _, d := range []string{bin, target} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			mp := filepath.Join(target, "data")
			if tc.symlink {
				if err := os.Symlink(target, filepath.Join(dir, "link")); err != nil {
					t.Fatal(err)
				}
				mp = filepath.Join(dir, "link", "data")
			}
			if !tc.missing {
				if err := os.Mkdir(filepath.Join(target, "data"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			mounts := filepath.Join(dir, "mounts")
			content := table
			if tc.mounted {
				content += "/dev/drbd0 " + mp + " ext4 rw 0 0\n"
			}
			if tc.table != "-" {
				if err := os.WriteFile(mounts, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			stub := func(name, out string, rc int) {
				body := "#!/bin/sh\necho \"" + name + " $*\" >> \"" + dir + "/ran.log\"\n"
				if out != "" {
					if err := os.WriteFile(filepath.Join(dir, name+".out"), []byte(out+"\n"), 0o644); err != nil {
						t.Fatal(err)
					}
					body += "cat \"" + dir + "/" + name + ".out\"\n"
				}
				body += "exit " + strconv.Itoa(rc) + "\n"
				if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			stub("blkid", tc.blkid, tc.blkidRC)
			stub("findmnt", "", 1)
			stub("mkdir", "", 0)
			stub("mount", "", tc.mountRC)
			// The sizes, read after a mount that succeeded (SizesCommand).
			stub("blockdev", "1073741824", 0)
			stub("dumpe2fs", "Block count:              261888\nBlock size:               4096", 0)
			stub("xfs_info", "data     =                       bsize=4096   blocks=261888, imaxpct=25", 0)
			cmd, err := mountIfFormattedCommand(tc.fsType, "/dev/drbd0", mp, "", tc.pre, mounts)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(cmd, "\n") {
				t.Fatalf("the command spans lines: %q", cmd)
			}
			c := exec.Command("/bin/sh", "-c", cmd)
			c.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
			out, _ := c.CombinedOutput()
			logb, _ := os.ReadFile(filepath.Join(dir, "ran.log"))
			ran := string(logb)
			mounted := strings.Contains(ran, "mount -t "+tc.fsType+" /dev/drbd0 "+mp)
			if mounted != tc.mount || strings.Contains(ran, "mkdir") != tc.mkdirRan || strings.Contains(ran, "findmnt") == tc.mount {
				t.Fatalf("mount ran %v (want %v), mkdir %v (want %v), findmnt when not mounting; commands:\n%s\noutput:\n%s",
					mounted, tc.mount, strings.Contains(ran, "mkdir"), tc.mkdirRan, ran, out)
			}
			st, a, err := ParseMountIfFormatted(tc.fsType, string(out))
			if err != nil {
				t.Fatalf("ParseMountIfFormatted: %v\n%s", err, out)
			}
			if a.Ran != tc.mount || a.Mounted() != (tc.mount && tc.mountRC == 0) || (a.Ran && a.Exit != tc.mountRC) || a.PreconditionFailed != tc.preFailed {
				t.Errorf("attempt %+v, want ran %v exit %d", a, tc.mount, tc.mountRC)
			}
			if tc.mount && (st.Signature.Type != "ext4" || st.Signature.UUID == "" || st.Mounted) {
				t.Errorf("state before the mount: %+v", st)
			}
			// Only a mounted filesystem has its sizes read, in the same round trip.
			readSizes := strings.Contains(ran, "blockdev --getsize64 /dev/drbd0")
			if readSizes != a.Mounted() {
				t.Errorf("sizes read %v after a mount that succeeded %v; commands:\n%s", readSizes, a.Mounted(), ran)
			}
			if want := (Sizes{DeviceBytes: 1073741824, FSBytes: 261888 * 4096}); a.Mounted() && (a.SizesErr != nil || a.Sizes != want) {
				t.Errorf("sizes %+v (error %v), want %+v", a.Sizes, a.SizesErr, want)
			}
			if !a.Mounted() && a.SizesErr == nil {
				t.Errorf("no mount, but no reason why the sizes are missing: %+v", a)
			}
		})
	}
	if _, err := MountIfFormattedCommand("ext4; rm", "/dev/drbd0", "/mnt", "", ""); err == nil {
		t.Error("a bad fs_type gave a command")
	}
}

func TestMountTableEscape(t *testing.T) {
	if got, want := mountTableEscape("/a b\tc\\d\ne"), `/a\040b\011c\134d\012e`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
