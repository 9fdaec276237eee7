package drbdsim

import (
	"bufio"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWrapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cmd string
		code      int
		stdout    string
		stderr    string
	}{
		{"sudo sh -c", `sudo -n -- sh -c 'drbdadm primary --force '"'"'pc0'"'"''`, 0, "", ""},
		{"quoted resource", `drbdadm role 'pc0'`, 0, "Secondary/Secondary\n", ""},
		{"sh -c with args", `sh -c 'echo "$1"' sh hello`, 0, "hello\n", ""},
		{"nested failure code", `sudo -n -- sh -c 'drbdadm primary pc0'`, 17, "",
			"0: State change failed: (-2) Need access to UpToDate data\nCommand 'drbdsetup-84 primary 0' terminated with exit code 17\n"},
		{"sh -e stops", `sh -ec 'false; echo no'`, 1, "", ""},
		{"exit status", `sh -c 'exit 3'`, 3, "", ""},
		{"not found inside sudo", `sudo -n -- sh -c 'nothere'`, 127, "", "sh: 1: nothere: not found\n"},
		{"absolute program path", `/usr/sbin/drbdadm sh-dev pc0`, 0, "/dev/drbd0\n", ""},
		{"command -v", `command -v drbdadm; command -v nothere || echo missing`, 0, "/usr/sbin/drbdadm\nmissing\n", ""},
		{"probe style", `echo '@@p proc'; cat /proc/drbd 2>&1 | head -n 1; echo "@@rc $?"; read -r l < /proc/drbd; case "$l" in "version: 8"*) echo v8;; esac`,
			0, "@@p proc\nversion: 8.4.11 (api:1/proto:86-101)\n@@rc 0\nv8\n", ""},
		{"2>&1 merges", `drbdadm dstate r9 2>&1; echo "rc=$?"`, 0, "'r9' not defined in your config (for this host).\nrc=10\n", ""},
		{"test -e and -b", `test -e /dev/drbd0 && test -b /dev/vdb && [ -d /etc/drbd.d ] && echo ok`, 0, "ok\n", ""},
		{"uname -n", `uname -n; hostname`, 0, "node1\nnode1\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := pairAt(t, V84, upBoth)
			r := run(t, p.Node(0), tc.cmd)
			if diff := cmp.Diff(result{tc.stdout, tc.stderr, tc.code}, r, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFileWritesThroughStdin(t *testing.T) {
	t.Parallel()
	p := newPair(PairConfig{})
	n := p.Node(0)
	conf := p.ResConfig()
	cmd := "cat > /etc/drbd.d/.pc0.res.tmp && chmod 0644 /etc/drbd.d/.pc0.res.tmp && mv -f /etc/drbd.d/.pc0.res.tmp /etc/drbd.d/pc0.res"
	var out, errb strings.Builder
	if code := n.Handle(context.Background(), "sudo -n -- sh -c '"+cmd+"'", strings.NewReader(conf), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if got, ok := n.ReadFile("/etc/drbd.d/pc0.res"); !ok || got != conf {
		t.Errorf("file = %q, %v", got, ok)
	}
	if n.FileExists("/etc/drbd.d/.pc0.res.tmp") {
		t.Error("temporary file left behind")
	}
	mustRun(t, n, "drbdadm create-md --force pc0") // the resource is now defined
	want := [][]string{
		{">", "/etc/drbd.d/.pc0.res.tmp"},
		{"chmod", "0644", "/etc/drbd.d/.pc0.res.tmp"},
		{"mv", "-f", "/etc/drbd.d/.pc0.res.tmp", "/etc/drbd.d/pc0.res"},
		{"drbdadm", "create-md", "--force", "pc0"},
	}
	if diff := cmp.Diff(want, n.Mutating()); diff != "" {
		t.Errorf("Mutating (-want +got):\n%s", diff)
	}
	wantExec := append([][]string{{">", "/etc/drbd.d/.pc0.res.tmp"}, {"cat"}}, want[1:]...)
	if diff := cmp.Diff(wantExec, n.Executed()); diff != "" {
		t.Errorf("Executed (-want +got):\n%s", diff)
	}
}

func TestIsMutating(t *testing.T) {
	t.Parallel()
	tests := []struct {
		argv []string
		want bool
	}{
		{[]string{"drbdadm", "primary", "--force", "pc0"}, true},
		{[]string{"drbdadm", "--", "--overwrite-data-of-peer", "primary", "pc0"}, true},
		{[]string{"drbdadm", "-c", "/etc/drbd.conf", "dstate", "pc0"}, false},
		{[]string{"drbdadm", "peer-device-options", "--resync-rate=1M", "pc0"}, true},
		{[]string{"drbdadm", "status", "pc0"}, false},
		{[]string{"drbdadm", "sh-dev", "pc0"}, false},
		{[]string{"drbdsetup", "/dev/drbd0", "syncer", "-r", "1100M"}, true},
		{[]string{"drbdsetup", "status", "pc0", "--json"}, false},
		{[]string{"/sbin/mkfs.xfs", "-f", "/dev/drbd0"}, true},
		{[]string{"mount", "/dev/drbd0", "/data"}, true},
		{[]string{"mount"}, false},
		{[]string{"findmnt", "-n", "/data"}, false},
		{[]string{"chef-server-ctl", "reconfigure"}, true},
		{[]string{"chef-server-ctl", "status"}, false},
		{[]string{">", "/etc/x"}, true},
		{[]string{"cat", "/proc/drbd"}, false},
		{[]string{"blkid", "-p", "/dev/drbd0"}, false},
		{nil, false},
	}
	for _, tc := range tests {
		if got := IsMutating(tc.argv); got != tc.want {
			t.Errorf("IsMutating(%q) = %v, want %v", tc.argv, got, tc.want)
		}
	}
}

// lineWaiter reads a command's streamed stdout and lets a test wait for a line.
type lineWaiter struct {
	lines chan string
}

func newLineWaiter(r io.Reader) *lineWaiter {
	w := &lineWaiter{lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
		close(w.lines)
	}()
	return w
}

func (w *lineWaiter) waitFor(t *testing.T, substr string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-w.lines:
			if !ok {
				t.Fatalf("output ended before %q", substr)
			}
			if strings.Contains(l, substr) {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %q", substr)
		}
	}
}

// startHandle runs cmd in the background; the returned channel yields its exit code.
func startHandle(ctx context.Context, n *Node, cmd string) (*lineWaiter, <-chan int) {
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := n.Handle(ctx, cmd, nil, pw, io.Discard)
		_ = pw.Close()
		done <- code
	}()
	return newLineWaiter(pr), done
}

func TestReconfigureWaitsForReadyFile(t *testing.T) {
	t.Parallel()
	p := pairAt(t, V84, inSync)
	n := p.Node(0)
	lines, done := startHandle(context.Background(), n, "chef-server-ctl reconfigure")
	lines.waitFor(t, "waiting for "+ReadyFile)
	select {
	case code := <-done:
		t.Fatalf("reconfigure finished (%d) without the ready file", code)
	default:
	}
	mustRun(t, n, "touch "+ReadyFile)
	lines.waitFor(t, "Chef Server Reconfigured!")
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
	if diff := cmp.Diff([]int{1}, n.ReconfigureRuns()); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
}

func TestReconfigureCancel(t *testing.T) {
	t.Parallel()
	p := pairAt(t, V84, inSync)
	n := p.Node(1)
	n.WriteFile(ReadyFile, "")
	n.BlockReconfigure(true)
	ctx, cancel := context.WithCancel(context.Background())
	lines, done := startHandle(ctx, n, "sudo -n -- sh -c 'chef-server-ctl reconfigure'")
	lines.waitFor(t, "ruby_block[wait for drbd_ready]")
	cancel()
	if code := <-done; code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	if runs := n.ReconfigureRuns(); len(runs) != 0 {
		t.Errorf("cancelled run recorded: %v", runs)
	}
	n.BlockReconfigure(false)
	mustRun(t, n, "chef-server-ctl reconfigure")
	if diff := cmp.Diff([]int{1}, n.ReconfigureRuns()); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	p := pairAt(t, V84, inSync)
	n := p.Node(0)
	n.WriteFile(ReadyFile, "")
	n.FailNext("chef-server-ctl", 3, "FATAL: Chef::Exceptions::ChildConvergeError: boom")
	r := run(t, n, "chef-server-ctl reconfigure")
	if r.code != 3 || !strings.HasSuffix(r.stderr, "FATAL: Chef::Exceptions::ChildConvergeError: boom\n") || !strings.Contains(r.stdout, "Starting Chef") {
		t.Errorf("injected failure: %+v", r)
	}
	if r := run(t, n, "chef-server-ctl reconfigure"); r.code != 0 {
		t.Errorf("fault not one-shot: %+v", r)
	}
	n.FailNext("drbdadm", 10, "boom")
	if r := run(t, n, "drbdadm role pc0"); r.code != 10 || r.stderr != "boom\n" || r.stdout != "" {
		t.Errorf("drbdadm fault: %+v", r)
	}
	n.DelayNext("drbdadm", time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if code := n.Handle(ctx, "drbdadm role pc0", nil, io.Discard, io.Discard); code != 130 {
		t.Errorf("delayed command under a cancelled context exited %d", code)
	}
}

func TestHandleCancel(t *testing.T) {
	t.Parallel()
	n := newPair(PairConfig{}).Node(0)
	ctx, cancel := context.WithCancel(context.Background())
	lines, done := startHandle(ctx, n, "echo started; sleep 3600; echo never")
	lines.waitFor(t, "started")
	cancel()
	if code := <-done; code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
}

func TestOutOfBand(t *testing.T) {
	t.Parallel()
	p := pairAt(t, V84, mountedN1)
	n1, n2 := p.Node(0), p.Node(1)
	if err := n1.Demote(); err == nil {
		t.Error("Demote succeeded while mounted")
	}
	if err := n1.Unmount("/data"); err != nil {
		t.Fatal(err)
	}
	if err := n1.Demote(); err != nil {
		t.Fatal(err)
	}
	if err := n2.Promote(); err != nil {
		t.Fatal(err)
	}
	if err := n2.Mount("/var/opt/opscode/drbd/data"); err != nil {
		t.Fatal(err)
	}
	if got := mustRun(t, n2, "findmnt -n -r -o SOURCE,TARGET,FSTYPE,OPTIONS --mountpoint /var/opt/opscode/drbd/data"); got != "/dev/drbd0 /var/opt/opscode/drbd/data ext4 rw,relatime\n" {
		t.Errorf("findmnt %q", got)
	}
	if n2.FSUUID() != n1.FSUUID() {
		t.Error("replicated filesystem differs")
	}
	if err := n1.Mount("/data"); err == nil {
		t.Error("mounted on a Secondary")
	}
}

func TestReplicationScenarios(t *testing.T) {
	t.Parallel()
	t.Run("disconnect interrupts and reconnect resumes", func(t *testing.T) {
		t.Parallel()
		p := pairAt(t, V84, syncing)
		p.Advance(40)
		p.Disconnect()
		if got := mustRun(t, p.Node(0), "drbdadm cstate pc0; drbdadm dstate pc0"); got != "WFConnection\nUpToDate/DUnknown\n" {
			t.Errorf("cut: %q", got)
		}
		p.Reconnect()
		if running, pct := p.Syncing(); !running || pct != 0 {
			t.Errorf("resumed sync: running=%v pct=%v (the resync total restarts from what is left)", running, pct)
		}
		p.CompleteSync()
		if p.Node(1).DiskState() != diskUpToDate {
			t.Errorf("node2 %s", p.Node(1).DiskState())
		}
	})
	t.Run("split brain", func(t *testing.T) {
		t.Parallel()
		p := pairAt(t, V84, inSync)
		p.SplitBrain()
		// No Primary: the configured after-sb-0pri policy is not simulated, so DRBD
		// leaves the split brain unresolved.
		mustRun(t, p.Node(0), "drbdadm secondary pc0")
		mustRun(t, p.Node(0), "drbdadm connect pc0")
		mustRun(t, p.Node(1), "drbdadm connect pc0")
		if a, b := p.Node(0).ConnState(), p.Node(1).ConnState(); a != csStandAlone || b != csStandAlone {
			t.Fatalf("split brain not detected again: %s %s", a, b)
		}
		if got := mustRun(t, p.Node(0), "tail -n +3 /proc/drbd | head -n 1"); !strings.Contains(got, "ds:UpToDate/DUnknown   r-----") {
			t.Errorf("StandAlone line %q", got)
		}
		mustRun(t, p.Node(1), "drbdadm secondary pc0; drbdadm connect --discard-my-data pc0")
		mustRun(t, p.Node(0), "drbdadm connect pc0")
		if got := p.Node(1).ConnState(); got != csSyncTarget {
			t.Errorf("victim %s, want SyncTarget", got)
		}
		if got := p.Node(1).DiscardedKiB(); got != 4096 {
			t.Errorf("victim discarded %d KiB, want its 4096", got)
		}
		log := mustRun(t, p.Node(1), "dmesg")
		for _, want := range []string{"block drbd0: Split-Brain detected but unresolved, dropping connection!",
			"drbd pc0: conn( Disconnecting -> StandAlone )", "block drbd0: Split-Brain detected, manually solved. Sync from peer node"} {
			if !strings.Contains(log, want) {
				t.Errorf("kernel log lacks %q:\n%s", want, log)
			}
		}
	})
	t.Run("split brain with one primary, after-sb-1pri discard-secondary", func(t *testing.T) {
		t.Parallel()
		p := pairAt(t, V84, inSync)
		p.Disconnect()
		p.Node(0).WriteData(1024)
		p.Node(1).WriteData(2048)
		p.Reconnect()
		if got := p.Node(1).DiscardedKiB(); got != 2048 {
			t.Errorf("secondary discarded %d KiB, want 2048", got)
		}
		if got := p.Node(0).DiscardedKiB(); got != 0 {
			t.Errorf("primary discarded %d KiB", got)
		}
		if !strings.Contains(strings.Join(p.Node(1).KernelLog(), "\n"), "Split-Brain detected, 1 primaries, automatically solved. Sync from peer node") {
			t.Errorf("kernel log: %q", p.Node(1).KernelLog())
		}
		if got := p.Node(1).ConnState(); got != csSyncTarget {
			t.Errorf("secondary %s, want SyncTarget", got)
		}
	})
	t.Run("split brain with two primaries, after-sb-2pri call-pri-lost-after-sb", func(t *testing.T) {
		t.Parallel()
		// The real 8.4.11 sequence (testdata/drbd-8.4.11/splitbrain-2pri in internal/drbd):
		// node1 Primary all along, node2 promoted while apart and still Primary with its
		// device mounted at the reconnect. DRBD picks node2 (the younger primary) as the
		// victim but cannot demote it, and node1 cannot sync to a Primary: both StandAlone,
		// nothing discarded.
		p := pairAt(t, V84, mountedN1)
		p.mutate(func() { p.cfg.AfterSB0Pri, p.cfg.AfterSB2Pri = "discard-younger-primary", "call-pri-lost-after-sb" })
		mustRun(t, p.Node(0), "drbdadm disconnect pc0")
		mustRun(t, p.Node(1), "drbdadm disconnect pc0")
		p.Node(0).WriteData(1024)
		mustRun(t, p.Node(1), "drbdadm primary pc0 && mkdir -p /mnt/sb && mount /dev/drbd0 /mnt/sb")
		p.Node(1).WriteData(2048)
		mustRun(t, p.Node(1), "drbdadm connect pc0")
		mustRun(t, p.Node(0), "drbdadm connect pc0")
		if a, b := p.Node(0).ConnState(), p.Node(1).ConnState(); a != csStandAlone || b != csStandAlone {
			t.Fatalf("conn states %s %s, want both StandAlone", a, b)
		}
		if a, b := p.Node(0).Role(), p.Node(1).Role(); a != rolePrimary || b != rolePrimary {
			t.Errorf("roles %s %s, want both Primary", a, b)
		}
		for i := range 2 {
			if got := p.Node(i).DiscardedKiB(); got != 0 {
				t.Errorf("node%d discarded %d KiB", i+1, got)
			}
		}
		want := [2][]string{{
			"block drbd0: Split-Brain detected, 2 primaries, automatically solved. Sync from this node",
			"block drbd0: State change failed: Multiple primaries not allowed by config",
			"block drbd0:   state = { cs:WFReportParams ro:Primary/Unknown ds:UpToDate/DUnknown r----- }",
			"block drbd0:  wanted = { cs:WFBitMapS ro:Primary/Primary ds:UpToDate/Consistent r----- }",
			"drbd pc0: conn( WFReportParams -> Disconnecting )",
			"drbd pc0: conn( Disconnecting -> StandAlone )",
		}, {
			"drbd pc0: conn( WFReportParams -> NetworkFailure )",
			"block drbd0: State change failed: Device is held open by someone",
			"block drbd0:   state = { cs:NetworkFailure ro:Primary/Unknown ds:UpToDate/DUnknown r----- }",
			"block drbd0:  wanted = { cs:NetworkFailure ro:Secondary/Unknown ds:UpToDate/DUnknown r----- }",
			"block drbd0: helper command: /sbin/drbdadm pri-lost-after-sb minor-0",
			"block drbd0: Split-Brain detected but unresolved, dropping connection!",
			"drbd pc0: conn( NetworkFailure -> Disconnecting )",
			"drbd pc0: conn( Disconnecting -> StandAlone )",
		}}
		for i := range 2 {
			log := strings.Join(p.Node(i).KernelLog(), "\n")
			last := 0
			for _, w := range want[i] {
				j := strings.Index(log[last:], w)
				if j < 0 {
					t.Errorf("node%d kernel log lacks %q after offset %d:\n%s", i+1, w, last, log)
					break
				}
				last += j + len(w)
			}
		}
	})
	t.Run("admin disconnect logs no split brain", func(t *testing.T) {
		t.Parallel()
		p := pairAt(t, V84, inSync)
		mustRun(t, p.Node(0), "drbdadm disconnect pc0")
		log := mustRun(t, p.Node(0), "dmesg")
		if strings.Contains(log, "Split-Brain") || !strings.Contains(log, "drbd pc0: conn( Disconnecting -> StandAlone )") {
			t.Errorf("kernel log:\n%s", log)
		}
		p.Node(0).RestrictDmesg(true)
		if r := run(t, p.Node(0), "dmesg"); r.code != 1 || !strings.Contains(r.stderr, "Operation not permitted") {
			t.Errorf("restricted dmesg: %+v", r)
		}
	})
	t.Run("invalidate", func(t *testing.T) {
		t.Parallel()
		p := pairAt(t, V84, inSync)
		mustRun(t, p.Node(1), "drbdadm invalidate pc0")
		got := mustRun(t, p.Node(1), "cat /proc/drbd")
		if !strings.Contains(got, "cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate") || !strings.Contains(got, "want: 102,400 K/sec") {
			t.Errorf("after invalidate:\n%s", got)
		}
	})
	t.Run("diskless fault", func(t *testing.T) {
		t.Parallel()
		p := pairAt(t, V84, syncing)
		p.Node(1).SetDiskState("Diskless")
		if got := mustRun(t, p.Node(0), "drbdadm dstate pc0; drbdadm cstate pc0"); got != "UpToDate/Diskless\nConnected\n" {
			t.Errorf("got %q", got)
		}
	})
}

// TestConcurrentHandles drives both nodes from many goroutines while the pair changes
// underneath; run with -race.
func TestConcurrentHandles(t *testing.T) {
	t.Parallel()
	p := pairAt(t, V84, syncing)
	var wg sync.WaitGroup
	for i := range 6 {
		n := p.Node(i % 2)
		wg.Go(func() {
			for range 30 {
				var out strings.Builder
				n.Handle(context.Background(), "cat /proc/drbd | tail -n +3; drbdadm status pc0; drbdadm dstate pc0 2>&1", nil, &out, &out)
				if !strings.Contains(out.String(), "pc0 role:") {
					t.Errorf("unexpected output %q", out.String())
					return
				}
				n.Role()
				n.Executed()
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			p.Disconnect()
			p.Advance(1)
			p.Reconnect()
		}
	})
	wg.Wait()
	p.CompleteSync()
	if got := mustRun(t, p.Node(1), "drbdadm dstate pc0"); got != "UpToDate/UpToDate\n" {
		t.Errorf("final dstate %q", got)
	}
}
