package provider

import (
	"testing"
)

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
