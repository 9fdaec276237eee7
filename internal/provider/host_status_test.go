package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// TestAccProbeCache_refreshSharesStatusReads: the Reads of one refresh share a host's DRBD
// status read (drbd_resource, drbd_primary, drbd_sync and drbd_status on node1 all need
// the same probe), so a refresh of the pair sends one probe per host; the read-only commands
// of drbd_filesystem and drbd_chef_backend_ready Reads on the same host do not spoil it.
func TestAccProbeCache_refreshSharesStatusReads(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	e.pair.CompleteSync()
	cfg := e.providerConfig() +
		block(`resource "drbd_resource" "n1"`, e.hostArgs(0), `name = "pc0"`) +
		block(`resource "drbd_primary" "n1"`, e.hostArgs(0), "resource = drbd_resource.n1.name") +
		block(`resource "drbd_sync" "n1"`, e.hostArgs(0), "resource = drbd_primary.n1.resource") +
		block(`resource "drbd_filesystem" "n1"`, e.hostArgs(0), "resource = drbd_sync.n1.resource", `mountpoint = "/data"`) +
		block(`resource "drbd_chef_backend_ready" "n1"`, e.hostArgs(0), "reconfigure = false", "depends_on = [drbd_filesystem.n1]") +
		e.statusBlock(0, "n1")
	var before int
	accTest(t,
		resource.TestStep{Config: cfg},
		resource.TestStep{
			PreConfig:        func() { before = e.probes(0) },
			Config:           cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			Check: func(*terraform.State) error {
				// The step runs refresh+plan, then apply (nothing), then a post-apply plan: two
				// refreshes at most, each sharing one probe of node1.
				if got := e.probes(0) - before; got > 2 {
					return fmt.Errorf("node1 got %d status reads for two refreshes of 6 objects, want at most 2 (%s)",
						got, strings.Join(e.hosts[0].Commands()[len(e.hosts[0].Commands())-got:], " | ")[:200])
				}
				return nil
			},
		},
	)
}

// TestAccProbeCache_refreshReadsSizesInTheProbe: drbd_resource's grow check needs the backing
// disk and device sizes; a refresh reads them in the shared status read (one round trip per
// host), not in a command of their own.
func TestAccProbeCache_refreshReadsSizesInTheProbe(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	e.pair.CompleteSync()
	cfg := e.providerConfig() +
		block(`resource "drbd_resource" "n1"`, e.hostArgs(0), `name = "pc0"`) +
		block(`resource "drbd_primary" "n1"`, e.hostArgs(0), "resource = drbd_resource.n1.name")
	var before int
	accTest(t,
		resource.TestStep{Config: cfg},
		resource.TestStep{
			PreConfig:        func() { before = len(e.hosts[0].Commands()) },
			Config:           cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			Check: func(*terraform.State) error {
				cmds := e.hosts[0].Commands()[before:]
				for _, c := range cmds {
					if strings.Contains(c, "blockdev --getsize64") && !strings.Contains(c, "@@drbd-probe") {
						return fmt.Errorf("a refresh read the sizes in a command of its own: %.200s", c)
					}
				}
				if len(cmds) > 2 {
					return fmt.Errorf("node1 got %d commands for two refreshes of drbd_resource and drbd_primary, want at most 2", len(cmds))
				}
				return nil
			},
		},
		resource.TestStep{
			Config: cfg,
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttrSet("drbd_resource.n1", "size"),
				resource.TestCheckResourceAttrSet("drbd_resource.n1", "backing_size"),
			),
		},
	)
}

// TestAccProbeCache_filesystemRefreshOneRoundTrip: a refresh of drbd_filesystem reads the
// mount, the signature and the sizes for its grow check in one command.
func TestAccProbeCache_filesystemRefreshOneRoundTrip(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{SyncStepPercent: -1}).promote()
	e.pair.CompleteSync()
	cfg := e.providerConfig() +
		block(`resource "drbd_filesystem" "n1"`, e.hostArgs(0), `resource = "pc0"`, `mountpoint = "/data"`)
	var before int
	accTest(t,
		resource.TestStep{Config: cfg},
		resource.TestStep{
			PreConfig:        func() { before = len(e.hosts[0].Commands()) },
			Config:           cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			Check: func(*terraform.State) error {
				for _, c := range e.hosts[0].Commands()[before:] {
					if strings.Contains(c, "dumpe2fs") && !strings.Contains(c, "@@hostfs blkid") {
						return fmt.Errorf("a refresh read the filesystem size in a command of its own: %.200s", c)
					}
				}
				return nil
			},
		},
		resource.TestStep{
			Config: cfg,
			Check:  resource.TestCheckResourceAttrSet("drbd_filesystem.n1", "size"),
		},
	)
}

// TestProbeCache_afterPromotion: a promotion's reading answers one drbd_sync of the same node
// and resource, and survives only commands marked leavesDRBD.
func TestProbeCache_afterPromotion(t *testing.T) {
	inSync := drbd.Status{Configured: true, Role: drbd.RolePrimary, ConnectionState: drbd.ConnConnected,
		DiskState: drbd.DiskUpToDate, PeerDiskState: drbd.DiskUpToDate}
	res, _ := drbd.ParseResourceName("pc0")
	h1 := &remoteHost{target: sshx.Target{User: "root", Host: "127.0.0.1", Port: 2201}}
	h2 := &remoteHost{target: sshx.Target{User: "root", Host: "127.0.0.1", Port: 2202}}
	var c probeCache
	c.notePromoted(h1, res, inSync)
	if _, ok := c.afterPromotion(h2, res); ok {
		t.Error("another host's promotion answered")
	}
	c.forget(true) // a mount, a ready file
	if st, ok := c.afterPromotion(h1, res); !ok || st != inSync {
		t.Errorf("after a command leaving DRBD alone: %+v, %v; want the promotion's reading", st, ok)
	}
	if _, ok := c.afterPromotion(h1, res); ok {
		t.Error("the reading answered twice")
	}
	c.notePromoted(h1, res, inSync)
	c.forget(false) // any other command, on any host
	if _, ok := c.afterPromotion(h1, res); ok {
		t.Error("the reading survived a command that may change DRBD's state")
	}
	failover := inSync
	failover.ConnectionState, failover.PeerDiskState = drbd.ConnWFConnection, drbd.DiskDUnknown
	c.notePromoted(h1, res, failover)
	if st, ok := c.afterPromotion(h1, res); !ok || st != failover {
		t.Errorf("a failover's reading: %+v, %v", st, ok)
	}
	var none *probeCache // hosts without a cache
	none.notePromoted(h1, res, inSync)
	if _, ok := none.afterPromotion(h1, res); ok {
		t.Error("a nil cache answered")
	}
}
