package drbd

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Volumes is the state of every volume of a resource, towards every peer, as one node sees
// it. Status keeps volume 0 and the first peer; the guards decide over Volumes, because
// `drbdadm primary --force RES` and `new-current-uuid --clear-bitmap` act on every volume
// of the resource and DRBD 9 connects one resource to several peers.
type Volumes struct {
	// Role is the local role (a resource has one role for all its volumes).
	Role Role
	// Local lists the local disk of every volume, in volume order.
	Local []VolumeState
	// Peers lists every peer connection with its view of every volume.
	Peers []PeerState
}

// VolumeState is one volume's local disk.
type VolumeState struct {
	// Volume is the volume number (on DRBD 8.x the position in `drbdadm sh-dev`).
	Volume int
	// Minor is -1 when unknown.
	Minor     int
	DiskState DiskState
	// NoQuorum is DRBD 9's "quorum": false (events2 quorum:no): quorum is enabled on the
	// resource and this node sees too few nodes for it. DRBD prints true when quorum is off
	// and 8.x prints nothing, both false here.
	NoQuorum bool
}

// PeerState is one peer connection: its state and, per volume, the peer's disk.
type PeerState struct {
	// Name is the connection name (DRBD 9: the peer's host name; 8.x: "peer").
	Name            string
	ConnectionState ConnState
	Role            Role
	// Disks is the peer's disk per volume (same order as Volumes.Local).
	Disks []PeerDiskState
}

// PeerDiskState is the peer's disk of one volume and the replication state of that volume.
type PeerDiskState struct {
	Volume int
	// ConnectionState is the volume's 8.4 connection word (SyncSource, Connected, ...; on
	// DRBD 8.x each minor prints its own), ReplicationState DRBD 9's replication word.
	ConnectionState  ConnState
	ReplicationState string
	DiskState        DiskState
}

// VolumesOf is the one-volume, one-peer Volumes of st, for states read without the
// per-volume detail (the drbdadm status text, an 8.4 compat /proc/drbd on DRBD 9).
func VolumesOf(st Status) Volumes {
	v := Volumes{Role: st.Role}
	if !st.Configured {
		return v
	}
	v.Local = []VolumeState{{Volume: 0, Minor: st.Minor, DiskState: st.DiskState}}
	if st.ConnectionState != "" {
		v.Peers = []PeerState{{Name: "peer", ConnectionState: st.ConnectionState, Role: st.PeerRole,
			Disks: []PeerDiskState{{Volume: 0, ConnectionState: st.ConnectionState, ReplicationState: st.ReplicationState, DiskState: st.PeerDiskState}}}}
	}
	return v
}

// volumesFromProc is every minor of minors in proc: the volumes of one resource of DRBD 8.x.
// A minor /proc/drbd does not list is a volume that is not up (DiskState "").
func volumesFromProc(proc *ProcDRBD, minors []int) Volumes {
	var v Volumes
	peer := PeerState{Name: "peer"}
	for i, minor := range minors {
		m, ok := proc.Minor(minor)
		if !ok || m.Unconfigured {
			v.Local = append(v.Local, VolumeState{Volume: i, Minor: minor})
			peer.Disks = append(peer.Disks, PeerDiskState{Volume: i})
			continue
		}
		if i == 0 || v.Role == "" {
			v.Role = m.Role
			peer.Role, peer.ConnectionState = m.PeerRole, m.ConnState
		} else if m.Role != v.Role {
			v.Role = Role(string(v.Role) + "/" + string(m.Role)) // mixed: never a role a guard accepts
		}
		v.Local = append(v.Local, VolumeState{Volume: i, Minor: minor, DiskState: m.DiskState})
		peer.Disks = append(peer.Disks, PeerDiskState{Volume: i, ConnectionState: m.ConnState, DiskState: m.PeerDiskState})
	}
	if len(minors) > 0 {
		v.Peers = []PeerState{peer}
	}
	return v
}

// volumesFromJSON is every volume and every peer of resource in `drbdsetup status --json`
// output that ParseStatusJSON accepted.
func volumesFromJSON(data []byte, resource string) Volumes {
	var all []jsonResource
	if json.Unmarshal([]byte(strings.TrimSpace(string(data))), &all) == nil {
		for i := range all {
			if all[i].Name == resource {
				return all[i].volumes()
			}
		}
	}
	return Volumes{}
}

// volumes is every volume and every peer of a `drbdsetup status --json` resource.
func (r *jsonResource) volumes() Volumes {
	v := Volumes{Role: normRole(r.Role)}
	for _, d := range r.Devices {
		minor := -1
		if d.Minor != nil && *d.Minor >= 0 {
			minor = *d.Minor
		}
		v.Local = append(v.Local, VolumeState{Volume: d.Volume, Minor: minor, DiskState: normDisk(d.DiskState),
			NoQuorum: d.Quorum != nil && !*d.Quorum})
	}
	for _, c := range r.Connections {
		ps := PeerState{Name: c.Name, ConnectionState: normConn(c.ConnectionState), Role: normRole(c.PeerRole)}
		for _, d := range v.Local {
			pd := PeerDiskState{Volume: d.Volume, ConnectionState: ps.ConnectionState, DiskState: DiskDUnknown}
			for _, j := range c.PeerDevices {
				if j.Volume == d.Volume {
					pd.ReplicationState, pd.DiskState = j.ReplicationState, normDisk(j.PeerDiskState)
				}
			}
			ps.Disks = append(ps.Disks, pd)
		}
		v.Peers = append(v.Peers, ps)
	}
	return v
}

// volumesFromEvents2 is every volume and every peer in `drbdsetup events2 --now RES` (DRBD
// 8.4 and 9); empty when the resource is not up.
func volumesFromEvents2(resource, output string) Volumes {
	var v Volumes
	type pdKey struct {
		peer string
		vol  int
	}
	peerDisks := map[pdKey]PeerDiskState{}
	var peerIDs []string
	for _, line := range strings.Split(output, "\n") {
		object, kv, ok := events2Exists(resource, line)
		if !ok {
			continue
		}
		vol, _ := strconv.Atoi(kv["volume"])
		switch object {
		case "resource":
			v.Role = Role(kv["role"])
		case "connection":
			name := kv["conn-name"]
			if name == "" {
				name = "node-id " + kv["peer-node-id"]
			}
			peerIDs = append(peerIDs, kv["peer-node-id"])
			v.Peers = append(v.Peers, PeerState{Name: name, ConnectionState: ConnState(kv["connection"]), Role: Role(kv["role"])})
		case "device":
			minor, err := strconv.Atoi(kv["minor"])
			if err != nil {
				minor = -1
			}
			v.Local = append(v.Local, VolumeState{Volume: vol, Minor: minor, DiskState: DiskState(kv["disk"]), NoQuorum: kv["quorum"] == "no"})
		case "peer-device":
			peerDisks[pdKey{kv["peer-node-id"], vol}] = PeerDiskState{Volume: vol, ReplicationState: kv["replication"], DiskState: DiskState(kv["peer-disk"])}
		}
	}
	for i := range v.Peers {
		p := &v.Peers[i]
		for _, d := range v.Local {
			pd, ok := peerDisks[pdKey{peerIDs[i], d.Volume}]
			if !ok {
				pd = PeerDiskState{Volume: d.Volume, DiskState: DiskDUnknown}
			}
			pd.ConnectionState = p.ConnectionState
			p.Disks = append(p.Disks, pd)
		}
	}
	return v
}

// peerLabel names a peer in prose: "the peer" for the only one, else "peer NAME".
func (v Volumes) peerLabel(p PeerState) string {
	if len(v.Peers) == 1 {
		return "the peer"
	}
	return "peer " + strconv.Quote(p.Name)
}

// String describes every volume and peer, e.g. "volume 0 (minor 0) Inconsistent, peer
// "node2" Connected Secondary Inconsistent; volume 1 ...".
func (v Volumes) String() string {
	if len(v.Local) == 0 {
		return "no volume up"
	}
	var parts []string
	for i, d := range v.Local {
		s := fmt.Sprintf("volume %d (minor %d): local %s", d.Volume, d.Minor, orUnknown(string(d.DiskState)))
		for _, p := range v.Peers {
			if i < len(p.Disks) {
				s += fmt.Sprintf(", %s %s %s", v.peerLabel(p), orUnknown(string(p.Disks[i].ConnectionState)), orUnknown(string(p.Disks[i].DiskState)))
			}
		}
		parts = append(parts, s)
	}
	return "role " + orUnknown(string(v.Role)) + "; " + strings.Join(parts, "; ")
}

// ForcePrimaryAllowedAll is ForcePrimaryAllowed over every volume and every peer of v:
// `drbdadm primary --force RES` forces every volume, so each volume's local disk must be
// one --force may upgrade and each peer's disk of it Inconsistent, on every peer
// connection. The reason names the volume and peer that fail. A resource without volumes
// or without a peer connection is refused: there is no peer to prove a fresh pair.
func ForcePrimaryAllowedAll(v Volumes) (bool, string) {
	if v.Role == RolePrimary {
		return true, "the local node is already Primary (" + v.String() + "); nothing is forced"
	}
	if len(v.Local) == 0 {
		return false, "no volume of the resource is up on this node"
	}
	if len(v.Peers) == 0 {
		return false, "the resource has no peer connection (" + v.String() + "): a fresh pair cannot be proven"
	}
	for i, d := range v.Local {
		for _, p := range v.Peers {
			peer := DiskDUnknown
			if i < len(p.Disks) {
				peer = p.Disks[i].DiskState
			}
			if ok, reason := ForcePrimaryAllowed(v.Role, d.DiskState, peer); !ok {
				return false, fmt.Sprintf("volume %d (minor %d), %s: %s", d.Volume, d.Minor, v.peerLabel(p), reason)
			}
		}
	}
	return true, "fresh pair on every volume and every peer (" + v.String() + ")"
}

// NoQuorum describes the first local volume DRBD reports without quorum, with every peer
// connection as this node sees it, "" when every volume has quorum (or quorum is off).
func (v Volumes) NoQuorum() string {
	for _, d := range v.Local {
		if !d.NoQuorum {
			continue
		}
		peers := "no peer connection"
		if len(v.Peers) > 0 {
			var seen []string
			for _, p := range v.Peers {
				seen = append(seen, fmt.Sprintf("%q %s", p.Name, orUnknown(string(p.ConnectionState))))
			}
			peers = "peers " + strings.Join(seen, ", ")
		}
		return fmt.Sprintf("volume %d (minor %d) has no quorum (%s)", d.Volume, d.Minor, peers)
	}
	return ""
}

// AllUpToDate reports whether every local volume is UpToDate; otherwise it names the first
// volume that is not.
func (v Volumes) AllUpToDate() (bool, string) {
	if len(v.Local) == 0 {
		return false, "no volume of the resource is up"
	}
	for _, d := range v.Local {
		if d.DiskState != DiskUpToDate {
			return false, fmt.Sprintf("volume %d (minor %d) is %s", d.Volume, d.Minor, orUnknown(string(d.DiskState)))
		}
	}
	return true, ""
}

// Disconnected returns a description of the first peer volume DRBD does not see (peer disk
// DUnknown or unknown, or the connection StandAlone), "" when every peer of every volume is
// connected. A resource without any peer connection counts as disconnected.
func (v Volumes) Disconnected() string {
	if len(v.Peers) == 0 {
		return "no peer connection"
	}
	for _, p := range v.Peers {
		if p.ConnectionState == ConnStandAlone {
			return fmt.Sprintf("%s is StandAlone", v.peerLabel(p))
		}
		for _, d := range p.Disks {
			if d.DiskState == DiskDUnknown || d.DiskState == "" || d.ConnectionState == ConnStandAlone {
				return fmt.Sprintf("%s of volume %d is %s (connection %s)", v.peerLabel(p), d.Volume,
					orUnknown(string(d.DiskState)), orUnknown(string(d.ConnectionState)))
			}
		}
		if len(p.Disks) < len(v.Local) {
			return fmt.Sprintf("%s shows %d of %d volumes", v.peerLabel(p), len(p.Disks), len(v.Local))
		}
	}
	return ""
}

// SkipInitialSyncAllowed reports whether every volume is Inconsistent on both sides of a
// Connected two-node pair, the state `new-current-uuid --clear-bitmap` turns into
// UpToDate/UpToDate; otherwise it names the volume or peer that fails. More than one peer
// is refused: the metadata of the other peers cannot be checked.
func SkipInitialSyncAllowed(v Volumes) (bool, string) {
	if len(v.Local) == 0 {
		return false, "no volume of the resource is up"
	}
	if len(v.Peers) != 1 {
		return false, fmt.Sprintf("the resource has %d peer connections (%s): skip_initial_sync checks the metadata of one peer only", len(v.Peers), v.String())
	}
	p := v.Peers[0]
	for i, d := range v.Local {
		if i >= len(p.Disks) {
			return false, fmt.Sprintf("volume %d: the peer's disk is unknown", d.Volume)
		}
		pd := p.Disks[i]
		if pd.ConnectionState != ConnConnected || (pd.ReplicationState != "" && pd.ReplicationState != ReplEstablished) ||
			d.DiskState != DiskInconsistent || pd.DiskState != DiskInconsistent {
			return false, fmt.Sprintf("volume %d (minor %d) shows connection %s, disks %s/%s, not Connected and Inconsistent/Inconsistent",
				d.Volume, d.Minor, orUnknown(string(pd.ConnectionState)), orUnknown(string(d.DiskState)), orUnknown(string(pd.DiskState)))
		}
	}
	return true, ""
}

// minorsOf returns the minors of devices ("/dev/drbdN"), in order; false when one is not a
// DRBD minor device.
func minorsOf(devices []string) ([]int, bool) {
	var minors []int
	for _, d := range devices {
		n, ok := minorOfDevice(d)
		if !ok || slices.Contains(minors, n) {
			return nil, false
		}
		minors = append(minors, n)
	}
	return minors, true
}

// Minors returns the minor of every volume, in volume order (what the guarded commands of
// DRBD 8.x read in /proc/drbd); nil when one is unknown.
func (v Volumes) Minors() []int {
	var minors []int
	for _, d := range v.Local {
		if d.Minor < 0 {
			return nil
		}
		minors = append(minors, d.Minor)
	}
	return minors
}

// AnyUpToDate reports whether some local volume is UpToDate.
func (v Volumes) AnyUpToDate() bool {
	for _, d := range v.Local {
		if d.DiskState == DiskUpToDate {
			return true
		}
	}
	return false
}

// StandAlone reports whether some peer connection is StandAlone (it will not connect by itself).
func (v Volumes) StandAlone() bool {
	for _, p := range v.Peers {
		if p.ConnectionState == ConnStandAlone {
			return true
		}
		for _, d := range p.Disks {
			if d.ConnectionState == ConnStandAlone {
				return true
			}
		}
	}
	return false
}
