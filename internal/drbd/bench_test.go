package drbd

import (
	"fmt"
	"strings"
	"testing"
)

// benchProcText returns a realistic 8.4 /proc/drbd with n minors: a mix of
// Connected, SyncSource/SyncTarget (with both progress lines), StandAlone with
// a blank protocol, Unconfigured entries and a gap.
func benchProcText(n int) string {
	var b strings.Builder
	b.WriteString("version: 8.4.11 (api:1/proto:86-101)\nsrcversion: F73C670A7EC572DB9CF3E5B \n")
	for i := 0; i < n; i++ {
		minor := i
		if i >= n/2 {
			minor = i + 4 // a gap in the numbering
		}
		if i == n/2 {
			b.WriteString("\n")
		}
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "%2d: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n"+
				"    ns:497 nr:0 dw:267131 dr:1592 al:11 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n", minor)
		case 1:
			fmt.Fprintf(&b, "%2d: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----\n"+
				"    ns:0 nr:482596 dw:515492 dr:0 al:8 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:549680\n"+
				"\t[========>...........] sync'ed: 47.7%% (549680/1048508)K\n"+
				"\tfinish: 0:00:22 speed: 24,940 (24,940) want: 102,400 K/sec\n", minor)
		case 2:
			fmt.Fprintf(&b, "%2d: cs:StandAlone ro:Primary/Unknown ds:UpToDate/DUnknown   r-----\n"+
				"    ns:807308 nr:0 dw:303501 dr:808398 al:11 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n", minor)
		case 3:
			fmt.Fprintf(&b, "%2d: cs:Unconfigured\n", minor)
		}
	}
	return b.String()
}

// maxAllocsProc16 bounds the allocations of parsing a 16-minor /proc/drbd:
// the result struct and the minors slice (sized up front), independent of
// the number of lines.
const maxAllocsProc16 = 2

func TestParseProcDRBD_boundedAllocations(t *testing.T) {
	text := benchProcText(16)
	p, err := ParseProcDRBD(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Minors) != 16 || len(p.Warnings) != 0 {
		t.Fatalf("bench input parsed to %d minors, warnings %q", len(p.Minors), p.Warnings)
	}
	for _, n := range []int{16, 64} {
		text := benchProcText(n)
		allocs := testing.AllocsPerRun(50, func() {
			if _, err := ParseProcDRBD(text); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > maxAllocsProc16 {
			t.Errorf("parsing %d minors: %.0f allocations, want at most %d", n, allocs, maxAllocsProc16)
		}
	}
}

// BenchmarkParseProcDRBD16 parses a 16-minor /proc/drbd; the baseline
// sub-benchmark only splits the same text with strings.Fields, so that the
// parser's cost can be reported as a ratio to the cheapest possible scan.
func BenchmarkParseProcDRBD16(b *testing.B) {
	text := benchProcText(16)
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			if _, err := ParseProcDRBD(text); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-strings.Fields", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			if len(strings.Fields(text)) == 0 {
				b.Fatal("no fields")
			}
		}
	})
	b.Run("parse+StatusOf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := ParseProcDRBD(text)
			if err != nil {
				b.Fatal(err)
			}
			for i := range p.Minors {
				if _, ok := p.StatusOf(p.Minors[i].Minor); !ok {
					b.Fatal("minor lost")
				}
			}
		}
	})
}
