package drbdsim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Version banners.
const (
	proc84Head = "version: 8.4.11 (api:1/proto:86-101)\nsrcversion: F73C670A7EC572DB9CF3E5B \n"
	proc83Head = "version: 8.3.13 (api:88/proto:86-96)\n" +
		"GIT-hash: 83ca112086600faacab2f157bc5a9324f7bd7f77 build by mockbuild@builder10.centos.org, 2012-05-07 11:56:36\n"
	proc9Head = "version: 9.2.12 (api:2/proto:118-122)\n" +
		"GIT-hash: 2da6f528dc4ab3fd25c511f7b03531100e54ab08 build by @vm, 2026-12-07 17:30:52\n" +
		"Transports (api:21): tcp (9.2.12)\n"

	adm84Version = "DRBDADM_BUILDTAG=GIT-hash:\\ 409097fe02187f83790b88ac3e0d94f3c167adab\\ reproducible\\ build\\,\\ 2023-01-09\\ 14:51:18\n" +
		"DRBDADM_API_VERSION=1\n" +
		"DRBD_KERNEL_VERSION_CODE=0x08040b\n" +
		"DRBDADM_VERSION_CODE=0x091600\n" +
		"DRBDADM_VERSION=9.22.0\n"
	adm9Version = "DRBDADM_BUILDTAG=GIT-hash:\\ 409097fe02187f83790b88ac3e0d94f3c167adab\\ reproducible\\ build\\,\\ 2023-01-09\\ 14:51:18\n" +
		"DRBDADM_API_VERSION=2\n" +
		"DRBD_KERNEL_VERSION_CODE=0x09020c\n" +
		"DRBD_KERNEL_VERSION=9.2.12\n" +
		"DRBDADM_VERSION_CODE=0x091600\n" +
		"DRBDADM_VERSION=9.22.0\n"
)

// simSpeedKiB is the resync speed the simulator reports (K/sec), close to the lab's.
const simSpeedKiB = 34132

// renderProc renders /proc/drbd for the node. Callers hold mu.
func (n *Node) renderProc() string {
	var b strings.Builder
	switch n.p.cfg.Version {
	case V9:
		b.WriteString(proc9Head)
		return b.String()
	case V83:
		b.WriteString(proc83Head)
	default:
		b.WriteString(proc84Head)
	}
	minor := n.p.cfg.Minor
	if !n.up {
		if n.p.cfg.Version == V83 && n.everUp {
			fmt.Fprintf(&b, "%2d: cs:Unconfigured\n", minor)
		}
		return b.String()
	}
	cs := n.connState()
	pr, _ := n.peerView()
	proto := 'C'
	if cs == csStandAlone {
		proto = ' '
	}
	wo := 'f'
	if n.p.cfg.Version == V83 {
		wo = 'b'
	}
	for vol := range n.p.volumes() {
		fmt.Fprintf(&b, "%2d: cs:%s ro:%s/%s ds:%s/%s %c r-----\n", minor+vol, cs, n.role, pr, n.diskOf(vol), n.peerDiskOf(vol), proto)
		fmt.Fprintf(&b, "    ns:%d nr:%d dw:%d dr:%d al:%d bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:%c oos:%d\n",
			n.ctr.ns, n.ctr.nr, n.ctr.dw, n.ctr.dr, n.ctr.al, wo, n.oosKiB())
		switch cs {
		case csSyncSource, csSyncTarget:
			n.renderSyncLines(&b, cs == csSyncTarget)
		case csVerifyS, csVerifyT:
			n.renderProgressLines(&b, "verified:", n.p.verify.leftBits, n.p.verify.totalBits, cs == csVerifyS)
		}
	}
	return b.String()
}

// perMilDone computes the progress exactly like drbd_get_syncer_progress().
func perMilDone(leftBits, totalBits int64) int64 {
	shift := uint(10)
	if totalBits > math.MaxUint32 {
		shift = 16
	}
	left := leftBits >> shift
	total := 1 + totalBits>>shift
	return 1000 - left*1000/total
}

// renderSyncLines renders the two TAB-indented progress lines of drbd_syncer_progress().
func (n *Node) renderSyncLines(b *strings.Builder, target bool) {
	n.renderProgressLines(b, "sync'ed:", n.p.sync.leftBits, n.p.sync.totalBits, target)
}

// renderProgressLines renders the progress lines of a resync or an online verify (label
// "sync'ed:" or "verified:"); want is printed on SyncTarget and VerifyS.
func (n *Node) renderProgressLines(b *strings.Builder, label string, leftBits, totalBits int64, want bool) {
	s := struct{ leftBits, totalBits int64 }{leftBits, totalBits}
	res := perMilDone(s.leftBits, s.totalBits)
	x := res / 50
	b.WriteString("\t[")
	for i := int64(1); i < x; i++ {
		b.WriteByte('=')
	}
	b.WriteByte('>')
	for i := int64(0); i < 20-x; i++ {
		b.WriteByte('.')
	}
	fmt.Fprintf(b, "] %s%3d.%d%% ", label, res/10, res%10)
	if s.totalBits > 1<<20 {
		fmt.Fprintf(b, "(%d/%d)M\n\t", (s.leftBits>>10)*4, (s.totalBits>>10)*4)
	} else {
		fmt.Fprintf(b, "(%d/%d)K\n\t", s.leftBits*4, s.totalBits*4)
	}
	rt := s.leftBits * 4 / simSpeedKiB
	fmt.Fprintf(b, "finish: %d:%02d:%02d speed: %s (%s)", rt/3600, rt%3600/60, rt%60,
		groupThousands(simSpeedKiB), groupThousands(simSpeedKiB))
	if want {
		fmt.Fprintf(b, " want: %s", groupThousands(n.wantKiB()))
	}
	b.WriteString(" K/sec\n")
}

// wantKiB is the resync rate the SyncTarget asks for: the fixed rate when the
// dynamic controller is off, otherwise what the controller aims at (c-max-rate).
func (n *Node) wantKiB() int64 {
	if n.p.cfg.Version == V83 {
		if r, ok := parseRateKiB(n.resyncOpts["resync-rate"]); ok {
			return r
		}
		return 250
	}
	if n.resyncOpts["c-plan-ahead"] == "0" {
		if r, ok := parseRateKiB(n.resyncOpts["resync-rate"]); ok {
			return r
		}
		return 250
	}
	return 102400
}

// parseRateKiB parses DRBD's number+unit syntax (default unit KiB/s).
func parseRateKiB(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		s = s[:len(s)-1]
	case 'm', 'M':
		mult, s = 1024, s[:len(s)-1]
	case 'g', 'G':
		mult, s = 1024*1024, s[:len(s)-1]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, false
	}
	return v * mult, true
}

func groupThousands(v int64) string {
	s := strconv.FormatInt(v, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// donePercent is the resync progress in percent. Callers hold mu.
func (p *Pair) donePercent() float64 {
	s := p.sync
	return 100 * float64(s.totalBits-s.leftBits) / float64(s.totalBits)
}

// replication returns the DRBD 9 replication word. Callers hold mu.
func (n *Node) replication() string {
	switch n.connState() {
	case csSyncSource:
		return csSyncSource
	case csSyncTarget:
		return csSyncTarget
	case csVerifyS, csVerifyT:
		return n.connState()
	case csConnected:
		return "Established"
	}
	return "Off"
}

// peerName is the connection name: 8.4 calls it "peer", 9 uses the peer's host name.
func (n *Node) peerName() string {
	if n.p.cfg.Version == V9 {
		return n.peer().name
	}
	return "peer"
}

// renderEvents2Now renders `drbdsetup events2 --now RES` as DRBD 8.4.11 prints it (lab
// captures: Connected, resyncing, StandAlone; WFConnection is rendered as DRBD 9's
// Connecting, not captured on 8.4), and DRBD 9 alike with the peer's node id and host name.
// Callers hold mu.
func (n *Node) renderEvents2Now() string {
	if !n.up {
		return "exists -\n"
	}
	res, v9 := n.p.cfg.Resource, n.p.cfg.Version == V9
	peerID, connName := "0", " conn-name:"+n.peerName()
	if v9 {
		peerID = fmt.Sprint(1 - n.idx)
	}
	connection := "Connected"
	switch n.connState() {
	case csStandAlone:
		connection = "StandAlone"
		if !v9 {
			connName = "" // 8.4 drops the connection's name with its net options
		}
	case csWFConnection:
		connection = "Connecting"
	}
	pr, _ := n.peerView()
	var b strings.Builder
	fmt.Fprintf(&b, "exists resource name:%s role:%s suspended:no\n", res, n.role)
	fmt.Fprintf(&b, "exists connection name:%s peer-node-id:%s%s connection:%s role:%s\n", res, peerID, connName, connection, pr)
	if t := n.thirdPeer(); t != nil {
		fmt.Fprintf(&b, "exists connection name:%s peer-node-id:2 conn-name:%s connection:%s role:%s\n", res, t.Name, t.Connection, t.Role)
	}
	for vol := range n.p.volumes() {
		fmt.Fprintf(&b, "exists device name:%s volume:%d minor:%d disk:%s quorum:%s\n", res, vol, n.p.minorOf(vol), n.diskOf(vol), yesNo(n.hasQuorum()))
	}
	for vol := range n.p.volumes() {
		fmt.Fprintf(&b, "exists peer-device name:%s peer-node-id:%s%s volume:%d replication:%s peer-disk:%s resync-suspended:no\n",
			res, peerID, connName, vol, n.replication(), n.peerDiskOf(vol))
		if t := n.thirdPeer(); t != nil {
			repl := "Off"
			if t.Connection == "Connected" {
				repl = "Established"
			}
			fmt.Fprintf(&b, "exists peer-device name:%s peer-node-id:2 conn-name:%s volume:%d replication:%s peer-disk:%s resync-suspended:no\n",
				res, t.Name, vol, repl, t.Disk)
		}
	}
	b.WriteString("exists -\n")
	return b.String()
}

// renderStatusText renders `drbdadm status` (DRBD 9 wording; 8.4 maps its states). Callers hold mu.
func (n *Node) renderStatusText() string {
	var b strings.Builder
	v9 := n.p.cfg.Version == V9
	fmt.Fprintf(&b, "%s role:%s\n", n.p.cfg.Resource, n.role)
	fmt.Fprintf(&b, "  disk:%s\n", n.disk)
	switch cs := n.connState(); cs {
	case csWFConnection:
		fmt.Fprintf(&b, "  %s connection:Connecting\n", n.peerName())
	case csStandAlone:
		fmt.Fprintf(&b, "  %s connection:StandAlone\n", n.peerName())
	default:
		pr, pd := n.peerView()
		fmt.Fprintf(&b, "  %s role:%s\n", n.peerName(), pr)
		b.WriteString("    ")
		if repl := n.replication(); !v9 || repl != "Established" {
			fmt.Fprintf(&b, "replication:%s ", repl)
		}
		fmt.Fprintf(&b, "peer-disk:%s", pd)
		if cs == csSyncSource || cs == csSyncTarget {
			fmt.Fprintf(&b, " done:%.2f", n.p.donePercent())
		}
		b.WriteString("\n")
	}
	if v9 {
		b.WriteString("\n")
	}
	return b.String()
}

// render83Status renders 8.3's XML `drbdadm status`. Callers hold mu.
func (n *Node) render83Status() string {
	var b strings.Builder
	b.WriteString("<drbd-status version=\"8.3.13\" api=\"88\">\n<resources config_file=\"/etc/drbd.conf\">\n")
	if !n.up {
		fmt.Fprintf(&b, "<resource minor=\"%d\" name=\"%s\" cs=\"Unconfigured\" />\n", n.p.cfg.Minor, n.p.cfg.Resource)
	} else {
		cs := n.connState()
		pr, pd := n.peerView()
		fmt.Fprintf(&b, "<resource minor=\"%d\" name=\"%s\" cs=\"%s\" ro1=\"%s\" ro2=\"%s\" ds1=\"%s\" ds2=\"%s\"",
			n.p.cfg.Minor, n.p.cfg.Resource, cs, n.role, pr, n.disk, pd)
		if cs == csSyncSource || cs == csSyncTarget {
			res := perMilDone(n.p.sync.leftBits, n.p.sync.totalBits)
			fmt.Fprintf(&b, " resynced_percent=\"%d.%d\"", res/10, res%10)
		}
		b.WriteString(" />\n")
	}
	b.WriteString("</resources>\n</drbd-status>\n")
	return b.String()
}

// renderStatusJSON renders DRBD 9's `drbdsetup status --json`. Callers hold mu.
func (n *Node) renderStatusJSON() string {
	var b strings.Builder
	c := n.p.cfg
	b.WriteString("[\n{\n")
	fmt.Fprintf(&b, "  \"name\": %q,\n  \"node-id\": %d,\n  \"role\": %q,\n", c.Resource, n.idx, n.role)
	b.WriteString("  \"suspended\": false,\n  \"suspended-user\": false,\n  \"suspended-no-data\": false,\n" +
		"  \"suspended-fencing\": false,\n  \"suspended-quorum\": false,\n  \"force-io-failures\": false,\n" +
		"  \"write-ordering\": \"flush\",\n")
	b.WriteString("  \"devices\": [\n    {\n")
	fmt.Fprintf(&b, "      \"volume\": 0,\n      \"minor\": %d,\n      \"disk-state\": %q,\n", c.Minor, n.disk)
	fmt.Fprintf(&b, "      \"client\": %t,\n      \"quorum\": %t,\n", n.disk == diskDiskless, n.hasQuorum())
	fmt.Fprintf(&b, "      \"size\": %d,\n      \"read\": %d,\n      \"written\": %d,\n", c.SizeKiB, n.ctr.dr, n.ctr.dw)
	fmt.Fprintf(&b, "      \"al-writes\": %d,\n      \"bm-writes\": 0,\n      \"upper-pending\": 0,\n      \"lower-pending\": 0\n    }", n.ctr.al)
	for vol := 1; vol < n.p.volumes(); vol++ {
		fmt.Fprintf(&b, ",\n    { \"volume\": %d, \"minor\": %d, \"disk-state\": %q, \"client\": false, \"quorum\": %t }", vol, n.p.minorOf(vol), n.diskOf(vol), n.hasQuorum())
	}
	b.WriteString(" ],\n")
	cs := n.connState()
	conn := "Connected"
	switch cs {
	case csWFConnection:
		conn = csConnecting
	case csStandAlone:
		conn = csStandAlone
	}
	pr, pd := n.peerView()
	b.WriteString("  \"connections\": [\n    {\n")
	// drbdsetup 9.22 prints a blank before the newline after connection-state.
	fmt.Fprintf(&b, "      \"peer-node-id\": %d,\n      \"name\": %q,\n      \"connection-state\": %q, \n", 1-n.idx, n.peer().name, conn)
	fmt.Fprintf(&b, "      \"congested\": false,\n      \"peer-role\": %q,\n", pr)
	b.WriteString("      \"ap-in-flight\": 0,\n      \"rs-in-flight\": 0,\n      \"peer_devices\": [\n        {\n")
	oos := n.oosKiB()
	fmt.Fprintf(&b, "          \"volume\": 0,\n          \"replication-state\": %q,\n          \"peer-disk-state\": %q,\n", n.replication(), pd)
	fmt.Fprintf(&b, "          \"peer-client\": %t,\n          \"resync-suspended\": \"no\",\n", pd == diskDiskless)
	fmt.Fprintf(&b, "          \"received\": %d,\n          \"sent\": %d,\n          \"out-of-sync\": %d,\n", n.ctr.nr, n.ctr.ns, oos)
	syncing := cs == csSyncSource || cs == csSyncTarget
	// drbdsetup prints a verify's progress as a resync's (has-sync-details): rs-total is the
	// verify's total, ov-left (sectors) what is left, and percent-resync-done is computed from
	// them.
	v := n.p.verify
	verifying := (cs == csVerifyS || cs == csVerifyT) && v != nil
	fmt.Fprintf(&b, "          \"pending\": 0,\n          \"unacked\": 0,\n          \"has-sync-details\": %t,\n", syncing || verifying)
	fmt.Fprintf(&b, "          \"has-online-verify-details\": %t,\n", verifying && v.leftBits > 0)
	inSync := 100 * (1 - float64(oos)/float64(c.SizeKiB))
	fmt.Fprintf(&b, "          \"percent-in-sync\": %.2f", inSync)
	if verifying {
		totalSectors, leftSectors := v.totalBits*8, v.leftBits*8
		fmt.Fprintf(&b, ",\n          \"rs-total\": %d,\n          \"rs-dt-start-ms\": 30000,\n          \"rs-paused-ms\": 0,\n", totalSectors)
		b.WriteString("          \"rs-dt0-ms\": 3000,\n          \"rs-db0-sectors\": 0,\n          \"rs-dt1-ms\": 3000,\n" +
			"          \"rs-db1-sectors\": 0,\n")
		fmt.Fprintf(&b, "          \"ov-start-sector\": 0,\n          \"ov-stop-sector\": %d,\n          \"ov-position\": %d,\n",
			totalSectors, totalSectors-leftSectors)
		fmt.Fprintf(&b, "          \"ov-left\": %d,\n          \"ov-skipped\": 0,\n          \"want\": 0.00,\n", leftSectors)
		b.WriteString("          \"db0/dt0 [MiB/s]\": 0.00,\n          \"db1/dt1 [MiB/s]\": 0.00,\n" +
			"          \"estimated-seconds-to-finish\": 987654321,\n          \"db/dt [MiB/s]\": 0.00,\n")
		fmt.Fprintf(&b, "          \"percent-resync-done\": %.2f", 100*float64(totalSectors-leftSectors)/float64(totalSectors))
	}
	if syncing {
		s := n.p.sync
		left := s.leftBits * 4
		want := 0.0
		if cs == csSyncTarget {
			want = float64(n.wantKiB()) / 1024
		}
		fmt.Fprintf(&b, ",\n          \"rs-total\": %d,\n          \"rs-dt-start-ms\": 30000,\n          \"rs-paused-ms\": 0,\n", s.totalBits*4)
		b.WriteString("          \"rs-dt0-ms\": 3000,\n          \"rs-db0-sectors\": 204792,\n          \"rs-dt1-ms\": 3000,\n" +
			"          \"rs-db1-sectors\": 204792,\n          \"rs-failed\": 0,\n          \"rs-same-csum\": 0,\n")
		mibps := float64(simSpeedKiB) / 1024
		fmt.Fprintf(&b, "          \"want\": %.2f,\n          \"db0/dt0 [MiB/s]\": %.2f,\n          \"db1/dt1 [MiB/s]\": %.2f,\n", want, mibps, mibps)
		fmt.Fprintf(&b, "          \"estimated-seconds-to-finish\": %d,\n          \"db/dt [MiB/s]\": %.2f,\n", left/simSpeedKiB, mibps)
		fmt.Fprintf(&b, "          \"percent-resync-done\": %.2f", n.p.donePercent())
	}
	b.WriteString("\n        }")
	for vol := 1; vol < n.p.volumes(); vol++ {
		fmt.Fprintf(&b, ",\n        { \"volume\": %d, \"replication-state\": %q, \"peer-disk-state\": %q }", vol, n.replication(), n.peerDiskOf(vol))
	}
	b.WriteString(" ]\n    }")
	if t := n.thirdPeer(); t != nil {
		repl := "Off"
		if t.Connection == "Connected" {
			repl = "Established"
		}
		fmt.Fprintf(&b, ",\n    { \"peer-node-id\": 2, \"name\": %q, \"connection-state\": %q, \"peer-role\": %q, \"peer_devices\": [", t.Name, t.Connection, t.Role)
		for vol := range n.p.volumes() {
			if vol > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "\n        { \"volume\": %d, \"replication-state\": %q, \"peer-disk-state\": %q }", vol, repl, t.Disk)
		}
		b.WriteString(" ] }")
	}
	b.WriteString(" ]\n}\n]\n\n")
	return b.String()
}

// usage84 is drbdsetup-84's usage text, as printed after an option error.
var usage84 = func() string {
	cmds := []string{"primary", "secondary", "attach", "disk-options", "detach", "connect", "net-options",
		"disconnect", "resize", "resource-options", "new-current-uuid", "invalidate", "invalidate-remote",
		"pause-sync", "resume-sync", "suspend-io", "resume-io", "outdate", "verify", "down", "state", "role",
		"sh-status", "cstate", "dstate", "show-gi", "get-gi", "show", "status", "check-resize", "events",
		"events2", "wait-connect", "wait-sync", "new-resource", "new-minor", "del-minor", "del-resource"}
	var b strings.Builder
	b.WriteString("\nUSAGE: drbdsetup command device arguments options\n\n" +
		"Device is usually /dev/drbdX or /dev/drbd/X.\n\nCommands are:\n")
	for i, c := range cmds {
		if i%3 == 0 {
			b.WriteString("    ")
		}
		fmt.Fprintf(&b, "%-20s", c)
		if i%3 == 2 || i == len(cmds)-1 {
			b.WriteString("\n")
		}
	}
	b.WriteString("\nTo get more details about a command issue 'drbdsetup help cmd'.\n")
	return b.String()
}()
