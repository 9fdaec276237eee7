package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// sshdEnv is what bench/run.sh prepares for the SSH benchmarks: an sshd on 127.0.0.1 with a
// throwaway client key for the bench user (login shell /bin/sh, empty home: no rc file runs
// per command), and an ssh_config naming it "bench".
type sshdEnv struct {
	port                     int
	user                     string
	key, knownHosts, sshConf string
	dir                      string
}

func needSSHD(b *testing.B) sshdEnv {
	b.Helper()
	dir := os.Getenv("BENCH_SSH_DIR")
	port, _ := strconv.Atoi(os.Getenv("BENCH_SSHD_PORT"))
	user := os.Getenv("BENCH_SSH_USER")
	if dir == "" || port == 0 || user == "" {
		b.Skip("BENCH_SSH_DIR, BENCH_SSHD_PORT and BENCH_SSH_USER are set by bench/run.sh, which starts a local sshd")
	}
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		return string(data)
	}
	return sshdEnv{port: port, user: user, key: read("id_ed25519"), knownHosts: read("known_hosts"), sshConf: filepath.Join(dir, "ssh_config"), dir: dir}
}

func (e sshdEnv) poolConfig() sshx.Config {
	return sshx.Config{User: e.user, PrivateKey: e.key, KnownHosts: e.knownHosts, ConnectTimeout: 10 * time.Second}
}

func (e sshdEnv) target() sshx.Target { return sshx.Target{Host: "127.0.0.1", Port: e.port} }

func (e sshdEnv) ssh(b *testing.B, args ...string) {
	b.Helper()
	out, err := exec.Command("ssh", append([]string{"-F", e.sshConf}, args...)...).CombinedOutput()
	if err != nil {
		b.Fatalf("ssh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// variant is one way of doing the thing a benchmark measures, run once per round.
type variant struct {
	name string
	run  func()
}

// interleave runs every variant once per round, for as many rounds as b.Loop allows
// (-benchtime Nx: N rounds), the order rotated by one each round so that no variant always
// runs first or after the same neighbour. It returns each variant's duration per round in
// milliseconds, divided by per (the operations one run does).
func interleave(b *testing.B, per int, variants []variant) map[string]series {
	b.Helper()
	ms := map[string]series{}
	round := 0
	for b.Loop() {
		for k := range variants {
			v := variants[(round+k)%len(variants)]
			start := time.Now()
			v.run()
			ms[v.name] = append(ms[v.name], float64(time.Since(start))/float64(time.Millisecond)/float64(per))
		}
		round++
	}
	return ms
}

// BenchmarkSSHCommand is the cost of one remote command (`true`) against the same local
// OpenSSH sshd: over the provider's pooled connection, over a fresh sshx connection per
// command, with OpenSSH's ControlMaster (one ssh process per command over a master
// connection), and with a plain ssh per command. One round (-benchtime Nx: N rounds) runs
// BENCH_SSH_PER_ROUND commands (default 5) with each variant in turn; every figure is
// recorded per round, with its ratio to the pool in the same round.
func BenchmarkSSHCommand(b *testing.B) {
	e := needSSHD(b)
	ctx := b.Context()
	per := envInt("BENCH_SSH_PER_ROUND", 5)
	run := func(p *sshx.Pool) {
		if r, err := p.Exec(ctx, e.target(), sshx.Command{Cmd: "true"}); err != nil || r.ExitCode != 0 {
			b.Fatalf("exit %d: %v", r.ExitCode, err)
		}
	}
	pool, err := sshx.NewPool(e.poolConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	run(pool) // the pooled connection
	cm := []string{"-o", "ControlMaster=auto", "-o", "ControlPath=" + filepath.Join(e.dir, "cm-%C"), "-o", "ControlPersist=300"}
	e.ssh(b, append(cm, "bench", "true")...) // the master connection
	defer e.ssh(b, append(cm, "-O", "exit", "bench")...)

	ms := interleave(b, per, []variant{
		{"pool", func() {
			for range per {
				run(pool)
			}
		}},
		{"fresh", func() {
			for range per {
				p, err := sshx.NewPool(e.poolConfig())
				if err != nil {
					b.Fatal(err)
				}
				run(p)
				_ = p.Close()
			}
		}},
		{"openssh-controlmaster", func() {
			for range per {
				e.ssh(b, append(cm, "bench", "true")...)
			}
		}},
		{"openssh-fresh", func() {
			for range per {
				e.ssh(b, "-o", "ControlMaster=no", "-o", "ControlPath=none", "bench", "true")
			}
		}},
	})
	for _, name := range []string{"pool", "fresh", "openssh-controlmaster", "openssh-fresh"} {
		record(b, "ssh."+name+".ms", ms[name])
		record(b, "ssh."+name+".ratio", ms[name].over(ms["pool"]))
	}
}

// rawPlugin hands out the plugin's gRPC connection, so the benchmark can call the protocol
// without the (internal) tfplugin6 client.
type rawPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (rawPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }

func (rawPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return c, nil
}

// rawCodec passes protocol buffers through as bytes: an empty message is a valid
// GetProviderSchema request, and the response is only measured.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return *b, nil
}
func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*b = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// peakRSSKiB returns VmHWM of a process.
func peakRSSKiB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", pid)
}

// startToSchema launches a provider binary as Terraform does (go-plugin handshake, gRPC),
// calls GetProviderSchema and returns the elapsed time and the process's peak RSS.
func startToSchema(b *testing.B, bin string) (time.Duration, int64) {
	b.Helper()
	start := time.Now()
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion: 6, MagicCookieKey: "TF_PLUGIN_MAGIC_COOKIE",
			MagicCookieValue: "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
		},
		VersionedPlugins: map[int]plugin.PluginSet{6: {"provider": rawPlugin{}}},
		Cmd:              exec.Command(bin),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.NewNullLogger(),
		SyncStdout:       io.Discard,
		SyncStderr:       io.Discard,
	})
	defer c.Kill()
	rpc, err := c.Client()
	if err != nil {
		b.Fatal(err)
	}
	raw, err := rpc.Dispense("provider")
	if err != nil {
		b.Fatal(err)
	}
	req, resp := []byte{}, []byte(nil)
	conn, ok := raw.(*grpc.ClientConn)
	if !ok {
		b.Fatalf("dispensed %T, want *grpc.ClientConn", raw)
	}
	err = conn.Invoke(b.Context(), "/tfplugin6.Provider/GetProviderSchema", &req, &resp, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	rss, err := peakRSSKiB(c.ReattachConfig().Pid)
	if err != nil {
		b.Fatal(err)
	}
	if len(resp) == 0 {
		b.Fatal("empty GetProviderSchema response")
	}
	return elapsed, rss
}

// BenchmarkProviderStart is the provider binary's start-to-schema time and peak RSS against
// the same for a framework provider without resources (the baseline), the two interleaved:
// one of each per round (-benchtime Nx: N rounds).
func BenchmarkProviderStart(b *testing.B) {
	bins := map[string]string{"drbd": os.Getenv("BENCH_PROVIDER_BIN"), "empty": os.Getenv("BENCH_EMPTY_PROVIDER_BIN")}
	if bins["drbd"] == "" || bins["empty"] == "" {
		b.Skip("BENCH_PROVIDER_BIN and BENCH_EMPTY_PROVIDER_BIN are set by bench/run.sh")
	}
	ms, rss := map[string]series{}, map[string]series{}
	var variants []variant
	for _, name := range []string{"drbd", "empty"} {
		variants = append(variants, variant{name, func() {
			// startToSchema's clock stops at the schema, before the process is killed.
			d, kib := startToSchema(b, bins[name])
			ms[name] = append(ms[name], float64(d)/float64(time.Millisecond))
			rss[name] = append(rss[name], float64(kib))
		}})
	}
	interleave(b, 1, variants)
	record(b, "start.drbd.ms", ms["drbd"])
	record(b, "start.empty.ms", ms["empty"])
	record(b, "start.ratio", ms["drbd"].over(ms["empty"]))
	record(b, "rss.drbd.kib", rss["drbd"])
	record(b, "rss.empty.kib", rss["empty"])
	record(b, "rss.ratio", rss["drbd"].over(rss["empty"]))
}
