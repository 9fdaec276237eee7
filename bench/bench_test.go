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
// throwaway client key, and an ssh_config naming it "bench".
type sshdEnv struct {
	port                     int
	key, knownHosts, sshConf string
	dir                      string
}

func needSSHD(b *testing.B) sshdEnv {
	b.Helper()
	dir := os.Getenv("BENCH_SSH_DIR")
	port, _ := strconv.Atoi(os.Getenv("BENCH_SSHD_PORT"))
	if dir == "" || port == 0 {
		b.Skip("BENCH_SSH_DIR and BENCH_SSHD_PORT are set by bench/run.sh, which starts a local sshd")
	}
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		return string(data)
	}
	return sshdEnv{port: port, key: read("id_ed25519"), knownHosts: read("known_hosts"), sshConf: filepath.Join(dir, "ssh_config"), dir: dir}
}

func (e sshdEnv) poolConfig() sshx.Config {
	return sshx.Config{User: "root", PrivateKey: e.key, KnownHosts: e.knownHosts, ConnectTimeout: 10 * time.Second}
}

func (e sshdEnv) target() sshx.Target { return sshx.Target{Host: "127.0.0.1", Port: e.port} }

func (e sshdEnv) ssh(b *testing.B, args ...string) {
	b.Helper()
	out, err := exec.Command("ssh", append([]string{"-F", e.sshConf}, args...)...).CombinedOutput()
	if err != nil {
		b.Fatalf("ssh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// BenchmarkSSHCommand is the cost of one remote command (`true`) against the same local
// OpenSSH sshd: over the provider's pooled connection, over a fresh sshx connection per
// command, with OpenSSH's ControlMaster (one ssh process per command over a master
// connection), and with a plain ssh per command.
func BenchmarkSSHCommand(b *testing.B) {
	e := needSSHD(b)
	ctx := context.Background()
	b.Run("pool", func(b *testing.B) {
		p, err := sshx.NewPool(e.poolConfig())
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		if _, _, _, err := p.Run(ctx, e.target(), "true"); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, _, code, err := p.Run(ctx, e.target(), "true"); err != nil || code != 0 {
				b.Fatalf("exit %d: %v", code, err)
			}
		}
	})
	b.Run("fresh", func(b *testing.B) {
		for b.Loop() {
			p, err := sshx.NewPool(e.poolConfig())
			if err != nil {
				b.Fatal(err)
			}
			if _, _, code, err := p.Run(ctx, e.target(), "true"); err != nil || code != 0 {
				b.Fatalf("exit %d: %v", code, err)
			}
			_ = p.Close()
		}
	})
	b.Run("openssh-controlmaster", func(b *testing.B) {
		cm := []string{"-o", "ControlMaster=auto", "-o", "ControlPath=" + filepath.Join(e.dir, "cm-%C"), "-o", "ControlPersist=120"}
		e.ssh(b, append(cm, "bench", "true")...) // the master connection
		defer e.ssh(b, append(cm, "-O", "exit", "bench")...)
		for b.Loop() {
			e.ssh(b, append(cm, "bench", "true")...)
		}
	})
	b.Run("openssh-fresh", func(b *testing.B) {
		for b.Loop() {
			e.ssh(b, "-o", "ControlMaster=no", "-o", "ControlPath=none", "bench", "true")
		}
	})
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
// calls GetProviderSchema and returns the elapsed time, the response size and the process's
// peak RSS.
func startToSchema(b *testing.B, bin string) (time.Duration, int, int64) {
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
	err = conn.Invoke(context.Background(), "/tfplugin6.Provider/GetProviderSchema", &req, &resp, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	rss, err := peakRSSKiB(c.ReattachConfig().Pid)
	if err != nil {
		b.Fatal(err)
	}
	return elapsed, len(resp), rss
}

// BenchmarkProviderStart is the provider binary's start-to-schema time and peak RSS, and the
// same for a framework provider without resources (the baseline).
func BenchmarkProviderStart(b *testing.B) {
	bins := map[string]string{"drbd": os.Getenv("BENCH_PROVIDER_BIN"), "empty": os.Getenv("BENCH_EMPTY_PROVIDER_BIN")}
	for _, name := range []string{"drbd", "empty"} {
		b.Run(name, func(b *testing.B) {
			bin := bins[name]
			if bin == "" {
				b.Skip("BENCH_PROVIDER_BIN and BENCH_EMPTY_PROVIDER_BIN are set by bench/run.sh")
			}
			var total time.Duration
			var rssMax int64
			var size int
			for b.Loop() {
				d, n, rss := startToSchema(b, bin)
				total += d
				size = n
				rssMax = max(rssMax, rss)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "start-to-schema-ms")
			b.ReportMetric(float64(rssMax), "peak-rss-KiB")
			b.ReportMetric(float64(size), "schema-bytes")
		})
	}
}
