package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// deadHostCap is the test's own bound on a plan against a dead host: well past the 15s a plan
// may take, well short of the minutes it took before reads were bounded. A plan cut off here
// fails the test.
const deadHostCap = 30 * time.Second

// inNetnsEnv is set when the test binary runs again inside the namespace that drops packets.
const inNetnsEnv = "DRBD_TEST_IN_DROPPING_NETNS"

// droppedPort is the TCP port the namespace drops every packet to.
const droppedPort = 2222

// deadHostConfig is a configuration with the provider's default settings (credentials only)
// and a drbd_status reading pc0 on 127.0.0.1:port.
func deadHostConfig(port int) string {
	return requiredProviders + fmt.Sprintf(`
provider "drbd" {
  password = "unused"
}

data "drbd_status" "dead" {
  host     = "127.0.0.1"
  port     = %d
  resource = "pc0"
}
`, port)
}

// planDeadHost runs terraform plan of deadHostConfig(port) under deadHostCap; the plan must
// fail by itself, naming the host and port and the fenced_hosts hint, without retrying.
func planDeadHost(t testing.TB, h *cliHarness, port int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadHostCap)
	defer cancel()
	out, err := h.command(ctx, "plan", "-input=false", "-no-color").CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("terraform plan against a dead host had not failed after %s (the test's cap):\n%s", deadHostCap, out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("terraform plan against a dead host: err = %v, want a failed plan:\n%s", err, out)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	for _, want := range []string{"could not be reached over SSH", "127.0.0.1:" + strconv.Itoa(port), "fenced_hosts"} {
		if !strings.Contains(text, want) {
			t.Errorf("the plan's error lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(text, "attempts") {
		t.Errorf("the plan retried the dead host:\n%s", out)
	}
}

// deadHostHarness is a CLI harness initialised with deadHostConfig(port).
func deadHostHarness(t testing.TB, port int) *cliHarness {
	t.Helper()
	h := newCLIHarness(t)
	h.writeFile("main.tf", deadHostConfig(port))
	h.init()
	return h
}

// closedPort returns a loopback port nothing listens on (connections are refused).
func closedPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("listener address %v is not a TCP address", ln.Addr())
	}
	_ = ln.Close()
	return addr.Port
}

// mutePort returns a loopback port that accepts TCP connections and never writes: a host
// whose sshd is wedged.
func mutePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	})
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("listener address %v is not a TCP address", ln.Addr())
	}
	return addr.Port
}

// droppingNetns creates a network namespace whose loopback drops every TCP packet to
// droppedPort (nft), and removes it when the test ends. It skips the test when that is not
// possible (not root, no ip or nft).
func droppingNetns(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a host that drops packets is simulated in a network namespace, which needs root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("a host that drops packets needs %s (iproute2, nftables; .ci/run installs them as root)", tool)
		}
	}
	ns := fmt.Sprintf("drbdtest%d", os.Getpid())
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("ip", "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	run("ip", "-n", ns, "link", "set", "lo", "up")
	run("ip", "netns", "exec", ns, "nft", "add", "table", "inet", "drbdtest")
	run("ip", "netns", "exec", ns, "nft", "add chain inet drbdtest out { type filter hook output priority 0; policy accept; }")
	run("ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "drbdtest", "out", "tcp", "dport", strconv.Itoa(droppedPort), "drop")
	return ns
}

// TestAccDeadHost: with the provider's default settings, a plan reading a dead host fails by
// itself, naming the host and port and the fenced_hosts hint, for a refused port, a port
// that never speaks SSH and a host that drops every packet.
func TestAccDeadHost(t *testing.T) {
	testAccPreCheck(t)
	if os.Getenv(inNetnsEnv) != "" {
		// Inside the dropping namespace: only the dropped case runs here.
		t.Run("dropped", func(t *testing.T) { planDeadHost(t, deadHostHarness(t, droppedPort), droppedPort) })
		return
	}
	t.Run("refused", func(t *testing.T) {
		port := closedPort(t)
		planDeadHost(t, deadHostHarness(t, port), port)
	})
	t.Run("silent", func(t *testing.T) {
		port := mutePort(t)
		planDeadHost(t, deadHostHarness(t, port), port)
	})
	t.Run("dropped", func(t *testing.T) {
		out, err := inDroppingNetns(t, "-test.run", "^TestAccDeadHost$/^dropped$")
		if err != nil || !strings.Contains(out, "--- PASS: TestAccDeadHost/dropped") {
			t.Fatalf("the plan inside the dropping namespace did not pass: %v\n%s", err, out)
		}
	})
}

// inDroppingNetns runs this test binary again with args inside a fresh droppingNetns and
// returns its output (also logged).
func inDroppingNetns(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ns := droppingNetns(t)
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, os.Args[0], "-test.v", "-test.count=1"}, args...)...)
	cmd.Env = append(os.Environ(), inNetnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// BenchmarkDeadHostPlan times `terraform plan` of one drbd_status with the provider's default
// settings against a live simulated host (the baseline) and against a refused port, a port
// that never speaks SSH and a port whose packets are dropped, interleaved (one of each per
// round, the order rotated), BENCH_DEAD_ROUNDS rounds (default 5). It also times, in-process,
// the provider's own part: from the first connection attempt (a read's single attempt, as
// the provider configures it by default) to the error, against a fresh connection to the live
// host. It runs inside a namespace that drops droppedPort (re-executing itself there as root).
func BenchmarkDeadHostPlan(b *testing.B) {
	benchGate(b)
	if os.Getenv(inNetnsEnv) == "" {
		out, err := inDroppingNetns(b, "-test.run", "^$", "-test.bench", "^BenchmarkDeadHostPlan$", "-test.benchtime", "1x")
		if err != nil {
			b.Fatalf("the benchmark inside the dropping namespace failed: %v\n%s", err, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "dead_host_") {
				fmt.Println(strings.TrimSpace(line))
			}
		}
		return
	}
	rounds := 5
	if n, err := strconv.Atoi(os.Getenv("BENCH_DEAD_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	e := newTestEnv(b, drbdsim.PairConfig{})
	e.pair.BringUp()
	live := newCLIHarness(b)
	live.writeFile("main.tf", e.providerBlock("known_hosts = <<-EOT\n"+strings.TrimSpace(e.knownHosts())+"\nEOT")+
		block(`data "drbd_status" "live"`, e.hostArgs(0), `resource = "pc0"`))
	live.init()
	ports := map[string]int{"refused": closedPort(b), "silent": mutePort(b), "dropped": droppedPort}
	variants := []string{"live", "refused", "silent", "dropped"}
	harness := map[string]*cliHarness{"live": live}
	for _, v := range variants[1:] {
		harness[v] = deadHostHarness(b, ports[v])
	}
	// The provider's part, in-process: a fresh pool configured as the provider configures it
	// by default, one read (a single attempt) per measurement.
	readOnce := func(t sshx.Target) error {
		pool, err := sshx.NewPool(sshx.Config{PrivateKey: e.keyPEM, KnownHosts: e.knownHosts(), ConnectRetries: defaultConnectRetries})
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		_, err = pool.Exec(sshx.SingleAttempt(b.Context()), t, sshx.Command{Cmd: "true"})
		return err
	}
	plan := map[string][]float64{}
	dial := map[string][]float64{}
	for r := range rounds {
		for i := range variants {
			v := variants[(i+r)%len(variants)]
			h := harness[v]
			start := time.Now()
			if v == "live" {
				h.mustRun("plan", "-input=false")
			} else {
				planDeadHost(b, h, ports[v])
			}
			plan[v] = append(plan[v], ms(time.Since(start)))

			target := sshx.Target{Host: "127.0.0.1", Port: ports[v]}
			if v == "live" {
				target = sshx.Target{Host: e.hosts[0].Host(), Port: e.hosts[0].Port()}
			}
			start = time.Now()
			err := readOnce(target)
			dial[v] = append(dial[v], ms(time.Since(start)))
			if (err == nil) != (v == "live") {
				b.Fatalf("%s: one read against it: %v", v, err)
			}
		}
	}
	report := func(what string, m map[string][]float64) {
		for _, v := range variants {
			med, lo, hi := summarize(m[v])
			rmed, rlo, rhi := summarize(ratios(m[v], m["live"]))
			fmt.Printf("dead_host_%s_%s median %.1f ms (%.1f-%.1f), ratio to live %.2f (%.2f-%.2f), %d rounds\n",
				what, v, med, lo, hi, rmed, rlo, rhi, rounds)
		}
	}
	report("plan", plan)
	report("first_attempt_to_error", dial)
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// summarize returns the median, minimum and maximum of xs.
func summarize(xs []float64) (med, lo, hi float64) {
	s := slices.Sorted(slices.Values(xs))
	if len(s) == 0 {
		return 0, 0, 0
	}
	if len(s)%2 == 1 {
		med = s[len(s)/2]
	} else {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return med, s[0], s[len(s)-1]
}

// ratios returns xs[i]/base[i], round by round.
func ratios(xs, base []float64) []float64 {
	r := make([]float64, len(xs))
	for i := range xs {
		r[i] = xs[i] / max(base[i], 0.001)
	}
	return r
}
