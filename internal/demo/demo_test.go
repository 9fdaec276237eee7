package demo

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

func start(t *testing.T, cfg Config) *Backends {
	t.Helper()
	b, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// sh runs a command on node i as an operator at the console would, and fails on a non-zero exit.
func sh(t *testing.T, b *Backends, i int, cmd string) {
	t.Helper()
	var out, errb strings.Builder
	if code := b.Pair().Node(i).Handle(context.Background(), cmd, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("%q on node%d exited %d: %s%s", cmd, i+1, code, out.String(), errb.String())
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Config
		want Config
	}{
		{"zero", Config{}, Config{SyncDuration: DefaultSyncDuration, Tick: DefaultTick}},
		{"kept", Config{Version: drbdsim.V9, SyncDuration: time.Minute, Tick: time.Second},
			Config{Version: drbdsim.V9, SyncDuration: time.Minute, Tick: time.Second}},
		{"tick capped at the duration", Config{SyncDuration: 100 * time.Millisecond, Tick: time.Second},
			Config{SyncDuration: 100 * time.Millisecond, Tick: 100 * time.Millisecond}},
		{"negative", Config{SyncDuration: -1, Tick: -1}, Config{SyncDuration: DefaultSyncDuration, Tick: DefaultTick}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.in
			got.setDefaults()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("setDefaults (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteFiles(t *testing.T) {
	t.Parallel()
	b := start(t, Config{})
	dir := filepath.Join(t.TempDir(), "env")
	if err := b.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{TFVarsFile, EnvFile, PrivateKeyFile, KnownHostsFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, TFVarsFile))
	if err != nil {
		t.Fatal(err)
	}
	var got Vars
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := Vars{
		PrimaryHost: "127.0.0.1", PrimaryPort: b.Host(0).Port(),
		SecondaryHost: "127.0.0.1", SecondaryPort: b.Host(1).Port(),
		PrivateKey: b.PrivateKey(), KnownHosts: b.KnownHosts(),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tfvars (-want +got):\n%s", diff)
	}
	if got.PrimaryPort == got.SecondaryPort {
		t.Errorf("both backends on port %d", got.PrimaryPort)
	}
	env, err := os.ReadFile(filepath.Join(dir, EnvFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"PRIMARY_HOST=127.0.0.1",
		"PRIMARY_PORT=" + strconv.Itoa(b.Host(0).Port()),
		"SECONDARY_PORT=" + strconv.Itoa(b.Host(1).Port()),
		"PRIVATE_KEY_FILE=" + filepath.Join(dir, PrivateKeyFile),
	} {
		if !strings.Contains(string(env), line+"\n") {
			t.Errorf("%s lacks %q:\n%s", EnvFile, line, env)
		}
	}
	leftovers, err := filepath.Glob(filepath.Join(dir, ".*"))
	if err != nil || len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v %v", leftovers, err)
	}
}

// TestBackendsServeSSH checks that the written key and known_hosts reach both simulated nodes
// through real SSH with strict host-key checking.
func TestBackendsServeSSH(t *testing.T) {
	t.Parallel()
	b := start(t, Config{})
	dir := t.TempDir()
	if err := b.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, PrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	hostKeys, err := knownhosts.New(filepath.Join(dir, KnownHostsFile))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		addr := b.Host(i).Addr()
		if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
			t.Fatalf("backend %d listens on %s, want loopback", i+1, addr)
		}
		c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
			User:            "root",
			Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
			HostKeyCallback: hostKeys,
			Timeout:         10 * time.Second,
		})
		if err != nil {
			t.Fatalf("dial backend %d: %v", i+1, err)
		}
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Output("cat /proc/drbd")
		_ = c.Close()
		if err != nil {
			t.Fatalf("cat /proc/drbd on backend %d: %v", i+1, err)
		}
		if !strings.HasPrefix(string(out), "version: 8.4.11") {
			t.Errorf("backend %d /proc/drbd = %q", i+1, out)
		}
	}
}

// TestSyncAdvancesWithTime checks that a started resync finishes on its own through the clock.
func TestSyncAdvancesWithTime(t *testing.T) {
	t.Parallel()
	b := start(t, Config{SyncDuration: 200 * time.Millisecond, Tick: 5 * time.Millisecond})
	b.Pair().BringUp()
	sh(t, b, 0, "drbdadm primary --force pc0")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if running, _ := b.Pair().Syncing(); !running {
			break
		}
		if time.Now().After(deadline) {
			_, pct := b.Pair().Syncing()
			t.Fatalf("resync still running after 10s at %.1f%%", pct)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := b.Pair().Node(1).DiskState(); got != "UpToDate" {
		t.Errorf("secondary disk %q after the resync, want UpToDate", got)
	}
}

// TestStatusReadsDoNotAdvance checks that polling the status (as the provider does) does not
// move the resync: only the clock does, so the demo's progress is visible.
func TestStatusReadsDoNotAdvance(t *testing.T) {
	t.Parallel()
	b := start(t, Config{SyncDuration: time.Hour})
	b.Pair().BringUp()
	sh(t, b, 0, "drbdadm primary --force pc0")
	for range 20 {
		sh(t, b, 0, "cat /proc/drbd")
		sh(t, b, 1, "drbdadm dstate pc0")
	}
	running, pct := b.Pair().Syncing()
	if !running || pct > 1 {
		t.Errorf("Syncing() = %v, %.2f%% after 40 status reads; want running below 1%%", running, pct)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	b := start(t, Config{})
	down := b.Status()
	for _, want := range []string{"node1 (primary backend, ssh " + b.Host(0).Addr() + ")", "resource pc0 down", "| version: 8.4.11"} {
		if !strings.Contains(down, want) {
			t.Errorf("Status() before bring-up lacks %q:\n%s", want, down)
		}
	}
	b.Pair().BringUp()
	up := b.Status()
	for _, want := range []string{"role Secondary/Secondary  cs:Connected  ds:Inconsistent/Inconsistent", "|  0: cs:Connected ro:Secondary/Secondary"} {
		if !strings.Contains(up, want) {
			t.Errorf("Status() after bring-up lacks %q:\n%s", want, up)
		}
	}
	path := filepath.Join(t.TempDir(), "status.txt")
	if err := b.WriteStatus(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(up, string(got)); diff != "" {
		t.Errorf("WriteStatus (-want +got):\n%s", diff)
	}
}

func TestCloseIdempotent(t *testing.T) {
	t.Parallel()
	b, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Host(0).Addr()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		_ = c.Close()
		t.Errorf("%s still accepts connections after Close", addr)
	}
}
