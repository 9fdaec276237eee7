//go:build lab

package labtest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

// crash: a long initial sync (mkfs -E nodiscard on the whole disk), node2's plug pulled
// when the sync passed 10% and the node booted again on its disks; the apply must complete,
// with progress logged.
func crash(t *testing.T) {
	s := newScenario(t, "crash")
	s.labUp()
	s.copyExample()
	// A discarding mkfs makes DRBD 8.4's initial sync near-instant; nodiscard forces a full one.
	s.setTFEnv("-E nodiscard")

	s.step("terraform apply in the background (mkfs_options = -E nodiscard, %s full sync)", env.diskSize)
	capt := s.startCapture(filepath.Join(s.dir, "proc-drbd.log"))
	t0 := time.Now()
	apply := s.tfStart(s.dir, "apply", "apply", "-auto-approve", "-input=false")

	s.step("wait for the sync to pass 10%%, then pull node2's plug")
	var pct float64
	s.waitFor("the sync to reach 10% on node1", 300*time.Second, func() (bool, string) {
		if !apply.running() {
			apply.wait()
			s.fail("apply ended before the sync reached 10%% (sync too fast to crash mid-sync, or apply failed)")
		}
		m, line, _, err := s.proc(1)
		if err != nil {
			return false, err.Error()
		}
		if m != nil && m.Sync.Present && !m.Sync.Verify && m.Sync.Percent >= 10 {
			pct = m.Sync.Percent
			return true, line
		}
		return false, "not syncing: " + line
	})
	_, _, text1, _ := s.proc(1)
	_, _, text2, _ := s.proc(2)
	s.logf("node1 before crash: %s", procSummary(text1))
	s.logf("node2 before crash: %s", procSummary(text2))
	if err := labCmd("crash", "2"); err != nil {
		s.fail("lab.sh crash 2 failed: %v", err)
	}
	peerGone := map[drbd.ConnState]bool{drbd.ConnWFConnection: true, drbd.ConnNetworkFailure: true,
		drbd.ConnBrokenPipe: true, drbd.ConnTimeout: true, drbd.ConnUnconnected: true}
	s.waitFor("node1 to see its peer gone", 60*time.Second, func() (bool, string) {
		m, line, _, err := s.proc(1)
		if err != nil {
			return false, err.Error()
		}
		return m != nil && peerGone[m.ConnState], line
	})
	_, line, _ := s.mustProcText(1)
	s.logf("node1 after crash: %s", line)
	s.pass("node2 crashed at %.1f%% synced; node1 lost its peer", pct)
	if !apply.running() {
		apply.wait()
		s.fail("terraform apply ended when the peer crashed")
	}

	s.step("boot node2 again on the same disks")
	if err := labCmd("start", "2"); err != nil {
		s.fail("node2 did not boot again: %v", err)
	}
	console, err := os.ReadFile(filepath.Join(env.labRun, "node2.console"))
	if err != nil {
		s.fail("%v", err)
	}
	var drbdLines []string
	for _, l := range strings.Split(string(console), "\n") {
		if strings.Contains(l, "LAB-DRBD") {
			drbdLines = append(drbdLines, strings.TrimSpace(l))
		}
	}
	if !strings.Contains(string(console), "LAB-DRBD-UP node2 pc0") {
		s.fail("node2's init did not bring pc0 up at boot (console: %s)", strings.Join(drbdLines, " | "))
	}
	s.logf("%s", strings.Join(drbdLines, "\n"))
	s.pass("node2 rebooted; its init ran drbdadm up pc0")
	_, _, text2, _ = s.proc(2)
	s.logf("node2 after reboot: %s", procSummary(text2))
	s.logf("node2 resync options after reboot: %s", s.resyncSettings(2))

	s.step("wait for terraform apply to finish")
	rc := apply.wait()
	metric("apply_crash_s", secs(time.Since(t0)))
	capt.stop(s)
	if rc != 0 {
		s.fail("terraform apply exited %d after the mid-sync crash", rc)
	}
	metric("sync_crash_s", creationSecs(filepath.Join(s.dir, "apply.out"), "drbd_sync.initial"))
	s.pass("apply completed after the mid-sync crash")

	s.step("progress logging (TF_LOG=INFO)")
	logText, err := os.ReadFile(filepath.Join(s.dir, "tf-apply.log"))
	if err != nil {
		s.fail("%v", err)
	}
	nprog := 0
	peerRE := regexp.MustCompile(`lost contact|reappl|peer .*(back|came)`)
	for _, l := range strings.Split(string(logText), "\n") {
		if i := strings.Index(l, "DRBD sync progress"); i >= 0 {
			nprog++
			s.logf("  %s", cut(l[i:], 400))
		} else if peerRE.MatchString(l) {
			s.logf("  %s", cut(l, 300))
		}
	}
	if nprog < 2 {
		s.fail("expected >= 2 'DRBD sync progress' lines in the provider log, got %d", nprog)
	}
	s.pass("%d 'DRBD sync progress' lines logged", nprog)
	// 8.4's /proc/drbd prints "sync'ed:", DRBD 9's drbdsetup status "replication:SyncSource".
	if b, _ := os.ReadFile(capt.file); !strings.Contains(string(b), "sync'ed") && !strings.Contains(string(b), "replication:SyncSource") {
		s.fail("the /proc/drbd capture shows no sync")
	}

	s.step("verify from outside over ssh")
	s.checkRunbookState()
	if rc := s.planExit("plan-after-apply"); rc != 0 {
		s.fail("plan after apply: exit %d (want 0)", rc)
	}
	s.pass("plan -detailed-exitcode = 0")
}

// mustProcText is mustProc that also returns the whole /proc/drbd text.
func (s *scenario) mustProcText(n int) (*drbd.ProcMinor, string, string) {
	s.t.Helper()
	m, line, text, err := s.proc(n)
	if err != nil {
		s.fail("%v", err)
	}
	if m == nil {
		s.fail("node%d: DRBD minor %d is not configured; /proc/drbd:\n%s", n, minor, text)
	}
	return m, line, text
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
