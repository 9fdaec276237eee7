package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// TestAccSwitchover_promotionRefusedByDRBD: when DRBD refuses the one-round-trip promotion of
// a healthy pair, apply fails with DRBD's words and the exit status, and nothing else is
// tried (no second promotion, no forced one).
func TestAccSwitchover_promotionRefusedByDRBD(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Version: drbdsim.V84}).healthyAtRest()
	e.node(1).FailNext("drbdadm", 11, "0: State change failed: (-1) Multiple primaries not allowed by config\n")
	accTest(t, resource.TestStep{
		Config:      e.primaryConfig(1),
		ExpectError: diagRE("Unable to Promote DRBD Resource", "drbdadm primary pc0", "exited 11", "Multiple primaries not allowed"),
	})
	if n := countArgv(e.node(1).Executed(), "drbdadm", "primary"); n != 1 {
		t.Errorf("drbdadm primary ran %d times on node2, want once", n)
	}
	if e.node(1).Role() != "Secondary" {
		t.Errorf("node2 is %s", e.node(1).Role())
	}
}

// TestAccSwitchover_healthyPairPromotedInOneRoundTrip: a healthy pair at rest is promoted by
// one command that checks and promotes; the state records the new role.
func TestAccSwitchover_healthyPairPromotedInOneRoundTrip(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Version: drbdsim.V84}).healthyAtRest()
	from := len(e.hosts[1].Commands())
	accTest(t, resource.TestStep{
		Config: e.primaryConfig(1),
		Check: resource.ComposeTestCheckFunc(
			resource.TestCheckResourceAttr("drbd_primary.test", "role", "Primary"),
			resource.TestCheckResourceAttr("drbd_primary.test", "peer_role", "Secondary"),
			resource.TestCheckResourceAttr("drbd_primary.test", "connection_state", "Connected"),
			resource.TestCheckResourceAttr("drbd_primary.test", "disk_state", "UpToDate"),
			resource.TestCheckResourceAttr("drbd_primary.test", "replication_state", ""),
			func(*terraform.State) error {
				if got := e.commandsSince(1, from); len(got) < 1 || !strings.Contains(got[0], "drbdsetup events2 --now pc0") {
					t.Errorf("the first command of the apply was not the one-round-trip promotion: %q", got)
				}
				return nil
			},
		),
	})
}

// TestAccSwitchover_failedMountIsReported: when the mount of an existing filesystem fails in
// the round trip that checked it, apply fails with the exit status and mount's words, and
// nothing is formatted.
func TestAccSwitchover_failedMountIsReported(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Version: drbdsim.V84}).promote()
	e.pair.CompleteSync()
	e.sh(0, "mkfs.ext4 -q /dev/drbd0")
	e.node(0).FailNext("mount", 32, "mount: /data: cannot mount /dev/drbd0 read-only.\n")
	accTest(t, resource.TestStep{
		Config:      e.filesystemConfig(0, `mountpoint = "/data"`),
		ExpectError: diagRE("Unable to Create DRBD Filesystem", "exited 32", "cannot mount", "No data was changed"),
	})
	if countArgv(e.node(0).Executed(), "mkfs.ext4") != 1 {
		t.Error("the device was formatted again")
	}
}

func TestDeviceCache_forgetHost(t *testing.T) {
	var c deviceCache
	a := &remoteHost{target: sshx.Target{Host: "192.0.2.1", Port: 22, User: "root"}}
	b := &remoteHost{target: sshx.Target{Host: "192.0.2.1", Port: 2222, User: "root"}}
	c.set(a, mustName(t, "pc0"), "/dev/drbd0")
	c.set(a, mustName(t, "pc1"), "/dev/drbd1")
	c.set(b, mustName(t, "pc0"), "/dev/drbd5")
	c.set(b, mustName(t, "pc9"), "")
	if dev, ok := c.get(a, mustName(t, "pc1")); !ok || dev != "/dev/drbd1" {
		t.Fatalf("get = %q, %v", dev, ok)
	}
	if _, ok := c.get(b, mustName(t, "pc9")); ok {
		t.Error("an empty device was remembered")
	}
	c.forgetHost(a)
	if _, ok := c.get(a, mustName(t, "pc0")); ok {
		t.Error("forgetHost kept an entry of the host")
	}
	if dev, ok := c.get(b, mustName(t, "pc0")); !ok || dev != "/dev/drbd5" {
		t.Errorf("forgetHost dropped another host's entry: %q, %v", dev, ok)
	}
}

// TestWarmConnection_opensOnlyUnfencedConnections: warmConnection connects to a live host
// ahead of need, running nothing there, and never contacts a fenced host.
func TestWarmConnection_opensOnlyUnfencedConnections(t *testing.T) {
	e := newTestEnv(t, drbdsim.PairConfig{Version: drbdsim.V84})
	e.pair.BringUp()
	pool, err := sshx.NewPool(sshx.Config{PrivateKey: e.keyPEM, KnownHosts: e.knownHosts(), HostKeyPolicy: sshx.PolicyStrict, User: "root"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pool.Close() })
	d := &providerData{pool: pool, user: sshx.DefaultUser, port: sshx.DefaultPort, fence: newFenceSet([]string{e.hosts[0].Addr()})}
	conn := func(i int) connectionModel {
		return connectionModel{Host: types.StringValue(e.hosts[i].Host()), Port: types.Int64Value(int64(e.hosts[i].Port()))}
	}
	if d.warmConnection(context.Background(), conn(0)) {
		t.Error("warmConnection started a connection to a fenced host")
	}
	if !d.warmConnection(context.Background(), conn(1)) {
		t.Fatal("warmConnection did not start a connection to a live host")
	}
	if _, err := pool.Exec(context.Background(), d.resolve(conn(1)), sshx.Command{Cmd: "true"}); err != nil {
		t.Fatal(err)
	}
	if got := e.hosts[1].Commands(); len(got) != 1 || got[0] != "true" {
		t.Errorf("commands on the warmed host: %q, want only true", got)
	}
	if h0, h1 := e.hosts[0].Handshakes(), e.hosts[1].Handshakes(); h0 != 0 || h1 != 1 {
		t.Errorf("handshakes: fenced host %d (want 0), live host %d (want 1: the command reused the warmed connection)", h0, h1)
	}
}

// mustName is a checked DRBD resource name for tests.
func mustName(t *testing.T, s string) drbd.ResourceName {
	t.Helper()
	n, err := drbd.ParseResourceName(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
