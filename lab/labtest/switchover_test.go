//go:build lab

package labtest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// A switchover moves the primary role between two live backends: on the old primary
// `chef-server-ctl stop`, `umount`, `drbdadm secondary`; on the new one `drbdadm primary`,
// `mount`, `chef-server-ctl reconfigure`. Chef's data is unmounted from the start of the umount
// on the old primary to the end of the mount on the new one: the "unmounted time", measured
// the same way for the provider and by hand, as seen by the SSH client that sends the
// commands (the provider's TRACE log timestamps of its remote commands; time.Now around the
// by-hand commands in this process). Both clocks are this machine's. Chef is down from the
// start of `chef-server-ctl stop` on the old primary to the end of `chef-server-ctl
// reconfigure` on the new one: the "Chef downtime", measured the same way.

func backendName(n int) string { return fmt.Sprintf("backend%d", n) }

// ---------------------------------------------------------------- /proc/drbd sampler

// procSampler reads /proc/drbd on both nodes every 0.5 s while an operation runs, each over
// one long-running SSH session, to show that the pair stayed connected and the resource was
// never taken down.
type procSampler struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	samples [3][]string // complete /proc/drbd texts per node (index 0 unused)
	cur     [3]*strings.Builder
	errs    []string
}

// samplerScript prints /proc/drbd between markers every 0.5 s; only complete samples count.
const samplerScript = `while :; do echo @@sample-begin; cat /proc/drbd; echo @@sample-end; sleep 0.5; done`

// samplerScript9 is samplerScript on DRBD 9: `drbdsetup status --json` (`[ ]` when down).
const samplerScript9 = `while :; do echo @@sample-begin; drbdsetup status ` + resName + ` --json 2>/dev/null; echo @@sample-end; sleep 0.5; done`

func (p *procSampler) line(n int, l string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch l {
	case "@@sample-begin":
		p.cur[n] = &strings.Builder{}
	case "@@sample-end":
		if p.cur[n] != nil {
			p.samples[n] = append(p.samples[n], p.cur[n].String())
			p.cur[n] = nil
		}
	default:
		if p.cur[n] != nil {
			p.cur[n].WriteString(l + "\n")
		}
	}
}

func (p *procSampler) count(n int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.samples[n])
}

// startSampler starts sampling both nodes and waits until each has delivered a first sample.
func (s *scenario) startSampler() *procSampler {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &procSampler{cancel: cancel}
	for n := 1; n <= 2; n++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			script := samplerScript
			if drbd9() {
				script = samplerScript9
			}
			_, err := s.pool.Exec(ctx, target(n), sshx.Command{Cmd: script, OnStdoutLine: func(l string) { p.line(n, l) }})
			if err != nil && ctx.Err() == nil {
				p.mu.Lock()
				p.errs = append(p.errs, fmt.Sprintf("node%d: sampler ended: %v", n, err))
				p.mu.Unlock()
			}
		}()
	}
	s.t.Cleanup(func() { p.cancel(); p.wg.Wait() })
	s.waitFor("a first /proc/drbd sample from both nodes", 20*time.Second, func() (bool, string) {
		return p.count(1) > 0 && p.count(2) > 0, fmt.Sprintf("samples node1 %d, node2 %d", p.count(1), p.count(2))
	})
	return p
}

// samplerReport summarises the samples: how many per node, the samples that show the resource
// down or a connection state other than Connected/SyncSource/SyncTarget, and per node the
// sequence of distinct states seen.
type samplerReport struct {
	n   [3]int
	bad []string
	seq [3][]string
}

var sampleOK = map[drbd.ConnState]bool{drbd.ConnConnected: true, drbd.ConnSyncSource: true, drbd.ConnSyncTarget: true}

func (p *procSampler) stop() samplerReport {
	p.cancel()
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	var r samplerReport
	r.bad = append(r.bad, p.errs...)
	for n := 1; n <= 2; n++ {
		r.n[n] = len(p.samples[n])
		for i, text := range p.samples[n] {
			var state string
			m, ok := (*drbd.ProcMinor)(nil), false
			var err error
			if drbd9() {
				m, err = parseSample9(text)
				ok = m != nil
			} else {
				var pd *drbd.ProcDRBD
				if pd, err = drbd.ParseProcDRBD(text); err == nil {
					m, ok = pd.Minor(minor)
				}
			}
			switch {
			case err != nil:
				state = "unparsable"
				r.bad = append(r.bad, fmt.Sprintf("node%d sample %d: %v", n, i+1, err))
			case !ok || m.Unconfigured:
				state = "resource down"
				r.bad = append(r.bad, fmt.Sprintf("node%d sample %d: minor %d not configured (resource down)", n, i+1, minor))
			default:
				state = fmt.Sprintf("%s %s/%s %s/%s", m.ConnState, m.Role, m.PeerRole, m.DiskState, m.PeerDiskState)
				if !sampleOK[m.ConnState] {
					r.bad = append(r.bad, fmt.Sprintf("node%d sample %d: cs:%s", n, i+1, m.ConnState))
				}
			}
			if len(r.seq[n]) == 0 || r.seq[n][len(r.seq[n])-1] != state {
				r.seq[n] = append(r.seq[n], state)
			}
		}
	}
	return r
}

// checkSamples fails the test when a sample showed the pair not connected or the resource
// down, or when a node gave fewer than 2 samples.
func (s *scenario) checkSamples(r samplerReport, what string) {
	s.t.Helper()
	for n := 1; n <= 2; n++ {
		s.logf("  /proc/drbd node%d during %s: %d samples, states: %s", n, what, r.n[n], strings.Join(r.seq[n], " -> "))
	}
	if len(r.bad) > 0 {
		s.fail("during %s the pair was not Connected throughout: %s", what, strings.Join(r.bad[:min(len(r.bad), 10)], "; "))
	}
	if r.n[1] < 2 || r.n[2] < 2 {
		s.fail("during %s too few /proc/drbd samples (node1 %d, node2 %d)", what, r.n[1], r.n[2])
	}
	s.pass("pair Connected throughout %s (%d + %d samples every 0.5 s; resource never down)", what, r.n[1], r.n[2])
}

// ---------------------------------------------------------------- provider log

// remoteCmd is one "running remote command" (start) or "remote command finished" line of the
// provider's log (TF_LOG_PROVIDER=TRACE).
type remoteCmd struct {
	line  int
	start bool
	at    time.Time
	port  int
	cmd   string
	exit  string
}

var (
	remoteCmdRE = regexp.MustCompile(`: (running remote command|remote command finished): `)
	hostFieldRE = regexp.MustCompile(` host=\S*:(\d+)`)
	cmdFieldRE  = regexp.MustCompile(` command=(?:"((?:[^"\\]|\\.)*)"|(\S+))`)
	tsFieldRE   = regexp.MustCompile(` timestamp=(\S+)`)
	exitFieldRE = regexp.MustCompile(` exit_code=(-?\d+)`)
)

// parseRemoteCmds reads the remote commands from a provider log, in log order. The times are
// the provider's own (its `timestamp` field, ms).
func parseRemoteCmds(file string) ([]remoteCmd, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cmds []remoteCmd
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for i := 1; sc.Scan(); i++ {
		l := sc.Text()
		m := remoteCmdRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		c := remoteCmd{line: i, start: m[1] == "running remote command"}
		if h := hostFieldRE.FindStringSubmatch(l); h != nil {
			c.port, _ = strconv.Atoi(h[1])
		}
		if cm := cmdFieldRE.FindStringSubmatch(l); cm != nil {
			c.cmd = cm[2]
			if cm[1] != "" {
				if u, err := strconv.Unquote(`"` + cm[1] + `"`); err == nil {
					c.cmd = u
				} else {
					c.cmd = cm[1]
				}
			}
		}
		if ts := tsFieldRE.FindStringSubmatch(l); ts != nil {
			if c.at, err = time.Parse(time.RFC3339Nano, ts[1]); err != nil {
				return nil, fmt.Errorf("%s line %d: timestamp %q: %w", file, i, ts[1], err)
			}
		}
		if e := exitFieldRE.FindStringSubmatch(l); e != nil {
			c.exit = e[1]
		}
		cmds = append(cmds, c)
	}
	return cmds, sc.Err()
}

func isProbe(cmd string) bool {
	return strings.HasPrefix(cmd, "echo '@@drbd-probe") || strings.HasPrefix(cmd, "echo '@@hostfs")
}

// shortCmd names a command for the breakdown: status probes by kind, others by their text.
func shortCmd(cmd string) string {
	switch {
	case strings.HasPrefix(cmd, "echo '@@drbd-probe") && strings.Contains(cmd, "kernlog"):
		return "drbd status probe (with the kernel log)"
	case strings.HasPrefix(cmd, "echo '@@drbd-probe"):
		return "drbd state probe (no kernel log)"
	case strings.HasPrefix(cmd, "echo '@@hostfs"):
		return "filesystem probe (blkid+findmnt)"
	case strings.Contains(cmd, "drbdsetup events2 --now") && strings.Contains(cmd, "drbdadm primary"):
		return "checked promotion (events2, then drbdadm primary " + resName + " if healthy)"
	case strings.Contains(cmd, "@@hostfs umount"):
		return "checked umount (the mount table read with read, then umount " + dataDir + ")"
	case strings.Contains(cmd, "@@hostfs mount"):
		return "checked mount (role, blkid, the mount table; mount -t ext4 /dev/drbd0 ...; then the sizes)"
	case strings.Contains(cmd, "blockdev --getsize64"):
		return "filesystem size read (blockdev, dumpe2fs -h)"
	}
	return cut(cmd, 70)
}

// switchResult is one switchover: its unmounted time, how long the whole operation took,
// and for the provider the remote commands within the unmounted time.
type switchResult struct {
	window   time.Duration
	chefDown time.Duration
	total    time.Duration
	detail   string
}

// isUmountCmd reports whether cmd is the switchover's unmount of the data directory (the
// checked one, or plain).
func isUmountCmd(cmd string) bool {
	return cmd == "umount "+dataDir || (strings.Contains(cmd, "@@hostfs umount") && strings.Contains(cmd, dataDir))
}

// providerWindow finds in the provider's remote commands the switchover from node `from` to
// node `to`: `chef-server-ctl stop` sent to `from` before its umount, the unmounted time
// from the umount's start to the end of the mount on `to`, and the Chef downtime from the
// stop's start to the end of `chef-server-ctl reconfigure` on `to`. detail lists the commands
// run within the Chef downtime, with the time between them (Terraform and the provider).
func providerWindow(cmds []remoteCmd, from, to int) (stopAt, umountAt time.Time, window, chefDown time.Duration, detail string, err error) {
	iStop, iUmount, iMount, iReconf := -1, -1, -1, -1
	for i, c := range cmds {
		switch {
		case iStop < 0 && c.start && c.port == env.port[from] && c.cmd == "chef-server-ctl stop":
			iStop = i
		case iUmount < 0 && c.start && c.port == env.port[from] && isUmountCmd(c.cmd):
			iUmount = i
		case iUmount >= 0 && iMount < 0 && !c.start && c.port == env.port[to] &&
			strings.Contains(c.cmd, "mount -t ext4 /dev/drbd0 "+dataDir) && c.exit == "0":
			iMount = i
		case iMount >= 0 && iReconf < 0 && !c.start && c.port == env.port[to] && c.cmd == "chef-server-ctl reconfigure" && c.exit == "0":
			iReconf = i
		}
	}
	switch {
	case iUmount < 0:
		return stopAt, umountAt, 0, 0, "", fmt.Errorf("no umount of %s sent to node%d in the provider log", dataDir, from)
	case iMount < 0:
		return stopAt, umountAt, 0, 0, "", fmt.Errorf("no completed `mount -t ext4 /dev/drbd0 %s` on node%d after the umount in the provider log", dataDir, to)
	case iReconf < 0:
		return stopAt, umountAt, 0, 0, "", fmt.Errorf("no completed `chef-server-ctl reconfigure` on node%d after the mount in the provider log", to)
	case iStop < 0:
		return stopAt, umountAt, 0, 0, "", fmt.Errorf("no `chef-server-ctl stop` sent to node%d in the provider log", from)
	case iStop > iUmount:
		return stopAt, umountAt, 0, 0, "", fmt.Errorf("`chef-server-ctl stop` was sent to node%d after the umount (log lines %d and %d)", from, cmds[iStop].line, cmds[iUmount].line)
	}
	stopAt, umountAt = cmds[iStop].at, cmds[iUmount].at
	window = cmds[iMount].at.Sub(umountAt)
	chefDown = cmds[iReconf].at.Sub(stopAt)
	detail = breakdown(cmds, iStop, iReconf, umountAt, window)
	return stopAt, umountAt, window, chefDown, detail, nil
}

// breakdown lists the remote commands from cmds[first] to cmds[last] (a start and a finish
// line) with their start relative to the first, their duration, and the time before each
// when no remote command ran (Terraform and the provider between commands); and sums the
// unmounted time's part (window from umountAt) the same way.
func breakdown(cmds []remoteCmd, first, last int, umountAt time.Time, window time.Duration) string {
	type span struct {
		from, to time.Time
		port     int
		cmd      string
	}
	open := map[string][]time.Time{}
	var spans []span
	for _, c := range cmds[first : last+1] {
		k := strconv.Itoa(c.port) + " " + c.cmd
		if c.start {
			open[k] = append(open[k], c.at)
		} else if q := open[k]; len(q) > 0 {
			spans = append(spans, span{q[0], c.at, c.port, c.cmd})
			open[k] = q[1:]
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from.Before(spans[j].from) })
	t0, end := cmds[first].at, cmds[last].at
	var busy, wBusy, probes, actions time.Duration
	var nProbe, nAction int
	cover := t0
	var lines []string
	union := func(from, to, lo, hi time.Time, cov time.Time) time.Duration {
		if from.Before(lo) {
			from = lo
		}
		if to.After(hi) {
			to = hi
		}
		if from.Before(cov) {
			from = cov
		}
		if to.After(from) {
			return to.Sub(from)
		}
		return 0
	}
	for _, sp := range spans {
		d := sp.to.Sub(sp.from)
		if isProbe(sp.cmd) {
			probes += d
			nProbe++
		} else {
			actions += d
			nAction++
		}
		gap := time.Duration(0)
		if sp.from.After(cover) {
			gap = sp.from.Sub(cover)
		}
		busy += union(sp.from, sp.to, t0, end, cover)
		wBusy += union(sp.from, sp.to, umountAt, umountAt.Add(window), maxTime(cover, umountAt))
		if sp.to.After(cover) {
			cover = sp.to
		}
		node := 1
		if sp.port == env.port[2] {
			node = 2
		}
		lines = append(lines, fmt.Sprintf("    +%6.3fs %5.3fs node%d %-60s (no remote command for %.3f s before)", sp.from.Sub(t0).Seconds(), d.Seconds(), node, shortCmd(sp.cmd), gap.Seconds()))
	}
	return fmt.Sprintf("  remote commands while Chef was down: %d actions %.3f s, %d status probes %.3f s; "+
		"no remote command running (Terraform and the provider between commands) %.3f s of %.3f s; within the unmounted time %.3f s of %.3f s\n%s",
		nAction, actions.Seconds(), nProbe, probes.Seconds(), (end.Sub(t0) - busy).Seconds(), end.Sub(t0).Seconds(),
		(window - wBusy).Seconds(), window.Seconds(), strings.Join(lines, "\n"))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// ---------------------------------------------------------------- switchovers

// checkSwitchedTo checks the pair after a switchover to node `to`: Connected, `to` Primary
// with the filesystem mounted and the canary intact, the other node Secondary with nothing
// mounted.
func (s *scenario) checkSwitchedTo(to int, canarySum string) {
	s.t.Helper()
	from := 3 - to
	_, l := s.expectState(to, drbd.ConnConnected, drbd.RolePrimary, drbd.DiskUpToDate, drbd.DiskUpToDate)
	s.logf("  node%d: %s", to, l)
	_, l = s.expectState(from, drbd.ConnConnected, drbd.RoleSecondary, drbd.DiskUpToDate, drbd.DiskUpToDate)
	s.logf("  node%d: %s", from, l)
	s.checkMountedOn(to)
	if out, _ := s.on(from, "findmnt -n -o SOURCE --mountpoint "+dataDir); strings.TrimSpace(out) != "" {
		s.fail("node%d still has %s mounted on %s", from, strings.TrimSpace(out), dataDir)
	}
	if got := field0(s.must(to, "sha256sum "+day2Canary)); got != canarySum {
		s.fail("node%d: canary sha256 %s, want %s", to, got, canarySum)
	}
	s.pass("node%d Primary, node%d Secondary, Connected UpToDate/UpToDate; canary sha256 %s on node%d", to, from, canarySum[:16], to)
}

// providerSwitchover applies the example with primary = node `to` (the other node primary
// before), sampling /proc/drbd on both nodes during the apply, and checks the result and the
// provider's command order. name is the terraform run's name.
func (s *scenario) providerSwitchover(name string, to int, canarySum string) switchResult {
	s.t.Helper()
	from := 3 - to
	s.setVar("primary", backendName(to))
	smp := s.startSampler()
	t0 := time.Now()
	rc := s.tf(s.dir, name, "apply", "-auto-approve", "-input=false")
	total := time.Since(t0)
	rep := smp.stop()
	if rc != 0 {
		s.fail("switchover apply (primary = %s) exited %d", backendName(to), rc)
	}
	s.pass("terraform apply primary=%s: exit 0 in %ss", backendName(to), secs(total))
	s.checkSamples(rep, "the apply")
	cmds, err := parseRemoteCmds(filepath.Join(s.dir, "tf-"+name+".log"))
	if err != nil {
		s.fail("%v", err)
	}
	stopAt, umountAt, window, chefDown, detail, err := providerWindow(cmds, from, to)
	if err != nil {
		s.fail("%v", err)
	}
	for _, c := range cmds {
		if c.start && (strings.Contains(c.cmd, "drbdadm down") || strings.Contains(c.cmd, "disconnect") || strings.Contains(c.cmd, "--force")) {
			s.fail("the switchover ran `%s` on port %d", c.cmd, c.port)
		}
	}
	s.pass("provider log: `chef-server-ctl stop` sent to node%d at %s, %.3f s before `umount` there; no drbdadm down/disconnect/--force",
		from, stopAt.Format("15:04:05.000"), umountAt.Sub(stopAt).Seconds())
	s.logf("unmounted time (provider log: umount start on node%d -> mount done on node%d): %.3f s", from, to, window.Seconds())
	s.logf("Chef downtime (provider log: stop start on node%d -> reconfigure done on node%d): %.3f s; %s", from, to, chefDown.Seconds(), s.recordedDowntime(from, to))
	s.logf("%s", detail)
	s.checkSwitchedTo(to, canarySum)
	return switchResult{window: window, chefDown: chefDown, total: total, detail: detail}
}

// handSwitchover runs the same switchover by hand over hand (one SSH connection per node):
// the same commands as the provider, without its status reads.
func (s *scenario) handSwitchover(hand *sshx.Pool, from, to int, canarySum string) switchResult {
	s.t.Helper()
	var t0 time.Time
	var steps []string
	run := func(n int, cmd string) {
		s.t.Helper()
		start := time.Now()
		s.handRun(hand, n, cmd)
		steps = append(steps, fmt.Sprintf("    +%.3fs %.3fs node%d %s", start.Sub(t0).Seconds(), time.Since(start).Seconds(), n, cmd))
	}
	smp := s.startSampler()
	t0 = time.Now()
	run(from, "chef-server-ctl stop")
	tUmount := time.Now()
	run(from, "umount "+dataDir)
	run(from, "drbdadm secondary "+resName)
	run(to, "drbdadm primary "+resName)
	run(to, "mkdir -p "+dataDir+" && mount -t ext4 /dev/drbd0 "+dataDir)
	window := time.Since(tUmount)
	run(to, "touch "+readyFile)
	run(to, "chef-server-ctl reconfigure")
	chefDown := time.Since(t0)
	run(from, "touch "+readyFile)
	run(from, "chef-server-ctl reconfigure")
	total := time.Since(t0)
	rep := smp.stop()
	s.checkSamples(rep, "the switchover by hand")
	s.logf("unmounted time (by hand: umount start on node%d -> mount done on node%d): %.3f s; Chef downtime (stop start -> reconfigure done on node%d) %.3f s; %s; whole sequence %.3f s",
		from, to, window.Seconds(), to, chefDown.Seconds(), s.recordedDowntime(from, to), total.Seconds())
	s.logf("  by-hand commands (start, took, node, command):\n%s", strings.Join(steps, "\n"))
	s.checkSwitchedTo(to, canarySum)
	return switchResult{window: window, chefDown: chefDown, total: total}
}

// handshakeSeconds opens a new SSH connection to node n (a fresh pool: key exchange, host
// key check, authentication) and returns how long that took.
func (s *scenario) handshakeSeconds(n int) float64 {
	s.t.Helper()
	p, err := newLabPool()
	if err != nil {
		s.fail("ssh pool for the handshake measurement: %v", err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	if _, err := p.Fingerprint(ctx, target(n)); err != nil {
		s.fail("handshake with node%d: %v", n, err)
	}
	return time.Since(start).Seconds()
}

// recordedDowntime says what the nodes' own chef-server-ctl run records show: from the last
// `stop ok` on node `from` to the last `reconfigure ok` on node `to` (each written when the
// command ends; the guests' clocks are set from this machine's).
func (s *scenario) recordedDowntime(from, to int) string {
	s.t.Helper()
	last := func(n int, what string) float64 {
		at := 0.0
		for _, r := range s.runRecords(n) {
			if r.what == what {
				at = r.at
			}
		}
		return at
	}
	stop, reconf := last(from, "stop ok"), last(to, "reconfigure ok")
	if stop == 0 || reconf == 0 {
		return "no stop/reconfigure records on the nodes"
	}
	return fmt.Sprintf("nodes' run records: node%d stop ok -> node%d reconfigure ok %.3f s", from, to, reconf-stop)
}

// ---------------------------------------------------------------- benchmark

// stats returns the median, minimum and maximum of v.
func stats(v []float64) (med, lo, hi float64) {
	if len(v) == 0 {
		return 0, 0, 0
	}
	w := slices.Clone(v)
	slices.Sort(w)
	if n := len(w); n%2 == 1 {
		med = w[n/2]
	} else {
		med = (w[n/2-1] + w[n/2]) / 2
	}
	return med, w[0], w[len(w)-1]
}

func mean(v []float64) float64 {
	var t float64
	for _, x := range v {
		t += x
	}
	return t / float64(len(v))
}

// switchoverBench is step a of the day-2 scenario and the benchmark "switchover unmounted
// time and Chef downtime, provider vs by hand": rounds of a provider pair (primary =
// backend2, then back to backend1) and a by-hand pair (node1 -> node2 -> node1), their order
// reversed every other round. The first provider pair is step a's switchover and switch
// back. node1 is primary before and after.
func (s *scenario) switchoverBench(canarySum string) {
	rounds, err := strconv.Atoi(getenv("LAB_SWITCHOVER_ROUNDS", "3"))
	if err != nil || rounds < 2 {
		s.fail("LAB_SWITCHOVER_ROUNDS=%q: want a number >= 2", os.Getenv("LAB_SWITCHOVER_ROUNDS"))
	}
	variants := []string{"provider", "hand"}
	hand, err := newLabPool()
	if err != nil {
		s.fail("ssh pool for the by-hand switchovers: %v", err)
	}
	defer hand.Close()
	for n := 1; n <= 2; n++ { // connect before any timing
		if _, err := hand.Exec(context.Background(), target(n), sshx.Command{Cmd: "true"}); err != nil {
			s.fail("by-hand pool: node%d: %v", n, err)
		}
	}
	type sample struct {
		variant string
		round   int
		dir     string
		r       switchResult
	}
	var all []sample
	// per variant, per round: the round's mean unmounted time and Chef downtime
	roundWin, roundDown := map[string][]float64{}, map[string][]float64{}
	// The provider's first command on a host in each apply (a new provider process) opens its
	// SSH connection: in a switchover that is chef-server-ctl stop, inside Chef's downtime.
	// What one handshake costs, measured each round with a fresh pool.
	var handshakes []float64
	for round := 1; round <= rounds; round++ {
		handshakes = append(handshakes, s.handshakeSeconds(1))
		order := slices.Clone(variants)
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for _, v := range order {
			var win, down []float64
			for _, to := range []int{2, 1} {
				var r switchResult
				if v == "hand" {
					s.step("benchmark round %d, by hand over one SSH connection per node: node%d -> node%d", round, 3-to, to)
					r = s.handSwitchover(hand, 3-to, to, canarySum)
				} else {
					what := "switchover"
					if to == 1 {
						what = "switch back"
					}
					if round == 1 && v == "provider" {
						s.step("a. %s: terraform apply with primary = %s (TF_LOG_PROVIDER=TRACE; benchmark round 1, provider)", what, backendName(to))
					} else {
						s.step("benchmark round %d, %s: %s, primary = %s", round, v, what, backendName(to))
					}
					r = s.providerSwitchover(fmt.Sprintf("switch-r%d-to%d", round, to), to, canarySum)
				}
				all = append(all, sample{v, round, fmt.Sprintf("node%d->node%d", 3-to, to), r})
				win = append(win, r.window.Seconds())
				down = append(down, r.chefDown.Seconds())
			}
			roundWin[v] = append(roundWin[v], mean(win))
			roundDown[v] = append(roundDown[v], mean(down))
		}
	}
	st := hand.Stats()
	s.logf("by-hand pool: %d SSH handshakes, %d sessions over the whole benchmark", st.Handshakes, st.Sessions)
	hsm, hslo, hshi := stats(handshakes)
	s.logf("one SSH handshake to node1 (fresh pool, once per round): median %.3f s (%.3f-%.3f)", hsm, hslo, hshi)
	metric("ssh_handshake_s", fmt.Sprintf("%.3f(%.3f-%.3f)", hsm, hslo, hshi))
	if st.Handshakes != 2 {
		s.fail("the by-hand switchovers used %d SSH connections, want one per node (2)", st.Handshakes)
	}

	s.step("after the by-hand switchovers: plan is empty (node1 primary, as in the state)")
	s.setVar("primary", "")
	if rc := s.planExit("plan-after-bench"); rc != 0 {
		s.fail("plan after the switchover benchmark: exit %d (want 0)", rc)
	}
	s.pass("plan -detailed-exitcode = 0")

	fmt.Printf("\n----- switchover: unmounted time (umount start on the old primary -> mount done on the new one) and Chef downtime (stop start -> reconfigure done on the new one) -----\n")
	fmt.Printf("%-13s %-5s %-14s %10s %10s %12s\n", "variant", "round", "direction", "unmounted", "Chef down", "whole op")
	win, down := map[string][]float64{}, map[string][]float64{}
	for _, x := range all {
		fmt.Printf("%-13s %-5d %-14s %9.3fs %9.3fs %11.3fs\n", x.variant, x.round, x.dir, x.r.window.Seconds(), x.r.chefDown.Seconds(), x.r.total.Seconds())
		win[x.variant] = append(win[x.variant], x.r.window.Seconds())
		down[x.variant] = append(down[x.variant], x.r.chefDown.Seconds())
	}
	ratios := func(v string, per map[string][]float64) (med, lo, hi float64) {
		var r []float64
		for i := range per[v] {
			r = append(r, per[v][i]/per["hand"][i])
		}
		return stats(r)
	}
	hm, hlo, hhi := stats(win["hand"])
	dm, dlo, dhi := stats(down["hand"])
	fmt.Printf("by hand:       unmounted median %.3f s (%.3f-%.3f); Chef down median %.3f s (%.3f-%.3f); %d switchovers\n", hm, hlo, hhi, dm, dlo, dhi, len(win["hand"]))
	for _, v := range variants {
		if v == "hand" {
			continue
		}
		pm, plo, phi := stats(win[v])
		qm, qlo, qhi := stats(down[v])
		rm, rlo, rhi := ratios(v, roundWin)
		cm, clo, chi := ratios(v, roundDown)
		fmt.Printf("%-13s  unmounted median %.3f s (%.3f-%.3f), ratio %.2f (medians), per round %.2f (%.2f-%.2f); "+
			"Chef down median %.3f s (%.3f-%.3f), ratio %.2f (medians), per round %.2f (%.2f-%.2f); %d switchovers\n",
			v+":", pm, plo, phi, pm/hm, rm, rlo, rhi, qm, qlo, qhi, qm/dm, cm, clo, chi, len(win[v]))
		prefix := "switchover_"
		if v != "provider" {
			prefix = "switchover_" + strings.ReplaceAll(v, "-", "_") + "_"
		}
		metric(prefix+"unmounted_s", fmt.Sprintf("%.3f", pm))
		metric(prefix+"unmounted_min_s", fmt.Sprintf("%.3f", plo))
		metric(prefix+"unmounted_max_s", fmt.Sprintf("%.3f", phi))
		metric(prefix+"ratio", fmt.Sprintf("%.2f", pm/hm))
		metric(prefix+"ratio_per_round", fmt.Sprintf("%.2f(%.2f-%.2f)", rm, rlo, rhi))
		metric(prefix+"chef_down_s", fmt.Sprintf("%.3f", qm))
		metric(prefix+"chef_down_min_s", fmt.Sprintf("%.3f", qlo))
		metric(prefix+"chef_down_max_s", fmt.Sprintf("%.3f", qhi))
		metric(prefix+"chef_down_ratio", fmt.Sprintf("%.2f", qm/dm))
		metric(prefix+"chef_down_ratio_per_round", fmt.Sprintf("%.2f(%.2f-%.2f)", cm, clo, chi))
		if v == "provider" {
			if pm/hm > 1.2 {
				fmt.Printf("NOTE [%s] the provider's unmounted time is %.2f x the by-hand one (goal <= 1.2); the breakdowns above show where it goes\n", s.name, pm/hm)
			}
			if qm/dm > 1.3 {
				fmt.Printf("NOTE [%s] the provider's Chef downtime is %.2f x the by-hand one (goal <= 1.3); the breakdowns above show where it goes\n", s.name, qm/dm)
			}
		}
	}
	fmt.Println("----- end of switchover benchmark -----")
	metric("switchover_unmounted_hand_s", fmt.Sprintf("%.3f", hm))
	metric("switchover_unmounted_hand_min_s", fmt.Sprintf("%.3f", hlo))
	metric("switchover_unmounted_hand_max_s", fmt.Sprintf("%.3f", hhi))
	metric("switchover_chef_down_hand_s", fmt.Sprintf("%.3f", dm))
	metric("switchover_chef_down_hand_min_s", fmt.Sprintf("%.3f", dlo))
	metric("switchover_chef_down_hand_max_s", fmt.Sprintf("%.3f", dhi))
}
