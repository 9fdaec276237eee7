// Package drbd knows DRBD: it parses the status outputs of DRBD 8.3, 8.4 and 9
// (/proc/drbd, drbdsetup status --json, drbdadm status text and the small
// drbdadm role/cstate/dstate outputs) into one normalised Status, detects the
// kernel-module and drbd-utils versions, builds version-aware, validated and
// shell-quoted drbdadm/drbdsetup command lines, and makes the safety decisions
// (may we force a promotion, is the pair in sync, is a sync hopeless) as pure
// functions.
//
// The package is deliberately free of Terraform and SSH: callers run the
// command strings it builds (for example the single-round-trip ProbeCommand)
// wherever they like and hand the output back to the parsers.
//
// State words are DRBD's own, spelled as DRBD 8.4 prints them in /proc/drbd
// (Primary, WFConnection, UpToDate, ...). On DRBD 9 the connection state is the
// connection's (Connected, Connecting, StandAlone) and Status.ReplicationState
// carries the replication word (Established, SyncSource, ...); on 8.x it is
// empty. A resource that is not up in the kernel has Configured false and the
// pseudo connection state Unconfigured (the word 8.x prints for such a minor).
//
// Parsers never fail on unknown extra lines or fields: they are reported in
// Warnings where the result type has them, and ignored otherwise. Resource
// names are restricted to the characters drbdadm accepts unquoted in its
// configuration ([A-Za-z0-9_.-], at most 128), minus a leading '-' and the
// reserved word "all"; ParseResourceName checks a name once, and the command
// builders take the resulting ResourceName, so those that depend on nothing
// else (the DRBD version, a rate, a device) return plain strings.
package drbd
