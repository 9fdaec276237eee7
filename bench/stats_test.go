package bench

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
)

// series is one figure measured once per round.
type series []float64

// summary returns the median and the range (min, max) of s.
func (s series) summary() (med, lo, hi float64) {
	if len(s) == 0 {
		return 0, 0, 0
	}
	x := slices.Clone(s)
	slices.Sort(x)
	n := len(x)
	med = x[n/2]
	if n%2 == 0 {
		med = (x[n/2-1] + x[n/2]) / 2
	}
	return med, x[0], x[n-1]
}

// over returns s[i]/base[i] for every round: a ratio against a baseline measured in the same
// round.
func (s series) over(base series) series {
	out := make(series, 0, len(s))
	for i := range min(len(s), len(base)) {
		if base[i] > 0 {
			out = append(out, s[i]/base[i])
		}
	}
	return out
}

// record appends "KEY MEDIAN MIN MAX ROUNDS" to the file named by BENCH_OUT (bench/run.sh
// reads it) and reports the median as a benchmark metric.
func record(b *testing.B, key string, s series) {
	b.Helper()
	med, lo, hi := s.summary()
	b.ReportMetric(med, key)
	path := os.Getenv("BENCH_OUT")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s %g %g %g %d\n", key, med, lo, hi, len(s)); err != nil {
		b.Fatal(err)
	}
}

// envInt is the integer in environment variable name, or def.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func TestSeriesSummary(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in          series
		med, lo, hi float64
	}{
		{nil, 0, 0, 0},
		{series{3}, 3, 3, 3},
		{series{4, 1, 3, 2}, 2.5, 1, 4},
		{series{5, 1, 9}, 5, 1, 9},
	} {
		med, lo, hi := tt.in.summary()
		if med != tt.med || lo != tt.lo || hi != tt.hi {
			t.Errorf("%v.summary() = %g, %g, %g; want %g, %g, %g", tt.in, med, lo, hi, tt.med, tt.lo, tt.hi)
		}
	}
	if got := (series{2, 9, 6}).over(series{1, 0, 3}); !slices.Equal(got, series{2, 2}) {
		t.Errorf("over = %v, want [2 2] (a zero baseline is skipped)", got)
	}
}
