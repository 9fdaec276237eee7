package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"golang.org/x/crypto/ssh"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

// providerAddress is the provider's registry address, as the examples' required_providers
// spell it.
const providerAddress = "registry.terraform.io/seed-a700e435/drbd"

// probeMarker appears in every DRBD status read the provider sends (drbd.ProbeCommand).
const probeMarker = "@@drbd-probe"

// commandHook is called with every command a fake host receives, before it runs.
type commandHook func(node int, cmd string)

// newHookedEnv is newTestEnv with hook called on every command before the simulator runs it,
// so a test can inject a fault at an exact point of the provider's conversation.
func newHookedEnv(t testing.TB, cfg drbdsim.PairConfig, hook commandHook) *testEnv {
	t.Helper()
	signer, keyPEM, err := testhost.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	return newKeyedEnv(t, cfg, signer, keyPEM, hook)
}

// newKeyedEnv is newHookedEnv with a given client key, so that many pairs share one provider
// block.
func newKeyedEnv(t testing.TB, cfg drbdsim.PairConfig, signer ssh.Signer, keyPEM string, hook commandHook) *testEnv {
	t.Helper()
	cfg.ConfigFile = true
	tt, _ := t.(*testing.T)
	e := &testEnv{t: tt, pair: drbdsim.NewPair(cfg), keyPEM: keyPEM}
	for i := range e.hosts {
		n := e.pair.Node(i)
		e.hosts[i] = testhost.New(t, testhost.Config{
			AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()},
			Handler: func(ctx context.Context, x *testhost.Exec) int {
				if hook != nil {
					hook(i, x.Command)
				}
				return n.Handle(ctx, x.Command, x.Stdin, x.Stdout, x.Stderr)
			},
		})
	}
	return e
}

// promote brings the pair up and force-promotes node1 out of band (runbook step 1 done).
func (e *testEnv) promote() *testEnv {
	e.pair.BringUp()
	cmd := "drbdadm primary --force pc0"
	if e.pair.Config().Version == drbdsim.V83 {
		cmd = "drbdadm -- --overwrite-data-of-peer primary pc0"
	}
	var out, errb strings.Builder
	if code := e.node(0).Handle(context.Background(), cmd, strings.NewReader(""), &out, &errb); code != 0 {
		panic(fmt.Sprintf("out-of-band %q exited %d: %s", cmd, code, errb.String()))
	}
	return e
}

// probes counts the DRBD status reads host i has received.
func (e *testEnv) probes(i int) int { //nolint:unparam // the hooks watch node1; kept general like the other helpers
	n := 0
	for _, c := range e.hosts[i].Commands() {
		if strings.Contains(c, probeMarker) {
			n++
		}
	}
	return n
}

// countMutations counts the mutating commands on node i whose argv starts with prefix.
func (e *testEnv) countMutations(i int, prefix ...string) int { //nolint:unparam // node1 runs the counted steps today; kept general
	n := 0
	for _, argv := range e.node(i).Mutating() {
		if len(argv) >= len(prefix) && slices.Equal(argv[:len(prefix)], prefix) {
			n++
		}
	}
	return n
}

// diagRE matches a diagnostic as Terraform prints it: the phrases in order, each with its
// spaces matching any white space (Terraform wraps long lines).
func diagRE(phrases ...string) *regexp.Regexp {
	q := make([]string, len(phrases))
	for i, p := range phrases {
		q[i] = strings.Join(strings.Fields(regexp.QuoteMeta(p)), `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(q, ".*"))
}

// waitUntil polls cond until it holds, failing the test at the deadline.
func waitUntil(t testing.TB, what string, deadline time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s", deadline, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// observedServer wraps the provider server to report when ApplyResourceChange returns.
type observedServer struct {
	tfprotov6.ProviderServer
	mu        sync.Mutex
	onApplied func(typeName string)
}

func (s *observedServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	resp, err := s.ProviderServer.ApplyResourceChange(ctx, req)
	s.mu.Lock()
	hook := s.onApplied
	s.mu.Unlock()
	if hook != nil {
		hook(req.TypeName)
	}
	return resp, err
}

// sinkT adapts a test or benchmark to terraform-plugin-log's test sink.
type sinkT struct{ testing.TB }

// Parallel is a no-op: the sink only names its output after the test.
func (sinkT) Parallel() {}

// cliHarness drives the real Terraform CLI with os/exec against this provider served in the
// test process (TF_REATTACH_PROVIDERS), for what terraform-plugin-testing cannot do: send
// SIGINT, time or count one command, keep the state and log files.
type cliHarness struct {
	t         testing.TB
	dir       string
	terraform string
	reattach  string
	server    *observedServer
	env       []string
}

// newCLIHarness serves the provider in-process and prepares an empty working directory. The
// provider logs through terraform-plugin-log's test sink, which follows TF_LOG, TF_LOG_PATH,
// TF_ACC_LOG_PATH and TF_LOG_PATH_MASK of this process.
func newCLIHarness(t testing.TB) *cliHarness {
	t.Helper()
	tfPath := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tfPath == "" {
		p, err := exec.LookPath("terraform")
		if err != nil {
			t.Skip("no terraform CLI: set TF_ACC_TERRAFORM_PATH")
		}
		tfPath = p
	}
	h := &cliHarness{
		t: t, dir: t.TempDir(), terraform: tfPath,
		server: &observedServer{ProviderServer: providerserver.NewProtocol6(New("test")())()},
	}
	ctx, cancel := context.WithCancel(context.Background())
	reattachCh := make(chan *plugin.ReattachConfig, 1)
	closeCh := make(chan struct{})
	opts := []tf6server.ServeOpt{
		tf6server.WithDebug(ctx, reattachCh, closeCh),
		tf6server.WithGoPluginLogger(hclog.NewNullLogger()),
		tf6server.WithoutLogStderrOverride(),
	}
	// The test sink follows TF_LOG/TF_LOG_PATH of this process (off when unset), instead of
	// the server's default of everything on stderr.
	opts = append(opts, tf6server.WithLoggingSink(sinkT{t}))
	served := make(chan error, 1)
	go func() {
		served <- tf6server.Serve(providerAddress, func() tfprotov6.ProviderServer { return h.server }, opts...)
	}()
	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattachCh:
	case err := <-served:
		cancel()
		t.Fatalf("serve provider: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("provider server did not start")
	}
	t.Cleanup(func() {
		cancel()
		<-closeCh
	})
	b, err := json.Marshal(map[string]any{providerAddress: map[string]any{
		"Protocol": string(rc.Protocol), "ProtocolVersion": rc.ProtocolVersion, "Pid": rc.Pid, "Test": true,
		"Addr": map[string]string{"Network": rc.Addr.Network(), "String": rc.Addr.String()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	h.reattach = string(b)
	// An empty CLI configuration: no dev_overrides or plugin cache of the machine leak in.
	h.writeFile(".terraformrc", "")
	return h
}

// writeFile writes a file into the working directory.
func (h *cliHarness) writeFile(name, content string) {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// copyDir copies the *.tf files of dir into the working directory.
func (h *cliHarness) copyDir(dir string) {
	h.t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		h.t.Fatalf("no .tf files in %s: %v", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			h.t.Fatal(err)
		}
		h.writeFile(filepath.Base(f), string(b))
	}
}

// command prepares a terraform command in the working directory; Terraform's own logging
// variables are not inherited.
func (h *cliHarness) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, h.terraform, args...)
	cmd.Dir = h.dir
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TF_LOG") || strings.HasPrefix(kv, "TF_CLI_") || strings.HasPrefix(kv, "TF_REATTACH_PROVIDERS=") ||
			strings.HasPrefix(kv, "TF_PLUGIN_CACHE_DIR=") || strings.HasPrefix(kv, "TF_DATA_DIR=") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "TF_REATTACH_PROVIDERS="+h.reattach, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
		"TF_INPUT=0", "TF_CLI_CONFIG_FILE="+filepath.Join(h.dir, ".terraformrc"))
	cmd.Env = append(cmd.Env, h.env...)
	return cmd
}

// run runs terraform to completion and returns its combined output.
func (h *cliHarness) run(args ...string) (string, error) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := h.command(ctx, append(args, "-no-color")...).CombinedOutput()
	return string(out), err
}

// mustRun is run that fails the test when terraform fails.
func (h *cliHarness) mustRun(args ...string) string {
	h.t.Helper()
	out, err := h.run(args...)
	if err != nil {
		h.t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// init runs terraform init; the reattached provider needs no download.
func (h *cliHarness) init() { h.t.Helper(); h.mustRun("init", "-input=false") }

// syncedBuffer is a bytes.Buffer safe for a writing process and a reading test.
type syncedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

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
			config: func(e *testEnv) string { return e.resourceConfig(0, "") },
			drop:   "create-md", want: []string{"Unable to", "broke while the command was running"},
			after: func(e *testEnv) error {
				if n := e.countMutations(0, "drbdadm", "create-md"); n != 1 {
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
				if n := e.countMutations(0, "drbdadm", "primary", "--force"); n != 1 {
					return fmt.Errorf("forced promotion ran %d times, want 1 (the retry must see the node is Primary)", n)
				}
				return nil
			},
		},
		"drbd_filesystem": {
			promoted: true,
			config:   func(e *testEnv) string { return e.filesystemConfig(0, "") },
			drop:     "mkfs.ext4", want: []string{"Unable to Create DRBD Filesystem", "broke while the command was running"},
			after: func(e *testEnv) error {
				if n := e.countMutations(0, "mkfs.ext4"); n != 1 {
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
			config:   func(e *testEnv) string { return e.syncConfig(`resync_rate = "1100M"` + "\n  " + e.peerArgs()) },
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
			config: func(e *testEnv) string { return e.readyConfig(0, "") },
			drop:   "chef-server-ctl", want: []string{"Unable to Reconfigure Chef Server", "broke while the command was running"},
			after: func(e *testEnv) error {
				if !e.node(0).FileExists(defaultReadyFile) {
					return errors.New("ready file missing after the retry")
				}
				return nil
			},
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
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{
					{
						Config:      cfg,
						ExpectError: diagRE(append(tc.want, "so it may or may not have taken effect", "run terraform apply again")...),
					},
					{
						// Every step re-reads the host before acting, so applying again finishes
						// the job without repeating what already took effect.
						Config: cfg,
						Check:  func(*terraform.State) error { return tc.after(e) },
					},
				},
			})
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
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      e.syncConfig(`resync_rate = "1100M"` + "\n  " + e.peerArgs()),
			ExpectError: diagRE("Unable to Set DRBD Resync Rate", "broke while the command was running"),
		}},
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
	e = newHookedEnv(t, drbdsim.PairConfig{SyncStepPercent: 10}, func(node int, cmd string) {
		if node == 0 && strings.Contains(cmd, probeMarker) && e.probes(0) == 4 {
			// The primary's sshd goes away in the middle of the wait loop (a reboot): new
			// connections are refused until it is back.
			once.Do(func() { close(down) })
		}
	})
	e.promote()
	go func() {
		<-down
		e.hosts[0].Stop()
		stopped.Store(true)
		// Refused for several poll intervals, then back on the same port.
		time.AfterFunc(800*time.Millisecond, func() { _ = e.hosts[0].Restart() })
	}()
	before := [2]int{len(e.mutations(0)), len(e.mutations(1))}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: e.syncConfig(`resync_rate = "1100M"` + "\n  " + e.peerArgs()),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("drbd_sync.test", tfjsonpath.New("in_sync"), knownvalue.Bool(true)),
			},
			Check: func(*terraform.State) error {
				if !stopped.Load() || e.hosts[0].Handshakes() < 2 {
					return fmt.Errorf("the reboot did not happen (stopped %v, handshakes %d)", stopped.Load(), e.hosts[0].Handshakes())
				}
				for i := range 2 {
					got := e.mutations(i)[before[i]:]
					want := []string{"drbdadm disk-options --c-plan-ahead=0 --resync-rate=1100M --c-min-rate=0 pc0",
						"drbdadm disk-options --c-plan-ahead=20 --resync-rate=250k --c-min-rate=250k pc0"}
					if !slices.Equal(got, want) {
						return fmt.Errorf("node%d ran %q, want exactly %q", i+1, got, want)
					}
				}
				return nil
			},
		}},
	})
}

func TestAccFault_authFailure(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	e.hosts[0].SetRefuseAuth(true)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      e.resourceConfig(0, ""),
			ExpectError: diagRE("Unable to Bring Up DRBD Resource", "connect to root@"+e.hosts[0].Addr()+": authentication failed (tried private key"),
		}},
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
	original, _, err := testhost.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	impostor, _, err := testhost.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	e.hosts[0].SetHostKey(original)
	cfg := e.resourceConfig(0, "") // known_hosts pins the original key (strict policy)
	var commandsBefore int
	var mutationsBefore [2]int
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				// The host presents another key at refresh: nothing may run there.
				PreConfig: func() {
					e.hosts[0].SetHostKey(impostor)
					e.hosts[0].DropConnections()
					commandsBefore = len(e.hosts[0].Commands())
					e.snapshotMutations(&mutationsBefore)()
				},
				Config:      cfg,
				ExpectError: diagRE("The host key of root@"+e.hosts[0].Addr()+" was refused", ssh.FingerprintSHA256(impostor.PublicKey())),
				Check:       e.checkNoNewMutations(&mutationsBefore),
			},
			{
				// The real key is back: refresh and destroy work again.
				PreConfig: func() {
					if got := e.hosts[0].Commands()[commandsBefore:]; len(got) != 0 {
						t.Errorf("commands ran on the host with the changed key: %q", got)
					}
					if got := e.mutations(0)[mutationsBefore[0]:]; len(got) != 0 {
						t.Errorf("mutating commands ran on the host with the changed key: %q", got)
					}
					e.hosts[0].SetHostKey(original)
					e.hosts[0].DropConnections()
				},
				Config: cfg,
			},
		},
	})
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
				if e.node(0).FileExists(defaultReadyFile) {
					return errors.New("the ready file was created although the command timed out")
				}
				return nil
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
			before := [2]int{len(e.mutations(0)), len(e.mutations(1))}
			// Every command takes a minute: far beyond the 1s timeout.
			e.hosts[0].SetCommandDelay(time.Minute)
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      tc.config(e),
					ExpectError: diagRE(tc.want...),
				}},
			})
			for i := range 2 {
				if got := e.mutations(i)[before[i]:]; len(got) != 0 {
					t.Errorf("node%d ran mutating commands: %q", i+1, got)
				}
			}
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
	e = newHookedEnv(t, drbdsim.PairConfig{SyncStepPercent: 5}, func(node int, cmd string) {
		if node == 0 && strings.Contains(cmd, probeMarker) && e.probes(0) == 4 {
			once.Do(func() {
				e.snapshotMutations(&atSplit)()
				e.pair.SplitBrain()
				splitted.Store(true)
			})
		}
	})
	e.promote()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      e.syncConfig(`resync_rate = "1100M"` + "\n  " + e.peerArgs()),
			ExpectError: diagRE("Unable to Wait for DRBD Sync", "cannot finish syncing by itself", "StandAlone", "Manual split brain recovery"),
		}},
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
	before := [2]int{len(e.mutations(0)), len(e.mutations(1))}
	h := newCLIHarness(t)
	h.writeFile("main.tf", e.syncConfig(`resync_rate = "1100M"`+"\n  "+e.peerArgs()))
	h.init()

	var probesAtReturn atomic.Int64
	returned := make(chan string, 8)
	h.server.mu.Lock()
	h.server.onApplied = func(typeName string) {
		probesAtReturn.Store(int64(e.probes(0)))
		returned <- typeName
	}
	h.server.mu.Unlock()

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
		want := []string{"drbdadm disk-options --c-plan-ahead=0 --resync-rate=1100M --c-min-rate=0 pc0",
			"drbdadm disk-options --c-plan-ahead=20 --resync-rate=250k --c-min-rate=250k pc0"}
		if got := e.mutations(i)[before[i]:]; !slices.Equal(got, want) {
			t.Errorf("node%d ran %q, want exactly %q", i+1, got, want)
		}
	}
	if list, _ := h.run("state", "list"); strings.Contains(list, "drbd_sync.test") {
		t.Errorf("an interrupted drbd_sync is in the state:\n%s", list)
	}
}
