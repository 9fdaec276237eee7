package hostfs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// GrowSlackBytes is how much larger than the filesystem the device must be for a grow: ext4
// and xfs leave a tail too small for a block group or allocation group unused, so a smaller
// difference is not worth a grow (and would show in every plan).
const GrowSlackBytes = 16 << 20

// Sizes is a mounted filesystem's size against its device's.
type Sizes struct {
	DeviceBytes int64 // blockdev --getsize64 of the device
	FSBytes     int64 // blocks times block size, from the superblock (dumpe2fs -h, xfs_info)
}

// CanGrow reports whether the device is larger than the filesystem by more than
// GrowSlackBytes.
func (s Sizes) CanGrow() bool { return s.DeviceBytes-s.FSBytes > GrowSlackBytes }

// SizesCommand prints the device size ("device BYTES") and the filesystem's size as its
// superblock records it: `dumpe2fs -h DEV` for ext4, `xfs_info MOUNTPOINT` for xfs (which
// reads a mounted filesystem).
func SizesCommand(fsType, dev, mountpoint string) (string, error) {
	dev0 := "printf 'device '; " + join("blockdev", "--getsize64", dev) + " || echo; "
	switch fsType {
	case "ext4":
		return dev0 + join("dumpe2fs", "-h", dev) + " 2>/dev/null | grep -E '^Block (count|size):'", nil
	case "xfs":
		return dev0 + join("xfs_info", mountpoint) + " | grep '^data '", nil
	}
	return "", ValidateFSType(fsType)
}

var (
	extField = regexp.MustCompile(`(?m)^Block (count|size):\s+(\d+)\s*$`)
	xfsData  = regexp.MustCompile(`(?m)^data\s+=.*\bbsize=(\d+)\s+blocks=(\d+)`)
)

// ParseSizes parses the output of SizesCommand.
func ParseSizes(fsType, out string) (Sizes, error) {
	var s Sizes
	for line := range strings.SplitSeq(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "device "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			if err != nil || n <= 0 {
				return s, fmt.Errorf("the device size could not be read (blockdev --getsize64)")
			}
			s.DeviceBytes = n
		}
	}
	if s.DeviceBytes == 0 {
		return s, fmt.Errorf("the device size could not be read (blockdev --getsize64)")
	}
	var blocks, size int64
	switch fsType {
	case "ext4":
		for _, m := range extField.FindAllStringSubmatch(out, -1) {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			if m[1] == "count" {
				blocks = n
			} else {
				size = n
			}
		}
	case "xfs":
		if m := xfsData.FindStringSubmatch(out); m != nil {
			size, _ = strconv.ParseInt(m[1], 10, 64)
			blocks, _ = strconv.ParseInt(m[2], 10, 64)
		}
	default:
		return s, ValidateFSType(fsType)
	}
	if blocks <= 0 || size <= 0 {
		return s, fmt.Errorf("the %s filesystem size could not be read from its superblock", fsType)
	}
	s.FSBytes = blocks * size
	return s, nil
}

// GrowCommand grows a mounted filesystem online to its device's size: `resize2fs DEV` for
// ext4 (without a size it grows to the device, and a mounted ext4 is never shrunk),
// `xfs_growfs MOUNTPOINT` for xfs (which cannot shrink).
func GrowCommand(fsType, dev, mountpoint string) (string, error) {
	switch fsType {
	case "ext4":
		return join("resize2fs", dev), nil
	case "xfs":
		return join("xfs_growfs", mountpoint), nil
	}
	return "", ValidateFSType(fsType)
}

// Markers of GrowGuardedCommand's own sections, after StateWithSizesCommand's.
const (
	markGrow       = "@@hostfs grow"
	markSizesAfter = "@@hostfs sizes-after"
)

// GrowGuardedCommand checks and grows a mounted filesystem in one round trip: it reads the
// state and sizes (StateWithSizesCommand), then, only when findmnt shows dev mounted at
// mountpoint with type fsType, runs GrowCommand and reads the sizes again (SizesCommand).
// Otherwise it runs nothing more. ParseGrowGuarded reads it.
func GrowGuardedCommand(fsType, dev, mountpoint string) (string, error) {
	state, err := StateWithSizesCommand(fsType, dev, mountpoint)
	if err != nil {
		return "", err
	}
	grow, _ := GrowCommand(fsType, dev, mountpoint)
	sizes, _ := SizesCommand(fsType, dev, mountpoint)
	// findmnt -r escapes blanks as \x20; its first three fields are SOURCE TARGET FSTYPE.
	esc := func(s string) string { return strings.ReplaceAll(s, " ", `\x20`) }
	want := esc(dev) + " " + esc(mountpoint) + " " + fsType + " "
	return state + "; hostfs_m=$(" + FindmntCommand(mountpoint) + " 2>/dev/null); " +
		"case \"$hostfs_m\" in " + quote(want) + "*) " +
		"echo " + quote(markGrow) + "; " + grow + " 2>&1; echo \"" + markRC + "$?\"; " +
		"echo " + quote(markSizesAfter) + "; { " + sizes + "; } 2>/dev/null; echo \"" + markRC + "$?\";; esac", nil
}

// GrowGuarded is the parsed output of GrowGuardedCommand.
type GrowGuarded struct {
	// State, Sizes and SizesErr are what was read before the check, as ParseStateWithSizes
	// reads them.
	State    State
	Sizes    Sizes
	SizesErr error
	// Ran reports whether the grow ran; Exit and Output are its exit status and output
	// (standard error merged).
	Ran    bool
	Exit   int
	Output string
	// After and AfterErr are the sizes read after the grow.
	After    Sizes
	AfterErr error
}

// ParseGrowGuarded parses the output of GrowGuardedCommand.
func ParseGrowGuarded(fsType, out string) (GrowGuarded, error) {
	var g GrowGuarded
	before, rest, ran := strings.Cut(out, markGrow+"\n")
	st, sizes, sizesErr, err := ParseStateWithSizes(fsType, before)
	if err != nil {
		return g, err
	}
	g.State, g.Sizes, g.SizesErr, g.Ran = st, sizes, sizesErr, ran
	if !ran {
		return g, nil
	}
	growOut, after, ok := strings.Cut(rest, markSizesAfter+"\n")
	if !ok {
		return g, fmt.Errorf("the output of the grow ends early (no %q)", markSizesAfter)
	}
	g.Exit = -1
	if i := strings.LastIndex(growOut, markRC); i >= 0 {
		if n, err := strconv.Atoi(strings.TrimSpace(growOut[i+len(markRC):])); err == nil {
			g.Exit = n
		}
		growOut = growOut[:i]
	}
	g.Output = strings.TrimSpace(growOut)
	if i := strings.LastIndex(after, markRC); i >= 0 {
		after = after[:i]
	}
	g.After, g.AfterErr = ParseSizes(fsType, after)
	return g, nil
}
