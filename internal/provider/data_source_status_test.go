package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

func TestAccStatusDataSource(t *testing.T) {
	testAccPreCheck(t)
	for _, tc := range []struct {
		name    string
		version drbdsim.Version
		conn    string
	}{
		{"drbd84", drbdsim.V84, "SyncSource"},
		{"drbd9", drbdsim.V9, "Connected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, drbdsim.PairConfig{Version: tc.version, SyncStepPercent: -1}).promote()
			e.pair.Advance(19.5)
			accTest(t, resource.TestStep{
				Config: e.providerConfig() + e.statusBlock(0, "n0") + e.statusBlock(1, "n1"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.drbd_status.n0", tfjsonpath.New("role"), knownvalue.StringExact("Primary")),
					statecheck.ExpectKnownValue("data.drbd_status.n0", tfjsonpath.New("peer_role"), knownvalue.StringExact("Secondary")),
					statecheck.ExpectKnownValue("data.drbd_status.n0", tfjsonpath.New("connection_state"), knownvalue.StringExact(tc.conn)),
					statecheck.ExpectKnownValue("data.drbd_status.n0", tfjsonpath.New("disk_state"), knownvalue.StringExact("UpToDate")),
					statecheck.ExpectKnownValue("data.drbd_status.n0", tfjsonpath.New("peer_disk_state"), knownvalue.StringExact("Inconsistent")),
					statecheck.ExpectKnownValue("data.drbd_status.n0", tfjsonpath.New("in_sync"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.drbd_status.n0", tfjsonpath.New("split_brain"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.drbd_status.n1", tfjsonpath.New("role"), knownvalue.StringExact("Secondary")),
					statecheck.ExpectKnownValue("data.drbd_status.n1", tfjsonpath.New("disk_state"), knownvalue.StringExact("Inconsistent")),
					statecheck.ExpectKnownValue("data.drbd_status.n1", tfjsonpath.New("configured"), knownvalue.Bool(true)),
				},
			})
		})
	}
}

func TestAccStatusDataSource_notUp(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	accTest(t, resource.TestStep{
		Config: e.providerConfig() + e.statusBlock(0, "test"),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("data.drbd_status.test", tfjsonpath.New("configured"), knownvalue.Bool(false)),
			statecheck.ExpectKnownValue("data.drbd_status.test", tfjsonpath.New("connection_state"), knownvalue.StringExact("Unconfigured")),
			statecheck.ExpectKnownValue("data.drbd_status.test", tfjsonpath.New("drbd_version"), knownvalue.StringExact("8.4.11")),
			statecheck.ExpectKnownValue("data.drbd_status.test", tfjsonpath.New("utils_version"), knownvalue.StringExact("9.22.0")),
		},
	})
}
