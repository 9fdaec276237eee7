package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"golang.org/x/crypto/ssh"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

// This file is the acceptance tests' harness: the simulated DRBD pair behind two fake SSH
// hosts (testEnv), what it ran, the Terraform configurations that address it, and the steps
// and checks the tests share. cliharness_test.go drives the Terraform CLI directly.

// testAccProtoV6ProviderFactories runs the provider in-process, so the fake hosts of a test
// and the provider share the process and the test can inspect both.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"drbd": providerserver.NewProtocol6WithError(New("test")()),
}

// TestMain registers the in-process provider under its real source address, so that test
// configurations (and the examples they load) use `source = "seed-a700e435/drbd"` as users do.
// terraform-plugin-testing takes the address's host from TF_ACC_PROVIDER_HOST; when that is
// unset and TF_ACC_TERRAFORM_PATH is OpenTofu, TestMain sets it to OpenTofu's registry host.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests is TestMain's body, so that its deferred cleanup runs before the exit.
func runTests(m *testing.M) int {
	if os.Getenv(resource.EnvTfAccProviderNamespace) == "" {
		_ = os.Setenv(resource.EnvTfAccProviderNamespace, "seed-a700e435")
	}
	// A TF_CLI_CONFIG_FILE naming a missing file means no CLI configuration to both CLIs, but
	// tofu then prints its "Unable to open CLI configuration file" warning on standard output,
	// where terraform-plugin-testing's version check cannot parse it. An empty file means the
	// same and makes neither CLI warn.
	if f := os.Getenv("TF_CLI_CONFIG_FILE"); f != "" {
		if _, err := os.Stat(f); errors.Is(err, os.ErrNotExist) {
			dir, err := os.MkdirTemp("", "drbd-acc-cli-config-")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer func() { _ = os.RemoveAll(dir) }()
			empty := filepath.Join(dir, "empty.tfrc")
			if err := os.WriteFile(empty, nil, 0o600); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			_ = os.Setenv("TF_CLI_CONFIG_FILE", empty)
		}
	}
	if err := setProviderHost(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// setProviderHost sets TF_ACC_PROVIDER_HOST to the host of OpenTofu's address in
// scripts/provider-addresses (the second) when the acceptance tests run with OpenTofu and it is
// unset. Terraform's host is terraform-plugin-testing's default.
func setProviderHost() error {
	cli := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if os.Getenv("TF_ACC") == "" || cli == "" || os.Getenv(resource.EnvTfAccProviderHost) != "" {
		return nil
	}
	out, err := exec.Command(cli, "version").Output()
	if err != nil {
		return fmt.Errorf("%s version: %w", cli, err)
	}
	if !strings.Contains(string(out), "OpenTofu v") {
		return nil
	}
	addrs, err := readProviderAddresses()
	if err != nil {
		return err
	}
	host, _, _ := strings.Cut(addrs[1], "/")
	return os.Setenv(resource.EnvTfAccProviderHost, host)
}

// requiredProviders pins the provider's source address in inline test configurations.
const requiredProviders = `
terraform {
  required_providers {
    drbd = {
      source = "seed-a700e435/drbd"
    }
  }
}
`

// exampleDir is the complete two-backend runbook users apply; the flow tests apply it as is.
const exampleDir = "../../examples/chef-ha-failover"

// probeMarker appears in every DRBD status read the provider sends (drbd.ProbeCommand).
const probeMarker = "@@drbd-probe"

// rateRaisedAndRestored are the mutating commands a DRBD 8.4 node runs for a drbd_sync with
// resync_rate = "1100M": the raise, then the configured values back.
var rateRaisedAndRestored = []string{
	"drbdadm disk-options --c-plan-ahead=0 --resync-rate=1100M --c-min-rate=0 pc0",
	"drbdadm disk-options --c-plan-ahead=20 --resync-rate=250k --c-min-rate=250k pc0",
}

// testAccPreCheck skips acceptance tests unless TF_ACC is set (terraform-plugin-testing
// does the same; this gives a clearer reason).
func testAccPreCheck(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests need TF_ACC=1 and a Terraform CLI (TF_ACC_TERRAFORM_PATH)")
	}
}

// testdataDir is testdata/<name of t>, where a test keeps its static configuration (the
// directory config.TestNameDirectory names).
func testdataDir(t testing.TB) string {
	return filepath.Join("testdata", t.Name())
}

// testEnv is a simulated DRBD pair served by two fake SSH hosts on 127.0.0.1.
type testEnv struct {
	t      testing.TB
	pair   *drbdsim.Pair
	hosts  [2]*testhost.Host
	keyPEM string
}

// commandHook is called with every command a fake host receives, before it runs.
type commandHook func(node int, cmd string)

// envOptions are the optional parts of a testEnv.
type envOptions struct {
	// signer and keyPEM are the client key the hosts accept (so that many pairs share one
	// provider block); a new key when signer is nil.
	signer ssh.Signer
	keyPEM string
	// passwords are the passwords the hosts accept, by user.
	passwords map[string]string
	// hook sees every command before the simulator runs it, so a test can inject a fault at
	// an exact point of the provider's conversation.
	hook commandHook
}

// newTestEnv starts a pair of fake DRBD hosts. The resource file exists on both nodes; the
// caller decides how far the pair is brought up.
func newTestEnv(t testing.TB, cfg drbdsim.PairConfig) *testEnv {
	t.Helper()
	return newEnvWith(t, cfg, envOptions{})
}

// newEnvWith is newTestEnv with options.
func newEnvWith(t testing.TB, cfg drbdsim.PairConfig, opt envOptions) *testEnv {
	t.Helper()
	if opt.signer == nil {
		signer, keyPEM, err := testhost.NewSigner()
		if err != nil {
			t.Fatal(err)
		}
		opt.signer, opt.keyPEM = signer, keyPEM
	}
	cfg.ConfigFile = true
	e := &testEnv{t: t, pair: drbdsim.NewPair(cfg), keyPEM: opt.keyPEM}
	for i := range e.hosts {
		n := e.pair.Node(i)
		e.hosts[i] = testhost.New(t, testhost.Config{
			AuthorizedKeys: []ssh.PublicKey{opt.signer.PublicKey()},
			Passwords:      opt.passwords,
			Handler: func(ctx context.Context, x *testhost.Exec) int {
				if strings.Contains(x.Command, "\n") {
					// The provider's logs show every command on one line (the lab's switchover
					// breakdown reads them).
					t.Errorf("node%d received a command that spans lines: %q", i+1, x.Command)
				}
				if opt.hook != nil {
					opt.hook(i, x.Command)
				}
				return n.Handle(ctx, x.Command, x.Stdin, x.Stdout, x.Stderr)
			},
		})
	}
	return e
}

// promote brings the pair up and force-promotes node1 out of band with the syntax of the
// pair's DRBD version (runbook step 1 done).
func (e *testEnv) promote() *testEnv {
	e.t.Helper()
	e.pair.BringUp()
	if e.pair.Config().Version == drbdsim.V83 {
		e.sh(0, "drbdadm -- --overwrite-data-of-peer primary pc0")
	} else {
		e.sh(0, "drbdadm primary --force pc0")
	}
	return e
}

// healthyAtRest brings the pair up in sync with both nodes Secondary: a switchover's
// starting point once the old primary has demoted.
func (e *testEnv) healthyAtRest() *testEnv {
	e.t.Helper()
	e.promote()
	e.pair.CompleteSync()
	e.sh(0, "drbdadm secondary pc0")
	return e
}

// node returns simulated node i.
func (e *testEnv) node(i int) *drbdsim.Node { return e.pair.Node(i) }

// sh runs commands on node i out of band (an operator at the console), one after the other,
// and fails the test when one exits non-zero.
func (e *testEnv) sh(i int, cmds ...string) {
	e.t.Helper()
	for _, cmd := range cmds {
		var out, errb strings.Builder
		if code := e.node(i).Handle(context.Background(), cmd, strings.NewReader(""), &out, &errb); code != 0 {
			e.t.Fatalf("out-of-band %q on node%d exited %d: %s%s", cmd, i+1, code, out.String(), errb.String())
		}
	}
}

// newHostKeys gives host i a new host key and returns it, with another new key to switch to
// later (rekey).
func (e *testEnv) newHostKeys(i int) (current, next ssh.Signer) {
	e.t.Helper()
	var keys [2]ssh.Signer
	for k := range keys {
		s, _, err := testhost.NewSigner()
		if err != nil {
			e.t.Fatal(err)
		}
		keys[k] = s
	}
	e.hosts[i].SetHostKey(keys[0])
	return keys[0], keys[1]
}

// rekey gives host i the host key key and drops its connections, so that the next
// connection sees the new key.
func (e *testEnv) rekey(i int, key ssh.Signer) {
	e.hosts[i].SetHostKey(key)
	e.hosts[i].DropConnections()
}

// knownHosts is the known_hosts content for both fake hosts.
func (e *testEnv) knownHosts() string {
	return e.hosts[0].KnownHostsLine() + "\n" + e.hosts[1].KnownHostsLine() + "\n"
}

// hostArgs are the host/port attributes that address node i.
func (e *testEnv) hostArgs(i int) string {
	return fmt.Sprintf("host = %q\n  port = %d", e.hosts[i].Host(), e.hosts[i].Port())
}

// peerArgs are the peer_host/peer_port attributes that name node i as the peer.
func (e *testEnv) peerArgs(i int) string {
	return fmt.Sprintf("peer_host = %q\n  peer_port = %d", e.hosts[i].Host(), e.hosts[i].Port())
}

// hostPort names node i as diagnostics do after the user (user@host:port).
func (e *testEnv) hostPort(i int) string { return "@" + e.hosts[i].Addr() }

// importID is the import ID of something on node i.
func (e *testEnv) importID(i int, rest string) string {
	return e.hosts[i].Addr() + "/" + strings.TrimPrefix(rest, "/")
}

// mutations returns the mutating commands node i has run so far, as strings.
func (e *testEnv) mutations(i int) []string {
	var out []string
	for _, argv := range e.node(i).Mutating() {
		out = append(out, strings.Join(argv, " "))
	}
	return out
}

// mutationCounts returns the number of mutating commands each node has run so far.
func (e *testEnv) mutationCounts() [2]int {
	return [2]int{len(e.mutations(0)), len(e.mutations(1))}
}

// snapshotMutations returns a function (a step's PreConfig) that stores mutationCounts in
// into.
func (e *testEnv) snapshotMutations(into *[2]int) func() {
	return func() { *into = e.mutationCounts() }
}

// checkMutations returns an error unless each node i ran exactly want[i], in order, after
// its first before[i] mutating commands.
func (e *testEnv) checkMutations(before [2]int, want [2][]string) error {
	var errs []error
	for i := range 2 {
		if got := e.mutations(i)[before[i]:]; !slices.Equal(got, want[i]) {
			errs = append(errs, fmt.Errorf("node%d ran %q, want exactly %q", i+1, got, want[i]))
		}
	}
	return errors.Join(errs...)
}

// expectMutations fails the test where checkMutations finds a difference.
func (e *testEnv) expectMutations(before [2]int, want [2][]string) {
	e.t.Helper()
	if err := e.checkMutations(before, want); err != nil {
		e.t.Error(err)
	}
}

// expectNoMutations fails the test for each node that ran a mutating command after its
// first before[i], with format (given the node number and the commands) as the message.
func (e *testEnv) expectNoMutations(before [2]int, format string) {
	e.t.Helper()
	for i := range 2 {
		if got := e.mutations(i)[before[i]:]; len(got) != 0 {
			e.t.Errorf(format, i+1, got)
		}
	}
}

// checkNoNewMutations returns a check that fails when a node ran a mutating command after
// *before was taken.
func (e *testEnv) checkNoNewMutations(before *[2]int) resource.TestCheckFunc {
	return func(*terraform.State) error { return e.checkMutations(*before, [2][]string{}) }
}

// mutationsWith returns the mutating commands node i ran after its first from that have one
// of words as a word of their own (such as "down" or "connect").
func (e *testEnv) mutationsWith(i, from int, words ...string) []string {
	var out []string
	for _, m := range e.mutations(i)[from:] {
		f := strings.Fields(m)
		if slices.ContainsFunc(words, func(w string) bool { return slices.Contains(f, w) }) {
			out = append(out, m)
		}
	}
	return out
}

// checkNoDown fails when a node ran `drbdadm down` (or detach/disconnect) after from.
func (e *testEnv) checkNoDown(from [2]int) error {
	for i := range 2 {
		if got := e.mutationsWith(i, from[i], "down", "detach", "disconnect"); len(got) != 0 {
			return fmt.Errorf("node%d ran %q during a day-2 operation", i+1, got[0])
		}
	}
	return nil
}

// argvIndex returns the index of the first command of cmds (a node's Executed or Mutating),
// from index from on, whose argv starts with prefix, or -1.
func argvIndex(cmds [][]string, from int, prefix ...string) int {
	for j, argv := range cmds[from:] {
		if len(argv) >= len(prefix) && slices.Equal(argv[:len(prefix)], prefix) {
			return from + j
		}
	}
	return -1
}

// countArgv counts the commands of cmds (a node's Executed or Mutating) whose argv starts
// with prefix.
func countArgv(cmds [][]string, prefix ...string) int {
	n := 0
	for from := argvIndex(cmds, 0, prefix...); from >= 0; from = argvIndex(cmds, from+1, prefix...) {
		n++
	}
	return n
}

// ranCommand reports whether node i ran a program whose argv starts with prefix.
func (e *testEnv) ranCommand(i int, prefix ...string) bool {
	return argvIndex(e.node(i).Executed(), 0, prefix...) >= 0
}

// commandsSince returns the commands node i's SSH server received after index from.
func (e *testEnv) commandsSince(i, from int) []string { return e.hosts[i].Commands()[from:] }

// chefFSNonReads returns the commands node1 received from from on, without the refreshes'
// `test -e` reads of the ready file.
func (e *testEnv) chefFSNonReads(from int) []string {
	var out []string
	for _, c := range e.commandsSince(0, from) {
		if !strings.HasPrefix(c, "test -e ") {
			out = append(out, c)
		}
	}
	return out
}

// probes counts the DRBD status reads host i has received.
func (e *testEnv) probes(i int) int { //nolint:unparam // the tests watch node1; kept general like the other helpers
	n := 0
	for _, c := range e.hosts[i].Commands() {
		if strings.Contains(c, probeMarker) {
			n++
		}
	}
	return n
}

// block renders a resource or data block: header (such as `resource "drbd_sync" "test"`),
// then attrs, one a line.
func block(header string, attrs ...string) string {
	return "\n" + header + " {\n  " + strings.Join(attrs, "\n  ") + "\n}\n"
}

// providerBlock is the required_providers block and a provider block with the client key
// and attrs.
func (e *testEnv) providerBlock(attrs ...string) string {
	return requiredProviders + fmt.Sprintf(`
provider "drbd" {
  private_key     = <<-EOT
%s
EOT
  %s
}
`, strings.TrimSpace(e.keyPEM), strings.Join(attrs, "\n  "))
}

// providerConfig is a provider block that trusts both hosts and does not retry (fast
// failures), with attrs added.
func (e *testEnv) providerConfig(attrs ...string) string {
	return e.providerBlock(append([]string{
		"known_hosts     = <<-EOT\n" + strings.TrimSpace(e.knownHosts()) + "\nEOT",
		"connect_retries = 0",
		`connect_timeout = "5s"`,
	}, attrs...)...)
}

// fencedProvider is providerConfig with the given nodes in fenced_hosts (as host:port).
func (e *testEnv) fencedProvider(nodes ...int) string {
	var entries []string
	for _, i := range nodes {
		entries = append(entries, fmt.Sprintf("%q", e.hosts[i].Addr()))
	}
	return e.providerConfig("fenced_hosts    = [" + strings.Join(entries, ", ") + "]")
}

// resourceConfig is providerConfig and a drbd_resource "test" for pc0 on node i.
func (e *testEnv) resourceConfig(i int, attrs ...string) string {
	return e.providerConfig() + block(`resource "drbd_resource" "test"`, append([]string{e.hostArgs(i), `name = "pc0"`}, attrs...)...)
}

// primaryConfig is providerConfig and a drbd_primary "test" for pc0 on node i.
func (e *testEnv) primaryConfig(i int, attrs ...string) string {
	return e.providerConfig() + block(`resource "drbd_primary" "test"`, append([]string{e.hostArgs(i), `resource = "pc0"`}, attrs...)...)
}

// failoverPrimary is a drbd_primary "test" that force-promotes node2 and names node1 as its
// peer (a failover), without a provider block.
func (e *testEnv) failoverPrimary() string {
	return block(`resource "drbd_primary" "test"`, e.hostArgs(1), `resource        = "pc0"`, `force           = true`,
		e.peerArgs(0), `connect_timeout = "2s"`)
}

// skipSyncConfig is a drbd_primary on node1 that skips the initial sync with node2.
func (e *testEnv) skipSyncConfig() string {
	return e.primaryConfig(0, "force             = true", "skip_initial_sync = true", e.peerArgs(1))
}

// filesystemConfig is providerConfig and a drbd_filesystem "test" for pc0 on node i.
func (e *testEnv) filesystemConfig(i int, attrs ...string) string {
	return e.providerConfig() + block(`resource "drbd_filesystem" "test"`, append([]string{e.hostArgs(i), `resource = "pc0"`}, attrs...)...)
}

// dataFilesystem is a drbd_filesystem named after node i (n1, n2) that mounts pc0 on /data
// there, without a provider block.
func (e *testEnv) dataFilesystem(i int) string {
	return block(fmt.Sprintf(`resource "drbd_filesystem" "n%d"`, i+1), e.hostArgs(i), `resource   = "pc0"`, `mountpoint = "/data"`)
}

// syncBlock is a drbd_sync "test" for pc0 on node i polling every 100ms, without a provider
// block.
func (e *testEnv) syncBlock(i int, attrs ...string) string {
	return block(`resource "drbd_sync" "test"`, append([]string{e.hostArgs(i), `resource      = "pc0"`, `poll_interval = "100ms"`}, attrs...)...)
}

// syncConfig is providerConfig and a drbd_sync on node1 that does not name its peer.
func (e *testEnv) syncConfig(attrs ...string) string {
	return e.providerConfig() + e.syncBlock(0, attrs...)
}

// syncOn is providerConfig and a drbd_sync on node i whose peer is node 1-i.
func (e *testEnv) syncOn(i int, attrs ...string) string {
	return e.providerConfig() + e.syncBlock(i, append([]string{e.peerArgs(1 - i)}, attrs...)...)
}

// readyConfig is providerConfig and a drbd_chef_backend_ready "test" on node i.
func (e *testEnv) readyConfig(i int, attrs ...string) string {
	return e.providerConfig() + block(`resource "drbd_chef_backend_ready" "test"`, append([]string{e.hostArgs(i)}, attrs...)...)
}

// statusBlock is a drbd_status data source named name that reads pc0 on node i, without a
// provider block.
func (e *testEnv) statusBlock(i int, name string) string {
	return block(fmt.Sprintf(`data "drbd_status" %q`, name), e.hostArgs(i), `resource = "pc0"`)
}

// chefFSConfig is the role-bound part of the runbook on node i: Primary, filesystem, Chef
// backend ready with a stop command.
func (e *testEnv) chefFSConfig(i int) string {
	return e.providerConfig() + fmt.Sprintf(`
resource "drbd_primary" "p" {
  %[1]s
  resource = "pc0"
}

resource "drbd_filesystem" "data" {
  %[1]s
  resource = drbd_primary.p.resource
}

resource "drbd_chef_backend_ready" "chef" {
  %[1]s
  stop_command = "chef-server-ctl stop"
  depends_on   = [drbd_filesystem.data]
}
`, e.hostArgs(i))
}

// exampleVariables are the variables of the example in exampleDir (and of configurations
// written like it) that address the pair: backend1 is node1, backend2 node2. extra adds or
// overrides variables.
func (e *testEnv) exampleVariables(extra map[string]config.Variable) config.Variables {
	v := config.Variables{
		"backend1_host": config.StringVariable(e.hosts[0].Host()),
		"backend1_port": config.IntegerVariable(e.hosts[0].Port()),
		"backend2_host": config.StringVariable(e.hosts[1].Host()),
		"backend2_port": config.IntegerVariable(e.hosts[1].Port()),
		"private_key":   config.StringVariable(e.keyPEM),
		"known_hosts":   config.StringVariable(e.knownHosts()),
	}
	maps.Copy(v, extra)
	return v
}

// exampleEnv is exampleVariables(nil) as TF_VAR_ environment variables, for the CLI.
func (e *testEnv) exampleEnv() []string {
	var env []string
	for name, v := range e.exampleVariables(nil) {
		b, err := v.MarshalJSON()
		if err != nil {
			e.t.Fatal(err)
		}
		value := string(b) // a number as written; a string decoded
		var s string
		if json.Unmarshal(b, &s) == nil {
			value = s
		}
		env = append(env, "TF_VAR_"+name+"="+value)
	}
	return env
}

// accTest runs steps as one parallel acceptance test case against the in-process provider.
func accTest(t *testing.T, steps ...resource.TestStep) {
	t.Helper()
	accCase(t, resource.TestCase{Steps: steps})
}

// applyFails applies cfg, which must fail with an error matching want, and returns the
// mutation counts of both nodes from before it, for checks of what the failed apply ran.
func (e *testEnv) applyFails(t *testing.T, cfg string, want *regexp.Regexp) [2]int {
	t.Helper()
	before := e.mutationCounts()
	accTest(t, resource.TestStep{Config: cfg, ExpectError: want})
	return before
}

// accCase runs a test case against this provider (in parallel with the other tests).
func accCase(t *testing.T, tc resource.TestCase) {
	t.Helper()
	tc.ProtoV6ProviderFactories = testAccProtoV6ProviderFactories
	resource.ParallelTest(t, tc)
}

// idempotentStep applies cfg again: the plan must be empty and no node may run a mutating
// command.
func (e *testEnv) idempotentStep(cfg string) resource.TestStep {
	var before [2]int
	return resource.TestStep{
		PreConfig:        e.snapshotMutations(&before),
		Config:           cfg,
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		Check:            e.checkNoNewMutations(&before),
	}
}

// importStep imports address by the ID of rest on node i and compares it with the state,
// except for the attributes in ignore.
func (e *testEnv) importStep(address string, i int, rest string, ignore ...string) resource.TestStep {
	return resource.TestStep{
		ResourceName:            address,
		ImportState:             true,
		ImportStateId:           e.importID(i, rest),
		ImportStateVerify:       true,
		ImportStateVerifyIgnore: ignore,
	}
}

// planAction expects the plan to take action on the resource at address.
func planAction(address string, action plancheck.ResourceActionType) resource.ConfigPlanChecks {
	return resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(address, action)}}
}

// readyFile checks that node's Chef ready file exists (want) or not; why is the error.
func (e *testEnv) readyFile(node int, want bool, why string) error {
	if e.node(node).FileExists(defaultReadyFile) != want {
		return errors.New(why)
	}
	return nil
}

// checkReadyFile is readyFile as a check (or CheckDestroy).
func (e *testEnv) checkReadyFile(node int, want bool, why string) resource.TestCheckFunc {
	return func(*terraform.State) error { return e.readyFile(node, want, why) }
}

// checkRunbookDone verifies the host side of the runbook on the simulated pair.
func (e *testEnv) checkRunbookDone() resource.TestCheckFunc {
	return func(_ *terraform.State) error {
		p, s := e.node(0), e.node(1)
		if p.Role() != "Primary" || s.Role() != "Secondary" {
			return fmt.Errorf("roles %s/%s, want Primary/Secondary", p.Role(), s.Role())
		}
		if p.DiskState() != "UpToDate" || s.DiskState() != "UpToDate" {
			return fmt.Errorf("disks %s/%s, want UpToDate/UpToDate", p.DiskState(), s.DiskState())
		}
		if dev, fs, ok := p.MountedAt(defaultMountpoint); !ok || dev != "/dev/drbd0" || fs != "ext4" {
			return fmt.Errorf("primary mount = %q %q %v, want /dev/drbd0 ext4", dev, fs, ok)
		}
		for i := range 2 {
			if !e.node(i).FileExists(defaultReadyFile) {
				return fmt.Errorf("node%d has no %s", i+1, defaultReadyFile)
			}
			if opts := e.node(i).ResyncOptions(); len(opts) != 0 {
				return fmt.Errorf("node%d still has raised resync options %v", i+1, opts)
			}
		}
		pr, sr := p.ReconfigureRuns(), s.ReconfigureRuns()
		if len(pr) != 1 || len(sr) != 1 || pr[0] > sr[0] {
			return fmt.Errorf("reconfigure runs primary=%v secondary=%v, want one each, primary first", pr, sr)
		}
		if !e.ranCommand(0, "mkfs.ext4") || e.ranCommand(1, "mkfs.ext4") {
			return fmt.Errorf("mkfs.ext4 must run on the primary only")
		}
		return nil
	}
}

// checkServing verifies that node i is the Primary serving Chef: UpToDate, the filesystem
// mounted, the ready file there, and that the filesystem is the one created on day 1.
func (e *testEnv) checkServing(i int, fsUUID *string) error {
	n := e.node(i)
	if n.Role() != "Primary" || n.DiskState() != "UpToDate" {
		return fmt.Errorf("node%d is %s/%s, want Primary/UpToDate", i+1, n.Role(), n.DiskState())
	}
	if dev, _, ok := n.MountedAt(defaultMountpoint); !ok || dev != "/dev/drbd0" {
		return fmt.Errorf("node%d: %s not mounted from /dev/drbd0", i+1, defaultMountpoint)
	}
	if !n.FileExists(defaultReadyFile) {
		return fmt.Errorf("node%d has no %s", i+1, defaultReadyFile)
	}
	if *fsUUID == "" {
		*fsUUID = n.FSUUID()
	} else if got := n.FSUUID(); got != *fsUUID {
		return fmt.Errorf("node%d serves filesystem %s, want the day-1 filesystem %s (reformatted?)", i+1, got, *fsUUID)
	}
	return nil
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
