package drbdsim

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

// capture9Dir holds the outputs captured on a real DRBD 9.2.12 pair (its README.md says how).
const capture9Dir = "../drbd/testdata/drbd-9.2.12"

// capture9Cmds are the commands of the captures the simulator must reproduce: the provider's
// reads. `drbdsetup status --verbose --statistics` and `drbdsetup show` are captured too but
// the provider parses neither, so only their exit status is compared.
var capture9Cmds = []struct{ name, cmd string }{
	{"version", "drbdadm --version"},
	{"proc-drbd", "cat /proc/drbd"},
	{"sh-dev", "drbdadm sh-dev pc0"},
	{"dstate", "drbdadm dstate pc0"},
	{"cstate", "drbdadm cstate pc0"},
	{"role", "drbdadm role pc0"},
	{"status-json", "drbdsetup status pc0 --json"},
	{"drbdadm-status", "drbdadm status pc0"},
	{"status-verbose", "drbdsetup status pc0 --verbose --statistics"},
	{"events2-now", "drbdsetup events2 --now --statistics pc0"},
	{"get-gi", "drbdadm get-gi pc0"},
	{"show", "drbdsetup show pc0"},
}

// jsonIgnored are the keys of `drbdsetup status --json` the provider never reads (see
// internal/drbd's jsonResource): I/O counters and flags whose values the simulator does not
// model. Every other key must be present in both with the same JSON type and value.
var jsonIgnored = []string{
	"node-id", "suspended", "suspended-user", "suspended-no-data", "suspended-fencing", "suspended-quorum",
	"force-io-failures", "write-ordering", "client", "quorum", "size", "read", "written", "al-writes",
	"bm-writes", "upper-pending", "lower-pending", "peer-node-id", "congested", "ap-in-flight", "rs-in-flight",
	"peer-client", "resync-suspended", "received", "sent", "pending", "unacked", "has-sync-details",
	"has-online-verify-details", "rs-total", "rs-dt-start-ms", "rs-paused-ms", "rs-dt0-ms", "rs-db0-sectors",
	"rs-dt1-ms", "rs-db1-sectors", "rs-failed", "rs-same-csum", "want", "db/dt [MiB/s]",
}

// jsonMeasured are keys the provider reads whose values are measurements of the real run
// (resync speed and the estimate derived from it): the same JSON type (a number) is required,
// not the same value.
var jsonMeasured = []string{"db0/dt0 [MiB/s]", "db1/dt1 [MiB/s]", "estimated-seconds-to-finish"}

// events2Read are the keys of `drbdsetup events2 --now` lines that ParseEvents2Now (and the
// guards reading events2) use; the other keys (statistics, flags) are not compared.
var events2Read = []string{"name", "role", "connection", "peer-node-id", "conn-name", "volume", "minor", "disk",
	"replication", "peer-disk"}

// handshakeRE is internal/drbd's connectedRE: the kernel-log lines after which the provider no
// longer reports a split brain. With the "Split-Brain detected" lines they are what the
// provider reads from the kernel log, so those lines are compared one for one.
var handshakeRE = regexp.MustCompile(`\b(?:conn|repl)\( \S+ -> (?:Connected|Established|WFBitMapS|WFBitMapT|WFSyncUUID|` +
	`StartingSyncS|StartingSyncT|SyncSource|SyncTarget|PausedSyncS|PausedSyncT|VerifyS|VerifyT|Ahead|Behind) \)`)

var klogStampRE = regexp.MustCompile(`^\[[ 0-9.]+\] `)

// klogRead returns the kernel-log lines the provider reads, without their time stamps.
func klogRead(lines []string) []string {
	out := []string{}
	for _, l := range lines {
		l = klogStampRE.ReplaceAllString(l, "")
		if strings.HasPrefix(l, "drbd pc0") && (strings.Contains(l, "Split-Brain detected") || handshakeRE.MatchString(l)) {
			out = append(out, l)
		}
	}
	return out
}

// capture9State is one captured state and how to reach it from the previous one.
type capture9State struct {
	dir  string
	step func(t *testing.T, p *Pair)
}

// setAfterSB rewrites the resource file's after-sb policies on a node, as the capture did
// before the split brain.
func setAfterSB(t *testing.T, n *Node, policy string) {
	t.Helper()
	conf := mustRun(t, n, "cat /etc/drbd.d/pc0.res")
	conf = regexp.MustCompile(`(after-sb-[012]pri)\s+[a-z-]+\s*;`).ReplaceAllString(conf, "$1 "+policy+";")
	var out, errb strings.Builder
	if code := n.Handle(context.Background(), "cat > /etc/drbd.d/pc0.res", strings.NewReader(conf), &out, &errb); code != 0 {
		t.Fatalf("writing the resource file: %d %s", code, errb.String())
	}
}

// capture9States walks the simulator through the captured states in the capture's order
// (testdata/drbd-9.2.12/README.md in internal/drbd).
var capture9States = []capture9State{
	{"00-module-loaded-no-resource", func(*testing.T, *Pair) {}},
	{"01-metadata-only", func(t *testing.T, p *Pair) {
		mustRun(t, p.Node(0), "drbdadm -- --force create-md pc0")
		mustRun(t, p.Node(1), "drbdadm -- --force create-md pc0")
	}},
	{"02-connected-secondary-inconsistent", func(t *testing.T, p *Pair) {
		mustRun(t, p.Node(0), "drbdadm up pc0")
		mustRun(t, p.Node(1), "drbdadm up pc0")
	}},
	{"03-syncsource-primary", func(t *testing.T, p *Pair) {
		mustRun(t, p.Node(0), "drbdadm primary --force pc0")
	}},
	{"04-connected-primary-uptodate", func(_ *testing.T, p *Pair) { p.CompleteSync() }},
	{"05-standalone-after-disconnect", func(t *testing.T, p *Pair) {
		mustRun(t, p.Node(0), "drbdadm disconnect pc0")
	}},
	{"06-peer-down", func(t *testing.T, p *Pair) {
		mustRun(t, p.Node(0), "drbdadm connect pc0")
		mustRun(t, p.Node(1), "drbdadm down pc0")
	}},
	{"07-peer-back", func(t *testing.T, p *Pair) {
		mustRun(t, p.Node(1), "drbdadm up pc0")
	}},
	{"08-switchover-node2-primary", func(t *testing.T, p *Pair) {
		mustRun(t, p.Node(0), "drbdadm secondary pc0")
		mustRun(t, p.Node(1), "drbdadm primary pc0")
	}},
	{"09-split-brain-standalone", func(t *testing.T, p *Pair) {
		n1, n2 := p.Node(0), p.Node(1)
		mustRun(t, n2, "drbdadm secondary pc0")
		setAfterSB(t, n1, "disconnect")
		setAfterSB(t, n2, "disconnect")
		mustRun(t, n1, "drbdadm disconnect pc0")
		mustRun(t, n2, "drbdadm disconnect pc0")
		mustRun(t, n1, "drbdadm primary pc0")
		n1.WriteData(4096)
		mustRun(t, n1, "drbdadm secondary pc0")
		mustRun(t, n2, "drbdadm primary pc0")
		n2.WriteData(4096)
		mustRun(t, n1, "drbdadm connect pc0")
		mustRun(t, n2, "drbdadm connect pc0")
	}},
	{"10-down", func(t *testing.T, p *Pair) {
		mustRun(t, p.Node(0), "drbdadm down pc0")
		mustRun(t, p.Node(1), "drbdadm down pc0")
	}},
}

// readCapture9 returns one captured file.
func readCapture9(t *testing.T, state string, node int, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(capture9Dir, state, fmt.Sprintf("node%d-%s.txt", node+1, name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// captureRC returns the exit codes of a state's rc.txt by "nodeN name".
func captureRC(t *testing.T, state string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(capture9Dir, state, "rc.txt"))
	if err != nil {
		t.Fatal(err)
	}
	rc := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		code, err := strconv.Atoi(f[2])
		if err != nil {
			t.Fatalf("rc.txt: %q", line)
		}
		rc[f[0]+" "+f[1]] = code
	}
	return rc
}

// TestCapturesDRBD9 drives the simulator's DRBD 9 mode through the states captured on a real
// DRBD 9.2.12 pair, in the capture's order, and compares what each node prints for every
// command the provider runs with the capture: the exit status of every captured command;
// /proc/drbd, sh-dev, dstate, cstate, role, `drbdadm status` and `drbdadm --version` line for
// line; `drbdsetup status --json` structurally (every key but jsonIgnored, same JSON types and
// values; jsonMeasured by type); events2 line by line on the keys the parsers read; get-gi by
// what the provider reads from it (the field count, hex UUIDs, Just Created or not); and the
// kernel-log lines the split-brain detection reads (klogRead), one for one. A resync in
// progress is set to the capture's progress before each read of it.
func TestCapturesDRBD9(t *testing.T) {
	t.Parallel()
	p := newPair(PairConfig{Version: V9, SyncStepPercent: -1})
	var seen [2]int // kernel-log lines already compared, by node
	for _, st := range capture9States {
		st.step(t, p)
		ok := t.Run(st.dir, func(t *testing.T) {
			rc := captureRC(t, st.dir)
			for i := range 2 {
				n := p.Node(i)
				for _, c := range capture9Cmds {
					want := readCapture9(t, st.dir, i, c.name)
					syncTo(p, c.name, want)
					r := run(t, n, "exec 2>&1; "+c.cmd) // as the capture ran them
					got := r.stdout + r.stderr
					what := fmt.Sprintf("node%d %s", i+1, c.cmd)
					if w := rc[fmt.Sprintf("node%d %s", i+1, c.name)]; r.code != w {
						t.Errorf("%s: exit %d, capture %d (output %q)", what, r.code, w, got)
					}
					compareCapture9(t, what, c.name, want, got)
				}
				log := n.KernelLog()
				want := klogRead(strings.Split(readCapture9(t, st.dir, i, "dmesg-new"), "\n"))
				if diff := cmp.Diff(want, klogRead(log[seen[i]:])); diff != "" {
					t.Errorf("node%d kernel log (-capture +sim):\n%s", i+1, diff)
				}
				seen[i] = len(log)
			}
		})
		if !ok {
			// Later states build on this one; their differences would only repeat it.
			t.Fatalf("state %s differs; later states not compared", st.dir)
		}
	}
}

var (
	doneRE = regexp.MustCompile(`done:(\d+\.\d\d)`)
	oosRE  = regexp.MustCompile(`"out-of-sync": (\d+)`)
)

// syncTo sets a running resync to the progress the capture shows in want (the real commands
// were run seconds apart during the resync).
func syncTo(p *Pair, name, want string) {
	running, _ := p.Syncing()
	if !running {
		return
	}
	total := p.Config().SizeKiB
	switch name {
	case "drbdadm-status":
		if m := doneRE.FindStringSubmatch(want); m != nil {
			done, _ := strconv.ParseFloat(m[1], 64)
			left := int64(float64(total) * (100 - done) / 100)
			p.setLeft(total, left&^3)
		}
	case "status-json":
		if m := oosRE.FindStringSubmatch(want); m != nil {
			left, _ := strconv.ParseInt(m[1], 10, 64)
			p.setLeft(total, left)
		}
	}
}

// compareCapture9 compares one command's output with its capture.
func compareCapture9(t *testing.T, what, name, want, got string) {
	t.Helper()
	switch name {
	case "status-verbose", "show":
		// Not parsed by the provider: the exit status is compared, the text is not.
	case "status-json":
		compareJSON(t, what, want, got)
	case "events2-now":
		compareEvents2(t, what, want, got)
	case "get-gi":
		compareGI(t, what, want, got)
	default:
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-capture +sim):\n%s", what, diff)
		}
	}
}

// compareJSON compares `drbdsetup status --json`: the leading error text line for line,
// then the JSON array structurally.
func compareJSON(t *testing.T, what, want, got string) {
	t.Helper()
	split := func(s string) (string, any) {
		i := strings.Index(s, "[")
		if i < 0 {
			return s, nil
		}
		var v any
		if err := json.Unmarshal([]byte(s[i:]), &v); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", what, err, s)
		}
		return s[:i], v
	}
	wText, wv := split(want)
	gText, gv := split(got)
	if wText != gText {
		t.Errorf("%s: text before the JSON %q, capture %q", what, gText, wText)
	}
	diffJSON(t, what, "$", wv, gv)
}

// diffJSON reports where got differs from want, ignoring jsonIgnored keys.
func diffJSON(t *testing.T, what, path string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: %s is %T, capture an object", what, path, got)
			return
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		for k := range keys {
			if slices.Contains(jsonIgnored, k) {
				continue
			}
			wv, wok := w[k]
			gv, gok := g[k]
			switch {
			case !wok:
				t.Errorf("%s: %s.%q is not in the capture", what, path, k)
			case !gok:
				t.Errorf("%s: %s.%q is missing (capture %v)", what, path, k, wv)
			case slices.Contains(jsonMeasured, k):
				if _, isNum := gv.(float64); !isNum {
					t.Errorf("%s: %s.%q is %T, capture a number", what, path, k, gv)
				}
			default:
				diffJSON(t, what, path+"."+k, wv, gv)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: %s is %v, capture %v", what, path, got, want)
			return
		}
		for i := range w {
			diffJSON(t, what, fmt.Sprintf("%s[%d]", path, i), w[i], g[i])
		}
	default:
		if fmt.Sprintf("%T %v", want, want) != fmt.Sprintf("%T %v", got, got) {
			t.Errorf("%s: %s is %T %v, capture %T %v", what, path, got, got, want, want)
		}
	}
}

// compareEvents2 compares `drbdsetup events2 --now` line by line: the event and object
// words, and the keys in events2Read.
func compareEvents2(t *testing.T, what, want, got string) {
	t.Helper()
	norm := func(s string) []string {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
			f := strings.Fields(line)
			keep := f[:min(2, len(f))]
			for _, kv := range f[min(2, len(f)):] {
				if k, _, _ := strings.Cut(kv, ":"); slices.Contains(events2Read, k) {
					keep = append(keep, kv)
				}
			}
			if len(keep) > 1 && keep[1] == "path" {
				continue // connection paths: not read by the provider, not modelled
			}
			out = append(out, strings.Join(keep, " "))
		}
		return out
	}
	if diff := cmp.Diff(norm(want), norm(got)); diff != "" {
		t.Errorf("%s (-capture +sim, keys %v):\n%s", what, events2Read, diff)
	}
}

// compareGI compares `drbdadm get-gi`: what the provider reads from it (ParseGI and
// GI.JustCreated) and the field count; the UUIDs are random on a real host and the flags
// are not read.
func compareGI(t *testing.T, what, want, got string) {
	t.Helper()
	wg, werr := drbd.ParseGI(want)
	gg, gerr := drbd.ParseGI(got)
	switch {
	case (werr == nil) != (gerr == nil):
		t.Errorf("%s: ParseGI error %v, on the capture %v", what, gerr, werr)
	case werr != nil:
		if want != got {
			t.Errorf("%s: %q, capture %q", what, got, want)
		}
	case wg.JustCreated() != gg.JustCreated():
		t.Errorf("%s: %q JustCreated %v, capture %q %v", what, gg.Raw, gg.JustCreated(), wg.Raw, wg.JustCreated())
	case strings.Count(wg.Raw, ":") != strings.Count(gg.Raw, ":"):
		t.Errorf("%s: %q has %d fields, capture %q %d", what, gg.Raw, strings.Count(gg.Raw, ":")+1, wg.Raw, strings.Count(wg.Raw, ":")+1)
	}
}
