//go:build lab

package labtest

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// skipSyncLimit bounds drbd_sync's creation with skip_initial_sync: nothing to resync.
const skipSyncLimit = 10 * time.Second

// skipSync: time to a healthy pair on LAB_SKIPSYNC_DISK_SIZE (default 4G) sparse disks, with
// mkfs_options = "-E nodiscard" (so that nothing but the provider decides whether the disk is
// copied): first a fresh lab with skip_initial_sync = true, then a fresh lab with a full
// initial sync. LAB_SKIPSYNC_FULL=0 leaves out the full-sync baseline (CI proves
// skip_initial_sync within its time budget; make test-lab keeps the measurement).
func skipSync(t *testing.T) {
	size := getenv("LAB_SKIPSYNC_DISK_SIZE", "4G")
	skip := newScenario(t, "skipsync")
	skip.runSkipSync(size, true)
	switch full := getenv("LAB_SKIPSYNC_FULL", "1"); full {
	case "0":
		skip.step("LAB_SKIPSYNC_FULL=0: no full-sync baseline")
	case "1":
		full := newScenario(t, "fullsync")
		full.runSkipSync(size, false)
	default:
		t.Fatalf("LAB_SKIPSYNC_FULL=%q: want 1 (default) or 0", full)
	}
}

func (s *scenario) runSkipSync(size string, skip bool) {
	s.t.Helper()
	s.labUpSize(size)
	s.copyExample()
	s.setTFEnv("-E nodiscard")
	s.setVar("skip_initial_sync", strconv.FormatBool(skip))

	s.step("terraform apply (skip_initial_sync = %v, mkfs_options = -E nodiscard, %s disks)", skip, size)
	capt := s.startCapture(filepath.Join(s.dir, "proc-drbd.log"))
	t0 := time.Now()
	rc := s.tf(s.dir, "apply", "apply", "-auto-approve", "-input=false")
	took := time.Since(t0)
	capt.stop(s)
	if rc != 0 {
		s.fail("terraform apply exited %d", rc)
	}
	syncSecs := creationSecs(filepath.Join(s.dir, "apply.out"), "drbd_sync.initial")
	metric(s.name+"_apply_s", secs(took))
	metric(s.name+"_sync_s", syncSecs)
	metric(s.name+"_disk_size", size)
	s.pass("apply: exit 0 in %ss; drbd_sync.initial created after %ss (%s disks)", secs(took), syncSecs, size)
	if skip {
		n, err := strconv.Atoi(syncSecs)
		if err != nil {
			s.fail("no creation time of drbd_sync.initial in the apply's output")
		}
		if time.Duration(n)*time.Second >= skipSyncLimit {
			s.fail("drbd_sync.initial took %ss with skip_initial_sync, want < %s", syncSecs, skipSyncLimit)
		}
		s.pass("with skip_initial_sync the sync part took %ss (< %s)", syncSecs, skipSyncLimit)
	}
	s.checkRunbookState()
}
