package drbd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ProcDRBD is the parsed content of /proc/drbd.
type ProcDRBD struct {
	Version Version
	// VersionSuffix is whatever follows the "(api:../proto:..)" group on the
	// version line, e.g. "(compat 8.4)" on DRBD 9.2.15+ in 8.4 compat mode.
	VersionSuffix      string
	API                int
	ProtoMin, ProtoMax int
	// Build is the second line: "GIT-hash: ... build by ...", "srcversion: ..."
	// (trailing pad space removed) or "built-in".
	Build string
	// Transports is DRBD 9's "Transports (api:N): tcp (9.x.y)" line, if any.
	Transports string
	Minors     []ProcMinor
	// Warnings lists lines and fields that were not understood; they never
	// make the parse fail.
	Warnings []string
}

// ProcMinor is one device entry of /proc/drbd.
type ProcMinor struct {
	Minor int
	// Unconfigured is true for a " 1: cs:Unconfigured" entry; the other state
	// fields are then empty.
	Unconfigured  bool
	ConnState     ConnState
	Role          Role
	PeerRole      Role
	DiskState     DiskState
	PeerDiskState DiskState
	// Protocol is "A", "B" or "C", or "" when DRBD printed a blank (no net
	// config, e.g. StandAlone after a disconnect).
	Protocol string
	// IOFlags is the 4, 5 or 6 character I/O state (e.g. "r-----") as printed.
	IOFlags  string
	Counters ProcCounters
	Sync     ProcSync
}

// ProcCounters is the "ns: nr: dw: dr: al: bm: lo: pe: ua: ap: ep: wo: oos:"
// line. Volumes are KiB; lo..ep are request counts.
type ProcCounters struct {
	Present                bool // the line was seen
	NS, NR, DW, DR, AL, BM int64
	LO, PE, UA, AP, EP     int64
	WO                     string // write ordering: b, f, d or n
	OOS                    int64  // out of sync, KiB
	HasOOS                 bool   // oos: was printed (not by very old 8.x)
}

// ProcSync is the resync/verify progress DRBD prints under a minor in
// SyncSource, SyncTarget, VerifyS and VerifyT.
type ProcSync struct {
	Present bool    // the progress lines were printed
	Verify  bool    // the label was "verified:" (online verify), not "sync'ed:"
	Percent float64 // as printed, 0..100
	// LeftKiB and TotalKiB come from "(left/total)M" or "(left/total)K".
	LeftKiB, TotalKiB int64
	// Finish is the "finish: h:mm:ss" estimate; HasFinish tells it was printed.
	Finish    time.Duration
	HasFinish bool
	// SpeedKiBps is the current (rolling) speed, AvgSpeedKiBps the average
	// since the start (the value in parentheses), WantKiBps the target rate
	// ("want:", SyncTarget and VerifyS only, 0 when absent).
	SpeedKiBps, AvgSpeedKiBps, WantKiBps int64
	Stalled                              bool
}

// ErrEmptyProc is returned by ParseProcDRBD for empty input.
var ErrEmptyProc = errors.New("/proc/drbd output is empty")

// maxWarnings bounds the warnings one parse collects.
const maxWarnings = 32

type procParser struct {
	p          *ProcDRBD
	cur        *ProcMinor
	lineNo     int
	afterBuild bool // the previous line was the build line (or its continuation)
	dropped    int
}

func (pp *procParser) warnf(format string, args ...any) {
	if len(pp.p.Warnings) >= maxWarnings {
		pp.dropped++
		return
	}
	pp.p.Warnings = append(pp.p.Warnings, fmt.Sprintf("/proc/drbd line %d: ", pp.lineNo)+fmt.Sprintf(format, args...))
}

// ParseProcDRBD parses /proc/drbd of DRBD 8.x (and the version header DRBD 9
// prints). Only empty input is an error; every line or field that is not
// understood is skipped and described in Warnings, so a garbled or future
// format still yields what is parseable.
func ParseProcDRBD(text string) (*ProcDRBD, error) {
	if strings.TrimSpace(text) == "" {
		return nil, ErrEmptyProc
	}
	p := &ProcDRBD{}
	if n := strings.Count(text, "cs:"); n > 0 {
		p.Minors = make([]ProcMinor, 0, min(n, 1<<12))
	}
	pp := procParser{p: p}
	sawVersion := false
	rest := text
	for len(rest) > 0 {
		var line string
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			line, rest = rest, ""
		}
		pp.lineNo++
		t := strings.Trim(line, " \t\r")
		if t == "" {
			continue // gaps between minors are printed as blank lines
		}
		afterBuild := pp.afterBuild
		pp.afterBuild = false
		switch {
		case strings.HasPrefix(t, "version:"):
			if sawVersion {
				pp.warnf("second version line ignored: %q", truncate(t, 80))
				continue
			}
			sawVersion = true
			pp.versionLine(t)
		case strings.HasPrefix(t, "GIT-hash:") || strings.HasPrefix(t, "srcversion:") || t == "built-in":
			if p.Build != "" {
				pp.warnf("second build line ignored: %q", truncate(t, 80))
				continue
			}
			p.Build = t
			pp.afterBuild = buildIncomplete(t)
		case strings.HasPrefix(t, "Transports"):
			p.Transports = t
		case pp.minorLine(t):
		case pp.countersLine(t):
		case t[0] == '[' || hasSyncLabel(t):
			pp.progressLine(t)
		case strings.HasPrefix(t, "finish:"):
			pp.finishLine(t)
		case t == "stalled":
			// DRBD 8.3.0-8.3.8 printed a bare "stalled" as the second line.
			if pp.cur == nil {
				pp.warnf("sync line without a minor: %q", t)
				continue
			}
			pp.cur.Sync.Stalled = true
		case isProcDetailsLine(t):
			// proc_details>=1 extras (sector pos, lru-cache stats): known, not needed.
		case afterBuild && len(p.Minors) == 0:
			// A build line wrapped by a document renderer.
			p.Build += " " + t
			pp.afterBuild = buildIncomplete(p.Build)
			pp.warnf("build line continued on the next line (wrapped?): %q", truncate(t, 80))
		default:
			pp.warnf("unrecognised line ignored: %q", truncate(t, 80))
		}
	}
	if !sawVersion {
		pp.warnf("no \"version:\" line found")
	}
	if pp.dropped > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%d more warnings not shown", pp.dropped))
	}
	return p, nil
}

// buildIncomplete reports whether a "GIT-hash: ... build by user@host, date time"
// line lacks its closing time, i.e. was wrapped onto the next line.
func buildIncomplete(b string) bool {
	if !strings.HasPrefix(b, "GIT-hash:") {
		return false
	}
	if len(b) < 8 {
		return true
	}
	tail := b[len(b)-8:]
	for i := 0; i < 8; i++ {
		c := tail[i]
		if i == 2 || i == 5 {
			if c != ':' {
				return true
			}
		} else if c < '0' || c > '9' {
			return true
		}
	}
	return false
}

func hasSyncLabel(t string) bool {
	return strings.Contains(t, "sync'ed:") || strings.Contains(t, "sync\u2019ed:") || strings.Contains(t, "verified:")
}

func isProcDetailsLine(t string) bool {
	return strings.Contains(t, "sector pos:") ||
		((strings.HasPrefix(t, "resync:") || strings.HasPrefix(t, "act_log:")) && strings.Contains(t, "used:")) ||
		strings.HasPrefix(t, "blocked on activity log:")
}

// nextField splits off the next blank-separated field of s.
func nextField(s string) (field, rest string) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	j := i
	for j < len(s) && s[j] != ' ' && s[j] != '\t' {
		j++
	}
	return s[i:j], s[j:]
}

// versionLine parses "version: 8.4.11 (api:1/proto:86-101)".
func (pp *procParser) versionLine(t string) {
	p := pp.p
	f, rest := nextField(t[len("version:"):])
	v, err := ParseVersion(f)
	if err != nil {
		pp.warnf("unparseable version %q", truncate(f, 40))
	} else {
		p.Version = v
	}
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, "(") {
		pp.warnf("version line has no (api:/proto:) group: %q", truncate(t, 80))
		return
	}
	group := rest[1:]
	if i := strings.IndexByte(group, ')'); i >= 0 {
		p.VersionSuffix = strings.TrimSpace(group[i+1:])
		group = group[:i]
	} else {
		pp.warnf("version line group is not closed: %q", truncate(t, 80))
	}
	apiPart, protoPart, _ := strings.Cut(group, "/")
	if a, ok := strings.CutPrefix(apiPart, "api:"); ok {
		if n, err := strconv.Atoi(a); err == nil {
			p.API = n
		} else {
			pp.warnf("unparseable api %q", truncate(a, 40))
		}
	} else {
		pp.warnf("no api: in version line: %q", truncate(t, 80))
	}
	if pr, ok := strings.CutPrefix(protoPart, "proto:"); ok {
		i := 0
		for i < len(pr) && i < 6 && pr[i] >= '0' && pr[i] <= '9' {
			i++
		}
		if i > 0 {
			p.ProtoMin, _ = strconv.Atoi(pr[:i])
		}
		hi, ok := strings.CutPrefix(pr[i:], "-")
		if n, err := strconv.Atoi(hi); i > 0 && ok && err == nil && len(hi) <= 6 && n >= 0 {
			p.ProtoMax = n
		} else {
			pp.warnf("unparseable protocol range %q", truncate(pr, 40))
		}
	} else {
		pp.warnf("no proto: in version line: %q", truncate(t, 80))
	}
}

// minorLine parses " 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----"
// and reports false when t is not a minor line at all.
func (pp *procParser) minorLine(t string) bool {
	i := 0
	for i < len(t) && i < 8 && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 || i >= len(t)-1 || t[i] != ':' || (t[i+1] != ' ' && t[i+1] != '\t') {
		return false
	}
	first, rest := nextField(t[i+1:])
	if !strings.HasPrefix(first, "cs:") {
		return false
	}
	minor, _ := strconv.Atoi(t[:i])
	// DRBD lists minors in ascending order; only a step back can repeat one.
	if n := len(pp.p.Minors); n > 0 && minor <= pp.p.Minors[n-1].Minor {
		for k := range pp.p.Minors {
			if pp.p.Minors[k].Minor == minor {
				pp.warnf("minor %d listed twice; the first entry is used", minor)
				break
			}
		}
	}
	pp.p.Minors = append(pp.p.Minors, ProcMinor{Minor: minor})
	m := &pp.p.Minors[len(pp.p.Minors)-1]
	pp.cur = m
	cs := first[3:]
	if cs == "Unconfigured" {
		m.Unconfigured = true
		m.ConnState = ConnUnconfigured
		if f, _ := nextField(rest); f != "" {
			pp.warnf("minor %d: unexpected text after cs:Unconfigured: %q", minor, truncate(rest, 60))
		}
		return true
	}
	st, ok := lookupConnState(cs)
	if !ok {
		pp.warnf("minor %d: unknown connection state %q", minor, truncate(cs, 40))
	}
	m.ConnState = st
	sawRoles, sawDisks := false, false
	for {
		var f string
		f, rest = nextField(rest)
		if f == "" {
			break
		}
		switch {
		case strings.HasPrefix(f, "ro:") || strings.HasPrefix(f, "st:"):
			l, r, ok := strings.Cut(f[3:], "/")
			lr, okl := lookupRole(l)
			pr, okp := lookupRole(r)
			if !ok || !okl || !okp {
				pp.warnf("minor %d: unrecognised roles %q", minor, truncate(f, 40))
			}
			m.Role, m.PeerRole, sawRoles = lr, pr, true
		case strings.HasPrefix(f, "ds:"):
			l, r, ok := strings.Cut(f[3:], "/")
			ld, okl := lookupDiskState(l)
			pd, okp := lookupDiskState(r)
			if !ok || !okl || !okp {
				pp.warnf("minor %d: unrecognised disk states %q", minor, truncate(f, 40))
			}
			m.DiskState, m.PeerDiskState, sawDisks = ld, pd, true
		case len(f) == 1 && f[0] >= 'A' && f[0] <= 'C' && m.Protocol == "" && m.IOFlags == "":
			m.Protocol = protocols[f[0]-'A']
		case m.IOFlags == "":
			m.IOFlags = f
			if !validIOFlags(f) {
				pp.warnf("minor %d: unrecognised I/O flags %q", minor, truncate(f, 40))
			}
		default:
			pp.warnf("minor %d: unrecognised field %q", minor, truncate(f, 40))
		}
	}
	if !sawRoles {
		pp.warnf("minor %d: no ro: field", minor)
	}
	if !sawDisks {
		pp.warnf("minor %d: no ds: field", minor)
	}
	return true
}

var protocols = [3]string{"A", "B", "C"}

// validIOFlags checks the 4 (8.3.0), 5 (8.3.1-8.3.8) or 6 (8.3.9+) character
// I/O state: r/s, a/-, p/-, u/-, then -/d/b/n/a, then s/-.
func validIOFlags(f string) bool {
	if len(f) < 4 || len(f) > 6 {
		return false
	}
	const (
		p0 = "rs"
		p1 = "a-"
		p2 = "p-"
		p3 = "u-"
		p4 = "-dbna"
		p5 = "s-"
	)
	sets := [6]string{p0, p1, p2, p3, p4, p5}
	for i := 0; i < len(f); i++ {
		if strings.IndexByte(sets[i], f[i]) < 0 {
			return false
		}
	}
	return true
}

// countersLine parses a counters line (or a wrapped part of one) and reports
// false when t is not one.
func (pp *procParser) countersLine(t string) bool {
	first, _ := nextField(t)
	k, _, ok := strings.Cut(first, ":")
	if !ok || !isCounterKey(k) {
		return false
	}
	if pp.cur == nil {
		pp.warnf("counters line without a minor ignored")
		return true
	}
	c := &pp.cur.Counters
	c.Present = true
	rest := t
	for {
		var f string
		f, rest = nextField(rest)
		if f == "" {
			break
		}
		key, val, ok := strings.Cut(f, ":")
		if !ok {
			pp.warnf("minor %d: unrecognised counter %q", pp.cur.Minor, truncate(f, 40))
			continue
		}
		if key == "wo" {
			c.WO = val
			if len(val) != 1 || strings.IndexByte("bfdn", val[0]) < 0 {
				pp.warnf("minor %d: unrecognised write ordering %q", pp.cur.Minor, truncate(val, 10))
			}
			continue
		}
		dst := c.field(key)
		if dst == nil {
			pp.warnf("minor %d: unknown counter %q", pp.cur.Minor, truncate(f, 40))
			continue
		}
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			pp.warnf("minor %d: unparseable counter %q", pp.cur.Minor, truncate(f, 40))
			continue
		}
		*dst = n
		if key == "oos" {
			c.HasOOS = true
		}
	}
	return true
}

func isCounterKey(k string) bool {
	switch k {
	case "ns", "nr", "dw", "dr", "al", "bm", "lo", "pe", "ua", "ap", "ep", "wo", "oos":
		return true
	}
	return false
}

func (c *ProcCounters) field(k string) *int64 {
	switch k {
	case "ns":
		return &c.NS
	case "nr":
		return &c.NR
	case "dw":
		return &c.DW
	case "dr":
		return &c.DR
	case "al":
		return &c.AL
	case "bm":
		return &c.BM
	case "lo":
		return &c.LO
	case "pe":
		return &c.PE
	case "ua":
		return &c.UA
	case "ap":
		return &c.AP
	case "ep":
		return &c.EP
	case "oos":
		return &c.OOS
	}
	return nil
}

// progressLine parses "[==>....] sync'ed: 19.5% (12388/15372)M" (or "verified:").
func (pp *procParser) progressLine(t string) {
	if pp.cur == nil {
		pp.warnf("sync progress line without a minor ignored: %q", truncate(t, 80))
		return
	}
	s := &pp.cur.Sync
	var rest string
	switch {
	case strings.Contains(t, "sync'ed:"):
		_, rest, _ = strings.Cut(t, "sync'ed:")
	case strings.Contains(t, "sync\u2019ed:"): // a document renderer's curly apostrophe
		_, rest, _ = strings.Cut(t, "sync\u2019ed:")
	case strings.Contains(t, "verified:"):
		_, rest, _ = strings.Cut(t, "verified:")
		s.Verify = true
	default:
		pp.warnf("minor %d: sync line without sync'ed:/verified: label: %q", pp.cur.Minor, truncate(t, 80))
		return
	}
	s.Present = true
	pct, rest := nextField(rest)
	if v, ok := strings.CutSuffix(pct, "%"); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 100 || f != f {
			pp.warnf("minor %d: unparseable sync percentage %q", pp.cur.Minor, truncate(pct, 20))
		} else {
			s.Percent = f
		}
	} else {
		pp.warnf("minor %d: no sync percentage in %q", pp.cur.Minor, truncate(t, 80))
	}
	amount, _ := nextField(rest)
	left, total, unit, ok := parseLeftTotal(amount)
	if !ok {
		pp.warnf("minor %d: unparseable (left/total) %q", pp.cur.Minor, truncate(amount, 40))
		return
	}
	s.LeftKiB, s.TotalKiB = left*unit, total*unit
}

// parseLeftTotal parses "(12388/15372)M" or "(604092/1048508)K"; unit is the
// multiplier to KiB.
func parseLeftTotal(f string) (left, total, unit int64, ok bool) {
	if len(f) < 5 || f[0] != '(' {
		return 0, 0, 0, false
	}
	switch f[len(f)-1] {
	case 'K':
		unit = 1
	case 'M':
		unit = 1024
	default:
		return 0, 0, 0, false
	}
	body, ok := strings.CutSuffix(f[1:len(f)-1], ")")
	if !ok {
		return 0, 0, 0, false
	}
	l, r, ok := strings.Cut(body, "/")
	if !ok {
		return 0, 0, 0, false
	}
	left, ok1 := parseGrouped(l)
	total, ok2 := parseGrouped(r)
	if !ok1 || !ok2 || left > 1<<50 || total > 1<<50 {
		return 0, 0, 0, false
	}
	return left, total, unit, true
}

// parseGrouped parses a non-negative decimal with optional ',' thousands
// separators ("1,126,400").
func parseGrouped(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ',' && i > 0 {
			continue
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<62)/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		digits++
	}
	return n, digits > 0
}

// finishLine parses "finish: 0:11:00 speed: 19,188 (24,468) [want: 20,480] K/sec [(stalled)]".
func (pp *procParser) finishLine(t string) {
	if pp.cur == nil {
		pp.warnf("sync finish line without a minor ignored: %q", truncate(t, 80))
		return
	}
	s := &pp.cur.Sync
	s.Present = true
	f, rest := nextField(t[len("finish:"):])
	if d, ok := parseHMS(f); ok {
		s.Finish, s.HasFinish = d, true
	} else {
		pp.warnf("minor %d: unparseable finish time %q", pp.cur.Minor, truncate(f, 20))
	}
	for {
		f, rest = nextField(rest)
		if f == "" {
			return
		}
		switch f {
		case "speed:":
			var v string
			v, rest = nextField(rest)
			if n, ok := parseGrouped(v); ok {
				s.SpeedKiBps = n
			} else {
				pp.warnf("minor %d: unparseable speed %q", pp.cur.Minor, truncate(v, 20))
			}
			// "(avg)" or, with proc_details, "(avg -- x)".
			if a, r := nextField(rest); strings.HasPrefix(a, "(") && a != "(stalled)" {
				rest = r
				a = strings.TrimSuffix(a[1:], ")")
				if n, ok := parseGrouped(a); ok {
					s.AvgSpeedKiBps = n
				}
			}
		case "want:":
			var v string
			v, rest = nextField(rest)
			if n, ok := parseGrouped(v); ok {
				s.WantKiBps = n
			} else {
				pp.warnf("minor %d: unparseable want %q", pp.cur.Minor, truncate(v, 20))
			}
		case "(stalled)", "stalled":
			s.Stalled = true
		}
	}
}

// parseHMS parses DRBD's "h:mm:ss" with unbounded hours.
func parseHMS(f string) (time.Duration, bool) {
	h, r, ok1 := strings.Cut(f, ":")
	m, sec, ok2 := strings.Cut(r, ":")
	if !ok1 || !ok2 || len(h) == 0 || len(h) > 7 || len(m) != 2 || len(sec) != 2 {
		return 0, false
	}
	hn, e1 := strconv.Atoi(h)
	mn, e2 := strconv.Atoi(m)
	sn, e3 := strconv.Atoi(sec)
	if e1 != nil || e2 != nil || e3 != nil || hn < 0 || mn < 0 || mn > 59 || sn < 0 || sn > 59 {
		return 0, false
	}
	return time.Duration(hn)*time.Hour + time.Duration(mn)*time.Minute + time.Duration(sn)*time.Second, true
}

// Minor returns the entry for minor n.
func (p *ProcDRBD) Minor(n int) (*ProcMinor, bool) {
	for i := range p.Minors {
		if p.Minors[i].Minor == n {
			return &p.Minors[i], true
		}
	}
	return nil, false
}

// StatusOf returns the normalised Status of minor (Resource left empty:
// /proc/drbd does not name resources). It reports false when the minor is not
// listed at all, which on 8.x means it is not configured.
func (p *ProcDRBD) StatusOf(minor int) (Status, bool) {
	m, ok := p.Minor(minor)
	if !ok {
		return Status{}, false
	}
	return m.status(), true
}

func (m *ProcMinor) status() Status {
	dev := DevicePath(m.Minor)
	if m.Unconfigured {
		return unconfiguredStatus("", m.Minor, dev)
	}
	s := Status{
		Configured:      true,
		Minor:           m.Minor,
		Device:          dev,
		Role:            m.Role,
		PeerRole:        m.PeerRole,
		ConnectionState: m.ConnState,
		DiskState:       m.DiskState,
		PeerDiskState:   m.PeerDiskState,
		Syncing:         syncingState(string(m.ConnState)),
	}
	switch {
	case m.Counters.HasOOS:
		s.OutOfSyncKiB = m.Counters.OOS
	case m.Sync.Present && !m.Sync.Verify:
		s.OutOfSyncKiB = m.Sync.LeftKiB
	}
	switch {
	case m.Sync.Present && m.Sync.Verify:
		s.VerifyPercent = m.Sync.Percent
	case m.ConnState == ConnVerifyS || m.ConnState == ConnVerifyT:
		s.VerifyPercent = -1
	}
	if m.Sync.Present && !m.Sync.Verify {
		s.SyncPercent = m.Sync.Percent
		s.SpeedKiBps = m.Sync.SpeedKiBps
		if m.Sync.HasFinish && !m.Sync.Stalled {
			s.ETA = m.Sync.Finish
		}
	}
	s.finish()
	return s
}
