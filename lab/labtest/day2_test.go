//go:build lab

package labtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// day2Canary is the file the day-2 scenario writes on the replicated filesystem after the
// first apply and checks after every operation.
const day2Canary = dataDir + "/lab-canary"

// failoverPlanLimit bounds the plan that must fail, telling to fence, once the primary died.
const failoverPlanLimit = 60 * time.Second

// day2 runs the day-2 operations of docs/guides/day-2-operations.md on one lab, each as one
// change of the example's variables: switchover and back (with the switchover benchmark),
// failover from a crashed primary, rejoin, replacing a backend with a blank disk, split-brain
// recovery with split_brain_victim.
func day2(t *testing.T) {
	s := newScenario(t, "day2")
	s.labUp()
	s.copyExample()
	s.setTFEnv("")
	s.traceProvider = true

	s.step("terraform apply (complete example, primary = backend1)")
	t0 := time.Now()
	if rc := s.tf(s.dir, "apply", "apply", "-auto-approve", "-input=false"); rc != 0 {
		s.fail("terraform apply exited %d", rc)
	}
	metric("apply_day2_s", secs(time.Since(t0)))
	s.checkRunbookState()
	sum := field0(s.must(1, "head -c 8M /dev/urandom >"+day2Canary+" && sync && sha256sum "+day2Canary))
	s.logf("canary %s sha256 %s", day2Canary, sum)

	// a. switchover and back, and the benchmark against the same switchover by hand.
	s.switchoverBench(sum)
	// LAB_DAY2_STOP_AFTER=switchover|failover ends the scenario early, to iterate on a
	// benchmark; `make test-lab` runs every step.
	stopAfter := os.Getenv("LAB_DAY2_STOP_AFTER")
	if stopAfter == "switchover" {
		s.logf("LAB_DAY2_STOP_AFTER=switchover: the other day-2 steps are skipped")
		return
	}

	s.day2Failover(sum)
	if stopAfter == "failover" {
		s.logf("LAB_DAY2_STOP_AFTER=failover: the other day-2 steps are skipped")
		return
	}
	s.day2Rejoin(sum)
	s.day2Replace(sum)
	s.day2SplitBrain(sum)

	for n := 1; n <= 2; n++ {
		s.logf("node%d %s", n, strings.Join(strings.Fields(s.must(n, "grep MemFree /proc/meminfo")), " "))
	}
}

// day2Failover is step b: node1 (primary) crashes; a plan without fencing fails fast and says
// to fence; the apply with node1 fenced and backend2 primary promotes node2.
func (s *scenario) day2Failover(sum string) {
	s.t.Helper()
	s.step("b. failover: pull node1's plug while it is primary")
	s.expectState(1, drbd.ConnConnected, drbd.RolePrimary, drbd.DiskUpToDate, drbd.DiskUpToDate)
	crashAt := time.Now()
	if err := labCmd("crash", "1"); err != nil {
		s.fail("lab.sh crash 1: %v", err)
	}

	s.step("b. terraform plan without fencing (primary = backend1, fenced = []) must fail and say to fence")
	t0 := time.Now()
	rc := s.tf(s.dir, "plan-unfenced", "plan", "-input=false")
	took := time.Since(t0)
	metric("failover_plan_fail_s", secs(took))
	if rc == 0 {
		s.fail("terraform plan succeeded with the primary dead and not fenced")
	}
	out, err := os.ReadFile(filepath.Join(s.dir, "plan-unfenced.out"))
	if err != nil {
		s.fail("%v", err)
	}
	flat := flattenDiagnostics(string(out))
	if !strings.Contains(flat, "fenced_hosts") {
		s.fail("the failed plan's error does not mention fenced_hosts")
	}
	if took >= failoverPlanLimit {
		s.fail("the plan took %ss to fail, not less than %s", secs(took), failoverPlanLimit)
	}
	if i := strings.Index(flat, "could not be reached"); i >= 0 {
		s.logf("  plan error: ...%s", cut(flat[max(0, i-40):], 420))
	}
	s.pass("plan failed (exit %d) after %ss (limit %s) and says to add the host to fenced_hosts", rc, secs(took), failoverPlanLimit)

	// The baseline: the same failover by hand on node2, timed, then undone so that the
	// provider starts from the same state (node2 Secondary, WFConnection, UpToDate).
	hand, err := newLabPool()
	if err != nil {
		s.fail("ssh pool for the by-hand failovers: %v", err)
	}
	defer hand.Close()
	if _, err := hand.Exec(context.Background(), target(2), sshx.Command{Cmd: "true"}); err != nil {
		s.fail("by-hand pool: node2: %v", err)
	}
	var handDown []float64
	s.waitForStates("node2 to notice that node1 is gone", 60*time.Second, map[int]drbd.ConnState{2: drbd.ConnWFConnection})
	s.step("b. baseline: the failover by hand on node2 over one SSH connection (drbdadm primary, mount, touch, reconfigure), then undone")
	handDown = append(handDown, s.handFailover(hand))
	s.handUndoFailover(hand)

	s.step("b. terraform apply with fenced = [\"backend1\"], primary = backend2")
	s.setVar("fenced", `["backend1"]`)
	s.setVar("primary", "backend2")
	before := s.runRecords(2)
	t0 = time.Now()
	rc = s.tf(s.dir, "failover", "apply", "-auto-approve", "-input=false")
	metric("failover_apply_s", secs(time.Since(t0)))
	if rc != 0 {
		s.fail("failover apply exited %d", rc)
	}
	s.pass("failover apply: exit 0 in %ss", secs(time.Since(t0)))
	provDown := s.failoverDowntime(t0)
	defer func() {
		s.step("b. baseline again, after the provider's failover: undone by hand (umount, secondary), then the failover by hand on node2")
		s.handUndoFailover(hand)
		handDown = append(handDown, s.handFailover(hand))
		hm, hlo, hhi := stats(handDown)
		fmt.Printf("\n----- failover Chef downtime (apply start / first command by hand -> reconfigure done on the survivor) -----\n")
		fmt.Printf("provider: %.3f s (1 failover); by hand: median %.3f s (%.3f-%.3f), %d failovers; ratio %.2f (%.2f-%.2f against each by-hand run)\n",
			provDown, hm, hlo, hhi, len(handDown), provDown/hm, provDown/hhi, provDown/hlo)
		fmt.Println("----- end of failover benchmark -----")
		metric("failover_chef_down_s", fmt.Sprintf("%.3f", provDown))
		metric("failover_chef_down_hand_s", fmt.Sprintf("%.3f", hm))
		metric("failover_chef_down_hand_min_s", fmt.Sprintf("%.3f", hlo))
		metric("failover_chef_down_hand_max_s", fmt.Sprintf("%.3f", hhi))
		metric("failover_chef_down_ratio", fmt.Sprintf("%.2f(%.2f-%.2f)", provDown/hm, provDown/hhi, provDown/hlo))
	}()
	_, l := s.expectState(2, drbd.ConnWFConnection, drbd.RolePrimary, drbd.DiskUpToDate, drbd.DiskDUnknown)
	s.logf("  node2: %s", l)
	s.checkMountedOn(2)
	if got := field0(s.must(2, "sha256sum "+day2Canary)); got != sum {
		s.fail("node2: canary sha256 %s after the failover, want %s", got, sum)
	}
	s.pass("node2 Primary (WFConnection, UpToDate/DUnknown), filesystem mounted, canary sha256 %s kept", sum[:16])
	var rec string
	for _, r := range s.runRecords(2) {
		if r.what == "reconfigure ok" && r.at > float64(crashAt.UnixNano())/1e9 && !slicesContains(before, r) {
			rec = r.raw
		}
	}
	if rec == "" {
		s.fail("node2 has no 'reconfigure ok' record after the crash (at %.3f)", float64(crashAt.UnixNano())/1e9)
	}
	s.pass("node2 run record after the crash (%.3f): %s", float64(crashAt.UnixNano())/1e9, rec)
	inSync, ok := s.stateAttr("drbd_sync.initial", "in_sync")
	if !ok || inSync != false {
		s.fail("drbd_sync.initial in_sync = %v (present %v), want false (degraded)", inSync, ok)
	}
	s.pass("drbd_sync.initial in_sync = false (degraded: the peer is fenced)")
}

// day2Rejoin is step c: node1 boots again (its init runs drbdadm up) and rejoins with
// fenced = [], backend2 staying primary.
func (s *scenario) day2Rejoin(sum string) {
	s.t.Helper()
	s.step("c. rejoin: boot node1 again on its disks")
	if err := labCmd("start", "1"); err != nil {
		s.fail("lab.sh start 1: %v", err)
	}
	s.logf("  node1 console: %s", strings.Join(s.consoleDRBDLines(1), " | "))
	_, _, text, _ := s.proc(1)
	s.logf("  node1 after boot: %s", procSummary(text))

	s.step("c. terraform apply with fenced = [] (primary stays backend2)")
	s.setVar("fenced", "")
	t0 := time.Now()
	rc := s.tf(s.dir, "rejoin", "apply", "-auto-approve", "-input=false")
	metric("rejoin_apply_s", secs(time.Since(t0)))
	if rc != 0 {
		s.fail("rejoin apply exited %d", rc)
	}
	s.pass("rejoin apply: exit 0 in %ss (drbd_sync.initial created after %ss)", secs(time.Since(t0)),
		creationSecs(filepath.Join(s.dir, "rejoin.out"), "drbd_sync.initial"))
	s.waitInSync(2, 60*time.Second)
	for _, l := range grepLines(s.must(1, "dmesg"), "Began resync") {
		s.logf("  node1 kernel: %s", strings.TrimSpace(l))
	}
	if got := field0(s.must(2, "sha256sum "+day2Canary)); got != sum {
		s.fail("node2: canary sha256 %s after the rejoin, want %s", got, sum)
	}
	s.pass("node2 Primary, node1 Secondary, Connected UpToDate/UpToDate; canary sha256 %s kept on node2", sum[:16])
}

// day2Replace is step d: node1 fenced, powered off, given a blank disk, booted and unfenced:
// drbd_resource creates fresh metadata and node2 resyncs everything to it.
func (s *scenario) day2Replace(sum string) {
	s.t.Helper()
	s.step("d. replace a failed backend: fence node1 (fenced = [\"backend1\"])")
	s.setVar("fenced", `["backend1"]`)
	if rc := s.tf(s.dir, "fence", "apply", "-auto-approve", "-input=false"); rc != 0 {
		s.fail("fencing apply exited %d", rc)
	}
	s.pass("fencing apply: exit 0")

	s.step("d. power node1 off, give it a blank DRBD disk, boot it")
	for _, a := range [][]string{{"stop", "1"}, {"blank-disk", "1"}, {"start", "1"}} {
		if err := labCmd(a...); err != nil {
			s.fail("lab.sh %s: %v", strings.Join(a, " "), err)
		}
	}
	console := s.consoleDRBDLines(1)
	s.logf("  node1 console: %s", strings.Join(console, " | "))
	if !slicesContainsStr(console, "LAB-DRBD-NO-METADATA node1 pc0") {
		s.fail("node1 booted without LAB-DRBD-NO-METADATA: the disk is not blank")
	}
	s.pass("node1 booted on a blank disk (no DRBD metadata, resource down)")

	s.step("d. terraform apply with fenced = []: fresh metadata on node1, full resync from node2")
	s.setVar("fenced", "")
	t0 := time.Now()
	rc := s.tf(s.dir, "rebuild", "apply", "-auto-approve", "-input=false")
	metric("rebuild_apply_s", secs(time.Since(t0)))
	if rc != 0 {
		s.fail("rebuild apply exited %d", rc)
	}
	syncSecs := creationSecs(filepath.Join(s.dir, "rebuild.out"), "drbd_sync.initial")
	metric("rebuild_sync_s", syncSecs)
	s.pass("rebuild apply: exit 0 in %ss, drbd_sync.initial %ss", secs(time.Since(t0)), syncSecs)
	cmds, err := parseRemoteCmds(filepath.Join(s.dir, "tf-rebuild.log"))
	if err != nil {
		s.fail("%v", err)
	}
	var createMD string
	for _, c := range cmds {
		if c.start && c.port == env.port[1] && strings.Contains(c.cmd, "create-md") {
			createMD = c.cmd
		}
	}
	if createMD == "" {
		s.fail("the provider log shows no create-md on node1")
	}
	s.pass("provider ran `%s` on node1", createMD)
	s.waitInSync(2, 60*time.Second)
	for _, l := range grepLines(s.must(1, "dmesg"), "resync") {
		s.logf("  node1 kernel: %s", strings.TrimSpace(l))
	}
	full := false
	for _, l := range grepLines(s.must(1, "dmesg"), "Began resync as SyncTarget") {
		full = full || strings.Contains(l, "will sync 1048508 KB") || strings.Contains(l, "will sync 4194140 KB")
	}
	got := s.debugfsSum(1, "lab-canary")
	if got != sum {
		s.fail("node1's new disk: canary sha256 %s (read with debugfs from /dev/vdb), want %s", got, sum)
	}
	s.pass("node1's new disk holds the canary (sha256 %s, debugfs on /dev/vdb); full resync seen in node1's kernel log: %v", sum[:16], full)
}

// day2SplitBrain is step e: a real split brain (both nodes Primary and writing while
// disconnected, DRBD's default after-sb policy), then the apply with split_brain_victim =
// backend1 discards node1's changes.
func (s *scenario) day2SplitBrain(sum string) {
	s.t.Helper()
	s.step("e. split brain: after-sb-* lines removed on both nodes (DRBD's default: disconnect), disconnect both")
	for n := 1; n <= 2; n++ {
		s.must(n, "cp /etc/drbd.d/pc0.res /root/pc0.res.lab && sed -i '/after-sb-/d' /etc/drbd.d/pc0.res && ! grep -q after-sb /etc/drbd.d/pc0.res")
		s.afterSBDefault9(n)
	}
	s.must(1, "drbdadm disconnect "+resName)
	s.must(2, "drbdadm disconnect "+resName)
	s.waitForStates("both nodes StandAlone", 60*time.Second, map[int]drbd.ConnState{1: drbd.ConnStandAlone, 2: drbd.ConnStandAlone})

	s.step("e. both Primary and writing: node1 promoted, writes lab-sb-node1 on /mnt/sb; node2 (Primary) writes lab-sb-node2")
	sb1 := field0(s.must(1, promoteSplitCmd()+" && mkdir -p /mnt/sb && mount /dev/drbd0 /mnt/sb && "+
		"head -c 4M /dev/urandom >/mnt/sb/lab-sb-node1 && sync && sha256sum /mnt/sb/lab-sb-node1"))
	m1, l1 := s.mustProc(1)
	m2, l2 := s.mustProc(2)
	s.logf("  node1: %s\n  node2: %s", l1, l2)
	if m1.Role != drbd.RolePrimary || m2.Role != drbd.RolePrimary {
		s.fail("want both nodes Primary while split")
	}
	sb2 := field0(s.must(2, "head -c 4M /dev/urandom >"+dataDir+"/lab-sb-node2 && sync && sha256sum "+dataDir+"/lab-sb-node2"))
	s.logf("  node1 wrote lab-sb-node1 sha256 %s; node2 wrote lab-sb-node2 sha256 %s", sb1, sb2)
	s.pass("both nodes Primary and written to while disconnected")
	s.must(1, "umount /mnt/sb && drbdadm secondary "+resName)

	s.step("e. reconnect: DRBD detects the split brain, both StandAlone; node1 unmounted and Secondary")
	klog1Before := len(grepLines(s.must(1, "dmesg"), "drbd"))
	s.must(2, "drbdadm connect "+resName)
	s.must(1, "drbdadm connect "+resName)
	s.waitFor("both nodes to report the split brain and be StandAlone", 90*time.Second, func() (bool, string) {
		var state []string
		ok := true
		for n := 1; n <= 2; n++ {
			klog, err := s.on(n, "dmesg")
			if err != nil {
				return false, err.Error()
			}
			m, line, _, err := s.proc(n)
			if err != nil {
				return false, err.Error()
			}
			sb := drbd.SplitBrainReported(klog, resName, minor)
			state = append(state, fmt.Sprintf("node%d %s, split brain in kernel log: %v", n, line, sb))
			ok = ok && sb && m != nil && m.ConnState == drbd.ConnStandAlone
		}
		return ok, strings.Join(state, "; ")
	})
	_, l1 = s.expectState(1, drbd.ConnStandAlone, drbd.RoleSecondary, drbd.DiskUpToDate, drbd.DiskDUnknown)
	_, l2 = s.expectState(2, drbd.ConnStandAlone, drbd.RolePrimary, drbd.DiskUpToDate, drbd.DiskDUnknown)
	s.logf("  node1: %s\n  node2: %s", l1, l2)
	s.pass("real split brain: both StandAlone, \"Split-Brain detected but unresolved\" in both kernel logs")
	for n := 1; n <= 2; n++ {
		s.must(n, "mv /root/pc0.res.lab /etc/drbd.d/pc0.res && grep -q 'after-sb-1pri discard-secondary' /etc/drbd.d/pc0.res")
		s.afterSBLab9(n)
	}
	s.logf("  the lab's /etc/drbd.d/pc0.res (with its after-sb-* policies) restored on both nodes")

	s.step("e. terraform apply with split_brain_victim = backend1 (primary = backend2)")
	s.setVar("split_brain_victim", "backend1")
	t0 := time.Now()
	rc := s.tf(s.dir, "splitbrain", "apply", "-auto-approve", "-input=false")
	metric("splitbrain_recovery_s", secs(time.Since(t0)))
	if rc != 0 {
		s.fail("split-brain recovery apply exited %d", rc)
	}
	s.pass("split-brain recovery apply: exit 0 in %ss", secs(time.Since(t0)))
	if cmds, err := parseRemoteCmds(filepath.Join(s.dir, "tf-splitbrain.log")); err == nil {
		for _, c := range cmds {
			if c.start && (strings.Contains(c.cmd, "connect") || strings.Contains(c.cmd, "adjust")) {
				s.logf("  provider ran on node%d: %s", map[bool]int{true: 1, false: 2}[c.port == env.port[1]], c.cmd)
			}
		}
	}
	s.waitInSync(2, 60*time.Second)
	newLines := grepLines(s.must(1, "dmesg"), "drbd")
	newLines = newLines[min(klog1Before, len(newLines)):]
	var solved []string
	for _, l := range newLines {
		if strings.Contains(l, "Split-Brain detected") || strings.Contains(l, "Began resync") {
			solved = append(solved, strings.TrimSpace(l))
			s.logf("  node1 kernel: %s", strings.TrimSpace(l))
		}
	}
	if !slicesAny(solved, func(l string) bool { return strings.Contains(l, "solved. Sync from peer node") }) {
		s.fail("node1's kernel log has no \"Split-Brain detected, ... solved. Sync from peer node\" line")
	}
	if !slicesAny(solved, func(l string) bool { return strings.Contains(l, "Began resync as SyncTarget") }) {
		s.fail("node1 did not resync as SyncTarget")
	}
	s.pass("node1 resynced from node2 (SyncTarget)")
	if got := field0(s.must(2, "sha256sum "+day2Canary)); got != sum {
		s.fail("node2: canary sha256 %s, want %s", got, sum)
	}
	if got := field0(s.must(2, "sha256sum "+dataDir+"/lab-sb-node2")); got != sb2 {
		s.fail("node2: lab-sb-node2 sha256 %s, want %s", got, sb2)
	}
	s.pass("node2 kept its data: canary and lab-sb-node2 checksums unchanged")
	s.must(2, "sync")
	if got := s.debugfsSum(1, "lab-sb-node1"); got != "absent" {
		s.fail("node1's divergent lab-sb-node1 is still on its disk (debugfs: %s)", got)
	}
	if got := s.debugfsSum(1, "lab-canary"); got != sum {
		s.fail("node1's disk: canary sha256 %s, want %s", got, sum)
	}
	s.pass("node1's divergent write is gone from its disk (debugfs on /dev/vdb), its canary matches node2's")
}

// waitInSync waits until node `primary` is Primary and both nodes are Connected
// UpToDate/UpToDate, the other node Secondary, and logs both lines.
func (s *scenario) waitInSync(primary int, timeout time.Duration) {
	s.t.Helper()
	s.waitFor("Connected UpToDate/UpToDate on both nodes", timeout, func() (bool, string) {
		var lines []string
		ok := true
		for n := 1; n <= 2; n++ {
			m, line, _, err := s.proc(n)
			if err != nil {
				return false, err.Error()
			}
			lines = append(lines, fmt.Sprintf("node%d %s", n, line))
			ok = ok && m != nil && m.ConnState == drbd.ConnConnected && m.DiskState == drbd.DiskUpToDate && m.PeerDiskState == drbd.DiskUpToDate
		}
		return ok, strings.Join(lines, "; ")
	})
	_, l := s.expectState(primary, drbd.ConnConnected, drbd.RolePrimary, drbd.DiskUpToDate, drbd.DiskUpToDate)
	s.logf("  node%d: %s", primary, l)
	_, l = s.expectState(3-primary, drbd.ConnConnected, drbd.RoleSecondary, drbd.DiskUpToDate, drbd.DiskUpToDate)
	s.logf("  node%d: %s", 3-primary, l)
}

// debugfsSum returns the sha256 of /NAME in the filesystem on node n's backing disk, read
// with debugfs after dropping the page cache (works while DRBD holds the disk, also on the
// Secondary), or "absent" when there is no such file.
func (s *scenario) debugfsSum(n int, name string) string {
	s.t.Helper()
	out := s.must(n, fmt.Sprintf("sync; echo 3 >/proc/sys/vm/drop_caches; rm -f /tmp/%[1]s; "+
		"if debugfs -R 'stat /%[1]s' /dev/vdb 2>&1 | grep -q 'File not found'; then echo absent; else "+
		"debugfs -R 'dump /%[1]s /tmp/%[1]s' /dev/vdb 2>/dev/null; sha256sum /tmp/%[1]s; rm -f /tmp/%[1]s; fi", name))
	return field0(out)
}

// consoleDRBDLines returns the LAB-DRBD lines of node n's serial console (this boot).
func (s *scenario) consoleDRBDLines(n int) []string {
	b, err := os.ReadFile(filepath.Join(env.labRun, fmt.Sprintf("node%d.console", n)))
	if err != nil {
		s.fail("%v", err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "LAB-DRBD") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

// runRecord is one line of the chef-server-ctl stand-in's run log.
type runRecord struct {
	at   float64
	host string
	what string
	raw  string
}

var runRecordRE = regexp.MustCompile(`^([0-9]+\.[0-9]+) (\S+) (.*)$`)

// runRecords reads node n's chef-server-ctl run records.
func (s *scenario) runRecords(n int) []runRecord {
	s.t.Helper()
	out, _ := s.on(n, "cat "+runsLog+" 2>/dev/null")
	var rs []runRecord
	for _, l := range strings.Split(out, "\n") {
		m := runRecordRE.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		at, _ := strconv.ParseFloat(m[1], 64)
		rs = append(rs, runRecord{at: at, host: m[2], what: m[3], raw: strings.TrimSpace(l)})
	}
	return rs
}

// stateAttr returns attribute attr of resource address addr from `terraform show -json`.
func (s *scenario) stateAttr(addr, attr string) (any, bool) {
	s.t.Helper()
	cmd := exec.Command(env.terraform, "show", "-json")
	cmd.Dir, cmd.Env = s.dir, s.tfEnv
	out, err := cmd.Output()
	if err != nil {
		s.fail("terraform show -json: %v", err)
	}
	var st struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Address string         `json:"address"`
					Values  map[string]any `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		s.fail("terraform show -json: %v", err)
	}
	for _, r := range st.Values.RootModule.Resources {
		if r.Address == addr {
			v, ok := r.Values[attr]
			return v, ok
		}
	}
	return nil, false
}

func slicesContains(rs []runRecord, r runRecord) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func slicesContainsStr(v []string, sub string) bool {
	return slicesAny(v, func(l string) bool { return strings.Contains(l, sub) })
}

func slicesAny(v []string, f func(string) bool) bool {
	for _, x := range v {
		if f(x) {
			return true
		}
	}
	return false
}

// handFailover runs the failover onto node2 by hand (node1 dead): the commands the runbook
// gives, timed from the first one's start to the end of the reconfigure. It returns seconds.
func (s *scenario) handFailover(pool *sshx.Pool) float64 {
	s.t.Helper()
	t0 := time.Now()
	s.handRun(pool, 2, "drbdadm primary "+resName)
	s.handRun(pool, 2, "mkdir -p "+dataDir+" && mount -t ext4 /dev/drbd0 "+dataDir)
	s.handRun(pool, 2, "touch "+readyFile)
	s.handRun(pool, 2, "chef-server-ctl reconfigure")
	d := time.Since(t0).Seconds()
	s.logf("failover by hand: Chef down (first command start -> reconfigure done on node2) %.3f s", d)
	return d
}

// handUndoFailover puts node2 back to Secondary with nothing mounted (node1 still dead).
func (s *scenario) handUndoFailover(pool *sshx.Pool) {
	s.t.Helper()
	s.handRun(pool, 2, "umount "+dataDir)
	s.handRun(pool, 2, "drbdadm secondary "+resName)
	_, l := s.expectState(2, drbd.ConnWFConnection, drbd.RoleSecondary, drbd.DiskUpToDate, drbd.DiskDUnknown)
	s.logf("  node2 after undoing the failover by hand: %s", l)
}

// failoverDowntime reads the failover apply's provider log: from the apply's start (t0) to
// the end of `chef-server-ctl reconfigure` on node2, with the breakdown of the remote
// commands. It returns seconds.
func (s *scenario) failoverDowntime(t0 time.Time) float64 {
	s.t.Helper()
	cmds, err := parseRemoteCmds(filepath.Join(s.dir, "tf-failover.log"))
	if err != nil {
		s.fail("%v", err)
	}
	iReconf := slices.IndexFunc(cmds, func(c remoteCmd) bool {
		return !c.start && c.port == env.port[2] && c.cmd == "chef-server-ctl reconfigure" && c.exit == "0"
	})
	if iReconf < 0 || len(cmds) == 0 {
		s.fail("no completed `chef-server-ctl reconfigure` on node2 in the failover's provider log")
	}
	d := cmds[iReconf].at.Sub(t0)
	s.logf("failover by the provider: Chef down (apply start -> reconfigure done on node2) %.3f s; apply start -> first remote command %.3f s (Terraform start, plan)",
		d.Seconds(), cmds[0].at.Sub(t0).Seconds())
	s.logf("%s", breakdown(cmds, 0, iReconf, cmds[0].at, 0))
	return d.Seconds()
}
