package drbdsim

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	fresh     = iota // resource file only
	withMD           // metadata on both nodes, down
	upBoth           // Connected Secondary/Secondary Inconsistent
	syncing          // node1 forced primary, resync running
	inSync           // node1 Primary, UpToDate/UpToDate
	mountedN1        // inSync + filesystem mounted on node1
)

func pairAt(t *testing.T, v Version, stage int) *Pair {
	t.Helper()
	p := newPair(PairConfig{Version: v, SyncStepPercent: -1})
	if stage >= withMD {
		p.mutate(func() {
			p.nodes[0].createMD()
			p.nodes[1].createMD()
		})
	}
	if stage >= upBoth {
		p.BringUp()
	}
	if stage >= syncing {
		p.mutate(func() { p.nodes[0].promote(true) })
	}
	if stage >= inSync {
		p.CompleteSync()
	}
	if stage >= mountedN1 {
		mustRun(t, p.Node(0), "mkfs.ext4 -q /dev/drbd0 && mkdir -p /data && mount /dev/drbd0 /data")
	}
	return p
}

// TestErrors checks exit codes and messages of refused operations; the texts come
// from the real 8.4.11 transcript where it has them.
func TestErrors(t *testing.T) {
	t.Parallel()
	notAllocated := "0: Failure: (127) Device minor not allocated\nadditional info from kernel:\nunknown minor\n"
	tests := []struct {
		name       string
		v          Version
		stage      int
		node       int
		cmd        string
		code       int
		stderr     string // exact, unless contains is set
		contains   bool
		wantStdout string // exact; "~text" means it must contain text
	}{
		{"role before up", V84, fresh, 0, "drbdadm role pc0", 10, notAllocated + "Command 'drbdsetup-84 role 0' terminated with exit code 10\n", false, ""},
		{"cstate before up", V84, withMD, 0, "drbdadm cstate pc0", 10, notAllocated + "Command 'drbdsetup-84 cstate 0' terminated with exit code 10\n", false, ""},
		{"status before up", V84, fresh, 0, "drbdadm status pc0", 10, "pc0: No such resource\nCommand 'drbdsetup-84 status pc0' terminated with exit code 10\n", false, ""},
		{"9 role before up", V9, fresh, 0, "drbdadm role pc0", 10, "pc0: Unknown resource\nCommand 'drbdsetup role pc0' terminated with exit code 10\n", false, ""},
		{"83 role before up", V83, withMD, 0, "drbdadm role pc0", 0, "", false, "Unconfigured\n"},
		{"dstate without metadata", V84, fresh, 0, "drbdadm dstate pc0", 1, "No valid meta data found\n", false, ""},
		{"create-md twice without force", V84, withMD, 0, "drbdadm create-md pc0", 1, "stdin not a TTY, not waiting for confirmation\n", true, "~Operation cancelled.\n"},
		{"create-md on a filesystem", V84, fresh, 1, "drbdadm create-md --force pc0", 40, "terminated with exit code 40", true, "~Operation refused.\n"},
		{"create-md while up", V84, upBoth, 0, "drbdadm create-md --force pc0", 20, "Device '0' is configured!\n", true, ""},
		{"up without metadata", V84, fresh, 0, "drbdadm up pc0", 255, "No valid meta data found\n", true, ""},
		{"up twice", V84, upBoth, 0, "drbdadm up pc0", 10, "(161) Minor or volume exists already", true, ""},
		{"primary without UpToDate data", V84, upBoth, 0, "drbdadm primary pc0", 17,
			"0: State change failed: (-2) Need access to UpToDate data\nCommand 'drbdsetup-84 primary 0' terminated with exit code 17\n", false, ""},
		{"9 primary without UpToDate data", V9, upBoth, 0, "drbdadm primary pc0", 17, "pc0: State change failed: (-2) Need access to UpToDate data\n", true, ""},
		{"primary while peer primary", V84, inSync, 1, "drbdadm primary pc0", 11,
			"0: State change failed: (-1) Multiple primaries not allowed by config\nCommand 'drbdsetup-84 primary 0' terminated with exit code 11\n", false, ""},
		{"forced primary while peer primary", V84, inSync, 1, "drbdadm primary --force pc0", 11,
			"0: State change failed: (-1) Multiple primaries not allowed by config\nCommand 'drbdsetup-84 primary 0 --force' terminated with exit code 11\n", false, ""},
		{"down while mounted", V84, mountedN1, 0, "drbdadm down pc0", 11,
			"0: State change failed: (-12) Device is held open by someone\nCommand 'drbdsetup-84 down pc0' terminated with exit code 11\n", false, ""},
		{"secondary while mounted", V84, mountedN1, 0, "drbdadm secondary pc0", 11, "(-12) Device is held open by someone", true, ""},
		{"disk-options rate on 9", V9, upBoth, 0, "drbdadm disk-options --c-plan-ahead=0 --resync-rate=1100M --c-min-rate=0 pc0", 20, "unrecognized option", true, ""},
		{"peer-device-options on 8.4", V84, upBoth, 0, "drbdadm peer-device-options --resync-rate=1100M pc0", 1, "drbdadm: Unknown command 'peer-device-options'\n", false, ""},
		{"bad rate", V84, upBoth, 0, "drbdadm disk-options --resync-rate=fast pc0", 20, "invalid value 'fast'", true, ""},
		{"disk-options while down", V84, withMD, 0, "drbdadm disk-options --resync-rate=1100M pc0", 10, "Device minor not allocated", true, ""},
		{"json on 8.4", V84, upBoth, 0, "drbdsetup status --json pc0", 20, "status: unrecognized option '--json'\n" + usage84, false, ""},
		{"json no such resource on 9", V9, fresh, 0, "drbdsetup status pc0 --json", 10, "pc0: No such resource\n", false, "[\n]\n\n"},
		{"83 drbdadm --version", V83, fresh, 0, "drbdadm --version", 20, "drbdadm: unrecognized option '--version'\n", false, ""},
		{"83 options after the command", V83, withMD, 0, "drbdadm create-md --force pc0", 20, "drbdadm: unrecognized option '--force'\n", false, ""},
		{"9 overwrite-data-of-peer", V9, upBoth, 0, "drbdadm -- --overwrite-data-of-peer primary pc0", 20, "unrecognized option", true, ""},
		{"unknown resource", V84, upBoth, 0, "drbdadm up r9", 10, "'r9' not defined in your config (for this host).\n", false, ""},
		{"mkfs on secondary", V84, upBoth, 1, "mkfs.ext4 /dev/drbd0", 1,
			"mke2fs 1.47.0 (5-Feb-2023)\nmkfs.ext4: Wrong medium type while trying to determine filesystem size\n", false, ""},
		{"mkfs when down", V84, withMD, 0, "mkfs.ext4 -q /dev/drbd0", 1, "The file /dev/drbd0 does not exist", true, ""},
		{"mkfs.xfs over ext4", V84, mountedN1, 0, "umount /data && mkfs.xfs /dev/drbd0", 1, "appears to contain an existing filesystem (ext4)", true, ""},
		{"mkfs.ext4 over ext4 without -F", V84, mountedN1, 0, "umount /data && mkfs.ext4 /dev/drbd0", 1, "", true, "/dev/drbd0 contains a ext4 file system\nProceed anyway? (y,N) "},
		{"mount on secondary", V84, inSync, 1, "mkdir -p /data && mount /dev/drbd0 /data", 32, "mount: /data: mount(2) system call failed: Wrong medium type.\n", false, ""},
		{"mount without filesystem", V84, inSync, 0, "mkdir -p /data && mount /dev/drbd0 /data", 32, "wrong fs type, bad option", true, ""},
		{"mount point missing", V84, mountedN1, 0, "mount /dev/drbd0 /nowhere", 32, "mount: /nowhere: mount point does not exist.\n", false, ""},
		{"umount not mounted", V84, inSync, 0, "umount /root", 32, "umount: /root: not mounted.\n", false, ""},
		{"blkid on secondary", V84, mountedN1, 1, "blkid -p -o export /dev/drbd0", 2, "blkid: error: /dev/drbd0: Wrong medium type\n", false, ""},
		{"blkid no filesystem", V84, inSync, 0, "blkid -p -o export /dev/drbd0", 2, "", false, ""},
		{"findmnt not mounted", V84, inSync, 0, "findmnt -n -r -o SOURCE,TARGET,FSTYPE,OPTIONS --mountpoint /data", 1, "", false, ""},
		{"mountpoint not mounted", V84, inSync, 0, "mountpoint -q /root", 32, "", false, ""},
		{"unknown program", V84, fresh, 0, "frobnicate --now", 127, "sh: 1: frobnicate: not found\n", false, ""},
		{"syntax error", V84, fresh, 0, "echo 'unterminated", 2, "sh: 1: Syntax error:", true, ""},
		{"redirect into missing dir", V84, fresh, 0, "echo x > /nope/file", 1, "sh: 1: cannot create /nope/file: Directory nonexistent\n", false, ""},
		{"cat missing file", V84, fresh, 0, "cat /etc/nope", 1, "cat: /etc/nope: No such file or directory\n", false, ""},
		{"touch in missing dir", V84, fresh, 0, "touch /var/opt/opscode/drbd/data/x", 1, "touch: cannot touch '/var/opt/opscode/drbd/data/x': No such file or directory\n", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := pairAt(t, tc.v, tc.stage)
			if tc.name == "create-md on a filesystem" {
				p.Node(1).PutBackingFilesystem("ext4")
			}
			r := run(t, p.Node(tc.node), tc.cmd)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, tc.code, r.stderr)
			}
			if tc.contains {
				if !strings.Contains(r.stderr, tc.stderr) {
					t.Errorf("stderr %q lacks %q", r.stderr, tc.stderr)
				}
			} else if diff := cmp.Diff(tc.stderr, r.stderr); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if want, ok := strings.CutPrefix(tc.wantStdout, "~"); ok {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout %q lacks %q", r.stdout, want)
				}
			} else if diff := cmp.Diff(tc.wantStdout, r.stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDStateOfDownedNode(t *testing.T) {
	t.Parallel()
	p := pairAt(t, V84, inSync)
	mustRun(t, p.Node(1), "drbdadm down pc0")
	r := run(t, p.Node(1), "cat /proc/drbd; drbdadm cstate pc0; drbdadm dstate pc0; drbdadm role pc0")
	if r.code != 10 || !strings.Contains(r.stdout, "Consistent\n") {
		t.Errorf("got %+v", r)
	}
	if got := mustRun(t, p.Node(0), "drbdadm dstate pc0; drbdadm role pc0; drbdadm cstate pc0"); got != "UpToDate/DUnknown\nPrimary/Unknown\nWFConnection\n" {
		t.Errorf("survivor: %q", got)
	}
}
