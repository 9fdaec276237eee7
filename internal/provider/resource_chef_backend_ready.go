package provider

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

var (
	_ resource.ResourceWithConfigure   = (*chefBackendReadyResource)(nil)
	_ resource.ResourceWithImportState = (*chefBackendReadyResource)(nil)
)

const (
	defaultReadyFile          = "/var/opt/opscode/drbd/drbd_ready"
	defaultReconfigureCommand = "chef-server-ctl reconfigure"
	defaultReconfigureTimeout = 60 * time.Minute
)

// NewChefBackendReadyResource returns the drbd_chef_backend_ready resource.
func NewChefBackendReadyResource() resource.Resource {
	return &chefBackendReadyResource{}
}

type chefBackendReadyResource struct {
	remoteBase
}

type chefBackendReadyModel struct {
	connectionModel
	ID                       types.String   `tfsdk:"id"`
	ReadyFile                types.String   `tfsdk:"ready_file"`
	Reconfigure              types.Bool     `tfsdk:"reconfigure"`
	ReconfigureCommand       types.String   `tfsdk:"reconfigure_command"`
	RemoveReadyFileOnDestroy types.Bool     `tfsdk:"remove_ready_file_on_destroy"`
	Timeouts                 timeouts.Value `tfsdk:"timeouts"`
}

func (r *chefBackendReadyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_chef_backend_ready"
}

func (r *chefBackendReadyResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Marks a Chef Server HA backend ready: touches the `drbd_ready` file (the Chef recipe blocks " +
			"until it exists), then runs `chef-server-ctl reconfigure`, streaming its output to the provider log at INFO and " +
			"failing with its exit code and last lines of output. Make the primary's instance depend on `drbd_sync` and the " +
			"secondary's on the primary's. `terraform plan` shows drift when the ready file is gone.",
		Attributes: connectionResourceAttributes(map[string]schema.Attribute{
			"ready_file": schema.StringAttribute{
				MarkdownDescription: "Path of the ready file. Defaults to `/var/opt/opscode/drbd/drbd_ready`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(defaultReadyFile),
				Validators:          []validator.String{absPathValidator{}},
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
					"**This is the one attribute passed to the remote shell as written** (so pipes, `&&` and environment " +
					"assignments work); never build it from untrusted input.",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(defaultReconfigureCommand),
				Validators: []validator.String{nonBlankValidator{}},
			},
			"remove_ready_file_on_destroy": schema.BoolAttribute{
				MarkdownDescription: "Remove the ready file when the resource is destroyed. Defaults to `false`: the host is left alone.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
			},
		}),
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true}),
		},
	}
}

// lineTail keeps the last lines of a command's combined output, safe for concurrent callbacks.
type lineTail struct {
	mu    sync.Mutex
	lines []string
	max   int
}

func (t *lineTail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *lineTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

func (r *chefBackendReadyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m chefBackendReadyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Create(ctx, defaultReconfigureTimeout)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	h := r.host(m.connectionModel, &resp.Diagnostics)
	if h == nil {
		return
	}
	ready := m.ReadyFile.ValueString()
	if _, ok := h.runCommand(ctx, &resp.Diagnostics, "Unable to Touch Chef Backend Ready File",
		sshx.Command{Cmd: sshx.Join("touch", ready)},
		"The directory of the ready file must exist; on a Chef HA backend it is created by the Chef Server package."); !ok {
		return
	}
	if m.Reconfigure.ValueBool() {
		cmd := m.ReconfigureCommand.ValueString()
		tail := &lineTail{max: stderrTailLines}
		logLine := func(stream string) func(string) {
			return func(line string) {
				tail.add(line)
				tflog.Info(ctx, "reconfigure output", map[string]any{"host": h.String(), "stream": stream, "line": line})
			}
		}
		tflog.Info(ctx, "running Chef Server reconfigure", map[string]any{"host": h.String(), "command": cmd})
		res, err := h.exec(ctx, sshx.Command{Cmd: cmd, OnStdoutLine: logLine("stdout"), OnStderrLine: logLine("stderr")})
		if err != nil {
			resp.Diagnostics.AddError("Unable to Reconfigure Chef Server", transportDetail(ctx, h, cmd, err)+lastOutput(tail))
			return
		}
		if res.ExitCode != 0 {
			resp.Diagnostics.AddError("Unable to Reconfigure Chef Server",
				fmt.Sprintf("`%s` on %s exited %d.%s\n\nThe ready file %s stays in place; fix the cause and apply again.",
					cmd, h, res.ExitCode, lastOutput(tail), ready))
			return
		}
	}
	m.ID = types.StringValue(formatID(m.connectionModel, ready))
	h.recordFingerprint(ctx, &m.connectionModel, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func lastOutput(t *lineTail) string {
	if s := t.String(); s != "" {
		return "\n\nLast lines of output:\n" + s
	}
	return ""
}

func (r *chefBackendReadyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m chefBackendReadyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	h := r.host(m.connectionModel, &resp.Diagnostics)
	if h == nil {
		return
	}
	ready := m.ReadyFile.ValueString()
	res, ok := h.run(ctx, &resp.Diagnostics, "Unable to Read Chef Backend Ready File", sshx.Join("test", "-e", ready), 0, 1)
	if !ok {
		return
	}
	if res.ExitCode == 1 {
		tflog.Warn(ctx, "ready file is gone; removing drbd_chef_backend_ready from state so the next apply recreates it",
			map[string]any{"host": h.String(), "ready_file": ready})
		resp.State.RemoveResource(ctx)
		return
	}
	m.ID = types.StringValue(formatID(m.connectionModel, ready))
	h.recordFingerprint(ctx, &m.connectionModel, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// Update changes only settings that matter at creation or destruction; nothing runs on the host.
func (r *chefBackendReadyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m, prior chefBackendReadyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.ID, m.HostKeyFingerprint = prior.ID, prior.HostKeyFingerprint
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *chefBackendReadyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m chefBackendReadyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !m.RemoveReadyFileOnDestroy.ValueBool() {
		return
	}
	h := r.host(m.connectionModel, &resp.Diagnostics)
	if h == nil {
		return
	}
	h.run(ctx, &resp.Diagnostics, "Unable to Remove Chef Backend Ready File", sshx.Join("rm", "-f", m.ReadyFile.ValueString()))
}

func (r *chefBackendReadyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id, ok := importPathID(req.ID, "ready_file", "192.0.2.10/var/opt/opscode/drbd/drbd_ready", &resp.Diagnostics)
	if !ok {
		return
	}
	m := chefBackendReadyModel{
		connectionModel:          connectionFromImport(id),
		ReadyFile:                types.StringValue(id.Rest),
		Reconfigure:              types.BoolValue(true),
		ReconfigureCommand:       types.StringValue(defaultReconfigureCommand),
		RemoveReadyFileOnDestroy: types.BoolValue(false),
		Timeouts:                 timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{"create": types.StringType})},
	}
	m.ID = types.StringValue(formatID(m.connectionModel, id.Rest))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
