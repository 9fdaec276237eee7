package sshx_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// shellArgs parses script as one POSIX shell command and returns its arguments after
// expansion, as the remote shell would pass them.
func shellArgs(t testing.TB, script string) []string {
	t.Helper()
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(script), "")
	if err != nil {
		t.Fatalf("parse %q: %v", script, err)
	}
	if len(f.Stmts) != 1 {
		t.Fatalf("%q parsed as %d statements, want 1", script, len(f.Stmts))
	}
	st := f.Stmts[0]
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(st.Redirs) != 0 || st.Background || st.Negated || len(call.Assigns) != 0 {
		t.Fatalf("%q is not a plain command", script)
	}
	// A nil Env means no variables: any expansion that slipped through would show as a change.
	args, err := expand.Fields(&expand.Config{}, call.Args...)
	if err != nil {
		t.Fatalf("expand %q: %v", script, err)
	}
	return args
}

var nastyInputs = []string{
	"", " ", "plain", "two words", "it's", `"double"`, `back\slash`, "$HOME", "${IFS}", "$(reboot)",
	"`id`", "a;b", "a&&b", "a|b", "*", "?", "[a]", "~root", "#comment", "new\nline", "tab\there",
	"'", "''", `'"'"'`, "!event", "{a,b}", "a=b", "-n", "--", "%s", "✓ unicode", "\x01ctrl", ">out", "<in",
}

func TestQuote_roundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range nastyInputs {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			got := shellArgs(t, "cmd "+sshx.Quote(s))
			if diff := cmp.Diff([]string{"cmd", s}, got); diff != "" {
				t.Errorf("Quote(%q) = %s (-want +got):\n%s", s, sshx.Quote(s), diff)
			}
		})
	}
}

func TestQuote_plainWordsUnchanged(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"drbdadm", "/dev/drbd0", "pc0", "--c-plan-ahead=0", "1100M"} {
		if got := sshx.Quote(s); got != s {
			t.Errorf("Quote(%q) = %q, want it unchanged", s, got)
		}
	}
}

func TestJoin(t *testing.T) {
	t.Parallel()
	args := append([]string{"drbdadm"}, nastyInputs...)
	if diff := cmp.Diff(args, shellArgs(t, sshx.Join(args...))); diff != "" {
		t.Errorf("Join round trip (-want +got):\n%s", diff)
	}
	if got, want := sshx.Join("drbdadm", "disk-options", "--resync-rate=1100M", "pc0"), "drbdadm disk-options --resync-rate=1100M pc0"; got != want {
		t.Errorf("Join = %q, want %q", got, want)
	}
}

// FuzzQuote checks that any argument survives quoting as exactly one shell word.
func FuzzQuote(f *testing.F) {
	for _, s := range nastyInputs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// A command line cannot carry NUL bytes, and the parser reads UTF-8 text.
		if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
			t.Skip()
		}
		got := shellArgs(t, "cmd "+sshx.Quote(s)+" end")
		if diff := cmp.Diff([]string{"cmd", s, "end"}, got); diff != "" {
			t.Errorf("Quote(%q) = %s (-want +got):\n%s", s, sshx.Quote(s), diff)
		}
	})
}

// TestWithDeadline_roundTrip: ParseDeadline gives back what WithDeadline wrapped.
func TestWithDeadline_roundTrip(t *testing.T) {
	for _, cmd := range []string{"echo hi", "", "it's a 'quoted' \"word\" $x `y` \\z", "a\nb"} {
		inner, limit, ok := sshx.ParseDeadline(sshx.WithDeadline(cmd, 1500*time.Millisecond))
		if !ok || inner != cmd || limit != 3*time.Second {
			t.Errorf("ParseDeadline(WithDeadline(%q)) = %q, %s, %v", cmd, inner, limit, ok)
		}
	}
	if _, _, ok := sshx.ParseDeadline("echo hi"); ok {
		t.Error("ParseDeadline accepted a plain command")
	}
}
