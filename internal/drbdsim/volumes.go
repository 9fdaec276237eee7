package drbdsim

import "fmt"

// A second volume and a third node: the pair models one volume between two nodes; these
// extend what the nodes print so that guards deciding over every volume and every peer can
// be tested. Every further volume shares volume 0's role, connection and resync, and its
// disk follows volume 0's unless SetVolumeDiskState set it apart (until the next change of
// volume 0's disk: `primary --force` forces every volume, as DRBD does). The third node is
// a DRBD 9 peer connection whose state the test sets (SetThirdPeer); it acts on nothing.

// ThirdPeer is the state of the third node of a DRBD 9 resource as both nodes see it.
type ThirdPeer struct {
	// Name is the connection's (host) name; default "node3".
	Name string
	// Connection is "Connected", "Connecting" or "StandAlone".
	Connection string
	// Role is the peer's role ("Unknown" when not connected); Disk its disk state of every
	// volume ("DUnknown" when not connected).
	Role, Disk string
}

// volumes returns the number of volumes of the resource.
func (p *Pair) volumes() int { return max(p.cfg.Volumes, 1) }

// diskOf returns the node's disk state of volume vol. Callers hold mu.
func (n *Node) diskOf(vol int) string {
	if s, ok := n.volDisk[vol]; ok && vol > 0 {
		return s
	}
	return n.disk
}

// peerDiskOf returns the disk of volume vol this node sees for its peer. Callers hold mu.
func (n *Node) peerDiskOf(vol int) string {
	_, pd := n.peerView()
	if pd == diskDUnknown {
		return pd
	}
	return n.peer().diskOf(vol)
}

// minorOf returns the minor of volume vol.
func (p *Pair) minorOf(vol int) int { return p.cfg.Minor + vol }

// SetVolumeDiskState sets the local disk state of volume vol (1 or more) apart from volume 0
// (fault injection: a resource whose volumes differ). It has no effect while the resource
// is down, and lasts until volume 0's disk state next changes.
func (n *Node) SetVolumeDiskState(vol int, s string) {
	n.p.mutate(func() {
		if !n.up || vol < 1 || vol >= n.p.volumes() {
			return
		}
		if n.volDisk == nil {
			n.volDisk = map[int]string{}
		}
		n.volDisk[vol] = s
	})
}

// SetThirdPeer sets the third node of a DRBD 9 resource (PairConfig.ThirdPeer must be set).
func (p *Pair) SetThirdPeer(t ThirdPeer) {
	p.mutate(func() {
		if t.Name == "" {
			t.Name = "node3"
		}
		p.third = &t
	})
}

// SetNoQuorum makes a DRBD 9 node report that it has no quorum (quorum enabled on the
// resource, too few nodes visible): `drbdsetup status --json` prints "quorum": false and
// events2 quorum:no for every volume, and `drbdadm primary` fails with DRBD's "(-25) No
// quorum" unless forced (9.2's --force promotes without quorum). It acts on nothing else;
// false puts quorum back.
func (n *Node) SetNoQuorum(lost bool) {
	n.p.mutate(func() { n.noQuorum = lost && n.p.cfg.Version == V9 })
}

// hasQuorum is what DRBD 9 prints for a device's quorum. Callers hold mu.
func (n *Node) hasQuorum() bool { return !n.noQuorum }

// thirdPeer returns the third node as this node sees it, nil when there is none. Callers
// hold mu.
func (n *Node) thirdPeer() *ThirdPeer {
	if n.p.third == nil || n.p.cfg.Version != V9 || !n.up {
		return nil
	}
	return n.p.third
}

// AfterNext runs fn once, right after the next command on this node whose text contains
// substr has finished (a state change between two round trips of a client, as another
// operator or DRBD itself could make). fn runs without the pair's lock held and may call
// any method.
func (n *Node) AfterNext(substr string, fn func()) {
	n.p.view(func() { n.after = append(n.after, afterHook{substr: substr, fn: fn}) })
}

// afterHook is one AfterNext registration.
type afterHook struct {
	substr string
	fn     func()
}

// deviceOf returns the device of volume vol.
func (n *Node) deviceOf(vol int) string { return fmt.Sprintf("/dev/drbd%d", n.p.minorOf(vol)) }

// yesNo is DRBD's yes/no of events2.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
