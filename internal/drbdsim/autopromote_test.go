package drbdsim

import (
	"strings"
	"testing"
)

// TestAutoPromote9 reproduces DRBD 9.2.12's auto-promote as seen in the lab: with both nodes
// Secondary, a mount of /dev/drbd0 on one of them promotes it ("role( Secondary -> Primary )
// [mount:223 auto-promote]") and the umount demotes it again; with the peer Primary the mount
// fails with "Wrong medium type". DRBD 8.4 has no auto-promote: a mount on a Secondary fails.
func TestAutoPromote9(t *testing.T) {
	for _, tc := range []struct {
		name     string
		v        Version
		promoted bool
	}{
		{"9", V9, true},
		{"8.4", V84, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := primaryPair(t, PairConfig{Version: tc.v})
			p.CompleteSync()
			n1, n2 := p.Node(0), p.Node(1)
			mustRun(t, n1, "mkfs.ext4 -q /dev/drbd0")
			mustRun(t, n1, "drbdadm secondary pc0")
			if tc.promoted && !strings.Contains(mustRun(t, n2, "blkid -p -o export /dev/drbd0"), "TYPE=ext4") {
				t.Error("blkid on node2 with both nodes Secondary did not read the signature (DRBD 9 allows it)")
			}
			mustRun(t, n2, "mkdir -p /mnt/t")
			r := run(t, n2, "mount /dev/drbd0 /mnt/t")
			if got := r.code == 0; got != tc.promoted {
				t.Fatalf("mount on a Secondary (peer Secondary) exited %d (%s), want success %v", r.code, r.stderr, tc.promoted)
			}
			if !tc.promoted {
				if !strings.Contains(r.stderr, "Wrong medium type") {
					t.Errorf("mount on an 8.4 Secondary: %q", r.stderr)
				}
				return
			}
			if n2.Role() != "Primary" {
				t.Fatalf("node2 is %s after the mount, want Primary (auto-promote)", n2.Role())
			}
			if !strings.Contains(mustRun(t, n2, "dmesg"), "role( Secondary -> Primary ) [mount:") {
				t.Error("no auto-promote line in node2's kernel log")
			}
			// The peer is Primary now: node1's mount fails, and so does a read-only open.
			if r := run(t, n1, "blkid -p -o export /dev/drbd0"); r.code != 2 || !strings.Contains(r.stderr+r.stdout, "Wrong medium type") {
				t.Errorf("blkid on node1 while node2 is Primary: exit %d %q %q", r.code, r.stdout, r.stderr)
			}
			mustRun(t, n1, "mkdir -p /mnt/t")
			if r := run(t, n1, "mount /dev/drbd0 /mnt/t"); r.code != 32 || !strings.Contains(r.stderr, "Wrong medium type") {
				t.Errorf("mount on node1 while node2 is Primary: exit %d %q", r.code, r.stderr)
			}
			if n1.Role() != "Secondary" {
				t.Errorf("node1 is %s, want Secondary", n1.Role())
			}
			mustRun(t, n2, "umount /mnt/t")
			if n2.Role() != "Secondary" {
				t.Errorf("node2 is %s after the last umount, want Secondary (auto-demote)", n2.Role())
			}
			// An explicit promotion stays after the umount.
			mustRun(t, n2, "drbdadm primary pc0")
			mustRun(t, n2, "mount /dev/drbd0 /mnt/t")
			mustRun(t, n2, "umount /mnt/t")
			if n2.Role() != "Primary" {
				t.Errorf("node2 is %s after drbdadm primary, mount, umount; want Primary", n2.Role())
			}
		})
	}
}

// TestPeerLostMidSync9: DRBD 9.2.12 keeps the peer's disk Inconsistent when it loses the
// connection to its SyncTarget mid-resync (seen in the lab's crash scenario: node2's plug
// pulled at 11%, node1 "connection:Connecting replication:Off peer-disk:Inconsistent"); 8.4
// reports DUnknown.
func TestPeerLostMidSync9(t *testing.T) {
	for _, tc := range []struct {
		v    Version
		want string
	}{{V9, "Inconsistent"}, {V84, "DUnknown"}} {
		p := primaryPair(t, PairConfig{Version: tc.v, SyncStepPercent: -1})
		p.Advance(10)
		mustRun(t, p.Node(1), "drbdadm down pc0")
		n1 := p.Node(0)
		if got := n1.PeerDiskState(); got != tc.want {
			t.Errorf("%v: peer disk %s after the SyncTarget went away, want %s", tc.v, got, tc.want)
		}
		if tc.v == V9 {
			out := mustRun(t, n1, "drbdsetup status pc0 --json")
			if !strings.Contains(out, `"peer-disk-state": "Inconsistent"`) || !strings.Contains(out, `"connection-state": "Connecting"`) {
				t.Errorf("drbdsetup status --json:\n%s", out)
			}
		}
		mustRun(t, p.Node(1), "drbdadm up pc0")
		if got := n1.PeerDiskState(); got != "Inconsistent" {
			t.Errorf("%v: peer disk %s after the SyncTarget came back, want Inconsistent (resync resumes)", tc.v, got)
		}
	}
}
