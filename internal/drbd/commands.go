package drbd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"al.essio.dev/pkg/shellescape"
)

// maxResourceNameLen is the longest unquoted name drbdadm's config scanner
// accepts (STRING [a-zA-Z0-9/._-]{1,128}).
const maxResourceNameLen = 128

// ValidateResourceName accepts the resource names drbdadm's configuration
// scanner accepts unquoted, [A-Za-z0-9_.-]{1,128}, except '/' (drbdadm reads
// "res/vol"), a leading '-' (it would be read as an option), "." and "..",
// and "all" (drbdadm's keyword for every resource).
func ValidateResourceName(name string) error {
	switch {
	case name == "":
		return errors.New("DRBD resource name is empty")
	case len(name) > maxResourceNameLen:
		return fmt.Errorf("DRBD resource name is longer than %d characters", maxResourceNameLen)
	case name[0] == '-':
		return fmt.Errorf("DRBD resource name %q must not start with '-'", name)
	case name == "." || name == "..":
		return fmt.Errorf("DRBD resource name %q is not allowed", name)
	case name == "all":
		return errors.New(`DRBD resource name "all" is drbdadm's keyword for every resource`)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isNameByte(c) {
			return fmt.Errorf("DRBD resource name %q contains %q: only letters, digits, '_', '.' and '-' are allowed",
				name, string(rune(c)))
		}
	}
	return nil
}

// ResourceName is a DRBD resource name that ValidateResourceName accepted. The command
// builders take one, so that they cannot be handed a name that drbdadm or the shell would
// read as something else, and need not report it. The zero value is no name.
type ResourceName struct{ name string }

// ParseResourceName returns name as a ResourceName, or ValidateResourceName's error.
func ParseResourceName(name string) (ResourceName, error) {
	if err := ValidateResourceName(name); err != nil {
		return ResourceName{}, err
	}
	return ResourceName{name: name}, nil
}

// String returns the name.
func (n ResourceName) String() string { return n.name }

// ConfigFile is where the resource's configuration is kept: /etc/drbd.d/<name>.res, the
// file the drbd-utils packages' global configuration includes.
func (n ResourceName) ConfigFile() string { return "/etc/drbd.d/" + n.name + ".res" }

// quoted returns the name quoted for the shell.
func (n ResourceName) quoted() string { return shellescape.Quote(n.name) }

// Resync-rate limits of DRBD 8.3-9 (drbd_limits.h DRBD_RESYNC_RATE_MIN/MAX), in KiB/s.
const (
	minRateKiB = 1
	maxRateKiB = 4 << 20
)

// ValidateRate accepts a resync rate in DRBD's number+unit syntax: decimal
// digits and an optional unit K/k (KiB, the default), M/m (MiB) or G/g (GiB),
// e.g. "40960", "500K", "1100M", "4G"; the value must lie within DRBD's
// resync-rate limits, 1 KiB/s to 4 GiB/s.
func ValidateRate(rate string) error {
	_, err := RateKiB(rate)
	return err
}

// RateKiB returns the value of a resync rate (see ValidateRate) in KiB/s.
func RateKiB(rate string) (int64, error) {
	if rate == "" {
		return 0, errors.New("resync rate is empty")
	}
	digits, shift := rate, 0
	switch rate[len(rate)-1] {
	case 'K', 'k':
		digits = rate[:len(rate)-1]
	case 'M', 'm':
		digits, shift = rate[:len(rate)-1], 10
	case 'G', 'g':
		digits, shift = rate[:len(rate)-1], 20
	}
	if digits == "" || len(digits) > 10 {
		return 0, fmt.Errorf("resync rate %q is not a number with an optional K, M or G unit", rate)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, fmt.Errorf("resync rate %q is not a number with an optional K, M or G unit", rate)
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("resync rate %q: %w", rate, err)
	}
	kib := n << shift
	if n > maxRateKiB || kib < minRateKiB || kib > maxRateKiB {
		return 0, fmt.Errorf("resync rate %q is outside DRBD's range of 1K to 4G per second", rate)
	}
	return kib, nil
}

// maxMinor is the largest DRBD minor number (2^20 - 1).
const maxMinor = 1<<20 - 1

// ValidateDRBDDevice accepts only the names of a DRBD device: /dev/drbdN (N a minor without
// leading zeros), and the links DRBD's udev rules make to it, /dev/drbd/by-res/RES and
// /dev/drbd/by-res/RES/VOL (RES a valid resource name, VOL a volume number) and
// /dev/drbd/by-disk/PATH (PATH the backing disk below /dev, clean components of
// [A-Za-z0-9_.-]). Anything else, a disk or a partition included, is refused, so that a
// typo cannot point mkfs or mount at another block device.
func ValidateDRBDDevice(dev string) error {
	bad := fmt.Errorf("%q is not a DRBD device: use /dev/drbdN, /dev/drbd/by-res/RESOURCE[/VOLUME] or /dev/drbd/by-disk/DISK", dev)
	if m, ok := strings.CutPrefix(dev, "/dev/drbd"); ok && m != "" && m[0] != '/' {
		if n, err := strconv.Atoi(m); err != nil || n < 0 || n > maxMinor || strconv.Itoa(n) != m {
			return bad
		}
		return nil
	}
	if rest, ok := strings.CutPrefix(dev, "/dev/drbd/by-res/"); ok {
		res, vol, hasVol := strings.Cut(rest, "/")
		if ValidateResourceName(res) != nil {
			return bad
		}
		if hasVol {
			if n, err := strconv.Atoi(vol); err != nil || n < 0 || strconv.Itoa(n) != vol {
				return bad
			}
		}
		return nil
	}
	if rest, ok := strings.CutPrefix(dev, "/dev/drbd/by-disk/"); ok {
		for _, part := range strings.Split(rest, "/") {
			if part == "" || part == "." || part == ".." {
				return bad
			}
			for i := 0; i < len(part); i++ {
				if !isNameByte(part[i]) {
					return bad
				}
			}
		}
		return nil
	}
	return bad
}

// ValidateDevice accepts a DRBD device path such as /dev/drbd0 or
// /dev/drbd/by-res/pc0/0: absolute, under /dev/, no "..", and only
// [A-Za-z0-9_./-] characters.
func ValidateDevice(dev string) error {
	if !strings.HasPrefix(dev, "/dev/") || len(dev) > 255 || strings.Contains(dev, "..") || strings.HasSuffix(dev, "/") {
		return fmt.Errorf("DRBD device %q is not a path under /dev/", dev)
	}
	for i := 0; i < len(dev); i++ {
		c := dev[i]
		if !isNameByte(c) && c != '/' {
			return fmt.Errorf("DRBD device %q contains %q", dev, string(rune(c)))
		}
	}
	return nil
}

// Commands builds DRBD command lines for one host's versions. Every argument
// is validated and shell-quoted; invalid input gives an error, never a
// command.
type Commands struct {
	v      Versions
	family Family
}

// NewCommands returns the command builder for the given versions.
func NewCommands(v Versions) Commands {
	return Commands{v: v, family: v.Family()}
}

// Family returns the command-syntax family in use.
func (c Commands) Family() Family { return c.family }

// Versions returns the versions the builder was made for.
func (c Commands) Versions() Versions { return c.v }

// join quotes every word and joins them with blanks.
func join(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = shellescape.Quote(w)
	}
	return strings.Join(q, " ")
}

func (c Commands) drbdadm(res ResourceName, args ...string) string {
	return join(append(append([]string{"drbdadm"}, args...), res.name)...)
}

func (c Commands) needFamily(what string) error {
	if c.family == FamilyUnknown {
		return fmt.Errorf("cannot build the %s command: the DRBD version of the host is unknown (neither /proc/drbd nor drbdadm --version named one)", what)
	}
	return nil
}

// ForcePrimary returns the initial-sync promotion: 8.3
// `drbdadm -- --overwrite-data-of-peer primary RES`, 8.4 and 9
// `drbdadm primary --force RES`. Check ForcePrimaryAllowedAll first, and prefer
// ForcePrimaryGuarded, which checks again in the shell that forces.
func (c Commands) ForcePrimary(res ResourceName) (string, error) {
	if err := c.needFamily("forced primary"); err != nil {
		return "", err
	}
	if c.family == Family83 {
		return c.drbdadm(res, "--", "--overwrite-data-of-peer", "primary"), nil
	}
	return c.drbdadm(res, "primary", "--force"), nil
}

// Primary returns `drbdadm primary RES`.
func (c Commands) Primary(res ResourceName) string { return c.drbdadm(res, "primary") }

// Secondary returns `drbdadm secondary RES`.
func (c Commands) Secondary(res ResourceName) string { return c.drbdadm(res, "secondary") }

// Up returns `drbdadm up RES`.
func (c Commands) Up(res ResourceName) string { return c.drbdadm(res, "up") }

// Down returns `drbdadm down RES`.
func (c Commands) Down(res ResourceName) string { return c.drbdadm(res, "down") }

// Adjust returns `drbdadm adjust RES`: it applies the configuration to the
// kernel, which also brings a down resource up and reconnects a StandAlone
// one, so only drbd_resource runs it (never as cleanup).
func (c Commands) Adjust(res ResourceName) string { return c.drbdadm(res, "adjust") }

// ShDev returns `drbdadm sh-dev RES` (prints the DRBD device, one line per volume); it reads
// the configuration only, one program instead of a whole probe. Parse it with ParseShDev.
func (c Commands) ShDev(res ResourceName) string { return c.drbdadm(res, "sh-dev") }

// ParseShDev returns the first device `drbdadm sh-dev` printed, "" when it printed none.
func ParseShDev(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); ValidateDevice(l) == nil {
			return l
		}
	}
	return ""
}

// ShLLDev returns `drbdadm sh-ll-dev RES` (prints the backing disk, one line
// per volume); it reads the configuration only and works before create-md.
func (c Commands) ShLLDev(res ResourceName) string { return c.drbdadm(res, "sh-ll-dev") }

// CreateMD returns the non-interactive metadata creation: drbd-utils 9.x
// `drbdadm create-md --force RES`, older (or unknown) utils
// `drbdadm -- --force create-md RES`. Run it only when `drbdadm dstate` says
// there is no valid metadata (Probe.Metadata == MetadataAbsent): --force
// skips every confirmation.
func (c Commands) CreateMD(res ResourceName) string {
	if c.v.Utils.Major >= 9 {
		return c.drbdadm(res, "create-md", "--force")
	}
	return c.drbdadm(res, "--", "--force", "create-md")
}

// SetResyncRate returns the command that makes a fixed resync rate take
// effect now: 8.4 `drbdadm disk-options --c-plan-ahead=0 --resync-rate=R
// --c-min-rate=0 RES`, 9 `drbdadm peer-device-options` with the same options,
// 8.3 `drbdsetup DEVICE syncer -r R` (device is used by 8.3 only). Undo it with
// Adjust.
func (c Commands) SetResyncRate(res ResourceName, device, rate string) (string, error) {
	if err := c.needFamily("resync-rate"); err != nil {
		return "", err
	}
	if err := ValidateRate(rate); err != nil {
		return "", err
	}
	switch c.family {
	case Family83:
		if err := ValidateDevice(device); err != nil {
			return "", err
		}
		return join("drbdsetup", device, "syncer", "-r", rate), nil
	case Family84:
		return c.drbdadm(res, "disk-options", "--c-plan-ahead=0", "--resync-rate="+rate, "--c-min-rate=0"), nil
	default:
		return c.drbdadm(res, "peer-device-options", "--c-plan-ahead=0", "--resync-rate="+rate, "--c-min-rate=0"), nil
	}
}

// Status returns the status command: 8.x "cat /proc/drbd", 9
// "drbdsetup status RES --json". Parse its output with ParseProcDRBD or
// ParseStatusJSON.
func (c Commands) Status(res ResourceName) (string, error) {
	if err := c.needFamily("status"); err != nil {
		return "", err
	}
	if c.family == Family9 {
		return join("drbdsetup", "status", res.name, "--json"), nil
	}
	return join("cat", "/proc/drbd"), nil
}

// isNameByte reports whether c is an ASCII letter, a digit, '_', '.' or '-': the bytes
// allowed in a DRBD resource name and, together with '/', in a device path.
func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}
