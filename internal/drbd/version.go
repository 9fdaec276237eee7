package drbd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is a DRBD release number (kernel module or drbd-utils).
type Version struct{ Major, Minor, Patch int }

// String returns the version as DRBD prints it, e.g. "8.4.11"; the zero
// Version prints as "unknown".
func (v Version) String() string {
	if v.IsZero() {
		return "unknown"
	}
	return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) + "." + strconv.Itoa(v.Patch)
}

// IsZero reports whether the version is unknown.
func (v Version) IsZero() bool { return v == Version{} }

// ParseVersion parses "8.4.11", "9.2.12-rc.1", "8.3" and the like: the leading
// dotted numbers count, a suffix after them is ignored.
func ParseVersion(s string) (Version, error) {
	s = strings.TrimSpace(s)
	var parts [3]int
	n := 0
	i := 0
	for n < 3 {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i || j-i > 6 {
			break
		}
		parts[n], _ = strconv.Atoi(s[i:j])
		n++
		i = j
		if i < len(s) && s[i] == '.' && n < 3 {
			i++
			continue
		}
		break
	}
	if n < 2 {
		return Version{}, fmt.Errorf("not a DRBD version: %q", truncate(s, 40))
	}
	return Version{parts[0], parts[1], parts[2]}, nil
}

// versionFromCode decodes drbdadm's DRBD_KERNEL_VERSION_CODE / DRBDADM_VERSION_CODE
// (0xMMmmpp, e.g. 0x08040b = 8.4.11).
func versionFromCode(s string) (Version, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return Version{}, fmt.Errorf("not a version code: %q", truncate(s, 40))
	}
	c, err := strconv.ParseUint(s[2:], 16, 32)
	if err != nil || c > 0xffffff {
		return Version{}, fmt.Errorf("not a version code: %q", truncate(s, 40))
	}
	return Version{int(c >> 16), int(c >> 8 & 0xff), int(c & 0xff)}, nil
}

// Family is a DRBD command-syntax family.
type Family int

// Families. FamilyUnknown means neither the kernel nor the utils version is
// known; 8.2 and older count as Family83.
const (
	FamilyUnknown Family = iota
	Family83
	Family84
	Family9
)

// String returns "8.3", "8.4", "9" or "unknown".
func (f Family) String() string {
	switch f {
	case Family83:
		return "8.3"
	case Family84:
		return "8.4"
	case Family9:
		return "9"
	}
	return "unknown"
}

// Versions holds the DRBD kernel module and drbd-utils versions of one host.
type Versions struct{ Kernel, Utils Version }

// Family returns the command-syntax family. It follows the kernel module
// (drbd-utils 9 drives an 8.4 kernel through its 8.4 back-end); the utils
// version is used only when the kernel version is unknown, and then utils 8.4
// to 8.9 mean Family84 (8.9 is the utils line that drove 8.4 kernels).
func (v Versions) Family() Family {
	if !v.Kernel.IsZero() {
		return familyOf(v.Kernel)
	}
	if !v.Utils.IsZero() {
		return familyOf(v.Utils)
	}
	return FamilyUnknown
}

func familyOf(v Version) Family {
	switch {
	case v.Major >= 9:
		return Family9
	case v.Major == 8 && v.Minor >= 4:
		return Family84
	default:
		return Family83
	}
}

// String returns e.g. "kernel 8.4.11, utils 9.22.0".
func (v Versions) String() string {
	return "kernel " + v.Kernel.String() + ", utils " + v.Utils.String()
}

// ErrNoVersion is returned by ParseUtilsVersion when the output names no version.
var ErrNoVersion = errors.New("no DRBD version found in drbdadm --version output")

// ParseUtilsVersion parses the output of `drbdadm --version`:
//
//	DRBDADM_BUILDTAG=GIT-hash:\ 409097fe...
//	DRBDADM_API_VERSION=1
//	DRBD_KERNEL_VERSION_CODE=0x08040b
//	DRBDADM_VERSION_CODE=0x091600
//	DRBDADM_VERSION=9.22.0
//
// A kernel code of 0x000000 (module not loaded) gives a zero kernel Version.
// It fails only when neither version can be found (e.g. 8.3 utils, which
// reject --version).
func ParseUtilsVersion(drbdadmVersionOutput string) (kernel, utils Version, err error) {
	var kernelText, utilsText Version
	for _, line := range strings.Split(drbdadmVersionOutput, "\n") {
		key, val, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		switch key {
		case "DRBD_KERNEL_VERSION_CODE":
			if v, e := versionFromCode(val); e == nil {
				kernel = v
			}
		case "DRBD_KERNEL_VERSION":
			if v, e := ParseVersion(val); e == nil {
				kernelText = v
			}
		case "DRBDADM_VERSION_CODE":
			if v, e := versionFromCode(val); e == nil && utils.IsZero() {
				utils = v
			}
		case "DRBDADM_VERSION":
			if v, e := ParseVersion(val); e == nil {
				utilsText = v
			}
		}
	}
	// The dotted text forms are authoritative when present (the codes
	// cannot carry a suffix, but can overflow on odd builds).
	if !kernelText.IsZero() {
		kernel = kernelText
	}
	if !utilsText.IsZero() {
		utils = utilsText
	}
	if kernel.IsZero() && utils.IsZero() {
		return Version{}, Version{}, ErrNoVersion
	}
	return kernel, utils, nil
}

// truncate shortens s to at most n bytes for use in messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
