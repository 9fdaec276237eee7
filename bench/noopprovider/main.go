// Command noopprovider is the floor of the refresh benchmark: a terraform-plugin-framework
// provider named "drbd" with exactly this provider's schemas (the provider block, every
// resource and the data source are taken from internal/provider's own Schema methods) and
// CRUD that does nothing. Read keeps the prior state, so a `terraform plan` against state
// written by the real provider refreshes every object without a single remote command:
// what remains is Terraform, the plugin protocol and the framework's schema handling
// (validators and plan modifiers included), the same for both. bench/run.sh installs it as
// terraform-provider-drbd in its own dev_overrides directory.
package main

import (
	"context"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	drbd "github.com/seed-a700e435/terraform-provider-drbd/internal/provider"
)

// New returns the no-op provider wrapping the real provider's schemas.
func New() provider.Provider { return noopProvider{real: drbd.New("bench-noop")()} }

type noopProvider struct{ real provider.Provider }

func (p noopProvider) Metadata(ctx context.Context, req provider.MetadataRequest, resp *provider.MetadataResponse) {
	p.real.Metadata(ctx, req, resp)
}

func (p noopProvider) Schema(ctx context.Context, req provider.SchemaRequest, resp *provider.SchemaResponse) {
	p.real.Schema(ctx, req, resp)
}

// Configure does nothing: no SSH pool, no key parsing.
func (noopProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

func (p noopProvider) Resources(ctx context.Context) []func() resource.Resource {
	var out []func() resource.Resource
	for _, f := range p.real.Resources(ctx) {
		out = append(out, func() resource.Resource { return noopResource{real: f()} })
	}
	return out
}

func (p noopProvider) DataSources(ctx context.Context) []func() datasource.DataSource {
	var out []func() datasource.DataSource
	for _, f := range p.real.DataSources(ctx) {
		out = append(out, func() datasource.DataSource { return noopDataSource{real: f()} })
	}
	return out
}

// noopResource has the real resource's type name and schema and no behaviour.
type noopResource struct{ real resource.Resource }

func (r noopResource) Metadata(ctx context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	r.real.Metadata(ctx, req, resp)
}

func (r noopResource) Schema(ctx context.Context, req resource.SchemaRequest, resp *resource.SchemaResponse) {
	r.real.Schema(ctx, req, resp)
}

// Create records the plan, unknown computed values as null.
func (noopResource) Create(_ context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	raw, err := knownOrNull(req.Plan.Raw)
	if err != nil {
		resp.Diagnostics.AddError("noop create", err.Error())
		return
	}
	resp.State.Raw = raw
}

// Read keeps the prior state (the framework pre-fills the response with it).
func (noopResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {}

func (noopResource) Update(_ context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	raw, err := knownOrNull(req.Plan.Raw)
	if err != nil {
		resp.Diagnostics.AddError("noop update", err.Error())
		return
	}
	resp.State.Raw = raw
}

// Delete does nothing; the framework removes the state.
func (noopResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}

// noopDataSource has the real data source's type name and schema; Read returns the
// configuration (computed attributes null).
type noopDataSource struct{ real datasource.DataSource }

func (d noopDataSource) Metadata(ctx context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	d.real.Metadata(ctx, req, resp)
}

func (d noopDataSource) Schema(ctx context.Context, req datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	d.real.Schema(ctx, req, resp)
}

func (noopDataSource) Read(_ context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	resp.State.Raw = req.Config.Raw.Copy()
}

// knownOrNull replaces every unknown value with a null of the same type.
func knownOrNull(v tftypes.Value) (tftypes.Value, error) {
	return tftypes.Transform(v, func(_ *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if !v.IsKnown() {
			return tftypes.NewValue(v.Type(), nil), nil
		}
		return v, nil
	})
}

func main() {
	err := providerserver.Serve(context.Background(), New,
		providerserver.ServeOpts{Address: "registry.terraform.io/seed-a700e435/drbd", ProtocolVersion: 6})
	if err != nil {
		log.Fatal(err)
	}
}
