package drbdsim

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"
)

// Version selects the DRBD generation a Pair simulates.
type Version int

// Simulated DRBD generations. The zero Version means V84.
const (
	// V84 is Debian bookworm's in-tree DRBD 8.4.11 module driven by drbd-utils 9.22.0.
	V84 Version = iota
	// V83 is DRBD 8.3.13 with its own 8.3 utils (old command syntax, no --version).
	V83
	// V9 is DRBD 9.2.12 (LINBIT's module) with drbd-utils 9.22.0, as captured in the lab
	// (internal/drbd/testdata/drbd-9.2.12, compared by TestCapturesDRBD9).
	V9
)

// String returns "8.3", "8.4" or "9".
func (v Version) String() string {
	switch v {
	case V83:
		return "8.3"
	case V9:
		return "9"
	default:
		return "8.4"
	}
}

// DRBD state words, spelled as DRBD prints them.
const (
	rolePrimary   = "Primary"
	roleSecondary = "Secondary"
	roleUnknown   = "Unknown"

	diskUpToDate     = "UpToDate"
	diskInconsistent = "Inconsistent"
	diskConsistent   = "Consistent"
	diskOutdated     = "Outdated"
	diskDiskless     = "Diskless"
	diskFailed       = "Failed"
	diskDUnknown     = "DUnknown"

	csStandAlone   = "StandAlone"
	csWFConnection = "WFConnection"
	csConnected    = "Connected"
	csSyncSource   = "SyncSource"
	csSyncTarget   = "SyncTarget"
	csConnecting   = "Connecting" // DRBD 9 word for WFConnection
)

// ReadyFile is the file the Chef recipe waits for before reconfigure proceeds.
const ReadyFile = "/var/opt/opscode/drbd/drbd_ready"

// PairConfig describes the simulated pair. Zero fields take the documented defaults.
type PairConfig struct {
	Version     Version
	Resource    string // default "pc0"
	Minor       int    // default 0
	BackingDisk string // default "/dev/vdb"
	SizeKiB     int64  // usable size of the DRBD device; default 1048508 (a 1 GiB disk)
	NodeNames   [2]string
	// SyncStepPercent is the sync progress (percent of the resync total) added on the
	// first status read of every Handle call on either node. 0 means the default 25;
	// a negative value turns automatic progress off (use Advance or CompleteSync).
	SyncStepPercent float64
	// ConfigFile writes /etc/drbd.d/<res>.res with a realistic configuration on both
	// nodes at start. Without it, drbdadm reports the resource as not defined until a
	// file under /etc/drbd.d declares it.
	ConfigFile bool
	// AfterSB1Pri is the after-sb-1pri policy applied when a split brain is
	// detected with one Primary: "disconnect" (DRBD's default) or
	// "discard-secondary" (the Secondary's changes are discarded and it syncs from
	// the Primary). "" reads it from the nodes' /etc/drbd.d files, else "disconnect".
	AfterSB1Pri string
	// Volumes is the number of volumes of the resource (minors Minor, Minor+1, ...); 0 means 1.
	Volumes int
	// AfterSB0Pri and AfterSB2Pri are the after-sb-0pri and after-sb-2pri policies, read
	// like AfterSB1Pri. The simulator models one two-primaries recovery, the lab's
	// "after-sb-2pri call-pri-lost-after-sb" with "after-sb-0pri discard-younger-primary":
	// DRBD picks the node that became Primary while apart as the victim, which must give up
	// the Primary role, and the other node must sync to it; with both still Primary, DRBD
	// 8.4.11 logs "automatically solved", refuses the resync and drops the connection.
	AfterSB0Pri, AfterSB2Pri string
	// VictimDropsFirst is the other outcome of that race, also seen on real DRBD 8.4.11: the
	// victim drops the connection before the survivor refuses the resync, so the survivor
	// logs "automatically solved" after the connection is gone and goes back to
	// WFConnection (still Primary) instead of StandAlone.
	VictimDropsFirst bool
	// VerifyAlg is the net option verify-alg in force on both nodes, e.g. "sha256". ""
	// (DRBD's default) means none: `drbdadm verify` is refused.
	VerifyAlg string
}

func (c *PairConfig) setDefaults() {
	if c.Resource == "" {
		c.Resource = "pc0"
	}
	if c.BackingDisk == "" {
		c.BackingDisk = "/dev/vdb"
	}
	if c.SizeKiB <= 0 {
		c.SizeKiB = 1048508
	}
	c.SizeKiB &^= 3 // DRBD tracks 4 KiB blocks
	if c.NodeNames[0] == "" {
		c.NodeNames[0] = "node1"
	}
	if c.NodeNames[1] == "" {
		c.NodeNames[1] = "node2"
	}
	if c.SyncStepPercent == 0 {
		c.SyncStepPercent = 25
	}
}

// Pair is the shared state of two simulated DRBD nodes. All methods are
// safe for concurrent use.
type Pair struct {
	cfg PairConfig

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced on every state change
	nodes        [2]*Node
	netCut       bool
	wasConnected bool
	sync         *resync // running or interrupted resync; nil when none
	reconfSeq    int
	klogSeq      int
	handshaking  bool       // handshake is running: it logs the resync it starts itself
	third        *ThirdPeer // DRBD 9's third node (SetThirdPeer), nil for a pair
	verify       *verifyRun // running online verify; nil when none
	divergentKiB int64      // blocks that differ without DRBD knowing (InjectOutOfSync)
	foundKiB     int64      // blocks online verify marked out of sync on both nodes
	// growPending is the resync of an area `drbdadm resize` added, not started yet: DRBD
	// starts it when the peers have exchanged their new sizes, after the command returned.
	growPending *pendingGrow
	// volSizes is the DRBD device size (KiB) of every further volume that `drbdadm resize`
	// grew apart from volume 0 (cfg.SizeKiB); the others have volume 0's.
	volSizes map[int]int64
}

// pendingGrow is a resync of a grown area that DRBD has not started yet; the status reads
// until it starts show the pair Connected, UpToDate/UpToDate, with the area out of sync.
type pendingGrow struct {
	source int
	kib    int64
	node   int  // the node that ran `drbdadm resize`
	shown  bool // one status read on that node has shown it pending
}

// resync is a resync between the two nodes, counted in 4 KiB bitmap bits
// exactly like the kernel does.
type resync struct {
	source    int
	totalBits int64
	leftBits  int64
}

// NewPair creates a pair with both nodes powered on, the DRBD module loaded and
// no metadata on the backing disks.
func NewPair(cfg PairConfig) *Pair {
	cfg.setDefaults()
	p := &Pair{cfg: cfg, changed: make(chan struct{}), volSizes: map[int]int64{}}
	for i := range p.nodes {
		p.nodes[i] = newNode(p, i)
	}
	return p
}

// Config returns the effective configuration (defaults applied).
func (p *Pair) Config() PairConfig { return p.cfg }

// Node returns node i (0 or 1).
func (p *Pair) Node(i int) *Node { return p.nodes[i] }

// mutate runs fn under the lock, then re-evaluates the connection and wakes waiters.
func (p *Pair) mutate(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn()
	p.settle()
}

// view runs fn under the lock without signalling a change.
func (p *Pair) view(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn()
}

// linkUp reports whether the DRBD connection between the nodes is established.
func (p *Pair) linkUp() bool {
	a, b := p.nodes[0], p.nodes[1]
	return !p.netCut && a.up && b.up && !a.standAlone && !b.standAlone
}

// settle applies connection edges (handshake, loss) and notifies waiters. Callers hold mu.
func (p *Pair) settle() {
	up := p.linkUp()
	if up && !p.wasConnected {
		p.handshake()
		up = p.linkUp()
	}
	if !up && p.wasConnected {
		for _, n := range p.nodes {
			n.primaryAtSplit = n.role == rolePrimary
		}
	}
	if !up && p.sync != nil && !p.syncValid() {
		p.sync = nil
	}
	if !up {
		p.verify = nil // a lost connection ends online verify
	}
	p.wasConnected = up
	close(p.changed)
	p.changed = make(chan struct{})
}

// syncValid reports whether the remembered resync still makes sense.
func (p *Pair) syncValid() bool {
	s := p.sync
	src, dst := p.nodes[s.source], p.nodes[1-s.source]
	return src.disk == diskUpToDate && dst.disk == diskInconsistent
}

// handshake decides what happens when the connection comes up: split brain
// (unresolved, or solved by --discard-my-data or the after-sb-1pri policy), a
// resync (resumed, bitmap-based or full) or nothing. It logs what the kernel
// logs. Callers hold mu.
func (p *Pair) handshake() {
	a, b := p.nodes[0], p.nodes[1]
	atConnect := [2]string{a.disk, b.disk} // DRBD 9 logs the peer's disk as the handshake found it
	p.handshaking = true
	defer func() { p.handshaking = false }()
	for _, n := range p.nodes {
		if p.cfg.Version != V9 {
			n.klogConnState(csWFConnection, "WFReportParams")
		}
	}
	diverged := a.dirtyKiB > 0 && b.dirtyKiB > 0
	for _, n := range p.nodes {
		if !n.discardMyData {
			continue
		}
		pe := n.peer()
		if diverged {
			n.klogDev("Split-Brain detected, manually solved. Sync from peer node")
			pe.klogDev("Split-Brain detected, manually solved. Sync from this node")
		}
		n.discard()
		if pe.disk == diskUpToDate {
			n.disk = diskOutdated
		}
	}
	if a.dirtyKiB > 0 && b.dirtyKiB > 0 {
		// Both sides changed data while apart: split brain.
		var primaries []*Node
		for _, n := range p.nodes {
			if n.role == rolePrimary {
				primaries = append(primaries, n)
			}
		}
		if len(primaries) == 2 && p.twoPrimaries() {
			return
		}
		if len(primaries) == 1 && p.afterSB1Pri() == "discard-secondary" {
			survivor := primaries[0]
			victim := survivor.peer()
			victim.klogDev("Split-Brain detected, 1 primaries, automatically solved. Sync from peer node")
			survivor.klogDev("Split-Brain detected, 1 primaries, automatically solved. Sync from this node")
			victim.discard()
			victim.disk = diskOutdated
		} else {
			for _, n := range p.nodes {
				n.klogDev("Split-Brain detected but unresolved, dropping connection!")
				if p.cfg.Version == V9 {
					// 9.2.12: the cluster-wide state change to Connected is aborted.
					n.klogDev("helper command: /sbin/drbdadm split-brain")
					n.klogConn("conn( Connecting -> Disconnecting ) [connect-failed]")
					n.klogConn("conn( Disconnecting -> StandAlone ) [disconnected]")
					continue
				}
				n.klogDev(fmt.Sprintf("helper command: /sbin/drbdadm split-brain minor-%d", p.cfg.Minor))
				n.klogConn("conn( WFReportParams -> Disconnecting )")
				n.klogConnState("Disconnecting", csStandAlone)
			}
			a.standAlone, b.standAlone = true, true
			return
		}
	}
	defer p.logConnected(atConnect)
	if p.sync != nil && p.syncValid() {
		src := p.nodes[p.sync.source]
		p.sync.leftBits += kibToBits(src.dirtyKiB)
		p.sync.totalBits = p.sync.leftBits
		a.dirtyKiB, b.dirtyKiB = 0, 0
		return
	}
	p.sync = nil
	if p.foundKiB > 0 {
		// Blocks online verify found resync from a Primary (it made a new current UUID when
		// the connection went); between two Secondaries DRBD resyncs nothing.
		// (a DRBD 9 Secondary disconnected gracefully from the Primary comes back Outdated).
		if pi := p.primaryIndex(); pi >= 0 && p.nodes[pi].disk == diskUpToDate &&
			(p.nodes[1-pi].disk == diskUpToDate || p.nodes[1-pi].disk == diskOutdated) {
			p.nodes[pi].dirtyKiB += p.foundKiB
			p.foundKiB = 0
		} else {
			for _, n := range p.nodes {
				n.klogDev(fmt.Sprintf("No resync, but %d bits in bitmap!", p.foundKiB/4))
			}
		}
	}
	for i, n := range p.nodes {
		peer := p.nodes[1-i]
		if n.disk != diskUpToDate {
			continue
		}
		switch peer.disk {
		case diskInconsistent:
			p.startSync(i, p.cfg.SizeKiB)
		case diskConsistent, diskOutdated:
			peer.setDisk(diskUpToDate)
			if n.dirtyKiB > 0 {
				p.startSync(i, n.dirtyKiB)
			}
		case diskUpToDate:
			if n.dirtyKiB > 0 {
				p.startSync(i, n.dirtyKiB)
			}
		}
		if p.sync != nil {
			break
		}
	}
	a.dirtyKiB, b.dirtyKiB = 0, 0
}

// twoPrimaries applies "after-sb-2pri call-pri-lost-after-sb" to a split brain found with
// both nodes Primary, as DRBD 8.4.11 did in the lab (internal/drbd's
// testdata/drbd-8.4.11/splitbrain-2pri): the after-sb-0pri policy
// (discard-younger-primary: the node that was not Primary when the link went down) picks
// the victim. The survivor logs "automatically solved. Sync from this node", but cannot sync
// to a peer it sees Primary ("Multiple primaries not allowed by config") and drops the
// connection. The victim cannot give up the Primary role (with its device mounted DRBD says
// why, without it the lab showed no reason), runs the pri-lost-after-sb handler and leaves
// the split brain unresolved. Both nodes end StandAlone and Primary (with VictimDropsFirst the
// survivor ends in WFConnection), nothing is discarded.
// It returns false, changing nothing, for the other policies and when no victim can be
// picked. Callers hold mu.
func (p *Pair) twoPrimaries() bool {
	if p.cfg.Version == V9 || p.afterSB("2pri", p.cfg.AfterSB2Pri) != "call-pri-lost-after-sb" ||
		p.afterSB("0pri", p.cfg.AfterSB0Pri) != "discard-younger-primary" {
		return false
	}
	a, b := p.nodes[0], p.nodes[1]
	if a.primaryAtSplit == b.primaryAtSplit {
		return false
	}
	survivor, victim := a, b
	if b.primaryAtSplit {
		survivor, victim = b, a
	}
	// victimCS is the victim's connection state when it gives up: NetworkFailure when the
	// survivor closed the connection first.
	victimCS := "NetworkFailure"
	if p.cfg.VictimDropsFirst {
		victimCS = "WFReportParams"
		survivor.klogConn("meta connection shut down by peer.")
		survivor.klogConn("conn( WFReportParams -> NetworkFailure )")
	}
	survivor.klogDev("Split-Brain detected, 2 primaries, automatically solved. Sync from this node")
	if p.cfg.VictimDropsFirst {
		survivor.klogConn("conn( NetworkFailure -> Unconnected )")
		survivor.klogConnState("Unconnected", csWFConnection)
	} else {
		survivor.klogDev("State change failed: Multiple primaries not allowed by config")
		survivor.klogDev(fmt.Sprintf("  state = { cs:WFReportParams ro:Primary/Unknown ds:%s/DUnknown r----- }", survivor.disk))
		survivor.klogDev(fmt.Sprintf(" wanted = { cs:WFBitMapS ro:Primary/Primary ds:%s/Consistent r----- }", survivor.disk))
		survivor.klogConn("conn( WFReportParams -> Disconnecting )")
		survivor.klogConnState("Disconnecting", csStandAlone)
		survivor.standAlone = true
		victim.klogConn("meta connection shut down by peer.")
		victim.klogConn("conn( WFReportParams -> NetworkFailure )")
	}
	if victim.devMounted() {
		victim.klogDev("State change failed: Device is held open by someone")
		victim.klogDev(fmt.Sprintf("  state = { cs:%s ro:Primary/Unknown ds:%s/DUnknown r----- }", victimCS, victim.disk))
		victim.klogDev(fmt.Sprintf(" wanted = { cs:%s ro:Secondary/Unknown ds:%s/DUnknown r----- }", victimCS, victim.disk))
	}
	victim.klogDev(fmt.Sprintf("helper command: /sbin/drbdadm pri-lost-after-sb minor-%d", p.cfg.Minor))
	victim.klogDev("Split-Brain detected but unresolved, dropping connection!")
	victim.klogDev(fmt.Sprintf("helper command: /sbin/drbdadm split-brain minor-%d", p.cfg.Minor))
	victim.klogConn("conn( " + victimCS + " -> Disconnecting )")
	victim.klogConnState("Disconnecting", csStandAlone)
	victim.standAlone = true
	return true
}

// discard throws this node's changes since the split away: the peer resyncs
// those blocks too. Callers hold mu.
func (n *Node) discard() {
	pe := n.peer()
	n.discardedKiB += n.dirtyKiB
	pe.dirtyKiB += n.dirtyKiB
	n.dirtyKiB, n.discardMyData = 0, false
}

// logConnected logs the end of a successful handshake; atConnect is each node's disk state
// before the handshake. Callers hold mu.
func (p *Pair) logConnected(atConnect [2]string) {
	for i, n := range p.nodes {
		switch {
		case p.cfg.Version == V9:
			// As 9.2.12 logs it: the node with the lower node id commits the cluster-wide
			// state change ([connected]), its peer applies it ([remote]).
			why := "[connected]"
			if i == 1 {
				why = "[remote]"
			}
			n.klogConn(fmt.Sprintf("conn( Connecting -> Connected ) peer( Unknown -> %s ) %s", n.peer().role, why))
			n.klogDev(fmt.Sprintf("pdsk( DUnknown -> %s ) repl( Off -> Established ) %s", atConnect[1-i], why))
			if p.sync != nil {
				n.klogSyncStart(p.sync.source == i)
			}
		case p.sync != nil && p.sync.source == i:
			n.klogDev("conn( WFReportParams -> WFBitMapS )")
		case p.sync != nil:
			n.klogDev("conn( WFReportParams -> WFBitMapT )")
		default:
			n.klogDev("conn( WFReportParams -> Connected )")
		}
	}
}

// startSync starts a resync of kib KiB from node src to its peer. Callers hold mu.
func (p *Pair) startSync(src int, kib int64) {
	bits := kibToBits(kib)
	if bits <= 0 {
		return
	}
	p.sync = &resync{source: src, totalBits: bits, leftBits: bits}
	p.nodes[1-src].setDisk(diskInconsistent)
	if p.cfg.Version == V9 {
		p.nodes[1-src].resyncedFrom = true
	}
	if p.cfg.Version == V9 && !p.handshaking && p.linkUp() {
		for i, n := range p.nodes {
			n.klogSyncStart(i == src)
		}
	}
}

// klogSyncStart logs the start of a resync on DRBD 9 (9.2.12's words). Callers hold mu.
func (n *Node) klogSyncStart(source bool) {
	s := "S"
	if !source {
		s = "T"
	}
	n.klogDev("repl( Established -> WFBitMap" + s + " ) [peer-state]")
	n.klogDev("repl( WFBitMap" + s + " -> Sync" + map[bool]string{true: "Source", false: "Target"}[source] + " ) [receive-bitmap]")
}

func kibToBits(kib int64) int64 { return (kib + 3) / 4 }

// syncActive reports whether a resync is running (connected). Callers hold mu.
func (p *Pair) syncActive() bool { return p.sync != nil && p.linkUp() }

// advance moves a running resync forward by percent of its total. Callers hold mu.
func (p *Pair) advance(percent float64) {
	if p.verify != nil && p.linkUp() && percent > 0 {
		p.advanceVerify(percent)
		return
	}
	if !p.syncActive() || percent <= 0 {
		return
	}
	step := int64(math.Ceil(float64(p.sync.totalBits) * percent / 100))
	if step < 1 {
		step = 1
	}
	if step > p.sync.leftBits {
		step = p.sync.leftBits
	}
	p.sync.leftBits -= step
	src, dst := p.nodes[p.sync.source], p.nodes[1-p.sync.source]
	src.ctr.ns += step * 4
	src.ctr.dr += step * 4
	dst.ctr.nr += step * 4
	dst.ctr.dw += step * 4
	if p.sync.leftBits <= 0 {
		p.finishSync()
	}
}

// finishSync completes the running resync. Callers hold mu.
func (p *Pair) finishSync() {
	if !p.syncActive() {
		return
	}
	src, dst := p.nodes[p.sync.source], p.nodes[1-p.sync.source]
	dst.setDisk(diskUpToDate)
	dst.devFS = src.devFS
	p.sync = nil
	if p.cfg.Version == V9 {
		src.klogDev("pdsk( Inconsistent -> UpToDate ) repl( SyncSource -> Established ) [resync-finished]")
		dst.klogDev("repl( SyncTarget -> Established ) [resync-finished]")
	}
}

// Advance moves a running resync forward by percent of its total (no-op when none runs).
func (p *Pair) Advance(percent float64) { p.mutate(func() { p.advance(percent) }) }

// CompleteSync finishes a running resync (or one DRBD has yet to start after a grow) at once:
// both disks become UpToDate.
func (p *Pair) CompleteSync() {
	p.mutate(func() {
		p.startPendingGrow()
		p.finishSync()
	})
}

// startPendingGrow starts the resync of a grown area. Callers hold mu.
func (p *Pair) startPendingGrow() {
	if g := p.growPending; g != nil && p.linkUp() {
		p.growPending = nil
		p.startSync(g.source, g.kib)
	}
}

// Syncing reports whether a resync is running and its progress in percent.
func (p *Pair) Syncing() (running bool, percent float64) {
	p.view(func() {
		if p.syncActive() {
			running = true
			percent = 100 * float64(p.sync.totalBits-p.sync.leftBits) / float64(p.sync.totalBits)
		}
	})
	return running, percent
}

// BringUp is a shortcut for create-md and up on both nodes: the pair ends up
// Connected, Secondary/Secondary, Inconsistent/Inconsistent (unless the network is cut).
func (p *Pair) BringUp() {
	p.mutate(func() {
		for _, n := range p.nodes {
			if !n.hasMD {
				n.createMD()
			}
			if !n.up {
				n.bringUp()
			}
		}
	})
}

// Disconnect cuts the replication network: both nodes wait for the peer
// (WFConnection on 8.x, Connecting on 9), the peer shows Unknown/DUnknown and a
// running resync is interrupted (it resumes on Reconnect).
func (p *Pair) Disconnect() { p.mutate(func() { p.netCut = true }) }

// Reconnect restores the replication network. Nodes that are StandAlone stay so
// until `drbdadm connect` (or adjust) runs on them.
func (p *Pair) Reconnect() { p.mutate(func() { p.netCut = false }) }

// SplitBrain puts the pair into a split-brain state: both nodes StandAlone with
// diverged data, so a plain `drbdadm connect` on both detects split brain again
// until one side connects with --discard-my-data.
func (p *Pair) SplitBrain() {
	p.mutate(func() {
		for _, n := range p.nodes {
			if n.up && !n.standAlone {
				n.klogDev("Split-Brain detected but unresolved, dropping connection!")
				n.klogConnState("WFReportParams", "Disconnecting")
				n.klogConnState("Disconnecting", csStandAlone)
			}
			n.standAlone = true
			if n.dirtyKiB == 0 {
				n.dirtyKiB = 4096
			}
		}
		p.sync = nil
	})
}

// fault is a one-shot failure or delay injected into the next run of a program.
type fault struct {
	exit   int
	stderr string
	delay  time.Duration
}

type counters struct{ ns, nr, dw, dr, al int64 }

type filesystem struct {
	fstype, uuid string
	sizeKiB      int64 // size recorded in the superblock
}

type mountInfo struct{ dev, fstype, opts string }

// Node is one simulated host of a Pair.
type Node struct {
	p    *Pair
	idx  int
	name string

	files map[string]*fsEntry

	hasMD      bool
	backingKiB int64 // size of the backing disk of volume 0 (GrowBacking)
	// volBackingKiB is the size of the backing disk of every further volume
	// (GrowVolumeBacking), by volume.
	volBackingKiB map[int]int64
	up            bool
	everUp        bool
	role          string
	disk          string         // current disk state while up
	volDisk       map[int]string // volumes whose disk differs from volume 0's (SetVolumeDiskState)
	mdDisk        string         // disk state persisted in the metadata
	standAlone    bool
	discardMyData bool
	dirtyKiB      int64 // written while disconnected (bitmap)
	devFS         *filesystem
	backingFS     *filesystem
	mounts        map[string]mountInfo
	resyncOpts    map[string]string
	ctr           counters
	kernelLog     []string
	discardedKiB  int64
	// everUpToDate is false from create-md until the node first holds UpToDate data.
	everUpToDate bool
	// resyncedFrom is set when a DRBD 9 node became a SyncTarget: it took the source's
	// generation UUID at the start of the resync, so its metadata is no longer Just Created.
	resyncedFrom bool
	// primaryAtSplit is whether the node was Primary when the connection was last lost
	// (DRBD keeps it in the bitmap UUID; after-sb-0pri discard-younger-primary reads it).
	primaryAtSplit bool
	// dmesgRestricted makes dmesg fail (a non-root user under dmesg_restrict).
	dmesgRestricted bool
	// autoPromoted is set when a mount promoted the node (DRBD 9's auto-promote); the last
	// umount demotes it again. `drbdadm primary` clears it.
	autoPromoted bool
	// noQuorum is DRBD 9's lost quorum (SetNoQuorum).
	noQuorum bool

	executed    [][]string
	mutating    [][]string
	reconfRuns  []int
	faults      map[string]fault
	blockReconf bool
	after       []afterHook
}

func newNode(p *Pair, i int) *Node {
	n := &Node{
		p: p, idx: i, name: p.cfg.NodeNames[i],
		role: roleSecondary, mounts: map[string]mountInfo{},
		resyncOpts: map[string]string{}, faults: map[string]fault{},
	}
	n.backingKiB = backingFor(p.cfg.SizeKiB)
	n.volBackingKiB = map[int]int64{}
	n.initFS()
	return n
}

// Name returns the node's host name.
func (n *Node) Name() string { return n.name }

func (n *Node) peer() *Node { return n.p.nodes[1-n.idx] }

func (n *Node) setDisk(s string) {
	n.disk = s
	n.volDisk = nil
	if s == diskUpToDate {
		n.everUpToDate = true
	}
	switch s {
	case diskUpToDate, diskInconsistent, diskConsistent, diskOutdated:
		n.mdDisk = s
	}
}

// createMD writes fresh metadata. Callers hold mu.
func (n *Node) createMD() {
	n.hasMD = true
	n.everUpToDate = false
	n.resyncedFrom = false
	n.mdDisk = diskInconsistent
	n.dirtyKiB = 0
	if n.p.sync != nil {
		n.p.sync = nil
	}
}

// bringUp attaches and connects. Callers hold mu.
func (n *Node) bringUp() {
	n.up, n.everUp = true, true
	n.role = roleSecondary
	n.standAlone = false
	n.disk = n.mdDisk
	if n.disk == "" {
		n.disk = diskInconsistent
	}
	n.ctr = counters{al: 8}
	n.resyncOpts = map[string]string{}
}

// takeDown detaches and removes the minor. Callers hold mu.
func (n *Node) takeDown() {
	n.up = false
	n.role = roleSecondary
	n.standAlone = false
	n.resyncOpts = map[string]string{}
}

// connState returns the 8.4 connection word of this node. Callers hold mu.
func (n *Node) connState() string {
	p := n.p
	switch {
	case !n.up:
		return ""
	case n.standAlone:
		return csStandAlone
	case !p.linkUp():
		return csWFConnection
	case p.sync != nil && p.sync.source == n.idx:
		return csSyncSource
	case p.sync != nil:
		return csSyncTarget
	case p.verify != nil && p.verify.source == n.idx:
		return csVerifyS
	case p.verify != nil:
		return csVerifyT
	default:
		return csConnected
	}
}

// peerView returns what this node knows about its peer. Callers hold mu.
//
// DRBD 9 keeps a peer it was resyncing Inconsistent after the connection is gone (seen on
// 9.2.12: the SyncTarget's plug pulled mid-resync left "connection:Connecting
// replication:Off peer-disk:Inconsistent" on the SyncSource); 8.x says DUnknown.
func (n *Node) peerView() (role, disk string) {
	if n.up && !n.p.linkUp() && n.p.cfg.Version == V9 && n.p.sync != nil && n.p.sync.source == n.idx && !n.standAlone {
		return roleUnknown, diskInconsistent
	}
	if !n.up || !n.p.linkUp() {
		return roleUnknown, diskDUnknown
	}
	pe := n.peer()
	return pe.role, pe.disk
}

// oosKiB is this node's out-of-sync count. Callers hold mu.
func (n *Node) oosKiB() int64 {
	p := n.p
	if g := p.growPending; g != nil {
		return g.kib + n.dirtyKiB + p.foundKiB
	}
	if p.sync != nil {
		if p.linkUp() || p.sync.source == n.idx || n.disk == diskInconsistent {
			return p.sync.leftBits * 4
		}
	}
	if n.disk == diskInconsistent && (p.cfg.Version != V9 || !n.justCreated()) {
		// DRBD 9 sets no bitmap bits on Just Created metadata: the pair shows 0 out of sync
		// (percent-in-sync 100) until the first resync starts.
		return p.cfg.SizeKiB
	}
	return n.dirtyKiB + p.foundKiB
}

// hasUpToDateAccess reports whether the node can serve I/O from up-to-date data. Callers hold mu.
func (n *Node) hasUpToDateAccess() bool {
	if n.disk == diskUpToDate {
		return true
	}
	_, pd := n.peerView()
	return pd == diskUpToDate
}

// writeData records application writes on this node. Callers hold mu.
func (n *Node) writeData(kib int64) {
	n.ctr.dw += kib
	n.ctr.al++
	if n.p.linkUp() {
		n.ctr.ns += kib
		n.peer().ctr.nr += kib
		n.peer().ctr.dw += kib
		return
	}
	n.dirtyKiB += kib
}

// Role returns the local role ("Primary", "Secondary"; "" when the resource is down).
func (n *Node) Role() (s string) {
	n.p.view(func() {
		if n.up {
			s = n.role
		}
	})
	return s
}

// PeerRole returns the role this node sees for its peer ("Unknown" when not connected).
func (n *Node) PeerRole() (s string) {
	n.p.view(func() { s, _ = n.peerView() })
	return s
}

// DiskState returns the local disk state ("" when the resource is down).
func (n *Node) DiskState() (s string) {
	n.p.view(func() {
		if n.up {
			s = n.disk
		}
	})
	return s
}

// PeerDiskState returns the disk state this node sees for its peer ("DUnknown" when not connected).
func (n *Node) PeerDiskState() (s string) {
	n.p.view(func() { _, s = n.peerView() })
	return s
}

// ConnState returns the connection state in 8.4 words (Connected, WFConnection,
// StandAlone, SyncSource, SyncTarget; "" when the resource is down), whatever the
// simulated version prints.
func (n *Node) ConnState() (s string) {
	n.p.view(func() { s = n.connState() })
	return s
}

// SetDiskState forces the local disk state (fault injection: "Diskless", "Failed",
// "Inconsistent", "Outdated", ...). It has no effect while the resource is down.
func (n *Node) SetDiskState(s string) {
	n.p.mutate(func() {
		if !n.up {
			return
		}
		n.setDisk(s)
		if n.p.sync != nil && !n.p.syncValid() {
			n.p.sync = nil
		}
	})
}

// ErrHeldOpen is returned by out-of-band operations refused because the device is mounted.
var ErrHeldOpen = errors.New("(-12) Device is held open by someone")

// Demote makes the node Secondary out of band. It fails while the device is
// mounted or the resource is down.
func (n *Node) Demote() (err error) {
	n.p.mutate(func() {
		switch {
		case !n.up:
			err = fmt.Errorf("%s: resource %s is down", n.name, n.p.cfg.Resource)
		case n.devMounted():
			err = fmt.Errorf("%s: %w", n.name, ErrHeldOpen)
		default:
			n.role = roleSecondary
		}
	})
	return err
}

// Promote makes the node Primary out of band, with the same rules as `drbdadm primary`.
func (n *Node) Promote() (err error) {
	n.p.mutate(func() {
		if code, msg := n.promote(false); code != 0 {
			err = fmt.Errorf("%s: %s", n.name, msg)
		}
	})
	return err
}

// Mount mounts the DRBD device on dir out of band (creating dir when missing), with
// the same rules as the mount command (Primary, a filesystem, not mounted yet).
func (n *Node) Mount(dir string) (err error) {
	n.p.mutate(func() {
		dir = cleanPath("/", dir)
		n.mkdirAll(dir)
		if code, msg := n.mount(n.device(), dir, "", ""); code != 0 {
			err = fmt.Errorf("%s: %s", n.name, msg)
		}
	})
	return err
}

// Unmount unmounts dir out of band.
func (n *Node) Unmount(dir string) (err error) {
	n.p.mutate(func() {
		dir = cleanPath("/", dir)
		if _, ok := n.mounts[dir]; !ok {
			err = fmt.Errorf("%s: %s: not mounted", n.name, dir)
			return
		}
		delete(n.mounts, dir)
	})
	return err
}

// MountedAt reports what is mounted on dir.
func (n *Node) MountedAt(dir string) (dev, fstype string, ok bool) {
	n.p.view(func() {
		var m mountInfo
		m, ok = n.mounts[cleanPath("/", dir)]
		dev, fstype = m.dev, m.fstype
	})
	return dev, fstype, ok
}

// HasMetadata reports whether DRBD metadata exists on the backing disk.
func (n *Node) HasMetadata() (ok bool) {
	n.p.view(func() { ok = n.hasMD })
	return ok
}

// IsUp reports whether the resource is up (the minor exists) on this node.
func (n *Node) IsUp() (ok bool) {
	n.p.view(func() { ok = n.up })
	return ok
}

// FSUUID returns the UUID of the filesystem on this node's copy of the replicated
// device ("" when there is none).
func (n *Node) FSUUID() (s string) {
	n.p.view(func() {
		if n.devFS != nil {
			s = n.devFS.uuid
		}
	})
	return s
}

// FSType returns the type of the filesystem on this node's copy of the replicated
// device ("" when there is none).
func (n *Node) FSType() (s string) {
	n.p.view(func() {
		if n.devFS != nil {
			s = n.devFS.fstype
		}
	})
	return s
}

// PutBackingFilesystem puts a filesystem of fstype directly on the backing disk
// (fault: create-md must refuse to overwrite it).
func (n *Node) PutBackingFilesystem(fstype string) {
	n.p.mutate(func() { n.backingFS = &filesystem{fstype: fstype, uuid: newUUID(), sizeKiB: n.backingKiB &^ 3} })
}

// WriteData simulates application writes of kib KiB on the node (replicated when
// connected, remembered in the bitmap otherwise, which leads to a bitmap resync or,
// when both sides wrote, split brain on the next connect).
func (n *Node) WriteData(kib int64) { n.p.mutate(func() { n.writeData(kib) }) }

// ResyncOptions returns the resync options set at runtime on this node
// (disk-options, peer-device-options or syncer), e.g.
// {"c-plan-ahead":"0","resync-rate":"1100M","c-min-rate":"0"}; empty after adjust, up or down.
func (n *Node) ResyncOptions() (m map[string]string) {
	n.p.view(func() { m = maps.Clone(n.resyncOpts) })
	return m
}

// Executed returns the argv of every simulated program run on this node, in order.
// Shell builtins and the sudo/sh wrappers are not listed (the wrapped command is);
// a file written through an output redirection is listed as {">", path} or {">>", path}.
func (n *Node) Executed() (out [][]string) {
	n.p.view(func() { out = cloneArgvs(n.executed) })
	return out
}

// Mutating returns the subset of Executed for which IsMutating is true.
func (n *Node) Mutating() (out [][]string) {
	n.p.view(func() { out = cloneArgvs(n.mutating) })
	return out
}

func cloneArgvs(in [][]string) [][]string {
	out := make([][]string, len(in))
	for i, a := range in {
		out[i] = slices.Clone(a)
	}
	return out
}

// record appends argv to the bookkeeping. Callers hold mu.
func (n *Node) record(argv []string) {
	a := slices.Clone(argv)
	n.executed = append(n.executed, a)
	if IsMutating(a) {
		n.mutating = append(n.mutating, a)
	}
}

// ReconfigureRuns returns the pair-wide sequence numbers (1, 2, ...) of the
// chef-server-ctl reconfigure runs that finished on this node (successfully or
// with an injected failure; cancelled runs are not counted).
func (n *Node) ReconfigureRuns() (out []int) {
	n.p.view(func() { out = slices.Clone(n.reconfRuns) })
	return out
}

// FailNext makes the next run of program (e.g. "chef-server-ctl", "drbdadm",
// "mkfs.ext4") fail with exit code exit after printing stderr, without any effect.
func (n *Node) FailNext(program string, exit int, stderr string) {
	n.p.mutate(func() {
		f := n.faults[program]
		f.exit, f.stderr = exit, stderr
		n.faults[program] = f
	})
}

// DelayNext makes the next run of program wait d (or until its context ends) before it runs.
func (n *Node) DelayNext(program string, d time.Duration) {
	n.p.mutate(func() {
		f := n.faults[program]
		f.delay = d
		n.faults[program] = f
	})
}

// BlockReconfigure makes chef-server-ctl reconfigure block (after its first lines)
// until it is unblocked again or its context ends.
func (n *Node) BlockReconfigure(block bool) { n.p.mutate(func() { n.blockReconf = block }) }

// ProcDRBD returns the current /proc/drbd text of the node without counting as a status read.
func (n *Node) ProcDRBD() (s string) {
	n.p.view(func() { s = n.renderProc() })
	return s
}

// justCreated reports whether the node's metadata still has DRBD's Just Created generation.
// Callers hold mu.
func (n *Node) justCreated() bool { return n.hasMD && !n.everUpToDate && !n.resyncedFrom }
