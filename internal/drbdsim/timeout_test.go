package drbdsim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// TestTimeout: the simulated shell runs what sshx sends under a deadline (timeout(1) found
// with command -v, inside sudo too), the command sees its stdin, and a command that outlives
// the limit ends with timeout's 124.
func TestTimeout(t *testing.T) {
	t.Parallel()
	p := pairAt(t, V84, upBoth)
	n := p.Node(0)
	for _, cmd := range []string{
		sshx.WithDeadline("drbdadm role pc0", time.Minute),
		sshx.Join("sudo", "-n", "--", "sh", "-c", sshx.WithDeadline("drbdadm role pc0", time.Minute)),
		"timeout -k 5 60 drbdadm role pc0",
		"timeout 1m sh -c 'drbdadm role pc0'",
	} {
		if r := run(t, n, cmd); r != (result{"Secondary/Secondary\n", "", 0}) {
			t.Errorf("%s: %+v", cmd, r)
		}
	}
	var out strings.Builder
	if code := n.Handle(context.Background(), sshx.WithDeadline("cat", time.Minute), strings.NewReader("in\n"), &out, nil); code != 0 || out.String() != "in\n" {
		t.Errorf("cat under a deadline: exit %d, %q", code, out.String())
	}
	// The test's own cap: without a working timeout(1) the sleep ends here, with 130.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if code := n.Handle(ctx, sshx.WithDeadline("sleep 600", time.Second), nil, nil, nil); code != 124 {
		t.Errorf("sleep 600 under a 1s limit: exit %d, want 124", code)
	}
	if diff := cmp.Diff([][]string{}, n.Mutating()); diff != "" {
		t.Errorf("Mutating (-want +got):\n%s", diff)
	}
}
