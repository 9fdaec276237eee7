//go:build lab

package labtest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runbook: apply the example on a fresh lab, verify from outside, empty plan, a canary
// kept across re-apply, drift (out-of-band umount) shown and repaired, destroy keeps the data.
func runbook(t *testing.T) {
	s := newScenario(t, "runbook")
	s.labUp()
	s.copyExample()
	s.setTFEnv("")

	s.step("terraform apply (complete example)")
	capt := s.startCapture(filepath.Join(s.dir, "proc-drbd.log"))
	t0 := time.Now()
	rc := s.tf(s.dir, "apply", "apply", "-auto-approve", "-input=false")
	metric("apply_runbook_s", secs(time.Since(t0)))
	capt.stop(s)
	if rc != 0 {
		s.fail("terraform apply exited %d", rc)
	}
	metric("sync_runbook_s", creationSecs(filepath.Join(s.dir, "apply.out"), "drbd_sync.initial"))
	s.pass("apply succeeded")

	s.step("verify from outside over ssh")
	s.checkRunbookState()
	s.printOutput("primary_status")
	var st struct {
		Role string `json:"role"`
	}
	if err := json.Unmarshal([]byte(s.tfOutput("-json", "primary_status")), &st); err != nil {
		s.fail("terraform output -json primary_status: %v", err)
	}
	if st.Role != "Primary" {
		s.fail("output primary_status.role is %q, not Primary", st.Role)
	}
	s.pass("output primary_status.role = Primary")

	s.step("second plan is empty")
	if rc := s.planExit("plan-after-apply"); rc != 0 {
		s.fail("plan after apply: exit %d (want 0, no changes)", rc)
	}
	s.pass("plan -detailed-exitcode = 0")

	s.step("write a canary file, re-apply, checksum kept")
	canary := dataDir + "/lab-canary"
	sum1 := field0(s.must(1, "head -c 8M /dev/urandom >"+canary+" && sync && sha256sum "+canary))
	uuid1 := strings.TrimSpace(s.must(1, "blkid -s UUID -o value /dev/drbd0"))
	s.logf("canary sha256 %s, filesystem UUID %s", sum1, uuid1)
	if rc := s.tf(s.dir, "reapply", "apply", "-auto-approve", "-input=false"); rc != 0 {
		s.fail("re-apply failed (exit %d)", rc)
	}
	if sum2 := field0(s.must(1, "sha256sum "+canary)); sum2 != sum1 {
		s.fail("canary checksum changed after re-apply: %s -> %s", sum1, sum2)
	}
	s.pass("canary checksum unchanged after re-apply")

	s.step("drift: unmount on node1 out of band")
	s.must(1, "umount "+dataDir)
	if rc := s.planExit("plan-drift"); rc != 2 {
		s.fail("plan after out-of-band umount: exit %d (want 2, changes)", rc)
	}
	if b, _ := os.ReadFile(filepath.Join(s.dir, "plan-drift.out")); !strings.Contains(string(b), "drbd_filesystem.data") {
		s.fail("drift plan does not mention drbd_filesystem.data")
	}
	s.pass("plan shows drift (exit 2) on drbd_filesystem.data")
	if rc := s.tf(s.dir, "apply-repair", "apply", "-auto-approve", "-input=false"); rc != 0 {
		s.fail("repairing apply failed (exit %d)", rc)
	}
	s.checkMounted()
	uuid2 := strings.TrimSpace(s.must(1, "blkid -s UUID -o value /dev/drbd0"))
	if sum2 := field0(s.must(1, "sha256sum "+canary)); sum2 != sum1 {
		s.fail("canary checksum changed after repair: %s -> %s", sum1, sum2)
	}
	if uuid1 != uuid2 {
		s.fail("filesystem UUID changed (reformatted?): %s -> %s", uuid1, uuid2)
	}
	s.pass("repaired: mounted again, same filesystem UUID, canary checksum unchanged")
	if rc := s.planExit("plan-after-repair"); rc != 0 {
		s.fail("plan after repair: exit %d (want 0)", rc)
	}
	s.pass("plan after repair is empty")
	if drbd9() {
		s.autoPromote(canary, sum1)
	}

	s.step("terraform destroy keeps the data")
	if rc := s.tf(s.dir, "destroy", "destroy", "-auto-approve", "-input=false"); rc != 0 {
		s.fail("terraform destroy failed (exit %d)", rc)
	}
	if drbd9() {
		if _, line, err := s.status9(1); err == nil {
			s.logf("after destroy: node1 %s", line)
		}
	} else if m, line, _, err := s.proc(1); err == nil && m != nil && !m.Unconfigured {
		s.logf("after destroy: node1 %s", line)
	} else {
		s.logf("after destroy: node1 resource down")
	}
	mnt, _ := s.on(1, "findmnt -n -o SOURCE --mountpoint "+dataDir)
	if mnt = strings.TrimSpace(mnt); mnt == "" {
		mnt = "none"
	}
	s.logf("after destroy: mounts at %s on node1: %s", dataDir, mnt)
	for n := 1; n <= 2; n++ {
		// Internal metadata sits at the end of the backing disk, so the filesystem can be read
		// from /dev/vdb directly, read-only, whatever DRBD's state (down after destroy). The
		// type is named: libblkid reports the disk as TYPE="drbd" (it probes DRBD's metadata
		// before filesystems), so an untyped mount fails. The fallback through DRBD takes the resource down again, so
		// that node1 left Primary cannot refuse node2's promotion.
		out, err := s.on(n, `set -e; mkdir -p /mnt/check
			if mount -t ext4 -o ro,noload /dev/vdb /mnt/check 2>/dev/null; then
				sha256sum /mnt/check/lab-canary; umount /mnt/check
			else
				drbdadm up pc0 2>/dev/null || true; drbdadm primary pc0; mount -o ro /dev/drbd0 /mnt/check
				sha256sum /mnt/check/lab-canary; umount /mnt/check; drbdadm down pc0
			fi`)
		if err != nil {
			s.fail("node%d: cannot read the canary after destroy: %v", n, err)
		}
		if got := field0(out); got != sum1 {
			s.fail("node%d: canary checksum after destroy %s, want %s", n, got, sum1)
		}
		s.pass("node%d: canary intact after destroy (read-only mount of the backing disk)", n)
	}
}

// field0 returns the first word of out (the checksum of sha256sum's output).
func field0(out string) string {
	if f := strings.Fields(out); len(f) > 0 {
		return f[0]
	}
	return ""
}

// tfOutput returns `terraform output ARGS` in the scenario's directory.
func (s *scenario) tfOutput(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(env.terraform, append([]string{"output"}, args...)...)
	cmd.Dir, cmd.Env = s.dir, s.tfEnv
	out, err := cmd.Output()
	if err != nil {
		s.fail("terraform output %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// printOutput copies `terraform output -no-color NAME` into the log.
func (s *scenario) printOutput(name string) {
	s.t.Helper()
	for _, l := range strings.Split(strings.TrimRight(s.tfOutput("-no-color", name), "\n"), "\n") {
		s.logf("  [output] %s", l)
	}
}
