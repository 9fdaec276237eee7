package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/hostfs"
)

var _ resource.ResourceWithImportState = (*chefBackendReadyResource)(nil)

const (
	defaultReadyFile          = "/var/opt/opscode/drbd/drbd_ready"
	defaultReconfigureCommand = "chef-server-ctl reconfigure"
	defaultReconfigureTimeout = 60 * time.Minute
	// stopTimeout bounds stop_command, so that a hanging stop cannot hold a destroy forever.
	stopTimeout = 30 * time.Minute
)

// chefBackendReadyResource is the drbd_chef_backend_ready resource. Its settings matter only at
// creation or destruction. Update runs nothing on the host.
type chefBackendReadyResource struct {
	remoteBase
	planOnlyUpdate
}

func (r *chefBackendReadyResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Marks a Chef Server HA backend ready: touches the `drbd_ready` file (the Chef recipe blocks " +
			"until it exists), then runs `chef-server-ctl reconfigure`, streaming its output to the provider log at INFO and " +
			"failing with its exit code and last lines of output. Make the primary's instance depend on `drbd_sync` and the " +
			"secondary's on the primary's. On destroy it runs `stop_command` first, when set, so that Chef Server lets go " +
			"of the DRBD filesystem before it is unmounted. `terraform plan` warns and plans the step again when the ready " +
			"file is gone.",
		Attributes: connectionResourceAttributes(map[string]schema.Attribute{
			"ready_file": schema.StringAttribute{
				MarkdownDescription: "Path of the ready file. Defaults to `/var/opt/opscode/drbd/drbd_ready`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(defaultReadyFile),
				Validators:          []validator.String{absPathValidator()},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"reconfigure": schema.BoolAttribute{
				MarkdownDescription: "Run `reconfigure_command` after touching the ready file. Defaults to `true`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(true),
			},
			"reconfigure_command": schema.StringAttribute{
				MarkdownDescription: "Command run after touching the ready file. Defaults to `chef-server-ctl reconfigure`. " +
					"**Passed to the remote shell as written**, like `stop_command` (so pipes, `&&` and environment " +
					"assignments work); never build it from untrusted input. Never put a secret in it: the command is " +
					"stored in the state in plain text, written to the provider log and visible to every user of the host " +
					"in the process list (`ps`) while it runs; read secrets on the host instead (a file, an environment file).",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(defaultReconfigureCommand),
				Validators: []validator.String{nonBlankValidator()},
			},
			"stop_command": schema.StringAttribute{
				MarkdownDescription: "Command that stops Chef Server when the resource is destroyed, e.g. `chef-server-ctl stop`. " +
					"It runs before anything else of the destroy (before the ready file is removed), its output is streamed " +
					"to the provider log at INFO, and when it fails the destroy stops there with its exit code and last lines " +
					"of output. It is given up to 30 minutes. A planned switchover replaces the primary's role-bound steps " +
					"in this order: this resource is destroyed, then the `drbd_filesystem` is unmounted, then the " +
					"`drbd_primary` is demoted; the services running from the DRBD filesystem (PostgreSQL, Elasticsearch, " +
					"RabbitMQ) keep it busy, so without a stop command the unmount fails with the processes named. " +
					"Destroy uses the value in the state: set it in an apply before the switchover that needs it. Unset " +
					"(the default), nothing is run. Like `reconfigure_command`, it is passed to the remote shell as " +
					"written; never build it from untrusted input, and never put a secret in it (it is in the state, the " +
					"provider log and the host's process list).",
				Optional:   true,
				Validators: []validator.String{nonBlankValidator()},
			},
			"remove_ready_file_on_destroy": schema.BoolAttribute{
				MarkdownDescription: "Remove the ready file when the resource is destroyed. Defaults to `false`: the host is left alone.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
			},
		}),
		Blocks: map[string]schema.Block{
			"timeouts": timeoutsBlock(ctx, r.name()),
		},
	}
}

func (r *chefBackendReadyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	m, h := openHost[chefBackendReadyModel](ctx, &r.remoteBase, req.Plan.Get, &resp.Diagnostics)
	if h == nil {
		return
	}
	ready := m.ReadyFile.ValueString()
	if _, ok := h.run(ctx, &resp.Diagnostics, "Unable to Touch Chef Backend Ready File", hostfs.TouchCommand(ready), leavesDRBD, withHint("The directory of the ready file must exist; on a Chef HA backend it is created by the Chef Server package.")); !ok {
		return
	}
	if m.Reconfigure.ValueBool() {
		if !h.runStreamed(ctx, &resp.Diagnostics, streamedCommand{
			summary: "Unable to Reconfigure Chef Server",
			what:    "reconfigure",
			cmd:     m.ReconfigureCommand.ValueString(),
			advice:  fmt.Sprintf("The ready file %s stays in place; fix the cause and apply again.", ready),
		}) {
			return
		}
	}
	h.save(ctx, &resp.Diagnostics, &resp.State, &m, ready)
}

func (r *chefBackendReadyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	m, h := openHost[chefBackendReadyModel](ctx, &r.remoteBase, req.State.Get, &resp.Diagnostics)
	if h == nil {
		return
	}
	ready := m.ReadyFile.ValueString()
	res, ok := h.run(ctx, &resp.Diagnostics, "Unable to Read Chef Backend Ready File", hostfs.ExistsCommand(ready), readOnly, okExit(0, 1))
	if !ok {
		return
	}
	if res.ExitCode == 1 {
		next := "touches it again"
		if m.Reconfigure.ValueBool() {
			next += fmt.Sprintf(" and runs `%s`", m.ReconfigureCommand.ValueString())
		}
		driftWarning(&resp.Diagnostics, h, "The Chef backend ready file %s is gone on %s: the next apply %s.", ready, h, next)
		resp.State.RemoveResource(ctx)
		return
	}
	h.save(ctx, &resp.Diagnostics, &resp.State, &m, ready)
}

// undoneOnDestroy says what Delete would have done on the host, for the warning of a
// destroy on a fenced host.
func (*chefBackendReadyResource) undoneOnDestroy() string {
	return "`stop_command` did not run and the ready file was left as it was"
}

// Delete runs stop_command first, when set, then removes the ready file when asked; a failed
// stop ends the destroy there.
func (r *chefBackendReadyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	m, ok := readModel[chefBackendReadyModel](ctx, req.State.Get, &resp.Diagnostics)
	if !ok {
		return
	}
	stop := m.StopCommand.ValueString()
	remove := m.RemoveReadyFileOnDestroy.ValueBool()
	if stop == "" && !remove {
		// Nothing to do here; in a switchover the next steps on this host come soon.
		r.data.warmConnection(ctx, m.connectionModel)
		return
	}
	h := r.host(m.connectionModel, &resp.Diagnostics)
	if h == nil {
		return
	}
	ready := m.ReadyFile.ValueString()
	if stop != "" {
		stopCtx, cancel := context.WithTimeout(ctx, stopTimeout)
		defer cancel()
		kept := "stays in place"
		if !remove {
			kept = "is left in place in any case"
		}
		if !h.runStreamed(stopCtx, &resp.Diagnostics, streamedCommand{
			summary: "Unable to Stop Chef Server",
			what:    "stop",
			cmd:     stop,
			advice: fmt.Sprintf("Nothing else was done: the ready file %s %s, and what depends on this step (the DRBD "+
				"filesystem, the Primary role) is not touched. Fix the cause, or stop the services by hand, and apply again.", ready, kept),
		}) {
			return
		}
	}
	if remove {
		h.run(ctx, &resp.Diagnostics, "Unable to Remove Chef Backend Ready File", hostfs.RemoveCommand(ready))
	}
}

func (r *chefBackendReadyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if id, ok := importPathID(req.ID, "ready_file", "192.0.2.10/var/opt/opscode/drbd/drbd_ready", &resp.Diagnostics); ok {
		importState(ctx, resp, id, map[string]attr.Value{"ready_file": types.StringValue(id.Rest)})
	}
}
