package drbd

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// probeSection is one section of a synthetic probe output.
type probeSection struct {
	name, out string
	exit      int
}

// probeOutput assembles probe output from its sections.
func probeOutput(secs ...probeSection) string {
	var b strings.Builder
	for _, s := range secs {
		name, out, exit := s.name, s.out, s.exit
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		b.WriteString(probeMarker + name + "\n" + out + rcMarker + strconv.Itoa(exit) + "\n")
	}
	return b.String()
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/drbd-8.4.11/states/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestProbe_pollReusesVersionsAndDevice(t *testing.T) {
	t.Parallel()
	version := "DRBD_KERNEL_VERSION_CODE=0x08040b\nDRBDADM_VERSION=9.22.0\n"
	full := probeOutput(
		probeSection{SectionVersion, version, 0},
		probeSection{SectionProc, readFixture(t, "03-syncsource-primary-14.5pct.txt"), 0},
		probeSection{SectionShDev, "/dev/drbd0\n", 0},
		probeSection{SectionDState, "UpToDate/Inconsistent\n", 0},
	)
	p, err := ParseProbe("pc0", full)
	if err != nil || p.Status.ConnectionState != ConnSyncSource {
		t.Fatalf("full probe: %+v, %v", p, err)
	}
	cmd := p.PollCommand(rn("pc0"))
	if !strings.Contains(cmd, "cat /proc/drbd") || strings.Contains(cmd, "drbdadm") {
		t.Errorf("8.4 poll command %q must read /proc/drbd only", cmd)
	}
	polled, err := p.ParsePoll("pc0", probeOutput(probeSection{SectionProc, readFixture(t, "05-connected-primary-uptodate.txt"), 0}))
	if err != nil {
		t.Fatal(err)
	}
	if !InSync(polled.Status) || polled.Status.Device != "/dev/drbd0" || polled.Status.Resource != "pc0" {
		t.Errorf("polled status %+v, want in sync on /dev/drbd0", polled.Status)
	}
	if polled.Versions != p.Versions || polled.Metadata != p.Metadata {
		t.Errorf("poll lost versions/metadata: %+v vs %+v", polled.Versions, p.Versions)
	}
	if _, err := p.ParsePoll("pc0", "garbage"); err == nil {
		t.Error("garbage accepted")
	}
}

func TestProbe_pollDRBD9UsesJSON(t *testing.T) {
	t.Parallel()
	p := &Probe{Sections: map[string]ProbeSection{SectionJSON: {Output: "[]", Exit: 0}}}
	if cmd := p.PollCommand(rn("pc0")); cmd != "echo '@@drbd-probe json'; drbdsetup status pc0 --json 2>&1; echo \"@@drbd-rc $?\"" {
		t.Errorf("9 poll command = %q", cmd)
	}
	p = &Probe{Sections: map[string]ProbeSection{SectionJSON: {Exit: 20}, SectionStatus: {}}}
	if cmd := p.PollCommand(rn("pc0")); !strings.Contains(cmd, "drbdadm status pc0") {
		t.Errorf("poll without --json support = %q, want the drbdadm status text", cmd)
	}
}
