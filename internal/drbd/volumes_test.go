package drbd

import (
	"strings"
	"testing"
)

// twoVolumeProc is the 8.4.11 capture of a fresh Connected pair with a second minor added:
// volume 0 Inconsistent/Inconsistent, volume 1 with the peer's given disk state.
func twoVolumeProc(t *testing.T, peer1 string) string {
	t.Helper()
	base := readFixture(t, "01-connected-secondary-secondary-inconsistent.txt")
	return base + " 1: cs:Connected ro:Secondary/Secondary ds:Inconsistent/" + peer1 + " C r-----\n" +
		"    ns:0 nr:0 dw:0 dr:0 al:8 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:262100\n"
}

func probe84(t *testing.T, proc string, devices ...string) *Probe {
	t.Helper()
	out := probeOutput(
		probeSection{name: SectionVersion, out: "DRBD_KERNEL_VERSION_CODE=0x08040b\nDRBDADM_VERSION=9.22.0\n"},
		probeSection{name: SectionProc, out: proc},
		probeSection{name: SectionShDev, out: strings.Join(devices, "\n")},
		probeSection{name: SectionDState, out: "Inconsistent/Inconsistent"},
	)
	p, err := ParseProbe("pc0", out)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// threeNodeJSON is the DRBD 9 capture with a second peer connection "node3" whose volume 0
// shows peerDisk.
func threeNodeJSON(t *testing.T, local, peer2, peer3, conn3 string) string {
	t.Helper()
	return `[ { "name": "pc0", "node-id": 1, "role": "Secondary",
  "devices": [ { "volume": 0, "minor": 3, "disk-state": "` + local + `" } ],
  "connections": [
    { "peer-node-id": 0, "name": "node2", "connection-state": "Connected", "peer-role": "Secondary",
      "peer_devices": [ { "volume": 0, "replication-state": "Established", "peer-disk-state": "` + peer2 + `" } ] },
    { "peer-node-id": 2, "name": "node3", "connection-state": "` + conn3 + `", "peer-role": "Secondary",
      "peer_devices": [ { "volume": 0, "replication-state": "Established", "peer-disk-state": "` + peer3 + `" } ] } ] } ]`
}

func probe9(t *testing.T, js string) *Probe {
	t.Helper()
	out := probeOutput(
		probeSection{name: SectionVersion, out: version9},
		probeSection{name: SectionProc, out: proc9},
		probeSection{name: SectionShDev, out: "/dev/drbd3"},
		probeSection{name: SectionDState, out: "Inconsistent/Inconsistent"},
		probeSection{name: SectionJSON, out: js},
	)
	p, err := ParseProbe("pc0", out)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProbe_volumesEveryMinorAndPeer(t *testing.T) {
	t.Parallel()
	p := probe84(t, twoVolumeProc(t, "UpToDate"), "/dev/drbd0", "/dev/drbd1")
	if p.Status.Minor != 0 || p.Status.PeerDiskState != DiskInconsistent {
		t.Errorf("Status is not volume 0: %+v", p.Status)
	}
	v := p.Volumes
	if len(v.Local) != 2 || len(v.Peers) != 1 || len(v.Peers[0].Disks) != 2 || v.Peers[0].Disks[1].DiskState != DiskUpToDate || v.Local[1].Minor != 1 {
		t.Fatalf("Volumes = %+v", v)
	}
	// A minor of the resource that /proc/drbd does not list is a volume that is not up.
	p = probe84(t, readFixture(t, "01-connected-secondary-secondary-inconsistent.txt"), "/dev/drbd0", "/dev/drbd1")
	if len(p.Volumes.Local) != 2 || p.Volumes.Local[1].DiskState != "" {
		t.Fatalf("Volumes = %+v", p.Volumes)
	}

	p = probe9(t, threeNodeJSON(t, "Inconsistent", "Inconsistent", "UpToDate", "Connected"))
	if p.Status.PeerDiskState != DiskInconsistent {
		t.Errorf("Status is not the first peer: %+v", p.Status)
	}
	if len(p.Volumes.Peers) != 2 || p.Volumes.Peers[1].Name != "node3" || p.Volumes.Peers[1].Disks[0].DiskState != DiskUpToDate {
		t.Fatalf("Volumes = %+v", p.Volumes)
	}
}

// TestForcePrimaryAllowedAll: the force guard decides over every volume and every peer, and
// names the one that fails. On the single-volume Status (volume 0, first peer) each of the
// refused cases below looks like a fresh pair.
func TestForcePrimaryAllowedAll(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		p         *Probe
		want      bool
		reasonHas []string
	}{
		{"two volumes, both fresh", probe84(t, twoVolumeProc(t, "Inconsistent"), "/dev/drbd0", "/dev/drbd1"), true, []string{"every volume"}},
		{"two volumes, peer UpToDate on volume 1", probe84(t, twoVolumeProc(t, "UpToDate"), "/dev/drbd0", "/dev/drbd1"), false,
			[]string{"volume 1 (minor 1)", "UpToDate data", "overwrite"}},
		{"two volumes, volume 1 not up", probe84(t, readFixture(t, "01-connected-secondary-secondary-inconsistent.txt"), "/dev/drbd0", "/dev/drbd1"), false,
			[]string{"volume 1 (minor 1)", "unknown"}},
		{"three nodes, all fresh", probe9(t, threeNodeJSON(t, "Inconsistent", "Inconsistent", "Inconsistent", "Connected")), true, nil},
		{"three nodes, node3 UpToDate", probe9(t, threeNodeJSON(t, "Inconsistent", "Inconsistent", "UpToDate", "Connected")), false,
			[]string{`volume 0 (minor 3), peer "node3"`, "UpToDate data"}},
		{"three nodes, node3 not connected", probe9(t, threeNodeJSON(t, "Inconsistent", "Inconsistent", "DUnknown", "Connecting")), false,
			[]string{`peer "node3"`, "not connected"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ok, _ := ForcePrimaryAllowed(tc.p.Status.Role, tc.p.Status.DiskState, tc.p.Status.PeerDiskState); !ok {
				t.Fatalf("volume 0 / first peer alone is not a fresh pair: %+v", tc.p.Status)
			}
			got, reason := ForcePrimaryAllowedAll(tc.p.Volumes)
			if got != tc.want {
				t.Errorf("allowed = %v, want %v (%s)", got, tc.want, reason)
			}
			for _, s := range tc.reasonHas {
				if !strings.Contains(reason, s) {
					t.Errorf("reason %q does not contain %q", reason, s)
				}
			}
		})
	}
	if ok, reason := ForcePrimaryAllowedAll(Volumes{Role: RoleSecondary, Local: []VolumeState{{DiskState: DiskInconsistent}}}); ok || !strings.Contains(reason, "no peer connection") {
		t.Errorf("a resource without peers: %v %q", ok, reason)
	}
}

func TestVolumes_disconnectedAndUpToDate(t *testing.T) {
	t.Parallel()
	p := probe9(t, threeNodeJSON(t, "UpToDate", "UpToDate", "DUnknown", "Connecting"))
	if d := p.Volumes.Disconnected(); !strings.Contains(d, `peer "node3"`) {
		t.Errorf("Disconnected() = %q", d)
	}
	if ok, _ := p.Volumes.AllUpToDate(); !ok {
		t.Error("AllUpToDate false")
	}
	p = probe84(t, twoVolumeProc(t, "UpToDate"), "/dev/drbd0", "/dev/drbd1")
	if d := p.Volumes.Disconnected(); d != "" {
		t.Errorf("Disconnected() = %q", d)
	}
	if ok, why := p.Volumes.AllUpToDate(); ok || !strings.Contains(why, "volume 0") {
		t.Errorf("AllUpToDate = %v %q", ok, why)
	}
	w := strings.Replace(twoVolumeProc(t, "Inconsistent"), " 1: cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent",
		" 1: cs:WFConnection ro:Secondary/Unknown ds:Inconsistent/DUnknown", 1)
	if d := probe84(t, w, "/dev/drbd0", "/dev/drbd1").Volumes.Disconnected(); !strings.Contains(d, "volume 1") {
		t.Errorf("Disconnected() = %q", d)
	}
}

func TestSkipInitialSyncAllowed(t *testing.T) {
	t.Parallel()
	if ok, why := SkipInitialSyncAllowed(probe84(t, twoVolumeProc(t, "Inconsistent"), "/dev/drbd0", "/dev/drbd1").Volumes); !ok {
		t.Errorf("fresh two-volume pair refused: %s", why)
	}
	if ok, why := SkipInitialSyncAllowed(probe84(t, twoVolumeProc(t, "UpToDate"), "/dev/drbd0", "/dev/drbd1").Volumes); ok || !strings.Contains(why, "volume 1") {
		t.Errorf("volume 1 Inconsistent/UpToDate: %v %q", ok, why)
	}
	if ok, why := SkipInitialSyncAllowed(probe9(t, threeNodeJSON(t, "Inconsistent", "Inconsistent", "Inconsistent", "Connected")).Volumes); ok || !strings.Contains(why, "2 peer connections") {
		t.Errorf("three nodes: %v %q", ok, why)
	}
}

// TestVolumes_quorumLost: DRBD 9 prints a device's quorum in `drbdsetup status --json`
// ("quorum": true even with quorum off, as in every real capture) and in events2
// (quorum:yes); a node of a resource with quorum enabled that sees too few nodes prints
// false / no. The real capture of node1 after its peer went down, with quorum lost, must
// read as a volume without quorum, named by NoQuorum; the capture as it is must not.
func TestVolumes_quorumLost(t *testing.T) {
	t.Parallel()
	js := readReal9(t, "06-peer-down", 1, "status-json")
	if got := probe9(t, js).Volumes.NoQuorum(); got != "" {
		t.Errorf("NoQuorum() of the real capture (quorum off, \"quorum\": true) = %q, want \"\"", got)
	}
	lost := strings.Replace(js, `"quorum": true`, `"quorum": false`, 1)
	v := probe9(t, lost).Volumes
	if len(v.Local) != 1 || !v.Local[0].NoQuorum {
		t.Fatalf("Volumes of the JSON with \"quorum\": false = %+v, want volume 0 without quorum", v)
	}
	if got := v.NoQuorum(); !strings.Contains(got, "volume 0 (minor 0)") || !strings.Contains(got, `"node2" Connecting`) {
		t.Errorf("NoQuorum() = %q, want volume 0 (minor 0) and the peer seen (\"node2\" Connecting)", got)
	}
	e2 := readReal9(t, "06-peer-down", 1, "events2-now")
	if got := volumesFromEvents2("pc0", e2).NoQuorum(); got != "" {
		t.Errorf("events2 NoQuorum() of the real capture = %q, want \"\"", got)
	}
	ev := volumesFromEvents2("pc0", strings.Replace(e2, "quorum:yes", "quorum:no", 1))
	if len(ev.Local) != 1 || !ev.Local[0].NoQuorum {
		t.Fatalf("events2 Volumes with quorum:no = %+v, want volume 0 without quorum", ev)
	}
}
