package provider

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestParseImportID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id      string
		abs     bool
		want    importID
		wantErr bool
	}{
		{id: "192.0.2.10/pc0", want: importID{Host: "192.0.2.10", Rest: "pc0"}},
		{id: "backend1:2222/pc0", want: importID{Host: "backend1", Port: 2222, Rest: "pc0"}},
		{id: "[2001:db8::1]:22/pc0", want: importID{Host: "2001:db8::1", Port: 22, Rest: "pc0"}},
		{id: "[2001:db8::1]/pc0", want: importID{Host: "2001:db8::1", Rest: "pc0"}},
		{id: "h/var/opt/opscode/drbd/data", abs: true, want: importID{Host: "h", Rest: "/var/opt/opscode/drbd/data"}},
		{id: "h:22/var/opt/opscode/drbd/drbd_ready", abs: true, want: importID{Host: "h", Port: 22, Rest: "/var/opt/opscode/drbd/drbd_ready"}},
		{id: "pc0", wantErr: true},
		{id: "/pc0", wantErr: true},
		{id: "h/", wantErr: true},
		{id: "h:99999/pc0", wantErr: true},
		{id: "h:x/pc0", wantErr: true},
		{id: "h;rm/pc0", wantErr: true},
		{id: "[::1/pc0", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseImportID(tt.id, tt.abs)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseImportID(%q) error = %v, wantErr %v", tt.id, err, tt.wantErr)
			continue
		}
		if err == nil {
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseImportID(%q) (-want +got):\n%s", tt.id, diff)
			}
		}
	}
}

func TestFormatID_roundTrips(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		host string
		port int64
		rest string
		abs  bool
	}{
		{"192.0.2.10", 0, "pc0", false},
		{"backend1", 2222, "pc0", false},
		{"2001:db8::1", 22, "pc0", false},
		{"h", 0, "/var/opt/opscode/drbd/data", true},
	} {
		m := connectionModel{Host: types.StringValue(c.host), Port: types.Int64Null()}
		if c.port != 0 {
			m.Port = types.Int64Value(c.port)
		}
		id := formatID(m, c.rest)
		got, err := parseImportID(id, c.abs)
		if err != nil {
			t.Fatalf("formatID gave %q, which does not parse: %v", id, err)
		}
		if got.Host != c.host || got.Port != c.port || got.Rest != c.rest {
			t.Errorf("round trip of %+v through %q gave %+v", c, id, got)
		}
	}
}

func TestValidateAbsPath(t *testing.T) {
	t.Parallel()
	good := []string{"/", "/var/opt/opscode/drbd/data", "/var/opt/opscode/drbd/drbd_ready", "/dev/drbd0", "/mnt/a-b_c.d+e@f"}
	bad := []string{"", "relative", "/var/x y", "/var/$(id)", "/var/x;reboot", "/var/../etc", "/var/./x", "//x", "/x/", "/x\nreboot", "/x`id`", "/x'y", "/x\"y", "/x*", "/x&y", "/x|y", "/x>y"}
	for _, p := range good {
		if problem := validateAbsPath(p); problem != "" {
			t.Errorf("validateAbsPath(%q) = %q, want ok", p, problem)
		}
	}
	for _, p := range bad {
		if validateAbsPath(p) == "" {
			t.Errorf("validateAbsPath(%q) accepted a bad path", p)
		}
	}
}
