package drbd

import (
	"fmt"
	"strconv"
	"strings"
)

// VolumeSize is one volume's backing disk and DRBD device size.
type VolumeSize struct {
	// Backing is the backing disk as `drbdadm sh-ll-dev` names it.
	Backing string
	// BackingBytes is `blockdev --getsize64` of the backing disk.
	BackingBytes int64
	// Minor is the DRBD minor of the volume.
	Minor int
	// DeviceBytes is the size DRBD uses: /sys/block/drbdN/size (512-byte sectors) in bytes,
	// readable whatever the role (a Secondary's device cannot be opened).
	DeviceBytes int64
}

// UsableKiB is the DRBD device size, in KiB, that a backing disk of backingBytes gives with
// internal metadata: the disk less the 4 KiB superblock, the 32 KiB activity log and the
// bitmap (one bit per 4 KiB block, rounded up to 4 KiB), rounded down to 4 KiB. With external
// metadata DRBD can use a little more; the estimate then only hides a growth smaller than
// the metadata would be.
func UsableKiB(backingBytes int64) int64 {
	kib := backingBytes / 1024
	bitmapKiB := (kib + 32768 - 1) / 32768
	bitmapKiB = (bitmapKiB + 3) &^ 3
	usable := kib - 36 - bitmapKiB
	if usable < 0 {
		return 0
	}
	return usable &^ 3
}

// CanGrow reports whether `drbdadm resize` would make the device larger on this node's
// backing disk alone (the peer's backing disk may still hold it back).
func (v VolumeSize) CanGrow() bool { return UsableKiB(v.BackingBytes)*1024 > v.DeviceBytes }

// Shrunk reports whether the backing disk is smaller than the DRBD device: the end of the
// device has no disk under it any more.
func (v VolumeSize) Shrunk() bool { return v.BackingBytes < v.DeviceBytes }

// ReadSizes returns the command that prints every volume's backing disk size
// ("backing DEV BYTES", one line per `drbdadm sh-ll-dev` line) and the DRBD device size of
// every minor ("device MINOR SECTORS"). A size that cannot be read prints an empty value,
// which ParseSizes reports.
func (c Commands) ReadSizes(res ResourceName, minors []int) string {
	var b strings.Builder
	b.WriteString("for d in $(" + c.drbdadm(res, "sh-ll-dev") + "); do printf 'backing %s ' \"$d\"; " +
		"blockdev --getsize64 \"$d\" || echo; done")
	for _, m := range minors {
		f := fmt.Sprintf("/sys/block/drbd%d/size", m)
		fmt.Fprintf(&b, "; printf 'device %d '; cat %s || echo", m, join(f))
	}
	return b.String()
}

// ParseSizes parses the output of ReadSizes: the n-th backing line pairs with the n-th
// device line.
func ParseSizes(out string) ([]VolumeSize, error) {
	var (
		vols    []VolumeSize
		devices int
	)
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "backing" && len(f) == 3:
			n, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("unexpected size %q of backing disk %s", f[2], f[1])
			}
			vols = append(vols, VolumeSize{Backing: f[1], BackingBytes: n, Minor: -1})
		case f[0] == "backing":
			return nil, fmt.Errorf("the size of backing disk %s could not be read (blockdev --getsize64)", strings.Join(f[1:2], ""))
		case f[0] == "device" && len(f) == 3:
			minor, err1 := strconv.Atoi(f[1])
			sectors, err2 := strconv.ParseInt(f[2], 10, 64)
			if err1 != nil || err2 != nil || devices >= len(vols) {
				return nil, fmt.Errorf("unexpected DRBD device size line %q", line)
			}
			vols[devices].Minor, vols[devices].DeviceBytes = minor, sectors*512
			devices++
		case f[0] == "device":
			return nil, fmt.Errorf("the size of DRBD device minor %s could not be read (/sys/block/drbd%s/size)", f[1], f[1])
		default:
			return nil, fmt.Errorf("unexpected line %q", line)
		}
	}
	if len(vols) == 0 {
		return nil, fmt.Errorf("drbdadm sh-ll-dev named no backing disk")
	}
	if devices != len(vols) {
		return nil, fmt.Errorf("%d backing disks but %d DRBD device sizes", len(vols), devices)
	}
	return vols, nil
}

// Resize returns `drbdadm resize RES`: DRBD grows every volume to the smaller of the two
// nodes' backing disks and resyncs the new area.
func (c Commands) Resize(res ResourceName) string { return c.drbdadm(res, "resize") }

// ResizeRefusal returns why `drbdadm resize` must not run on a node with status st, nil when
// it may: DRBD grows only a Connected pair with both disks UpToDate.
func ResizeRefusal(st Status) error {
	switch {
	case !st.Configured:
		return fmt.Errorf("the resource is down")
	case !InSync(st):
		return fmt.Errorf("the pair is %s with disks %s/%s, and DRBD grows only a Connected pair with both disks UpToDate",
			st.ConnectionState, st.DiskState, st.PeerDiskState)
	}
	return nil
}

// ResizeGuarded returns one POSIX sh command that checks and runs Resize in a single round
// trip, whatever the DRBD version: it reads the state and sizes (the sections of
// ProbeWithSizesCommand, for ParseResizeGuarded), then reads them again for its own check
// and runs `drbdadm resize`, in a SectionGuarded section, only when every connection is
// Connected (on DRBD 9 with every replication state Established), every volume
// UpToDate/UpToDate (DRBD's rule for a resize), and no backing disk is smaller than its DRBD
// device (the provider never shrinks a device). Otherwise it runs nothing.
func ResizeGuarded(res ResourceName) string {
	r := res.quoted()
	var b strings.Builder
	b.WriteString(ProbeWithSizesCommand(res) + "; set -f; drbd_ok=1; ")
	b.WriteString(inSyncCheck(res))
	// The n-th backing disk of sh-ll-dev against the n-th minor of sh-minor, in 512-byte
	// sectors as /sys/block/drbdN/size counts them.
	b.WriteString("drbd_i=0; drbd_j=0; for drbd_d in $(drbdadm sh-ll-dev " + r + " 2>/dev/null); do drbd_i=$((drbd_i+1)); " +
		"drbd_b=$(blockdev --getsize64 \"$drbd_d\" 2>/dev/null) || drbd_ok=0; drbd_j=0; " +
		"for drbd_m in $(drbdadm sh-minor " + r + " 2>/dev/null); do drbd_j=$((drbd_j+1)); test \"$drbd_j\" = \"$drbd_i\" || continue; " +
		"drbd_s=$(cat \"/sys/block/drbd$drbd_m/size\" 2>/dev/null) || drbd_ok=0; " +
		"test -n \"$drbd_b\" && test -n \"$drbd_s\" && test \"$drbd_s\" -le \"$((drbd_b / 512))\" || drbd_ok=0; done; done; " +
		"test \"$drbd_i\" -gt 0 && test \"$drbd_j\" = \"$drbd_i\" || drbd_ok=0; ")
	b.WriteString("if test \"$drbd_ok\" = 1; then echo '" + probeMarker + SectionGuarded + "'; " + (Commands{}).Resize(res) +
		" 2>&1; echo \"" + rcMarker + "$?\"; fi")
	return b.String()
}

// ResizeGuardedRun is the parsed output of ResizeGuarded.
type ResizeGuardedRun struct {
	// Probe is the state and sizes read before the check.
	Probe *Probe
	// Ran reports whether the shell ran Resize; Result is its output (standard error merged)
	// and exit status.
	Ran    bool
	Result ProbeSection
}

// ParseResizeGuarded parses the output of ResizeGuarded for resource.
func ParseResizeGuarded(resource, output string) (ResizeGuardedRun, error) {
	p, err := ParseProbe(resource, output)
	if err != nil {
		return ResizeGuardedRun{}, err
	}
	run := ResizeGuardedRun{Probe: p}
	run.Result, run.Ran = p.Sections[SectionGuarded]
	return run, nil
}
