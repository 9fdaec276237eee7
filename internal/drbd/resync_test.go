package drbd

import (
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"
)

func TestParseResyncSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		out  string
		want ResyncSettings
	}{
		{"defaults left out", "resource pc0 {\n    options {\n    }\n    net {\n    }\n}\n", ResyncSettings{"20", "250k", "250k"}},
		{"raised (8.4)", "resource pc0 {\n    _this_host {\n        volume 0 {\n            disk {\n" +
			"                resync-rate      \t1126400k; # bytes/second\n                c-plan-ahead     \t0; # 1/10 seconds\n" +
			"                c-min-rate       \t0k; # bytes/second\n            }\n        }\n    }\n}\n", ResyncSettings{"0", "1126400k", "0k"}},
		{"8.3 syncer", "disk {\n}\nsyncer {\n\trate\t\t110M;\n}\n", ResyncSettings{"20", "110M", "250k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseResyncSettings(tt.out)
			if err != nil || got != tt.want {
				t.Errorf("ParseResyncSettings = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if _, err := ParseResyncSettings("pc0: No such resource\n"); err == nil {
		t.Error("an error message parsed as settings")
	}
}

// TestRestoreResyncRateNeverChangesConnection fails when a restore command, on any DRBD
// version, could connect, attach or bring up a resource: restoring runs as cleanup,
// also on nodes that went down or StandAlone, where drbdadm adjust once reconnected a
// split-brained node and DRBD's after-sb policy discarded its data.
func TestRestoreResyncRateNeverChangesConnection(t *testing.T) {
	t.Parallel()
	forbidden := []string{"adjust", "up", "attach", "connect", "disconnect", "down", "detach", "primary", "secondary",
		"invalidate", "create-md", "new-current-uuid", "--discard-my-data"}
	s := ResyncSettings{PlanAhead: "20", Rate: "250k", MinRate: "250k"}
	for _, v := range []Versions{v83, v84, v9} {
		c := NewCommands(v)
		t.Run(c.Family().String(), func(t *testing.T) {
			t.Parallel()
			cmd, err := c.RestoreResyncRate(rn("pc0"), "/dev/drbd0", s)
			if err != nil {
				t.Fatal(err)
			}
			words := shellWords(t, cmd)
			for _, w := range words {
				for _, f := range forbidden {
					if w == f {
						t.Errorf("restore command %q contains %q", cmd, f)
					}
				}
			}
			if !strings.Contains(cmd, "250k") {
				t.Errorf("restore command %q does not set the saved rate", cmd)
			}
			show, err := c.ShowSettings(rn("pc0"), "/dev/drbd0")
			if err != nil || !strings.Contains(show, "show") {
				t.Errorf("ShowSettings = %q, %v", show, err)
			}
		})
	}
}

func TestRestoreResyncRateRejectsBadValues(t *testing.T) {
	t.Parallel()
	c := NewCommands(v84)
	for _, bad := range []ResyncSettings{{"20", "250k; reboot", "250k"}, {"", "250k", "250k"}, {"20", "250k", "-1"}} {
		if cmd, err := c.RestoreResyncRate(rn("pc0"), "/dev/drbd0", bad); err == nil {
			t.Errorf("RestoreResyncRate(%+v) = %q, want an error", bad, cmd)
		}
	}
}

// shellWords returns the words of a simple shell command line.
func shellWords(t *testing.T, cmd string) []string {
	t.Helper()
	f, err := syntax.NewParser().Parse(strings.NewReader(cmd), "")
	if err != nil {
		t.Fatalf("parse %q: %v", cmd, err)
	}
	var words []string
	syntax.Walk(f, func(n syntax.Node) bool {
		if w, ok := n.(*syntax.Word); ok {
			words = append(words, w.Lit())
			if lit := w.Lit(); lit == "" {
				// Quoted word: take the unquoted text.
				var b strings.Builder
				for _, p := range w.Parts {
					if sq, ok := p.(*syntax.SglQuoted); ok {
						b.WriteString(sq.Value)
					}
				}
				words[len(words)-1] = b.String()
			}
		}
		return true
	})
	return words
}
