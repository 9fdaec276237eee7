package main

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	drbd "github.com/seed-a700e435/terraform-provider-drbd/internal/provider"
)

func schemaOf(t *testing.T, p func() provider.Provider) *tfprotov6.GetProviderSchemaResponse {
	t.Helper()
	srv := providerserver.NewProtocol6(p())()
	resp, err := srv.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Diagnostics) > 0 {
		t.Fatalf("diagnostics: %+v", resp.Diagnostics)
	}
	return resp
}

// The floor of the refresh benchmark is only a floor of this provider if Terraform sees the
// same provider: same provider block, resource types, data sources and attributes.
func TestSameSchemasAsTheProvider(t *testing.T) {
	t.Parallel()
	want := schemaOf(t, drbd.New("bench-noop"))
	got := schemaOf(t, New)
	if len(want.ResourceSchemas) == 0 || len(want.DataSourceSchemas) == 0 {
		t.Fatalf("the provider has %d resources and %d data sources", len(want.ResourceSchemas), len(want.DataSourceSchemas))
	}
	for _, x := range []struct {
		name      string
		got, want any
	}{
		{"provider", got.Provider, want.Provider},
		{"resources", got.ResourceSchemas, want.ResourceSchemas},
		{"data sources", got.DataSourceSchemas, want.DataSourceSchemas},
		{"server capabilities", got.ServerCapabilities, want.ServerCapabilities},
	} {
		if d := cmp.Diff(x.want, x.got); d != "" {
			t.Errorf("%s schema differs from internal/provider's (-provider +noop):\n%s", x.name, d)
		}
	}
}
