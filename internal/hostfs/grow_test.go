package hostfs

import (
	"strings"
	"testing"
)

func TestSizesCommand(t *testing.T) {
	ext, err := SizesCommand("ext4", "/dev/drbd0", "/data dir")
	if err != nil || !strings.Contains(ext, "blockdev --getsize64 /dev/drbd0") || !strings.Contains(ext, "dumpe2fs -h /dev/drbd0") {
		t.Errorf("ext4: %q, %v", ext, err)
	}
	xfs, err := SizesCommand("xfs", "/dev/drbd0", "/data dir")
	if err != nil || !strings.Contains(xfs, "xfs_info '/data dir'") {
		t.Errorf("xfs: %q, %v", xfs, err)
	}
	if _, err := SizesCommand("btrfs", "/dev/drbd0", "/d"); err == nil {
		t.Error("btrfs accepted")
	}
}

func TestParseSizes(t *testing.T) {
	ext := "device 2147381248\nBlock count:              262127\nBlock size:               4096\n"
	s, err := ParseSizes("ext4", ext)
	if err != nil || s.DeviceBytes != 2147381248 || s.FSBytes != 262127*4096 || !s.CanGrow() {
		t.Errorf("ext4: %+v, %v", s, err)
	}
	xfs := "device 1073672192\nmeta-data=/dev/drbd0             isize=512    agcount=4, agsize=65532 blks\n" +
		"data     =                       bsize=4096   blocks=262127, imaxpct=25\nnaming   =version 2              bsize=4096   ascii-ci=0, ftype=1\n"
	s, err = ParseSizes("xfs", xfs)
	if err != nil || s.FSBytes != 262127*4096 || s.CanGrow() {
		t.Errorf("xfs: %+v, %v", s, err)
	}
	for _, bad := range []string{"", "device \n", "device 5\nBlock count: 1\n"} {
		if _, err := ParseSizes("ext4", bad); err == nil {
			t.Errorf("ParseSizes(%q) succeeded", bad)
		}
	}
}

func TestGrowCommand(t *testing.T) {
	if c, _ := GrowCommand("ext4", "/dev/drbd0", "/data"); c != "resize2fs /dev/drbd0" {
		t.Errorf("ext4: %q", c)
	}
	if c, _ := GrowCommand("xfs", "/dev/drbd0", "/my data"); c != "xfs_growfs '/my data'" {
		t.Errorf("xfs: %q", c)
	}
}

func TestStateWithSizes(t *testing.T) {
	cmd, err := StateWithSizesCommand("ext4", "/dev/drbd0", "/var/opt/opscode/drbd/data")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"blkid", "findmnt", "dumpe2fs -h /dev/drbd0", "blockdev --getsize64 /dev/drbd0", markSizes} {
		if !strings.Contains(cmd, want) {
			t.Errorf("StateWithSizesCommand lacks %q: %s", want, cmd)
		}
	}
	if _, err := StateWithSizesCommand("btrfs", "/dev/drbd0", "/mnt"); err == nil {
		t.Error("btrfs accepted")
	}
	out := markBlkid + "\n/dev/drbd0: UUID=\"u1\" TYPE=\"ext4\"\n" + markRC + "0\n" +
		markMount + "\n/dev/drbd0 /var/opt/opscode/drbd/data ext4 rw,relatime\n" + markRC + "0\n" +
		markSizes + "\ndevice 2147352576\nBlock count:              262127\nBlock size:               4096\n" + markRC + "0\n"
	st, s, sizesErr, err := ParseStateWithSizes("ext4", out)
	if err != nil || sizesErr != nil {
		t.Fatal(err, sizesErr)
	}
	if !st.Mounted || st.Mount.Source != "/dev/drbd0" || s.DeviceBytes != 2147352576 || s.FSBytes != 262127*4096 || !s.CanGrow() {
		t.Errorf("got %+v %+v", st, s)
	}
	noSizes := strings.SplitAfter(out, markSizes)[0]
	if _, _, sizesErr, err := ParseStateWithSizes("ext4", noSizes+"\n"+markRC+"1\n"); err != nil || sizesErr == nil {
		t.Errorf("unreadable sizes: err %v, sizesErr %v", err, sizesErr)
	}
}
