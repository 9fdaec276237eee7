//go:build lab

package labtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// The grow-and-verify scenario: online verify of the pair after corrupting a few blocks of the
// secondary's backing disk, and online grow of both backing disks (QEMU block_resize), each
// timed against the same steps by hand in the same run, rounds interleaved.

// chefData is the Chef-like data the scenario writes on the replicated filesystem (a few
// "database" and "bookshelf" files) and checks by checksum after every operation.
const chefData = dataDir + "/chef"

// handPoll is how often the by-hand waits read /proc/drbd: the provider's default
// poll_interval, so that both wait the same way.
const handPoll = 2 * time.Second

// benchRounds reads the number of benchmark rounds from the environment variable name (at least
// 1): each round runs the provider and by hand once, their order alternating.
func benchRounds(name string, def int) int {
	n, err := strconv.Atoi(getenv(name, strconv.Itoa(def)))
	if err != nil || n < 1 {
		return def
	}
	return n
}

// scenarioRates are the resync settings the scenario sets on both nodes after the first apply
// (`drbdadm disk-options`), for the verify and the resync of a grown area: the lab's pc0.res
// sets none, and under DRBD 8.4's default dynamic controller (c-plan-ahead 20, the default
// fill target) an online verify of 1 GiB ran at about 1 MB/s on the loaded lab.
const scenarioRates = "--c-plan-ahead=0 --resync-rate=100M"

// growVerify runs the verify part on a fresh pair of LAB_VERIFY_DISK_SIZE (default 128M: DRBD
// 8.4 verifies in 4 KiB requests, about 1.4 MB/s on the loaded TCG lab, see lab/README.md) and
// the grow part on a fresh 1 GiB pair. LAB_GROWVERIFY_PARTS (verify, grow, or both, the
// default) runs one part alone.
func growVerify(t *testing.T) {
	parts := getenv("LAB_GROWVERIFY_PARTS", "verify,grow")
	if strings.Contains(parts, "verify") {
		s := newScenario(t, "verify")
		hand, sum := s.growVerifySetup(getenv("LAB_VERIFY_DISK_SIZE", "128M"))
		s.verifyPart(hand, sum)
	}
	if strings.Contains(parts, "grow") {
		s := newScenario(t, "grow")
		hand, sum := s.growVerifySetup("1G")
		s.growPart(hand, sum)
	}
}

// growVerifySetup brings up a fresh lab with backing disks of size, applies the example with
// disk_size = size, sets scenarioRates, writes the Chef-like data and opens the by-hand pool
// (connected to both nodes before any timing). It returns the pool and the data's checksum.
func (s *scenario) growVerifySetup(size string) (*sshx.Pool, string) {
	s.t.Helper()
	s.traceProvider = true
	s.labUpSize(size)
	s.copyExample()
	s.setTFEnv("")
	s.setVar("disk_size", size)

	s.step("terraform apply (complete example on %s disks, disk_size = %s)", size, size)
	t0 := time.Now()
	if rc := s.tf(s.dir, "apply", "apply", "-auto-approve", "-input=false"); rc != 0 {
		s.fail("terraform apply exited %d", rc)
	}
	metric("apply_"+s.name+"_s", secs(time.Since(t0)))
	s.checkRunbookState()
	for n := 1; n <= 2; n++ {
		s.must(n, "drbdadm disk-options "+scenarioRates+" "+resName)
		s.logf("node%d resync options for the verify and the grows: %s", n, s.resyncSettings(n))
	}

	s.step("write Chef-like data on node1 and take its checksum")
	s.must(1, `set -e; mkdir -p `+chefData+`/postgresql `+chefData+`/bookshelf
		for i in 1 2 3 4; do head -c 8M /dev/urandom >`+chefData+`/postgresql/base.$i; done
		for i in $(seq 1 64); do head -c 64K /dev/urandom >`+chefData+`/bookshelf/cookbook-$i.tgz; done
		sync`)
	sum := s.dataSum()
	s.logf("Chef-like data under %s: 4 x 8 MiB + 64 x 64 KiB, checksum %s", chefData, sum)

	hand, err := newLabPool()
	if err != nil {
		s.fail("ssh pool for the by-hand steps: %v", err)
	}
	s.t.Cleanup(func() { _ = hand.Close() })
	for n := 1; n <= 2; n++ {
		if _, err := hand.Exec(context.Background(), target(n), sshx.Command{Cmd: "true"}); err != nil {
			s.fail("by-hand pool: node%d: %v", n, err)
		}
	}
	return hand, sum
}

// dataSum is the checksum of the Chef-like data on node1 (the primary).
func (s *scenario) dataSum() string {
	s.t.Helper()
	return field0(s.must(1, "cd "+chefData+" && find . -type f | sort | xargs sha256sum | sha256sum"))
}

// handRun runs cmd on node n over the by-hand pool, fails the test unless it exits 0, and
// returns its output.
func (s *scenario) handRun(hand *sshx.Pool, n int, cmd string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := hand.Exec(ctx, target(n), sshx.Command{Cmd: cmd})
	if err != nil {
		s.fail("by hand on node%d: `%s`: %v", n, cmd, err)
	}
	if r.ExitCode != 0 {
		s.fail("by hand on node%d: `%s` exited %d: %s", n, cmd, r.ExitCode, strings.TrimSpace(r.Stderr+"\n"+r.Stdout))
	}
	return r.Stdout
}

// handWait reads node n's /proc/drbd over the by-hand pool every handPoll, the first read at
// once, until done says so; it returns when that read finished.
func (s *scenario) handWait(hand *sshx.Pool, n int, desc string, timeout time.Duration, done func(*drbd.ProcMinor) bool) {
	s.t.Helper()
	end := time.Now().Add(timeout)
	ticker := time.NewTicker(handPoll)
	defer ticker.Stop()
	for {
		text := s.handRun(hand, n, "cat /proc/drbd")
		p, err := drbd.ParseProcDRBD(text)
		if err != nil {
			s.fail("node%d: /proc/drbd: %v", n, err)
		}
		if m, ok := p.Minor(minor); ok && done(m) {
			return
		}
		if time.Now().After(end) {
			s.fail("by hand: timed out after %s waiting for %s on node%d (last: %s)", timeout, desc, n, procSummary(text))
		}
		<-ticker.C
	}
}

// inSyncNoOOS: Connected, both disks UpToDate, nothing out of sync.
func inSyncNoOOS(m *drbd.ProcMinor) bool {
	return m.ConnState == drbd.ConnConnected && m.DiskState == drbd.DiskUpToDate && m.PeerDiskState == drbd.DiskUpToDate &&
		m.Counters.OOS == 0
}

// expectInSync checks that both nodes are Connected UpToDate/UpToDate with oos:0, node1
// Primary.
func (s *scenario) expectInSync(what string) {
	s.t.Helper()
	for n := 1; n <= 2; n++ {
		role := drbd.RoleSecondary
		if n == 1 {
			role = drbd.RolePrimary
		}
		m, line := s.expectState(n, drbd.ConnConnected, role, drbd.DiskUpToDate, drbd.DiskUpToDate)
		if m.Counters.OOS != 0 {
			s.fail("node%d %s: oos:%d KiB, want 0: %s", n, what, m.Counters.OOS, line)
		}
	}
	s.pass("%s: both nodes Connected UpToDate/UpToDate, oos:0", what)
}

// kernelLines prints node n's kernel lines that match re (dmesg), prefixed.
func (s *scenario) kernelLines(n int, re string) {
	s.t.Helper()
	out, _ := s.on(n, "dmesg | grep -E "+shellQuote(re)+" || true")
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if l != "" {
			s.logf("  [kernel node%d] %s", n, l)
		}
	}
}

func shellQuote(v string) string { return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'" }

// ---------------------------------------------------------------- verify

// verifyTF is the small configuration of the verify part: drbd_verify of the lab pair, run
// on node1 (the Primary) with node2 as peer_host (the node reconnected to resync).
const verifyTF = `terraform {
  required_providers {
    drbd = { source = "seed-a700e435/drbd" }
  }
}

variable "backend1_host" { type = string }
variable "backend1_port" { type = number }
variable "backend2_host" { type = string }
variable "backend2_port" { type = number }
variable "private_key" {
  type      = string
  sensitive = true
}
variable "known_hosts" { type = string }
variable "resource_name" { type = string }
variable "verify_run" { type = string }
variable "resync" { type = bool }

provider "drbd" {
  user            = "root"
  private_key     = var.private_key
  known_hosts     = var.known_hosts
  host_key_policy = "strict"
}

resource "drbd_verify" "pair" {
  host               = var.backend1_host
  port               = var.backend1_port
  peer_host          = var.backend2_host
  peer_port          = var.backend2_port
  resource           = var.resource_name
  resync_out_of_sync = var.resync
  triggers           = { run = var.verify_run }
}

output "verify" {
  value = {
    out_of_sync_kib = drbd_verify.pair.out_of_sync_kib
    verified_at     = drbd_verify.pair.verified_at
    verify_alg      = drbd_verify.pair.verify_alg
  }
}
`

// verifyOutput is the verify configuration's output.
type verifyOutput struct {
	OutOfSyncKiB int64  `json:"out_of_sync_kib"`
	VerifiedAt   string `json:"verified_at"`
	VerifyAlg    string `json:"verify_alg"`
}

var filefragRE = regexp.MustCompile(`(?m)^\s*0:\s+0\.\.\s*\d+:\s+(\d+)\.\.`)

// verifyPart is part b: corrupt 16 KiB of a data file's blocks on node2's backing disk,
// drbd_verify with resync_out_of_sync finds and repairs them; then the verify benchmark.
func (s *scenario) verifyPart(hand *sshx.Pool, sum string) {
	s.t.Helper()
	vdir := filepath.Join(s.dir, "verify")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		s.fail("%v", err)
	}
	if err := os.WriteFile(filepath.Join(vdir, "main.tf"), []byte(verifyTF), 0o644); err != nil {
		s.fail("%v", err)
	}

	s.step("b. corrupt 4 blocks of a data file on node2's backing disk (under the filesystem, O_DIRECT, pair Connected)")
	file := chefData + "/postgresql/base.2"
	frag := s.must(1, "filefrag -e -b4096 "+file)
	m := filefragRE.FindStringSubmatch(frag)
	if m == nil {
		s.fail("no first extent in `filefrag -e -b4096 %s`:\n%s", file, frag)
	}
	start, _ := strconv.ParseInt(m[1], 10, 64)
	block := start + 100 // 4 KiB blocks; internal metadata is at the end, so /dev/vdb = /dev/drbd0 here
	region := fmt.Sprintf("dd if=/dev/vdb bs=4096 skip=%d count=4 iflag=direct status=none | sha256sum", block)
	before := field0(s.must(1, region))
	if got := field0(s.must(2, region)); got != before {
		s.fail("node2's blocks %d-%d differ from node1's before the corruption", block, block+3)
	}
	s.must(2, fmt.Sprintf("dd if=/dev/urandom of=/dev/vdb bs=4096 seek=%d count=4 oflag=direct conv=notrunc status=none", block))
	corrupt := field0(s.must(2, region))
	if corrupt == before {
		s.fail("node2's blocks unchanged after dd")
	}
	s.pass("node2: /dev/vdb blocks %d-%d (inside %s, physical extent from %d) overwritten: sha256 %s -> %s; node1 keeps %s",
		block, block+3, file, start, before[:12], corrupt[:12], before[:12])

	s.step("b. drbd_verify with resync_out_of_sync = true (small configuration in %s)", vdir)
	s.setVar("verify_run", "1")
	s.setVar("resync", "true")
	t0 := time.Now()
	if rc := s.tf(vdir, "verify-1", "apply", "-auto-approve", "-input=false"); rc != 0 {
		s.fail("drbd_verify apply exited %d", rc)
	}
	metric("verify_resync_apply_s", secs(time.Since(t0)))
	out := s.verifyOutput(vdir)
	s.logf("drbd_verify state: out_of_sync_kib = %d, verify_alg = %s, verified_at = %s", out.OutOfSyncKiB, out.VerifyAlg, out.VerifiedAt)
	if out.OutOfSyncKiB <= 0 {
		s.fail("drbd_verify recorded out_of_sync_kib = %d after 16 KiB of node2's disk were overwritten, want > 0", out.OutOfSyncKiB)
	}
	metric("verify_found_oos_kib", out.OutOfSyncKiB)
	s.pass("drbd_verify found out_of_sync_kib = %d > 0 (verify-alg %s)", out.OutOfSyncKiB, out.VerifyAlg)
	s.expectInSync("after the resync of the blocks found")
	if got := field0(s.must(2, region)); got != before {
		s.fail("node2's blocks %d-%d: sha256 %s after the resync, want node1's %s", block, block+3, got[:12], before[:12])
	}
	if got := s.dataSum(); got != sum {
		s.fail("the primary's data checksum changed: %s -> %s", sum, got)
	}
	s.pass("node2's blocks %d-%d equal node1's again (sha256 %s); the primary's data checksum unchanged", block, block+3, before[:12])
	for n := 1; n <= 2; n++ {
		s.kernelLines(n, "Online verify|Out of sync|[Vv]erify|Began resync|Resync done|disconnect|conn\\(|pdsk\\(")
	}
	for _, c := range s.remoteCmdsOf(filepath.Join(vdir, "tf-verify-1.log")) {
		if c.start && strings.Contains(c.cmd, "discard-my-data") {
			s.fail("drbd_verify ran `%s`", c.cmd)
		}
	}

	s.verifyBench(hand, vdir, sum)
}

func (s *scenario) verifyOutput(dir string) verifyOutput {
	s.t.Helper()
	var o verifyOutput
	if err := json.Unmarshal([]byte(s.tfOutputIn(dir, "verify")), &o); err != nil {
		s.fail("terraform output -json verify: %v", err)
	}
	return o
}

func (s *scenario) remoteCmdsOf(file string) []remoteCmd {
	s.t.Helper()
	cmds, err := parseRemoteCmds(file)
	if err != nil {
		s.fail("%v", err)
	}
	return cmds
}

// isVerify reports whether a remote command runs `drbdadm verify`: the provider's guarded
// verify (the state, the verify-alg and the verify in one shell) or the command alone.
func isVerify(cmd string) bool {
	return strings.HasPrefix(cmd, "drbdadm verify") || strings.Contains(cmd, "'@@drbd-probe guarded'; drbdadm verify")
}

// verifySpan finds in a provider log the online verify: from the start of `drbdadm verify` (the
// guarded verify's shell, whose reads before the verify take milliseconds) to
// the end of the last status poll (`cat /proc/drbd` only) before the next other command (the
// full read of the kernel's verify lines, after the poll that saw the verify done), and counts
// the polls in between.
func verifySpan(cmds []remoteCmd) (time.Duration, int, error) {
	iv := -1
	for i, c := range cmds {
		if c.start && isVerify(c.cmd) {
			iv = i
			break
		}
	}
	if iv < 0 {
		return 0, 0, fmt.Errorf("no `drbdadm verify` in the provider log")
	}
	var end time.Time
	polls := 0
	for _, c := range cmds[iv+1:] {
		poll := isProbe(c.cmd) && !strings.Contains(c.cmd, "kernlog") && !isVerify(c.cmd)
		if !poll {
			if c.start && c.cmd != cmds[iv].cmd {
				break
			}
			continue
		}
		if c.start {
			polls++
		} else {
			end = c.at
		}
	}
	if end.IsZero() {
		return 0, 0, fmt.Errorf("no status poll after `drbdadm verify` in the provider log")
	}
	return end.Sub(cmds[iv].at), polls, nil
}

// verifyBench times drbd_verify (a trigger change: the resource is replaced and verifies
// again) against `drbdadm verify` by hand on node1 waited for by reading /proc/drbd every
// handPoll, rounds interleaved. The first provider verify is the "second verify finds 0".
func (s *scenario) verifyBench(hand *sshx.Pool, vdir, sum string) {
	s.t.Helper()
	rounds := benchRounds("LAB_VERIFY_ROUNDS", 2)
	run := 1
	var pApply, pSpan, hTimes, ratios, spanRatios []float64
	for round := 1; round <= rounds; round++ {
		order := []string{"provider", "hand"}
		if round%2 == 0 {
			order = []string{"hand", "provider"}
		}
		var rp, rs, rh float64
		for _, v := range order {
			if v == "provider" {
				run++
				s.step("b. verify round %d, provider: drbd_verify again (triggers.run = %d)", round, run)
				s.setVar("verify_run", strconv.Itoa(run))
				name := fmt.Sprintf("verify-%d", run)
				t0 := time.Now()
				if rc := s.tf(vdir, name, "apply", "-auto-approve", "-input=false"); rc != 0 {
					s.fail("drbd_verify apply exited %d", rc)
				}
				took := time.Since(t0)
				out := s.verifyOutput(vdir)
				if out.OutOfSyncKiB != 0 {
					s.fail("verify after the resync found out_of_sync_kib = %d, want 0", out.OutOfSyncKiB)
				}
				span, polls, err := verifySpan(s.remoteCmdsOf(filepath.Join(vdir, "tf-"+name+".log")))
				if err != nil {
					s.fail("%v", err)
				}
				s.pass("drbd_verify: out_of_sync_kib = 0; apply %.1f s, `drbdadm verify` start -> done seen %.1f s (%d status reads)",
					took.Seconds(), span.Seconds(), polls)
				rp, rs = took.Seconds(), span.Seconds()
				pApply, pSpan = append(pApply, rp), append(pSpan, rs)
			} else {
				s.step("b. verify round %d, by hand: drbdadm verify %s on node1, /proc/drbd every %s", round, resName, handPoll)
				t0 := time.Now()
				s.handRun(hand, 1, "drbdadm verify "+resName)
				s.handWait(hand, 1, "the end of the online verify", 10*time.Minute, func(m *drbd.ProcMinor) bool {
					return m.ConnState == drbd.ConnConnected
				})
				rh = time.Since(t0).Seconds()
				hTimes = append(hTimes, rh)
				s.expectInSync("after the verify by hand")
				s.pass("verify by hand: %.1f s", rh)
			}
		}
		ratios = append(ratios, rp/rh)
		spanRatios = append(spanRatios, rs/rh)
	}
	for n := 1; n <= 2; n++ {
		s.kernelLines(n, "Online verify done")
	}
	if got := s.dataSum(); got != sum {
		s.fail("the primary's data checksum changed: %s -> %s", sum, got)
	}
	pm, plo, phi := stats(pApply)
	sm, slo, shi := stats(pSpan)
	hm, hlo, hhi := stats(hTimes)
	rm, rlo, rhi := stats(ratios)
	srm, srlo, srhi := stats(spanRatios)
	fmt.Printf("\n----- online verify of the lab pair (%s), provider vs by hand, %d rounds -----\n", bytesGiB(s.deviceSize()), rounds)
	fmt.Printf("provider apply (terraform start to exit): median %.1f s (%.1f-%.1f)\n", pm, plo, phi)
	fmt.Printf("provider `drbdadm verify` start -> done seen (provider log): median %.1f s (%.1f-%.1f)\n", sm, slo, shi)
	fmt.Printf("by hand (drbdadm verify, /proc/drbd every %s): median %.1f s (%.1f-%.1f)\n", handPoll, hm, hlo, hhi)
	fmt.Printf("ratio apply/by hand per round: median %.2f (%.2f-%.2f); verify span/by hand: median %.2f (%.2f-%.2f); goal <= 1.1\n",
		rm, rlo, rhi, srm, srlo, srhi)
	fmt.Println("----- end of verify benchmark -----")
	metric("verify_apply_s", fmt.Sprintf("%.1f(%.1f-%.1f)", pm, plo, phi))
	metric("verify_span_s", fmt.Sprintf("%.1f(%.1f-%.1f)", sm, slo, shi))
	metric("verify_hand_s", fmt.Sprintf("%.1f(%.1f-%.1f)", hm, hlo, hhi))
	metric("verify_ratio", fmt.Sprintf("%.2f(%.2f-%.2f)", rm, rlo, rhi))
	metric("verify_span_ratio", fmt.Sprintf("%.2f(%.2f-%.2f)", srm, srlo, srhi))
}

// ---------------------------------------------------------------- grow

// sizes reads node n's /dev/drbd0 size (from sysfs: a Secondary's device cannot be opened),
// its backing disk's size and the size of the filesystem mounted from it (0 when none), in
// bytes.
func (s *scenario) sizes(n int) (dev, backing, fs int64) {
	s.t.Helper()
	out := s.must(n, "echo $(($(cat /sys/block/drbd0/size) * 512)); blockdev --getsize64 /dev/vdb; (df -B1 --output=size "+dataDir+" 2>/dev/null | tail -1 | grep -E '^ *[0-9]+$') || echo 0")
	f := strings.Fields(out)
	if len(f) < 3 {
		s.fail("node%d: sizes: %q", n, out)
	}
	dev, _ = strconv.ParseInt(f[0], 10, 64)
	backing, _ = strconv.ParseInt(f[1], 10, 64)
	if findmnt, _ := s.on(n, "findmnt -n -o SOURCE --mountpoint "+dataDir); strings.TrimSpace(findmnt) == "/dev/drbd0" {
		fs, _ = strconv.ParseInt(f[2], 10, 64)
	}
	return dev, backing, fs
}

// growDisks grows the given nodes' backing disks to gib GiB with lab.sh grow and waits until
// the guests see the new size.
func (s *scenario) growDisks(gib int, nodes ...int) {
	s.t.Helper()
	want := int64(gib) << 30
	for _, n := range nodes {
		if err := labCmd("grow", strconv.Itoa(n), fmt.Sprintf("%dG", gib)); err != nil {
			s.fail("lab.sh grow %d %dG: %v", n, gib, err)
		}
		s.waitFor(fmt.Sprintf("node%d's /dev/vdb to be %d GiB", n, gib), 30*time.Second, func() (bool, string) {
			out, err := s.on(n, "blockdev --getsize64 /dev/vdb")
			if err != nil {
				return false, err.Error()
			}
			return strings.TrimSpace(out) == strconv.FormatInt(want, 10), strings.TrimSpace(out)
		})
	}
}

// growResult is one grow: what it took and the sizes after it.
type growResult struct {
	took    time.Duration
	dev, fs int64
}

// checkGrown checks both nodes after a grow to gib GiB: the device grew beyond the old size
// to what the smaller backing disk allows, the filesystem on node1 with it, the pair in sync,
// the data unchanged.
func (s *scenario) checkGrown(gib int, oldDev, oldFS int64, sum string) (int64, int64) {
	s.t.Helper()
	dev1, back1, fs1 := s.sizes(1)
	dev2, back2, _ := s.sizes(2)
	s.logf("  node1: /dev/drbd0 %d bytes, /dev/vdb %d, ext4 %d; node2: /dev/drbd0 %d, /dev/vdb %d", dev1, back1, fs1, dev2, back2)
	if dev1 != dev2 {
		s.fail("the DRBD device differs: node1 %d bytes, node2 %d", dev1, dev2)
	}
	if dev1 <= oldDev || dev1 > int64(gib)<<30 || dev1 < int64(gib)<<30-64<<20 {
		s.fail("/dev/drbd0 is %d bytes after growing the disks to %d GiB (was %d)", dev1, gib, oldDev)
	}
	if fs1 <= oldFS || fs1 > dev1 || fs1 < dev1-128<<20 {
		s.fail("the ext4 on node1 is %d bytes (was %d) on a %d byte device", fs1, oldFS, dev1)
	}
	s.expectInSync(fmt.Sprintf("after the grow to %d GiB", gib))
	if got := s.dataSum(); got != sum {
		s.fail("the Chef-like data checksum changed: %s -> %s", sum, got)
	}
	s.pass("grown to %d GiB disks: /dev/drbd0 %s -> %s on both nodes, mounted ext4 %s -> %s, data checksum unchanged",
		gib, bytesGiB(oldDev), bytesGiB(dev1), bytesGiB(oldFS), bytesGiB(fs1))
	return dev1, fs1
}

func bytesGiB(n int64) string { return fmt.Sprintf("%.3f GiB", float64(n)/(1<<30)) }

// providerGrow grows both disks to gib GiB, plans (the update with "grew from" must show
// before anything runs) and applies with disk_size = gib, then checks the result.
func (s *scenario) providerGrow(round, gib int, oldDev, oldFS int64, sum string) growResult {
	s.t.Helper()
	s.growDisks(gib, 1, 2)
	s.setVar("disk_size", fmt.Sprintf("%dG", gib))
	plan := fmt.Sprintf("plan-grow-%d", gib)
	if rc := s.planExit(plan); rc != 2 {
		s.fail("plan after growing both disks to %d GiB: exit %d (want 2, changes)", gib, rc)
	}
	b, _ := os.ReadFile(filepath.Join(s.dir, plan+".out"))
	text := strings.Join(strings.Fields(string(b)), " ") // Terraform wraps the warnings
	if !strings.Contains(text, "drbd_resource.backend1[0] will be updated in-place") {
		s.fail("the plan does not update drbd_resource.backend1")
	}
	w := regexp.MustCompile(`Warning: Backing Disk Grew .*? grew from .*?\)\.`).FindString(text)
	if w == "" {
		s.fail("the plan does not warn \"Backing Disk Grew ... grew from\"")
	}
	s.logf("  plan: %s", w)
	s.pass("plan (before anything ran): update of drbd_resource, \"backing disk ... grew from\"")
	name := fmt.Sprintf("apply-grow-%d", gib)
	t0 := time.Now()
	if rc := s.tf(s.dir, name, "apply", "-auto-approve", "-input=false"); rc != 0 {
		s.fail("grow apply exited %d", rc)
	}
	took := time.Since(t0)
	resizes := 0
	for _, c := range s.remoteCmdsOf(filepath.Join(s.dir, "tf-"+name+".log")) {
		if c.start && strings.Contains(c.cmd, "drbdadm resize") { // the guarded resize's shell
			resizes++
		}
	}
	if resizes != 1 {
		s.fail("the grow apply ran `drbdadm resize` %d times, want once", resizes)
	}
	s.pass("provider grow round %d to %d GiB: apply %.1f s, one `drbdadm resize`", round, gib, took.Seconds())
	dev, fs := s.checkGrown(gib, oldDev, oldFS, sum)
	if rc := s.planExit(fmt.Sprintf("plan-after-grow-%d", gib)); rc != 0 {
		s.fail("plan after the grow: exit %d (want 0)", rc)
	}
	s.pass("plan after the grow is empty")
	return growResult{took: took, dev: dev, fs: fs}
}

// handGrow grows both disks to gib GiB and then runs by hand what the provider runs:
// `drbdadm resize` on node1, the wait for the new area's resync (/proc/drbd every handPoll
// until Connected UpToDate/UpToDate with oos:0), resize2fs.
func (s *scenario) handGrow(hand *sshx.Pool, round, gib int, oldDev, oldFS int64, sum string) growResult {
	s.t.Helper()
	s.growDisks(gib, 1, 2)
	t0 := time.Now()
	s.handRun(hand, 1, "drbdadm resize "+resName)
	s.handWait(hand, 1, "the resync of the new area", 10*time.Minute, inSyncNoOOS)
	s.handRun(hand, 1, "resize2fs /dev/drbd0")
	took := time.Since(t0)
	s.pass("by-hand grow round %d to %d GiB: %.1f s", round, gib, took.Seconds())
	dev, fs := s.checkGrown(gib, oldDev, oldFS, sum)
	return growResult{took: took, dev: dev, fs: fs}
}

// growPart is part a and the grow benchmark: rounds of a provider grow and a by-hand grow, by
// 1 GiB each, order alternating; after the first provider grow only node1's disk grows: the
// plan warns naming node2 and the apply runs nothing.
func (s *scenario) growPart(hand *sshx.Pool, sum string) {
	s.t.Helper()
	rounds := benchRounds("LAB_GROW_ROUNDS", 2)
	dev, _, fs := s.sizes(1)
	gib := 1
	var pv, hv, ratios []float64
	for round := 1; round <= rounds; round++ {
		order := []string{"provider", "hand"}
		if round%2 == 0 {
			order = []string{"hand", "provider"}
		}
		var rp, rh float64
		for _, v := range order {
			gib++
			if v == "provider" {
				s.step("a. grow round %d, provider: both backing disks to %d GiB (block_resize), plan, apply", round, gib)
				r := s.providerGrow(round, gib, dev, fs, sum)
				dev, fs, rp = r.dev, r.fs, r.took.Seconds()
				pv = append(pv, rp)
				if round == 1 {
					s.growOneNode(gib+1, dev, fs)
				}
			} else {
				s.step("a. grow round %d, by hand: both backing disks to %d GiB, drbdadm resize, wait, resize2fs", round, gib)
				r := s.handGrow(hand, round, gib, dev, fs, sum)
				dev, fs, rh = r.dev, r.fs, r.took.Seconds()
				hv = append(hv, rh)
			}
		}
		ratios = append(ratios, rp/rh)
	}
	for n := 1; n <= 2; n++ {
		s.kernelLines(n, "size = |[Rr]esync|new size|capacity change")
	}
	s.step("a. after the by-hand grows: plan is empty")
	if rc := s.planExit("plan-after-grow-bench"); rc != 0 {
		s.fail("plan after the grow benchmark: exit %d (want 0)", rc)
	}
	s.pass("plan -detailed-exitcode = 0")
	pm, plo, phi := stats(pv)
	hm, hlo, hhi := stats(hv)
	rm, rlo, rhi := stats(ratios)
	fmt.Printf("\n----- online grow by 1 GiB (drbdadm resize, resync of the new area, resize2fs), provider vs by hand, %d rounds -----\n", rounds)
	fmt.Printf("provider apply (terraform start to exit): median %.1f s (%.1f-%.1f)\n", pm, plo, phi)
	fmt.Printf("by hand (resize, /proc/drbd every %s until in sync, resize2fs): median %.1f s (%.1f-%.1f)\n", handPoll, hm, hlo, hhi)
	fmt.Printf("ratio provider/by hand per round: median %.2f (%.2f-%.2f); medians %.2f; goal <= 1.2\n", rm, rlo, rhi, pm/hm)
	fmt.Println("----- end of grow benchmark -----")
	metric("grow_apply_s", fmt.Sprintf("%.1f(%.1f-%.1f)", pm, plo, phi))
	metric("grow_hand_s", fmt.Sprintf("%.1f(%.1f-%.1f)", hm, hlo, hhi))
	metric("grow_ratio", fmt.Sprintf("%.2f(%.2f-%.2f)", rm, rlo, rhi))
	metric("grow_final_device_gib", fmt.Sprintf("%.3f", float64(dev)/(1<<30)))
}

// growOneNode grows only node1's disk to gib GiB: the plan warns that node2's disk is still
// smaller and plans nothing; the apply runs no `drbdadm resize`; the sizes stay.
func (s *scenario) growOneNode(gib int, dev, fs int64) {
	s.t.Helper()
	s.step("a. only node1's backing disk to %d GiB: plan warns naming node2, apply runs nothing", gib)
	s.growDisks(gib, 1)
	rc := s.planExit(fmt.Sprintf("plan-one-node-%d", gib))
	b, _ := os.ReadFile(filepath.Join(s.dir, fmt.Sprintf("plan-one-node-%d.out", gib)))
	node2 := fmt.Sprintf("127.0.0.1:%d", env.port[2])
	if rc != 0 {
		s.fail("plan with only node1's disk grown: exit %d (want 0, nothing planned)", rc)
	}
	text := strings.Join(strings.Fields(string(b)), " ")
	w := regexp.MustCompile(`Warning: Peer Backing Disk Still Smaller .*? still [0-9.]+ [GM]iB\.`).FindString(text)
	if w == "" || !strings.Contains(w, node2) {
		s.fail("the plan does not warn that node2 (%s) is still smaller", node2)
	}
	s.logf("  plan: %s", w)
	s.pass("plan: exit 0 (nothing planned), warning \"Peer Backing Disk Still Smaller\" naming node2 (%s)", node2)
	name := fmt.Sprintf("apply-one-node-%d", gib)
	if rc := s.tf(s.dir, name, "apply", "-auto-approve", "-input=false"); rc != 0 {
		s.fail("apply with only node1's disk grown exited %d", rc)
	}
	for _, c := range s.remoteCmdsOf(filepath.Join(s.dir, "tf-"+name+".log")) {
		if c.start && (strings.Contains(c.cmd, "drbdadm resize") || strings.Contains(c.cmd, "resize2fs")) {
			s.fail("the apply with only node1's disk grown ran `%s`", c.cmd)
		}
	}
	d1, _, f1 := s.sizes(1)
	d2, _, _ := s.sizes(2)
	if d1 != dev || d2 != dev || f1 != fs {
		s.fail("sizes changed: /dev/drbd0 %d/%d (was %d), ext4 %d (was %d)", d1, d2, dev, f1, fs)
	}
	s.pass("apply: no `drbdadm resize` or resize2fs in the provider log; /dev/drbd0 %s and ext4 %s unchanged", bytesGiB(dev), bytesGiB(fs))
}

// deviceSize is node1's /dev/drbd0 size in bytes.
func (s *scenario) deviceSize() int64 {
	s.t.Helper()
	dev, _, _ := s.sizes(1)
	return dev
}
