// Package drbdsim simulates the operating system of a two-node DRBD pair
// (a Chef Server HA backend) for acceptance tests.
//
// A [Pair] holds the shared DRBD state of two nodes; each [Node] interprets
// the exact command strings an SSH client sends with a POSIX shell
// interpreter (mvdan.cc/sh/v3) whose programs (drbdadm, drbdsetup, mkfs,
// mount, blkid, chef-server-ctl, cat, ...) are implemented in Go against
// that state and a per-node in-memory filesystem. No real process is ever
// started and nothing on the real filesystem is touched.
//
// Output formats follow real DRBD 8.4.11 (Debian's in-tree module driven
// by drbd-utils 9.22), DRBD 9.2.12 with drbd-utils 9.22 and DRBD 8.3.13 with
// its own utils, byte for byte where fixtures exist.
//
// Sync progress is driven by status reads: the first status read
// (/proc/drbd, drbdadm status|role|cstate|dstate, drbdsetup status) of
// each [Node.Handle] call moves a running resync forward by
// PairConfig.SyncStepPercent, so a provider polling the pair sees the sync
// finish after a few polls. Tests can also drive it with [Pair.Advance] and
// [Pair.CompleteSync].
//
// Guards that decide over every volume and every peer are tested with
// PairConfig.Volumes (more volumes, set apart with [Node.SetVolumeDiskState])
// and a DRBD 9 third node ([Pair.SetThirdPeer]), a DRBD 9 node without quorum
// with [Node.SetNoQuorum]; [Node.AfterNext] changes the
// state between two commands of a client, as another operator could.
//
// Everything is safe for concurrent use: one mutex on the Pair guards all
// state, and it is never held while output is written or while a program
// blocks.
package drbdsim
