package drbd

import (
	"fmt"
	"strconv"
	"strings"
)

// Sections of PromoteHealthyCommand's output, in ProbeCommand's marker format.
const (
	SectionKernel  = "kernel"  // the first line of /proc/drbd (the kernel module's version)
	SectionEvents2 = "events2" // drbdsetup events2 --now RES
	SectionMinor   = "minor"   // the resource's lines of /proc/drbd (the guarded commands)
	SectionPrimary = "primary" // drbdadm primary RES, present only when it ran
)

// PromoteHealthyCommand returns one POSIX sh command that reads the state of resource with
// `drbdsetup events2 --now RES` and runs `drbdadm primary RES` in the same shell only when
// that state is a healthy pair at rest: the resource Secondary, every connection Connected
// to a Secondary peer, every disk and every peer disk UpToDate, no I/O suspended, no
// resync going on. In that state a plain promotion can neither fail over onto a partition
// nor serve stale data, so it needs no further guard; the check and the promotion run
// back to back on the host, in one round trip.
//
// Anything else (a degraded pair, a Primary anywhere, a down resource, an events2 that
// fails or is unknown, as on DRBD 8.3) changes nothing: the caller reads
// ParsePromoteHealthy's Attempted false and takes its guarded path. events2 is in
// drbd-utils for DRBD 8.4 and 9 kernels; the output format was checked on a real 8.4.11.
func PromoteHealthyCommand(resource ResourceName) string {
	r := resource.quoted()
	// Every value that follows "disk:" (disk:, peer-disk:) must start with U: UpToDate is the
	// only DRBD disk state that does. The patterns only ever say "no": the promotion runs only
	// when all of them pass.
	healthy := `case "$drbd_e2" in *"role:Primary"*|*"role:Unknown"*|*"disk:"[!U]*|*"suspended:"[!n]*|*"connection:"[!C]*|*"connection:Connecting"*|*"replication:"[!E]*) drbd_ok=0;; esac; ` +
		`case "$drbd_e2" in *"exists resource name:"` + r + `" role:Secondary"*) ;; *) drbd_ok=0;; esac; ` +
		`case "$drbd_e2" in *" connection:Connected role:Secondary"*) ;; *) drbd_ok=0;; esac; ` +
		`case "$drbd_e2" in *"exists device name:"` + r + `" "*) ;; *) drbd_ok=0;; esac; ` +
		`case "$drbd_e2" in *" peer-disk:UpToDate"*) ;; *) drbd_ok=0;; esac`
	return "drbd_v=''; if test -e /proc/drbd; then read -r drbd_v < /proc/drbd; fi; " +
		"echo '" + probeMarker + SectionKernel + "'; printf '%s\\n' \"$drbd_v\"; echo '" + rcMarker + "0'; " +
		"drbd_e2=$(" + Events2NowCommand(resource) + " 2>&1); drbd_rc=$?; " +
		"echo '" + probeMarker + SectionEvents2 + "'; printf '%s\\n' \"$drbd_e2\"; echo \"" + rcMarker + "$drbd_rc\"; " +
		"drbd_ok=1; test \"$drbd_rc\" = 0 || drbd_ok=0; " + healthy + "; " +
		"if test \"$drbd_ok\" = 1; then echo '" + probeMarker + SectionPrimary + "'; drbdadm primary " + r + " 2>&1; echo \"" + rcMarker + "$?\"; fi"
}

// Events2NowCommand returns `drbdsetup events2 --now RES`: the resource's state, by name, in
// one program (DRBD 8.4 and 9 utils). Parse it with ParseEvents2Now.
func Events2NowCommand(resource ResourceName) string {
	return join("drbdsetup", "events2", "--now", resource.name)
}

// HealthyPromotion is the parsed output of PromoteHealthyCommand.
type HealthyPromotion struct {
	// Before is the state events2 showed before any promotion (Configured false when the
	// resource is down or events2 failed).
	Before Status
	// Events2 is events2's own output and exit status.
	Events2 ProbeSection
	// Attempted is set when the state was healthy and `drbdadm primary` ran.
	Attempted bool
	// Primary is that command's output and exit status (with Attempted).
	Primary ProbeSection
}

// Promoted reports whether the promotion ran and succeeded.
func (h HealthyPromotion) Promoted() bool { return h.Attempted && h.Primary.Exit == 0 }

// After is the status once the promotion succeeded: Before with this node Primary.
func (h HealthyPromotion) After() Status {
	st := h.Before
	st.Role = RolePrimary
	return st
}

// ParsePromoteHealthy parses the output of PromoteHealthyCommand(resource). A promotion
// that ran although the state read before it is not a healthy pair at rest
// (HealthyPairAtRest) is reported as an error: the shell check and this package disagree.
func ParsePromoteHealthy(resource, output string) (HealthyPromotion, error) {
	if !strings.Contains(output, probeMarker) {
		return HealthyPromotion{}, ErrNotProbeOutput
	}
	sections, _ := splitProbe(output)
	e2, fromEvents2 := sections[SectionEvents2]
	if !fromEvents2 {
		return HealthyPromotion{}, fmt.Errorf("no %q section in the promotion output", SectionEvents2)
	}
	h := HealthyPromotion{Events2: e2, Before: unconfiguredStatus(resource, -1, "")}
	if e2.Exit == 0 {
		h.Before = ParseEvents2Now(resource, e2.Output)
		if !strings.HasPrefix(sections[SectionKernel].Output, "version: 9") {
			h.Before.ReplicationState = "" // as the 8.4 probe reports it: /proc/drbd has no such field
		}
	}
	h.Primary, h.Attempted = sections[SectionPrimary]
	if h.Attempted && !HealthyPairAtRest(h.Before) {
		return h, fmt.Errorf("drbdadm primary ran on a state that is not a healthy pair at rest: %s", strings.TrimSpace(e2.Output))
	}
	return h, nil
}

// HealthyPairAtRest reports whether st is the state PromoteHealthyCommand promotes in:
// Secondary, Connected to a Secondary peer, both disks UpToDate.
func HealthyPairAtRest(st Status) bool {
	return st.Configured && st.Role == RoleSecondary && st.PeerRole == RoleSecondary &&
		st.ConnectionState == ConnConnected && st.DiskState == DiskUpToDate && st.PeerDiskState == DiskUpToDate
}

// events2Exists splits one `exists` line of `drbdsetup events2 --now` about resource into
// its object type (resource, connection, device, peer-device) and its key:value fields; ok
// is false for any other line.
func events2Exists(resource, line string) (object string, kv map[string]string, ok bool) {
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "exists" {
		return "", nil, false
	}
	kv = map[string]string{}
	for _, w := range f[2:] {
		if k, v, found := strings.Cut(w, ":"); found {
			kv[k] = v
		}
	}
	if kv["name"] != resource {
		return "", nil, false
	}
	return f[1], kv, true
}

// ParseEvents2Now parses `drbdsetup events2 --now RES` of a two-node resource into a
// Status: the resource line gives the role, the connection line the connection state and
// the peer's role, the device line (the first volume) the minor and disk state, the
// peer-device line the replication state and the peer's disk. A connection that is
// Connected reports its replication state as the 8.4 connection state (Established is
// Connected, SyncSource is SyncSource, ...), and Connecting is 8.4's WFConnection. Output
// without a resource line ("exists -" alone) is a resource that is not up.
func ParseEvents2Now(resource, output string) Status {
	st := unconfiguredStatus(resource, -1, "")
	var conn, repl string
	seenDevice, seenPeerDevice := false, false
	for _, line := range strings.Split(output, "\n") {
		object, kv, ok := events2Exists(resource, line)
		if !ok {
			continue
		}
		switch object {
		case "resource":
			st.Configured = true
			st.Role = Role(kv["role"])
		case "connection":
			conn = kv["connection"]
			st.PeerRole = Role(kv["role"])
		case "device":
			if !seenDevice {
				seenDevice = true
				st.DiskState = DiskState(kv["disk"])
				if m, err := strconv.Atoi(kv["minor"]); err == nil {
					st.Minor, st.Device = m, "/dev/drbd"+kv["minor"]
				}
			}
		case "peer-device":
			if !seenPeerDevice {
				seenPeerDevice = true
				repl = kv["replication"]
				st.PeerDiskState = DiskState(kv["peer-disk"])
			}
		}
	}
	if !st.Configured {
		return st
	}
	switch {
	case conn == "Connecting":
		st.ConnectionState = ConnWFConnection
	case conn == "Connected" && (repl == "Established" || repl == ""):
		st.ConnectionState = ConnConnected
	case conn == "Connected":
		st.ConnectionState = ConnState(repl)
	case conn != "":
		st.ConnectionState = ConnState(conn)
	}
	st.ReplicationState = repl
	if st.PeerDiskState == "" {
		st.PeerDiskState = DiskDUnknown
	}
	return st
}
