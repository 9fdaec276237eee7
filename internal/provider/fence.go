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
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
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

// attrGetter reads one attribute of a state, plan or config: their GetAttribute.
type attrGetter func(context.Context, path.Path, any) diag.Diagnostics

// fencedBy reports whether the host and port read with get are fenced: the host as written
// and the fenced_hosts entry that covers it. Unknown or unreadable attributes are not fenced.
func (d *providerData) fencedBy(ctx context.Context, get attrGetter) (host, entry string, fenced bool) {
	var h types.String
	var port types.Int64
	if diags := get(ctx, path.Root("host"), &h); diags.HasError() || h.IsNull() || h.IsUnknown() {
		return "", "", false
	}
	if diags := get(ctx, path.Root("port"), &port); diags.HasError() {
		return "", "", false
	}
	entry, fenced = d.fencedTarget(h.ValueString(), int(port.ValueInt64()))
	return h.ValueString(), entry, fenced
}

// remoteResource and remoteDataSource are the pointer types of what the fence wrappers wrap:
// every resource and data source embeds remoteBase, which knows the type name and, once
// configured, the provider data.
type (
	remoteResource[T any] interface {
		*T
		resource.ResourceWithConfigure
		base() *remoteBase
		// undoneOnDestroy says what Delete would have done on the host: the warning of a
		// destroy on a fenced host names it.
		undoneOnDestroy() string
	}
	remoteDataSource[T any] interface {
		*T
		datasource.DataSourceWithConfigure
		base() *remoteBase
	}
)

// refuseFenced reports whether the host read with get is fenced, adding the error that says
// so: refused (a format of the type name and the host) says what was not done, advice what to
// do instead.
func (r *remoteBase) refuseFenced(ctx context.Context, get attrGetter, diags *diag.Diagnostics, refused, advice string) bool {
	host, entry, fenced := r.data.fencedBy(ctx, get)
	if fenced {
		diags.AddError("Host Is Fenced", fmt.Sprintf(refused, r.name(), host)+fmt.Sprintf(": the host is in the "+
			"provider's fenced_hosts (%q), and the provider never contacts a fenced host.", entry)+advice)
	}
	return fenced
}

// fencedResource wraps a resource so that it never contacts a fenced host: Read keeps the
// last known state with a warning, Delete forgets the resource with a warning saying what
// was left undone, Create and Update fail naming the fence.
type fencedResource struct {
	resource.ResourceWithConfigure // the wrapped resource: Metadata, Schema and Configure are its own
	inner                          *remoteBase
	undone                         string // what the wrapped Delete would have done (undoneOnDestroy)
}

var (
	_ resource.ResourceWithImportState    = (*fencedResource)(nil)
	_ resource.ResourceWithValidateConfig = (*fencedResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*fencedResource)(nil)
)

// withFence returns the constructor of resource type T, named drbd_<typeName>, wrapped in a
// fencedResource.
func withFence[T any, R remoteResource[T]](typeName string) func() resource.Resource {
	return func() resource.Resource {
		r := named[T, R](typeName)
		return &fencedResource{r, r.base(), r.undoneOnDestroy()}
	}
}

// ValidateConfig forwards to the wrapped resource when it validates its configuration.
func (f *fencedResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	if v, ok := f.ResourceWithConfigure.(resource.ResourceWithValidateConfig); ok {
		v.ValidateConfig(ctx, req, resp)
	}
}

// ModifyPlan forwards to the wrapped resource when it modifies its plan.
func (f *fencedResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if v, ok := f.ResourceWithConfigure.(resource.ResourceWithModifyPlan); ok {
		v.ModifyPlan(ctx, req, resp)
	}
}

func (f *fencedResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if i, ok := f.ResourceWithConfigure.(resource.ResourceWithImportState); ok {
		i.ImportState(ctx, req, resp)
		return
	}
	resp.Diagnostics.AddError("Import Not Supported", f.inner.name()+" cannot be imported.")
}

// The wrappers also bound each operation by the resource's timeouts block, and mark every
// operation but Create sshx.SingleAttempt: only a Create expects a host that may still be
// booting, so only its connections are retried (connect_retries).

func (f *fencedResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if f.inner.refuseFenced(ctx, req.Plan.GetAttribute, &resp.Diagnostics, "%s cannot be created on %s",
		" Remove this resource from the configuration while the host is fenced, or unfence the host once it is back.") {
		return
	}
	ctx, cancel, ok := operationDeadline(ctx, f.inner.name(), "create", req.Plan.GetAttribute, &resp.Diagnostics)
	defer cancel()
	if ok {
		f.ResourceWithConfigure.Create(ctx, req, resp)
	}
}

func (f *fencedResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if f.inner.refuseFenced(ctx, req.Plan.GetAttribute, &resp.Diagnostics, "%s on %s cannot be updated", "") {
		return
	}
	ctx, cancel, ok := operationDeadline(sshx.SingleAttempt(ctx), f.inner.name(), "update", req.Plan.GetAttribute, &resp.Diagnostics)
	defer cancel()
	if ok {
		f.ResourceWithConfigure.Update(ctx, req, resp)
	}
}

func (f *fencedResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if host, entry, fenced := f.inner.data.fencedBy(ctx, req.State.GetAttribute); fenced {
		resp.Diagnostics.AddWarning("Host Is Fenced", fmt.Sprintf("%s on %s was not read: the host is in the provider's "+
			"fenced_hosts (%q). Its last known state is kept.", f.inner.name(), host, entry))
		return // resp.State still holds the prior state
	}
	ctx, cancel, ok := operationDeadline(sshx.SingleAttempt(ctx), f.inner.name(), "read", req.State.GetAttribute, &resp.Diagnostics)
	defer cancel()
	if ok {
		f.ResourceWithConfigure.Read(ctx, req, resp)
	}
}

func (f *fencedResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if host, entry, fenced := f.inner.data.fencedBy(ctx, req.State.GetAttribute); fenced {
		resp.Diagnostics.AddWarning("Host Is Fenced", fmt.Sprintf("%s on %s was removed from the state without contacting "+
			"the host, which is in the provider's fenced_hosts (%q): %s. A rebuilt host starts clean; a host that comes "+
			"back as it was still carries that state.", f.inner.name(), host, entry, f.undone))
		return
	}
	ctx, cancel, ok := operationDeadline(sshx.SingleAttempt(ctx), f.inner.name(), "delete", req.State.GetAttribute, &resp.Diagnostics)
	defer cancel()
	if ok {
		f.ResourceWithConfigure.Delete(ctx, req, resp)
	}
}

// fencedDataSource refuses to read a data source on a fenced host.
type fencedDataSource struct {
	datasource.DataSourceWithConfigure // the wrapped data source: Metadata, Schema and Configure are its own
	inner                              *remoteBase
}

// withFenceDS is withFence for data sources.
func withFenceDS[T any, D remoteDataSource[T]](typeName string) func() datasource.DataSource {
	return func() datasource.DataSource { d := named[T, D](typeName); return &fencedDataSource{d, d.base()} }
}

func (f *fencedDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	if f.inner.refuseFenced(ctx, req.Config.GetAttribute, &resp.Diagnostics, "data.%s cannot read %s",
		" Drop this data source from the configuration while the host is fenced (for example with the same input that fences it).") {
		return
	}
	ctx, cancel, ok := dataSourceDeadline(sshx.SingleAttempt(ctx), req.Config.GetAttribute, &resp.Diagnostics)
	defer cancel()
	if ok {
		f.DataSourceWithConfigure.Read(ctx, req, resp)
	}
}
