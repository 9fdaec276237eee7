package drbd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

var (
	v83      = Versions{Kernel: Version{8, 3, 13}}
	v84      = Versions{Kernel: Version{8, 4, 11}, Utils: Version{9, 22, 0}}
	v84old   = Versions{Kernel: Version{8, 4, 4}, Utils: Version{8, 4, 4}}
	v9       = Versions{Kernel: Version{9, 2, 12}, Utils: Version{9, 22, 0}}
	vUnknown = Versions{}
)

// shellArgv parses cmd as one simple POSIX sh command and returns its argv
// after quote removal. Any expansion (parameter, command substitution,
// arithmetic, brace, glob), redirection, assignment, or a second command is
// an error: a built command must mean exactly its words.
func shellArgv(cmd string) ([]string, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(cmd), "")
	if err != nil {
		return nil, err
	}
	if len(f.Stmts) != 1 {
		return nil, fmt.Errorf("%d statements", len(f.Stmts))
	}
	st := f.Stmts[0]
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(st.Redirs) > 0 || st.Background || st.Negated || len(call.Assigns) > 0 {
		return nil, fmt.Errorf("not a simple command: %q", cmd)
	}
	var bad error
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.ParamExp, *syntax.CmdSubst, *syntax.ArithmExp, *syntax.ProcSubst, *syntax.ExtGlob, *syntax.BraceExp:
			bad = fmt.Errorf("expansion %T in %q", n, cmd)
		case *syntax.Lit:
			if strings.ContainsAny(n.Value, "*?[~") {
				bad = fmt.Errorf("unquoted glob or tilde %q in %q", n.Value, cmd)
			}
		}
		return bad == nil
	})
	if bad != nil {
		return nil, bad
	}
	return expand.Fields(&expand.Config{}, call.Args...)
}

func TestCommands(t *testing.T) {
	t.Parallel()
	type build func(Commands) (string, error)
	tests := []struct {
		name string
		v    Versions
		f    build
		want []string
	}{
		{"force primary 8.3", v83, func(c Commands) (string, error) { return c.ForcePrimary(rn("pc0")) },
			[]string{"drbdadm", "--", "--overwrite-data-of-peer", "primary", "pc0"}},
		{"force primary 8.4", v84, func(c Commands) (string, error) { return c.ForcePrimary(rn("pc0")) },
			[]string{"drbdadm", "primary", "--force", "pc0"}},
		{"force primary 9", v9, func(c Commands) (string, error) { return c.ForcePrimary(rn("pc0")) },
			[]string{"drbdadm", "primary", "--force", "pc0"}},
		{"primary", v84, func(c Commands) (string, error) { return c.Primary(rn("pc0")), nil }, []string{"drbdadm", "primary", "pc0"}},
		{"primary, version unknown", vUnknown, func(c Commands) (string, error) { return c.Primary(rn("pc0")), nil }, []string{"drbdadm", "primary", "pc0"}},
		{"secondary", v9, func(c Commands) (string, error) { return c.Secondary(rn("r.0_x-1")), nil }, []string{"drbdadm", "secondary", "r.0_x-1"}},
		{"up", v83, func(c Commands) (string, error) { return c.Up(rn("pc0")), nil }, []string{"drbdadm", "up", "pc0"}},
		{"down", v84, func(c Commands) (string, error) { return c.Down(rn("pc0")), nil }, []string{"drbdadm", "down", "pc0"}},
		{"adjust", v9, func(c Commands) (string, error) { return c.Adjust(rn("pc0")), nil }, []string{"drbdadm", "adjust", "pc0"}},
		{"sh-ll-dev", v84, func(c Commands) (string, error) { return c.ShLLDev(rn("pc0")), nil }, []string{"drbdadm", "sh-ll-dev", "pc0"}},
		{"sh-dev", vUnknown, func(c Commands) (string, error) { return c.ShDev(rn("pc0")), nil }, []string{"drbdadm", "sh-dev", "pc0"}},
		{"create-md utils 9 on 8.4 kernel", v84, func(c Commands) (string, error) { return c.CreateMD(rn("pc0")), nil },
			[]string{"drbdadm", "create-md", "--force", "pc0"}},
		{"create-md utils 9", v9, func(c Commands) (string, error) { return c.CreateMD(rn("pc0")), nil },
			[]string{"drbdadm", "create-md", "--force", "pc0"}},
		{"create-md utils 8.4", v84old, func(c Commands) (string, error) { return c.CreateMD(rn("pc0")), nil },
			[]string{"drbdadm", "--", "--force", "create-md", "pc0"}},
		{"create-md utils unknown (8.3)", v83, func(c Commands) (string, error) { return c.CreateMD(rn("pc0")), nil },
			[]string{"drbdadm", "--", "--force", "create-md", "pc0"}},
		{"resync rate 8.3", v83, func(c Commands) (string, error) { return c.SetResyncRate(rn("pc0"), "/dev/drbd0", "1100M") },
			[]string{"drbdsetup", "/dev/drbd0", "syncer", "-r", "1100M"}},
		{"resync rate 8.4", v84, func(c Commands) (string, error) { return c.SetResyncRate(rn("pc0"), "", "1100M") },
			[]string{"drbdadm", "disk-options", "--c-plan-ahead=0", "--resync-rate=1100M", "--c-min-rate=0", "pc0"}},
		{"resync rate 9", v9, func(c Commands) (string, error) { return c.SetResyncRate(rn("pc0"), "/dev/drbd0", "40960") },
			[]string{"drbdadm", "peer-device-options", "--c-plan-ahead=0", "--resync-rate=40960", "--c-min-rate=0", "pc0"}},
		{"status 8.3", v83, func(c Commands) (string, error) { return c.Status(rn("pc0")) }, []string{"cat", "/proc/drbd"}},
		{"status 8.4", v84, func(c Commands) (string, error) { return c.Status(rn("pc0")) }, []string{"cat", "/proc/drbd"}},
		{"status 9", v9, func(c Commands) (string, error) { return c.Status(rn("pc0")) }, []string{"drbdsetup", "status", "pc0", "--json"}},
		// Invalid input is an error, never a command.
		{"bad rate", v84, func(c Commands) (string, error) { return c.SetResyncRate(rn("pc0"), "", "1100 M") }, nil},
		{"rate too high", v9, func(c Commands) (string, error) { return c.SetResyncRate(rn("pc0"), "", "5G") }, nil},
		{"bad device 8.3", v83, func(c Commands) (string, error) { return c.SetResyncRate(rn("pc0"), "/dev/drbd0 -r 1", "1M") }, nil},
		{"no device 8.3", v83, func(c Commands) (string, error) { return c.SetResyncRate(rn("pc0"), "", "1M") }, nil},
		{"unknown version force", vUnknown, func(c Commands) (string, error) { return c.ForcePrimary(rn("pc0")) }, nil},
		{"unknown version rate", vUnknown, func(c Commands) (string, error) { return c.SetResyncRate(rn("pc0"), "/dev/drbd0", "1M") }, nil},
		{"unknown version status", vUnknown, func(c Commands) (string, error) { return c.Status(rn("pc0")) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd, err := tt.f(NewCommands(tt.v))
			if tt.want == nil {
				if err == nil || cmd != "" {
					t.Fatalf("got command %q, err %v; want an error and no command", cmd, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			argv, err := shellArgv(cmd)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, argv); diff != "" {
				t.Errorf("argv of %q mismatch (-want +got):\n%s", cmd, diff)
			}
		})
	}
}

func TestCommandsFamily(t *testing.T) {
	t.Parallel()
	for v, want := range map[Versions]Family{v83: Family83, v84: Family84, v84old: Family84, v9: Family9, vUnknown: FamilyUnknown} {
		c := NewCommands(v)
		if c.Family() != want || c.Versions() != v {
			t.Errorf("NewCommands(%v).Family() = %v, want %v", v, c.Family(), want)
		}
	}
}

func TestValidateResourceName(t *testing.T) {
	t.Parallel()
	valid := []string{"pc0", "r0", "a", "A.b_c-9", "-"[1:] + "x-", strings.Repeat("n", 128), "..a", "0"}
	invalid := []string{"", "-pc0", "--force", "all", ".", "..", "pc 0", "pc\t0", "pc/0", "pc0;ls", "$x", "`x`", "a'b",
		"a\"b", "a\\b", "a*b", "a?b", "a+b", "a:b", "a\nb", "a\x00b", "é", strings.Repeat("n", 129), "a|b", "a&b", "a>b", "~"}
	for _, n := range valid {
		if err := ValidateResourceName(n); err != nil {
			t.Errorf("ValidateResourceName(%q) = %v, want nil", n, err)
		}
	}
	for _, n := range invalid {
		if err := ValidateResourceName(n); err == nil {
			t.Errorf("ValidateResourceName(%q) = nil, want an error", n)
		}
	}
}

func TestResourceName_ConfigFile(t *testing.T) {
	t.Parallel()
	n, err := ParseResourceName("pc0")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n.ConfigFile(), "/etc/drbd.d/pc0.res"; got != want {
		t.Errorf("ConfigFile() = %q, want %q", got, want)
	}
}

func TestValidateRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64 // KiB/s; 0: invalid
	}{
		{"1100M", 1126400}, {"1100m", 1126400}, {"500K", 500}, {"500k", 500}, {"40960", 40960},
		{"1G", 1 << 20}, {"4G", 4 << 20}, {"4g", 4 << 20}, {"1", 1}, {"4194304", 4194304}, {"4096M", 4 << 20},
		{"", 0}, {"0", 0}, {"0M", 0}, {"5G", 0}, {"4194305", 0}, {"4097M", 0}, {"M", 0}, {"1.5M", 0}, {"-1M", 0},
		{"1 M", 0}, {"1MB", 0}, {"1T", 0}, {"1s", 0}, {"99999999999M", 0}, {"1M;ls", 0}, {"+1M", 0}, {"0x10", 0},
	}
	for _, tt := range tests {
		got, err := RateKiB(tt.in)
		if (err != nil) != (tt.want == 0) || got != tt.want {
			t.Errorf("RateKiB(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
		if (ValidateRate(tt.in) == nil) != (tt.want != 0) {
			t.Errorf("ValidateRate(%q) disagrees with RateKiB", tt.in)
		}
	}
}

func TestValidateDevice(t *testing.T) {
	t.Parallel()
	for _, d := range []string{"/dev/drbd0", "/dev/drbd12", "/dev/drbd/by-res/pc0/0", "/dev/drbd_pc0"} {
		if err := ValidateDevice(d); err != nil {
			t.Errorf("ValidateDevice(%q) = %v", d, err)
		}
	}
	for _, d := range []string{"", "drbd0", "/dev/", "/dev/../etc/passwd", "/dev/drbd0 x", "/dev/drbd$0", "/tmp/x", "/dev/drbd0/"} {
		if err := ValidateDevice(d); err == nil {
			t.Errorf("ValidateDevice(%q) = nil, want an error", d)
		}
	}
}

func TestParseShDev(t *testing.T) {
	t.Parallel()
	for out, want := range map[string]string{
		"/dev/drbd0\n":                       "/dev/drbd0",
		"/dev/drbd0\n/dev/drbd1\n":           "/dev/drbd0",
		"'pc1' not defined in your config\n": "",
		"":                                   "",
		"/dev/drbd0; rm -rf /\n":             "",
	} {
		if got := ParseShDev(out); got != want {
			t.Errorf("ParseShDev(%q) = %q, want %q", out, got, want)
		}
	}
}

// rn is a ResourceName for tests, unchecked.
func rn(s string) ResourceName { return ResourceName{name: s} }

func TestParseResourceName(t *testing.T) {
	for _, bad := range []string{"", "pc0; rm -rf /", "$(reboot)", "-pc0", "a b", "all", ".", "..", "r/0", strings.Repeat("x", 129)} {
		if n, err := ParseResourceName(bad); err == nil || n != (ResourceName{}) {
			t.Errorf("ParseResourceName(%q) = %v, %v; want an error and no name", bad, n, err)
		}
	}
	n, err := ParseResourceName("r.0_x-1")
	if err != nil || n.String() != "r.0_x-1" {
		t.Errorf("ParseResourceName(r.0_x-1) = %v, %v", n, err)
	}
}

// TestValidateDRBDDevice accepts only the names DRBD and its udev rules give a DRBD device.
func TestValidateDRBDDevice(t *testing.T) {
	t.Parallel()
	for _, dev := range []string{"/dev/drbd0", "/dev/drbd12", "/dev/drbd1048575", "/dev/drbd/by-res/pc0", "/dev/drbd/by-res/pc0/0",
		"/dev/drbd/by-res/r.1_a-b/12", "/dev/drbd/by-disk/vdb", "/dev/drbd/by-disk/mapper/vg-lv", "/dev/drbd/by-disk/vg0/data"} {
		if err := ValidateDRBDDevice(dev); err != nil {
			t.Errorf("ValidateDRBDDevice(%q): %v", dev, err)
		}
	}
	for _, dev := range []string{"/dev/sda", "/dev/vdb1", "/dev/mapper/vg-lv", "/dev/drbd", "/dev/drbdx", "/dev/drbd01", "/dev/drbd-1",
		"/dev/drbd1048576", "/dev/drbd0p1", "/dev/drbd/by-res/", "/dev/drbd/by-res/pc0/x", "/dev/drbd/by-res/pc0/0/1",
		"/dev/drbd/by-res/all", "/dev/drbd/by-disk/", "/dev/drbd/by-disk/../sda", "/dev/drbd/by-disk/a//b", "/dev/drbd/other/pc0",
		"/dev/drbd0/", "/tmp/drbd0", "drbd0", "/dev/drbd/by-res/pc0 /dev/sda", "/dev/drbd/by-disk/./vdb"} {
		if err := ValidateDRBDDevice(dev); err == nil {
			t.Errorf("ValidateDRBDDevice(%q) accepted it", dev)
		}
	}
}
