package drbd

import (
	"fmt"
	"strconv"
	"strings"

	"al.essio.dev/pkg/shellescape"
)

// SectionRole is the section of DeviceRoleCommand's output: the device's minor and role, as
// "MINOR ROLE" ("- -" when neither could be told).
const SectionRole = "role"

// DeviceRoleCommand returns a POSIX sh command list that reads the role of the DRBD device
// dev on the host, prints it in the SectionRole section, and exits 0 only when the device is
// Primary. It is a precondition for a command that writes to the device in the same shell
// (hostfs.MkfsIfBlankCommand), so that the role is read right before the write, not in an
// earlier round trip.
//
// The minor is dev's own number for /dev/drbdN, otherwise the target of the link
// (`readlink -f`, for /dev/drbd/by-res/... and /dev/drbd/by-disk/...). The role comes from
// that minor's line of /proc/drbd on a DRBD 8 kernel (" ro:Primary/"), read with the shell's
// own `read`, and from `drbdsetup events2 --now` on a DRBD 9 kernel (the resource holding
// the minor). Anything else (no such minor, an unknown kernel) is no role, so not Primary.
// dev must pass ValidateDRBDDevice.
func DeviceRoleCommand(dev string) (string, error) {
	return deviceRoleCommand(dev, "/proc/drbd")
}

// deviceRoleCommand is DeviceRoleCommand reading proc instead of /proc/drbd.
func deviceRoleCommand(dev, proc string) (string, error) {
	if err := ValidateDRBDDevice(dev); err != nil {
		return "", err
	}
	p := shellescape.Quote(proc)
	minor := "drbd_mn=" + strings.TrimPrefix(dev, "/dev/drbd") + "; "
	if strings.HasPrefix(dev, "/dev/drbd/") {
		minor = "drbd_mn=$(readlink -f " + shellescape.Quote(dev) + " 2>/dev/null); " +
			"case \"$drbd_mn\" in /dev/drbd[0-9]*) drbd_mn=${drbd_mn#/dev/drbd};; *) drbd_mn='';; esac; " +
			"case \"$drbd_mn\" in *[!0-9]*) drbd_mn='';; esac; "
	}
	// $drbd_nl is a newline, so that the command stays on one line.
	return minor + "drbd_role=''; drbd_v=''; drbd_l=''; drbd_nl=$(printf '\\nx'); drbd_nl=${drbd_nl%x}; " +
		"if test -n \"$drbd_mn\" && test -r " + p + "; then { read -r drbd_v; while read -r drbd_x; do " +
		"case \"$drbd_x\" in \"$drbd_mn: \"*) drbd_l=$drbd_x;; esac; done; } < " + p + "; fi; " +
		"case \"$drbd_v\" in " +
		"'version: 8.'*) case \"$drbd_l\" in *' ro:'*) drbd_role=${drbd_l#* ro:}; drbd_role=${drbd_role%%/*};; esac;; " +
		"'version: 9'*) drbd_e2=$(drbdsetup events2 --now 2>/dev/null); drbd_r=''; " +
		"drbd_rest=\"$drbd_e2$drbd_nl\"; while test -n \"$drbd_rest\"; do drbd_x=${drbd_rest%%\"$drbd_nl\"*}; drbd_rest=${drbd_rest#*\"$drbd_nl\"}; " +
		"case \"$drbd_x \" in 'exists device name:'*\" minor:$drbd_mn \"*) drbd_r=${drbd_x#exists device name:}; drbd_r=${drbd_r%%' '*};; esac; done; " +
		"drbd_rest=\"$drbd_e2$drbd_nl\"; while test -n \"$drbd_r\" && test -n \"$drbd_rest\"; do drbd_x=${drbd_rest%%\"$drbd_nl\"*}; drbd_rest=${drbd_rest#*\"$drbd_nl\"}; " +
		"case \"$drbd_x\" in \"exists resource name:$drbd_r role:\"*) drbd_role=${drbd_x#*' role:'}; drbd_role=${drbd_role%%' '*};; esac; done;; " +
		"esac; " +
		"echo '" + probeMarker + SectionRole + "'; printf '%s %s\\n' \"${drbd_mn:--}\" \"${drbd_role:--}\"; echo '" + rcMarker + "0'; " +
		"test \"$drbd_role\" = Primary", nil
}

// DeviceRole is the parsed SectionRole of DeviceRoleCommand's output.
type DeviceRole struct {
	Minor int  // -1 when the device's minor could not be told
	Role  Role // "" when no role could be read
}

// Primary reports whether the device was Primary.
func (r DeviceRole) Primary() bool { return r.Role == RolePrimary }

// String describes the role for a diagnostic.
func (r DeviceRole) String() string {
	switch {
	case r.Minor < 0:
		return "not a DRBD device the kernel knows"
	case r.Role == "":
		return fmt.Sprintf("DRBD minor %d with no role (not up)", r.Minor)
	}
	return fmt.Sprintf("DRBD minor %d, %s", r.Minor, r.Role)
}

// ParseDeviceRole returns the role DeviceRoleCommand printed in output (which may hold other
// sections too), and false when there is no such section.
func ParseDeviceRole(output string) (DeviceRole, bool) {
	sections, _ := splitProbe(output)
	sec, ok := sections[SectionRole]
	if !ok {
		return DeviceRole{Minor: -1}, false
	}
	r := DeviceRole{Minor: -1}
	f := strings.Fields(sec.Output)
	if len(f) == 2 {
		if n, err := strconv.Atoi(f[0]); err == nil {
			r.Minor = n
		}
		if f[1] != "-" {
			r.Role = Role(f[1])
		}
	}
	return r, true
}
