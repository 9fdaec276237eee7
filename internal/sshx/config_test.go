package sshx_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

func TestDefaultKnownHostsFile(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if got := sshx.DefaultKnownHostsFile(); got != "" {
		t.Errorf("without ~/.ssh/known_hosts: got %q, want \"\"", got)
	}
	file := filepath.Join(home, ".ssh", "known_hosts")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := sshx.DefaultKnownHostsFile(); got != file {
		t.Errorf("with ~/.ssh/known_hosts: got %q, want %q", got, file)
	}
}

// TestPool_resolveAppliesDefaults: a target that leaves user and port unset gets the
// configuration's, and a configuration that leaves them unset gets sshx's defaults, the only
// place they are decided.
func TestPool_resolveAppliesDefaults(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      sshx.Config
		target   sshx.Target
		wantUser string
		wantPort int
	}{
		{"defaults", sshx.Config{Password: "x"}, sshx.Target{Host: "h"}, sshx.DefaultUser, sshx.DefaultPort},
		{"configured", sshx.Config{Password: "x", User: "chef", Port: 2222}, sshx.Target{Host: "h"}, "chef", 2222},
		{"per target", sshx.Config{Password: "x", User: "chef", Port: 2222}, sshx.Target{Host: "h", User: "ops", Port: 22}, "ops", 22},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := sshx.NewPool(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			got := p.Resolve(tc.target)
			if got.User != tc.wantUser || got.Port != tc.wantPort {
				t.Errorf("Resolve(%+v) = %s@:%d, want %s@:%d", tc.target, got.User, got.Port, tc.wantUser, tc.wantPort)
			}
		})
	}
}
