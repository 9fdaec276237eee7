package drbdsim

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/hostfs"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// mountedPair returns a pair with an ext4 filesystem of node1 mounted on dir.
func mountedPair(t *testing.T, dir string) *Pair {
	t.Helper()
	p := primaryPair(t, PairConfig{})
	mustRun(t, p.Node(0), "mkfs.ext4 -q /dev/drbd0 && mkdir -p "+dir+" && mount -t ext4 /dev/drbd0 "+dir)
	return p
}

func TestHoldMount(t *testing.T) {
	t.Parallel()
	p := mountedPair(t, "/mnt")
	n := p.Node(0)
	n.HoldMount("/mnt", "sleep", 123)
	n.HoldMount("/mnt/", "sleep", 123) // the same process: no second entry
	busy := result{"", "umount: /mnt: target is busy.\n", 32}
	if diff := cmp.Diff(busy, run(t, n, "umount /mnt"), cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("umount while held (-want +got):\n%s", diff)
	}
	if _, _, ok := n.MountedAt("/mnt"); !ok {
		t.Fatal("a busy umount unmounted")
	}
	table := "                     USER        PID ACCESS COMMAND\n" +
		"/mnt:                root     kernel mount /mnt\n" +
		"                     root        123 ..c.. sleep\n"
	if diff := cmp.Diff(result{"", table, 0}, run(t, n, "fuser -vm /mnt"), cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("fuser -vm (-want +got):\n%s", diff)
	}
	// Still held: the provider's umount, fuser, umount cycle keeps failing.
	if r := run(t, n, "umount /mnt"); r.code != 32 {
		t.Errorf("second umount while held: %+v", r)
	}
	// The other node knows nothing of node1's processes.
	if r := run(t, p.Node(1), "mkdir -p /mnt && fuser -vm /mnt"); r.code != 1 || r.stderr != "                     USER        PID ACCESS COMMAND\n/mnt:                root     kernel mount /\n" {
		t.Errorf("fuser on node2: %+v", r)
	}
	n.ReleaseMount("/mnt")
	if r := run(t, n, "fuser -vm /mnt"); r.code != 1 || r.stderr != "                     USER        PID ACCESS COMMAND\n/mnt:                root     kernel mount /mnt\n" {
		t.Errorf("fuser after release: %+v", r)
	}
	mustRun(t, n, "umount /mnt")
	if _, _, ok := n.MountedAt("/mnt"); ok {
		t.Error("still mounted after release and umount")
	}
	if r := run(t, n, "umount /mnt"); r.code != 32 || r.stderr != "umount: /mnt: not mounted.\n" {
		t.Errorf("umount after release: %+v", r)
	}
}

func TestFuser(t *testing.T) {
	t.Parallel()
	const dir = "/var/opt/opscode/drbd/data"
	p := mountedPair(t, dir)
	n := p.Node(0)
	mustRun(t, n, "mkdir -p "+dir+"/postgresql")
	n.HoldMount(dir+"/postgresql", "postgres", 4242)
	n.HoldMount(dir, "bash", 77)
	tests := []struct {
		name, cmd string
		want      result
	}{
		{"long name on its own line", "fuser -vm " + dir, result{"",
			"                     USER        PID ACCESS COMMAND\n" +
				dir + ":\n" +
				"                     root     kernel mount " + dir + "\n" +
				"                     root         77 ..c.. bash\n" +
				"                     root       4242 ..c.. postgres\n", 0}},
		{"a file of the filesystem", "touch " + dir + "/x && fuser -v -m " + dir + "/x", result{"",
			"                     USER        PID ACCESS COMMAND\n" +
				dir + "/x:\n" +
				"                     root     kernel mount " + dir + "\n" +
				"                     root         77 ..c.. bash\n" +
				"                     root       4242 ..c.. postgres\n", 0}},
		{"without -m: that directory only", "fuser -v " + dir + "/postgresql", result{"",
			"                     USER        PID ACCESS COMMAND\n" +
				dir + "/postgresql:\n" +
				"                     root       4242 ..c.. postgres\n", 0}},
		{"terse", "fuser -m " + dir, result{"    77  4242", dir + ":cc\n", 0}},
		{"silent", "fuser -sm " + dir, result{"", "", 0}},
		{"missing file", "fuser -vm /nope", result{"", "Specified filename /nope does not exist.\n", 1}},
		{"not a mountpoint for -M", "fuser -vM /etc", result{"", "Specified filename /etc is not a mountpoint.\n", 1}},
		{"no name", "fuser -v", result{"", "No process specification given\n", 1}},
		{"kill is not simulated", "fuser -km " + dir, result{"", "fuser: invalid option -- 'k'\n", 1}},
		{"found by command -v", "command -v fuser", result{"/usr/bin/fuser\n", "", 0}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, run(t, n, tc.cmd), cmp.AllowUnexported(result{})); diff != "" {
			t.Errorf("%s: %s (-want +got):\n%s", tc.name, tc.cmd, diff)
		}
	}
	if IsMutating([]string{"fuser", "-vm", dir}) {
		t.Error("fuser -vm counted as mutating")
	}
}

// TestHoldersCommandOnSimulator runs the provider's holder listing as the provider sends it.
func TestHoldersCommandOnSimulator(t *testing.T) {
	t.Parallel()
	const dir = "/var/opt/opscode/drbd/data"
	p := mountedPair(t, dir)
	n := p.Node(0)
	n.HoldMount(dir, "sleep", 1234)
	n.HoldMount(dir, "postgres", 88)
	r := run(t, n, sshx.Join("sudo", "-n", "--", "sh", "-c", hostfs.HoldersCommand(dir)))
	if r.code != 0 {
		t.Fatalf("holders command: %+v", r)
	}
	hs, err := hostfs.ParseHolders(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	if got := hostfs.DescribeHolders(hs, 5); got != "postgres (pid 88, cwd), sleep (pid 1234, cwd)" {
		t.Errorf("holders = %q from\n%s", got, r.stdout)
	}
}

func TestHoldMountRelease(t *testing.T) {
	t.Parallel()
	p := mountedPair(t, "/a")
	n := p.Node(0)
	mustRun(t, n, "mkdir -p /a/sub")
	n.HoldMount("/a/sub", "postgres", 1)
	n.HoldMount("/a", "sleep", 2)
	n.ReleaseMount("/a")
	// /a/sub is still held: umount of its mount point keeps failing.
	if r := run(t, n, "umount /a"); r.code != 32 || r.stderr != "umount: /a: target is busy.\n" {
		t.Errorf("umount with /a/sub held: %+v", r)
	}
	n.ReleaseMount("/a/sub")
	mustRun(t, n, "umount /a")
	// A FailNext of another kind survives ReleaseMount.
	n.FailNext("umount", 1, "umount: injected\n")
	n.ReleaseMount("/a")
	if r := run(t, n, "umount /a"); r.code != 1 {
		t.Errorf("FailNext lost: %+v", r)
	}
}
