package drbdsim

import (
	"fmt"
	"strconv"
	"strings"
)

// Online grow: every node has a backing disk per volume whose size a test can change
// (GrowBacking, GrowVolumeBacking, as a VM provider growing the disk), `drbdadm sh-ll-dev` and
// `sh-minor` name them and the minors in volume order, `blockdev --getsize64` and
// /sys/block/drbdN/size read the sizes, and `drbdadm resize` grows every volume's device to
// what the smaller of its two backing disks holds with internal metadata, then resyncs the new
// area from the Primary, starting that resync only after the command returned (the first
// status read still shows it pending). Volume 0's backing disk is PairConfig.BackingDisk; a
// further volume's is the next disk name (/dev/vdc for volume 1 of /dev/vdb).

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

// GrowVolumeBacking sets the size of the node's backing disk of volume vol to kib KiB (vol 0
// is GrowBacking).
func (n *Node) GrowVolumeBacking(vol int, kib int64) {
	if vol == 0 {
		n.GrowBacking(kib)
		return
	}
	n.p.mutate(func() { n.volBackingKiB[vol] = kib })
}

// backingKiBOf returns the size of the node's backing disk of volume vol. Callers hold mu.
func (n *Node) backingKiBOf(vol int) int64 {
	if vol == 0 {
		return n.backingKiB
	}
	if kib, ok := n.volBackingKiB[vol]; ok {
		return kib
	}
	return backingFor(n.p.volSizeKiB(vol))
}

// backingDiskOf returns the backing disk of volume vol: PairConfig.BackingDisk for volume 0,
// the disk names after it for further volumes (/dev/vdb, /dev/vdc, ...).
func (p *Pair) backingDiskOf(vol int) string {
	d := p.cfg.BackingDisk
	if vol == 0 || d == "" {
		return d
	}
	return d[:len(d)-1] + string(rune(d[len(d)-1])+rune(vol))
}

// backingVolume returns the volume whose backing disk is dev.
func (p *Pair) backingVolume(dev string) (int, bool) {
	for vol := range p.volumes() {
		if p.backingDiskOf(vol) == dev {
			return vol, true
		}
	}
	return 0, false
}

// volSizeKiB returns the size of the DRBD device of volume vol. Callers hold mu.
func (p *Pair) volSizeKiB(vol int) int64 {
	if kib, ok := p.volSizes[vol]; ok && vol > 0 {
		return kib
	}
	return p.cfg.SizeKiB
}

// VolumeDeviceKiB returns the size of the DRBD device of volume vol in KiB.
func (p *Pair) VolumeDeviceKiB(vol int) (kib int64) {
	p.view(func() { kib = p.volSizeKiB(vol) })
	return kib
}

// BackingKiB returns the node's backing disk size in KiB.
func (n *Node) BackingKiB() (kib int64) {
	n.p.view(func() { kib = n.backingKiB })
	return kib
}

// OutOfSyncKiB returns what the node's status shows out of sync (oos:), in KiB.
func (n *Node) OutOfSyncKiB() (kib int64) {
	n.p.view(func() { kib = n.oosKiB() })
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
	size := n.p.volSizeKiB(minor-n.p.cfg.Minor) * 2
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
		vol, isBacking := c.p.backingVolume(dev)
		switch {
		case isBacking:
			c.outf("%d\n", n.backingKiBOf(vol)*1024)
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
	case p.sync != nil || p.verify != nil || p.growPending != nil:
		c.errf("%s: Failure: (130) Resize not allowed during resync.\n", c.obj())
		return c.failed(10, c.setup("resize"))
	case !p.linkUp() || n.disk != diskUpToDate || pd != diskUpToDate:
		c.errf("%s: Failure: (131) Need a connection and both disks UpToDate to resize (simulator).\n", c.obj())
		return c.failed(10, c.setup("resize"))
	case n.role != rolePrimary && pr != rolePrimary:
		c.errf("%s: Failure: (131) Need one Primary node to resize.\n", c.obj())
		return c.failed(10, c.setup("resize"))
	}
	// Every volume grows on its own to what the smaller of its two backing disks holds.
	var added int64
	for vol := range p.volumes() {
		newKiB := min(usableKiB(p.nodes[0].backingKiBOf(vol)), usableKiB(p.nodes[1].backingKiBOf(vol)))
		old := p.volSizeKiB(vol)
		if newKiB <= old {
			continue
		}
		if vol == 0 {
			p.cfg.SizeKiB = newKiB
		} else {
			p.volSizes[vol] = newKiB
		}
		added += newKiB - old
		for _, x := range p.nodes {
			x.klogMinor(p.minorOf(vol), fmt.Sprintf("drbd_bm_resize called with capacity == %d", newKiB*2))
			x.klogMinor(p.minorOf(vol), fmt.Sprintf("size = %d GB (%d KB)", newKiB>>20, newKiB))
		}
	}
	if added == 0 {
		return 0
	}
	src := n.idx
	if n.role != rolePrimary {
		src = 1 - n.idx
	}
	// DRBD starts the new area's resync when the peer has answered with its sizes, after this
	// command returned: until then the pair shows Connected, UpToDate/UpToDate, with the new
	// area out of sync.
	p.growPending = &pendingGrow{source: src, kib: added, node: n.idx}
	return 0
}

// FSSizeKiB returns the size of the filesystem on the node's DRBD device as its superblock
// records it, 0 when there is none.
func (n *Node) FSSizeKiB() (kib int64) {
	n.p.view(func() {
		if n.devFS != nil {
			kib = n.devFS.sizeKiB
		}
	})
	return kib
}

// openDevFS returns the filesystem on the DRBD device dev for a program that opens the
// device (the Primary only), or prints why not. Callers hold mu.
func (c *call) openDevFS(prog, dev, fstype string) *filesystem {
	n := c.n
	switch {
	case dev != n.device() || !n.devExists():
		c.errf("%s: No such file or directory while trying to open %s\n", prog, dev)
	case !n.up || n.role != rolePrimary:
		c.errf("%s: Wrong medium type while trying to open %s\n", prog, dev)
	case n.devFS == nil || n.devFS.fstype != fstype:
		c.errf("%s: Bad magic number in super-block while trying to open %s\n", prog, dev)
	default:
		return n.devFS
	}
	return nil
}

// mountedFS returns the filesystem of type fstype mounted from the DRBD device at dir, nil
// when there is none. Callers hold mu.
func (c *call) mountedFS(dir, fstype string) *filesystem {
	n := c.n
	m, ok := n.mounts[c.path(dir)]
	if !ok || m.fstype != fstype || m.dev != n.device() || n.devFS == nil {
		return nil
	}
	return n.devFS
}

// progDumpe2fs is `dumpe2fs -h DEV` (the fields the provider reads).
func progDumpe2fs(c *call) int {
	if len(c.args) != 3 || c.args[1] != "-h" {
		c.errf("Usage: dumpe2fs [-bfghimxV] [-o superblock=<num>] [-o blocksize=<num>] device\n")
		return 1
	}
	c.errf("dumpe2fs 1.47.0 (5-Feb-2023)\n")
	code := 0
	c.p.view(func() {
		fsys := c.openDevFS("dumpe2fs", c.args[2], "ext4")
		if fsys == nil {
			code = 1
			return
		}
		c.outf("Filesystem volume name:   <none>\nFilesystem UUID:          %s\nFilesystem magic number:  0xEF53\n"+
			"Block count:              %d\nReserved block count:     %d\nBlock size:               4096\n",
			fsys.uuid, fsys.sizeKiB/4, fsys.sizeKiB/4/20)
	})
	return code
}

// progXFSInfo is `xfs_info MOUNTPOINT`.
func progXFSInfo(c *call) int {
	if len(c.args) != 2 {
		c.errf("Usage: xfs_info [-V] [-t mtab] [mountpoint|device|file]\n")
		return 1
	}
	code := 0
	c.p.view(func() {
		fsys := c.mountedFS(c.args[1], "xfs")
		if fsys == nil {
			c.errf("xfs_info: %s is not a mounted XFS filesystem\n", c.args[1])
			code = 1
			return
		}
		blocks := fsys.sizeKiB / 4
		c.outf("meta-data=%-22s isize=512    agcount=4, agsize=%d blks\n", c.n.device(), blocks/4)
		c.outf("data     =                       bsize=4096   blocks=%d, imaxpct=25\n", blocks)
		c.outf("naming   =version 2              bsize=4096   ascii-ci=0, ftype=1\n")
	})
	return code
}

// progResize2fs is `resize2fs DEV`: it grows a mounted ext4 online to the device's size and
// refuses an unmounted one (e2fsck first) and any online shrink.
func progResize2fs(c *call) int {
	c.errf("resize2fs 1.47.0 (5-Feb-2023)\n")
	if len(c.args) != 2 {
		c.errf("Usage: resize2fs [-d debug_flags] [-f] [-F] [-M] [-P] [-p] device [-b|-s|new_size]\n")
		return 1
	}
	dev := c.args[1]
	code := 0
	c.p.mutate(func() {
		fsys := c.openDevFS("resize2fs", dev, "ext4")
		if fsys == nil {
			code = 1
			return
		}
		mountedAt := ""
		for dir, m := range c.n.mounts {
			if m.dev == dev {
				mountedAt = dir
			}
		}
		target := c.p.cfg.SizeKiB &^ 3
		switch {
		case mountedAt == "":
			c.errf("Please run 'e2fsck -f %s' first.\n\n", dev)
			code = 1
		case target < fsys.sizeKiB:
			c.errf("resize2fs: On-line shrinking not supported\n")
			code = 1
		case target == fsys.sizeKiB:
			c.errf("The filesystem is already %d (4k) blocks long.  Nothing to do!\n\n", target/4)
		default:
			c.outf("Filesystem at %s is mounted on %s; on-line resizing required\nold_desc_blocks = 1, new_desc_blocks = 1\n"+
				"The filesystem on %s is now %d (4k) blocks long.\n\n", dev, mountedAt, dev, target/4)
			fsys.sizeKiB = target
		}
	})
	return code
}

// progXFSGrowfs is `xfs_growfs MOUNTPOINT`: it grows a mounted xfs to the device's size.
func progXFSGrowfs(c *call) int {
	if len(c.args) != 2 {
		c.errf("Usage: xfs_growfs [options] mountpoint\n")
		return 1
	}
	code := 0
	c.p.mutate(func() {
		fsys := c.mountedFS(c.args[1], "xfs")
		if fsys == nil {
			c.errf("xfs_growfs: %s is not a mounted XFS filesystem\n", c.args[1])
			code = 1
			return
		}
		if n := c.n; !n.up || n.role != rolePrimary {
			c.errf("xfs_growfs: XFS_IOC_FSGROWFSDATA xfsctl failed: Read-only file system\n")
			code = 1
			return
		}
		old, target := fsys.sizeKiB/4, c.p.cfg.SizeKiB/4
		c.outf("meta-data=%-22s isize=512    agcount=4, agsize=%d blks\n", c.n.device(), old/4)
		c.outf("data     =                       bsize=4096   blocks=%d, imaxpct=25\n", old)
		if target > old {
			c.outf("data blocks changed from %d to %d\n", old, target)
			fsys.sizeKiB = target * 4
		}
	})
	return code
}
