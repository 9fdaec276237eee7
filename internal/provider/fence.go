package provider

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// fenceSet is the provider's fenced_hosts: hosts the operator has fenced (powered off, or cut
// off so they cannot write). Entries are "host" (every port) or "host:port" ("[addr]:port" for
// IPv6), matched against a resource's host and port as written in the configuration.
type fenceSet struct {
	any   map[string]bool // host, any port
	ports map[string]bool // host:port (net.JoinHostPort form)
	raw   []string
}

// parseFence parses one fenced_hosts entry into its host and port (0 = every port).
func parseFence(entry string) (host string, port int, err error) {
	e := strings.TrimSpace(entry)
	if e == "" {
		return "", 0, fmt.Errorf("an empty fenced_hosts entry")
	}
	if strings.Count(e, "[") != strings.Count(e, "]") {
		return "", 0, fmt.Errorf("fenced_hosts entry %q has unbalanced brackets", entry)
	}
	if ip := net.ParseIP(strings.Trim(e, "[]")); ip != nil && !strings.Contains(e, "]:") {
		return strings.Trim(e, "[]"), 0, nil
	}
	if h, p, err := net.SplitHostPort(e); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", 0, fmt.Errorf("fenced_hosts entry %q: port %q is not a number from 1 to 65535", entry, p)
		}
		return h, n, nil
	}
	if strings.ContainsAny(e, "[]/ \t") || strings.Count(e, ":") > 0 {
		return "", 0, fmt.Errorf("fenced_hosts entry %q is not a host or host:port (IPv6 as [addr]:port)", entry)
	}
	return e, 0, nil
}

// newFenceSet builds a fenceSet from validated entries.
func newFenceSet(entries []string) fenceSet {
	f := fenceSet{any: map[string]bool{}, ports: map[string]bool{}}
	for _, e := range entries {
		h, p, err := parseFence(e)
		if err != nil {
			continue // rejected by the schema validator
		}
		f.raw = append(f.raw, e)
		if p == 0 {
			f.any[h] = true
		} else {
			f.ports[net.JoinHostPort(h, strconv.Itoa(p))] = true
		}
	}
	sort.Strings(f.raw)
	return f
}

// fenced reports whether host (with its effective port) is fenced, and the entry that says so.
func (f fenceSet) fenced(host string, port int) (string, bool) {
	if f.any[host] {
		return host, true
	}
	if hp := net.JoinHostPort(host, strconv.Itoa(port)); f.ports[hp] {
		return hp, true
	}
	return "", false
}

// fencedTarget reports whether a resource's host/port (port 0 = the provider's) is fenced.
func (d *providerData) fencedTarget(host string, port int) (string, bool) {
	if d == nil {
		return "", false
	}
	if port == 0 {
		port = d.port
	}
	return d.fence.fenced(host, port)
}

// fenceAttrs reads host and port from a state, plan or config.
func fenceAttrs(ctx context.Context, get func(context.Context, path.Path, any) diag.Diagnostics) (string, int, bool) {
	var host types.String
	var port types.Int64
	if d := get(ctx, path.Root("host"), &host); d.HasError() || host.IsNull() || host.IsUnknown() {
		return "", 0, false
	}
	if d := get(ctx, path.Root("port"), &port); d.HasError() {
		return "", 0, false
	}
	return host.ValueString(), int(port.ValueInt64()), true
}

// undoneOnDestroy says what a resource type's Delete would have done on its host.
var undoneOnDestroy = map[string]string{
	"drbd_resource":           "`drbdadm down` was not run",
	"drbd_primary":            "the node was not demoted (`drbdadm secondary`)",
	"drbd_filesystem":         "the filesystem was not unmounted",
	"drbd_sync":               "nothing (destroying drbd_sync never changes a host)",
	"drbd_chef_backend_ready": "`stop_command` did not run and the ready file was left as it was",
}

// fencedResource wraps a resource so that it never contacts a fenced host: Read keeps the
// last known state with a warning, Delete forgets the resource with a warning saying what
// was left undone, Create and Update fail naming the fence.
type fencedResource struct {
	resource.Resource // the wrapped resource: Metadata and Schema are its own
	data              *providerData
}

var (
	_ resource.ResourceWithConfigure      = (*fencedResource)(nil)
	_ resource.ResourceWithImportState    = (*fencedResource)(nil)
	_ resource.ResourceWithValidateConfig = (*fencedResource)(nil)
)

// ValidateConfig forwards to the wrapped resource when it validates its configuration.
func (f *fencedResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	if v, ok := f.Resource.(resource.ResourceWithValidateConfig); ok {
		v.ValidateConfig(ctx, req, resp)
	}
}

// withFence wraps a resource constructor.
func withFence(newResource func() resource.Resource) func() resource.Resource {
	return func() resource.Resource { return &fencedResource{Resource: newResource()} }
}

// name returns the resource type name (the framework builds a new value per call, so it
// is asked again rather than remembered from Metadata).
func (f *fencedResource) name(ctx context.Context) string {
	var resp resource.MetadataResponse
	f.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: "drbd"}, &resp)
	return resp.TypeName
}

func (f *fencedResource) Configure(ctx context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	f.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if c, ok := f.Resource.(resource.ResourceWithConfigure); ok {
		c.Configure(ctx, req, resp)
	}
}

func (f *fencedResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if i, ok := f.Resource.(resource.ResourceWithImportState); ok {
		i.ImportState(ctx, req, resp)
		return
	}
	resp.Diagnostics.AddError("Import Not Supported", f.name(ctx)+" cannot be imported.")
}

// fencedBy reports the fenced_hosts entry that covers the host in s, if any.
func (f *fencedResource) fencedBy(ctx context.Context, s tfsdk.State) (string, string, bool) {
	host, port, ok := fenceAttrs(ctx, s.GetAttribute)
	if !ok {
		return "", "", false
	}
	entry, fenced := f.data.fencedTarget(host, port)
	return host, entry, fenced
}

func (f *fencedResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if host, port, ok := fenceAttrs(ctx, req.Plan.GetAttribute); ok {
		if entry, fenced := f.data.fencedTarget(host, port); fenced {
			resp.Diagnostics.AddError("Host Is Fenced", fmt.Sprintf("%s cannot be created on %s: the host is in the provider's "+
				"fenced_hosts (%q), and the provider never contacts a fenced host. Remove this resource from the configuration "+
				"while the host is fenced, or unfence the host once it is back.", f.name(ctx), host, entry))
			return
		}
	}
	f.Resource.Create(ctx, req, resp)
}

func (f *fencedResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if host, port, ok := fenceAttrs(ctx, req.Plan.GetAttribute); ok {
		if entry, fenced := f.data.fencedTarget(host, port); fenced {
			resp.Diagnostics.AddError("Host Is Fenced", fmt.Sprintf("%s on %s cannot be updated: the host is in the provider's "+
				"fenced_hosts (%q), and the provider never contacts a fenced host.", f.name(ctx), host, entry))
			return
		}
	}
	f.Resource.Update(ctx, req, resp)
}

func (f *fencedResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if host, entry, fenced := f.fencedBy(ctx, req.State); fenced {
		resp.Diagnostics.AddWarning("Host Is Fenced", fmt.Sprintf("%s on %s was not read: the host is in the provider's "+
			"fenced_hosts (%q). Its last known state is kept.", f.name(ctx), host, entry))
		return // resp.State still holds the prior state
	}
	f.Resource.Read(ctx, req, resp)
}

func (f *fencedResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if host, entry, fenced := f.fencedBy(ctx, req.State); fenced {
		undone := undoneOnDestroy[f.name(ctx)]
		if undone == "" {
			undone = "its destroy step did not run"
		}
		resp.Diagnostics.AddWarning("Host Is Fenced", fmt.Sprintf("%s on %s was removed from the state without contacting "+
			"the host, which is in the provider's fenced_hosts (%q): %s. A rebuilt host starts clean; a host that comes "+
			"back as it was still carries that state.", f.name(ctx), host, entry, undone))
		return
	}
	f.Resource.Delete(ctx, req, resp)
}

// fencedDataSource refuses to read a data source on a fenced host.
type fencedDataSource struct {
	datasource.DataSource // the wrapped data source: Metadata and Schema are its own
	data                  *providerData
}

var _ datasource.DataSourceWithConfigure = (*fencedDataSource)(nil)

// withFenceDS wraps a data source constructor.
func withFenceDS(newDataSource func() datasource.DataSource) func() datasource.DataSource {
	return func() datasource.DataSource { return &fencedDataSource{DataSource: newDataSource()} }
}

// name returns the data source type name.
func (f *fencedDataSource) name(ctx context.Context) string {
	var resp datasource.MetadataResponse
	f.Metadata(ctx, datasource.MetadataRequest{ProviderTypeName: "drbd"}, &resp)
	return resp.TypeName
}

func (f *fencedDataSource) Configure(ctx context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	f.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if c, ok := f.DataSource.(datasource.DataSourceWithConfigure); ok {
		c.Configure(ctx, req, resp)
	}
}

func (f *fencedDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	if host, port, ok := fenceAttrs(ctx, req.Config.GetAttribute); ok {
		if entry, fenced := f.data.fencedTarget(host, port); fenced {
			resp.Diagnostics.AddError("Host Is Fenced", fmt.Sprintf("data.%s cannot read %s: the host is in the provider's "+
				"fenced_hosts (%q), and the provider never contacts a fenced host. Drop this data source from the "+
				"configuration while the host is fenced (for example with the same input that fences it).", f.name(ctx), host, entry))
			return
		}
	}
	f.DataSource.Read(ctx, req, resp)
}
