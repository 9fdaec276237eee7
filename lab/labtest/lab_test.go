//go:build lab

package labtest

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// Paths on the nodes (the Chef HA backend layout of the example and lab/guest/chef-server-ctl).
const (
	dataDir   = "/var/opt/opscode/drbd/data"
	readyFile = "/var/opt/opscode/drbd/drbd_ready"
	runsLog   = "/var/log/chef-server-ctl.runs"
	resName   = "pc0"
	minor     = 0
)

// labEnv is the lab's configuration, read once by TestMain.
type labEnv struct {
	root      string // repository root
	labSrc    string // lab/
	labDir    string // LAB_DIR (.lab)
	drbd      string // LAB_DRBD: "8.4" (Debian's module) or "9" (LINBIT's 9.2)
	labRun    string // LAB_DIR/run: consoles, pid files
	work      string // LAB_DIR/test: per-scenario work directories
	key       string // LAB_KEY path
	known     string // LAB_KNOWN_HOSTS path
	port      [3]int // SSH port of node 1 and 2 (index 0 unused)
	diskSize  string
	terraform string
	cliConfig string // TF_CLI_CONFIG_FILE with dev_overrides for the provider built by TestMain
	// applyTimeout bounds one terraform command (LAB_APPLY_TIMEOUT seconds, default 900).
	applyTimeout time.Duration
	syncTimeout  string // TF_VAR_sync_timeout (LAB_SYNC_TIMEOUT, default 10m)
	keep         bool   // LAB_KEEP=1: leave the lab running after the tests
}

var env labEnv

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		return m.Run() // only lists the tests: no build, no lab
	}
	tmp, err := setup()
	if tmp != "" {
		defer os.RemoveAll(tmp)
	}
	if err != nil {
		fmt.Printf("FAIL [setup] %v\n", err)
		return 1
	}
	defer func() {
		if env.keep {
			fmt.Println("lab left running (LAB_KEEP=1); stop it with lab/lab.sh down")
			return
		}
		_ = labCmd("down")
	}()
	return m.Run()
}

// setup reads the lab's settings from `lab/lab.sh env`, checks the tools, builds the provider
// into a temporary directory and writes the dev_overrides CLI configuration there. It returns
// that directory (to remove at the end) even on error.
func setup() (string, error) {
	fmt.Printf("\n=== [setup] preflight (%s)\n", time.Now().Format("15:04:05"))
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	env.root, env.labSrc = root, filepath.Join(root, "lab")
	for _, f := range []string{"go.mod", "lab/lab.sh", "lab/lib.sh"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			return "", fmt.Errorf("not run from lab/labtest of the repository: %w", err)
		}
	}
	out, err := exec.Command(filepath.Join(env.labSrc, "lab.sh"), "env").Output()
	if err != nil {
		return "", fmt.Errorf("lab/lab.sh env: %w", err)
	}
	vars := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			vars[k] = v
		}
	}
	env.labDir, env.key, env.known = vars["LAB_DIR"], vars["LAB_KEY"], vars["LAB_KNOWN_HOSTS"]
	if env.drbd = vars["LAB_DRBD"]; env.drbd != "8.4" && env.drbd != "9" {
		return "", fmt.Errorf("lab/lab.sh env: LAB_DRBD=%q is neither 8.4 nor 9", env.drbd)
	}
	for n, k := range map[int]string{1: "LAB_SSH_PORT1", 2: "LAB_SSH_PORT2"} {
		if env.port[n], err = strconv.Atoi(vars[k]); err != nil {
			return "", fmt.Errorf("lab/lab.sh env: %s=%q is not a port", k, vars[k])
		}
	}
	if env.labDir == "" || env.key == "" || env.known == "" {
		return "", fmt.Errorf("lab/lab.sh env printed no LAB_DIR, LAB_KEY or LAB_KNOWN_HOSTS:\n%s", out)
	}
	env.labRun = filepath.Join(env.labDir, "run")
	env.work = filepath.Join(env.labDir, "test")
	env.diskSize = getenv("LAB_DISK_SIZE", "1G")
	env.syncTimeout = getenv("LAB_SYNC_TIMEOUT", "10m")
	env.keep = os.Getenv("LAB_KEEP") == "1"
	secs, err := strconv.Atoi(getenv("LAB_APPLY_TIMEOUT", "900"))
	if err != nil || secs <= 0 {
		return "", fmt.Errorf("LAB_APPLY_TIMEOUT=%q is not a number of seconds", os.Getenv("LAB_APPLY_TIMEOUT"))
	}
	env.applyTimeout = time.Duration(secs) * time.Second

	env.terraform = os.Getenv("TERRAFORM")
	if env.terraform == "" {
		if env.terraform, err = exec.LookPath("terraform"); err != nil {
			env.terraform = "/usr/local/bin/terraform"
		}
	}
	if st, err := os.Stat(env.terraform); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("terraform not found at %s (set TERRAFORM=...)", env.terraform)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("go not found in PATH")
	}
	if tfs, _ := filepath.Glob(filepath.Join(root, "examples/chef-ha-failover/*.tf")); len(tfs) == 0 {
		return "", errors.New("example examples/chef-ha-failover missing")
	}
	if err := os.MkdirAll(env.work, 0o755); err != nil {
		return "", err
	}

	fmt.Printf("\n=== [setup] build the provider (%s)\n", time.Now().Format("15:04:05"))
	tmp, err := os.MkdirTemp("", "labtest-provider-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(tmp, "bin")
	build := exec.Command(goBin, "build", "-o", filepath.Join(bin, "terraform-provider-drbd"), ".")
	build.Dir, build.Stdout, build.Stderr = root, os.Stdout, os.Stdout
	if err := build.Run(); err != nil {
		return tmp, fmt.Errorf("go build of the provider failed: %w", err)
	}
	if env.cliConfig, err = writeCLIConfig(tmp, bin); err != nil {
		return tmp, err
	}
	ver := exec.Command(env.terraform, "version")
	ver.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+env.cliConfig, "CHECKPOINT_DISABLE=1")
	vout, err := ver.Output()
	if err != nil {
		return tmp, fmt.Errorf("%s version: %w", env.terraform, err)
	}
	first, _, _ := strings.Cut(string(vout), "\n")
	fmt.Println(first)
	fmt.Printf("PASS [setup] provider built: %s (dev_overrides in %s, no terraform init)\n",
		filepath.Join(bin, "terraform-provider-drbd"), env.cliConfig)
	return tmp, nil
}

// writeCLIConfig writes, with scripts/dev-cli-config.sh, a CLI configuration into dir whose
// dev_overrides point the provider's addresses (Terraform's and OpenTofu's) at binDir (the
// directory holding terraform-provider-drbd), so terraform or tofu uses that build without
// `init` or a registry, and returns its path (for TF_CLI_CONFIG_FILE).
func writeCLIConfig(dir, binDir string) (string, error) {
	path := filepath.Join(dir, "terraformrc")
	out, err := exec.Command(filepath.Join(env.root, "scripts", "dev-cli-config.sh"), path, binDir).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("scripts/dev-cli-config.sh: %w: %s", err, out)
	}
	return path, nil
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// labCmd runs lab/lab.sh ARGS with its output on ours.
func labCmd(args ...string) error {
	cmd := exec.Command(filepath.Join(env.labSrc, "lab.sh"), args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = env.root, os.Stdout, os.Stdout
	return cmd.Run()
}

func metric(name string, v any) { fmt.Printf("LAB-METRIC %s=%v\n", name, v) }

func secs(d time.Duration) string { return fmt.Sprintf("%.1f", d.Seconds()) }

// ---------------------------------------------------------------- scenario

// scenario is one end-to-end test: its name (in PASS/FAIL lines and metric names), its work
// directory .lab/test/NAME, and the SSH pool to the nodes of the lab it brought up.
type scenario struct {
	t    *testing.T
	name string
	dir  string
	pool *sshx.Pool
	// tfEnv is the environment of terraform commands (see setTFEnv).
	tfEnv []string
	// traceProvider logs the provider at TRACE (every remote command with its timestamps and
	// exit code) and Terraform itself at INFO, instead of TF_LOG=INFO for both.
	traceProvider bool
}

func newScenario(t *testing.T, name string) *scenario {
	s := &scenario{t: t, name: name, dir: filepath.Join(env.work, name)}
	if err := os.RemoveAll(s.dir); err != nil {
		s.fail("%v", err)
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		s.fail("%v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			s.diagnose()
		}
		if s.pool != nil {
			_ = s.pool.Close()
		}
	})
	return s
}

func (s *scenario) step(format string, args ...any) {
	fmt.Printf("\n=== [%s] %s (%s)\n", s.name, fmt.Sprintf(format, args...), time.Now().Format("15:04:05"))
}

func (s *scenario) pass(format string, args ...any) {
	fmt.Printf("PASS [%s] %s\n", s.name, fmt.Sprintf(format, args...))
}

func (s *scenario) logf(format string, args ...any) { fmt.Printf(format+"\n", args...) }

// fail reports a failed check and ends the test (from the test's goroutine only).
func (s *scenario) fail(format string, args ...any) {
	s.t.Helper()
	msg := fmt.Sprintf(format, args...)
	fmt.Printf("FAIL [%s] %s\n", s.name, msg)
	s.t.Fatal(msg)
}

// labUp starts a fresh lab (lab.sh up: fresh disks, both nodes booted, known_hosts written)
// and opens an SSH pool to it.
func (s *scenario) labUp() { s.labUpSize(env.diskSize) }

// labUpSize is labUp with DRBD backing disks of the given size (lab.sh up --disk-size).
func (s *scenario) labUpSize(size string) {
	s.step("lab up (fresh disks, %s each)", size)
	t0 := time.Now()
	if err := labCmd("up", "--disk-size", size); err != nil {
		s.fail("the lab did not start: %v", err)
	}
	metric("lab_up_"+s.name+"_s", secs(time.Since(t0)))
	if s.pool != nil {
		_ = s.pool.Close()
	}
	var err error
	if s.pool, err = newLabPool(); err != nil {
		s.fail("ssh pool: %v", err)
	}
	for n := 1; n <= 2; n++ {
		out := s.must(n, "hostname; head -1 /proc/drbd")
		s.logf("node%d: %s", n, strings.Join(strings.Fields(out), " "))
		if !strings.Contains(out, "version: "+env.drbd+".") {
			s.fail("node%d does not run the lab's DRBD %s: %s", n, env.drbd, strings.Join(strings.Fields(out), " "))
		}
	}
}

// newLabPool opens an SSH pool to the lab's nodes (the lab key, strict host-key checking
// against the known_hosts lab.sh wrote); it keeps one connection per node.
func newLabPool() (*sshx.Pool, error) {
	key, err := os.ReadFile(env.key)
	if err != nil {
		return nil, err
	}
	known, err := os.ReadFile(env.known)
	if err != nil {
		return nil, err
	}
	return sshx.NewPool(sshx.Config{
		User: "root", PrivateKey: string(key), KnownHosts: string(known), HostKeyPolicy: sshx.PolicyStrict,
		ConnectTimeout: 10 * time.Second, ConnectRetries: 2, KeepaliveInterval: 5 * time.Second,
	})
}

func target(n int) sshx.Target { return sshx.Target{Host: "127.0.0.1", Port: env.port[n]} }

// on runs cmd as root on node n and returns its stdout; a non-zero exit is an error that
// carries the exit code and output.
func (s *scenario) on(n int, cmd string) (string, error) {
	return s.onTimeout(n, cmd, 3*time.Minute)
}

func (s *scenario) onTimeout(n int, cmd string, d time.Duration) (string, error) {
	if s.pool == nil {
		return "", errors.New("the lab is not up")
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	r, err := s.pool.Exec(ctx, target(n), sshx.Command{Cmd: cmd})
	if err != nil {
		return r.Stdout, fmt.Errorf("node%d: %w", n, err)
	}
	if r.ExitCode != 0 {
		return r.Stdout, fmt.Errorf("node%d: `%s` exited %d: %s", n, cmd, r.ExitCode,
			strings.TrimSpace(r.Stderr+"\n"+r.Stdout))
	}
	return r.Stdout, nil
}

// must is on that fails the test on error.
func (s *scenario) must(n int, cmd string) string {
	s.t.Helper()
	out, err := s.on(n, cmd)
	if err != nil {
		s.fail("%v", err)
	}
	return out
}

var minorLineRE = regexp.MustCompile(`(?m)^ *0: .*$`)

// proc reads node n's /proc/drbd and returns minor 0 (nil when not configured), its state line
// (" 0: cs:... ro:... ds:...") and the whole text.
// On DRBD 9, whose /proc/drbd has no state lines, it reads `drbdsetup status --json` instead
// and returns the state in 8.4's words (procMinor9); the line and the text are then the same
// one-line summary.
func (s *scenario) proc(n int) (*drbd.ProcMinor, string, string, error) {
	if drbd9() {
		st, _, err := s.status9(n)
		if err != nil {
			return nil, "", "", err
		}
		m := procMinor9(st)
		line := procLine9(m, st)
		return m, line, line, nil
	}
	text, err := s.on(n, "cat /proc/drbd")
	if err != nil {
		return nil, "", text, err
	}
	p, err := drbd.ParseProcDRBD(text)
	if err != nil {
		return nil, "", text, fmt.Errorf("node%d: /proc/drbd: %w", n, err)
	}
	line := strings.TrimSpace(minorLineRE.FindString(text))
	m, _ := p.Minor(minor)
	return m, line, text, nil
}

// mustProc is proc that fails the test on error or when minor 0 is not configured.
func (s *scenario) mustProc(n int) (*drbd.ProcMinor, string) {
	s.t.Helper()
	m, line, text, err := s.proc(n)
	if err != nil {
		s.fail("%v", err)
	}
	if m == nil || m.Unconfigured {
		s.fail("node%d: DRBD minor %d is not configured; /proc/drbd:\n%s", n, minor, text)
	}
	return m, line
}

// procSummary prints the state and progress lines of a /proc/drbd text on one line.
func procSummary(text string) string {
	var parts []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "cs:") || strings.Contains(l, "sync'ed") || strings.Contains(l, "want") {
			parts = append(parts, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(parts, " ")
}

// waitFor polls cond every 0.5 s until it reports true, and fails the test after timeout,
// with the last state cond described.
func (s *scenario) waitFor(desc string, timeout time.Duration, cond func() (bool, string)) {
	s.t.Helper()
	end := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			s.fail("timed out after %s waiting for: %s (last: %s)", timeout, desc, state)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// ---------------------------------------------------------------- terraform

// copyExample copies examples/chef-ha-failover/*.tf into the scenario's work directory.
func (s *scenario) copyExample() {
	files, _ := filepath.Glob(filepath.Join(env.root, "examples/chef-ha-failover/*.tf"))
	if len(files) == 0 {
		s.fail("example examples/chef-ha-failover missing")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			err = os.WriteFile(filepath.Join(s.dir, filepath.Base(f)), b, 0o644)
		}
		if err != nil {
			s.fail("copy the example: %v", err)
		}
	}
}

// baseTFEnv is our environment without TF_VAR_*, TF_LOG* and TF_CLI_CONFIG_FILE, plus the CLI
// config with dev_overrides and the automation settings.
func baseTFEnv() []string {
	var e []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TF_VAR_") || strings.HasPrefix(kv, "TF_LOG") || strings.HasPrefix(kv, "TF_CLI_CONFIG_FILE=") {
			continue
		}
		e = append(e, kv)
	}
	return append(e, "TF_CLI_CONFIG_FILE="+env.cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_INPUT=0")
}

// labSecrets returns the lab's private key and known_hosts as TF_VAR_private_key and
// TF_VAR_known_hosts.
func (s *scenario) labSecrets() []string {
	key, err := os.ReadFile(env.key)
	if err != nil {
		s.fail("%v", err)
	}
	known, err := os.ReadFile(env.known)
	if err != nil {
		s.fail("%v", err)
	}
	return []string{"TF_VAR_private_key=" + string(key), "TF_VAR_known_hosts=" + string(known)}
}

// setTFEnv sets the example's variables (what lab/test-lab.sh's tf_env exported): node1 is
// the primary (backend1, the example's default var.primary), node2 the secondary (backend2);
// mkfsOptions "" leaves mkfs_options unset.
func (s *scenario) setTFEnv(mkfsOptions string) {
	e := append(baseTFEnv(),
		"TF_VAR_backend1_host=127.0.0.1", fmt.Sprintf("TF_VAR_backend1_port=%d", env.port[1]),
		"TF_VAR_backend2_host=127.0.0.1", fmt.Sprintf("TF_VAR_backend2_port=%d", env.port[2]),
		"TF_VAR_ssh_user=root", "TF_VAR_resource_name="+resName, "TF_VAR_resync_rate=1100M", "TF_VAR_fs_type=ext4",
		"TF_VAR_sync_timeout="+env.syncTimeout)
	e = append(e, s.labSecrets()...)
	if mkfsOptions != "" {
		e = append(e, "TF_VAR_mkfs_options="+mkfsOptions)
	}
	s.tfEnv = e
}

// setVar sets the example's variable NAME (TF_VAR_NAME) for the next terraform commands; an
// empty value unsets it (the variable's default applies).
func (s *scenario) setVar(name, value string) {
	prefix := "TF_VAR_" + name + "="
	e := s.tfEnv[:0:0]
	for _, kv := range s.tfEnv {
		if !strings.HasPrefix(kv, prefix) {
			e = append(e, kv)
		}
	}
	if value != "" {
		e = append(e, prefix+value)
	}
	s.tfEnv = e
}

// tfRun is one terraform command, run in dir with INFO logging to dir/tf-NAME.log and its
// output in dir/NAME.out.
type tfRun struct {
	name, dir string
	cmd       *exec.Cmd
	cancel    context.CancelFunc
	done      chan struct{}
	err       error
}

// tfStart starts terraform ARGS -no-color in dir (bounded by LAB_APPLY_TIMEOUT).
func (s *scenario) tfStart(dir, name string, args ...string) *tfRun {
	s.t.Helper()
	out, err := os.Create(filepath.Join(dir, name+".out"))
	if err != nil {
		s.fail("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), env.applyTimeout)
	cmd := exec.CommandContext(ctx, env.terraform, append(args, "-no-color")...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, out, out
	cmd.Env = append(append([]string{}, s.tfEnv...), "TF_LOG_PATH="+filepath.Join(dir, "tf-"+name+".log"))
	if s.traceProvider {
		cmd.Env = append(cmd.Env, "TF_LOG_CORE=INFO", "TF_LOG_PROVIDER=TRACE")
	} else {
		cmd.Env = append(cmd.Env, "TF_LOG=INFO")
	}
	// Interrupt as a user would (terraform stops its providers), kill 30 s later.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	r := &tfRun{name: name, dir: dir, cmd: cmd, cancel: cancel, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		cancel()
		out.Close()
		s.fail("start %s: %v", env.terraform, err)
	}
	go func() {
		r.err = cmd.Wait()
		out.Close()
		cancel()
		close(r.done)
	}()
	s.t.Cleanup(func() { r.cancel(); <-r.done })
	return r
}

// running reports whether the command is still running.
func (r *tfRun) running() bool {
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// wait waits for the command, copies its output into the log (each line prefixed with
// "  [tf NAME] ") and returns its exit code; -1 when it did not exit by itself.
func (r *tfRun) wait() int {
	<-r.done
	if b, err := os.ReadFile(filepath.Join(r.dir, r.name+".out")); err == nil {
		for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			fmt.Printf("  [tf %s] %s\n", r.name, l)
		}
	}
	var ee *exec.ExitError
	switch {
	case r.err == nil:
		return 0
	case errors.As(r.err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode()
	default:
		fmt.Printf("  [tf %s] terraform did not exit by itself: %v\n", r.name, r.err)
		return -1
	}
}

// tf runs terraform ARGS in dir and returns its exit code.
func (s *scenario) tf(dir, name string, args ...string) int {
	s.t.Helper()
	return s.tfStart(dir, name, args...).wait()
}

// planExit returns the exit code of `terraform plan -detailed-exitcode`.
func (s *scenario) planExit(name string) int {
	s.t.Helper()
	return s.tf(s.dir, name, "plan", "-detailed-exitcode", "-input=false")
}

// creationSecs returns how long terraform said resource's creation took, from its output.
func creationSecs(outFile, resource string) string {
	b, err := os.ReadFile(outFile)
	if err != nil {
		return "unknown"
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(resource) + `: Creation complete after ([0-9hms]+)`)
	m := re.FindStringSubmatch(string(b))
	if m == nil {
		return "unknown"
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		return "unknown"
	}
	return strconv.Itoa(int(d.Seconds()))
}

// ---------------------------------------------------------------- /proc/drbd capture

// capture appends node1's MemFree and /proc/drbd to a file every second, over one SSH session.
type capture struct {
	file   string
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *scenario) startCapture(file string) *capture {
	f, err := os.Create(file)
	if err != nil {
		s.fail("%v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &capture{file: file, cancel: cancel, done: make(chan struct{})}
	w := bufio.NewWriter(f)
	var mu sync.Mutex
	write := func(l string) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.WriteString(l + "\n")
	}
	state := "cat /proc/drbd"
	if drbd9() {
		// DRBD 9's /proc/drbd has no state lines.
		state = "drbdsetup status " + resName + " --verbose --statistics"
	}
	go func() {
		defer close(c.done)
		_, err := s.pool.Exec(ctx, target(1), sshx.Command{
			Cmd: `while :; do echo "== node1 $(date +%T.%N | cut -c1-12) $(grep MemFree /proc/meminfo | tr -s " ")"; ` +
				state + `; sleep 1; done`,
			OnStdoutLine: write, OnStderrLine: write,
		})
		if err != nil && ctx.Err() == nil {
			write("capture ended: " + err.Error())
		}
		mu.Lock()
		_ = w.Flush()
		_ = f.Close()
		mu.Unlock()
	}()
	s.t.Cleanup(func() { cancel(); <-c.done })
	return c
}

var memFreeRE = regexp.MustCompile(`^== node1 \S+ MemFree: ([0-9]+) kB`)

// stop ends the capture, copies its interesting lines into the log and reports how far
// node1's free memory fell (DRBD 8.4.11 SyncSource page leak, see lab/README.md).
func (c *capture) stop(s *scenario) {
	c.cancel()
	<-c.done
	b, err := os.ReadFile(c.file)
	if err != nil {
		s.fail("%v", err)
	}
	fmt.Printf("----- /proc/drbd on node1, every second during the apply (%s) -----\n", c.file)
	first, lowest := int64(-1), int64(-1)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "== ") || strings.Contains(l, "cs:") || strings.Contains(l, "sync'ed") || strings.Contains(l, "finish:") ||
			(drbd9() && strings.TrimSpace(l) != "") {
			fmt.Println(l)
		}
		if m := memFreeRE.FindStringSubmatch(l); m != nil {
			v, _ := strconv.ParseInt(m[1], 10, 64)
			if first < 0 {
				first = v
			}
			if lowest < 0 || v < lowest {
				lowest = v
			}
		}
	}
	fmt.Println("----- end of /proc/drbd capture -----")
	if first >= 0 {
		drop := (first - lowest) / 1024
		metric("node1_memfree_drop_"+s.name+"_mib", drop)
		if first-lowest > 256*1024 {
			fmt.Printf("WARNING [%s] node1's free memory fell by %d MiB during the apply (DRBD 8.4.11 SyncSource page leak "+
				"after a peer rejoined; see lab/README.md)\n", s.name, drop)
		}
	}
}

// ---------------------------------------------------------------- checks shared by scenarios

// checkRunbookState checks the state the example leaves: node1 Primary and node2 Secondary,
// Connected, UpToDate/UpToDate; the filesystem mounted; drbd_ready on both nodes; the
// reconfigure order; the resync settings back to the configuration.
func (s *scenario) checkRunbookState() {
	s.t.Helper()
	if drbd9() {
		s.checkPair9(1, 2)
		s.checkReadyAndSettings()
		return
	}
	m, line := s.mustProc(1)
	s.logf("node1: %s", line)
	if m.Role != drbd.RolePrimary || m.PeerRole != drbd.RoleSecondary || m.DiskState != drbd.DiskUpToDate || m.PeerDiskState != drbd.DiskUpToDate {
		s.fail("node1 is not ro:Primary/Secondary ds:UpToDate/UpToDate: %s", line)
	}
	if m.ConnState != drbd.ConnConnected {
		s.fail("node1 not Connected: %s", line)
	}
	s.pass("node1 ro:Primary/Secondary ds:UpToDate/UpToDate, Connected")
	m, line = s.mustProc(2)
	if m.Role != drbd.RoleSecondary || m.PeerRole != drbd.RolePrimary || m.DiskState != drbd.DiskUpToDate || m.PeerDiskState != drbd.DiskUpToDate {
		s.fail("node2 is not ro:Secondary/Primary ds:UpToDate/UpToDate: %s", line)
	}
	s.pass("node2 ro:Secondary/Primary ds:UpToDate/UpToDate")
	s.checkReadyAndSettings()
}

// checkReadyAndSettings is the part of checkRunbookState that is the same on DRBD 8.4 and 9:
// the filesystem, the ready files, the reconfigure order and the resync settings.
func (s *scenario) checkReadyAndSettings() {
	s.t.Helper()
	s.checkMounted()
	for n := 1; n <= 2; n++ {
		if _, err := s.on(n, "test -e "+readyFile); err != nil {
			s.fail("node%d: %s missing", n, readyFile)
		}
	}
	s.pass("drbd_ready present on both nodes")
	s.checkOrder()
	s.checkRateRestored()
}

// resyncSettings reads the resync-controller settings in force on node n (drbdsetup show).
func (s *scenario) resyncSettings(n int) drbd.ResyncSettings {
	s.t.Helper()
	out := s.must(n, "drbdsetup show "+resName)
	rs, err := drbd.ParseResyncSettings(out)
	if err != nil {
		s.fail("node%d: %v", n, err)
	}
	return rs
}

// configuredRates are the resync settings in force with lab/guest/pc0.res, which sets none:
// DRBD 8.4's defaults (c-plan-ahead 20, resync-rate 250k, c-min-rate 250k).
var configuredRates = drbd.ResyncSettings{PlanAhead: "20", Rate: "250k", MinRate: "250k"}

// checkRateRestored: drbd_sync puts back the settings it read before raising the rate on every
// node it raised them on (unless keep_resync_rate); the raise sets c-plan-ahead 0.
func (s *scenario) checkRateRestored() {
	s.t.Helper()
	for n := 1; n <= 2; n++ {
		rs := s.resyncSettings(n)
		s.logf("node%d resync options now: %s", n, rs)
		if rs.PlanAhead == "0" {
			s.fail("node%d still has the raised resync settings after the sync (%s); drbd_sync should put back the ones read before", n, rs)
		}
		if rs != configuredRates {
			s.fail("node%d resync settings are %s, want the configuration's (%s)", n, rs, configuredRates)
		}
	}
	s.pass("resync settings restored to the configuration on both nodes")
}

func (s *scenario) checkMounted() {
	s.t.Helper()
	s.checkMountedOn(1)
}

// checkMountedOn: node n has /dev/drbd0 (ext4) mounted on the data directory.
func (s *scenario) checkMountedOn(n int) {
	s.t.Helper()
	out, _ := s.on(n, "findmnt -n -o SOURCE,FSTYPE --mountpoint "+dataDir)
	if got := strings.Join(strings.Fields(out), " "); got != "/dev/drbd0 ext4" {
		if got == "" {
			got = "nothing"
		}
		s.fail("node%d: expected /dev/drbd0 ext4 mounted at %s, findmnt says '%s'", n, dataDir, got)
	}
	s.pass("node%d: /dev/drbd0 ext4 mounted at %s", n, dataDir)
}

// checkOrder: the primary's reconfigure ran (and was recorded) before the secondary's.
func (s *scenario) checkOrder() {
	s.t.Helper()
	r1, _ := s.on(1, "cat "+runsLog)
	r2, _ := s.on(2, "cat "+runsLog)
	s.logf("run records node1:\n%s\nrun records node2:\n%s", strings.TrimRight(r1, "\n"), strings.TrimRight(r2, "\n"))
	first := func(records, host string) (float64, string) {
		for _, l := range strings.Split(records, "\n") {
			f := strings.Fields(l)
			if len(f) >= 4 && f[1] == host && f[2] == "reconfigure" && f[3] == "ok" {
				v, err := strconv.ParseFloat(f[0], 64)
				if err == nil {
					return v, f[0]
				}
			}
		}
		return 0, ""
	}
	t1, s1 := first(r1, "node1")
	t2, s2 := first(r2, "node2")
	if s1 == "" {
		s.fail("node1 has no 'reconfigure ok' run record")
	}
	if s2 == "" {
		s.fail("node2 has no 'reconfigure ok' run record")
	}
	if !(t1 < t2) {
		s.fail("reconfigure order wrong: node1 at %s, node2 at %s", s1, s2)
	}
	s.pass("reconfigure ran on node1 (%s) before node2 (%s), %.3f s apart (guest clocks synced to the host at boot; see clock_offset metrics)",
		s1, s2, t2-t1)
}

// ---------------------------------------------------------------- diagnostics

func (s *scenario) diagnose() {
	fmt.Printf("\n=================== DIAGNOSTICS (test failed in [%s]) ===================\n", s.name)
	_ = labCmd("status")
	for n := 1; n <= 2; n++ {
		fmt.Printf("--- node%d ---\n", n)
		out, err := s.onTimeout(n, `set +e
echo '# /proc/drbd'; cat /proc/drbd
echo '# drbdadm cstate/dstate/role pc0'; drbdadm cstate pc0; drbdadm dstate pc0; drbdadm role pc0
echo '# drbdsetup status pc0 --verbose --statistics'; drbdsetup status pc0 --verbose --statistics
echo '# drbdsetup show pc0 (disk/net options)'; drbdsetup show pc0 2>&1 | grep -E 'rate|plan|c-|after-sb'
echo '# findmnt `+dataDir+`'; findmnt `+dataDir+`
echo '# blkid /dev/drbd0 /dev/vdb'; blkid /dev/drbd0 /dev/vdb
echo '# ls -l `+filepath.Dir(readyFile)+`'; ls -l `+filepath.Dir(readyFile)+`
echo '# `+runsLog+`'; cat `+runsLog+`
echo '# dmesg tail'; dmesg | tail -25
echo '# free -m'; free -m`+" 2>&1", 30*time.Second)
		fmt.Print(out)
		if err != nil {
			fmt.Printf("(ssh to node%d: %v) console tail:\n", n, err)
			if b, err := os.ReadFile(filepath.Join(env.labRun, fmt.Sprintf("node%d.console", n))); err == nil {
				lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
				fmt.Println(strings.Join(lines[max(0, len(lines)-40):], "\n"))
			}
		}
	}
	var outs []string
	for _, pat := range []string{"*.out", "*/*.out"} {
		m, _ := filepath.Glob(filepath.Join(s.dir, pat))
		outs = append(outs, m...)
	}
	for _, f := range outs {
		if b, err := os.ReadFile(f); err == nil {
			lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			fmt.Printf("--- tail %s ---\n%s\n", f, strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	}
	var logs []string
	for _, pat := range []string{"tf-*.log", "*/tf-*.log"} {
		m, _ := filepath.Glob(filepath.Join(s.dir, pat))
		logs = append(logs, m...)
	}
	for _, f := range logs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var hits []string
		for _, l := range strings.Split(string(b), "\n") {
			if (strings.Contains(l, "[ERROR]") || strings.Contains(l, "[WARN]")) && !strings.Contains(l, "plugin.tfplugin") {
				hits = append(hits, l)
			}
		}
		fmt.Printf("--- provider errors/warnings in %s ---\n%s\n", f, strings.Join(hits[max(0, len(hits)-30):], "\n"))
	}
	fmt.Printf("Work dir: %s\n", s.dir)
}
