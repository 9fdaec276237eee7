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
