package drbdsim

import (
	"fmt"
	"strconv"
	"strings"
)

// Online grow: every node has a backing disk size that a test can change (GrowBacking, as a
// VM provider growing the disk), `blockdev --getsize64` and /sys/block/drbdN/size read the
// sizes, and `drbdadm resize` grows the device to what the smaller backing disk holds with
// internal metadata, then resyncs the new area from the Primary.

// usableKiB is the device size a backing disk of kib KiB gives with internal metadata (4 KiB
// superblock, 32 KiB activity log, the bitmap rounded up to 4 KiB).
func usableKiB(kib int64) int64 {
	bm := ((kib+32767)/32768 + 3) &^ 3
	return max(kib-36-bm, 0) &^ 3
}

// backingFor is the smallest backing disk (in KiB) that holds a device of size KiB.
func backingFor(size int64) int64 {
	b := size + 36 + ((size+32767)/32768+3)&^3
	for usableKiB(b) < size {
		b += 4
	}
	return b
}

// GrowBacking sets the node's backing disk size to kib KiB, as a VM provider changing the
// disk's size does (a smaller value models a disk replaced by a smaller one). DRBD does not
// notice until `drbdadm resize`.
func (n *Node) GrowBacking(kib int64) { n.p.mutate(func() { n.backingKiB = kib }) }

// BackingKiB returns the node's backing disk size in KiB.
func (n *Node) BackingKiB() (kib int64) {
	n.p.view(func() { kib = n.backingKiB })
	return kib
}

// DeviceKiB returns the size of the DRBD device in KiB.
func (p *Pair) DeviceKiB() (kib int64) {
	p.view(func() { kib = p.cfg.SizeKiB })
	return kib
}

// sysBlockSize returns /sys/block/drbdN/size (512-byte sectors) when p names an existing
// DRBD device's size file. Callers hold mu.
func (n *Node) sysBlockSize(p string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(p, "/sys/block/drbd")
	if !ok {
		return nil, false
	}
	minor, err := strconv.Atoi(strings.TrimSuffix(rest, "/size"))
	if err != nil || !strings.HasSuffix(rest, "/size") || !n.devExists() || minor < n.p.cfg.Minor || minor >= n.p.minorOf(n.p.volumes()) {
		return nil, false
	}
	size := n.p.cfg.SizeKiB * 2
	if !n.up {
		size = 0
	}
	return fmt.Appendf(nil, "%d\n", size), true
}

// progBlockdev is util-linux blockdev --getsize64 (the only report the provider uses).
func progBlockdev(c *call) int {
	if len(c.args) != 3 || c.args[1] != "--getsize64" {
		c.errf("blockdev: only --getsize64 DEVICE is simulated\n")
		return 1
	}
	dev := c.args[2]
	code := 0
	c.p.view(func() {
		n := c.n
		switch {
		case dev == c.p.cfg.BackingDisk:
			c.outf("%d\n", n.backingKiB*1024)
		case dev == n.device() && n.devExists() && n.up && n.role == rolePrimary:
			c.outf("%d\n", c.p.cfg.SizeKiB*1024)
		case dev == n.device() && n.devExists():
			c.errf("blockdev: cannot open %s: Wrong medium type\n", dev)
			code = 1
		default:
			c.errf("blockdev: cannot open %s: No such file or directory\n", dev)
			code = 1
		}
	})
	return code
}

// admResize is `drbdadm resize`: DRBD refuses during a resync and without a Primary; the
// simulator also refuses unless Connected with both disks UpToDate (the state the provider
// requires). The device grows to what the smaller backing disk holds and the new area is
// resynced from the Primary. Callers hold mu.
func admResize(c *call, _ admArgs) int {
	n, p := c.n, c.p
	if !n.up {
		return c.notUp("resize")
	}
	pr, pd := n.peerView()
	switch {
	case p.sync != nil || p.verify != nil:
		c.errf("%s: Failure: (130) Resize not allowed during resync.\n", c.obj())
		return c.failed(10, c.setup("resize"))
	case !p.linkUp() || n.disk != diskUpToDate || pd != diskUpToDate:
		c.errf("%s: Failure: (131) Need a connection and both disks UpToDate to resize (simulator).\n", c.obj())
		return c.failed(10, c.setup("resize"))
	case n.role != rolePrimary && pr != rolePrimary:
		c.errf("%s: Failure: (131) Need one Primary node to resize.\n", c.obj())
		return c.failed(10, c.setup("resize"))
	}
	newKiB := min(usableKiB(p.nodes[0].backingKiB), usableKiB(p.nodes[1].backingKiB))
	old := p.cfg.SizeKiB
	if newKiB <= old {
		return 0
	}
	p.cfg.SizeKiB = newKiB
	src := n.idx
	if n.role != rolePrimary {
		src = 1 - n.idx
	}
	for _, x := range p.nodes {
		x.klogDev(fmt.Sprintf("drbd_bm_resize called with capacity == %d", newKiB*2))
		x.klogDev(fmt.Sprintf("size = %d GB (%d KB)", newKiB>>20, newKiB))
	}
	p.startSync(src, newKiB-old)
	return 0
}
