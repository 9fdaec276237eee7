package drbd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// TestProbeCommand_constructs checks that the probe uses only the shell
// features the simulator and any POSIX sh support: echo, read, printf, test,
// case, if, $?, command substitution, pipes, redirections, ';', the DRBD
// programs, and dmesg filtered by grep, head and tail.
func TestProbeCommand_constructs(t *testing.T) {
	t.Parallel()
	cmd := ProbeCommand(rn("pc0"))
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(cmd), "")
	if err != nil {
		t.Fatalf("probe is not POSIX sh: %v\n%s", err, cmd)
	}
	allowedProgs := map[string]bool{"echo": true, "read": true, "test": true, "cat": true, "drbdadm": true, "drbdsetup": true,
		"printf": true, "dmesg": true, "grep": true, "head": true, "tail": true}
	var progs []string
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.CallExpr:
			if len(n.Args) == 0 {
				return true // a plain assignment
			}
			name := n.Args[0].Lit()
			progs = append(progs, name)
			if !allowedProgs[name] {
				t.Errorf("probe runs %q", name)
			}
		case *syntax.BinaryCmd:
			if n.Op != syntax.Pipe {
				t.Errorf("probe uses %s", n.Op)
			}
		case *syntax.Subshell, *syntax.FuncDecl, *syntax.WhileClause, *syntax.ForClause, *syntax.ArithmExp:
			t.Errorf("probe uses %T", n)
		}
		return true
	})
	if len(progs) == 0 {
		t.Fatal("no commands found")
	}
}

// fakeHost answers the probe's commands like a DRBD host would.
type fakeHost struct {
	proc     string            // /proc/drbd content; "" = module not loaded
	programs map[string]result // "drbdadm --version" -> output and exit code
}

type result struct {
	out string
	rc  uint8
}

type fakeFileInfo struct{ name string }

func (f fakeFileInfo) Name() string       { return f.name }
func (f fakeFileInfo) Size() int64        { return 0 }
func (f fakeFileInfo) Mode() fs.FileMode  { return 0o444 }
func (f fakeFileInfo) ModTime() time.Time { return time.Time{} }
func (f fakeFileInfo) IsDir() bool        { return false }
func (f fakeFileInfo) Sys() any           { return nil }

type nopWriteCloser struct{ io.Reader }

func (nopWriteCloser) Write(p []byte) (int, error) { return 0, errors.New("read-only") }
func (nopWriteCloser) Close() error                { return nil }

// run interprets cmd against the fake host; no real process is started.
func (h *fakeHost) run(t *testing.T, cmd string) string {
	t.Helper()
	f, err := syntax.NewParser().Parse(strings.NewReader(cmd), "")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	exec := func(ctx context.Context, args []string) error {
		hc := interp.HandlerCtx(ctx)
		line := strings.Join(args, " ")
		switch {
		case line == "dmesg":
			if r, ok := h.programs[line]; ok {
				fmt.Fprint(hc.Stdout, r.out)
				if r.rc != 0 {
					return interp.ExitStatus(r.rc)
				}
			}
			return nil
		case args[0] == "grep", args[0] == "head", args[0] == "tail":
			// Filters over stdin: grep -F WORD, head -n N and tail -n N.
			in, _ := io.ReadAll(hc.Stdin)
			lines := strings.SplitAfter(string(in), "\n")
			if args[0] == "grep" {
				var kept []string
				for _, l := range lines {
					if strings.Contains(l, args[len(args)-1]) {
						kept = append(kept, l)
					}
				}
				lines = kept
			}
			fmt.Fprint(hc.Stdout, strings.Join(lines, ""))
			return nil
		}
		if line == "cat /proc/drbd" {
			if h.proc == "" {
				fmt.Fprintln(hc.Stderr, "cat: /proc/drbd: No such file or directory")
				return interp.ExitStatus(1)
			}
			fmt.Fprint(hc.Stdout, h.proc)
			return nil
		}
		r, ok := h.programs[line]
		if !ok {
			fmt.Fprintf(hc.Stderr, "sh: 1: %s: not found\n", args[0])
			return interp.ExitStatus(127)
		}
		w := hc.Stdout
		if r.rc != 0 {
			w = hc.Stderr
		}
		fmt.Fprint(w, r.out)
		if r.rc != 0 {
			return interp.ExitStatus(r.rc)
		}
		return nil
	}
	open := func(ctx context.Context, path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
		if path == "/proc/drbd" && h.proc != "" && flag == os.O_RDONLY {
			return nopWriteCloser{strings.NewReader(h.proc)}, nil
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	stat := func(ctx context.Context, name string, follow bool) (fs.FileInfo, error) {
		if name == "/proc/drbd" && h.proc != "" {
			return fakeFileInfo{"drbd"}, nil
		}
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	r, err := interp.New(interp.StdIO(nil, &out, &out), interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc { return exec }), interp.OpenHandler(open), interp.StatHandler(stat))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background(), f); err != nil {
		t.Fatalf("probe failed in the shell: %v\n%s", err, out.String())
	}
	return out.String()
}

func TestParseProbe_throughShell(t *testing.T) {
	t.Parallel()
	noRes := readTestdata(t, "drbd-8.4.11/states/00-module-loaded-no-resource.txt")
	syncing := readTestdata(t, "drbd-8.4.11/states/04-synctarget-secondary-47.7pct.txt")
	// DRBD 9.2.12 in the lab during the initial sync: node1 SyncSource, node2 SyncTarget.
	real9 := func(node int, name string) string {
		return readTestdata(t, fmt.Sprintf("drbd-9.2.12/03-syncsource-primary/node%d-%s.txt", node, name))
	}
	jsonSync, textSync := real9(1, "status-json"), real9(2, "drbdadm-status")
	v9real := Versions{Kernel: Version{9, 2, 12}, Utils: Version{9, 22, 0}}
	v84 := Versions{Kernel: Version{8, 4, 11}, Utils: Version{9, 22, 0}}
	v9 := Versions{Kernel: Version{9, 2, 12}, Utils: Version{9, 22, 0}}
	tests := []struct {
		name         string
		host         fakeHost
		want         Probe
		wantWarnings int
	}{
		{
			name: "8.4 before create-md",
			host: fakeHost{proc: noRes, programs: map[string]result{
				"drbdadm --version": {out: version84}, "drbdadm sh-dev pc0": {out: "/dev/drbd0\n"},
				"drbdadm dstate pc0": {out: "No valid meta data found\n", rc: 1},
			}},
			want: Probe{Versions: v84, Status: unconfiguredStatus("pc0", 0, "/dev/drbd0"), Metadata: MetadataAbsent,
				Devices: []string{"/dev/drbd0"}, Raw: noRes},
		},
		{
			name: "8.4 metadata created, not up",
			host: fakeHost{proc: noRes, programs: map[string]result{
				"drbdadm --version": {out: version84}, "drbdadm sh-dev pc0": {out: "/dev/drbd0\n"},
				"drbdadm dstate pc0": {out: "Consistent\n"},
			}},
			want: Probe{Versions: v84, Status: unconfiguredStatus("pc0", 0, "/dev/drbd0"), Metadata: MetadataPresent,
				Devices: []string{"/dev/drbd0"}, Raw: noRes},
		},
		{
			name: "8.4 up and syncing",
			host: fakeHost{proc: syncing, programs: map[string]result{
				"drbdadm --version": {out: version84}, "drbdadm sh-dev pc0": {out: "/dev/drbd0\n"},
				"drbdadm dstate pc0": {out: "Inconsistent/UpToDate\n"},
			}},
			want: Probe{Versions: v84, Metadata: MetadataPresent, Devices: []string{"/dev/drbd0"}, Raw: syncing,
				Status: Status{Resource: "pc0", Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RoleSecondary,
					PeerRole: RolePrimary, ConnectionState: ConnSyncTarget, DiskState: DiskInconsistent,
					PeerDiskState: DiskUpToDate, Syncing: true, SyncPercent: 47.7, OutOfSyncKiB: 549680,
					SpeedKiBps: 24940, ETA: 22 * time.Second}},
		},
		{
			name: "8.3 utils without --version",
			host: fakeHost{proc: proc83, programs: map[string]result{
				"drbdadm --version":  {out: "drbdadm: unrecognized option '--version'\n", rc: 20},
				"drbdadm sh-dev pc0": {out: "/dev/drbd0\n"}, "drbdadm dstate pc0": {out: "UpToDate/UpToDate\n"},
			}},
			want: Probe{Versions: Versions{Kernel: Version{8, 3, 13}}, Metadata: MetadataPresent, Devices: []string{"/dev/drbd0"}, Raw: proc83,
				Status: Status{Resource: "pc0", Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RolePrimary,
					PeerRole: RoleSecondary, ConnectionState: ConnConnected, DiskState: DiskUpToDate,
					PeerDiskState: DiskUpToDate, SyncPercent: 100}},
			wantWarnings: 1,
		},
		{
			name: "DRBD 9 json",
			host: fakeHost{proc: real9(1, "proc-drbd"), programs: map[string]result{
				"drbdadm --version": {out: real9(1, "version")}, "drbdadm sh-dev pc0": {out: real9(1, "sh-dev")},
				"drbdadm dstate pc0": {out: real9(1, "dstate")}, "drbdsetup status pc0 --json": {out: jsonSync},
			}},
			want: Probe{Versions: v9real, Metadata: MetadataPresent, Devices: []string{"/dev/drbd0"}, Raw: jsonSync,
				Status: Status{Resource: "pc0", Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RolePrimary,
					PeerRole: RoleSecondary, ConnectionState: ConnConnected, ReplicationState: ReplSyncSource,
					DiskState: DiskUpToDate, PeerDiskState: DiskInconsistent, Syncing: true, SyncPercent: 15.04,
					OutOfSyncKiB: 890812, SpeedKiBps: 4679, ETA: 190 * time.Second}},
		},
		{
			name: "DRBD 9, --json rejected: text fallback",
			host: fakeHost{proc: real9(2, "proc-drbd"), programs: map[string]result{
				"drbdadm --version": {out: real9(2, "version")}, "drbdadm sh-dev pc0": {out: real9(2, "sh-dev")},
				"drbdadm dstate pc0":          {out: real9(2, "dstate")},
				"drbdsetup status pc0 --json": {out: "status: unrecognized option '--json'\n", rc: 20},
				"drbdadm status pc0":          {out: textSync},
			}},
			want: Probe{Versions: v9real, Metadata: MetadataPresent, Devices: []string{"/dev/drbd0"}, Raw: textSync,
				Status: Status{Resource: "pc0", Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RoleSecondary,
					PeerRole: RolePrimary, ConnectionState: ConnConnected, ReplicationState: ReplSyncTarget,
					DiskState: DiskInconsistent, PeerDiskState: DiskUpToDate, Syncing: true, SyncPercent: 40.24}},
		},
		{
			name: "DRBD 9 resource down",
			host: fakeHost{proc: proc9, programs: map[string]result{
				"drbdadm --version": {out: version9}, "drbdadm sh-dev pc0": {out: "/dev/drbd0\n"},
				"drbdadm dstate pc0":          {out: "pc0: No such resource\n", rc: 10},
				"drbdsetup status pc0 --json": {out: "pc0: No such resource\n", rc: 10},
			}},
			want: Probe{Versions: v9, Status: unconfiguredStatus("pc0", 0, "/dev/drbd0"), Devices: []string{"/dev/drbd0"},
				Raw: "pc0: No such resource\n"},
		},
		{
			name: "module not loaded, resource not in config",
			host: fakeHost{programs: map[string]result{
				"drbdadm --version":  {out: "DRBD_KERNEL_VERSION_CODE=0x000000\nDRBDADM_VERSION_CODE=0x091600\nDRBDADM_VERSION=9.22.0\n"},
				"drbdadm sh-dev pc0": {out: notDefined, rc: 10}, "drbdadm dstate pc0": {out: notDefined, rc: 10},
			}},
			want:         Probe{Versions: Versions{Utils: Version{9, 22, 0}}, Status: unconfiguredStatus("pc0", -1, "")},
			wantWarnings: 2,
		},
		{
			name: "no DRBD installed",
			host: fakeHost{},
			want: Probe{Status: unconfiguredStatus("pc0", -1, "")}, wantWarnings: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := ProbeCommand(rn("pc0"))
			out := tt.host.run(t, cmd)
			got, err := ParseProbe("pc0", out)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreFields(Probe{}, "Warnings", "Sections", "Volumes")); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s\noutput:\n%s", diff, out)
			}
			if len(got.Warnings) != tt.wantWarnings {
				t.Errorf("got %d warnings, want %d: %q", len(got.Warnings), tt.wantWarnings, got.Warnings)
			}
		})
	}
}

func TestParseProbe_malformed(t *testing.T) {
	t.Parallel()
	if _, err := ParseProbe("pc0", "bash: drbdadm: command not found\n"); !errors.Is(err, ErrNotProbeOutput) {
		t.Errorf("err = %v, want ErrNotProbeOutput", err)
	}
	if _, err := ParseProbe("pc0", ""); !errors.Is(err, ErrNotProbeOutput) {
		t.Errorf("err = %v, want ErrNotProbeOutput", err)
	}
	// Output without a final newline glues the marker to its last line;
	// a truncated output loses the last exit status.
	out := "@@drbd-probe shdev\n/dev/drbd3@@drbd-rc 0\n" +
		"@@drbd-probe dstate\nNo valid meta data found\n@@drbd-rc 1\n" +
		"stray\n" +
		"@@drbd-probe proc\nversion: 8.4.11 (api:1/proto:86-101)\nsrcversion: X \n 3: cs:WFConnection ro:Secondary/Unknown ds:Inconsistent/DUnknown C r-----\n"
	p, err := ParseProbe("pc0", out)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/dev/drbd3"}, p.Devices); diff != "" {
		t.Errorf("Devices mismatch (-want +got):\n%s", diff)
	}
	if p.Metadata != MetadataAbsent {
		t.Errorf("Metadata = %v", p.Metadata)
	}
	if got := p.Sections[SectionProc].Exit; got != -1 {
		t.Errorf("truncated section exit = %d, want -1", got)
	}
	// The truncated /proc/drbd is still used.
	if st := p.Status; !st.Configured || st.Minor != 3 || st.ConnectionState != ConnWFConnection || st.Resource != "pc0" {
		t.Errorf("Status = %+v", st)
	}
	wantW := []string{
		`probe output outside any section ignored: "stray"`,
		`probe section "proc" has no exit status (truncated?)`,
		"drbd-utils version unknown: drbdadm --version did not run",
	}
	if diff := cmp.Diff(wantW, p.Warnings); diff != "" {
		t.Errorf("Warnings mismatch (-want +got):\n%s", diff)
	}
}
