// Package hostfs builds and parses the block-device and mount commands the provider runs on a
// DRBD node (blkid, findmnt, mkfs, mount, umount). It knows nothing of Terraform.
package hostfs

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// FSTypes are the filesystems this package formats.
var FSTypes = []string{"ext4", "xfs"}

// Signature is what `blkid -p -o export` found on a device.
type Signature struct {
	Type   string // TYPE=, e.g. ext4, xfs, LVM2_member
	UUID   string // UUID=
	Usage  string // USAGE=, e.g. filesystem, raid
	PTType string // PTTYPE= when the device holds a partition table
	Raw    string // the output, for diagnostics
}

// Empty reports whether no signature was found.
func (s Signature) Empty() bool { return s.Type == "" && s.PTType == "" }

// Describe names the signature for a diagnostic.
func (s Signature) Describe() string {
	if s.Type != "" {
		return s.Type
	}
	if s.PTType != "" {
		return s.PTType + " partition table"
	}
	return "no"
}

// BlkidCommand probes dev for any signature, bypassing the blkid cache (-p).
func BlkidCommand(dev string) string {
	return join("blkid", "-p", "-o", "export", dev)
}

// ErrUnreadable is returned when blkid could not open the device.
var ErrUnreadable = errors.New("device could not be read")

// ParseBlkid interprets blkid's output and exit status: 0 found, 2 nothing found; anything
// else (or output on stderr with 2) means the device could not be probed.
func ParseBlkid(stdout, stderr string, exitCode int) (Signature, error) {
	switch exitCode {
	case 0:
		s := Signature{Raw: strings.TrimSpace(stdout)}
		for _, line := range strings.Split(stdout, "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok {
				continue
			}
			switch k {
			case "TYPE":
				s.Type = v
			case "UUID":
				s.UUID = v
			case "USAGE":
				s.Usage = v
			case "PTTYPE":
				s.PTType = v
			}
		}
		return s, nil
	case 2:
		if strings.TrimSpace(stderr) != "" {
			return Signature{}, fmt.Errorf("%w: %s", ErrUnreadable, strings.TrimSpace(stderr))
		}
		return Signature{}, nil
	default:
		return Signature{}, fmt.Errorf("%w: blkid exited %d: %s", ErrUnreadable, exitCode, strings.TrimSpace(stderr))
	}
}

// Mount is one line of findmnt output.
type Mount struct {
	Source, Target, FSType, Options string
}

// FindmntCommand lists what is mounted exactly at mountpoint (exit 1 when nothing is).
func FindmntCommand(mountpoint string) string {
	return join("findmnt", "-n", "-r", "-o", "SOURCE,TARGET,FSTYPE,OPTIONS", "--mountpoint", mountpoint)
}

// ParseFindmnt returns the mount at the mountpoint, if any. findmnt -r escapes blanks as \x20.
func ParseFindmnt(stdout string, exitCode int) (Mount, bool, error) {
	if exitCode == 1 && strings.TrimSpace(stdout) == "" {
		return Mount{}, false, nil
	}
	if exitCode != 0 {
		return Mount{}, false, fmt.Errorf("findmnt exited %d", exitCode)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	// The last line is the top of a stack of mounts on the same mountpoint.
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 3 {
		return Mount{}, false, fmt.Errorf("unexpected findmnt output %q", stdout)
	}
	m := Mount{Source: unescape(f[0]), Target: unescape(f[1]), FSType: f[2]}
	if len(f) > 3 {
		m.Options = f[3]
	}
	return m, true, nil
}

// unescape undoes findmnt's escaping of spaces (\x20).
func unescape(s string) string { return strings.ReplaceAll(s, `\x20`, " ") }

// mkfsOptionPattern is what one mkfs option word may contain.
var mkfsOptionPattern = regexp.MustCompile(`^[A-Za-z0-9_.,=:/+-]+$`)

// SplitMkfsOptions splits space-separated mkfs options and rejects shell syntax, including
// line breaks and tabs, and any option that forces mkfs (checkMkfsOption).
func SplitMkfsOptions(s string) ([]string, error) {
	if strings.ContainsAny(s, "\t\n\r\v\f") {
		return nil, fmt.Errorf("mkfs options %q must be separated by spaces only (no tabs or line breaks)", s)
	}
	words := strings.Fields(s)
	for _, w := range words {
		if err := checkMkfsOption(w); err != nil {
			return nil, err
		}
	}
	return words, nil
}

// checkMkfsOption accepts one mkfs option word without shell syntax that does not force mkfs:
// no -f (mkfs.xfs), -F (mke2fs), --force, nor a group of short flags holding f or F (-qF).
// A forced mkfs overwrites an existing filesystem that it would otherwise refuse to, and
// that refusal is the second guard behind the blank-device check. A short option's value
// holding f or F must therefore be a word of its own (-L chef, not -Lchef).
func checkMkfsOption(w string) error {
	if !mkfsOptionPattern.MatchString(w) {
		return fmt.Errorf("mkfs option %q may contain only letters, digits and _ . , = : / + -", w)
	}
	long, isLong := strings.CutPrefix(w, "--")
	short, isShort := strings.CutPrefix(w, "-")
	if (isLong && (long == "force" || strings.HasPrefix(long, "force="))) || (!isLong && isShort && strings.ContainsAny(short, "fF")) {
		return fmt.Errorf("mkfs option %q would force mkfs to overwrite an existing filesystem (-f, -F and --force are "+
			"refused, also within a group of short flags such as -qF; write a value holding f or F as a word of its own, "+
			"such as -L chef)", w)
	}
	return nil
}

// mountOptionsPattern is a comma-separated list of mount options.
var mountOptionsPattern = regexp.MustCompile(`^[A-Za-z0-9_.=:+-]+(,[A-Za-z0-9_.=:+-]+)*$`)

// ValidateMountOptions checks a mount -o argument.
func ValidateMountOptions(s string) error {
	if !mountOptionsPattern.MatchString(s) {
		return fmt.Errorf("mount options %q must be a comma-separated list of words (letters, digits, _ . = : + -)", s)
	}
	return nil
}

// ValidateFSType checks that fsType is one this package formats.
func ValidateFSType(fsType string) error {
	for _, t := range FSTypes {
		if t == fsType {
			return nil
		}
	}
	return fmt.Errorf("unsupported filesystem type %q (supported: %s)", fsType, strings.Join(FSTypes, ", "))
}

// MkfsCommand formats dev quietly. It never adds a force flag and refuses options that force
// (checkMkfsOption): mkfs.xfs then refuses to overwrite an existing filesystem by itself, a
// second guard behind the blkid check.
func MkfsCommand(fsType, dev string, options []string) (string, error) {
	if err := ValidateFSType(fsType); err != nil {
		return "", err
	}
	for _, o := range options {
		if err := checkMkfsOption(o); err != nil {
			return "", err
		}
	}
	args := append([]string{"mkfs." + fsType, "-q"}, options...)
	return join(append(args, dev)...), nil
}

// MountCommand creates the mountpoint and mounts dev on it.
func MountCommand(fsType, dev, mountpoint, options string) (string, error) {
	if err := ValidateFSType(fsType); err != nil {
		return "", err
	}
	args := []string{"mount", "-t", fsType}
	if options != "" {
		if err := ValidateMountOptions(options); err != nil {
			return "", err
		}
		args = append(args, "-o", options)
	}
	args = append(args, dev, mountpoint)
	return join("mkdir", "-p", mountpoint) + " && " + join(args...), nil
}

// UmountCommand unmounts the filesystem at mountpoint.
func UmountCommand(mountpoint string) string {
	return join("umount", mountpoint)
}

// UmountIfMountedCommand unmounts mountpoint in the same shell that checks, right before,
// that dev is what is mounted there (the last entry for the mountpoint in the kernel's mount
// table, read with the shell's own `read`: the top of a stack of mounts, which umount would
// take off). With anything else there, or nothing (also when the mountpoint does not
// exist), it runs nothing. When it cannot check (no readable mount table, or a mountpoint
// reached through a symbolic link, which the table would not name), it runs nothing and
// says so. ParseUmountIfMounted reads what it saw and did.
func UmountIfMountedCommand(dev, mountpoint string) string {
	return umountIfMountedCommand(dev, mountpoint, "/proc/self/mounts")
}

// umountIfMountedCommand is UmountIfMountedCommand reading the mount table from mounts.
func umountIfMountedCommand(dev, mountpoint, mounts string) string {
	mp := quote(mountpoint)
	return "hostfs_here=2; if test -r " + quote(mounts) + "; then " +
		// A mountpoint that does not exist has nothing mounted on it either.
		"if cd -P " + mp + " 2>/dev/null && test \"$PWD\" != " + mp + "; then :; else hostfs_here=0; " +
		"while read -r hostfs_s hostfs_t hostfs_r; do if test \"$hostfs_t\" = " + quote(mountTableEscape(mountpoint)) + "; then " +
		"if test \"$hostfs_s\" = " + quote(mountTableEscape(dev)) + "; then hostfs_here=1; else hostfs_here=0; fi; fi; done < " + quote(mounts) + "; fi; fi; cd /; " +
		"echo \"" + markUmountCheck + "$hostfs_here\"; " +
		"if test \"$hostfs_here\" = 1; then echo " + quote(markUmount) + "; { " + UmountCommand(mountpoint) + "; } 2>&1; echo \"" + markRC + "$?\"; fi"
}

// UmountAttempt is what UmountIfMountedCommand saw and did.
type UmountAttempt struct {
	// Checked is set when the mount table was read for a canonical mountpoint; without it
	// nothing ran and the caller must read the state another way.
	Checked bool
	// Ran is set when the device was mounted on top at the mountpoint and umount ran; Exit
	// and Output are its exit status and merged output.
	Ran    bool
	Exit   int
	Output string
}

// Unmounted reports whether the umount ran and succeeded.
func (a UmountAttempt) Unmounted() bool { return a.Ran && a.Exit == 0 }

// ParseUmountIfMounted parses the output of UmountIfMountedCommand. An umount that ran
// although the check did not allow it, or whose exit status is missing, is an error.
func ParseUmountIfMounted(out string) (UmountAttempt, error) {
	check := -1
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, markUmountCheck); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 || n > 2 {
				return UmountAttempt{}, fmt.Errorf("not the output of a checked umount: %.200q", out)
			}
			check = n
			break
		}
	}
	if check < 0 {
		return UmountAttempt{}, fmt.Errorf("not the output of a checked umount: %.200q", out)
	}
	a := UmountAttempt{Checked: check != 2}
	u := splitSections(out)[markUmount]
	switch {
	case u == nil && check == 1:
		return a, fmt.Errorf("the device was mounted but no umount ran: %.200q", out)
	case u == nil:
		return a, nil
	case check != 1:
		return a, fmt.Errorf("umount ran although the device was not seen on top at the mountpoint: %.200q", out)
	case !u.done:
		return a, fmt.Errorf("the umount's exit status is missing: %.200q", out)
	}
	a.Ran, a.Exit, a.Output = true, u.rc, strings.TrimSpace(strings.Join(u.lines, "\n"))
	return a, nil
}

// State is the filesystem state of one device and one mountpoint (not to be confused with
// drbd.Probe, the DRBD status of a resource).
type State struct {
	Signature Signature
	SigErr    error // set when the device could not be read (e.g. DRBD Secondary: Wrong medium type)
	Mount     Mount
	Mounted   bool
}

const (
	markBlkid = "@@hostfs blkid"
	markMount = "@@hostfs findmnt"
	markRC    = "@@hostfs-rc "
	// markSizes starts the sizes section of StateWithSizesCommand.
	markSizes = "@@hostfs sizes"
	// markMounted starts the section of the mount MountIfFormattedCommand ran.
	markMounted = "@@hostfs mount"
	// markMkfs starts the section of the mkfs MkfsIfBlankCommand ran.
	markMkfs = "@@hostfs mkfs"
	// markPrecondition is the exit status of MkfsIfBlankCommand's precondition.
	markPrecondition = "@@hostfs precondition"
	// markUmountCheck is what UmountIfMountedCommand saw at the mountpoint: 1 the device on
	// top, 0 anything else, 2 not checked.
	markUmountCheck = "@@hostfs umount-check "
	// markUmount starts the section of the umount UmountIfMountedCommand ran.
	markUmount = "@@hostfs umount"
)

// MkfsIfBlankCommand formats dev with MkfsCommand in the same shell that checks, right
// before, that precondition holds (a POSIX sh command list; its exit status 0 means "may
// format", for example that the DRBD device is Primary; it prints what it saw itself) and
// that dev carries no signature at all (`blkid -p` exits 2 and prints nothing: an error
// message, such as a Secondary's "Wrong medium type", is not blank). In any other state it
// runs nothing more. ParseMkfsIfBlank reads what it saw and did. A signature written between
// an earlier read and this command is therefore seen, and mkfs is never the judge of
// whether a device is blank.
func MkfsIfBlankCommand(fsType, dev string, options []string, precondition string) (string, error) {
	mkfs, err := MkfsCommand(fsType, dev, options)
	if err != nil {
		return "", err
	}
	return "if { " + precondition + "; }; then hostfs_pre=0; else hostfs_pre=1; fi; " +
		"echo " + quote(markPrecondition) + "; echo \"" + markRC + "$hostfs_pre\"; " +
		"hostfs_b=$(" + BlkidCommand(dev) + " 2>&1); hostfs_b_rc=$?; echo " + quote(markBlkid) + "; " +
		"printf '%s\\n' \"$hostfs_b\"; echo \"" + markRC + "$hostfs_b_rc\"; " +
		"if test \"$hostfs_pre\" = 0 && test \"$hostfs_b_rc\" = 2 && test -z \"$hostfs_b\"; then echo " + quote(markMkfs) + "; " +
		mkfs + " </dev/null 2>&1; echo \"" + markRC + "$?\"; fi", nil
}

// MkfsAttempt is what MkfsIfBlankCommand saw and did.
type MkfsAttempt struct {
	// PreconditionHeld is set when the precondition exited 0.
	PreconditionHeld bool
	// Signature and SigErr are what blkid saw, as in State.
	Signature Signature
	SigErr    error
	// Ran is set when mkfs ran; Exit and Output are its exit status and merged output.
	Ran    bool
	Exit   int
	Output string
}

// Formatted reports whether mkfs ran and succeeded.
func (a MkfsAttempt) Formatted() bool { return a.Ran && a.Exit == 0 }

// Blank reports whether the device was seen without any signature and readable.
func (a MkfsAttempt) Blank() bool { return a.SigErr == nil && a.Signature.Empty() }

// ParseMkfsIfBlank parses the output of MkfsIfBlankCommand. An mkfs that ran although the
// state read before it does not allow it (precondition failed, or blkid saw anything) is
// reported as an error: the shell check and this package disagree.
func ParseMkfsIfBlank(out string) (MkfsAttempt, error) {
	secs := splitSections(out)
	pre, b, mk := secs[markPrecondition], secs[markBlkid], secs[markMkfs]
	if pre == nil || b == nil || !pre.done || !b.done {
		return MkfsAttempt{}, fmt.Errorf("not the output of a checked mkfs: %.200q", out)
	}
	a := MkfsAttempt{PreconditionHeld: pre.rc == 0}
	a.Signature, a.SigErr = parseBlkidSection(b)
	if mk != nil {
		a.Ran, a.Exit, a.Output = true, mk.rc, strings.TrimSpace(strings.Join(mk.lines, "\n"))
		if !mk.done {
			a.Exit = -1
		}
		if !a.PreconditionHeld || !a.Blank() {
			return a, fmt.Errorf("mkfs ran on a device that was not blank or not allowed (%s signature, precondition exit %d)", a.Signature.Describe(), pre.rc)
		}
	}
	return a, nil
}

// StateCommand reads the signature of dev and the mount at mountpoint in one round trip. Each
// command's stderr is merged into its section: blkid prints nothing at all when it finds no
// signature, so any text with exit status 2 is an error message.
func StateCommand(dev, mountpoint string) string {
	section := func(mark, cmd string) string {
		return "echo " + quote(mark) + "; " + cmd + " 2>&1; echo \"" + markRC + "$?\""
	}
	return section(markBlkid, BlkidCommand(dev)) + "; " + section(markMount, FindmntCommand(mountpoint))
}

// StateWithSizesCommand is StateCommand that also prints the device and filesystem sizes
// (SizesCommand) in the same round trip: what a refresh of a mounted filesystem needs for its
// grow check. ParseStateWithSizes reads it.
func StateWithSizesCommand(fsType, dev, mountpoint string) (string, error) {
	sizes, err := SizesCommand(fsType, dev, mountpoint)
	if err != nil {
		return "", err
	}
	return StateCommand(dev, mountpoint) + "; echo " + quote(markSizes) + "; { " + sizes + "; } 2>/dev/null; echo \"" + markRC + "$?\"", nil
}

// ParseStateWithSizes parses the output of StateWithSizesCommand: the state as ParseState
// reads it, and the sizes as ParseSizes reads them (sizesErr says why they could not be read,
// for example with nothing mounted).
func ParseStateWithSizes(fsType, out string) (st State, sizes Sizes, sizesErr, err error) {
	st, _, err = parseSections(out)
	if err != nil {
		return st, sizes, nil, err
	}
	sec, ok := splitSections(out)[markSizes]
	if !ok {
		return st, sizes, fmt.Errorf("no sizes in the output"), nil
	}
	sizes, sizesErr = ParseSizes(fsType, strings.Join(sec.lines, "\n"))
	return st, sizes, sizesErr, nil
}

// MountIfFormattedCommand reads the signature of dev and, in the same shell, mounts it at
// mountpoint when and only when dev carries exactly one signature, a filesystem of type
// fsType (blkid exit 0, TYPE=fsType, no partition table), and nothing is mounted at
// mountpoint (the kernel's mount table, read with the shell's own `read`; mountpoint must be
// its own canonical path, no symbolic link on the way). It then runs only
// MountCommand's programs, with `mkdir -p` only when the directory is missing: in the usual
// case no more programs start than for the mount alone, plus blkid. In every other state it
// mounts nothing and reads the mount at mountpoint with findmnt, as StateCommand does, so
// that the caller decides from ParseMountIfFormatted's State as it would from StateCommand's.
// Mounting an existing filesystem of the configured type on a free mountpoint is what the
// caller would do next in that state; it writes nothing the filesystem does not. After a
// mount that succeeded it reads the device and filesystem sizes (SizesCommand) in the same
// round trip, as MountAttempt.Sizes: what the caller records next.
//
// A non-empty precondition (a POSIX sh command list that prints what it saw itself, for
// example drbd.DeviceRoleCommand) runs first, and the mount runs only when it exits 0
// (MountAttempt.PreconditionFailed otherwise): a DRBD 9 Secondary with auto-promote would
// promote itself on the mount's open, so the role is checked right before it.
func MountIfFormattedCommand(fsType, dev, mountpoint, options, precondition string) (string, error) {
	return mountIfFormattedCommand(fsType, dev, mountpoint, options, precondition, "/proc/self/mounts")
}

// mountIfFormattedCommand is MountIfFormattedCommand reading the mount table from mounts.
func mountIfFormattedCommand(fsType, dev, mountpoint, options, precondition, mounts string) (string, error) {
	mount, err := MountCommand(fsType, dev, mountpoint, options)
	if err != nil {
		return "", err
	}
	sizes, err := SizesCommand(fsType, dev, mountpoint)
	if err != nil {
		return "", err
	}
	pre := "hostfs_pre=0; "
	if precondition != "" {
		pre = "if { " + precondition + "; }; then hostfs_pre=0; else hostfs_pre=1; fi; " +
			"echo " + quote(markPrecondition) + "; echo \"" + markRC + "$hostfs_pre\"; "
	}
	mp := quote(mountpoint)
	mount = "test -d " + mp + " || " + mount // MountCommand's mkdir -p only when needed
	section := func(mark, v, cmd string) string {
		return v + "=$(" + cmd + " 2>&1); " + v + "_rc=$?; echo " + quote(mark) + "; printf '%s\\n' \"$" + v + "\"; echo \"" + markRC + "$" + v + "_rc\""
	}
	// blkid's lines are matched whole; $hostfs_nl is a newline, so that the command stays on
	// one line (as every command does in the provider's logs).
	nl := "${hostfs_nl}"
	return pre + section(markBlkid, "hostfs_b", BlkidCommand(dev)) + "; " +
		"hostfs_nl=$(printf '\\nx'); hostfs_nl=${hostfs_nl%x}; hostfs_ran=0; " +
		// Free: nothing mounted there, and the path is canonical (or missing: then nothing can
		// be mounted on it either).
		"hostfs_free=0; if test -r " + quote(mounts) + "; then hostfs_free=1; " +
		"while read -r hostfs_s hostfs_t hostfs_r; do if test \"$hostfs_t\" = " + quote(mountTableEscape(mountpoint)) + "; then hostfs_free=0; fi; done < " + quote(mounts) + "; " +
		"if cd -P " + mp + " 2>/dev/null && test \"$PWD\" != " + mp + "; then hostfs_free=0; fi; cd /; fi; " +
		"if test \"$hostfs_pre\" = 0 && test \"$hostfs_b_rc\" = 0 && test \"$hostfs_free\" = 1; then " +
		"case \"" + nl + "$hostfs_b" + nl + "\" in " +
		"*\"" + nl + "PTTYPE=\"*) ;; " +
		"*\"" + nl + "TYPE=\"" + quote(fsType) + "\"" + nl + "\"*) hostfs_ran=1; echo " + quote(markMounted) + "; { " + mount + "; } 2>&1; hostfs_mrc=$?; echo \"" + markRC + "$hostfs_mrc\"; " +
		"if test \"$hostfs_mrc\" = 0; then echo " + quote(markSizes) + "; { " + sizes + "; } 2>/dev/null; echo \"" + markRC + "$?\"; fi;; " +
		"esac; fi; " +
		"if test \"$hostfs_ran\" = 0; then " + section(markMount, "hostfs_m", FindmntCommand(mountpoint)) + "; fi", nil
}

// mountTableEscape spells path as the kernel's mount table does: blank, tab, newline and
// backslash as octal escapes.
func mountTableEscape(path string) string {
	return strings.NewReplacer(`\`, `\134`, " ", `\040`, "\t", `\011`, "\n", `\012`).Replace(path)
}

// MountAttempt is what MountIfFormattedCommand did after reading the state.
type MountAttempt struct {
	// Ran is set when the state allowed the mount and MountCommand ran.
	Ran bool
	// PreconditionFailed is set when a precondition was given and did not hold, so nothing
	// was mounted whatever the device held.
	PreconditionFailed bool
	// Exit and Output are its exit status and merged output.
	Exit   int
	Output string
	// Sizes are the device and filesystem sizes read right after a mount that succeeded;
	// SizesErr says why they are missing (no mount, or ParseSizes's error).
	Sizes    Sizes
	SizesErr error
}

// Mounted reports whether the mount ran and succeeded.
func (a MountAttempt) Mounted() bool { return a.Ran && a.Exit == 0 }

// ParseState parses the output of StateCommand.
func ParseState(out string) (State, error) {
	st, _, err := parseSections(out)
	return st, err
}

// ParseMountIfFormatted parses the output of MountIfFormattedCommand: the state read before
// any mount, and the mount, if it ran, with the sizes read after it (fsType is the type the
// command mounted).
func ParseMountIfFormatted(fsType, out string) (State, MountAttempt, error) {
	st, a, err := parseSections(out)
	if err != nil {
		return st, a, err
	}
	switch sec, ok := splitSections(out)[markSizes]; {
	case !a.Mounted():
		a.SizesErr = fmt.Errorf("no sizes: nothing was mounted")
	case !ok:
		a.SizesErr = fmt.Errorf("no sizes in the output")
	default:
		a.Sizes, a.SizesErr = ParseSizes(fsType, strings.Join(sec.lines, "\n"))
	}
	return st, a, nil
}

// section is one section of a sectioned output: its lines and its exit status.
type section struct {
	lines []string
	rc    int
	done  bool // the exit status line was seen
}

// splitSections splits the sectioned output of this package's commands by their marks. A
// section whose exit status line cannot be read stays not done.
func splitSections(out string) map[string]*section {
	secs := map[string]*section{}
	var cur *section
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line == markBlkid || line == markMount || line == markMounted || line == markMkfs || line == markPrecondition || line == markSizes || line == markUmount:
			cur = &section{}
			secs[line] = cur
		case cur == nil || cur.done:
		case strings.HasPrefix(line, markRC):
			if _, err := fmt.Sscanf(strings.TrimPrefix(line, markRC), "%d", &cur.rc); err == nil {
				cur.done = true
			}
		default:
			cur.lines = append(cur.lines, line)
		}
	}
	return secs
}

// parseBlkidSection interprets a blkid section, whose stderr is merged into it.
func parseBlkidSection(b *section) (Signature, error) {
	text := strings.Join(b.lines, "\n")
	if b.rc == 0 {
		return ParseBlkid(text, "", 0)
	}
	return ParseBlkid("", text, b.rc)
}

// parseSections parses the sectioned output of StateCommand and MountIfFormattedCommand.
func parseSections(out string) (State, MountAttempt, error) {
	type sec = section
	secs := splitSections(out)
	b, m, mt := secs[markBlkid], secs[markMount], secs[markMounted]
	if mt != nil && m == nil {
		m = &sec{rc: 1, done: true} // MountIfFormattedCommand mounted: nothing was mounted there before
	}
	if b == nil || m == nil || !b.done || !m.done {
		return State{}, MountAttempt{}, fmt.Errorf("not a filesystem probe output: %.200q", out)
	}
	var a MountAttempt
	if pre := secs[markPrecondition]; pre != nil {
		a.PreconditionFailed = !pre.done || pre.rc != 0
	}
	if mt != nil {
		a.Ran, a.Exit, a.Output = true, mt.rc, strings.TrimSpace(strings.Join(mt.lines, "\n"))
		if !mt.done {
			a.Exit = -1
		}
	}
	var p State
	p.Signature, p.SigErr = parseBlkidSection(b)
	var err error
	p.Mount, p.Mounted, err = ParseFindmnt(strings.Join(m.lines, "\n"), m.rc)
	if err != nil {
		return p, a, fmt.Errorf("%w: %s", err, strings.TrimSpace(strings.Join(m.lines, "\n")))
	}
	return p, a, nil
}
