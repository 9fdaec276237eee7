package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// This file holds the one way the provider runs a command on a host: exec returns the result
// (a non-zero exit status is not an error), run turns a failure into a diagnostic. Options say
// whether the command changes anything, which exit statuses are success, and what a failure's
// diagnostic should advise. The status read, built on exec, is in host_status.go.

// stderrTailLines is how many trailing lines of a failed command's output a diagnostic shows.
const stderrTailLines = 20

// remoteHost is one SSH host as the resources of this provider process see it: the shared
// connection pool, the resolved target, and what the provider remembers across resources
// (Primaries seen, status reads shared within a refresh, devices learnt).
type remoteHost struct {
	pool      *sshx.Pool
	target    sshx.Target
	primaries *primaryRegistry
	cache     *probeCache // nil: never share status reads
	devices   *deviceCache
}

// String names the host in diagnostics: user@host:port as the pool resolves it.
func (h *remoteHost) String() string { return h.target.String() }

// runOptions is how exec and run treat one command; runOption sets one of them.
type runOptions struct {
	readOnly           bool
	leavesDRBD         bool
	okExit             []int
	hint               string
	stdin              io.Reader
	onStdout, onStderr func(line string)
}

// runOption changes how exec and run treat one command.
type runOption func(*runOptions)

// readOnly marks a command that changes nothing on the host (a file, mount, size or status
// read): it keeps the status reads that the Reads of one refresh share. Any other command
// drops them, on every host, since the two nodes' states are coupled.
func readOnly(o *runOptions) { o.readOnly = true }

// leavesDRBD marks a command that changes the host but not DRBD's state (a mount of a
// device already Primary, a ready file): it drops the refresh's shared reads as any change
// does, but keeps a promotion's in-sync reading for the drbd_sync that follows
// (probeCache.promotedInSync).
func leavesDRBD(o *runOptions) { o.leavesDRBD = true }

// okExit makes run accept these exit statuses (instead of 0 only).
func okExit(codes ...int) runOption { return func(o *runOptions) { o.okExit = codes } }

// withHint appends advice to the diagnostic of a failed command.
func withHint(text string) runOption { return func(o *runOptions) { o.hint = text } }

// withStdin feeds r to the command's standard input.
func withStdin(r io.Reader) runOption { return func(o *runOptions) { o.stdin = r } }

// streamLines calls stdout and stderr with each line of output as it arrives.
func streamLines(stdout, stderr func(line string)) runOption {
	return func(o *runOptions) { o.onStdout, o.onStderr = stdout, stderr }
}

// exec runs cmd and returns its result; a non-zero exit status is not an error, a transport
// failure is.
func (h *remoteHost) exec(ctx context.Context, cmd string, opts ...runOption) (sshx.Result, error) {
	var o runOptions
	for _, opt := range opts {
		opt(&o)
	}
	if !o.readOnly && h.cache != nil {
		h.cache.forget(o.leavesDRBD)
	}
	tflog.Debug(ctx, "running remote command", map[string]any{"host": h.String(), "command": cmd})
	res, err := h.pool.Exec(ctx, h.target, sshx.Command{Cmd: cmd, Stdin: o.stdin, OnStdoutLine: o.onStdout, OnStderrLine: o.onStderr})
	if err != nil {
		return res, err
	}
	tflog.Trace(ctx, "remote command finished", map[string]any{"host": h.String(), "command": cmd, "exit_code": res.ExitCode})
	return res, nil
}

// run is exec that records a diagnostic under summary when the transport fails or the exit
// status is not accepted (0, or those of okExit). It reports success.
func (h *remoteHost) run(ctx context.Context, diags *diag.Diagnostics, summary, cmd string, opts ...runOption) (sshx.Result, bool) {
	res, err := h.exec(ctx, cmd, opts...)
	if err != nil {
		diags.AddError(summary, transportDetail(ctx, h, cmd, err))
		return res, false
	}
	o := runOptions{okExit: []int{0}}
	for _, opt := range opts {
		opt(&o)
	}
	for _, ok := range o.okExit {
		if res.ExitCode == ok {
			return res, true
		}
	}
	diags.AddError(summary, exitDetail(h, cmd, res, o.hint))
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
