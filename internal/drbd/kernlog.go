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
// or replication (9) state means that the handshake with the peer succeeded:
// Connected, or a resync that started. Only a transition ("conn( A -> B )" or
// "repl( A -> B )") counts: the "wanted = { cs:WFBitMapS ... }" line of a state
// change that DRBD refused does not match.
var connectedRE = regexp.MustCompile(`\b(?:conn|repl)\( \S+ -> (?:Connected|Established|WFBitMapS|WFBitMapT|WFSyncUUID|` +
	`StartingSyncS|StartingSyncT|SyncSource|SyncTarget|PausedSyncS|PausedSyncT|VerifyS|VerifyT|Ahead|Behind) \)`)

// SplitBrainReported reports whether the kernel log (dmesg text, oldest line
// first) shows that DRBD detected a split brain on resource since its last
// successful handshake with that peer: a "Split-Brain detected" message,
// whatever words follow it, with no successful handshake (connectedRE) after
// it. "... automatically solved" and "... manually solved" count as a
// resolution only when the resync actually started afterwards: with both
// nodes Primary, DRBD 8.4.11 logs "automatically solved. Sync from this node",
// then refuses the resync ("State change failed: Multiple primaries not
// allowed by config") and goes StandAlone, and DRBD 9.2 logs the same words
// before "conn( Connecting -> Disconnecting ) [connect-failed]".
//
// Lines are attributed to the resource by DRBD's message prefixes: "drbd RES:"
// and "block drbdMINOR:" (8.x), "drbd RES PEER:" and "drbd RES/VOL drbdMINOR
// PEER:" (9); on DRBD 9 a handshake with one peer does not clear a split brain
// with another. minor < 0 matches no device lines. A StandAlone connection left
// by `drbdadm disconnect` logs no such message, so it is not reported.
func SplitBrainReported(log, resource string, minor int) bool {
	if resource == "" {
		return false
	}
	prefixes := []string{"drbd " + resource + ":", "drbd " + resource + " ", "drbd " + resource + "/"}
	if minor >= 0 {
		prefixes = append(prefixes, "block drbd"+strconv.Itoa(minor)+":")
	}
	reported := map[string]bool{} // by peer name; "" on 8.x
	for _, line := range strings.Split(log, "\n") {
		i := indexAny(line, prefixes)
		if i < 0 {
			continue
		}
		switch {
		case strings.Contains(line, "Split-Brain detected"):
			reported[peerOf(line[i:], resource)] = true
		case connectedRE.MatchString(line):
			reported[peerOf(line[i:], resource)] = false
		}
	}
	for _, r := range reported {
		if r {
			return true
		}
	}
	return false
}

// peerOf returns the peer name of a DRBD 9 kernel message that starts with one
// of the resource's prefixes ("drbd RES PEER: ..." or "drbd RES/VOL drbdMINOR
// PEER: ..."), and "" for 8.x messages, which name no peer.
func peerOf(msg, resource string) string {
	head, _, ok := strings.Cut(msg, ": ")
	if !ok {
		return ""
	}
	f := strings.Fields(head)
	if len(f) < 3 || f[0] != "drbd" {
		return ""
	}
	if f[1] == resource && len(f) == 3 {
		return f[2]
	}
	if strings.HasPrefix(f[1], resource+"/") && len(f) == 4 {
		return f[3]
	}
	return ""
}

// indexAny returns the index in s of the first of subs found, or -1.
func indexAny(s string, subs []string) int {
	for _, sub := range subs {
		if i := strings.Index(s, sub); i >= 0 {
			return i
		}
	}
	return -1
}

func containsAny(s string, subs []string) bool {
	return indexAny(s, subs) >= 0
}
