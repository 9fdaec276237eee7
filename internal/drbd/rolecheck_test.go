package drbd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeviceRoleCommand_readsTheDevicesRole runs DeviceRoleCommand under the real /bin/sh
// against the captured 8.4.11 /proc/drbd of a Primary and of a Secondary, a DRBD 9 kernel
// with a drbdsetup stand-in printing events2 (the 8.4.11 capture's format, plus a second
// resource), and a readlink stand-in for the udev links: it exits 0 only for a Primary.
func TestDeviceRoleCommand_readsTheDevicesRole(t *testing.T) {
	primary := readTestdata(t, "drbd-8.4.11/states/05-connected-primary-uptodate.txt")
	secondary := readTestdata(t, "drbd-8.4.11/states/08-connected-secondary-secondary-uptodate.txt")
	splitBrain := readTestdata(t, "drbd-8.4.11/day2/78-node2-proc-drbd-split-brain.txt")
	const v9 = proc9
	events2 := readTestdata(t, "drbd-8.4.11/day2/40-node1-events2-now.txt")
	events2 = strings.Replace(events2, "exists -", "exists resource name:other role:Secondary suspended:no\n"+
		"exists device name:other volume:0 minor:10 disk:UpToDate\nexists -", 1)
	for _, tc := range []struct {
		name, dev, proc, link string
		want                  DeviceRole
	}{
		{name: "8.4 Primary", dev: "/dev/drbd0", proc: primary, want: DeviceRole{0, RolePrimary}},
		{name: "8.4 Secondary", dev: "/dev/drbd0", proc: secondary, want: DeviceRole{0, RoleSecondary}},
		{name: "8.4 StandAlone Secondary", dev: "/dev/drbd0", proc: splitBrain, want: DeviceRole{0, RoleSecondary}},
		{name: "8.4 minor not up", dev: "/dev/drbd1", proc: primary, want: DeviceRole{1, ""}},
		{name: "8.4 by-res link", dev: "/dev/drbd/by-res/pc0/0", link: "/dev/drbd0", proc: primary, want: DeviceRole{0, RolePrimary}},
		{name: "link to another disk", dev: "/dev/drbd/by-disk/vdb", link: "/dev/vdb", proc: primary, want: DeviceRole{-1, ""}},
		{name: "no DRBD module", dev: "/dev/drbd0", want: DeviceRole{0, ""}},
		{name: "9 Primary", dev: "/dev/drbd0", proc: v9, want: DeviceRole{0, RolePrimary}},
		{name: "9 other resource Secondary", dev: "/dev/drbd10", proc: v9, want: DeviceRole{10, RoleSecondary}},
		{name: "9 minor not up", dev: "/dev/drbd1", proc: v9, want: DeviceRole{1, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			proc := filepath.Join(dir, "proc-drbd")
			if tc.proc != "" {
				writeFile(t, proc, tc.proc)
			}
			writeFile(t, filepath.Join(dir, "events2.txt"), events2)
			writeExec(t, filepath.Join(dir, "drbdsetup"), "test \"$*\" = 'events2 --now' && cat '"+dir+"/events2.txt'")
			writeExec(t, filepath.Join(dir, "readlink"), "echo '"+tc.link+"'")
			cmd, err := deviceRoleCommand(tc.dev, proc)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(cmd, "\n") {
				t.Fatalf("the command spans lines: %q", cmd)
			}
			c := exec.Command("/bin/sh", "-c", cmd)
			c.Env = []string{"PATH=" + dir + ":/usr/bin:/bin"}
			out, err := c.CombinedOutput()
			if (err == nil) != (tc.want.Role == RolePrimary) {
				t.Errorf("exit %v, want success only for a Primary\n%s", err, out)
			}
			got, ok := ParseDeviceRole(string(out))
			if !ok || got != tc.want {
				t.Errorf("ParseDeviceRole = %+v, %v; want %+v\n%s", got, ok, tc.want, out)
			}
		})
	}
	if _, err := DeviceRoleCommand("/dev/sda"); err == nil {
		t.Error("a role command for /dev/sda")
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeExec(t *testing.T, name, body string) {
	t.Helper()
	if err := os.WriteFile(name, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}
