package provider

// The steps of drbd_chef_backend_ready: Chef Server commands whose output is streamed to the
// provider log.

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// streamedCommand is a raw-shell Chef Server command whose output is streamed to the log.
type streamedCommand struct {
	summary string // diagnostic summary on failure
	what    string // short name for the log: "reconfigure", "stop"
	cmd     string
	advice  string // appended to a failure's detail
}

// runStreamed runs c.cmd, streaming each line of its output to tflog at INFO, and adds an
// error naming the host, the exit code and the last lines of output when it fails. It
// reports success.
func (h *remoteHost) runStreamed(ctx context.Context, diags *diag.Diagnostics, c streamedCommand) bool {
	tail := &lineTail{max: stderrTailLines}
	logLine := func(stream string) func(string) {
		return func(line string) {
			tail.add(line)
			tflog.Info(ctx, c.what+" output", map[string]any{"host": h.String(), "stream": stream, "line": line})
		}
	}
	tflog.Info(ctx, "running Chef Server "+c.what, map[string]any{"host": h.String(), "command": c.cmd})
	res, err := h.exec(ctx, c.cmd, streamLines(logLine("stdout"), logLine("stderr")))
	if err != nil {
		diags.AddError(c.summary, transportDetail(ctx, h, c.cmd, err)+lastOutput(tail))
		return false
	}
	if res.ExitCode != 0 {
		diags.AddError(c.summary, fmt.Sprintf("`%s` on %s exited %d.%s\n\n%s", c.cmd, h, res.ExitCode, lastOutput(tail), c.advice))
		return false
	}
	return true
}

// lastOutput is the tail of a failed command's output for its diagnostic, or "".
func lastOutput(t *lineTail) string {
	if s := t.String(); s != "" {
		return "\n\nLast lines of output:\n" + s
	}
	return ""
}

// lineTail keeps the last lines of a command's combined output, safe for concurrent callbacks.
type lineTail struct {
	mu    sync.Mutex
	lines []string
	max   int
}

// add keeps line, dropping the oldest beyond max.
func (t *lineTail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

// String returns the kept lines.
func (t *lineTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}
