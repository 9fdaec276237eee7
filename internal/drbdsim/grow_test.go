package drbdsim

import (
	"strings"
	"testing"
)

func TestResizeGrowsToSmallerBacking(t *testing.T) {
	p := primaryPair(t, PairConfig{SyncStepPercent: -1})
	p.CompleteSync()
	n0, n1 := p.Node(0), p.Node(1)
	if got := mustRun(t, n0, "blockdev --getsize64 /dev/vdb; cat /sys/block/drbd0/size"); got != "1073741824\n2097016\n" {
		t.Fatalf("sizes before = %q", got)
	}
	n0.GrowBacking(2 << 20)
	mustRun(t, n0, "drbdadm resize pc0")
	if got := p.DeviceKiB(); got != 1048508 {
		t.Fatalf("one disk grown: device %d KiB, want unchanged 1048508", got)
	}
	n1.GrowBacking(2 << 20)
	mustRun(t, n0, "drbdadm resize pc0")
	if got := p.DeviceKiB(); got != 2097052 {
		t.Fatalf("both grown: device %d KiB, want 2097052", got)
	}
	// DRBD starts the new area's resync after the command returned: the first status read
	// shows it out of sync on a Connected UpToDate/UpToDate pair, the next one resyncing.
	if running, _ := p.Syncing(); running {
		t.Fatal("the new area's resync started before a status read")
	}
	if r := run(t, n0, "drbdadm resize pc0"); r.code == 0 || !strings.Contains(r.stderr, "during resync") {
		t.Errorf("resize before the new area's resync started: exit %d, %q", r.code, r.stderr)
	}
	if got := mustRun(t, n0, "cat /proc/drbd"); !strings.Contains(got, "cs:Connected") || !strings.Contains(got, "ds:UpToDate/UpToDate") ||
		!strings.Contains(got, "oos:1048544") {
		t.Fatalf("first read after the resize:\n%s", got)
	}
	if got := mustRun(t, n0, "cat /proc/drbd"); !strings.Contains(got, "cs:SyncSource") {
		t.Fatalf("second read after the resize:\n%s", got)
	}
	if running, _ := p.Syncing(); !running || n1.DiskState() != "Inconsistent" {
		t.Fatalf("new area not resyncing: disk %s", n1.DiskState())
	}
	if r := run(t, n0, "drbdadm resize pc0"); r.code == 0 || !strings.Contains(r.stderr, "during resync") {
		t.Errorf("resize during resync: exit %d, %q", r.code, r.stderr)
	}
	p.CompleteSync()
	if got := mustRun(t, n1, "cat /sys/block/drbd0/size"); got != "4194104\n" {
		t.Errorf("peer device size = %q", got)
	}
	p.Disconnect()
	if r := run(t, n0, "drbdadm resize pc0"); r.code == 0 {
		t.Errorf("resize on a disconnected pair succeeded")
	}
}

func TestGrowFilesystemOnline(t *testing.T) {
	for _, fstype := range []string{"ext4", "xfs"} {
		t.Run(fstype, func(t *testing.T) {
			p := primaryPair(t, PairConfig{SyncStepPercent: -1})
			p.CompleteSync()
			n0 := p.Node(0)
			mustRun(t, n0, "mkfs."+fstype+" -q /dev/drbd0 && mkdir -p /data && mount /dev/drbd0 /data")
			read := "dumpe2fs -h /dev/drbd0 2>/dev/null | grep -E '^Block (count|size):'"
			grow := "resize2fs /dev/drbd0"
			if fstype == "xfs" {
				read, grow = "xfs_info /data | grep '^data '", "xfs_growfs /data"
			}
			if got := mustRun(t, n0, read); !strings.Contains(got, "262127") {
				t.Fatalf("size before: %q", got)
			}
			p.Node(0).GrowBacking(2 << 20)
			p.Node(1).GrowBacking(2 << 20)
			mustRun(t, n0, "drbdadm resize pc0")
			mustRun(t, n0, grow)
			if got := n0.FSSizeKiB(); got != 2097052 {
				t.Errorf("filesystem is %d KiB, want 2097052", got)
			}
			mustRun(t, n0, grow) // idempotent
			if got := mustRun(t, n0, read); !strings.Contains(got, "524263") {
				t.Errorf("size after: %q", got)
			}
		})
	}
}
