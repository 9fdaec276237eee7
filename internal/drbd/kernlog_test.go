package drbd

import (
	"strconv"
	"strings"
	"testing"
)

func TestSplitBrainReported(t *testing.T) {
	t.Parallel()
	const (
		connect84 = "[  10.1] drbd pc0: conn( WFConnection -> WFReportParams )\n" +
			"[  10.2] drbd pc0: Handshake successful: Agreed network protocol version 101\n" +
			"[  10.3] block drbd0: peer( Unknown -> Secondary ) conn( WFReportParams -> Connected ) pdsk( DUnknown -> UpToDate )\n"
		adminDisconnect84 = "[  20.1] drbd pc0: conn( Connected -> Disconnecting ) peer( Secondary -> Unknown )\n" +
			"[  20.2] drbd pc0: Connection closed\n" +
			"[  20.3] drbd pc0: conn( Disconnecting -> StandAlone )\n"
		splitBrain84 = "[  30.1] drbd pc0: conn( StandAlone -> Unconnected )\n" +
			"[  30.2] drbd pc0: conn( WFConnection -> WFReportParams )\n" +
			"[  30.3] block drbd0: Split-Brain detected but unresolved, dropping connection!\n" +
			"[  30.4] block drbd0: helper command: /sbin/drbdadm split-brain minor-0\n" +
			"[  30.5] drbd pc0: conn( WFReportParams -> Disconnecting )\n" +
			"[  30.6] drbd pc0: conn( Disconnecting -> StandAlone )\n"
		autoSolved84 = "[  40.1] drbd pc0: conn( WFConnection -> WFReportParams )\n" +
			"[  40.2] block drbd0: Split-Brain detected, 1 primaries, automatically solved. Sync from peer node\n" +
			"[  40.3] block drbd0: peer( Unknown -> Primary ) conn( WFReportParams -> WFBitMapT ) pdsk( DUnknown -> UpToDate )\n"
		discardMyData84 = "[  50.1] block drbd0: Split-Brain detected, manually solved. Sync from peer node\n" +
			"[  50.2] block drbd0: conn( WFReportParams -> WFBitMapT )\n"
		splitBrain9 = "[  60.1] drbd pc0 node2: conn( Connecting -> Connected ) peer( Unknown -> Secondary )\n" +
			"[  60.2] drbd pc0/0 drbd0 node2: Split-Brain detected but unresolved, dropping connection!\n" +
			"[  60.3] drbd pc0 node2: conn( Connected -> Disconnecting ) peer( Secondary -> Unknown )\n" +
			"[  60.4] drbd pc0 node2: conn( Disconnecting -> StandAlone )\n"
		reconnect9 = "[  70.1] drbd pc0/0 drbd0 node2: repl( Off -> Established )\n"
		// twoPrimaries84 is the survivor's log of issue 19 (real 8.4.11, both nodes Primary at
		// reconnect, after-sb-2pri call-pri-lost-after-sb): DRBD says it solved the split brain,
		// then refuses the resync's state change and drops the connection.
		twoPrimaries84 = "[  80.1] drbd pc0: conn( WFConnection -> WFReportParams )\n" +
			"[  80.2] block drbd0: Split-Brain detected, 2 primaries, automatically solved. Sync from this node\n" +
			"[  80.3] block drbd0: State change failed: Multiple primaries not allowed by config\n" +
			"[  80.4] block drbd0:   state = { cs:WFReportParams ro:Primary/Unknown ds:UpToDate/DUnknown r----- }\n" +
			"[  80.5] block drbd0:  wanted = { cs:WFBitMapS ro:Primary/Primary ds:UpToDate/Consistent r----- }\n" +
			"[  80.6] drbd pc0: conn( WFReportParams -> Disconnecting )\n" +
			"[  80.7] drbd pc0: conn( Disconnecting -> StandAlone )\n"
		// manuallySolvedFailed84 is a --discard-my-data resolution whose resync never started.
		manuallySolvedFailed84 = "[  85.1] block drbd0: Split-Brain detected, manually solved. Sync from peer node\n" +
			"[  85.2] drbd pc0: conn( WFReportParams -> Disconnecting )\n" +
			"[  85.3] drbd pc0: conn( Disconnecting -> StandAlone )\n"
		// twoPrimaries9 is node1's log of issue 19 on DRBD 9.2.12 with timestamps
		// (testdata/drbd-9.2.12-derived/kernlog-9.2.12-2pri-node1.log and its README).
		twoPrimaries9 = "[  90.1] drbd pc0/0 drbd0 node2: Split-Brain detected, 2 primaries, automatically solved. Sync from this node\n" +
			"[  90.2] drbd pc0 node2: conn( Connecting -> Disconnecting ) [connect-failed]\n" +
			"[  90.3] drbd pc0 node2: conn( Disconnecting -> StandAlone )\n"
		// otherPeer9 is a handshake with a third node, which says nothing about node2.
		otherPeer9 = "[  95.1] drbd pc0 node3: conn( Connecting -> Connected ) peer( Unknown -> Secondary )\n" +
			"[  95.2] drbd pc0/0 drbd0 node3: repl( Off -> Established )\n"
	)
	tests := []struct {
		name  string
		log   string
		res   string
		minor int
		want  bool
	}{
		{"empty log", "", "pc0", 0, false},
		{"connected", connect84, "pc0", 0, false},
		{"admin disconnect is no split brain", connect84 + adminDisconnect84, "pc0", 0, false},
		{"split brain", connect84 + adminDisconnect84 + splitBrain84, "pc0", 0, true},
		{"split brain then reconnected", connect84 + splitBrain84 + connect84, "pc0", 0, false},
		{"split brain, later admin disconnect", splitBrain84 + adminDisconnect84, "pc0", 0, true},
		{"auto-solved split brain", connect84 + autoSolved84, "pc0", 0, false},
		{"discard-my-data resolution", splitBrain84 + discardMyData84, "pc0", 0, false},
		{"another resource's split brain", strings.ReplaceAll(strings.ReplaceAll(splitBrain84, "pc0", "r1"), "drbd0", "drbd1"), "pc0", 0, false},
		{"another minor with a longer number", strings.ReplaceAll(splitBrain84, "drbd0:", "drbd10:"), "pc0", 1, false},
		{"minor unknown: device lines ignored", splitBrain84, "pc0", -1, false},
		{"drbd 9 split brain", splitBrain9, "pc0", 0, true},
		{"drbd 9 reconnected", splitBrain9 + reconnect9, "pc0", 0, false},
		{"resource name prefix of another", strings.ReplaceAll(splitBrain9, "pc0", "pc01"), "pc0", 5, false},
		{"no resource", splitBrain84, "", 0, false},
		{"2 primaries 'automatically solved', resync refused", connect84 + twoPrimaries84, "pc0", 0, true},
		{"2 primaries, then a real reconnect", connect84 + twoPrimaries84 + autoSolved84, "pc0", 0, false},
		{"'manually solved', resync never started", splitBrain84 + manuallySolvedFailed84, "pc0", 0, true},
		{"drbd 9.2 2 primaries 'automatically solved', connect failed", twoPrimaries9, "pc0", 0, true},
		{"drbd 9.2.12 real log, node1", readTestdata(t, "drbd-9.2.12-derived/kernlog-9.2.12-2pri-node1.log"), "pc0", 0, true},
		{"drbd 9.2 split brain with node2, then node3 connects", twoPrimaries9 + otherPeer9, "pc0", 0, true},
		{"drbd 9.2 split brain with node2, then node2 connects", twoPrimaries9 + reconnect9, "pc0", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := SplitBrainReported(tt.log, tt.res, tt.minor); got != tt.want {
				t.Errorf("SplitBrainReported = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestProbeSplitBrainFromKernelLog checks that a probe's split_brain comes from the
// kernel log only: StandAlone alone is not split brain, and an unreadable log is
// reported as unknown.
func TestProbeSplitBrainFromKernelLog(t *testing.T) {
	t.Parallel()
	proc := "version: 8.4.11 (api:1/proto:86-101)\nsrcversion: F73C670A7EC572DB9CF3E5B \n" +
		" 0: cs:StandAlone ro:Secondary/Unknown ds:UpToDate/DUnknown   r-----\n" +
		"    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:4096\n"
	probe := func(kernlog string, rc int) string {
		return "@@drbd-probe version\nDRBDADM_VERSION_CODE=0x091600\nDRBDADM_VERSION=9.22.0\nDRBD_KERNEL_VERSION_CODE=0x08040b\nDRBD_KERNEL_VERSION=8.4.11\n@@drbd-rc 0\n" +
			"@@drbd-probe proc\n" + proc + "@@drbd-rc 0\n" +
			"@@drbd-probe shdev\n/dev/drbd0\n@@drbd-rc 0\n" +
			"@@drbd-probe dstate\nUpToDate/DUnknown\n@@drbd-rc 0\n" +
			"@@drbd-probe kernlog\n" + kernlog + "@@drbd-rc " + strconv.Itoa(rc) + "\n"
	}
	tests := []struct {
		name             string
		out              string
		wantSB, wantUnkn bool
		reasonHas        string
	}{
		{"disconnect", probe("[ 1.0] drbd pc0: conn( Disconnecting -> StandAlone )\n", 0), false, false, "drbdadm disconnect"},
		{"split brain", probe("[ 1.0] block drbd0: Split-Brain detected but unresolved, dropping connection!\n", 0), true, false, "reported a split brain"},
		{"dmesg refused", probe("dmesg: read kernel buffer failed: Operation not permitted\n", 1), false, true, "could not be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := ParseProbe("pc0", tt.out)
			if err != nil {
				t.Fatal(err)
			}
			st := p.Status
			if st.ConnectionState != ConnStandAlone || st.SplitBrain != tt.wantSB || st.SplitBrainUnknown != tt.wantUnkn {
				t.Fatalf("status = %+v, want StandAlone split brain %v unknown %v", st, tt.wantSB, tt.wantUnkn)
			}
			if tt.wantUnkn != (p.KernelLogError != "") {
				t.Errorf("KernelLogError = %q", p.KernelLogError)
			}
			err = SyncFailure(st)
			if err == nil || !strings.Contains(err.Error(), tt.reasonHas) {
				t.Errorf("SyncFailure = %v, want it to contain %q", err, tt.reasonHas)
			}
		})
	}
}

// TestStateProbeCommandHasNoKernelLog: the state probe used by promotion guards and device
// lookups skips dmesg, and its status never claims a split brain either way.
func TestStateProbeCommandHasNoKernelLog(t *testing.T) {
	t.Parallel()
	if full := ProbeCommand(rn("pc0")); !strings.Contains(full, "dmesg") {
		t.Fatalf("ProbeCommand = %q; want the kernel log section", full)
	}
	if state := StateProbeCommand(rn("pc0")); strings.Contains(state, "dmesg") || !strings.Contains(state, "cat /proc/drbd") {
		t.Fatalf("StateProbeCommand = %q; want the status sections without dmesg", state)
	}
}

// TestProbeSplitBrainOnlyStandAlone: a split brain in the kernel log is reported only while
// the node is StandAlone; a node that connects again after it (WFConnection, waiting for its
// peer) is not in split brain by itself.
func TestProbeSplitBrainOnlyStandAlone(t *testing.T) {
	t.Parallel()
	out := "@@drbd-probe version\nDRBDADM_VERSION_CODE=0x091600\nDRBDADM_VERSION=9.22.0\nDRBD_KERNEL_VERSION_CODE=0x08040b\nDRBD_KERNEL_VERSION=8.4.11\n@@drbd-rc 0\n" +
		"@@drbd-probe proc\nversion: 8.4.11 (api:1/proto:86-101)\nsrcversion: F73C670A7EC572DB9CF3E5B \n" +
		" 0: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C r-----\n" +
		"    ns:0 nr:0 dw:4096 dr:0 al:1 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:4096\n@@drbd-rc 0\n" +
		"@@drbd-probe shdev\n/dev/drbd0\n@@drbd-rc 0\n" +
		"@@drbd-probe dstate\nUpToDate/DUnknown\n@@drbd-rc 0\n" +
		"@@drbd-probe kernlog\n[ 1.0] block drbd0: Split-Brain detected but unresolved, dropping connection!\n" +
		"[ 1.1] drbd pc0: conn( Disconnecting -> StandAlone )\n[ 2.0] drbd pc0: conn( StandAlone -> Unconnected )\n" +
		"[ 2.1] drbd pc0: conn( Unconnected -> WFConnection )\n@@drbd-rc 0\n"
	p, err := ParseProbe("pc0", out)
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Status; st.ConnectionState != ConnWFConnection || st.SplitBrain {
		t.Fatalf("status = %+v, want WFConnection without split brain", st)
	}
}

// TestSplitBrainTwoPrimariesLab reads the lab capture of issue 19's split brain (real DRBD
// 8.4.11, testdata/drbd-8.4.11/splitbrain-2pri/README.md): both nodes Primary at the
// reconnect with after-sb-2pri call-pri-lost-after-sb. node1 logged "automatically solved.
// Sync from this node", yet DRBD refused the resync and both nodes are StandAlone: a split
// brain on both, until the recovery's resync started.
func TestSplitBrainTwoPrimariesLab(t *testing.T) {
	t.Parallel()
	sb := func(name string) string { return readTestdata(t, "drbd-8.4.11/splitbrain-2pri/"+name) }
	tests := []struct {
		name string
		log  string
		want bool
	}{
		{"node1 (survivor), the reconnect only", sb("06-node1-dmesg-drbd-after-connect.txt"), true},
		{"node2 (victim, mounted), the reconnect only", sb("06-node2-dmesg-drbd-after-connect.txt"), true},
		{"node1, whole log since boot", sb("11-node1-dmesg-drbd-full.txt"), true},
		{"node2, whole log since boot", sb("11-node2-dmesg-drbd-full.txt"), true},
		{"node1 after the recovery resync", sb("11-node1-dmesg-drbd-full.txt") + sb("23-node1-dmesg-drbd-after-recovery.txt"), false},
		{"node2 after the recovery resync", sb("11-node2-dmesg-drbd-full.txt") + sb("23-node2-dmesg-drbd-after-recovery.txt"), false},
		{"node1, victim Primary but unmounted", sb("34-node1-dmesg-drbd-after-connect.txt"), true},
		{"node2, Primary but unmounted", sb("34-node2-dmesg-drbd-after-connect.txt"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := SplitBrainReported(tt.log, "pc0", 0); got != tt.want {
				t.Errorf("SplitBrainReported = %v, want %v", got, tt.want)
			}
		})
	}

	probe := func(proc, dstate, kernlog string) string {
		return "@@drbd-probe version\nDRBDADM_VERSION_CODE=0x091600\nDRBDADM_VERSION=9.22.0\nDRBD_KERNEL_VERSION_CODE=0x08040b\nDRBD_KERNEL_VERSION=8.4.11\n@@drbd-rc 0\n" +
			"@@drbd-probe proc\n" + proc + "@@drbd-rc 0\n" +
			"@@drbd-probe shdev\n/dev/drbd0\n@@drbd-rc 0\n" +
			"@@drbd-probe dstate\n" + dstate + "@@drbd-rc 0\n" +
			"@@drbd-probe kernlog\n" + kernlog + "@@drbd-rc 0\n"
	}
	for _, n := range []string{"node1", "node2"} {
		p, err := ParseProbe("pc0", probe(sb("07-"+n+"-proc-drbd-standalone.txt"), sb("09-"+n+"-dstate.txt"), sb("11-"+n+"-dmesg-drbd-full.txt")))
		if err != nil {
			t.Fatal(err)
		}
		if st := p.Status; st.ConnectionState != ConnStandAlone || st.Role != RolePrimary || !st.SplitBrain {
			t.Errorf("%s: status = %+v, want StandAlone Primary with a split brain", n, st)
		}
		p, err = ParseProbe("pc0", probe(sb("24-"+n+"-proc-drbd-recovered.txt"), "UpToDate/UpToDate\n",
			sb("11-"+n+"-dmesg-drbd-full.txt")+sb("23-"+n+"-dmesg-drbd-after-recovery.txt")))
		if err != nil {
			t.Fatal(err)
		}
		if st := p.Status; st.ConnectionState != ConnConnected || st.SplitBrain {
			t.Errorf("%s after the recovery: status = %+v, want Connected without a split brain", n, st)
		}
	}

	// The race (section 4): node2 dropped the connection first; node1 logged "automatically
	// solved" and went back to WFConnection. Its log still reports the split brain, but a node
	// waiting for its peer is not in split brain; node2, StandAlone, is.
	for n, want := range map[string]bool{"node1": false, "node2": true} {
		log := sb("40-" + n + "-dmesg-tail-race.txt")
		if !SplitBrainReported(log, "pc0", 0) {
			t.Errorf("%s race: SplitBrainReported = false, want true", n)
		}
		proc := sb("41-" + n + "-proc-drbd-race.txt")
		p, err := ParseProbe("pc0", probe(proc, "UpToDate/DUnknown\n", log))
		if err != nil {
			t.Fatal(err)
		}
		if st := p.Status; st.SplitBrain != want {
			t.Errorf("%s race: status = %+v, want split brain %v", n, st, want)
		}
	}
}
