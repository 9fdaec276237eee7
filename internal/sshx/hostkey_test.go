package sshx_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

func TestPool_hostKeyPolicies(t *testing.T) {
	t.Parallel()
	otherKey := newKey(t).signer.PublicKey()
	otherFP := sshx.Fingerprint(otherKey)
	otherLine := strings.TrimSpace(string(marshalKey(otherKey)))

	type want struct {
		ok       bool
		mismatch bool
		contains []string // in the error message; "$FP" = host fingerprint, "$LINE" = host key line
	}
	tests := []struct {
		name   string
		setup  func(f *fixture, dir string) (sshx.Config, sshx.Target)
		want   want
		policy string
	}{
		{
			name: "strict unknown host",
			setup: func(f *fixture, _ string) (sshx.Config, sshx.Target) {
				c := f.cfg
				c.KnownHosts = ""
				return c, f.target()
			},
			want: want{contains: []string{"unknown ssh-ed25519 key $FP", "$LINE", "known_hosts", `host_key = "$LINE"`, `host_key_policy = "accept-new"`, "root@127.0.0.1:"}},
		},
		{
			name: "strict known via known_hosts content",
			setup: func(f *fixture, _ string) (sshx.Config, sshx.Target) {
				return f.cfg, f.target()
			},
			want: want{ok: true},
		},
		{
			name: "strict known via known_hosts file",
			setup: func(f *fixture, dir string) (sshx.Config, sshx.Target) {
				path := filepath.Join(dir, "known_hosts")
				if err := os.WriteFile(path, []byte("# comment\n"+f.host.KnownHostsLine()+"\n"), 0o600); err != nil {
					panic(err)
				}
				c := f.cfg
				c.KnownHosts = ""
				c.KnownHostsFile = path
				return c, f.target()
			},
			want: want{ok: true},
		},
		{
			name: "strict known via pinned authorized_keys line",
			setup: func(f *fixture, _ string) (sshx.Config, sshx.Target) {
				c := f.cfg
				c.KnownHosts = ""
				tg := f.target()
				tg.HostKey = f.host.AuthorizedKeyLine() + " host@example"
				return c, tg
			},
			want: want{ok: true},
		},
		{
			name: "strict known via pinned known_hosts line",
			setup: func(f *fixture, _ string) (sshx.Config, sshx.Target) {
				c := f.cfg
				c.KnownHosts = ""
				tg := f.target()
				tg.HostKey = f.host.KnownHostsLine()
				return c, tg
			},
			want: want{ok: true},
		},
		{
			// Under strict a recorded fingerprint is no trust anchor: known_hosts and host_key are.
			name: "strict ignores a recorded fingerprint",
			setup: func(f *fixture, _ string) (sshx.Config, sshx.Target) {
				c := f.cfg
				c.KnownHosts = ""
				tg := f.target()
				tg.KnownFingerprint = f.host.Fingerprint()
				return c, tg
			},
			want: want{contains: []string{"unknown", "strict"}},
		},
		{
			name: "pinned key mismatch shows both fingerprints",
			setup: func(f *fixture, _ string) (sshx.Config, sshx.Target) {
				c := f.cfg
				c.KnownHosts = ""
				tg := f.target()
				tg.HostKey = otherLine
				return c, tg
			},
			want: want{mismatch: true, contains: []string{"HOST KEY MISMATCH", "$FP", otherFP, "pinned host_key", "$LINE"}},
		},
		{
			name: "known_hosts mismatch",
			setup: func(f *fixture, _ string) (sshx.Config, sshx.Target) {
				c := f.cfg
				c.KnownHosts = "[127.0.0.1]:" + portOf(f) + " " + otherLine
				return c, f.target()
			},
			want: want{mismatch: true, contains: []string{"$FP", otherFP, "known_hosts content line 1"}},
		},
		{
			// A key legitimately rotated in known_hosts is not refused for an old recorded value.
			name: "strict: known_hosts wins over a stale recorded fingerprint",
			setup: func(f *fixture, _ string) (sshx.Config, sshx.Target) {
				tg := f.target()
				tg.KnownFingerprint = otherFP
				return f.cfg, tg
			},
			want: want{ok: true},
		},
		{
			name:   "accept-new: recorded fingerprint mismatch",
			policy: sshx.PolicyAcceptNew,
			setup: func(f *fixture, _ string) (sshx.Config, sshx.Target) {
				tg := f.target()
				tg.KnownFingerprint = otherFP
				return f.cfg, tg
			},
			want: want{mismatch: true, contains: []string{"$FP", otherFP, "recorded host_key_fingerprint"}},
		},
		{
			name:   "accept-new refuses a key known_hosts contradicts",
			policy: sshx.PolicyAcceptNew,
			setup: func(f *fixture, _ string) (sshx.Config, sshx.Target) {
				c := f.cfg
				c.KnownHosts = "[127.0.0.1]:" + portOf(f) + " " + otherLine
				return c, f.target()
			},
			want: want{mismatch: true, contains: []string{"$FP", otherFP, "never overrides"}},
		},
		{
			name:   "accept-new enforces the recorded fingerprint",
			policy: sshx.PolicyAcceptNew,
			setup: func(f *fixture, _ string) (sshx.Config, sshx.Target) {
				c := f.cfg
				c.KnownHosts = ""
				tg := f.target()
				tg.KnownFingerprint = otherFP
				return c, tg
			},
			want: want{mismatch: true, contains: []string{"$FP", otherFP}},
		},
		{
			name:   "accept-new accepts an unknown host",
			policy: sshx.PolicyAcceptNew,
			setup: func(f *fixture, _ string) (sshx.Config, sshx.Target) {
				c := f.cfg
				c.KnownHosts = ""
				return c, f.target()
			},
			want: want{ok: true},
		},
		{
			name:   "insecure accepts a mismatching key",
			policy: sshx.PolicyInsecure,
			setup: func(f *fixture, _ string) (sshx.Config, sshx.Target) {
				c := f.cfg
				c.KnownHosts = "[127.0.0.1]:" + portOf(f) + " " + otherLine
				tg := f.target()
				tg.HostKey = otherLine
				tg.KnownFingerprint = otherFP
				return c, tg
			},
			want: want{ok: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, testhost.Config{})
			cfg, tg := tt.setup(f, t.TempDir())
			cfg.HostKeyPolicy = tt.policy
			cfg.ConnectRetries = 3 // host key errors must not be retried
			p := newPool(t, cfg)
			out, _, _, err := runCmd(testCtx(t), p, tg, "echo ok")
			if tt.want.ok {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if out != "ok\n" {
					t.Errorf("stdout = %q", out)
				}
				fp, err := p.Fingerprint(testCtx(t), tg)
				if err != nil || fp != f.host.Fingerprint() {
					t.Errorf("Fingerprint = %q, %v; want %q", fp, err, f.host.Fingerprint())
				}
				return
			}
			var hk *sshx.HostKeyError
			if !errors.As(err, &hk) {
				t.Fatalf("err = %v (%T), want a *HostKeyError", err, err)
			}
			if hk.Mismatch != tt.want.mismatch || hk.Fingerprint != f.host.Fingerprint() || hk.KeyType != "ssh-ed25519" || hk.Port != f.host.Port() {
				t.Errorf("HostKeyError = %+v", hk)
			}
			msg := err.Error()
			for _, c := range tt.want.contains {
				c = strings.ReplaceAll(c, "$FP", f.host.Fingerprint())
				c = strings.ReplaceAll(c, "$LINE", f.host.AuthorizedKeyLine())
				if !strings.Contains(msg, c) {
					t.Errorf("error message lacks %q:\n%s", c, msg)
				}
			}
			if f.host.Handshakes() != 0 || p.Stats().Handshakes != 0 {
				t.Errorf("handshakes host=%d pool=%d, want 0", f.host.Handshakes(), p.Stats().Handshakes)
			}
		})
	}
}

// TestPool_hostKeyMismatchRefused is the acceptance check: a changed host key is refused and
// the message shows the offered fingerprint, the expected one and the key line to copy.
func TestPool_hostKeyMismatchRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	p := newPool(t, f.cfg)
	ctx := testCtx(t)
	if _, _, _, err := runCmd(ctx, p, f.target(), "echo ok"); err != nil {
		t.Fatalf("first Run: %v", err)
	}
	oldFP := f.host.Fingerprint()
	newSigner := newKey(t).signer
	f.host.SetHostKey(newSigner)
	f.host.DropConnections()

	_, _, _, err := runCmd(ctx, p, f.target(), "echo ok")
	var hk *sshx.HostKeyError
	if !errors.As(err, &hk) || !hk.Mismatch {
		t.Fatalf("err = %v, want a host key mismatch", err)
	}
	newFP := sshx.Fingerprint(newSigner.PublicKey())
	for _, want := range []string{newFP, oldFP, "HOST KEY MISMATCH", "root@" + f.host.Addr(), f.host.AuthorizedKeyLine()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
	if got := f.host.Commands(); len(got) != 1 {
		t.Errorf("commands run = %q, want only the first", got)
	}
}

// TestPool_acceptNewRemembers proves accept-new records the first key and then refuses a
// changed one for the rest of the pool's life.
func TestPool_acceptNewRemembers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	cfg := f.cfg
	cfg.KnownHosts = ""
	cfg.HostKeyPolicy = sshx.PolicyAcceptNew
	p := newPool(t, cfg)
	ctx := testCtx(t)
	fp, err := p.Fingerprint(ctx, f.target())
	if err != nil {
		t.Fatal(err)
	}
	if fp != f.host.Fingerprint() {
		t.Fatalf("Fingerprint = %s, want %s", fp, f.host.Fingerprint())
	}
	f.host.DropConnections()
	if _, _, _, err := runCmd(ctx, p, f.target(), "echo same"); err != nil {
		t.Fatalf("redial with the same key: %v", err)
	}
	f.host.SetHostKey(newKey(t).signer)
	f.host.DropConnections()
	_, _, _, err = runCmd(ctx, p, f.target(), "echo changed")
	var hk *sshx.HostKeyError
	if !errors.As(err, &hk) || !hk.Mismatch || !strings.Contains(err.Error(), fp) {
		t.Fatalf("err = %v, want a mismatch naming %s", err, fp)
	}
}

func portOf(f *fixture) string {
	_, port, _ := strings.Cut(f.host.Addr(), ":")
	return port
}

// TestValidateHostKey_markers: a pinned host_key is a list of keys to trust. A known_hosts
// line with a marker means something else (@revoked: never trust this key;
// @cert-authority: trust host certificates this CA signed), so it is refused instead of
// becoming a plain pin, which for @revoked would trust exactly the revoked key.
func TestValidateHostKey_markers(t *testing.T) {
	t.Parallel()
	line := strings.TrimSpace(string(marshalKey(newKey(t).signer.PublicKey())))
	tests := []struct {
		name, value, wantErr string
	}{
		{name: "authorized_keys line", value: line + " host@example"},
		{name: "known_hosts line", value: "[127.0.0.1]:2222 " + line},
		{name: "two keys and a comment", value: "# old and new\n" + line + "\nbackend1 " + line},
		{name: "revoked", value: "@revoked * " + line, wantErr: "@revoked"},
		{name: "cert-authority", value: "@cert-authority *.example.com " + line, wantErr: "@cert-authority"},
		{name: "revoked among plain keys", value: line + "\n@revoked backend1 " + line, wantErr: "line 2"},
		{name: "garbage", value: "ssh-ed25519 !!!", wantErr: "cannot parse host key"},
		{name: "blank", value: " \n", wantErr: "holds no key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := sshx.ValidateHostKey(tt.value)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ValidateHostKey: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestPool_hostKeyMarkerRefused: a marker line in a target's or the bastion's host_key is
// refused before any connection, never used as a pin.
func TestPool_hostKeyMarkerRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	revoked := "@revoked * " + f.host.AuthorizedKeyLine()
	cfg := f.cfg
	cfg.KnownHosts = ""
	p := newPool(t, cfg)
	tg := f.target()
	tg.HostKey = revoked
	if _, _, _, err := runCmd(testCtx(t), p, tg, "echo ok"); err == nil || !strings.Contains(err.Error(), "@revoked") {
		t.Fatalf("err = %v, want the @revoked marker refused", err)
	}
	if got := f.host.Handshakes(); got != 0 {
		t.Errorf("host handshakes = %d, want 0", got)
	}
	cfg.Bastion = &sshx.Bastion{Host: f.host.Host(), Port: f.host.Port(), HostKey: revoked}
	if bp, err := sshx.NewPool(cfg); err == nil || !strings.Contains(err.Error(), "@revoked") || !strings.Contains(err.Error(), "bastion") {
		if bp != nil {
			_ = bp.Close()
		}
		t.Fatalf("NewPool err = %v, want the bastion's @revoked marker refused", err)
	}
}
