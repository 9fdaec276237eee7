//go:build lab

package labtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

// autoPromoteTF is a drbd_filesystem on node2 alone (the example's mountpoint and type), for
// the auto-promote check.
const autoPromoteTF = providerTF + `
resource "drbd_filesystem" "on_secondary" {
  host       = "127.0.0.1"
  port       = %d
  resource   = "%s"
  fs_type    = "ext4"
  mountpoint = "%s"
}
`

// autoPromote checks, on DRBD 9, that drbd_filesystem never promotes a Secondary through
// auto-promote (DESIGN.md, "DRBD 9 auto-promote"): a drbd_filesystem on node2 fails and
// leaves node2 Secondary with nothing mounted, first while node1 is Primary (the device cannot
// even be read there: "Wrong medium type"), then with both nodes Secondary ("Refusing to
// Mount": the device is readable, so the role check right before the mount refuses). For the record, the same mount by hand shows what
// the module does: refused ("Wrong medium type") while node1 is Primary, and with both
// Secondary it promotes node2, whose umount demotes it again. It ends with node1 Primary and
// mounted again (the example re-applied) and the canary's checksum kept.
func (s *scenario) autoPromote(canary, sum string) {
	s.t.Helper()
	dir := filepath.Join(s.dir, "autopromote")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.fail("%v", err)
	}
	tf := fmt.Sprintf(autoPromoteTF, env.port[2], resName, dataDir)
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(tf), 0o644); err != nil {
		s.fail("%v", err)
	}
	example := s.tfEnv
	defer func() { s.tfEnv = example }()
	s.tfEnv = append(baseTFEnv(), s.labSecrets()...)
	s.must(2, "mkdir -p "+dataDir)

	// refused applies the drbd_filesystem and checks it failed with the error containing want.
	refused := func(name, when, want string) {
		s.t.Helper()
		if rc := s.tf(dir, name, "apply", "-auto-approve", "-input=false"); rc == 0 {
			s.fail("drbd_filesystem on node2 (%s) applied", when)
		}
		out, _ := os.ReadFile(filepath.Join(dir, name+".out"))
		flat := flattenDiagnostics(string(out))
		if !strings.Contains(flat, want) {
			s.fail("the failed apply (%s) does not say %q: %s", when, want, cut(flat[max(0, strings.Index(flat, "Error:")):], 600))
		}
		st, line := s.mustStatus9(2)
		if st.Role != drbd.RoleSecondary {
			s.fail("node2 is not Secondary after the refused drbd_filesystem (%s): %s", when, line)
		}
		if out, _ := s.on(2, "findmnt -n -o SOURCE --mountpoint "+dataDir); strings.TrimSpace(out) != "" {
			s.fail("node2 has %s mounted at %s after the refused drbd_filesystem (%s)", strings.TrimSpace(out), dataDir, when)
		}
		i := max(0, strings.Index(flat, "Error:"))
		s.logf("  apply error: %s", cut(flat[i:], 420))
		s.pass("drbd_filesystem on node2 (%s) refused: node2 still Secondary, nothing mounted (%s)", when, line)
	}

	s.step("DRBD 9 auto-promote: drbd_filesystem on node2 while node1 is Primary")
	// DRBD 9 refuses even blkid's read-only open of node2 while node1 is Primary.
	refused("apply-node1-primary", "node1 Primary", "Wrong medium type")
	out, err := s.on(2, "mount /dev/drbd0 "+dataDir)
	if err == nil {
		s.fail("a mount by hand on node2 succeeded while node1 is Primary: %s", out)
	}
	s.logf("  by hand on node2: %v", err)
	s.pass("by hand, the module refuses the mount on node2 while node1 is Primary (Wrong medium type)")

	s.step("DRBD 9 auto-promote: node1 unmounted and demoted by hand; drbd_filesystem on node2 with both Secondary")
	s.must(1, "umount "+dataDir+" && drbdadm secondary "+resName)
	refused("apply-both-secondary", "both Secondary", "Refusing to Mount")
	s.must(2, "mount /dev/drbd0 "+dataDir)
	st, line := s.mustStatus9(2)
	klog := grepLines(s.must(2, "dmesg"), "auto-promote")
	s.must(2, "umount "+dataDir)
	st2, line2 := s.mustStatus9(2)
	s.logf("  by hand on node2: mount -> %s; umount -> %s; kernel: %s", line, line2, strings.Join(klog, " | "))
	if st.Role != drbd.RolePrimary || st2.Role != drbd.RoleSecondary {
		s.fail("the module's auto-promote was not seen: after the mount %s, after the umount %s", st.Role, st2.Role)
	}
	s.pass("by hand, the mount on node2 promotes it (auto-promote) and the umount demotes it: the provider never mounts that way")

	s.step("DRBD 9 auto-promote: the example re-applied: node1 Primary and mounted again")
	s.tfEnv = example
	if rc := s.tf(s.dir, "apply-after-autopromote", "apply", "-auto-approve", "-input=false"); rc != 0 {
		s.fail("re-applying the example exited %d", rc)
	}
	s.checkPair9(1, 2)
	s.checkMounted()
	if got := field0(s.must(1, "sha256sum "+canary)); got != sum {
		s.fail("canary checksum changed: %s -> %s", sum, got)
	}
	s.pass("node1 Primary and mounted again, canary checksum unchanged")
}
