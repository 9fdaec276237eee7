package drbd

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoMetadata is wrapped by ParseDState when drbdadm reports "No valid meta
// data found" (exit 1 before create-md).
var ErrNoMetadata = errors.New("no valid DRBD meta data found")

// ErrNotAllocated is wrapped when drbdadm reports that the minor does not
// exist in the kernel ("Device minor not allocated", "No such resource",
// "No such device"): the resource is not up.
var ErrNotAllocated = errors.New("DRBD resource is not up")

// adminLines returns the non-empty trimmed lines of a drbdadm output, or an
// error describing a DRBD failure message in it.
func adminLines(cmd, out string) ([]string, error) {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("drbdadm %s printed nothing", cmd)
	}
	switch {
	case strings.Contains(out, "No valid meta data found"):
		return nil, fmt.Errorf("drbdadm %s: %w", cmd, ErrNoMetadata)
	case strings.Contains(out, "Device minor not allocated"), strings.Contains(out, "No such resource"),
		strings.Contains(out, "No such device"):
		return nil, fmt.Errorf("drbdadm %s: %w: %s", cmd, ErrNotAllocated, truncate(lines[0], 120))
	}
	return lines, nil
}

// ParseDState parses `drbdadm dstate RES`: "UpToDate/Inconsistent" (8.x),
// "UpToDate/UpToDate[/...]" (DRBD 9: local, then each peer; the first peer is
// returned) or a bare local state (8.x drbdmeta's answer for a resource that
// is down, e.g. "Consistent"; the peer is then DUnknown). "No valid meta data
// found" gives an error wrapping ErrNoMetadata.
func ParseDState(out string) (local, peer DiskState, err error) {
	lines, err := adminLines("dstate", out)
	if err != nil {
		return "", "", err
	}
	l, rest, split := strings.Cut(lines[0], "/")
	local, ok := lookupDiskState(l)
	if !ok {
		return "", "", fmt.Errorf("drbdadm dstate: unrecognised disk state %q", truncate(l, 40))
	}
	peer = DiskDUnknown
	if split {
		p, _, _ := strings.Cut(rest, "/")
		if peer, ok = lookupDiskState(p); !ok {
			return "", "", fmt.Errorf("drbdadm dstate: unrecognised peer disk state %q", truncate(p, 40))
		}
	}
	return local, peer, nil
}
