package provider

import (
	"testing"
	"time"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
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

func TestStallWatch(t *testing.T) {
	t.Parallel()
	w := &stallWatch{limit: time.Minute}
	t0 := time.Unix(1000, 0)
	syncing := func(oos int64) drbd.Status {
		return drbd.Status{Configured: true, Syncing: true, ConnectionState: drbd.ConnSyncSource,
			DiskState: drbd.DiskUpToDate, PeerDiskState: drbd.DiskInconsistent, OutOfSyncKiB: oos, SpeedKiBps: 100}
	}
	steps := []struct {
		at      time.Duration
		st      drbd.Status
		stalled bool
	}{
		{0, syncing(1000), false},
		{30 * time.Second, syncing(900), false},  // progress resets the clock
		{89 * time.Second, syncing(900), false},  // 59 s without progress
		{91 * time.Second, syncing(950), true},   // 61 s: stalled (an increase is no progress)
		{92 * time.Second, drbd.Status{}, false}, // not syncing: the watch stops
		{200 * time.Second, syncing(950), false}, // starts again
		{300 * time.Second, syncing(950), true},  //
	}
	for i, s := range steps {
		err := w.observe(t0.Add(s.at), s.st)
		if (err != nil) != s.stalled {
			t.Errorf("step %d at %s: err = %v, want stalled %v", i, s.at, err, s.stalled)
		}
	}
	w = &stallWatch{limit: time.Second}
	away := syncing(10)
	away.PeerDiskState = drbd.DiskDUnknown
	for i := range 5 {
		if err := w.observe(t0.Add(time.Duration(i)*time.Minute), away); err != nil {
			t.Fatalf("a disconnected peer counted as a stall: %v", err)
		}
	}
}
