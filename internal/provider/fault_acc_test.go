package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"golang.org/x/crypto/ssh"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

func TestAccFault_droppedDuringCreate(t *testing.T) {
	testAccPreCheck(t)
	type check func(e *testEnv) error
	cases := map[string]struct {
		promoted bool
		config   func(e *testEnv) string
		drop     string   // substring of the command during which the connection drops
		want     []string // phrases of the error expected from the interrupted apply
		after    check    // state after the second apply
	}{
		"drbd_resource": {
			config: func(e *testEnv) string { return e.resourceConfig(0) },
			drop:   "create-md", want: []string{"Unable to", "broke while the command was running"},
			after: func(e *testEnv) error {
				if n := countArgv(e.node(0).Mutating(), "drbdadm", "create-md"); n != 1 {
					return fmt.Errorf("create-md ran %d times after the retry, want 1", n)
				}
				if !e.node(0).IsUp() {
					return errors.New("the retry did not bring pc0 up")
				}
				return nil
			},
		},
		"drbd_primary": {
			config: func(e *testEnv) string { e.pair.BringUp(); return e.primaryConfig(0, "force = true") },
			drop:   "primary --force", want: []string{"Unable to Promote DRBD Resource", "broke while the command was running"},
			after: func(e *testEnv) error {
				if n := countArgv(e.node(0).Mutating(), "drbdadm", "primary", "--force"); n != 1 {
					return fmt.Errorf("forced promotion ran %d times, want 1 (the retry must see the node is Primary)", n)
				}
				return nil
			},
		},
		"drbd_filesystem": {
			promoted: true,
			config:   func(e *testEnv) string { return e.filesystemConfig(0) },
			drop:     "mkfs.ext4", want: []string{"Unable to Create DRBD Filesystem", "broke while the command was running"},
			after: func(e *testEnv) error {
				if n := countArgv(e.node(0).Mutating(), "mkfs.ext4"); n != 1 {
					return fmt.Errorf("mkfs.ext4 ran %d times, want 1 (the retry must reuse the filesystem)", n)
				}
				if _, _, ok := e.node(0).MountedAt(defaultMountpoint); !ok {
					return errors.New("the retry did not mount the filesystem")
				}
				return nil
			},
		},
		"drbd_sync": {
			promoted: true,
			config:   func(e *testEnv) string { return e.syncOn(0, `resync_rate = "1100M"`) },
			drop:     "disk-options", want: []string{"Unable to Set DRBD Resync Rate", "broke while the command was running"},
			after: func(e *testEnv) error {
				for i := range 2 {
					if opts := e.node(i).ResyncOptions(); len(opts) != 0 {
						return fmt.Errorf("node%d: raised resync options left after the retry: %v", i+1, opts)
					}
				}
				return nil
			},
		},
		"drbd_chef_backend_ready": {
			config: func(e *testEnv) string { return e.readyConfig(0) },
			drop:   "chef-server-ctl", want: []string{"Unable to Reconfigure Chef Server", "broke while the command was running"},
			after: func(e *testEnv) error { return e.readyFile(0, true, "ready file missing after the retry") },
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t, drbdsim.PairConfig{})
			if tc.promoted {
				e.promote()
			}
			cfg := tc.config(e)
			e.hosts[0].DropOnCommand(func(cmd string) bool { return strings.Contains(cmd, tc.drop) })
			accTest(t,
				resource.TestStep{
					Config:      cfg,
					ExpectError: diagRE(append(tc.want, "so it may or may not have taken effect", "run terraform apply again")...),
				},
				resource.TestStep{
					// Every step re-reads the host before acting, so applying again finishes
					// the job without repeating what already took effect.
					Config: cfg,
					Check:  func(*terraform.State) error { return tc.after(e) },
				},
			)
		})
	}
}

// TestAccFault_rateRestoredAfterDroppedRateCommand: when the connection drops while
// `drbdadm disk-options` raises the resync rate, the command has run; the failed apply must
// still restore the configured values on that node.
func TestAccFault_rateRestoredAfterDroppedRateCommand(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	e.hosts[0].DropOnCommand(func(cmd string) bool { return strings.Contains(cmd, "disk-options") })
	accTest(t, resource.TestStep{
		Config:      e.syncOn(0, `resync_rate = "1100M"`),
		ExpectError: diagRE("Unable to Set DRBD Resync Rate", "broke while the command was running"),
	})
	if opts := e.node(0).ResyncOptions(); len(opts) != 0 {
		t.Errorf("node1 keeps the raised resync options %v after the failed apply "+
			"(the rate command ran, its connection dropped, and restoreRate skips nodes whose rate command did not report success)", opts)
	}
}

func TestAccFault_hostRebootDuringSync(t *testing.T) {
	testAccPreCheck(t)
	var (
		once    sync.Once
		down    = make(chan struct{})
		e       *testEnv
		stopped atomic.Bool
	)
	e = newEnvWith(t, drbdsim.PairConfig{SyncStepPercent: 10}, envOptions{hook: func(node int, cmd string) {
		if node == 0 && strings.Contains(cmd, probeMarker) && e.probes(0) == 4 {
			// The primary's sshd goes away in the middle of the wait loop (a reboot): new
			// connections are refused until it is back.
			once.Do(func() { close(down) })
		}
	}})
	e.promote()
	go func() {
		<-down
		e.hosts[0].Stop()
		stopped.Store(true)
		// Refused for several poll intervals, then back on the same port.
		time.AfterFunc(800*time.Millisecond, func() { _ = e.hosts[0].Restart() })
	}()
	before := e.mutationCounts()
	accTest(t, resource.TestStep{
		Config: e.syncOn(0, `resync_rate = "1100M"`),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("drbd_sync.test", tfjsonpath.New("in_sync"), knownvalue.Bool(true)),
		},
		Check: func(*terraform.State) error {
			if !stopped.Load() || e.hosts[0].Handshakes() < 2 {
				return fmt.Errorf("the reboot did not happen (stopped %v, handshakes %d)", stopped.Load(), e.hosts[0].Handshakes())
			}
			return e.checkMutations(before, [2][]string{rateRaisedAndRestored, rateRaisedAndRestored})
		},
	})
}

func TestAccFault_authFailure(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	e.hosts[0].SetRefuseAuth(true)
	accTest(t, resource.TestStep{
		Config:      e.resourceConfig(0),
		ExpectError: diagRE("Unable to Bring Up DRBD Resource", "connect to root@"+e.hosts[0].Addr()+": authentication failed (tried private key"),
	})
	if got := e.hosts[0].Commands(); len(got) != 0 {
		t.Errorf("commands ran although authentication failed: %q", got)
	}
	if e.hosts[0].Handshakes() != 0 {
		t.Errorf("%d authenticated connections, want 0", e.hosts[0].Handshakes())
	}
}

func TestAccFault_hostKeyChangedBeforeRefresh(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	original, impostor := e.newHostKeys(0)
	cfg := e.resourceConfig(0) // known_hosts pins the original key (strict policy)
	var commandsBefore int
	var mutationsBefore [2]int
	accTest(t,
		resource.TestStep{Config: cfg},
		resource.TestStep{
			// The host presents another key at refresh: nothing may run there.
			PreConfig: func() {
				e.rekey(0, impostor)
				commandsBefore = len(e.hosts[0].Commands())
				e.snapshotMutations(&mutationsBefore)()
			},
			Config:      cfg,
			ExpectError: diagRE("The host key of root@"+e.hosts[0].Addr()+" was refused", ssh.FingerprintSHA256(impostor.PublicKey())),
			Check:       e.checkNoNewMutations(&mutationsBefore),
		},
		resource.TestStep{
			// The real key is back: refresh and destroy work again.
			PreConfig: func() {
				if got := e.commandsSince(0, commandsBefore); len(got) != 0 {
					t.Errorf("commands ran on the host with the changed key: %q", got)
				}
				if got := e.mutations(0)[mutationsBefore[0]:]; len(got) != 0 {
					t.Errorf("mutating commands ran on the host with the changed key: %q", got)
				}
				e.rekey(0, original)
			},
			Config: cfg,
		},
	)
}

func TestAccFault_slowHostBeyondTimeout(t *testing.T) {
	testAccPreCheck(t)
	cases := map[string]struct {
		config func(e *testEnv) string
		want   []string
		check  func(e *testEnv) error
	}{
		"drbd_chef_backend_ready": {
			config: func(e *testEnv) string { return e.readyConfig(0, "timeouts {\n    create = \"1s\"\n  }") },
			want:   []string{"Unable to Touch Chef Backend Ready File", "did not finish before the operation's timeout"},
			check: func(e *testEnv) error {
				return e.readyFile(0, false, "the ready file was created although the command timed out")
			},
		},
		"drbd_sync": {
			config: func(e *testEnv) string { return e.syncConfig("timeouts {\n    create = \"1s\"\n  }") },
			want:   []string{"Unable to Wait for DRBD Sync", "did not finish before the operation's timeout"},
			check:  func(*testEnv) error { return nil },
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
			before := e.mutationCounts()
			// Every command takes a minute: far beyond the 1s timeout.
			e.hosts[0].SetCommandDelay(time.Minute)
			accTest(t, resource.TestStep{Config: tc.config(e), ExpectError: diagRE(tc.want...)})
			e.expectNoMutations(before, "node%d ran mutating commands: %q")
			if err := tc.check(e); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestAccFault_splitBrainMidSync(t *testing.T) {
	testAccPreCheck(t)
	var (
		e        *testEnv
		once     sync.Once
		atSplit  [2]int
		splitted atomic.Bool
	)
	e = newEnvWith(t, drbdsim.PairConfig{SyncStepPercent: 5}, envOptions{hook: func(node int, cmd string) {
		if node == 0 && strings.Contains(cmd, probeMarker) && e.probes(0) == 4 {
			once.Do(func() {
				atSplit = e.mutationCounts()
				e.pair.SplitBrain()
				splitted.Store(true)
			})
		}
	}})
	e.promote()
	accTest(t, resource.TestStep{
		Config:      e.syncOn(0, `resync_rate = "1100M"`),
		ExpectError: diagRE("Unable to Wait for DRBD Sync", "cannot finish syncing by itself", "StandAlone", "Manual split brain recovery"),
	})
	if !splitted.Load() {
		t.Fatal("split brain was never injected")
	}
	for i := range 2 {
		// After the split brain nothing may run: not even the rate restore, and never adjust, which would reconnect.
		if got := e.mutations(i)[atSplit[i]:]; len(got) != 0 {
			t.Errorf("node%d: mutating commands after split brain: %q", i+1, got)
		}
		if e.node(i).ConnState() != "StandAlone" {
			t.Errorf("node%d: connection state %s after the failed wait, want StandAlone left for the operator", i+1, e.node(i).ConnState())
		}
	}
}

func TestAccFault_interruptDuringSync(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote() // never finishes by itself
	before := e.mutationCounts()
	h := newCLIHarness(t)
	h.writeFile("main.tf", e.syncOn(0, `resync_rate = "1100M"`))
	h.init()

	var probesAtReturn atomic.Int64
	returned := make(chan string, 8)
	h.onApplied(func(typeName string) {
		probesAtReturn.Store(int64(e.probes(0)))
		returned <- typeName
	})

	out := &syncedBuffer{}
	cmd := h.command(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited //nolint:errcheck // the process was killed; its exit error is expected
		}
	})

	// drbd_sync is in its wait loop once the rate is raised on both nodes and it polled twice.
	waitUntil(t, "drbd_sync to poll", time.Minute, func() bool {
		return len(e.node(1).ResyncOptions()) > 0 && e.probes(0) >= 4
	})
	probesAtInterrupt := e.probes(0)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-exited:
	case <-time.After(2 * time.Minute):
		t.Fatalf("terraform did not exit after SIGINT; output:\n%s", out.String())
	}
	if err == nil {
		t.Fatalf("terraform apply exited 0 after SIGINT; output:\n%s", out.String())
	}
	select {
	case typ := <-returned:
		if typ != "drbd_sync" {
			t.Errorf("ApplyResourceChange returned for %s", typ)
		}
	default:
		t.Fatal("terraform exited but drbd_sync's ApplyResourceChange never returned")
	}
	// The bound: drbd_sync stops within one poll of the interrupt...
	if extra := int(probesAtReturn.Load()) - probesAtInterrupt; extra > 1 {
		t.Errorf("%d status reads after SIGINT, want at most 1 (stops within one poll)", extra)
	}
	// ...and nothing polls once Create has returned.
	if now := int64(e.probes(0)); now != probesAtReturn.Load() {
		t.Errorf("status reads went on after Create returned: %d then %d", probesAtReturn.Load(), now)
	}
	text := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{
		"Interrupt received",
		"Unable to Wait for DRBD Sync",
		"to reach UpToDate/UpToDate was cancelled",
		"The sync goes on in the kernel",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	for i := range 2 {
		if opts := e.node(i).ResyncOptions(); len(opts) != 0 {
			t.Errorf("node%d: raised resync options left after the interrupt: %v", i+1, opts)
		}
	}
	e.expectMutations(before, [2][]string{rateRaisedAndRestored, rateRaisedAndRestored})
	if list, _ := h.run("state", "list"); strings.Contains(list, "drbd_sync.test") {
		t.Errorf("an interrupted drbd_sync is in the state:\n%s", list)
	}
}
