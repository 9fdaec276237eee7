package drbd

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ResyncSettings are the resync-controller values in force on a node, as
// `drbdsetup show` prints them (for example "20", "250k", "1126400k"). They
// are read before SetResyncRate raises the rate, and RestoreResyncRate puts
// them back. PlanAhead and MinRate are unused on 8.3, whose temporary rate
// command sets the rate only.
type ResyncSettings struct {
	PlanAhead string // c-plan-ahead, in tenths of a second
	Rate      string // resync-rate (8.3: rate)
	MinRate   string // c-min-rate
}

// String returns the settings as DRBD options, e.g.
// "--c-plan-ahead=20 --resync-rate=250k --c-min-rate=250k".
func (s ResyncSettings) String() string {
	return strings.Join(s.options(), " ")
}

func (s ResyncSettings) options() []string {
	return []string{"--c-plan-ahead=" + s.PlanAhead, "--resync-rate=" + s.Rate, "--c-min-rate=" + s.MinRate}
}

// DRBD's defaults for the resync controller (drbd_limits.h of 8.4 and 9:
// DRBD_C_PLAN_AHEAD_DEF 20, DRBD_RESYNC_RATE_DEF 250, DRBD_C_MIN_RATE_DEF 250,
// in KiB/s), used for a value `drbdsetup show` leaves out.
const (
	defaultPlanAhead = "20"
	defaultRate      = "250k"
	defaultMinRate   = "250k"
)

// ShowSettings returns the command that prints the resource's settings in
// force in the kernel: 8.4 and 9 `drbdsetup show RES`, 8.3
// `drbdsetup DEVICE show`. Parse its output with ParseResyncSettings.
func (c Commands) ShowSettings(res ResourceName, device string) (string, error) {
	if err := c.needFamily("show"); err != nil {
		return "", err
	}
	if c.family == Family83 {
		if err := ValidateDevice(device); err != nil {
			return "", err
		}
		return join("drbdsetup", device, "show"), nil
	}
	return join("drbdsetup", "show", res.name), nil
}

// settingRE matches "key value;" lines of drbdsetup show.
var settingRE = regexp.MustCompile(`(?m)^\s*(c-plan-ahead|resync-rate|rate|c-min-rate)\s+([0-9]+[kKmMgGsS]?)\s*;`)

// ParseResyncSettings reads the resync-controller values from `drbdsetup
// show` output. A value it does not print is DRBD's default (drbdsetup show
// leaves defaults out unless asked for them). It fails when the output is not
// a resource's settings at all.
func ParseResyncSettings(out string) (ResyncSettings, error) {
	if !strings.Contains(out, "{") {
		return ResyncSettings{}, errors.New("drbdsetup show printed no settings: " + firstLine(out))
	}
	s := ResyncSettings{PlanAhead: defaultPlanAhead, Rate: defaultRate, MinRate: defaultMinRate}
	for _, m := range settingRE.FindAllStringSubmatch(out, -1) {
		switch m[1] {
		case "c-plan-ahead":
			s.PlanAhead = m[2]
		case "resync-rate", "rate":
			s.Rate = m[2]
		case "c-min-rate":
			s.MinRate = m[2]
		}
	}
	return s, nil
}

// valueRE is a value RestoreResyncRate accepts: digits and an optional unit.
var valueRE = regexp.MustCompile(`^[0-9]{1,12}[kKmMgGsS]?$`)

// RestoreResyncRate returns the command that puts the resync-controller
// values s back: 8.4 `drbdadm disk-options --c-plan-ahead=P --resync-rate=R
// --c-min-rate=M RES`, 9 `drbdadm peer-device-options` with the same options,
// 8.3 `drbdsetup DEVICE syncer -r R`. It only sets options: unlike `drbdadm
// adjust` it never attaches, connects or brings the resource up, so it is
// safe on a node whose resource went down or StandAlone (where it fails or
// changes nothing else).
func (c Commands) RestoreResyncRate(res ResourceName, device string, s ResyncSettings) (string, error) {
	if err := c.needFamily("resync-rate restore"); err != nil {
		return "", err
	}
	for _, v := range []string{s.PlanAhead, s.Rate, s.MinRate} {
		if c.family == Family83 && v != s.Rate {
			continue
		}
		if !valueRE.MatchString(v) {
			return "", fmt.Errorf("resync setting %q is not a number with an optional unit", v)
		}
	}
	switch c.family {
	case Family83:
		if err := ValidateDevice(device); err != nil {
			return "", err
		}
		return join("drbdsetup", device, "syncer", "-r", s.Rate), nil
	case Family84:
		return c.drbdadm(res, append([]string{"disk-options"}, s.options()...)...), nil
	default:
		return c.drbdadm(res, append([]string{"peer-device-options"}, s.options()...)...), nil
	}
}
