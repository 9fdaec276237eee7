package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pairsConfigFile declares every resource type and the data source on each pair of the map
// variable "pairs" (pair name -> SSH ports of node1 and node2); simhosts writes the variables.
// It is the configuration internal/provider's BenchmarkRefresh uses, read from there.
const pairsConfigFile = "../internal/provider/testdata/BenchmarkRefresh/drbd/main.tf"

// objectsPerPair is the number of resources and data sources pairsConfigFile declares per pair.
const objectsPerPair = 9

// simHosts is a running bench/cmd/simhosts process.
type simHosts struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

type simCounts struct{ commands, sessions, handshakes int64 }

func startSimHosts(b *testing.B, bin string, pairs int, tfvars string) *simHosts {
	b.Helper()
	cmd := exec.Command(bin, "-pairs", fmt.Sprint(pairs), "-tfvars", tfvars)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	s := &simHosts{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	b.Cleanup(func() {
		_ = s.in.Close() // simhosts exits when its standard input closes
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	if !s.out.Scan() || !strings.HasPrefix(s.out.Text(), "simhosts: ready") {
		b.Fatalf("simhosts did not start: %q %v", s.out.Text(), s.out.Err())
	}
	return s
}

func (s *simHosts) count(b *testing.B) simCounts {
	b.Helper()
	if _, err := io.WriteString(s.in, "count\n"); err != nil {
		b.Fatal(err)
	}
	var c simCounts
	if !s.out.Scan() {
		b.Fatalf("simhosts: %v", s.out.Err())
	}
	if _, err := fmt.Sscanf(s.out.Text(), "commands=%d sessions=%d handshakes=%d", &c.commands, &c.sessions, &c.handshakes); err != nil {
		b.Fatalf("simhosts answered %q: %v", s.out.Text(), err)
	}
	return c
}

// terraform runs the Terraform CLI in dir with the CLI configuration tfrc (dev_overrides
// selecting the provider binary) and fails unless it exits 0.
func terraform(b *testing.B, tf, dir, tfrc string, args ...string) {
	b.Helper()
	cmd := exec.Command(tf, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+tfrc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_INPUT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("terraform %s (%s): %v\n%s", strings.Join(args, " "), filepath.Base(tfrc), err, out)
	}
}

// devOverride writes a CLI configuration (scripts/dev-cli-config.sh) whose dev_overrides make
// bin the seed-a700e435/drbd provider (as terraform-provider-drbd in a directory of its own).
func devOverride(b *testing.B, dir, name, bin string) string {
	b.Helper()
	pdir := filepath.Join(dir, name)
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(pdir, "terraform-provider-drbd")); err != nil {
		b.Fatal(err)
	}
	tfrc := filepath.Join(dir, name+".tfrc")
	if out, err := exec.Command("../scripts/dev-cli-config.sh", tfrc, pdir).CombinedOutput(); err != nil {
		b.Fatalf("scripts/dev-cli-config.sh: %v: %s", err, out)
	}
	return tfrc
}

// BenchmarkRefresh times `terraform plan` (a full refresh, parallelism 10) of BENCH_PAIRS
// simulated pairs (default 50) with every resource type and the data source, with the
// provider binary ("drbd") and with bench/noopprovider ("noop": the same schemas, CRUD that
// does nothing, so no remote command) against the same configuration and state, interleaved:
// one plan of each per round (-benchtime Nx: N rounds). The simulated hosts run in a
// simhosts process of their own; the commands they receive during each plan give the
// commands per pair per refresh.
func BenchmarkRefresh(b *testing.B) {
	tf, drbdBin := os.Getenv("BENCH_TERRAFORM"), os.Getenv("BENCH_PROVIDER_BIN")
	noopBin, simBin := os.Getenv("BENCH_NOOP_PROVIDER_BIN"), os.Getenv("BENCH_SIMHOSTS_BIN")
	if tf == "" || drbdBin == "" || noopBin == "" || simBin == "" {
		b.Skip("BENCH_TERRAFORM, BENCH_PROVIDER_BIN, BENCH_NOOP_PROVIDER_BIN and BENCH_SIMHOSTS_BIN are set by bench/run.sh")
	}
	pairs := envInt("BENCH_PAIRS", 50)
	dir := b.TempDir()
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		b.Fatal(err)
	}
	pairsConfig, err := os.ReadFile(pairsConfigFile)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "main.tf"), pairsConfig, 0o600); err != nil {
		b.Fatal(err)
	}
	rc := map[string]string{"drbd": devOverride(b, dir, "drbd", drbdBin), "noop": devOverride(b, dir, "noop", noopBin)}
	names := []string{"drbd", "noop"}
	// BENCH_PROVIDER_ALT_BIN: a second build of the provider (for example without a piece of
	// machinery whose worth is measured), interleaved with the others as "alt".
	if alt := os.Getenv("BENCH_PROVIDER_ALT_BIN"); alt != "" {
		rc["alt"] = devOverride(b, dir, "alt", alt)
		names = append(names, "alt")
	}
	sim := startSimHosts(b, simBin, pairs, filepath.Join(work, "terraform.tfvars.json"))

	// The state both providers refresh: written by the real provider, then checked to plan
	// no change with either (-detailed-exitcode: 2 would be a change).
	terraform(b, tf, work, rc["drbd"], "apply", "-auto-approve", "-input=false", "-parallelism=10")
	for _, name := range names {
		terraform(b, tf, work, rc[name], "plan", "-input=false", "-parallelism=10", "-detailed-exitcode")
	}

	cmds := map[string]series{}
	hs := map[string]series{}
	var variants []variant
	for _, name := range names {
		variants = append(variants, variant{name, func() {
			before := sim.count(b)
			terraform(b, tf, work, rc[name], "plan", "-input=false", "-parallelism=10", "-detailed-exitcode")
			after := sim.count(b)
			cmds[name] = append(cmds[name], float64(after.commands-before.commands)/float64(pairs))
			hs[name] = append(hs[name], float64(after.handshakes-before.handshakes)/float64(pairs))
		}})
	}
	// The counts (a line over a pipe each) are inside the timed part for both variants.
	ms := interleave(b, 1, variants)
	record(b, "refresh.drbd.ms", ms["drbd"])
	record(b, "refresh.noop.ms", ms["noop"])
	record(b, "refresh.ratio", ms["drbd"].over(ms["noop"]))
	if _, ok := rc["alt"]; ok {
		record(b, "refresh.alt.ms", ms["alt"])
		record(b, "refresh.alt.ratio", ms["alt"].over(ms["noop"]))
		record(b, "refresh.alt_over_drbd", ms["alt"].over(ms["drbd"]))
	}
	record(b, "refresh.drbd.cmds_per_pair", cmds["drbd"])
	record(b, "refresh.noop.cmds_per_pair", cmds["noop"])
	record(b, "refresh.drbd.handshakes_per_pair", hs["drbd"])
	record(b, "refresh.pairs", series{float64(pairs)})
	record(b, "refresh.objects", series{float64(pairs * objectsPerPair)})
}
