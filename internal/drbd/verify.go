package drbd

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"al.essio.dev/pkg/shellescape"
)

// Verify returns `drbdadm verify RES`, the same on DRBD 8.3, 8.4 and 9: it starts an online
// verify with this node as VerifyS and its peer as VerifyT, and returns once the state change
// is made (the verify itself runs in the kernel). DRBD refuses it without a Connected pair with
// both disks UpToDate ("(-15) Need a connection to start verify or resync") and without the
// net option verify-alg ("(-14) Need a verify algorithm to start online verify"). The blocks
// found to differ are marked out of sync on both nodes (oos: in /proc/drbd, out-of-sync in
// DRBD 9's status); nothing is resynced until the connection is made again.
func (c Commands) Verify(res ResourceName) string { return c.drbdadm(res, "verify") }

// VerifyRefusedNoAlg reports whether the standard error of a failed Verify is DRBD's refusal
// for want of the net option verify-alg: "(-14) Need a verify algorithm to start online verify".
func VerifyRefusedNoAlg(stderr string) bool { return strings.Contains(stderr, "(-14)") }

// Disconnect returns `drbdadm disconnect RES`, the same on DRBD 8.3, 8.4 and 9: the node goes
// StandAlone until Connect. Followed by Connect on the Secondary of a pair whose online verify
// found blocks out of sync, it makes DRBD resync those blocks from the Primary (the DRBD
// User's Guide, "Using on-line device verification").
func (c Commands) Disconnect(res ResourceName) string { return c.drbdadm(res, "disconnect") }

// ReconnectToResync returns one shell that disconnects and reconnects a Connected Secondary,
// so that DRBD resyncs the blocks online verify marked out of sync. It reads the connection
// state and the role again first and runs nothing unless every connection is Connected and
// every volume is Secondary; otherwise it prints "not reconnected: ..." with what it saw on
// standard error and exits 3. Disconnect and connect run in the same shell, so a client that
// goes away between them does not leave the node StandAlone.
func (c Commands) ReconnectToResync(res ResourceName) string {
	return "set -f; drbd_cs=$(" + c.drbdadm(res, "cstate") + " 2>&1); drbd_ro=$(" + c.drbdadm(res, "role") + " 2>&1); drbd_ok=1; " +
		"test -n \"$drbd_cs\" && test -n \"$drbd_ro\" || drbd_ok=0; " +
		"for drbd_x in $drbd_cs; do case \"$drbd_x\" in Connected) ;; *) drbd_ok=0;; esac; done; " +
		"for drbd_x in $drbd_ro; do case \"$drbd_x\" in Secondary|Secondary/*) ;; *) drbd_ok=0;; esac; done; " +
		"if test \"$drbd_ok\" = 1; then " + c.Disconnect(res) + " && " + c.Connect(res) + "; " +
		"else echo \"not reconnected: connection state $drbd_cs, role $drbd_ro\" >&2; exit 3; fi"
}

// verifyAlgRE matches the verify-alg line of `drbdsetup show` (8.3 syncer section, 8.4 and 9
// net section), quoted or not.
var verifyAlgRE = regexp.MustCompile(`(?m)^\s*verify-alg\s+"?([A-Za-z0-9_()-]+)"?\s*;`)

// ParseVerifyAlg returns the verify-alg in force as `drbdsetup show` (ShowSettings) prints it,
// "" when none is set (DRBD's default: online verify is refused).
func ParseVerifyAlg(show string) string {
	if m := verifyAlgRE.FindStringSubmatch(show); m != nil {
		return m[1]
	}
	return ""
}

// Verifying reports whether an online verify runs: cs VerifyS or VerifyT on DRBD 8.x, the
// replication state VerifyS or VerifyT on DRBD 9.
func Verifying(s Status) bool {
	if !s.Configured {
		return false
	}
	switch {
	case s.ReplicationState == ReplVerifyS || s.ReplicationState == ReplVerifyT:
		return true
	case s.ConnectionState == ConnVerifyS || s.ConnectionState == ConnVerifyT:
		return true
	}
	return false
}

// VerifyRefusal returns nil when an online verify may start on s, the status of one node:
// up, Connected (on DRBD 9 with replication Established) and both disks UpToDate. Otherwise
// it returns an error naming what it saw, a StandAlone connection with its reason.
func VerifyRefusal(s Status) error {
	switch {
	case !s.Configured:
		return fmt.Errorf("the resource is down")
	case s.ConnectionState == ConnStandAlone:
		return fmt.Errorf("the connection is StandAlone (%s)", StandAloneReason(s))
	case Verifying(s):
		return fmt.Errorf("an online verify is already running (%s)", verifyWord(s))
	case !InSync(s):
		repl := ""
		if s.ReplicationState != "" {
			repl = ", replication " + s.ReplicationState
		}
		return fmt.Errorf("the pair is not Connected with both disks UpToDate (connection %s%s, disks %s/%s)",
			s.ConnectionState, repl, s.DiskState, s.PeerDiskState)
	}
	return nil
}

// verifyWord is the Verify state of s as DRBD prints it.
func verifyWord(s Status) string {
	if s.ReplicationState != "" {
		return s.ReplicationState
	}
	return string(s.ConnectionState)
}

// VerifyResult is what the kernel logged about the last online verify of a resource.
type VerifyResult struct {
	// FoundKiB is what "Online verify found N 4k block(s) out of sync!" names, in KiB; 0
	// when the verify found nothing (DRBD then logs no such line).
	FoundKiB int64
	// Lines are the kernel's result lines, "found" (when logged) then "done", for quoting.
	Lines []string
}

// verifyFoundRE matches DRBD's "Online verify found N 4k block out of sync!" (9: "blocks").
var verifyFoundRE = regexp.MustCompile(`Online verify found (\d+) (\d+)k blocks? out of sync!`)

// VerifyKernelResult returns the result of the last finished online verify of resource in
// the kernel log (dmesg text, oldest line first), ok false when none finished since the last
// start. Lines are attributed to the resource as by SplitBrainReported: 8.x "block drbdMINOR:",
// DRBD 9 "drbd RES..." prefixes. A verify starts with "Starting Online Verify from sector"
// (or, on the VerifyT side, "Online Verify start sector") and ends with "Online verify done";
// a verify cut off by a lost connection logs no "done".
func VerifyKernelResult(log, resource string, minor int) (VerifyResult, bool) {
	prefixes := []string{"drbd " + resource + ":", "drbd " + resource + " ", "drbd " + resource + "/"}
	if minor >= 0 {
		prefixes = append(prefixes, "block drbd"+strconv.Itoa(minor)+":")
	}
	var (
		cur, last VerifyResult
		ok        bool
	)
	for _, line := range strings.Split(log, "\n") {
		i := indexAny(line, prefixes)
		if i < 0 {
			continue
		}
		msg := strings.TrimSpace(line[i:])
		switch {
		case strings.Contains(msg, "Starting Online Verify") || strings.Contains(msg, "Online Verify start sector"):
			cur = VerifyResult{}
			ok = false
		case verifyFoundRE.MatchString(msg):
			m := verifyFoundRE.FindStringSubmatch(msg)
			n, err1 := strconv.ParseInt(m[1], 10, 64)
			k, err2 := strconv.ParseInt(m[2], 10, 64)
			if err1 == nil && err2 == nil {
				cur.FoundKiB = n * k
			}
			cur.Lines = append(cur.Lines, msg)
		case strings.Contains(msg, "Online verify done"):
			cur.Lines = append(cur.Lines, msg)
			last, ok = cur, true
			cur = VerifyResult{}
		}
	}
	return last, ok
}

// SectionShow is the `drbdsetup show` output of VerifyGuarded (ParseVerifyAlg reads it).
const SectionShow = "show"

// VerifyRoles is the roles VerifyGuarded requires besides the state, so that what a verify
// finds can be resynced afterwards.
type VerifyRoles int

// VerifyRoles values.
const (
	// VerifyAnyRoles: no condition on the roles (nothing is resynced afterwards).
	VerifyAnyRoles VerifyRoles = iota
	// VerifySecondaryOfPrimary: this node Secondary, its peer Primary (this node is the one
	// reconnected to resync).
	VerifySecondaryOfPrimary
	// VerifyOnePrimary: exactly one of the two nodes Primary (either may be reconnected).
	VerifyOnePrimary
)

// VerifyGuarded returns one POSIX sh command that checks and starts an online verify in a
// single round trip, whatever the DRBD version: it reads the state and the verify-alg in
// force (`drbdsetup show`; on DRBD 8.3 `drbdsetup DEVICE show`), prints them in probe sections
// for ParseVerifyGuarded (of the settings only the verify-alg, so that no shared secret reaches
// the output), and runs Verify, in a SectionGuarded section, only when every connection is
// Connected (on DRBD 9 with every replication state Established), every volume
// UpToDate/UpToDate, a verify-alg is set, and the roles are as roles asks. Otherwise it runs
// nothing.
//
// On DRBD 8.4 it starts no drbdadm but `drbdadm --version` and the verify itself (each other
// drbdadm parses the configuration, about a second on a slow host): the minors come from
// `drbdsetup show` ("device minor N;"), printed as the sh-dev section as /dev/drbdN, and the
// state from their lines of /proc/drbd, read with the shell's own `read`. Other versions read
// the state with StateProbeCommand and check it with drbdadm (and events2 on DRBD 9).
func VerifyGuarded(res ResourceName, roles VerifyRoles) string {
	return verifyGuarded(res, roles, "/proc/drbd")
}

// verifyGuarded is VerifyGuarded reading the 8.4 state from proc (tests substitute a file).
func verifyGuarded(res ResourceName, roles VerifyRoles, proc string) string {
	r := res.quoted()
	pq := shellescape.Quote(proc)
	// showAlg runs a show command into drbd_show and prints the show section: the
	// verify-alg line, or the error. It collects the minors of "device minor N;".
	showAlg := func(show string) string {
		return "drbd_show=$(" + show + " 2>&1); drbd_rc=$?; drbd_alg=''; drbd_minors=''; drbd_prev=''; " +
			"for drbd_x in $drbd_show; do case \"$drbd_prev\" in verify-alg) drbd_alg=$drbd_x;; " +
			"minor) drbd_minors=\"$drbd_minors ${drbd_x%;}\";; esac; drbd_prev=$drbd_x; done; " +
			"echo '" + probeMarker + SectionShow + "'; if test \"$drbd_rc\" = 0; then " +
			"if test -n \"$drbd_alg\"; then printf 'verify-alg %s\\n' \"$drbd_alg\"; fi; " +
			"else printf '%s\\n' \"$drbd_show\" | head -n 3; fi; echo \"" + rcMarker + "$drbd_rc\"; " +
			"drbd_ok=1; test \"$drbd_rc\" = 0 && test -n \"$drbd_alg\" || drbd_ok=0; "
	}
	var lean strings.Builder
	lean.WriteString("echo '" + probeMarker + SectionVersion + "'; drbdadm --version 2>&1; echo \"" + rcMarker + "$?\"; ")
	lean.WriteString(showAlg("drbdsetup show " + r))
	lean.WriteString("echo '" + probeMarker + SectionProc + "'; cat " + pq + " 2>&1; echo \"" + rcMarker + "$?\"; ")
	lean.WriteString("echo '" + probeMarker + SectionShDev + "'; for drbd_m in $drbd_minors; do echo \"/dev/drbd$drbd_m\"; done; " +
		"echo '" + rcMarker + "0'; test -n \"$drbd_minors\" || drbd_ok=0; ")
	line := func(ro string) string { return "\"$drbd_m: cs:Connected ro:\"" + ro + "\" ds:UpToDate/UpToDate \"*" }
	accept := line("*")
	switch roles {
	case VerifySecondaryOfPrimary:
		accept = line("'Secondary/Primary'")
	case VerifyOnePrimary:
		accept = line("'Secondary/Primary'") + "|" + line("'Primary/Secondary'")
	}
	lean.WriteString("for drbd_m in $drbd_minors; do drbd_l=''; while read -r drbd_x; do case \"$drbd_x\" in \"$drbd_m: \"*) drbd_l=$drbd_x;; esac; " +
		"done < " + pq + "; case \"$drbd_l\" in " + accept + ") ;; *) drbd_ok=0;; esac; done; ")

	var full strings.Builder
	full.WriteString(StateProbeCommand(res) + "; ")
	full.WriteString(showAlg("case \"$drbd_probe_v\" in 'version: 8.3'*) drbdsetup \"$(drbdadm sh-dev " + r + " | head -n 1)\" show;; " +
		"*) drbdsetup show " + r + ";; esac"))
	full.WriteString(inSyncCheck(res))
	// Roles: DRBD 9 per connection (events2, read by inSyncCheck), 8.x "local/peer".
	peerRole := func(want string) string {
		return "case \"$drbd_e2\" in *\" connection:Connected role:\"[!" + want[:1] + "]*) drbd_ok=0;; esac; "
	}
	switch roles {
	case VerifySecondaryOfPrimary:
		full.WriteString("case \"$drbd_probe_v\" in 'version: 9'*) " +
			"case \"$drbd_e2\" in *\"exists resource name:\"" + r + "\" role:Secondary\"*) ;; *) drbd_ok=0;; esac; " + peerRole("Primary") +
			";; *) drbd_ro=$(drbdadm role " + r + " 2>&1) || drbd_ok=0; test -n \"$drbd_ro\" || drbd_ok=0; " +
			"for drbd_x in $drbd_ro; do case \"$drbd_x\" in Secondary/Primary) ;; *) drbd_ok=0;; esac; done;; esac; ")
	case VerifyOnePrimary:
		full.WriteString("case \"$drbd_probe_v\" in 'version: 9'*) " +
			"case \"$drbd_e2\" in *\"exists resource name:\"" + r + "\" role:Secondary\"*) " + peerRole("Primary") + ";; " +
			"*\"exists resource name:\"" + r + "\" role:Primary\"*) " + peerRole("Secondary") + ";; *) drbd_ok=0;; esac" +
			";; *) drbd_ro=$(drbdadm role " + r + " 2>&1) || drbd_ok=0; test -n \"$drbd_ro\" || drbd_ok=0; " +
			"for drbd_x in $drbd_ro; do case \"$drbd_x\" in Secondary/Primary|Primary/Secondary) ;; *) drbd_ok=0;; esac; done;; esac; ")
	}
	return "set -f; drbd_v=''; if test -r " + pq + "; then read -r drbd_v < " + pq + "; fi; case \"$drbd_v\" in " +
		"'version: 8.4'*) " + lean.String() + ";; *) " + full.String() + ";; esac; " +
		"if test \"$drbd_ok\" = 1; then echo '" + probeMarker + SectionGuarded + "'; " + (Commands{}).Verify(res) +
		" 2>&1; echo \"" + rcMarker + "$?\"; fi"
}

// inSyncCheck is the sh fragment of the guarded verify and resize that clears drbd_ok unless
// every connection of res is Connected and every volume UpToDate/UpToDate: `drbdadm cstate`
// and `drbdadm dstate` (8.x shows a verify or resync in cstate), and on DRBD 9 (drbd_probe_v,
// set by the probe before it) every replication state Established in `drbdsetup events2
// --now`, which it leaves in drbd_e2 for further checks. It expects `set -f`.
func inSyncCheck(res ResourceName) string {
	r := res.quoted()
	return "drbd_cs=$(drbdadm cstate " + r + " 2>&1) || drbd_ok=0; drbd_ds=$(drbdadm dstate " + r + " 2>&1) || drbd_ok=0; " +
		"test -n \"$drbd_cs\" && test -n \"$drbd_ds\" || drbd_ok=0; " +
		"for drbd_x in $drbd_cs; do case \"$drbd_x\" in Connected) ;; *) drbd_ok=0;; esac; done; " +
		"for drbd_x in $drbd_ds; do case \"$drbd_x\" in UpToDate/UpToDate) ;; *) drbd_ok=0;; esac; done; " +
		"drbd_e2=''; case \"$drbd_probe_v\" in 'version: 9'*) drbd_e2=$(" + Events2NowCommand(res) + " 2>&1) || drbd_ok=0; " +
		"case \"$drbd_e2\" in *\"replication:\"[!E]*) drbd_ok=0;; esac; " +
		"case \"$drbd_e2\" in *\"replication:Established\"*) ;; *) drbd_ok=0;; esac;; esac; "
}

// VerifyGuardedRun is the parsed output of VerifyGuarded.
type VerifyGuardedRun struct {
	// Probe is the state read before the check (StateProbeCommand's sections).
	Probe *Probe
	// Alg is the verify-alg in force, "" when none is set or the settings were unreadable.
	Alg string
	// Ran reports whether the shell ran Verify; Result is its output (standard error merged)
	// and exit status.
	Ran    bool
	Result ProbeSection
}

// ParseVerifyGuarded parses the output of VerifyGuarded for resource.
func ParseVerifyGuarded(resource, output string) (VerifyGuardedRun, error) {
	p, err := ParseProbe(resource, output)
	if err != nil {
		return VerifyGuardedRun{}, err
	}
	run := VerifyGuardedRun{Probe: p}
	if s, ok := p.Sections[SectionShow]; ok && s.Exit == 0 {
		run.Alg = ParseVerifyAlg(s.Output)
	}
	run.Result, run.Ran = p.Sections[SectionGuarded]
	return run, nil
}
