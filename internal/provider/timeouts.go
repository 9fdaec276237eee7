package provider

import (
	"context"
	"fmt"
	"time"

	dstimeouts "github.com/hashicorp/terraform-plugin-framework-timeouts/datasource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// opTimeouts are the default timeouts of a resource type's operations. Zero means the
// operation runs nothing on a host (Update of most types), so its timeouts block has no such
// attribute.
type opTimeouts struct{ create, read, update, delete time.Duration }

// defaultReadTimeout bounds every Read and drbd_status: a refresh reads a status and a file or
// two, so minutes mean a wedged host.
const defaultReadTimeout = 5 * time.Minute

// defaultTimeouts are the defaults of each resource type's timeouts block, in one place: the
// fence wrapper applies them and each schema documents them.
var defaultTimeouts = map[string]opTimeouts{
	// drbd_resource's Update may grow the device and wait for the resync of the new area.
	"drbd_resource":           {create: 20 * time.Minute, read: defaultReadTimeout, update: defaultSyncTimeout, delete: 10 * time.Minute},
	"drbd_primary":            {create: 20 * time.Minute, read: defaultReadTimeout, delete: 10 * time.Minute},
	"drbd_filesystem":         {create: 30 * time.Minute, read: defaultReadTimeout, update: 30 * time.Minute, delete: 10 * time.Minute},
	"drbd_sync":               {create: defaultSyncTimeout, read: defaultReadTimeout, delete: 10 * time.Minute},
	"drbd_chef_backend_ready": {create: defaultReconfigureTimeout, read: defaultReadTimeout, delete: stopTimeout + 10*time.Minute},
	// drbd_verify's Read and Delete run nothing.
	"drbd_verify": {create: defaultVerifyTimout},
}

// durationText writes d as the shortest Go duration a user would write: "24h", "5m", "90s".
func durationText(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	default:
		return fmt.Sprintf("%ds", d/time.Second)
	}
}

// timeoutDescription documents one timeouts attribute.
func timeoutDescription(what string, d time.Duration) string {
	return fmt.Sprintf("How long %s may take, as a Go duration (`30s`, `2h45m`); every command it runs on a host "+
		"ends at this deadline, there too (under `timeout`). Defaults to `%s`.", what, durationText(d))
}

// timeoutsBlock is the timeouts block of resource type name, with an attribute for each of
// its operations that runs commands, documenting its default.
func timeoutsBlock(ctx context.Context, name string) schema.Block {
	d := defaultTimeouts[name]
	return timeouts.Block(ctx, timeouts.Opts{
		Create: d.create > 0, CreateDescription: timeoutDescription("creating it", d.create),
		Read: d.read > 0, ReadDescription: timeoutDescription("reading it (refresh, plan)", d.read),
		Update: d.update > 0, UpdateDescription: timeoutDescription("updating it", d.update),
		Delete: d.delete > 0, DeleteDescription: timeoutDescription("destroying it", d.delete),
	})
}

// dataSourceTimeoutsBlock is drbd_status's timeouts block: read only.
func dataSourceTimeoutsBlock(ctx context.Context) dsschema.Block {
	return dstimeouts.BlockWithOpts(ctx, dstimeouts.Opts{
		ReadDescription: timeoutDescription("reading the status", defaultReadTimeout),
	})
}

// operationDeadline bounds ctx by the timeouts.<op> read with get (the default of the
// resource type when unset). ok is false when the value could not be read (diags say why).
func operationDeadline(ctx context.Context, name, op string, get attrGetter, diags *diag.Diagnostics) (context.Context, context.CancelFunc, bool) {
	d := defaultTimeouts[name]
	var t timeouts.Value
	diags.Append(get(ctx, path.Root("timeouts"), &t)...)
	if diags.HasError() {
		return ctx, func() {}, false
	}
	var timeout time.Duration
	var td diag.Diagnostics
	switch op {
	case "create":
		timeout, td = t.Create(ctx, d.create)
	case "read":
		timeout, td = t.Read(ctx, d.read)
	case "update":
		timeout, td = t.Update(ctx, d.update)
	default:
		timeout, td = t.Delete(ctx, d.delete)
	}
	diags.Append(td...)
	if diags.HasError() || timeout <= 0 {
		return ctx, func() {}, !diags.HasError()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, cancel, true
}

// dataSourceDeadline is operationDeadline for drbd_status's timeouts.read.
func dataSourceDeadline(ctx context.Context, get attrGetter, diags *diag.Diagnostics) (context.Context, context.CancelFunc, bool) {
	var t dstimeouts.Value
	diags.Append(get(ctx, path.Root("timeouts"), &t)...)
	if diags.HasError() {
		return ctx, func() {}, false
	}
	timeout, td := t.Read(ctx, defaultReadTimeout)
	diags.Append(td...)
	if diags.HasError() {
		return ctx, func() {}, false
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, cancel, true
}
