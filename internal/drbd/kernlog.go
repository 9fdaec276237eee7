package drbd

import (
	"regexp"
	"strconv"
	"strings"
)

// SectionKernelLog is the probe section with the DRBD lines of the kernel log
// (dmesg), from which Status.SplitBrain is decided.
const SectionKernelLog = "kernlog"

// kernelLogLines is how many DRBD lines of the kernel log a probe reads: enough
// for many connect/disconnect cycles (about 15 lines each), small enough to
// keep a probe cheap.
const kernelLogLines = 400

// kernelLogSection is the probe section that reads the kernel log. Only lines
// naming DRBD are sent back; when dmesg fails (a non-root user under
// kernel.dmesg_restrict, without sudo) its first lines and exit status are.
func kernelLogSection() string {
	return "echo '" + probeMarker + SectionKernelLog + "'; " +
		"drbd_probe_k=$(dmesg 2>&1); drbd_probe_rc=$?; " +
		"if test \"$drbd_probe_rc\" = 0; then printf '%s\\n' \"$drbd_probe_k\" | grep -F drbd | tail -n " + strconv.Itoa(kernelLogLines) + "; " +
		"else printf '%s\\n' \"$drbd_probe_k\" | head -n 3; fi; " +
		"echo \"" + rcMarker + "$drbd_probe_rc\""
}

// connectedRE matches a kernel state-change message whose new connection (8.x)
// or replication (9) state means that the handshake with the peer succeeded.
var connectedRE = regexp.MustCompile(`\b(?:conn|repl)\( \S+ -> (?:Connected|Established|WFBitMapS|WFBitMapT|WFSyncUUID|` +
	`StartingSyncS|StartingSyncT|SyncSource|SyncTarget|PausedSyncS|PausedSyncT|VerifyS|VerifyT|Ahead|Behind) \)`)

// SplitBrainReported reports whether the kernel log (dmesg text, oldest line
// first) shows that DRBD detected a split brain on resource since it last
// connected to its peer: a "Split-Brain detected" message that DRBD did not
// resolve itself ("... automatically solved" and "... manually solved" are
// resolutions, after which the resync starts) with no successful handshake
// after it. Lines are attributed to the resource by DRBD's message prefixes:
// "drbd RES:" and "block drbdMINOR:" (8.x), "drbd RES PEER:" and
// "drbd RES/VOL drbdMINOR PEER:" (9). minor < 0 matches no device lines. A
// StandAlone connection left by `drbdadm disconnect` logs no such message, so
// it is not reported.
func SplitBrainReported(log, resource string, minor int) bool {
	if resource == "" {
		return false
	}
	prefixes := []string{"drbd " + resource + ":", "drbd " + resource + " ", "drbd " + resource + "/"}
	if minor >= 0 {
		prefixes = append(prefixes, "block drbd"+strconv.Itoa(minor)+":")
	}
	reported := false
	for _, line := range strings.Split(log, "\n") {
		if !containsAny(line, prefixes) {
			continue
		}
		switch {
		case strings.Contains(line, "Split-Brain detected"):
			reported = !strings.Contains(line, "automatically solved") && !strings.Contains(line, "manually solved")
		case connectedRE.MatchString(line):
			reported = false
		}
	}
	return reported
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
