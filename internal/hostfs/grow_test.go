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
