//go:build lab

package labtest

import "testing"

// The scenarios, in the order `go test` runs them (the order of declaration here). Each one
// starts from a fresh lab (lab/lab.sh up), so any of them can run alone; lab/test-lab.sh maps
// --scenario to -run.

// TestLabRunbook: the example applied, verified, re-applied, drifted and repaired, destroyed
// (runbook_test.go).
func TestLabRunbook(t *testing.T) { runbook(t) }

// TestLabCrash: node2's plug pulled mid-sync; the apply completes (crash_test.go).
func TestLabCrash(t *testing.T) { crash(t) }

// TestLabSplitBrain: drbd_sync on a pair after a real split brain fails at once and changes
// nothing (splitbrain_test.go).
func TestLabSplitBrain(t *testing.T) { splitBrain(t) }

// TestLabDay2: the day-2 operations on one lab: switchover and back (with the benchmark
// against the same switchover by hand), failover from a crashed primary, rejoin, replacing a
// backend with a blank disk, split-brain recovery with split_brain_victim (day2_test.go,
// switchover_test.go).
func TestLabDay2(t *testing.T) { day2(t) }

// TestLabSkipSync: time to a healthy pair on 4 GiB disks with skip_initial_sync, then with a
// full initial sync (skipsync_test.go).
func TestLabSkipSync(t *testing.T) { skipSync(t) }

// TestLabGrowVerify: online verify finds and resyncs blocks corrupted on the secondary's
// backing disk (a 128 MiB pair), and both backing disks grown online (QEMU block_resize) grow
// the DRBD device and the mounted ext4 of a 1 GiB pair in one apply; only one disk grown: a
// warning, nothing run; each timed against the same steps by hand (growverify_test.go).
func TestLabGrowVerify(t *testing.T) { growVerify(t) }
