package drbdsim

import (
	"context"
	"strings"
	"testing"
)

// result is what one Handle call produced.
type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, n *Node, cmd string) result {
	t.Helper()
	var out, errb strings.Builder
	code := n.Handle(context.Background(), cmd, nil, &out, &errb)
	return result{out.String(), errb.String(), code}
}

func mustRun(t *testing.T, n *Node, cmd string) string {
	t.Helper()
	r := run(t, n, cmd)
	if r.code != 0 {
		t.Fatalf("%s: %q exited %d\nstdout: %s\nstderr: %s", n.Name(), cmd, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// newPair returns a pair with the resource file on both nodes.
func newPair(cfg PairConfig) *Pair {
	cfg.ConfigFile = true
	return NewPair(cfg)
}

// primaryPair returns a pair brought up with node1 force-promoted (sync running).
func primaryPair(t *testing.T, cfg PairConfig) *Pair {
	t.Helper()
	p := newPair(cfg)
	p.BringUp()
	cmd := "drbdadm primary --force pc0"
	if p.cfg.Version == V83 {
		cmd = "drbdadm -- --overwrite-data-of-peer primary pc0"
	}
	mustRun(t, p.Node(0), cmd)
	return p
}

// setLeft sets the remaining resync amount exactly (fixture reproduction).
func (p *Pair) setLeft(totalKiB, leftKiB int64) {
	p.mutate(func() {
		p.sync.totalBits = totalKiB / 4
		p.sync.leftBits = leftKiB / 4
	})
}
