package provider

import (
	"regexp"
	"testing"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

// TestAccFilesystem_noAutoPromote: on DRBD 9 a mount of a Secondary's device promotes it
// (auto-promote, on by default), so drbd_filesystem on a node that drbd_primary did not
// promote would make it Primary behind every guard of drbd_primary (fencing, split brain, the
// peer's role). The provider mounts only a device it reads Primary in the same command: with
// both nodes Secondary, and with the peer Primary, the apply fails, nothing is mounted and the
// node stays Secondary.
func TestAccFilesystem_noAutoPromote(t *testing.T) {
	testAccPreCheck(t)
	for _, tc := range []struct {
		name        string
		peerPrimary bool
		want        *regexp.Regexp
	}{
		// The device can be read (DRBD 9 opens a Secondary read-only): the role check refuses.
		{"both Secondary", false, diagRE("Refusing to Mount", "/dev/drbd0", "not Primary", "Secondary", "auto-promote", "Nothing was mounted")},
		// With the peer Primary DRBD 9 refuses even the read-only open (real 9.2.12).
		{"peer Primary", true, diagRE("/dev/drbd0", "could not be probed", "Wrong medium type", "drbd_primary")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, drbdsim.PairConfig{Version: drbdsim.V9, SyncStepPercent: -1})
			e.promote()
			e.pair.CompleteSync()
			e.sh(0, "mkfs.ext4 -q /dev/drbd0")
			if !tc.peerPrimary {
				e.sh(0, "drbdadm secondary pc0")
			}
			e.applyFails(t, e.filesystemConfig(1), tc.want)
			if r := e.node(1).Role(); r != "Secondary" {
				t.Errorf("node2 is %s after the refused mount, want Secondary", r)
			}
			if _, _, ok := e.node(1).MountedAt(defaultMountpoint); ok {
				t.Error("node2 has the device mounted")
			}
		})
	}
}
