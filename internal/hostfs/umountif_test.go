package hostfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestUmountIfMountedCommand_unmountsOnlyTheDeviceOnTop runs the command under the real
// /bin/sh with a stand-in umount and a mount table of the test's own: it unmounts only when
// the device is what is mounted on top at the mountpoint; with nothing or something else
// there it runs nothing, and with no readable table or a mountpoint behind a symbolic link
// it reports that it could not check.
func TestUmountIfMountedCommand_unmountsOnlyTheDeviceOnTop(t *testing.T) {
	const table = "sysfs /sys sysfs rw 0 0\n/dev/vda1 / ext4 rw,relatime 0 0\n"
	for _, tc := range []struct {
		name     string
		entries  []string // sources mounted at the mountpoint, bottom first
		table    string   // "" = table, "-" = no readable mount table
		symlink  bool
		missing  bool // the mountpoint does not exist
		umountRC int
		umountTo string // umount's stderr
		checked  bool
		umount   bool
	}{
		{name: "the device mounted", entries: []string{"/dev/drbd0"}, checked: true, umount: true},
		{name: "nothing mounted", checked: true},
		{name: "another device mounted", entries: []string{"/dev/vdc"}, checked: true},
		{name: "another device on top of it", entries: []string{"/dev/drbd0", "/dev/vdc"}, checked: true},
		{name: "the device on top of another", entries: []string{"/dev/vdc", "/dev/drbd0"}, checked: true, umount: true},
		{name: "busy", entries: []string{"/dev/drbd0"}, umountRC: 32, umountTo: "umount: /data: target is busy.", checked: true, umount: true},
		{name: "mountpoint missing", missing: true, checked: true},
		{name: "no mount table", entries: []string{"/dev/drbd0"}, table: "-"},
		{name: "mountpoint behind a symbolic link", entries: []string{"/dev/drbd0"}, symlink: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			target := filepath.Join(dir, "real")
			for _, d := range []string{bin, target, filepath.Join(target, "da ta")} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			mp := filepath.Join(target, "da ta")
			if tc.symlink {
				if err := os.Symlink(target, filepath.Join(dir, "link")); err != nil {
					t.Fatal(err)
				}
				mp = filepath.Join(dir, "link", "da ta")
			}
			if tc.missing {
				mp = filepath.Join(target, "gone")
			}
			content := table
			for _, src := range tc.entries {
				content += src + " " + mountTableEscape(filepath.Join(target, "da ta")) + " ext4 rw 0 0\n"
			}
			mounts := filepath.Join(dir, "mounts")
			if tc.table != "-" {
				if err := os.WriteFile(mounts, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			body := "#!/bin/sh\necho \"umount $*\" >> \"" + dir + "/ran.log\"\n"
			if tc.umountTo != "" {
				body += "echo '" + tc.umountTo + "' >&2\n"
			}
			body += "exit " + strconv.Itoa(tc.umountRC) + "\n"
			if err := os.WriteFile(filepath.Join(bin, "umount"), []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := umountIfMountedCommand("/dev/drbd0", mp, mounts)
			if strings.Contains(cmd, "\n") {
				t.Fatalf("the command spans lines: %q", cmd)
			}
			c := exec.Command("/bin/sh", "-c", cmd)
			c.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
			out, _ := c.CombinedOutput()
			logb, _ := os.ReadFile(filepath.Join(dir, "ran.log"))
			ran := string(logb)
			if got := strings.Contains(ran, "umount "+mp); got != tc.umount || (!tc.umount && ran != "") {
				t.Fatalf("umount ran: %q (want %v)\noutput:\n%s", ran, tc.umount, out)
			}
			a, err := ParseUmountIfMounted(string(out))
			if err != nil {
				t.Fatalf("ParseUmountIfMounted: %v\n%s", err, out)
			}
			if a.Checked != tc.checked || a.Ran != tc.umount || (a.Ran && a.Exit != tc.umountRC) ||
				a.Unmounted() != (tc.umount && tc.umountRC == 0) || (tc.umountTo != "" && !IsBusy(a.Output)) {
				t.Errorf("attempt %+v, want checked %v, ran %v, exit %d", a, tc.checked, tc.umount, tc.umountRC)
			}
		})
	}
	for _, bad := range []string{"", "@@hostfs umount-check 1\n@@hostfs umount\n", "@@hostfs umount-check 0\n@@hostfs umount\n@@hostfs-rc 0\n"} {
		if _, err := ParseUmountIfMounted(bad); err == nil {
			t.Errorf("ParseUmountIfMounted(%q) gave no error", bad)
		}
	}
}
