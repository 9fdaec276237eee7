package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

func TestProvider_schemaValid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := New("test")()
	srv := providerserver.NewProtocol6(p)()
	resp, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Errorf("schema diagnostic: %s: %s", d.Summary, d.Detail)
	}
	want := []string{"drbd_resource", "drbd_primary", "drbd_filesystem", "drbd_sync", "drbd_verify", "drbd_chef_backend_ready"}
	for _, name := range want {
		if _, ok := resp.ResourceSchemas[name]; !ok {
			t.Errorf("resource %s missing", name)
		}
	}
	if _, ok := resp.DataSourceSchemas["drbd_status"]; !ok {
		t.Error("data source drbd_status missing")
	}
	// Every attribute documents itself.
	check := func(kind string, s *tfprotov6.Schema) {
		var walk func(prefix string, b *tfprotov6.SchemaBlock)
		walk = func(prefix string, b *tfprotov6.SchemaBlock) {
			for _, a := range b.Attributes {
				if strings.TrimSpace(a.Description) == "" {
					t.Errorf("%s: attribute %s%s has no description", kind, prefix, a.Name)
				}
			}
			for _, nb := range b.BlockTypes {
				walk(prefix+nb.TypeName+".", nb.Block)
			}
		}
		walk("", s.Block)
	}
	check("provider", resp.Provider)
	for name, s := range resp.ResourceSchemas {
		check(name, s)
	}
	for name, s := range resp.DataSourceSchemas {
		check(name, s)
	}
}
