package drbd

import (
	"fmt"
	"strconv"
	"strings"

	"al.essio.dev/pkg/shellescape"
)

// Sections of ConnectDiscardMyDataIfSplitBrain's output, in ProbeCommand's marker format
// (the kernel log is SectionKernelLog).
const (
	SectionCState  = "cstate"  // drbdadm cstate RES: one connection state per line
	SectionRoles   = "roles"   // drbdadm role RES: one role (8.x "local/peer") per line
	SectionConnect = "connect" // the connect --discard-my-data, present only when it ran
)

// resourceLogPrefixes are the kernel-log prefixes of resource's lines (SplitBrainReported's):
// "drbd RES:", "drbd RES ", "drbd RES/" and "block drbdMINOR:" for each minor.
func resourceLogPrefixes(resource string, minors []int) []string {
	p := []string{"drbd " + resource + ":", "drbd " + resource + " ", "drbd " + resource + "/"}
	for _, m := range minors {
		p = append(p, "block drbd"+strconv.Itoa(m)+":")
	}
	return p
}

// devicesMinors returns the minors of the /dev/drbdN devices among devices.
func devicesMinors(devices []string) []int {
	var minors []int
	for _, d := range devices {
		if m, ok := minorOfDevice(d); ok {
			minors = append(minors, m)
		}
	}
	return minors
}

// LastSplitBrainLine returns the last "Split-Brain detected" line of resource (whose devices
// are given, for the "block drbdN:" lines) in the kernel log, trimmed, or "" when there is
// none: the line a split-brain verdict (SplitBrainReported) rests on, which
// ConnectDiscardMyDataIfSplitBrain looks for again.
func LastSplitBrainLine(log, resource string, devices []string) string {
	prefixes := resourceLogPrefixes(resource, devicesMinors(devices))
	last := ""
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "Split-Brain detected") && containsAny(line, prefixes) {
			last = strings.TrimSpace(line)
		}
	}
	return last
}

// ConnectDiscardMyDataIfSplitBrain returns one POSIX sh command that runs
// ConnectDiscardMyData only when, read in the same shell right before, the node is still the
// split-brain victim it was decided to be: `drbdadm cstate RES` shows StandAlone on every
// line, `drbdadm role RES` shows Secondary on every line (a Primary is never made SyncTarget),
// and the kernel log still holds splitBrainLine (the line LastSplitBrainLine found, the
// split brain the decision rests on) with no line of the resource after it that leaves
// StandAlone ("StandAlone -> "), so the node has stayed StandAlone since that split brain
// and no handshake can have resolved it. devices are the resource's devices (for the
// "block drbdN:" lines). In any other state it runs nothing more and prints what it saw;
// ParseConnectDiscardMyData reads it.
func (c Commands) ConnectDiscardMyDataIfSplitBrain(res ResourceName, devices []string, splitBrainLine string) (string, error) {
	connect, err := c.ConnectDiscardMyData(res)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(splitBrainLine) == "" || strings.ContainsAny(splitBrainLine, "\n\r") {
		return "", fmt.Errorf("no single split-brain line of the kernel log to check for: %q", splitBrainLine)
	}
	var pats []string
	for _, p := range resourceLogPrefixes(res.name, devicesMinors(devices)) {
		pats = append(pats, "*"+shellescape.Quote(p)+"*")
	}
	r := res.quoted()
	section := func(name, v string) string {
		return "echo '" + probeMarker + name + "'; printf '%s\\n' \"$" + v + "\"; echo \"" + rcMarker + "$" + v + "_rc\""
	}
	// lines runs body for each line of variable v, in $drbd_x; $drbd_nl is a newline, so that
	// the command stays on one line.
	lines := func(v, body string) string {
		return "drbd_rest=\"$" + v + "$drbd_nl\"; while test -n \"$drbd_rest\"; do drbd_x=${drbd_rest%%\"$drbd_nl\"*}; " +
			"drbd_rest=${drbd_rest#*\"$drbd_nl\"}; " + body + " done"
	}
	return "drbd_nl=$(printf '\\nx'); drbd_nl=${drbd_nl%x}; drbd_ok=1; " +
		"drbd_cs=$(drbdadm cstate " + r + " 2>&1); drbd_cs_rc=$?; " + section(SectionCState, "drbd_cs") + "; " +
		"drbd_ro=$(drbdadm role " + r + " 2>&1); drbd_ro_rc=$?; " + section(SectionRoles, "drbd_ro") + "; " +
		"drbd_k=$(dmesg 2>&1); drbd_k_rc=$?; if test \"$drbd_k_rc\" = 0; then drbd_k=$(printf '%s\\n' \"$drbd_k\" | grep -F drbd | tail -n " +
		strconv.Itoa(kernelLogLines) + "); else drbd_k=$(printf '%s\\n' \"$drbd_k\" | head -n 3); fi; " + section(SectionKernelLog, "drbd_k") + "; " +
		"test \"$drbd_cs_rc\" = 0 && test \"$drbd_ro_rc\" = 0 && test \"$drbd_k_rc\" = 0 || drbd_ok=0; drbd_n=0; " +
		lines("drbd_cs", "case \"$drbd_x\" in '') ;; StandAlone) drbd_n=$((drbd_n + 1));; *) drbd_ok=0;; esac;") + "; test \"$drbd_n\" -gt 0 || drbd_ok=0; drbd_n=0; " +
		lines("drbd_ro", "case \"$drbd_x\" in '') ;; Secondary|Secondary/*) drbd_n=$((drbd_n + 1));; *) drbd_ok=0;; esac;") + "; test \"$drbd_n\" -gt 0 || drbd_ok=0; drbd_seen=0; " +
		lines("drbd_k", "if test \"$drbd_seen\" = 0; then case \"$drbd_x\" in *"+shellescape.Quote(strings.TrimSpace(splitBrainLine))+"*) drbd_seen=1;; esac; "+
			"else case \"$drbd_x\" in "+strings.Join(pats, "|")+") case \"$drbd_x\" in *'StandAlone -> '*) drbd_ok=0;; esac;; esac; fi;") + "; " +
		"test \"$drbd_seen\" = 1 || drbd_ok=0; " +
		"if test \"$drbd_ok\" = 1; then echo '" + probeMarker + SectionConnect + "'; " + connect + " 2>&1; echo \"" + rcMarker + "$?\"; fi", nil
}

// VictimConnect is the parsed output of ConnectDiscardMyDataIfSplitBrain.
type VictimConnect struct {
	// CState, Roles and KernelLog are what the shell read before any connect.
	CState, Roles, KernelLog ProbeSection
	// Attempted is set when the node was still the victim and the connect ran; Connect is
	// its output and exit status.
	Attempted bool
	Connect   ProbeSection
}

// Connected reports whether the connect ran and succeeded.
func (v VictimConnect) Connected() bool { return v.Attempted && v.Connect.Exit == 0 }

// Refusal says, as a sentence fragment, why what the shell read does not make the node the
// split-brain victim it was decided to be ("" when it does): splitBrainLine and devices as
// given to ConnectDiscardMyDataIfSplitBrain.
func (v VictimConnect) Refusal(resource string, devices []string, splitBrainLine string) string {
	every := func(sec ProbeSection, what string, ok func(string) bool) string {
		if sec.Exit != 0 {
			return fmt.Sprintf("`drbdadm %s` exited %d: %s", what, sec.Exit, oneLine(sec.Output))
		}
		n := 0
		for _, l := range strings.Split(sec.Output, "\n") {
			if l = strings.TrimSpace(l); l == "" {
				continue
			}
			if !ok(l) {
				return fmt.Sprintf("`drbdadm %s` shows %s", what, oneLine(sec.Output))
			}
			n++
		}
		if n == 0 {
			return fmt.Sprintf("`drbdadm %s` printed nothing", what)
		}
		return ""
	}
	if why := every(v.CState, "cstate", func(l string) bool { return l == string(ConnStandAlone) }); why != "" {
		return why + ", not StandAlone"
	}
	if why := every(v.Roles, "role", func(l string) bool { return l == "Secondary" || strings.HasPrefix(l, "Secondary/") }); why != "" {
		return why + ", not Secondary"
	}
	if v.KernelLog.Exit != 0 {
		return fmt.Sprintf("the kernel log could not be read (dmesg exited %d: %s)", v.KernelLog.Exit, oneLine(v.KernelLog.Output))
	}
	minors := devicesMinors(devices)
	prefixes := resourceLogPrefixes(resource, minors)
	seen := false
	for _, l := range strings.Split(v.KernelLog.Output, "\n") {
		switch {
		case !seen:
			seen = strings.Contains(l, strings.TrimSpace(splitBrainLine))
		case containsAny(l, prefixes) && strings.Contains(l, "StandAlone -> "):
			return fmt.Sprintf("the node left StandAlone after the split brain (%q)", strings.TrimSpace(l))
		}
	}
	if !seen {
		return fmt.Sprintf("the kernel log no longer holds the split brain %q", strings.TrimSpace(splitBrainLine))
	}
	minor := -1
	if len(minors) > 0 {
		minor = minors[0]
	}
	if !SplitBrainReported(v.KernelLog.Output, resource, minor) {
		return "the kernel log no longer shows an unresolved split brain"
	}
	return ""
}

// ParseConnectDiscardMyData parses the output of ConnectDiscardMyDataIfSplitBrain with the
// same resource, devices and splitBrainLine. A connect that ran although what was read
// before it does not allow it (Refusal) is reported as an error: the shell check and this
// package disagree.
func ParseConnectDiscardMyData(output, resource string, devices []string, splitBrainLine string) (VictimConnect, error) {
	if !strings.Contains(output, probeMarker) {
		return VictimConnect{}, ErrNotProbeOutput
	}
	sections, _ := splitProbe(output)
	var v VictimConnect
	var ok1, ok2, ok3 bool
	v.CState, ok1 = sections[SectionCState]
	v.Roles, ok2 = sections[SectionRoles]
	v.KernelLog, ok3 = sections[SectionKernelLog]
	if !ok1 || !ok2 || !ok3 {
		return v, fmt.Errorf("no %q, %q or %q section in the victim connect output", SectionCState, SectionRoles, SectionKernelLog)
	}
	v.Connect, v.Attempted = sections[SectionConnect]
	if why := v.Refusal(resource, devices, splitBrainLine); v.Attempted && why != "" {
		return v, fmt.Errorf("connect --discard-my-data ran although %s", why)
	}
	return v, nil
}
