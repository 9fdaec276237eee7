package drbd

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrNoSuchResource is wrapped by the status parsers when DRBD reports that
// the resource does not exist in the kernel (it is not up).
var ErrNoSuchResource = errors.New("no such resource")

// jsonResource is one element of `drbdsetup status --json`.
type jsonResource struct {
	Name        string           `json:"name"`
	Role        string           `json:"role"`
	Devices     []jsonDevice     `json:"devices"`
	Connections []jsonConnection `json:"connections"`
}

type jsonDevice struct {
	Volume    int    `json:"volume"`
	Minor     *int   `json:"minor"`
	DiskState string `json:"disk-state"`
	Quorum    *bool  `json:"quorum"`
}

type jsonConnection struct {
	Name            string           `json:"name"`
	ConnectionState string           `json:"connection-state"`
	PeerRole        string           `json:"peer-role"`
	PeerDevices     []jsonPeerDevice `json:"peer_devices"` // sic: underscore
}

type jsonPeerDevice struct {
	Volume            int      `json:"volume"`
	ReplicationState  string   `json:"replication-state"`
	PeerDiskState     string   `json:"peer-disk-state"`
	OutOfSync         *int64   `json:"out-of-sync"`
	PercentInSync     *float64 `json:"percent-in-sync"`
	PercentResyncDone *float64 `json:"percent-resync-done"`
	Recent            *float64 `json:"db1/dt1 [MiB/s]"`
	Short             *float64 `json:"db0/dt0 [MiB/s]"`
	ETASeconds        *float64 `json:"estimated-seconds-to-finish"`
}

// etaUnknown is drbdsetup's "no estimate" sentinel for estimated-seconds-to-finish.
const etaUnknown = 987654321

// ParseStatusJSON parses `drbdsetup status [RES] --json` (DRBD 9, drbd-utils
// 8.9.8 and later) and returns the Status of resource: its first volume and
// first connection. A resource absent from the array is returned with
// Configured false (no error); output that is not the JSON array at all is an
// error, and DRBD's "RES: No such resource" text gives an error wrapping
// ErrNoSuchResource.
func ParseStatusJSON(data []byte, resource string) (Status, error) {
	text := strings.TrimSpace(string(data))
	if strings.Contains(text, "No such resource") && !strings.HasPrefix(text, "[") {
		return unconfiguredStatus(resource, -1, ""), fmt.Errorf("drbdsetup status %s: %w", resource, ErrNoSuchResource)
	}
	var all []jsonResource
	if err := json.Unmarshal([]byte(text), &all); err != nil {
		return Status{}, fmt.Errorf("drbdsetup status --json output is not a JSON array of resources: %w", err)
	}
	for i := range all {
		if all[i].Name == resource {
			return all[i].status(), nil
		}
	}
	return unconfiguredStatus(resource, -1, ""), nil
}

func (r *jsonResource) status() Status {
	s := Status{
		Resource:      r.Name,
		Configured:    true,
		Minor:         -1,
		Role:          normRole(r.Role),
		PeerRole:      RoleUnknown,
		DiskState:     DiskDUnknown,
		PeerDiskState: DiskDUnknown,
	}
	vol := 0
	if len(r.Devices) > 0 {
		d := r.Devices[0]
		vol = d.Volume
		if d.Minor != nil && *d.Minor >= 0 {
			s.Minor = *d.Minor
			s.Device = fmt.Sprintf("/dev/drbd%d", *d.Minor)
		}
		s.DiskState = normDisk(d.DiskState)
	}
	if len(r.Connections) == 0 {
		s.finish()
		return s
	}
	c := r.Connections[0]
	s.ConnectionState = normConn(c.ConnectionState)
	s.PeerRole = normRole(c.PeerRole)
	var pd *jsonPeerDevice
	for i := range c.PeerDevices {
		if c.PeerDevices[i].Volume == vol {
			pd = &c.PeerDevices[i]
			break
		}
	}
	if pd == nil && len(c.PeerDevices) > 0 {
		pd = &c.PeerDevices[0]
	}
	if pd != nil {
		s.ReplicationState = pd.ReplicationState
		s.PeerDiskState = normDisk(pd.PeerDiskState)
		s.Syncing = syncingState(s.ReplicationState)
		if s.ReplicationState == ReplVerifyS || s.ReplicationState == ReplVerifyT {
			// During a verify drbdsetup prints it as a resync: percent-resync-done is
			// 100 * (rs-total - ov-left) / rs-total, the verify's progress.
			s.VerifyPercent = -1
			if finite(pd.PercentResyncDone) {
				s.VerifyPercent = clampPercent(*pd.PercentResyncDone)
			}
		}
		if pd.OutOfSync != nil && *pd.OutOfSync >= 0 {
			s.OutOfSyncKiB = *pd.OutOfSync
		}
		switch {
		case s.Syncing && finite(pd.PercentResyncDone):
			s.SyncPercent = clampPercent(*pd.PercentResyncDone)
		case finite(pd.PercentInSync):
			s.SyncPercent = clampPercent(*pd.PercentInSync)
		}
		if s.Syncing {
			speed := pd.Recent
			if !finite(speed) {
				speed = pd.Short
			}
			if finite(speed) && *speed > 0 && *speed < 1<<40 {
				s.SpeedKiBps = int64(*speed * 1024)
			}
			if finite(pd.ETASeconds) && *pd.ETASeconds >= 0 && *pd.ETASeconds < etaUnknown {
				s.ETA = time.Duration(*pd.ETASeconds) * time.Second
			}
		}
	}
	s.finish()
	return s
}

func finite(f *float64) bool {
	return f != nil && !math.IsNaN(*f) && !math.IsInf(*f, 0)
}

func clampPercent(f float64) float64 {
	return math.Max(0, math.Min(100, f))
}

// normRole maps a DRBD role word to its constant; "" means Unknown, and
// words this package does not know are kept as printed.
func normRole(s string) Role {
	if s == "" {
		return RoleUnknown
	}
	r, _ := lookupRole(s)
	return r
}

func normDisk(s string) DiskState {
	if s == "" {
		return DiskDUnknown
	}
	d, _ := lookupDiskState(s)
	return d
}

func normConn(s string) ConnState {
	c, _ := lookupConnState(s)
	return c
}

// ParseStatusText parses `drbdadm status` / `drbdsetup status` text of DRBD 9
// (and of drbd-utils 9 on an 8.4 kernel, where the peer is named "peer" and
// the states are mapped to DRBD 9 words). The output wraps at 80 columns, so it
// is read as blank-separated key:value tokens; structure comes from the
// tokens, not from line positions, except that a resource starts with a bare
// word at the start of an unindented line. Only the first volume and the first
// connection are reported. A resource that is not listed, or DRBD's
// "No such resource" (which gives an error wrapping ErrNoSuchResource), is
// Configured false.
func ParseStatusText(text string, resource string) (Status, error) {
	if strings.Contains(text, "No such resource") {
		return unconfiguredStatus(resource, -1, ""), fmt.Errorf("drbdadm status %s: %w", resource, ErrNoSuchResource)
	}
	const (
		ctxNone = iota
		ctxResource
		ctxDevice
		ctxConnection
		ctxPeerDevice
	)
	var (
		s         Status
		found     bool
		inRes     bool // inside the wanted resource
		ctx       = ctxNone
		conns     int
		devices   int
		peerDevs  int
		sawConnKV bool
		sawRepl   bool
	)
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, " \t\r")
		if line == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		rest := line
		firstOnLine := true
		for {
			var tok string
			tok, rest = nextField(rest)
			if tok == "" {
				break
			}
			key, val, isKV := strings.Cut(tok, ":")
			if !isKV {
				if firstOnLine && !indented {
					// A resource header.
					if inRes {
						inRes = false // the wanted resource ended
					}
					if tok == resource && !found {
						found, inRes, ctx = true, true, ctxResource
						s = Status{Resource: resource, Configured: true, Minor: -1, Role: RoleUnknown,
							PeerRole: RoleUnknown, DiskState: DiskDUnknown, PeerDiskState: DiskDUnknown}
					}
				} else if inRes {
					// A connection (peer) name.
					conns++
					ctx = ctxConnection
				}
				firstOnLine = false
				continue
			}
			firstOnLine = false
			if !inRes {
				continue
			}
			first := conns == 1
			switch ctx {
			case ctxResource, ctxDevice:
				switch key {
				case "role":
					s.Role = normRole(val)
				case "volume":
					devices++
					ctx = ctxDevice
				case "minor":
					if devices <= 1 {
						if n, ok := atoiSmall(val); ok {
							s.Minor, s.Device = n, fmt.Sprintf("/dev/drbd%d", n)
						}
					}
				case "disk":
					if devices <= 1 {
						s.DiskState = normDisk(val)
					}
				}
			case ctxConnection, ctxPeerDevice:
				if !first {
					continue
				}
				switch key {
				case "role":
					s.PeerRole = normRole(val)
				case "connection":
					s.ConnectionState = normConn(val)
					sawConnKV = true
				case "volume":
					peerDevs++
					ctx = ctxPeerDevice
				case "replication":
					if peerDevs <= 1 {
						s.ReplicationState = val
						sawRepl = true
					}
				case "peer-disk", "disk":
					if peerDevs <= 1 && (key == "peer-disk" || ctx == ctxPeerDevice) {
						s.PeerDiskState = normDisk(val)
					}
				case "done":
					if peerDevs <= 1 {
						if f, ok := parsePercent(val); ok {
							s.SyncPercent = f
						}
					}
				case "out-of-sync":
					if peerDevs <= 1 {
						if n, ok := parseGrouped(val); ok {
							s.OutOfSyncKiB = n
						}
					}
				}
			}
		}
	}
	if !found {
		// Includes "# No currently configured DRBD found." and empty output.
		return unconfiguredStatus(resource, -1, ""), nil
	}
	if conns > 0 {
		if !sawConnKV {
			// drbdsetup prints connection: only when it is not Connected.
			s.ConnectionState = ConnConnected
		}
		if !sawRepl && s.ConnectionState == ConnConnected {
			// ... and replication: only beyond Established.
			s.ReplicationState = ReplEstablished
		}
	}
	s.Syncing = syncingState(s.ReplicationState)
	inSync := s.ConnectionState == ConnConnected && s.PeerDiskState == DiskUpToDate && s.DiskState == DiskUpToDate
	if !s.Syncing && !inSync {
		// done: is only printed while resyncing.
		s.SyncPercent = 0
	}
	s.finish()
	return s, nil
}

func parsePercent(v string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return clampPercent(f), true
}

func atoiSmall(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
