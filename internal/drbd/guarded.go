package drbd

import (
	"fmt"
	"strconv"
	"strings"

	"al.essio.dev/pkg/shellescape"
)

// Sections of the guarded commands' output (ForcePrimaryGuarded, SkipInitialSyncGuarded),
// besides SectionKernel, SectionMinor (DRBD 8.x) and SectionEvents2 (DRBD 9).
const (
	SectionGI      = "gi"      // drbdadm get-gi RES (SkipInitialSyncGuarded)
	SectionGuarded = "guarded" // the guarded command, present only when it ran
)

// guard is the state condition of one guarded command, as sh case patterns.
type guard struct {
	// minorLine lists the accepted /proc/drbd lines of a minor on DRBD 8.x, "M" standing for
	// the minor (lines are read with `read`, so without their leading blanks).
	minorLine []string
	// reject9 lists patterns of `drbdsetup events2 --now` output that refuse on DRBD 9;
	// require9 patterns that must all match.
	reject9, require9 []string
}

// forceGuard is ForcePrimaryAllowedAll's fresh pair: this node and every peer Secondary and
// Connected, I/O running, every local disk Inconsistent, Outdated or Consistent, every peer
// disk Inconsistent.
var forceGuard = guard{
	minorLine: []string{
		"M: cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent ? r*",
		"M: cs:Connected ro:Secondary/Secondary ds:Outdated/Inconsistent ? r*",
		"M: cs:Connected ro:Secondary/Secondary ds:Consistent/Inconsistent ? r*",
	},
	reject9: []string{`*"role:Primary"*`, `*"role:Unknown"*`, `*"suspended:"[!n]*`, `*"connection:"[!C]*`, `*"connection:Connecting"*`,
		`*"replication:"[!E]*`, `*" disk:"[!ICO]*`, `*"peer-disk:"[!I]*`},
	require9: []string{`*" connection:Connected role:Secondary"*`, `*" peer-disk:Inconsistent"*`},
}

// skipGuard is SkipInitialSyncAllowed's state: a Connected two-node pair, both Secondary,
// every disk on both sides Inconsistent.
var skipGuard = guard{
	minorLine: []string{"M: cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent ? r*"},
	reject9: append(append([]string(nil), forceGuard.reject9...), `*" disk:"[!I]*`,
		`*"exists connection "*"exists connection "*`),
	require9: forceGuard.require9,
}

// shPattern turns a pattern written with * and ? as the only special characters into sh
// case syntax (the rest quoted).
func shPattern(p string) string {
	var b strings.Builder
	lit := ""
	flush := func() {
		if lit != "" {
			b.WriteString(shellescape.Quote(lit))
			lit = ""
		}
	}
	for _, r := range p {
		if r == '*' || r == '?' {
			flush()
			b.WriteRune(r)
			continue
		}
		lit += string(r)
	}
	flush()
	return b.String()
}

// guardedCommand returns one POSIX sh command that reads the state of resource (DRBD 8.x:
// the lines of minors in /proc/drbd with the shell's own `read`; 9: `drbdsetup events2
// --now RES`), prints it in probe sections, optionally reads `drbdadm get-gi RES` (gi), and
// runs cmd only when every condition holds, in a "guarded" section. Nothing else runs.
// proc is /proc/drbd (tests substitute a file).
func (c Commands) guardedCommand(res ResourceName, minors []int, g guard, gi bool, cmd, proc string) (string, error) {
	pq := shellescape.Quote(proc)
	if err := c.needFamily("guarded"); err != nil {
		return "", err
	}
	var b strings.Builder
	sec := func(name, value string) {
		b.WriteString("echo '" + probeMarker + name + "'; printf '%s\\n' " + value + "; echo '" + rcMarker + "0'; ")
	}
	if c.family == Family9 {
		b.WriteString("drbd_v=''; if test -e " + pq + "; then read -r drbd_v < " + pq + "; fi; ")
		sec(SectionKernel, `"$drbd_v"`)
		b.WriteString("drbd_e2=$(" + Events2NowCommand(res) + " 2>&1); drbd_rc=$?; ")
		b.WriteString("echo '" + probeMarker + SectionEvents2 + "'; printf '%s\\n' \"$drbd_e2\"; echo \"" + rcMarker + "$drbd_rc\"; ")
		b.WriteString("drbd_ok=1; test \"$drbd_rc\" = 0 || drbd_ok=0; ")
		b.WriteString(`case "$drbd_v" in "version: 9"*) ;; *) drbd_ok=0;; esac; `)
		b.WriteString(`case "$drbd_e2" in *"exists resource name:"` + res.quoted() + `" role:Secondary"*) ;; *) drbd_ok=0;; esac; `)
		b.WriteString(`case "$drbd_e2" in *"exists device name:"` + res.quoted() + `" "*) ;; *) drbd_ok=0;; esac; `)
		b.WriteString(`case "$drbd_e2" in ` + strings.Join(g.reject9, "|") + `) drbd_ok=0;; esac; `)
		for _, p := range g.require9 {
			b.WriteString(`case "$drbd_e2" in ` + p + `) ;; *) drbd_ok=0;; esac; `)
		}
	} else {
		if len(minors) == 0 {
			return "", fmt.Errorf("cannot build the guarded command for %s: its minors are unknown", res)
		}
		var reads, lines, checks strings.Builder
		for i, m := range minors {
			v := "drbd_l" + strconv.Itoa(i)
			fmt.Fprintf(&reads, "'%d: '*) %s=$drbd_x;; ", m, v)
			lines.WriteString(` "$` + v + `"`)
			var pats []string
			for _, p := range g.minorLine {
				pats = append(pats, shPattern(strings.Replace(p, "M", strconv.Itoa(m), 1)))
			}
			checks.WriteString(`case "$` + v + `" in ` + strings.Join(pats, "|") + `) ;; *) drbd_ok=0;; esac; `)
			b.WriteString(v + "=''; ")
		}
		b.WriteString("drbd_v=''; if test -r " + pq + "; then { read -r drbd_v; while read -r drbd_x; do case \"$drbd_x\" in " +
			reads.String() + "esac; done; } < " + pq + "; fi; ")
		sec(SectionKernel, `"$drbd_v"`)
		sec(SectionMinor, strings.TrimSpace(lines.String()))
		b.WriteString(`drbd_ok=1; case "$drbd_v" in 'version: 8.'*) ;; *) drbd_ok=0;; esac; `)
		b.WriteString(checks.String())
	}
	if gi {
		n := len(minors)
		if n == 0 {
			n = 1
		}
		b.WriteString("drbd_gi=$(" + c.GetGI(res) + " 2>&1); drbd_rc=$?; ")
		b.WriteString("echo '" + probeMarker + SectionGI + "'; printf '%s\\n' \"$drbd_gi\"; echo \"" + rcMarker + "$drbd_rc\"; ")
		b.WriteString("test \"$drbd_rc\" = 0 || drbd_ok=0; drbd_n=0; for drbd_g in $drbd_gi; do drbd_n=$((drbd_n+1)); " +
			"case \"$drbd_g\" in 000000000000000[45]:0000000000000000:0000000000000000:0000000000000000:*) ;; *) drbd_ok=0;; esac; done; " +
			"test \"$drbd_n\" = " + strconv.Itoa(n) + " || drbd_ok=0; ")
	}
	b.WriteString("if test \"$drbd_ok\" = 1; then echo '" + probeMarker + SectionGuarded + "'; " + cmd + " 2>&1; echo \"" + rcMarker + "$?\"; fi")
	return b.String(), nil
}

// ForcePrimaryGuarded returns ForcePrimary checked and run in one remote shell: the shell
// re-reads the state of every volume and every peer (DRBD 8.x: the lines of minors, the
// resource's minors in volume order, in /proc/drbd; 9: `drbdsetup events2 --now`) and runs
// `primary --force` only on a fresh pair as ForcePrimaryAllowedAll accepts it, with this
// node and every peer Secondary and Connected. Otherwise it runs nothing and prints what it
// saw. Parse the output with ParseGuarded and check it with GuardedRun.ForceAllowed.
func (c Commands) ForcePrimaryGuarded(res ResourceName, minors []int) (string, error) {
	cmd, err := c.ForcePrimary(res)
	if err != nil {
		return "", err
	}
	return c.guardedCommand(res, minors, forceGuard, false, cmd, "/proc/drbd")
}

// SkipInitialSyncGuarded returns SkipInitialSync checked and run in one remote shell: the
// shell re-reads the state of every volume (as ForcePrimaryGuarded does) and the local
// `drbdadm get-gi RES`, and runs `new-current-uuid --clear-bitmap` only when the pair is
// Connected to its one peer, both Secondary, every disk on both sides Inconsistent, and
// every volume's generation identifiers Just Created. The peer's identifiers are on another
// host: the caller checks them in its own round trip before. Parse the output with
// ParseGuarded and check it with GuardedRun.SkipAllowed.
func (c Commands) SkipInitialSyncGuarded(res ResourceName, minors []int) (string, error) {
	cmd, err := c.SkipInitialSync(res)
	if err != nil {
		return "", err
	}
	return c.guardedCommand(res, minors, skipGuard, true, cmd, "/proc/drbd")
}

// GuardedRun is the parsed output of a guarded command.
type GuardedRun struct {
	// Seen is the state the shell read before deciding.
	Seen Volumes
	// Raw is that state as printed (the /proc/drbd lines or the events2 output).
	Raw string
	// ReadExit is the exit status of the state read (events2; 0 for the /proc/drbd lines).
	ReadExit int
	// GI is the get-gi section (SkipInitialSyncGuarded only).
	GI ProbeSection
	// Ran is set when the guarded command ran; Result is its output and exit status.
	Ran    bool
	Result ProbeSection
}

// ParseGuarded parses the output of ForcePrimaryGuarded or SkipInitialSyncGuarded for
// resource and its minors (as passed to the builder).
func ParseGuarded(resource string, minors []int, output string) (GuardedRun, error) {
	if !strings.Contains(output, probeMarker) {
		return GuardedRun{}, ErrNotProbeOutput
	}
	sections, _ := splitProbe(output)
	var g GuardedRun
	kernel := sections[SectionKernel].Output
	if e2, ok := sections[SectionEvents2]; ok {
		g.Raw, g.ReadExit = strings.TrimSpace(e2.Output), e2.Exit
		if e2.Exit == 0 {
			g.Seen = volumesFromEvents2(resource, e2.Output)
		}
	} else if lines, ok := sections[SectionMinor]; ok {
		g.Raw = strings.TrimSpace(lines.Output)
		var text strings.Builder
		text.WriteString(kernel)
		for _, l := range strings.Split(strings.TrimRight(lines.Output, "\n"), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				text.WriteString(" " + l + "\n")
			}
		}
		if pd, err := ParseProcDRBD(text.String()); err == nil {
			g.Seen = volumesFromProc(pd, minors)
		}
	} else {
		return GuardedRun{}, fmt.Errorf("no %q or %q section in the guarded command's output", SectionEvents2, SectionMinor)
	}
	g.GI = sections[SectionGI]
	g.Result, g.Ran = sections[SectionGuarded]
	return g, nil
}

// ForceAllowed re-checks in Go what the shell of ForcePrimaryGuarded decided: nil when the
// shell and ForcePrimaryAllowedAll agree, an error naming what was seen when the command
// ran on a state the guard refuses (the shell check and this package disagree).
func (g GuardedRun) ForceAllowed() (bool, string, error) {
	ok, reason := ForcePrimaryAllowedAll(g.Seen)
	if ok && g.Seen.Role == RolePrimary {
		ok, reason = false, "the local node is Primary: "+reason
	}
	if g.Ran && !ok {
		return ok, reason, fmt.Errorf("primary --force ran on a state the force guard refuses: %s", reason)
	}
	return ok, reason, nil
}

// SkipAllowed re-checks in Go what the shell of SkipInitialSyncGuarded decided, as
// ForceAllowed does: the state (SkipInitialSyncAllowed) and every volume's generation
// identifiers Just Created.
func (g GuardedRun) SkipAllowed() (bool, string, error) {
	ok, reason := SkipInitialSyncAllowed(g.Seen)
	if ok {
		ok, reason = g.giJustCreated()
	}
	if g.Ran && !ok {
		return ok, reason, fmt.Errorf("new-current-uuid --clear-bitmap ran on a state the guard refuses: %s", reason)
	}
	return ok, reason, nil
}

// giJustCreated checks the get-gi section: one Just Created line per volume.
func (g GuardedRun) giJustCreated() (bool, string) {
	if g.GI.Exit != 0 {
		return false, fmt.Sprintf("drbdadm get-gi exited %d: %s", g.GI.Exit, firstLine(g.GI.Output))
	}
	var n int
	for _, w := range strings.Fields(g.GI.Output) {
		gi, err := ParseGI(w)
		if err != nil || !gi.JustCreated() {
			return false, "the local generation identifiers " + w + " are not Just Created (the disk has held data before)"
		}
		n++
	}
	if n != max(len(g.Seen.Local), 1) {
		return false, fmt.Sprintf("drbdadm get-gi printed %d generation lines for %d volumes", n, len(g.Seen.Local))
	}
	return true, ""
}
