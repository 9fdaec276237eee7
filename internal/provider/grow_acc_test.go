package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

// Online grow: the tests drive the Terraform CLI (cliHarness) to read the plan and its
// warnings. The pair is in sync with node1 Primary; each node has a drbd_resource that names
// the other as peer_host.

const (
	grownBackingKiB = 2 << 20 // a 2 GiB backing disk
	grownDeviceKiB  = 2097052 // what DRBD makes of it with internal metadata
)

func newGrowEnv(t *testing.T, version ...drbdsim.Version) *day2Env {
	t.Helper()
	cfg := drbdsim.PairConfig{}
	if len(version) > 0 {
		cfg.Version = version[0]
	}
	d := newDay2Env(t, cfg)
	d.promote()
	d.pair.CompleteSync()
	d.writeGrow()
	d.apply()
	return d
}

// writeGrow writes a drbd_resource per node, each naming the other as peer_host.
func (d *day2Env) writeGrow(extra ...string) {
	d.t.Helper()
	cfg := d.providerConfig()
	for i := range 2 {
		cfg += block(fmt.Sprintf(`resource "drbd_resource" "node%d"`, i+1), d.hostArgs(i), `name = "pc0"`, d.peerArgs(1-i))
	}
	d.h.writeFile("main.tf", cfg+strings.Join(extra, ""))
}

func (d *day2Env) resizes(before [2]int) int {
	n := 0
	for i := range 2 {
		n += len(d.mutationsWith(i, before[i], "resize"))
	}
	return n
}

// growFilesystem is an ext4 drbd_filesystem on node1 whose grow_triggers follow node1's
// device size.
func (d *day2Env) growFilesystem() string {
	return block(`resource "drbd_filesystem" "data"`, d.hostArgs(0), `resource   = "pc0"`, `mountpoint = "/data"`,
		`grow_triggers = { size = drbd_resource.node1.size }`, `depends_on = [drbd_resource.node1, drbd_resource.node2]`)
}

// TestAccGrow_bothDisks: both backing disks grew; the plan shows an in-place update of both
// drbd_resource with a warning and of the filesystem, the apply runs one `drbdadm resize`,
// waits for the resync of the new area, grows the mounted ext4 with resize2fs, and the next
// plan is empty.
func TestAccGrow_bothDisks(t *testing.T) {
	t.Run("8.4", func(t *testing.T) { testGrowBothDisks(t, newGrowEnv(t, drbdsim.V84)) })
	t.Run("9", func(t *testing.T) { testGrowBothDisks(t, newGrowEnv(t, drbdsim.V9)) })
}

func testGrowBothDisks(t *testing.T, d *day2Env) {
	d.writeGrow(d.growFilesystem())
	d.apply()
	if got := d.node(0).FSSizeKiB(); got != 1048508 {
		t.Fatalf("filesystem is %d KiB before the grow", got)
	}
	d.node(0).GrowBacking(grownBackingKiB)
	d.node(1).GrowBacking(grownBackingKiB)
	before := d.mutationCounts()

	out := d.plan()
	d.expectOutput("plan", out,
		[]string{"drbd_resource.node1 will be updated in-place", "size", "known after apply"},
		[]string{"Warning: Backing Disk Grew", "/dev/vdb", "pc0", d.hostPort(0), "1073672192", "2147483648", "drbdadm resize"},
		[]string{"drbd_filesystem.data will be updated in-place"})
	d.expectNoMutations(before, "node%d ran %q during the plan")

	d.apply()
	if got := d.resizes(before); got != 1 {
		t.Errorf("apply ran drbdadm resize %d times, want once", got)
	}
	if got := d.mutationsWith(0, before[0], "resize2fs"); len(got) != 1 || got[0] != "resize2fs /dev/drbd0" {
		t.Errorf("node1 ran %q, want resize2fs /dev/drbd0 once", got)
	}
	if got := d.node(0).FSSizeKiB(); got != grownDeviceKiB {
		t.Errorf("filesystem is %d KiB, want %d", got, grownDeviceKiB)
	}
	if _, _, ok := d.node(0).MountedAt("/data"); !ok {
		t.Error("the filesystem is no longer mounted")
	}
	if got := d.pair.DeviceKiB(); got != grownDeviceKiB {
		t.Errorf("device is %d KiB, want %d", got, grownDeviceKiB)
	}
	if d.node(0).DiskState() != "UpToDate" || d.node(1).DiskState() != "UpToDate" {
		t.Errorf("apply returned before the new area was resynced: %s/%s", d.node(0).DiskState(), d.node(1).DiskState())
	}
	// DRBD starts that resync only after `drbdadm resize` returned; a status read in between
	// shows the pair Connected, UpToDate/UpToDate, with the new area out of sync.
	if oos := d.node(0).OutOfSyncKiB(); oos != 0 {
		t.Errorf("apply returned with %d KiB out of sync: the new area's resync had not started", oos)
	}
	d.expectOutput("plan after apply", d.plan(), []string{"No changes."})
}

// TestAccGrow_oneDisk: only node1's disk grew; DRBD would keep the device at node2's size,
// so the plan is empty with a warning naming node2, and nothing runs.
func TestAccGrow_oneDisk(t *testing.T) {
	d := newGrowEnv(t)
	d.node(0).GrowBacking(grownBackingKiB)
	before := d.mutationCounts()

	out := d.plan()
	d.expectOutput("plan", out, []string{"No changes."},
		[]string{"Warning: Peer Backing Disk Still Smaller", d.hostPort(0), "grew", d.hostPort(1), "still"})
	d.apply()
	d.expectNoMutations(before, "node%d ran %q although the peer's disk did not grow")
}

// TestAccGrow_backingSmaller: a backing disk smaller than the DRBD device fails the plan and
// nothing runs.
func TestAccGrow_backingSmaller(t *testing.T) {
	d := newGrowEnv(t)
	d.node(1).GrowBacking(512 << 10)
	before := d.mutationCounts()

	out, err := d.h.run("plan", "-input=false")
	if err == nil {
		t.Fatalf("plan succeeded:\n%s", out)
	}
	d.expectOutput("plan", out, []string{"Error: Backing Disk Smaller Than DRBD Device", "/dev/vdb", d.hostPort(1), "never shrinks"})
	d.expectNoMutations(before, "node%d ran %q")
}

// TestAccGrow_degradedRefused: both disks grew but the pair is not connected: the apply
// refuses, naming what it saw, and runs nothing.
func TestAccGrow_degradedRefused(t *testing.T) {
	d := newGrowEnv(t)
	d.node(0).GrowBacking(grownBackingKiB)
	d.node(1).GrowBacking(grownBackingKiB)
	d.pair.Disconnect()
	before := d.mutationCounts()

	out, err := d.h.run("apply", "-auto-approve", "-input=false")
	if err == nil {
		t.Fatalf("apply succeeded:\n%s", out)
	}
	d.expectOutput("apply", out, []string{"Error: Unable to Grow DRBD Device", "pc0", "WFConnection", "Nothing was run"})
	d.expectNoMutations(before, "node%d ran %q on a degraded pair")
	if got := d.pair.DeviceKiB(); got != 1048508 {
		t.Errorf("device is %d KiB, want unchanged", got)
	}
}

// TestAccGrow_filesystemSmallerThanDevice: a device grown out of band (drbdadm resize by
// hand) leaves the filesystem smaller: the plan shows it and the apply grows it online with
// xfs_growfs; the next plan is empty.
func TestAccGrow_filesystemSmallerThanDevice(t *testing.T) {
	d := newGrowEnv(t)
	fs := block(`resource "drbd_filesystem" "data"`, d.hostArgs(0), `resource   = "pc0"`, `mountpoint = "/data"`, `fs_type = "xfs"`)
	d.writeGrow(fs)
	d.apply()
	d.node(0).GrowBacking(grownBackingKiB)
	d.node(1).GrowBacking(grownBackingKiB)
	d.sh(0, "drbdadm resize pc0")
	d.pair.CompleteSync()
	before := d.mutationCounts()

	out := d.plan()
	d.expectOutput("plan", out, []string{"drbd_filesystem.data will be updated in-place"},
		[]string{"Warning: Filesystem Smaller Than Its Device", "/data", d.hostPort(0), "xfs_growfs"})
	d.apply()
	if got := d.mutationsWith(0, before[0], "xfs_growfs"); len(got) != 1 {
		t.Errorf("node1 ran %q, want xfs_growfs once", got)
	}
	if got := d.node(0).FSSizeKiB(); got != grownDeviceKiB {
		t.Errorf("filesystem is %d KiB, want %d", got, grownDeviceKiB)
	}
	d.expectOutput("plan after apply", d.plan(), []string{"No changes."})
}

// TestAccGrow_example: examples/chef-ha-failover grows with one variable: both backends'
// disks grew and disk_size changes; one apply grows the DRBD device and Chef's mounted ext4,
// with the same filesystem still serving, and the plan after it is empty (checked by the
// test framework).
func TestAccGrow_example(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{Version: drbdsim.V84})
	var fsUUID string
	step := func(vars map[string]config.Variable) resource.TestStep {
		return resource.TestStep{
			ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
			ConfigDirectory:          config.StaticDirectory(exampleDir),
			ConfigVariables:          e.exampleVariables(vars),
		}
	}
	day1 := step(map[string]config.Variable{"disk_size": config.StringVariable("1")})
	day1.Check = func(*terraform.State) error { return e.checkServing(0, &fsUUID) }
	grow := step(map[string]config.Variable{"disk_size": config.StringVariable("2")})
	grow.PreConfig = func() {
		e.node(0).GrowBacking(grownBackingKiB)
		e.node(1).GrowBacking(grownBackingKiB)
	}
	grow.ConfigPlanChecks = resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
		plancheck.ExpectResourceAction("drbd_resource.backend1[0]", plancheck.ResourceActionUpdate),
		plancheck.ExpectResourceAction("drbd_resource.backend2[0]", plancheck.ResourceActionUpdate),
		plancheck.ExpectResourceAction("drbd_filesystem.data", plancheck.ResourceActionUpdate),
		plancheck.ExpectResourceAction("drbd_primary.primary", plancheck.ResourceActionNoop),
	}}
	grow.Check = func(*terraform.State) error {
		if err := e.checkServing(0, &fsUUID); err != nil {
			return err
		}
		if got := e.pair.DeviceKiB(); got != grownDeviceKiB {
			return fmt.Errorf("device is %d KiB, want %d", got, grownDeviceKiB)
		}
		if got := e.node(0).FSSizeKiB(); got != grownDeviceKiB {
			return fmt.Errorf("filesystem is %d KiB, want %d", got, grownDeviceKiB)
		}
		return nil
	}
	resource.ParallelTest(t, resource.TestCase{Steps: []resource.TestStep{day1, grow}})
}

// TestAccGrow_twoVolumes: a resource with two volumes, each on its own backing disk
// (/dev/vdb, /dev/vdc). Volume 1's disk grown on node1 only holds the whole grow back: the
// plan is empty with a warning naming volume 1's disk and node2, and nothing runs. With every
// volume's disk grown on both nodes, one `drbdadm resize` grows both devices. A volume's
// backing disk smaller than its device fails the plan (never shrink).
func TestAccGrow_twoVolumes(t *testing.T) {
	for _, v := range []drbdsim.Version{drbdsim.V84, drbdsim.V9} {
		t.Run(v.String(), func(t *testing.T) {
			d := newDay2Env(t, drbdsim.PairConfig{Version: v, Volumes: 2})
			d.promote()
			d.pair.CompleteSync()
			d.writeGrow()
			d.apply()
			for i := range 2 {
				d.node(i).GrowVolumeBacking(0, grownBackingKiB)
			}
			d.node(0).GrowVolumeBacking(1, grownBackingKiB)
			before := d.mutationCounts()

			out := d.plan()
			d.expectOutput("plan, volume 1 grown on node1 only", out, []string{"No changes."},
				[]string{"Warning: Peer Backing Disk Still Smaller", "/dev/vdc", "pc0", "volume 1 on", d.hostPort(0),
					"/dev/vdc of volume 1 on", d.hostPort(1), "still"})
			d.apply()
			d.expectNoMutations(before, "node%d ran %q although volume 1's disk grew on node1 only")
			if a, b := d.pair.VolumeDeviceKiB(0), d.pair.VolumeDeviceKiB(1); a != 1048508 || b != 1048508 {
				t.Errorf("devices are %d and %d KiB, want both unchanged", a, b)
			}

			d.node(1).GrowVolumeBacking(1, grownBackingKiB)
			out = d.plan()
			d.expectOutput("plan, every volume grown on both nodes", out,
				[]string{"drbd_resource.node1 will be updated in-place"}, []string{"Warning: Backing Disk Grew"})
			d.apply()
			if got := d.resizes(before); got != 1 {
				t.Errorf("apply ran drbdadm resize %d times, want once", got)
			}
			for vol := range 2 {
				if got := d.pair.VolumeDeviceKiB(vol); got != grownDeviceKiB {
					t.Errorf("volume %d's device is %d KiB, want %d", vol, got, grownDeviceKiB)
				}
			}
			d.expectOutput("plan after the grow", d.plan(), []string{"No changes."})

			// Volume 1's disk on node2 replaced by a smaller one: the plan fails, nothing runs.
			d.node(1).GrowVolumeBacking(1, 512<<10)
			before = d.mutationCounts()
			out, err := d.h.run("plan", "-input=false")
			if err == nil {
				t.Fatalf("plan succeeded:\n%s", out)
			}
			d.expectOutput("plan, volume 1's disk smaller", out,
				[]string{"Error: Backing Disk Smaller Than DRBD Device", "/dev/vdc", d.hostPort(1), "minor 1", "never shrinks"})
			d.expectNoMutations(before, "node%d ran %q")
		})
	}
}
