package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

// remoteBase is embedded by every resource and data source: it names the type, receives the
// provider data and opens hosts.
type remoteBase struct {
	typeName string // the type name without the provider's prefix: "primary" for drbd_primary
	data     *providerData
}

// named returns a new T (through its pointer type P) named drbd_<typeName>.
func named[T any, P interface {
	*T
	base() *remoteBase
}](typeName string) P {
	p := P(new(T))
	p.base().typeName = typeName
	return p
}

// base returns the embedded remoteBase.
func (r *remoteBase) base() *remoteBase { return r }

// name is the full type name, e.g. "drbd_primary".
func (r *remoteBase) name() string { return providerTypeName + "_" + r.typeName }

// Metadata implements resource.Resource for every embedding resource.
func (r *remoteBase) Metadata(_ context.Context, _ resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = r.name()
}

// Configure implements resource.ResourceWithConfigure for every embedding resource.
func (r *remoteBase) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// remoteDataSourceBase is remoteBase for data sources, whose Configure has other types.
type remoteDataSourceBase struct {
	remoteBase
}

// Metadata implements datasource.DataSource.
func (r *remoteDataSourceBase) Metadata(_ context.Context, _ datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = r.name()
}

// Configure implements datasource.DataSourceWithConfigure.
func (r *remoteDataSourceBase) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// providerDataFrom returns the provider data a Configure received, nil before the provider
// is configured; anything else is a bug, reported in diags.
func providerDataFrom(v any, diags *diag.Diagnostics) *providerData {
	if v == nil {
		return nil
	}
	d, ok := v.(*providerData)
	if !ok {
		diags.AddError("Unexpected Provider Data",
			fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider; please report it.", v))
		return nil
	}
	return d
}

// host returns the remote host of a connection model, or adds an error diagnostic.
func (r *remoteBase) host(c connectionModel, diags *diag.Diagnostics) *remoteHost {
	if r.data == nil || r.data.pool == nil {
		diags.AddError("Provider Not Configured",
			"The drbd provider has no usable SSH configuration, so it cannot reach "+c.Host.ValueString()+
				". This happens when the provider block depends on values that are still unknown; apply the "+
				"resources those values come from first (terraform apply -target=...), then apply again.")
		return nil
	}
	return &remoteHost{pool: r.data.pool, target: r.data.resolve(c), primaries: &r.data.primaries, cache: &r.data.probes, devices: &r.data.devices}
}

// peerOf returns the peer named by a resource's peer_* attributes. Its status reads are never
// shared, since a step reads the peer to decide, and it is not recorded in the registry of
// Primaries.
func (r *remoteBase) peerOf(c connectionModel) *remoteHost {
	return &remoteHost{pool: r.data.pool, target: r.data.resolve(c)}
}

// hostModel is a resource or data source model: it embeds connectionModel.
type hostModel interface{ connection() connectionModel }

// connection returns the connection attributes of the model that embeds c.
func (c connectionModel) connection() connectionModel { return c }

// actsOnResource is a hostModel of one DRBD resource.
type actsOnResource interface {
	hostModel
	drbdResource() types.String
}

// getter reads a model from a plan, state or config: their Get.
type getter func(context.Context, any) diag.Diagnostics

// openHost begins a step: it reads the model with get and opens its host; h is nil when
// either failed (diags say why).
func openHost[M hostModel](ctx context.Context, r *remoteBase, get getter, diags *diag.Diagnostics) (m M, h *remoteHost) {
	if m, ok := readModel[M](ctx, get, diags); ok {
		return m, r.host(m.connection(), diags)
	}
	return m, nil
}

// readModel reads a model with get, for the steps that decide something before opening a
// host (or open none); ok is false when reading failed (diags say why).
func readModel[M any](ctx context.Context, get getter, diags *diag.Diagnostics) (m M, ok bool) {
	diags.Append(get(ctx, &m)...)
	return m, !diags.HasError()
}

// openResource is openHost for a step on one DRBD resource: it also returns the resource's
// checked name (resourceHost).
func openResource[M actsOnResource](ctx context.Context, r *remoteBase, get getter, diags *diag.Diagnostics) (m M, h *remoteHost, name drbd.ResourceName) {
	if m, ok := readModel[M](ctx, get, diags); ok {
		h, name = r.resourceHost(m.connection(), m.drbdResource(), diags)
		return m, h, name
	}
	return m, nil, name
}

// readResource begins a Read: openResource, then the resource's status (probeForRead, which
// may share one status read per host with the other Reads of the same refresh); p is nil when
// any of it failed (diags say why, under summary).
func readResource[M actsOnResource](ctx context.Context, r *remoteBase, get getter, summary string, diags *diag.Diagnostics) (m M, h *remoteHost, name drbd.ResourceName, p *drbd.Probe) {
	m, h, name = openResource[M](ctx, r, get, diags)
	if h != nil {
		p, _ = h.probe(ctx, diags, summary, name, statusShared)
	}
	return m, h, name, p
}

// resourceHost is host for the steps on one DRBD resource: it also returns the resource's
// name, checked once here (the schema checks it at plan time; an imported ID has not been),
// so that every command built for it afterwards is a plain string.
func (r *remoteBase) resourceHost(c connectionModel, res types.String, diags *diag.Diagnostics) (*remoteHost, drbd.ResourceName) {
	name, err := drbd.ParseResourceName(res.ValueString())
	if err != nil {
		diags.AddError("Invalid DRBD Resource Name", err.Error())
		return nil, name
	}
	return r.host(c, diags), name
}

// planOnlyUpdate is embedded by the resources whose attributes that change in place only
// matter to later operations (waiting, destroying, creating): their Update runs nothing on
// the host, and the plan becomes the state (computed values are carried over from the prior
// state by UseStateForUnknown).
type planOnlyUpdate struct{}

// Update implements resource.Resource for the embedding resources.
func (planOnlyUpdate) Update(_ context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.State.Raw = req.Plan.Raw
}

// savedModel is a pointer to a resource or data source model: its embedded connection
// attributes are where save sets the ID and the host key fingerprint.
type savedModel interface{ connectionAttrs() *connectionModel }

// connectionAttrs returns the connection attributes to set (savedModel).
func (c *connectionModel) connectionAttrs() *connectionModel { return c }

// save ends a Create, Read or Update that talked to the host: it sets the ID from the
// connection and rest, records the host key fingerprint of the live connection, and stores
// model as the new state.
func (h *remoteHost) save(ctx context.Context, diags *diag.Diagnostics, state *tfsdk.State, model savedModel, rest string) {
	c := model.connectionAttrs()
	c.ID = types.StringValue(formatID(*c, rest))
	h.recordFingerprint(ctx, diags, c)
	diags.Append(state.Set(ctx, model)...)
}

// driftWarning tells why Read found the host different from the state, naming the host and
// what it saw: for example that DRBD resource pc0 on root@backend1:22 is Secondary, not
// Primary, so the next apply promotes it.
func driftWarning(diags *diag.Diagnostics, h *remoteHost, format string, args ...any) {
	diags.AddWarning("Drift on "+h.String(), fmt.Sprintf(format, args...))
}
