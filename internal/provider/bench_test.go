package provider

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

// benchResult records one figure for bench/run.sh when DRBD_BENCH_OUT names a file.
func benchResult(t testing.TB, key string, value float64) {
	t.Helper()
	path := os.Getenv("DRBD_BENCH_OUT")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s %g\n", key, value); err != nil {
		t.Fatal(err)
	}
}

// TestAccBench_applyConnections applies examples/chef-ha-failover with one `terraform apply`
// and counts SSH handshakes and sessions per host: the pool must open exactly one connection
// per host for the whole apply. It is part of `make test` (a few seconds); bench/run.sh also
// records the figures.
func TestAccBench_applyConnections(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	h := newCLIHarness(t)
	h.copyDir(exampleDir)
	h.env = append(h.env, e.exampleEnv()...)
	h.init()
	h.mustRun("apply", "-auto-approve", "-input=false")
	if err := e.checkRunbookDone()(nil); err != nil {
		t.Fatalf("the apply did not finish the runbook: %v", err)
	}
	for i := range e.hosts {
		hs, ss, cmds := e.hosts[i].Handshakes(), e.hosts[i].Sessions(), len(e.hosts[i].Commands())
		t.Logf("host%d: %d handshakes, %d sessions, %d commands for one apply", i+1, hs, ss, cmds)
		benchResult(t, fmt.Sprintf("apply_handshakes_host%d", i+1), float64(hs))
		benchResult(t, fmt.Sprintf("apply_sessions_host%d", i+1), float64(ss))
		if hs != 1 {
			t.Errorf("host%d: %d SSH handshakes for one terraform apply, want 1", i+1, hs)
		}
		if ss != int64(cmds) {
			t.Errorf("host%d: %d sessions for %d commands, want one session per command", i+1, ss, cmds)
		}
	}
}

// objectsPerPair is the number of resources and data sources testdata/BenchmarkRefresh/drbd
// declares per pair.
const objectsPerPair = 9

// benchPairs is the number of two-node pairs of the refresh benchmark.
const benchPairs = 50

func benchGate(b *testing.B) {
	b.Helper()
	if os.Getenv("DRBD_BENCH") == "" || os.Getenv("TF_ACC") == "" {
		b.Skip("set DRBD_BENCH=1 and TF_ACC=1 (bench/run.sh does)")
	}
}

// BenchmarkRefresh times `terraform plan` (a full refresh) of 50 two-node pairs with every
// resource type against fake hosts ("drbd"), and of the same number of terraform_data
// resources ("terraform_data") as the baseline of Terraform's own cost.
func BenchmarkRefresh(b *testing.B) {
	benchGate(b)
	n := benchPairs * objectsPerPair
	b.Run("drbd", func(b *testing.B) {
		h := newCLIHarness(b)
		h.copyDir(testdataDir(b))
		signer, keyPEM, err := testhost.NewSigner()
		if err != nil {
			b.Fatal(err)
		}
		var pairs, known []string
		for i := range benchPairs {
			e := newEnvWith(b, drbdsim.PairConfig{}, envOptions{signer: signer, keyPEM: keyPEM})
			// Runbook state reached out of band, so the setup apply only records it.
			e.promote()
			e.pair.CompleteSync()
			e.sh(0, "mkfs.ext4 -q /dev/drbd0", "mkdir -p "+defaultMountpoint,
				"mount -t ext4 /dev/drbd0 "+defaultMountpoint, "touch "+defaultReadyFile)
			e.sh(1, "touch "+defaultReadyFile)
			pairs = append(pairs, fmt.Sprintf("p%02d = { p = %d, s = %d }", i, e.hosts[0].Port(), e.hosts[1].Port()))
			known = append(known, e.knownHosts())
		}
		h.writeFile("terraform.tfvars", "pairs = {\n  "+strings.Join(pairs, "\n  ")+"\n}\n")
		h.env = append(h.env, "TF_VAR_private_key="+keyPEM, "TF_VAR_known_hosts="+strings.Join(known, ""))
		h.init()
		h.mustRun("apply", "-auto-approve", "-input=false", "-parallelism=10")
		out := h.mustRun("plan", "-input=false", "-detailed-exitcode")
		if !strings.Contains(out, "No changes") {
			b.Fatalf("plan after apply is not empty:\n%s", out)
		}
		b.ResetTimer()
		for b.Loop() {
			h.mustRun("plan", "-input=false", "-parallelism=10")
		}
		b.ReportMetric(float64(n), "objects")
	})
	b.Run("terraform_data", func(b *testing.B) {
		h := newCLIHarness(b)
		h.copyDir(testdataDir(b))
		h.env = append(h.env, fmt.Sprintf("TF_VAR_objects=%d", n))
		h.init()
		h.mustRun("apply", "-auto-approve", "-input=false", "-parallelism=10")
		b.ResetTimer()
		for b.Loop() {
			h.mustRun("plan", "-input=false", "-parallelism=10")
		}
		b.ReportMetric(float64(n), "objects")
	})
}

// BenchmarkSyncReturn measures the delay between the simulated kernel reaching
// UpToDate/UpToDate and drbd_sync's Create returning, with poll_interval = 500ms; the sync
// completes at a random phase of the poll cycle. Reported as ms and as a fraction of the
// poll interval.
func BenchmarkSyncReturn(b *testing.B) {
	benchGate(b)
	const poll = 500 * time.Millisecond
	var delays []time.Duration
	for b.Loop() {
		b.StopTimer()
		e := newTestEnv(b, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
		h := newCLIHarness(b)
		h.writeFile("main.tf", e.providerConfig()+
			block(`resource "drbd_sync" "test"`, e.hostArgs(0), `resource      = "pc0"`, fmt.Sprintf("poll_interval = %q", poll)))
		h.init()
		var completedAt atomic.Int64
		returned := make(chan time.Time, 1)
		h.onApplied(func(string) { returned <- time.Now() })
		done := make(chan error, 1)
		go func() { _, err := h.run("apply", "-auto-approve", "-input=false"); done <- err }()
		waitUntil(b, "drbd_sync to poll", time.Minute, func() bool { return e.probes(0) >= 2 })
		// A random phase of the poll cycle.
		time.Sleep(time.Duration(rand.Int64N(int64(poll))))
		e.pair.CompleteSync()
		completedAt.Store(time.Now().UnixNano())
		var at time.Time
		select {
		case at = <-returned:
		case <-time.After(time.Minute):
			b.Fatal("drbd_sync did not return")
		}
		if err := <-done; err != nil {
			b.Fatalf("apply: %v", err)
		}
		delays = append(delays, at.Sub(time.Unix(0, completedAt.Load())))
		b.StartTimer()
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	var sum time.Duration
	for _, d := range delays {
		sum += d
	}
	mean := sum / time.Duration(len(delays))
	maxD := delays[len(delays)-1]
	b.ReportMetric(float64(mean)/float64(time.Millisecond), "mean-ms")
	b.ReportMetric(float64(maxD)/float64(time.Millisecond), "max-ms")
	b.ReportMetric(float64(mean)/float64(poll), "mean/poll")
	b.ReportMetric(float64(maxD)/float64(poll), "max/poll")
}

// BenchmarkVerifyReturn measures the delay between the simulated kernel finishing an online
// verify and drbd_verify's Create returning, with poll_interval = 500ms; the verify finishes
// at a random phase of the poll cycle. Reported as ms and as a fraction of the poll interval:
// below 1 means the wait adds at most one poll to the verify itself.
func BenchmarkVerifyReturn(b *testing.B) {
	benchGate(b)
	const poll = 500 * time.Millisecond
	var delays []time.Duration
	for b.Loop() {
		b.StopTimer()
		e := newTestEnv(b, drbdsim.PairConfig{SyncStepPercent: -1, VerifyAlg: "sha256"}).promote()
		e.pair.CompleteSync()
		h := newCLIHarness(b)
		h.writeFile("main.tf", e.providerConfig()+
			block(`resource "drbd_verify" "test"`, e.hostArgs(0), `resource      = "pc0"`, fmt.Sprintf("poll_interval = %q", poll)))
		h.init()
		var completedAt atomic.Int64
		returned := make(chan time.Time, 1)
		h.onApplied(func(string) { returned <- time.Now() })
		done := make(chan error, 1)
		go func() { _, err := h.run("apply", "-auto-approve", "-input=false"); done <- err }()
		waitUntil(b, "the online verify to start", time.Minute, func() bool { running, _ := e.pair.Verifying(); return running })
		// A random phase of the poll cycle.
		time.Sleep(time.Duration(rand.Int64N(int64(poll))))
		e.pair.CompleteVerify()
		completedAt.Store(time.Now().UnixNano())
		var at time.Time
		select {
		case at = <-returned:
		case <-time.After(time.Minute):
			b.Fatal("drbd_verify did not return")
		}
		if err := <-done; err != nil {
			b.Fatalf("apply: %v", err)
		}
		delays = append(delays, at.Sub(time.Unix(0, completedAt.Load())))
		b.StartTimer()
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	var sum time.Duration
	for _, d := range delays {
		sum += d
	}
	mean := sum / time.Duration(len(delays))
	maxD := delays[len(delays)-1]
	b.ReportMetric(float64(mean)/float64(time.Millisecond), "mean-ms")
	b.ReportMetric(float64(maxD)/float64(time.Millisecond), "max-ms")
	b.ReportMetric(float64(mean)/float64(poll), "mean/poll")
	b.ReportMetric(float64(maxD)/float64(poll), "max/poll")
}
