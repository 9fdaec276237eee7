package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

func TestAccFilesystem_basic(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{}).promote()
	var uuid string
	accCase(t, resource.TestCase{
		Steps: []resource.TestStep{
			{
				Config: e.filesystemConfig(0, `mkfs_options = "-E nodiscard"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("drbd_filesystem.test", tfjsonpath.New("device"), knownvalue.StringExact("/dev/drbd0")),
					statecheck.ExpectKnownValue("drbd_filesystem.test", tfjsonpath.New("fs_type"), knownvalue.StringExact("ext4")),
					statecheck.ExpectKnownValue("drbd_filesystem.test", tfjsonpath.New("mountpoint"), knownvalue.StringExact(defaultMountpoint)),
				},
				Check: func(s *terraform.State) error {
					uuid = e.node(0).FSUUID()
					if got := s.RootModule().Resources["drbd_filesystem.test"].Primary.Attributes["uuid"]; got != uuid || uuid == "" {
						return fmt.Errorf("uuid in state %q, on device %q", got, uuid)
					}
					if !e.ranCommand(0, "mkfs.ext4", "-q", "-E", "nodiscard", "/dev/drbd0") {
						return fmt.Errorf("mkfs.ext4 with options not run: %q", e.mutations(0))
					}
					return nil
				},
			},
			e.idempotentStep(e.filesystemConfig(0, `mkfs_options = "-E nodiscard"`)),
			{
				// Drift: unmounted out of band; the apply mounts again and never re-formats.
				PreConfig:        func() { e.sh(0, "umount "+defaultMountpoint) },
				Config:           e.filesystemConfig(0, `mkfs_options = "-E nodiscard"`),
				ConfigPlanChecks: planAction("drbd_filesystem.test", plancheck.ResourceActionCreate),
				Check: func(_ *terraform.State) error {
					if _, _, ok := e.node(0).MountedAt(defaultMountpoint); !ok {
						return fmt.Errorf("not mounted again")
					}
					if n := countArgv(e.node(0).Executed(), "mkfs.ext4"); n != 1 || e.node(0).FSUUID() != uuid {
						return fmt.Errorf("filesystem re-created: mkfs runs %d, uuid %s -> %s", n, uuid, e.node(0).FSUUID())
					}
					return nil
				},
			},
			e.importStep("drbd_filesystem.test", 0, defaultMountpoint, "resource", "mkfs_options"),
		},
		CheckDestroy: func(_ *terraform.State) error {
			if _, _, ok := e.node(0).MountedAt(defaultMountpoint); ok {
				return fmt.Errorf("still mounted after destroy")
			}
			if e.node(0).FSUUID() != uuid {
				return fmt.Errorf("destroy touched the filesystem")
			}
			return nil
		},
	})
}

func TestAccFilesystem_neverOverwrites(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{}).promote()
	e.sh(0, "mkfs.xfs -q /dev/drbd0")
	uuid := e.node(0).FSUUID()
	before := len(e.mutations(0))
	accTest(t, resource.TestStep{
		Config:      e.filesystemConfig(0, `fs_type = "ext4"`),
		ExpectError: regexp.MustCompile(`(?s)Refusing to Overwrite Existing Data.*xfs`),
	})
	if got := e.mutations(0)[before:]; len(got) != 0 || e.node(0).FSUUID() != uuid {
		t.Errorf("existing xfs touched: commands %q, uuid %s -> %s", got, uuid, e.node(0).FSUUID())
	}
}

func TestAccFilesystem_reusesExisting(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{}).promote()
	e.sh(0, "mkfs.ext4 -q /dev/drbd0")
	uuid := e.node(0).FSUUID()
	accTest(t, resource.TestStep{
		Config: e.filesystemConfig(0, `mount_options = "noatime"`),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("drbd_filesystem.test", tfjsonpath.New("uuid"), knownvalue.StringExact(uuid)),
		},
		Check: func(_ *terraform.State) error {
			if n := countArgv(e.node(0).Executed(), "mkfs.ext4"); n != 1 {
				return fmt.Errorf("mkfs.ext4 ran %d times, want only the out-of-band one", n)
			}
			if !e.ranCommand(0, "mount", "-t", "ext4", "-o", "noatime", "/dev/drbd0", defaultMountpoint) {
				return fmt.Errorf("mount with options not run: %q", e.mutations(0))
			}
			return nil
		},
	})
}

func TestAccFilesystem_onSecondary(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{}).promote()
	accTest(t, resource.TestStep{
		Config:      e.filesystemConfig(1),
		ExpectError: regexp.MustCompile(`(?s)could not be probed.*Primary`),
	})
	if countArgv(e.node(1).Executed(), "mkfs.ext4") != 0 {
		t.Error("mkfs ran on the secondary")
	}
}

func TestAccFilesystem_badInput(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{}).promote()
	cases := map[string]string{
		`mountpoint = "relative/path"`:          `absolute path`,
		`mountpoint = "/var/x; rm -rf /"`:       `shell metacharacters`,
		`mountpoint = "/var/../etc"`:            `clean path`,
		`mkfs_options = "-E nodiscard; reboot"`: `mkfs option`,
		`mount_options = "noatime,$(reboot)"`:   `mount options`,
		`fs_type = "ntfs"`:                      `value must be one of`,
		`device = "/dev/drbd0 /dev/sda"`:        `shell metacharacters`,
		"mount_options = \"noatime\\nreboot\"":  `mount options`,
		`device = "/dev/sda"`:                   `not a DRBD device`,
		`device = "/dev/drbd/by-res/pc0/x"`:     `not a DRBD device`,
		`mkfs_options = "-F"`:                   `force`,
		`mkfs_options = "-L chef -qf"`:          `force`,
		`mkfs_options = "--force"`:              `force`,
	}
	for attr, want := range cases {
		t.Run(attr, func(t *testing.T) {
			accTest(t, resource.TestStep{
				Config:      e.providerConfig() + block(`resource "drbd_filesystem" "test"`, e.hostArgs(0), attr),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(want),
			})
		})
	}
	t.Cleanup(func() {
		if got := e.hosts[0].Commands(); len(got) != 0 {
			t.Errorf("commands reached the host despite plan-time validation: %q", got)
		}
	})
}
