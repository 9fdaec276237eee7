package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// stderrTailLines is how many trailing lines of a failed command's output a diagnostic shows.
const stderrTailLines = 20

// remoteBase is embedded by every resource and data source: it names the type, receives the
// provider data and opens hosts.
type remoteBase struct {
	typeName string // the type name without the provider's prefix: "primary" for drbd_primary
	data     *providerData
}

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

// remoteHost runs commands on one target through the provider's shared pool.
type remoteHost struct {
	pool      *sshx.Pool
	target    sshx.Target
	primaries *primaryRegistry
	cache     *probeCache // nil: never share status reads
	devices   *deviceCache
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
	return &remoteHost{pool: r.data.pool, target: r.data.target(c), primaries: &r.data.primaries, cache: &r.data.probes, devices: &r.data.devices}
}

// hostModel is a resource or data source model: it embeds connectionModel.
type hostModel interface{ connection() connectionModel }

// connection returns the connection attributes of the model that embeds c.
func (c connectionModel) connection() connectionModel { return c }

// resourceModel is a hostModel of one DRBD resource.
type resourceModel interface {
	hostModel
	drbdResource() types.String
}

// getter reads a model from a plan, state or config: their Get, or fromState.
type getter func(context.Context, any) diag.Diagnostics

// fromState is getModel bound to s: the Reads' conversion of the prior state.
func fromState(s tfsdk.State) getter {
	return func(ctx context.Context, v any) diag.Diagnostics { return getModel(ctx, s, v) }
}

// fromConfig is getConfigModel bound to c: a data source's configuration.
func fromConfig(c tfsdk.Config) getter {
	return func(ctx context.Context, v any) diag.Diagnostics { return getConfigModel(ctx, c, v) }
}

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
func openResource[M resourceModel](ctx context.Context, r *remoteBase, get getter, diags *diag.Diagnostics) (m M, h *remoteHost, name drbd.ResourceName) {
	if m, ok := readModel[M](ctx, get, diags); ok {
		h, name = r.resourceHost(m.connection(), m.drbdResource(), diags)
		return m, h, name
	}
	return m, nil, name
}

// readResource begins a Read: openResource, then the resource's status (probeForRead, which
// may share one status read per host with the other Reads of the same refresh); p is nil when
// any of it failed (diags say why, under summary).
func readResource[M resourceModel](ctx context.Context, r *remoteBase, get getter, summary string, diags *diag.Diagnostics) (m M, h *remoteHost, name drbd.ResourceName, p *drbd.Probe) {
	m, h, name = openResource[M](ctx, r, get, diags)
	if h != nil {
		p, _ = h.probeForRead(ctx, diags, summary, name)
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

// String names the host in diagnostics: user@host:port as the pool resolves it.
func (h *remoteHost) String() string { return h.target.String() }

// exec runs a command and returns its result; a non-zero exit status is not an error.
func (h *remoteHost) exec(ctx context.Context, c sshx.Command) (sshx.Result, error) {
	if h.cache != nil {
		// Anything but a status read may change what a cached status says.
		h.cache.forget()
	}
	return h.execRead(ctx, c)
}

// execRead is exec for commands that change nothing (status reads): it keeps cached probes.
func (h *remoteHost) execRead(ctx context.Context, c sshx.Command) (sshx.Result, error) {
	tflog.Debug(ctx, "running remote command", map[string]any{"host": h.String(), "command": c.Cmd})
	res, err := h.pool.Exec(ctx, h.target, c)
	if err != nil {
		return res, err
	}
	tflog.Trace(ctx, "remote command finished", map[string]any{"host": h.String(), "command": c.Cmd, "exit_code": res.ExitCode})
	return res, nil
}

// run runs cmd and records a diagnostic under summary when the transport fails or the exit
// status is not one of okCodes (0 when none are given). It reports success.
func (h *remoteHost) run(ctx context.Context, diags *diag.Diagnostics, summary, cmd string, okCodes ...int) (sshx.Result, bool) {
	return h.runCommand(ctx, diags, summary, sshx.Command{Cmd: cmd}, "", okCodes...)
}

// runRead is run for a command that changes nothing on the host (a file or mount read): it
// keeps the probes the Reads of this refresh share.
func (h *remoteHost) runRead(ctx context.Context, diags *diag.Diagnostics, summary, cmd string, okCodes ...int) (sshx.Result, bool) {
	return h.check(ctx, diags, summary, sshx.Command{Cmd: cmd}, "", h.execRead, okCodes)
}

// runCommand is run with a full command and a hint appended to a failure's detail.
func (h *remoteHost) runCommand(ctx context.Context, diags *diag.Diagnostics, summary string, c sshx.Command, hint string, okCodes ...int) (sshx.Result, bool) {
	return h.check(ctx, diags, summary, c, hint, h.exec, okCodes)
}

// check runs c with exec and turns a transport failure or an exit status outside okCodes (0
// when none are given) into a diagnostic.
func (h *remoteHost) check(ctx context.Context, diags *diag.Diagnostics, summary string, c sshx.Command, hint string,
	exec func(context.Context, sshx.Command) (sshx.Result, error), okCodes []int) (sshx.Result, bool) {
	res, err := exec(ctx, c)
	if err != nil {
		diags.AddError(summary, transportDetail(ctx, h, c.Cmd, err))
		return res, false
	}
	if len(okCodes) == 0 {
		okCodes = []int{0}
	}
	for _, ok := range okCodes {
		if res.ExitCode == ok {
			return res, true
		}
	}
	diags.AddError(summary, exitDetail(h, c.Cmd, res, hint))
	return res, false
}

// transportDetail explains an SSH failure, naming the host. The command's text is long and
// internal (a status probe is a whole script), so it goes to the TRACE log only; the
// diagnostic's summary already says what was being done.
func transportDetail(ctx context.Context, h *remoteHost, cmd string, err error) string {
	tflog.Trace(ctx, "remote command not run to completion", map[string]any{"host": h.String(), "command": cmd, "error": err.Error()})
	var hk *sshx.HostKeyError
	switch {
	case errors.As(err, &hk):
		return fmt.Sprintf("The host key of %s was refused, so nothing was run there.\n\n%s", h, err)
	case errors.Is(err, sshx.ErrConnectionLost):
		return fmt.Sprintf("The SSH connection to %s broke while the command was running, so it may or may not have taken effect: %s\n\n"+
			"Check the host and run terraform apply again; every step re-reads the host state before acting.", h, err)
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		// Only the operation's own deadline: a connection attempt that timed out wraps
		// DeadlineExceeded too, and is an unreachable host.
		return fmt.Sprintf("The command on %s did not finish before the operation's timeout: %s", h, err)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return fmt.Sprintf("The command on %s was cancelled: %s", h, err)
	default:
		return fmt.Sprintf("%s could not be reached over SSH: %s\n\n"+
			"If the host is dead, make sure it stays so (power it off, or cut it off so that it cannot write), then add %q "+
			"to the provider's fenced_hosts: plans then keep its last known state and never contact it, and a failover "+
			"can promote its peer. Remove it from fenced_hosts when it is back.", h, err,
			net.JoinHostPort(h.target.Host, strconv.Itoa(h.target.Port)))
	}
}

// exitDetail explains a non-zero exit: host, command, exit code and the last lines of output.
func exitDetail(h *remoteHost, cmd string, res sshx.Result, hint string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s` on %s exited %d.", cmd, h, res.ExitCode)
	if out := tailLines(res.Stderr, stderrTailLines); out != "" {
		fmt.Fprintf(&b, "\n\nstderr:\n%s", out)
	} else if out := tailLines(res.Stdout, stderrTailLines); out != "" {
		fmt.Fprintf(&b, "\n\noutput:\n%s", out)
	}
	if hint != "" {
		b.WriteString("\n\n")
		b.WriteString(hint)
	}
	return b.String()
}

// tailLines returns the last n non-empty-trailing lines of s.
func tailLines(s string, n int) string {
	s = strings.TrimRight(s, "\n \t\r")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d earlier lines)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// statusError marks status reads that reached the host but failed there (bad exit status,
// unparsable output); everything else readStatus returns is a transport error.
type statusError struct{ msg string }

// Error returns the explanation.
func (e *statusError) Error() string { return e.msg }

// statusErrorf makes a statusError; its text is the whole explanation, with no prefix.
func statusErrorf(format string, args ...any) error {
	return &statusError{msg: fmt.Sprintf(format, args...)}
}

// readStatus reads the DRBD status of resource in one round trip. Transport errors are returned
// as they come from sshx, so pollers can tell them apart and retry.
func (h *remoteHost) readStatus(ctx context.Context, res drbd.ResourceName) (*drbd.Probe, error) {
	return h.readStatusWith(ctx, res, drbd.ProbeCommand)
}

// readStatusWith is readStatus with the probe command built by probeCommand.
func (h *remoteHost) readStatusWith(ctx context.Context, res drbd.ResourceName, probeCommand func(drbd.ResourceName) string) (*drbd.Probe, error) {
	return h.statusFrom(ctx, probeCommand(res), func(out string) (*drbd.Probe, error) { return drbd.ParseProbe(res.String(), out) })
}

// pollStatus is readStatus for repeated reads after prev: it runs only the status command
// (one program instead of four) and keeps prev's versions and device.
func (h *remoteHost) pollStatus(ctx context.Context, res drbd.ResourceName, prev *drbd.Probe) (*drbd.Probe, error) {
	return h.statusFrom(ctx, prev.PollCommand(res), func(out string) (*drbd.Probe, error) { return prev.ParsePoll(res.String(), out) })
}

// statusFrom runs a status command and parses its output.
func (h *remoteHost) statusFrom(ctx context.Context, cmd string, parse func(string) (*drbd.Probe, error)) (*drbd.Probe, error) {
	out, err := h.execRead(ctx, sshx.Command{Cmd: cmd})
	if err != nil {
		return nil, err
	}
	if out.ExitCode != 0 {
		return nil, statusErrorf("%s", exitDetail(h, cmd, out, ""))
	}
	p, err := parse(out.Stdout)
	if err != nil {
		return nil, statusErrorf("the DRBD status read from %s could not be understood: %s\n\nOutput:\n%s",
			h, err, tailLines(out.Stdout, stderrTailLines))
	}
	for _, w := range p.Warnings {
		tflog.Warn(ctx, "DRBD status parse warning", map[string]any{"host": h.String(), "warning": w})
	}
	return p, nil
}

// probe is readStatus that reports failures as a diagnostic under summary.
func (h *remoteHost) probe(ctx context.Context, diags *diag.Diagnostics, summary string, res drbd.ResourceName) (*drbd.Probe, bool) {
	p, err := h.readStatus(ctx, res)
	if err != nil {
		diags.AddError(summary, statusErrorDetail(ctx, h, err))
		return nil, false
	}
	return p, true
}

// probeState is probe without the kernel log (drbd.StateProbeCommand): for steps that act on
// roles and disk states only and need no split-brain verdict; cheaper on slow hosts.
func (h *remoteHost) probeState(ctx context.Context, diags *diag.Diagnostics, summary string, res drbd.ResourceName) (*drbd.Probe, bool) {
	p, err := h.readStatusWith(ctx, res, drbd.StateProbeCommand)
	if err != nil {
		diags.AddError(summary, statusErrorDetail(ctx, h, err))
		return nil, false
	}
	return p, true
}

// statusErrorDetail explains a failed status read.
func statusErrorDetail(ctx context.Context, h *remoteHost, err error) string {
	if isTransportError(err) {
		return transportDetail(ctx, h, "(DRBD status read)", err)
	}
	return err.Error()
}

// isTransportError reports whether err came from SSH rather than from the command.
func isTransportError(err error) bool {
	var se *statusError
	return err != nil && !errors.As(err, &se)
}

// recordFingerprint stores the host key fingerprint of the live connection in the model.
func (h *remoteHost) recordFingerprint(ctx context.Context, diags *diag.Diagnostics, c *connectionModel) {
	fp, err := h.pool.Fingerprint(ctx, h.target)
	if err != nil {
		diags.AddError("Unable to Read Host Key", transportDetail(ctx, h, "(connect)", err))
		return
	}
	c.HostKeyFingerprint = types.StringValue(fp)
}

// requireUp adds an error when the probed resource is not configured in the kernel.
func (h *remoteHost) requireUp(diags *diag.Diagnostics, summary string, p *drbd.Probe, res drbd.ResourceName) bool {
	if p.Status.Configured {
		return true
	}
	diags.AddError(summary, fmt.Sprintf("DRBD resource %q is not up on %s (no minor is configured in the kernel). "+
		"Manage it with a drbd_resource on this host and reference it, so that it is brought up first.", res, h))
	return false
}

// primaryRegistry remembers which hosts reported a resource Primary without a connected
// peer in this provider process, so that two such Primaries of one pair (a partition with
// two writers, which neither side can see) are warned about wherever the second is seen
// (drbd_primary and drbd_status on both nodes read the pair from both sides). A connected
// Primary needs no registry: DRBD shows its peer's role. Many pairs may use the same
// resource name, so a host's pair is its configured peer (peer_host of drbd_primary or
// drbd_sync) when one is known, else the only other host seen with that resource name; with
// more hosts and no peer known nothing is warned.
type primaryRegistry struct {
	mu    sync.Mutex
	roles map[string]map[string]bool   // resource -> host -> Primary without a connected peer
	peers map[string]map[string]string // resource -> host -> its peer (both directions)
}

// notePeer records that host and peer form the pair of resource.
func (r *primaryRegistry) notePeer(resource, host, peer string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peers == nil {
		r.peers = map[string]map[string]string{}
	}
	if r.peers[resource] == nil {
		r.peers[resource] = map[string]string{}
	}
	r.peers[resource][host], r.peers[resource][peer] = peer, host
}

// note records whether host is Primary without a connected peer for resource and, when it
// is, returns its pair's other host if that one is too.
func (r *primaryRegistry) note(resource, host string, primary bool) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.roles == nil {
		r.roles = map[string]map[string]bool{}
	}
	roles := r.roles[resource]
	if roles == nil {
		roles = map[string]bool{}
		r.roles[resource] = roles
	}
	roles[host] = primary
	if !primary {
		return nil
	}
	peer, known := r.peers[resource][host]
	if !known {
		if len(roles) != 2 {
			return nil
		}
		for h := range roles {
			if h != host {
				peer = h
			}
		}
	}
	if roles[peer] {
		return []string{peer}
	}
	return nil
}

// warnSecondPrimary records what a Read saw and warns when the other host of the same pair
// was seen Primary too.
func (h *remoteHost) warnSecondPrimary(diags *diag.Diagnostics, st drbd.Status, resource drbd.ResourceName) {
	if h.primaries == nil || !st.Configured {
		return
	}
	others := h.primaries.note(resource.String(), h.String(), st.Role == drbd.RolePrimary && !peerConnected(st))
	if len(others) == 0 {
		return
	}
	diags.AddWarning("Two DRBD Primaries", fmt.Sprintf("DRBD resource %s is Primary on %s and on %s: both can write, and "+
		"their data diverges while they are not connected (split brain). If that is not a dual-primary configuration, "+
		"demote the node whose writes are to be discarded, or fence it.", resource, h, strings.Join(others, " and ")))
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
type savedModel interface{ conn() *connectionModel }

// conn returns the connection attributes (savedModel).
func (c *connectionModel) conn() *connectionModel { return c }

// save ends a Create, Read or Update that talked to the host: it sets the ID from the
// connection and rest, records the host key fingerprint of the live connection, and stores
// model as the new state (setModel: the framework's conversion, without its per-field cost).
func (h *remoteHost) save(ctx context.Context, diags *diag.Diagnostics, state *tfsdk.State, model savedModel, rest string) {
	c := model.conn()
	c.ID = types.StringValue(formatID(*c, rest))
	h.recordFingerprint(ctx, diags, c)
	diags.Append(setModel(ctx, state, model)...)
}

// driftWarning tells why Read found the host different from the state, naming the host and
// what it saw: for example that DRBD resource pc0 on root@backend1:22 is Secondary, not
// Primary, so the next apply promotes it.
func driftWarning(diags *diag.Diagnostics, h *remoteHost, format string, args ...any) {
	diags.AddWarning("Drift on "+h.String(), fmt.Sprintf(format, args...))
}
