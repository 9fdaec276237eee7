package sshx_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

// serveAgent runs an in-process ssh-agent holding signer on a unix socket.
func serveAgent(t *testing.T, key any) string {
	t.Helper()
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	// Unix socket paths are limited to ~100 bytes; t.TempDir() can be longer.
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	if len(sock) > 100 {
		t.Skipf("temp dir path too long for a unix socket: %s", sock)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(keyring, c)
			}()
		}
	}()
	return sock
}

func TestPool_auth(t *testing.T) {
	t.Parallel()
	ca, _, err := testhost.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	plain, plainPEM, err := testhost.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	enc, encPEM, err := testhost.NewEncryptedSigner("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	certKey, certKeyPEM, err := testhost.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	certLine, err := testhost.SignUserCert(ca, certKey.PublicKey(), []string{"root"})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		cfg     sshx.Config
		wantErr string // "" = the command runs
	}{
		{name: "private key", cfg: sshx.Config{PrivateKey: plainPEM}},
		{name: "encrypted key with passphrase", cfg: sshx.Config{PrivateKey: encPEM, PrivateKeyPassphrase: "s3cret"}},
		{name: "certificate", cfg: sshx.Config{PrivateKey: certKeyPEM, Certificate: certLine}},
		{name: "password", cfg: sshx.Config{Password: "hunter2"}},
		{name: "agent", cfg: sshx.Config{Agent: true}},
		{name: "key then password fallback", cfg: sshx.Config{PrivateKey: newKey(t).pem, Password: "hunter2"}},
		{name: "wrong password", cfg: sshx.Config{Password: "nope", ConnectRetries: 3}, wantErr: "authentication failed"},
		{name: "unauthorized key", cfg: sshx.Config{PrivateKey: newKey(t).pem, ConnectRetries: 3}, wantErr: "authentication failed"},
		{name: "certificate for another user", cfg: sshx.Config{User: "alice", PrivateKey: certKeyPEM, Certificate: certLine}, wantErr: "authentication failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			agentSigner, agentKey := mustEd25519(t)
			h := testhost.New(t, testhost.Config{
				AuthorizedKeys:    []ssh.PublicKey{plain.PublicKey(), enc.PublicKey(), agentSigner.PublicKey()},
				TrustedUserCAKeys: []ssh.PublicKey{ca.PublicKey()},
				Passwords:         map[string]string{"root": "hunter2"},
				Handler:           shellHandler,
			})
			cfg := tt.cfg
			cfg.KnownHosts = h.KnownHostsLine()
			if cfg.Agent {
				cfg.AgentSocket = serveAgent(t, agentKey)
			}
			p := newPool(t, cfg)
			tgt := sshx.Target{Host: h.Host(), Port: h.Port()}
			out, _, code, err := runCmd(testCtx(t), p, tgt, "whoami")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				wantTarget := cfg.User
				if wantTarget == "" {
					wantTarget = "root"
				}
				if !strings.Contains(err.Error(), wantTarget+"@"+h.Addr()) {
					t.Errorf("error %q does not name the target", err)
				}
				if got := p.Stats().Handshakes; got != 0 {
					t.Errorf("handshakes = %d, want 0", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff(struct {
				Out  string
				Code int
			}{"root\n", 0}, struct {
				Out  string
				Code int
			}{out, code}); diff != "" {
				t.Errorf("whoami (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPool_authNotRetried proves that a refused login is not retried however many retries
// are allowed.
func TestPool_authNotRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	f.host.SetRefuseAuth(true)
	logs := newLogRecorder()
	cfg := f.cfg
	cfg.ConnectRetries = 5
	cfg.Logf = logs.Logf
	p := newPool(t, cfg)
	_, _, _, err := runCmd(testCtx(t), p, f.target(), "echo hi")
	if err == nil || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("err = %v, want an authentication failure", err)
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	for _, l := range logs.lines {
		if strings.Contains(l, "retrying") {
			t.Errorf("an authentication failure was retried: %s", l)
		}
	}
}

func TestNewPool_validation(t *testing.T) {
	t.Parallel()
	_, encPEM, err := testhost.NewEncryptedSigner("right")
	if err != nil {
		t.Fatal(err)
	}
	k := newKey(t)
	other := newKey(t)
	ca := newKey(t)
	certForOther, err := testhost.SignUserCert(ca.signer, other.signer.PublicKey(), []string{"root"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     sshx.Config
		wantErr string
	}{
		{"wrong passphrase", sshx.Config{PrivateKey: encPEM, PrivateKeyPassphrase: "wrong"}, "passphrase is wrong"},
		{"encrypted without passphrase", sshx.Config{PrivateKey: encPEM}, "is encrypted"},
		{"garbage key", sshx.Config{PrivateKey: "not a key"}, "cannot parse"},
		{"certificate without key", sshx.Config{Certificate: certForOther}, "needs the private key"},
		{"certificate for another key", sshx.Config{PrivateKey: k.pem, Certificate: certForOther}, "not issued for the configured private key"},
		{"certificate not a certificate", sshx.Config{PrivateKey: k.pem, Certificate: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.signer.PublicKey())))}, "not an OpenSSH certificate"},
		{"bad known_hosts content", sshx.Config{PrivateKey: k.pem, KnownHosts: "[127.0.0.1]:22 ssh-ed25519 !!!"}, "known_hosts line 1"},
		{"missing known_hosts file", sshx.Config{PrivateKey: k.pem, KnownHostsFile: "/nonexistent/known_hosts"}, "known_hosts_file"},
		{"bad policy", sshx.Config{PrivateKey: k.pem, HostKeyPolicy: "yolo"}, "host key policy"},
		{"no auth", sshx.Config{}, "no SSH authentication configured"},
		{"bad bastion key", sshx.Config{PrivateKey: k.pem, Bastion: &sshx.Bastion{Host: "127.0.0.1", PrivateKey: "junk"}}, "bastion"},
		{"bad bastion host key", sshx.Config{PrivateKey: k.pem, Bastion: &sshx.Bastion{Host: "127.0.0.1", HostKey: "ssh-ed25519 !!!"}}, "host key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := sshx.NewPool(tt.cfg)
			if err == nil {
				_ = p.Close()
				t.Fatalf("NewPool succeeded, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestNewPool_agentWithoutSocket is not parallel: it changes the environment.
func TestNewPool_agentWithoutSocket(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	_, err := sshx.NewPool(sshx.Config{Agent: true})
	if err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
		t.Fatalf("err = %v, want it to mention SSH_AUTH_SOCK", err)
	}
}

func mustEd25519(t testing.TB) (ssh.Signer, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv
}
