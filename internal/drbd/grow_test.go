package drbd

import (
	"strings"
	"testing"
)

func TestReadSizesCommandQuotes(t *testing.T) {
	cmd := NewCommands(Versions{Kernel: Version{8, 4, 11}}).ReadSizes(testName(t, "pc0"), []int{0, 1})
	for _, want := range []string{"drbdadm sh-ll-dev pc0", `blockdev --getsize64 "$d"`, "/sys/block/drbd0/size", "/sys/block/drbd1/size"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("ReadSizes = %q, want it to contain %q", cmd, want)
		}
	}
}

func TestParseSizes(t *testing.T) {
	out := "backing /dev/vdb 2147483648\nbacking /dev/vdc 1073741824\ndevice 0 2097016\ndevice 1 2097016\n"
	s, err := ParseSizes(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 || s[0].Backing != "/dev/vdb" || s[0].BackingBytes != 2147483648 || s[0].DeviceBytes != 2097016*512 ||
		s[1].BackingBytes != 1073741824 {
		t.Fatalf("ParseSizes = %+v", s)
	}
	if !s[0].CanGrow() || s[1].CanGrow() || s[1].Shrunk() {
		t.Errorf("CanGrow/Shrunk wrong: %+v", s)
	}
	for _, bad := range []string{"", "backing /dev/vdb\ndevice 0 1\n", "backing /dev/vdb 5\n", "backing /dev/vdb x\ndevice 0 1\n"} {
		if _, err := ParseSizes(bad); err == nil {
			t.Errorf("ParseSizes(%q) succeeded", bad)
		}
	}
}

func TestUsableKiB(t *testing.T) {
	// A 1 GiB backing disk with internal metadata leaves 1048508 KiB (lab: 8.4.11).
	if got := UsableKiB(1 << 30); got != 1048508 {
		t.Errorf("UsableKiB(1 GiB) = %d, want 1048508", got)
	}
	if got := UsableKiB(1 << 31); got != 2097052 {
		t.Errorf("UsableKiB(2 GiB) = %d, want 2097052", got)
	}
}

func TestResizeRefusal(t *testing.T) {
	ok := Status{Configured: true, ConnectionState: ConnConnected, DiskState: DiskUpToDate, PeerDiskState: DiskUpToDate}
	if err := ResizeRefusal(ok); err != nil {
		t.Errorf("ResizeRefusal(healthy) = %v", err)
	}
	deg := ok
	deg.ConnectionState, deg.PeerDiskState = ConnWFConnection, DiskDUnknown
	if err := ResizeRefusal(deg); err == nil || !strings.Contains(err.Error(), "WFConnection") {
		t.Errorf("ResizeRefusal(degraded) = %v", err)
	}
}

func testName(t *testing.T, s string) ResourceName {
	t.Helper()
	n, err := ParseResourceName(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestProbeWithSizes: the sizes section of ProbeWithSizesCommand is read into Probe.Sizes on a
// resource that is up, and is dropped by a poll.
func TestProbeWithSizes(t *testing.T) {
	cmd := ProbeWithSizesCommand(testName(t, "pc0"))
	for _, want := range []string{"drbdadm sh-ll-dev pc0", "drbdadm sh-minor pc0", `blockdev --getsize64 "$d"`, `"/sys/block/drbd$m/size"`, "@@drbd-probe sizes"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("ProbeWithSizesCommand lacks %q: %s", want, cmd)
		}
	}
	up := "@@drbd-probe proc\nversion: 8.4.11 (api:1/proto:86-101)\nsrcversion: X \n 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n" +
		"    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n@@drbd-rc 0\n" +
		"@@drbd-probe shdev\n/dev/drbd0\n@@drbd-rc 0\n@@drbd-probe dstate\nUpToDate/UpToDate\n@@drbd-rc 0\n"
	p, err := ParseProbe("pc0", up+"@@drbd-probe sizes\nbacking /dev/vdb 2147483648\ndevice 0 2097016\n@@drbd-rc 0\n")
	if err != nil {
		t.Fatal(err)
	}
	if p.SizesError != nil || len(p.Sizes) != 1 || p.Sizes[0].BackingBytes != 2147483648 || p.Sizes[0].DeviceBytes != 2097016*512 {
		t.Fatalf("Sizes = %+v, %v", p.Sizes, p.SizesError)
	}
	poll, err := p.ParsePoll("pc0", "@@drbd-probe proc\n"+strings.SplitN(up, "\n", 2)[1])
	if err != nil {
		t.Fatal(err)
	}
	if poll.Sizes != nil || poll.SizesError != nil {
		t.Errorf("a poll kept the sizes: %+v %v", poll.Sizes, poll.SizesError)
	}
	p, err = ParseProbe("pc0", up+"@@drbd-probe sizes\nbacking /dev/vdb \n@@drbd-rc 0\n")
	if err != nil {
		t.Fatal(err)
	}
	if p.SizesError == nil || p.Sizes != nil {
		t.Errorf("an unreadable size gave %+v, %v", p.Sizes, p.SizesError)
	}
	p, err = ParseProbe("pc0", up)
	if err != nil || p.Sizes != nil || p.SizesError != nil {
		t.Errorf("without the section: %+v, %v, %v", p.Sizes, p.SizesError, err)
	}
}
