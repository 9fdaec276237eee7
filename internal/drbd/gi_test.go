package drbd

import "testing"

func TestParseGI_realCaptures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file        string
		justCreated bool
	}{
		{"drbd-8.4.11/day2/01-node1-get-gi-just-created.txt", true},
		{"drbd-8.4.11/day2/01-node2-get-gi-just-created.txt", true},
		{"drbd-8.4.11/day2/02-node1-show-gi-just-created.txt", true},
		{"drbd-8.4.11/day2/32-node1-get-gi-after-clear-bitmap.txt", false},
		{"drbd-8.4.11/day2/36-node1-get-gi-after-primary.txt", false},
	}
	for _, tt := range tests {
		g, err := ParseGI(readTestdata(t, tt.file))
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if g.JustCreated() != tt.justCreated {
			t.Errorf("%s: JustCreated = %v (%+v), want %v", tt.file, g.JustCreated(), g, tt.justCreated)
		}
	}
	for _, bad := range []string{"", "No valid meta data found\n", "4:0:0:0\n", "zzzzzzzzzzzzzzzz:0000000000000000:0000000000000000:0000000000000000:0\n"} {
		if _, err := ParseGI(bad); err == nil {
			t.Errorf("ParseGI(%q) succeeded", bad)
		}
	}
	// A Just Created UUID with the Primary bit set is still just created.
	if g, _ := ParseGI("0000000000000005:0000000000000000:0000000000000000:0000000000000000:0:0:1:1:0:1:0"); !g.JustCreated() {
		t.Error("primary bit not ignored")
	}
}

func TestSkipInitialSyncCommands(t *testing.T) {
	t.Parallel()
	for v, want := range map[*Versions]string{
		&v83: "drbdadm -- --clear-bitmap new-current-uuid pc0",
		&v84: "drbdadm -- --clear-bitmap new-current-uuid pc0",
		&v9:  "drbdadm new-current-uuid --clear-bitmap pc0",
	} {
		got, err := NewCommands(*v).SkipInitialSync(rn("pc0"))
		if err != nil || got != want {
			t.Errorf("%v: SkipInitialSync = %q, %v; want %q", *v, got, err, want)
		}
	}
	if _, err := NewCommands(vUnknown).SkipInitialSync(rn("pc0")); err == nil {
		t.Error("unknown version accepted")
	}
	if got := NewCommands(v84).GetGI(rn("pc0")); got != "drbdadm get-gi pc0" {
		t.Errorf("GetGI = %q", got)
	}
}
