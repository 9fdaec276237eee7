package provider

import (
	"testing"
	"time"
)

func TestLogThrottle_atMostEveryInterval(t *testing.T) {
	t.Parallel()
	l := &logThrottle{every: progressLogInterval}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var logged []time.Duration
	// Polls every 2s for a minute, the default poll_interval.
	for d := time.Duration(0); d <= time.Minute; d += 2 * time.Second {
		if l.due(start.Add(d)) {
			logged = append(logged, d)
		}
	}
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second, 40 * time.Second, 50 * time.Second, 60 * time.Second}
	if len(logged) != len(want) {
		t.Fatalf("logged at %v, want %v", logged, want)
	}
	for i := range want {
		if logged[i] != want[i] {
			t.Fatalf("logged at %v, want %v", logged, want)
		}
	}
	for i := 1; i < len(logged); i++ {
		if logged[i]-logged[i-1] < progressLogInterval {
			t.Fatalf("two progress lines %v apart", logged[i]-logged[i-1])
		}
	}
}
