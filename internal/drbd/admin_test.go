package drbd

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseDState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in          string
		local, peer DiskState
		wantErr     error
	}{
		{in: "UpToDate/Inconsistent\n", local: DiskUpToDate, peer: DiskInconsistent},
		{in: "Consistent\n", local: DiskConsistent, peer: DiskDUnknown},
		{in: "UpToDate/UpToDate/Outdated\n", local: DiskUpToDate, peer: DiskUpToDate}, // DRBD 9, two peers
		{in: "Diskless/UpToDate\n", local: DiskDiskless, peer: DiskUpToDate},
		{in: "No valid meta data found\n", wantErr: ErrNoMetadata},
		{in: "0: Failure: (127) Device minor not allocated\n", wantErr: ErrNotAllocated},
		{in: "pc0: No such resource\n", wantErr: ErrNotAllocated},
		{in: "Sideways/UpToDate", wantErr: errAny},
		{in: "UpToDate/Sideways", wantErr: errAny},
		{in: "\n\n", wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			l, p, err := ParseDState(tt.in)
			checkErr(t, err, tt.wantErr)
			if l != tt.local || p != tt.peer {
				t.Errorf("got %q/%q, want %q/%q", l, p, tt.local, tt.peer)
			}
		})
	}
}

var errAny = errors.New("any error")

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error %v", err)
	case want != nil && err == nil:
		t.Fatalf("no error, want %v", want)
	case want != nil && want != errAny && !errors.Is(err, want):
		t.Fatalf("err = %v, want %v", err, want)
	}
}

// transcriptBlock is one "#### nodeN $ command / rc=N / ```output```" entry of
// the real command transcript.
type transcriptBlock struct {
	node, cmd string
	rc        int
	out       string
}

var transcriptHead = regexp.MustCompile("(?m)^#### (node\\d) \\$ (.*)\nrc=(\\d+)[^\n]*\n```\n")

func transcript(t *testing.T) []transcriptBlock {
	t.Helper()
	text := readTestdata(t, "drbd-8.4.11/commands-transcript.md")
	var blocks []transcriptBlock
	for _, m := range transcriptHead.FindAllStringSubmatchIndex(text, -1) {
		rest := text[m[1]:]
		end := strings.Index(rest, "```")
		if end < 0 {
			t.Fatalf("unterminated block at %d", m[0])
		}
		rc, _ := strconv.Atoi(text[m[6]:m[7]])
		blocks = append(blocks, transcriptBlock{node: text[m[2]:m[3]], cmd: text[m[4]:m[5]], rc: rc, out: rest[:end]})
	}
	if len(blocks) < 80 {
		t.Fatalf("only %d transcript blocks found", len(blocks))
	}
	return blocks
}

// TestTranscript feeds every real command output of the 8.4.11 lab transcript
// to the matching parser: exit 0 must parse, failures must be errors (or
// unconfigured statuses).
func TestTranscript(t *testing.T) {
	t.Parallel()
	counts := map[string]int{}
	for i, b := range transcript(t) {
		name := strconv.Itoa(i) + " " + b.node + " " + b.cmd
		switch {
		case b.cmd == "cat /proc/drbd" || b.cmd == "tail -n +3 /proc/drbd":
			counts["proc"]++
			p, err := ParseProcDRBD(b.out)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if b.cmd == "cat /proc/drbd" && (p.Version != Version{8, 4, 11} || len(p.Warnings) != 0) {
				t.Errorf("%s: version %v warnings %q", name, p.Version, p.Warnings)
			}
			if len(p.Minors) == 1 {
				if st, _ := p.StatusOf(0); !st.Configured || st.DiskState == "" {
					t.Errorf("%s: status %+v", name, st)
				}
			}
		case strings.HasPrefix(b.cmd, "cat /proc/drbd;"):
			// Several commands' outputs concatenated: the /proc/drbd part must
			// parse, the rest must be reported, not fatal.
			counts["proc+"]++
			p, err := ParseProcDRBD(b.out)
			if err != nil || p.Version != (Version{8, 4, 11}) || len(p.Warnings) == 0 {
				t.Errorf("%s: err %v version %v warnings %q", name, err, p.Version, p.Warnings)
			}
		case b.cmd == "drbdadm --version":
			counts["version"]++
			k, u, err := ParseUtilsVersion(b.out)
			if err != nil || k != (Version{8, 4, 11}) || u != (Version{9, 22, 0}) {
				t.Errorf("%s: %v %v %v", name, k, u, err)
			}
		case b.cmd == "drbdadm dstate pc0":
			counts["dstate"]++
			l, _, err := ParseDState(b.out)
			if (err == nil) != (b.rc == 0) {
				t.Errorf("%s (rc %d): %q %v", name, b.rc, l, err)
			}
			if b.rc == 1 && !errors.Is(err, ErrNoMetadata) {
				t.Errorf("%s: err %v, want ErrNoMetadata", name, err)
			}
		case b.cmd == "drbdadm status pc0":
			counts["status"]++
			st, err := ParseStatusText(b.out, "pc0")
			if b.rc != 0 {
				if !errors.Is(err, ErrNoSuchResource) || st.Configured {
					t.Errorf("%s (rc %d): %+v %v", name, b.rc, st, err)
				}
				continue
			}
			if err != nil || !st.Configured || st.ConnectionState != ConnConnected || st.ReplicationState == "" || st.PeerRole == RoleUnknown {
				t.Errorf("%s: %+v %v", name, st, err)
			}
		case b.cmd == "drbdsetup status --json pc0":
			counts["json"]++
			if _, err := ParseStatusJSON([]byte(b.out), "pc0"); err == nil {
				t.Errorf("%s: 8.4's usage text parsed as JSON", name)
			}
		case b.cmd == "drbdsetup status pc0 --verbose --statistics":
			counts["verbose"]++
			st, err := ParseStatusText(b.out, "pc0")
			want := Status{Resource: "pc0", Configured: true, Minor: 0, Device: "/dev/drbd0", Role: RoleSecondary,
				PeerRole: RoleSecondary, ConnectionState: ConnConnected, ReplicationState: ReplEstablished,
				DiskState: DiskInconsistent, PeerDiskState: DiskInconsistent, OutOfSyncKiB: 1048508}
			if err != nil {
				t.Errorf("%s: %v", name, err)
			} else if diff := cmp.Diff(want, st); diff != "" {
				t.Errorf("%s: mismatch (-want +got):\n%s", name, diff)
			}
		}
	}
	for _, k := range []string{"proc", "proc+", "version", "dstate", "status", "json", "verbose"} {
		if counts[k] == 0 {
			t.Errorf("no transcript block exercised %q", k)
		}
	}
	t.Logf("transcript blocks parsed: %v", counts)
}
