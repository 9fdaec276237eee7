package drbdsim

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

const mountWrongFS = "wrong fs type, bad option, bad superblock on %s, missing codepage or helper program, or other error.\n" +
	"       dmesg(1) may have more information after failed mount system call."

// effectiveMountOptions turns -o options into what the kernel shows in /proc/mounts.
func effectiveMountOptions(opts string) string {
	mode, atime := "rw", "relatime"
	var flags, extra []string
	for o := range strings.SplitSeq(opts, ",") {
		switch o {
		case "", "defaults", "auto", "noauto", "nofail", "_netdev", "user", "nouser":
		case "ro", "rw":
			mode = o
		case "noatime", "relatime", "strictatime":
			atime = o
		case "nosuid", "nodev", "noexec", "sync", "dirsync", "nodiratime":
			if !slices.Contains(flags, o) {
				flags = append(flags, o)
			}
		default:
			extra = append(extra, o)
		}
	}
	out := append([]string{mode}, flags...)
	out = append(out, atime)
	return strings.Join(append(out, extra...), ",")
}

// mount mounts dev on dir with the rules of util-linux mount and a DRBD device.
// It returns mount's exit code and message. Callers hold mu.
func (n *Node) mount(dev, dir, fstype, opts string) (int, string) {
	e, ok := n.lookup(dir)
	switch {
	case !ok:
		return 32, fmt.Sprintf("mount: %s: mount point does not exist.", dir)
	case !e.dir:
		return 32, fmt.Sprintf("mount: %s: mount point is not a directory.", dir)
	}
	var fsys *filesystem
	switch dev {
	case n.device():
		if !n.devExists() {
			return 32, fmt.Sprintf("mount: %s: special device %s does not exist.", dir, dev)
		}
		if m, ok := n.mounts[dir]; ok && m.dev == dev {
			return 32, fmt.Sprintf("mount: %s: %s already mounted on %s.", dir, dev, dir)
		}
		if n.up && n.role != rolePrimary && n.p.cfg.Version == V9 {
			n.autoPromote() // DRBD 9: the open for writing promotes a Secondary when it can
		}
		if !n.up || n.role != rolePrimary {
			return 32, fmt.Sprintf("mount: %s: mount(2) system call failed: Wrong medium type.", dir)
		}
		fsys = n.devFS
	case n.p.cfg.BackingDisk:
		if n.up {
			return 32, fmt.Sprintf("mount: %s: %s already mounted or mount point busy.", dir, dev)
		}
		fsys = n.backingFS
	default:
		return 32, fmt.Sprintf("mount: %s: special device %s does not exist.", dir, dev)
	}
	if fsys == nil || (fstype != "" && fstype != "auto" && fstype != fsys.fstype) {
		return 32, fmt.Sprintf("mount: %s: "+mountWrongFS, dir, dev)
	}
	n.mounts[dir] = mountInfo{dev: dev, fstype: fsys.fstype, opts: effectiveMountOptions(opts)}
	return 0, ""
}

func progMount(c *call) int {
	flags, operands := splitFlags(c.args[1:], "toOLU")
	fstype := flags["t"]
	if v, ok := flags["--types"]; ok {
		fstype = v
	}
	opts := flags["o"]
	if v, ok := flags["--options"]; ok {
		opts = v
	}
	if _, ok := flags["r"]; ok {
		opts += ",ro"
	}
	code := 0
	switch len(operands) {
	case 0:
		c.p.view(func() {
			for _, dir := range slices.Sorted(maps.Keys(c.n.mounts)) {
				m := c.n.mounts[dir]
				c.outf("%s on %s type %s (%s)\n", m.dev, dir, m.fstype, m.opts)
			}
		})
		return 0
	case 1:
		c.errf("mount: %s: can't find in /etc/fstab.\n", operands[0])
		return 1
	}
	c.p.mutate(func() {
		var msg string
		code, msg = c.n.mount(operands[0], c.path(operands[1]), fstype, opts)
		if code != 0 {
			c.errf("%s\n", msg)
		}
	})
	return code
}

func progUmount(c *call) int {
	_, operands := splitFlags(c.args[1:], "tO")
	if len(operands) == 0 {
		c.errf("umount: bad usage\nTry 'umount --help' for more information.\n")
		return 1
	}
	code := 0
	c.p.mutate(func() {
		for _, op := range operands {
			p := c.path(op)
			found := ""
			for dir, m := range c.n.mounts {
				if dir == p || m.dev == op {
					found = dir
					break
				}
			}
			switch {
			case found != "":
				delete(c.n.mounts, found)
				c.n.autoDemote()
			case !c.n.fileExists(p):
				c.errf("umount: %s: no mount point specified.\n", op)
				code = 32
			default:
				c.errf("umount: %s: not mounted.\n", op)
				code = 32
			}
		}
	})
	return code
}

func progFindmnt(c *call) int {
	flags, operands := splitFlags(c.args[1:], "oMStTF")
	cols := "TARGET,SOURCE,FSTYPE,OPTIONS"
	for _, k := range []string{"o", "--output"} {
		if v, ok := flags[k]; ok {
			cols = v
		}
	}
	target := ""
	for _, k := range []string{"M", "--mountpoint", "T", "--target"} {
		if v, ok := flags[k]; ok {
			target = v
		}
	}
	source := ""
	for _, k := range []string{"S", "--source"} {
		if v, ok := flags[k]; ok {
			source = v
		}
	}
	if len(operands) > 0 {
		if strings.HasPrefix(operands[0], "/dev/") && target == "" && len(operands) == 1 {
			source = operands[0]
		} else {
			target = operands[0]
		}
	}
	_, noHead := flags["n"]
	if _, ok := flags["--noheadings"]; ok {
		noHead = true
	}
	columns := strings.Split(strings.ToUpper(cols), ",")
	var rows [][]string
	c.p.view(func() {
		for _, dir := range slices.Sorted(maps.Keys(c.n.mounts)) {
			m := c.n.mounts[dir]
			if (target != "" && c.path(target) != dir) || (source != "" && source != m.dev) {
				continue
			}
			var row []string
			for _, col := range columns {
				switch col {
				case "SOURCE":
					row = append(row, m.dev)
				case "TARGET":
					row = append(row, dir)
				case "FSTYPE":
					row = append(row, m.fstype)
				case "OPTIONS", "VFS-OPTIONS":
					row = append(row, m.opts)
				case "UUID":
					uuid := ""
					if m.dev == c.n.device() && c.n.devFS != nil {
						uuid = c.n.devFS.uuid
					}
					row = append(row, uuid)
				default:
					row = append(row, "")
				}
			}
			rows = append(rows, row)
		}
	})
	if len(rows) == 0 {
		return 1
	}
	if !noHead {
		rows = append([][]string{columns}, rows...)
	}
	for _, row := range rows {
		for i := range row {
			row[i] = strings.ReplaceAll(row[i], " ", `\x20`)
		}
		c.outf("%s\n", strings.Join(row, " "))
	}
	return 0
}

// blkidProbe returns the tags of dev, blkid's exit code and its error text. Callers hold mu.
func (n *Node) blkidProbe(dev string, lowLevel bool) (tags [][2]string, code int, errText string) {
	fsTags := func(f *filesystem) [][2]string {
		bs := "4096"
		if f.fstype == "xfs" {
			bs = "512"
		}
		t := [][2]string{{"UUID", f.uuid}, {"BLOCK_SIZE", bs}, {"TYPE", f.fstype}}
		if lowLevel {
			t = append(t, [2]string{"USAGE", "filesystem"})
		}
		return t
	}
	switch dev {
	case n.device():
		if !n.devExists() {
			return nil, 2, fmt.Sprintf("blkid: error: %s: No such file or directory", dev)
		}
		readable := n.up && n.role == rolePrimary
		if n.p.cfg.Version == V9 && n.up && n.role != rolePrimary {
			// DRBD 9 lets a Secondary be opened read-only, but not while its peer is Primary
			// (9.2.12 in the lab: blkid on node2 read the ext4 signature with both nodes
			// Secondary, and said "Wrong medium type" with node1 Primary).
			pr, _ := n.peerView()
			readable = n.hasUpToDateAccess() && pr != rolePrimary
		}
		if !readable {
			return nil, 2, fmt.Sprintf("blkid: error: %s: Wrong medium type", dev)
		}
		if n.devFS == nil {
			return nil, 2, ""
		}
		return fsTags(n.devFS), 0, ""
	case n.p.cfg.BackingDisk:
		switch {
		case n.backingFS != nil:
			return fsTags(n.backingFS), 0, ""
		case n.hasMD && n.devFS != nil && lowLevel:
			return nil, 8, fmt.Sprintf("%s: ambivalent result (probably more filesystems on the device, use wipefs(8) to see more details)", dev)
		case n.devFS != nil:
			return fsTags(n.devFS), 0, ""
		case n.hasMD:
			t := [][2]string{{"UUID", "3f1c6b0e5d2a4c87"}, {"VERSION", c84or9(n.p.cfg.Version)}, {"TYPE", "drbd"}}
			if lowLevel {
				t = append(t, [2]string{"USAGE", "raid"})
			}
			return t, 0, ""
		}
		return nil, 2, ""
	}
	return nil, 2, fmt.Sprintf("blkid: error: %s: No such file or directory", dev)
}

func c84or9(v Version) string {
	if v == V9 {
		return "v09"
	}
	return "v08"
}

func progBlkid(c *call) int {
	flags, devs := splitFlags(c.args[1:], "osc")
	_, lowLevel := flags["p"]
	format := flags["o"]
	var only []string
	for i, a := range c.args {
		if a == "-s" && i+1 < len(c.args) {
			only = append(only, c.args[i+1])
		}
	}
	if len(devs) == 0 {
		return 2
	}
	code := 0
	first := true
	c.p.view(func() {
		for _, dev := range devs {
			tags, rc, errText := c.n.blkidProbe(dev, lowLevel)
			if rc != 0 {
				if errText != "" && lowLevel {
					c.errf("%s\n", errText)
				}
				code = rc
				continue
			}
			if len(only) > 0 {
				tags = slices.DeleteFunc(tags, func(t [2]string) bool { return !slices.Contains(only, t[0]) })
			}
			switch format {
			case "export":
				if !first {
					c.outf("\n")
				}
				c.outf("DEVNAME=%s\n", dev)
				for _, t := range tags {
					c.outf("%s=%s\n", t[0], t[1])
				}
			case "value":
				for _, t := range tags {
					c.outf("%s\n", t[1])
				}
			default:
				var parts []string
				for _, t := range tags {
					parts = append(parts, fmt.Sprintf("%s=%q", t[0], t[1]))
				}
				c.outf("%s: %s\n", dev, strings.Join(parts, " "))
			}
			first = false
		}
	})
	return code
}

// mkfsSpec parses a mkfs command line: filesystem type, force, quiet, device.
func mkfsSpec(args []string) (fstype string, force, quiet, discard bool, dev string) {
	prog := path.Base(args[0])
	fstype = strings.TrimPrefix(prog, "mkfs.")
	withArg := "bCdEeGgiIJlLmMNoOrtTUz"
	if fstype == "xfs" {
		withArg = "bdilLmnprsc"
	}
	flags, operands := splitFlags(args[1:], withArg)
	if t, ok := flags["t"]; ok && (prog == "mkfs" || prog == "mke2fs") {
		fstype = t
	}
	if prog == "mkfs" && fstype == "mkfs" {
		fstype = "ext2"
	}
	if prog == "mke2fs" && fstype == "mke2fs" {
		fstype = "ext2"
	}
	_, f := flags["f"]
	_, F := flags["F"]
	_, quiet = flags["q"]
	discard = !strings.Contains(flags["E"], "nodiscard")
	if _, ok := flags["K"]; ok && fstype == "xfs" {
		discard = false
	}
	if len(operands) > 0 {
		dev = operands[0]
	}
	return fstype, f || F, quiet, discard, dev
}

func progMkfs(c *call) int {
	fstype, force, quiet, discard, dev := mkfsSpec(c.args)
	prog := path.Base(c.args[0])
	xfs := fstype == "xfs"
	if dev == "" {
		c.errf("Usage: %s [options] device [blocks-count]\n", prog)
		return 1
	}
	if !xfs {
		c.errf("mke2fs 1.47.0 (5-Feb-2023)\n")
	}
	var existing *filesystem
	code := 0
	fail := func(format string, a ...any) {
		c.errf(format+"\n", a...)
		code = 1
	}
	c.p.view(func() {
		n := c.n
		switch dev {
		case n.device():
			switch {
			case !n.devExists() && xfs:
				fail("mkfs.xfs: cannot open %s: No such file or directory", dev)
			case !n.devExists():
				fail("The file %s does not exist and no size was specified.", dev)
			case n.devMounted() && xfs:
				fail("mkfs.xfs: %s contains a mounted filesystem", dev)
			case n.devMounted():
				fail("%s is mounted; will not make a filesystem here!", dev)
			case (!n.up || n.role != rolePrimary) && xfs:
				fail("mkfs.xfs: cannot open %s: Wrong medium type", dev)
			case !n.up || n.role != rolePrimary:
				fail("%s: Wrong medium type while trying to determine filesystem size", prog)
			}
			existing = n.devFS
		case n.p.cfg.BackingDisk:
			if n.up {
				fail("%s is apparently in use by the system; will not make a filesystem here!", dev)
			}
			existing = n.backingFS
		default:
			if xfs {
				fail("mkfs.xfs: cannot open %s: No such file or directory", dev)
			} else {
				fail("The file %s does not exist and no size was specified.", dev)
			}
		}
	})
	if code != 0 {
		return code
	}
	if existing != nil && !force {
		if xfs {
			c.errf("mkfs.xfs: %s appears to contain an existing filesystem (%s).\nmkfs.xfs: Use the -f option to force overwrite.\n", dev, existing.fstype)
			return 1
		}
		c.outf("%s contains a %s file system\nProceed anyway? (y,N) ", dev, existing.fstype)
		c.flush()
		answer, err := c.readStdin()
		if err != nil {
			return 130
		}
		if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(string(answer))), "y") {
			return 1
		}
	}
	newFS := &filesystem{fstype: fstype, uuid: newUUID()}
	c.p.mutate(func() {
		n := c.n
		newFS.sizeKiB = n.p.cfg.SizeKiB &^ 3
		if dev == n.p.cfg.BackingDisk {
			newFS.sizeKiB = n.backingKiB &^ 3
			n.backingFS = newFS
			return
		}
		n.devFS = newFS
		if n.p.linkUp() {
			n.peer().devFS = newFS
		}
		n.writeData(33516)
	})
	if quiet {
		return 0
	}
	blocks := c.p.cfg.SizeKiB / 4
	if xfs {
		c.outf("meta-data=%-22s isize=512    agcount=4, agsize=%d blks\n", dev, blocks/4)
		c.outf("         =                       sectsz=512   attr=2, projid32bit=1\n" +
			"         =                       crc=1        finobt=1, sparse=1, rmapbt=0\n" +
			"         =                       reflink=1    bigtime=1 inobtcount=1 nrext64=0\n")
		c.outf("data     =                       bsize=4096   blocks=%d, imaxpct=25\n", blocks)
		c.outf("         =                       sunit=0      swidth=0 blks\n" +
			"naming   =version 2              bsize=4096   ascii-ci=0, ftype=1\n" +
			"log      =internal log           bsize=4096   blocks=16384, version=2\n" +
			"         =                       sectsz=512   sunit=0 blks, lazy-count=1\n" +
			"realtime =none                   extsz=4096   blocks=0, rtextents=0\n")
		if discard {
			c.outf("Discarding blocks...Done.\n")
		}
		return 0
	}
	groups := (blocks + 32767) / 32768
	perGroup := (blocks*4096/16384 + groups - 1) / groups
	perGroup = (perGroup + 15) &^ 15
	if discard {
		c.outf("Discarding device blocks:      0/%d             done                            \n", blocks)
	}
	c.outf("Creating filesystem with %d 4k blocks and %d inodes\nFilesystem UUID: %s\n", blocks, perGroup*groups, newFS.uuid)
	if backups := superblockBackups(groups); len(backups) > 0 {
		c.outf("Superblock backups stored on blocks: \n\t%s\n", strings.Join(backups, ", "))
	}
	c.outf("\nAllocating group tables: 0/%d   done                            \n", groups)
	c.outf("Writing inode tables: 0/%d   done                            \n", groups)
	c.outf("Creating journal (%d blocks): done\n", journalBlocks(blocks))
	c.outf("Writing superblocks and filesystem accounting information: 0/%d   done\n\n", groups)
	return 0
}

// superblockBackups lists the sparse_super backup locations (groups 1 and powers of 3, 5, 7).
func superblockBackups(groups int64) []string {
	var gs []int64
	if groups > 1 {
		gs = append(gs, 1)
	}
	for _, base := range []int64{3, 5, 7} {
		for g := base; g < groups; g *= base {
			gs = append(gs, g)
		}
	}
	slices.Sort(gs)
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = fmt.Sprint(g * 32768)
	}
	return out
}

func journalBlocks(blocks int64) int64 {
	switch {
	case blocks < 32768:
		return 1024
	case blocks < 256*1024:
		return 4096
	case blocks < 512*1024:
		return 8192
	case blocks < 4096*1024:
		return 16384
	}
	return 262144
}

// autoPromote is DRBD 9's auto-promote (the resource option auto-promote, on by default) on
// an open of the device for writing, such as a mount: a Secondary becomes Primary when it
// could be promoted with `drbdadm primary` (no Primary peer, access to UpToDate data), and
// the open fails otherwise. Seen in the lab (DRBD 9.2.12): "role( Secondary -> Primary )
// [mount:223 auto-promote]"; with the peer Primary the mount fails with "Wrong medium type"
// and the kernel says "Auto-promote failed: Multiple primaries not allowed by config".
// Callers hold mu.
func (n *Node) autoPromote() {
	res := n.p.cfg.Resource
	if pr, _ := n.peerView(); pr == rolePrimary {
		n.klog("drbd " + res + ": Auto-promote failed: Multiple primaries not allowed by config (-1)")
		return
	}
	if !n.hasUpToDateAccess() {
		n.klog("drbd " + res + ": Auto-promote failed: Need access to UpToDate data (-2)")
		return
	}
	n.role, n.autoPromoted = rolePrimary, true
	n.klog("drbd " + res + ": role( Secondary -> Primary ) [mount:223 auto-promote]")
}

// autoDemote demotes a node that a mount promoted once its device is no longer mounted (the
// last close). Callers hold mu.
func (n *Node) autoDemote() {
	if !n.autoPromoted || n.devMounted() {
		return
	}
	n.autoPromoted = false
	if n.role == rolePrimary {
		n.role = roleSecondary
		n.klog("drbd " + n.p.cfg.Resource + ": role( Primary -> Secondary ) [umount:224 auto-demote]")
	}
}
