package sshx_test

import (
	"context"
	"testing"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

// BenchmarkPoolRun runs commands over one reused pooled connection.
func BenchmarkPoolRun(b *testing.B) {
	f := newFixture(b, testhost.Config{})
	p := newPool(b, f.cfg)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := runCmd(ctx, p, f.target(), "echo x"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFreshConnection pays a TCP connect, key exchange and authentication per command,
// as a client without a pool would.
func BenchmarkFreshConnection(b *testing.B) {
	f := newFixture(b, testhost.Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p, err := sshx.NewPool(f.cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, _, err := runCmd(ctx, p, f.target(), "echo x"); err != nil {
			b.Fatal(err)
		}
		_ = p.Close()
	}
}
