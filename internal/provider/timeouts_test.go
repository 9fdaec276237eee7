package provider

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

// TestTimeouts_everyOperationBounded: every resource has a timeouts block with an attribute
// for each operation that runs commands on a host (update only where Update does), and
// drbd_status one for read; each attribute's description names its default.
func TestTimeouts_everyOperationBounded(t *testing.T) {
	t.Parallel()
	srv := providerserver.NewProtocol6(New("test")())()
	resp, err := srv.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"drbd_resource":           {"create", "delete", "read", "update"},
		"drbd_primary":            {"create", "delete", "read"},
		"drbd_filesystem":         {"create", "delete", "read", "update"},
		"drbd_sync":               {"create", "delete", "read"},
		"drbd_chef_backend_ready": {"create", "delete", "read"},
		"drbd_verify":             {"create"},
	}
	schemas := map[string]*tfprotov6.Schema{"data.drbd_status": resp.DataSourceSchemas["drbd_status"]}
	want["data.drbd_status"] = []string{"read"}
	for name, s := range resp.ResourceSchemas {
		schemas[name] = s
	}
	defaultRE := regexp.MustCompile("Defaults to `[0-9]+[smh]`")
	for name, ops := range want {
		s := schemas[name]
		if s == nil {
			t.Errorf("%s: no schema", name)
			continue
		}
		var block *tfprotov6.SchemaBlock
		for _, b := range s.Block.BlockTypes {
			if b.TypeName == "timeouts" {
				block = b.Block
			}
		}
		if block == nil {
			t.Errorf("%s has no timeouts block", name)
			continue
		}
		var got []string
		for _, a := range block.Attributes {
			got = append(got, a.Name)
			if !defaultRE.MatchString(a.Description) {
				t.Errorf("%s: timeouts.%s does not document its default: %q", name, a.Name, a.Description)
			}
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(ops, ",") {
			t.Errorf("%s: timeouts has %v, want %v", name, got, ops)
		}
	}
}

// TestAccTimeouts_read: a refresh whose commands hang fails at timeouts.read, for every
// resource and for drbd_status, naming the step and the timeout.
func TestAccTimeouts_read(t *testing.T) {
	testAccPreCheck(t)
	const read = "timeouts {\n    read = \"1s\"\n  }"
	cases := map[string]struct {
		config func(e *testEnv) string
		want   string
	}{
		"drbd_resource":   {func(e *testEnv) string { return e.resourceConfig(0, read) }, "Unable to Read DRBD Resource"},
		"drbd_primary":    {func(e *testEnv) string { return e.primaryConfig(0, read) }, "Unable to Read"},
		"drbd_filesystem": {func(e *testEnv) string { return e.filesystemConfig(0, `mountpoint = "/data"`, read) }, "Unable to Read"},
		"drbd_sync":       {func(e *testEnv) string { return e.syncConfig(read) }, "Unable to Read"},
		"drbd_chef_backend_ready": {func(e *testEnv) string {
			return e.readyConfig(0, `reconfigure = false`, read)
		}, "Unable to Read"},
		"drbd_status": {func(e *testEnv) string {
			return e.providerConfig() + block(`data "drbd_status" "n0"`, e.hostArgs(0), `resource = "pc0"`, read)
		}, "Unable to Read"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t, drbdsim.PairConfig{}).promote()
			e.pair.Advance(100)
			accTest(t,
				resource.TestStep{Config: tc.config(e)},
				resource.TestStep{
					// Every command now takes a minute: far beyond the 1s read timeout.
					PreConfig:   func() { e.hosts[0].SetCommandDelay(time.Minute) },
					Config:      tc.config(e),
					ExpectError: diagRE(tc.want, "did not finish before the operation's timeout"),
				},
				resource.TestStep{
					PreConfig: func() { e.hosts[0].SetCommandDelay(0) },
					Config:    tc.config(e),
				},
			)
		})
	}
}
