package hostfs

import "testing"

func TestFileCommands(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{ReadFileCommand("/etc/drbd.d/pc0.res"), "if test -e /etc/drbd.d/pc0.res; then cat /etc/drbd.d/pc0.res; else exit 3; fi"},
		{ReadFileCommand("/tmp/a b"), "if test -e '/tmp/a b'; then cat '/tmp/a b'; else exit 3; fi"},
		{WriteFileCommand("/etc/drbd.d/pc0.res", "600"), "mkdir -p /etc/drbd.d && cat > /etc/drbd.d/.pc0.res.terraform-tmp && " +
			"chmod 600 /etc/drbd.d/.pc0.res.terraform-tmp && mv -f /etc/drbd.d/.pc0.res.terraform-tmp /etc/drbd.d/pc0.res"},
		{TouchCommand("/var/opt/opscode/drbd/drbd_ready"), "touch /var/opt/opscode/drbd/drbd_ready"},
		{ExistsCommand("/x;y"), "test -e '/x;y'"},
		{RemoveCommand("/x"), "rm -f /x"},
		{MountTargetsCommand("/dev/drbd0"), "findmnt -n -r -o TARGET --source /dev/drbd0"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got  %q\nwant %q", tt.got, tt.want)
		}
	}
}
