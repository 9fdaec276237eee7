package hostfs

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseBlkid(t *testing.T) {
	t.Parallel()
	ext4 := "DEVNAME=/dev/drbd0\nUUID=3687427b-0d00-47c1-9628-b0bfff56c06e\nVERSION=1.0\nBLOCK_SIZE=4096\nTYPE=ext4\nUSAGE=filesystem\n"
	tests := []struct {
		name           string
		stdout, stderr string
		code           int
		want           Signature
		wantErr        error
	}{
		{name: "ext4", stdout: ext4, code: 0, want: Signature{Type: "ext4", UUID: "3687427b-0d00-47c1-9628-b0bfff56c06e", Usage: "filesystem", Raw: ext4[:len(ext4)-1]}},
		{name: "partitionTable", stdout: "DEVNAME=/dev/vdb\nPTUUID=1234\nPTTYPE=dos\n", code: 0, want: Signature{PTType: "dos", Raw: "DEVNAME=/dev/vdb\nPTUUID=1234\nPTTYPE=dos"}},
		{name: "nothing", code: 2, want: Signature{}},
		{name: "secondary", stderr: "blkid: error: /dev/drbd0: Wrong medium type", code: 2, wantErr: ErrUnreadable},
		{name: "ambivalent", stderr: "ambivalent result", code: 8, wantErr: ErrUnreadable},
	}
	for _, tt := range tests {
		got, err := ParseBlkid(tt.stdout, tt.stderr, tt.code)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: error = %v, want %v", tt.name, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", tt.name, diff)
		}
	}
	if !(Signature{}).Empty() || (Signature{Type: "xfs"}).Empty() || (Signature{PTType: "gpt"}).Empty() {
		t.Error("Signature.Empty is wrong")
	}
}

func TestParseFindmnt(t *testing.T) {
	t.Parallel()
	m, ok, err := ParseFindmnt("/dev/drbd0 /var/opt/opscode/drbd/data ext4 rw,relatime\n", 0)
	if err != nil || !ok || m != (Mount{Source: "/dev/drbd0", Target: "/var/opt/opscode/drbd/data", FSType: "ext4", Options: "rw,relatime"}) {
		t.Errorf("got %+v %v %v", m, ok, err)
	}
	if _, ok, err := ParseFindmnt("", 1); ok || err != nil {
		t.Errorf("not mounted: ok=%v err=%v", ok, err)
	}
	if _, _, err := ParseFindmnt("findmnt: bad usage", 2); err == nil {
		t.Error("exit 2 must be an error")
	}
	m, _, _ = ParseFindmnt(`/dev/drbd0 /mnt/with\x20space ext4 rw`, 0)
	if m.Target != "/mnt/with space" {
		t.Errorf("escaped blank not decoded: %q", m.Target)
	}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	cmd, err := MkfsCommand("ext4", "/dev/drbd0", []string{"-E", "nodiscard"})
	if err != nil || cmd != "mkfs.ext4 -q -E nodiscard /dev/drbd0" {
		t.Errorf("MkfsCommand = %q, %v", cmd, err)
	}
	if _, err := MkfsCommand("ntfs", "/dev/drbd0", nil); err == nil {
		t.Error("unsupported fs accepted")
	}
	if _, err := MkfsCommand("ext4", "/dev/drbd0", []string{"-E;reboot"}); err == nil {
		t.Error("metacharacter option accepted")
	}
	cmd, err = MountCommand("xfs", "/dev/drbd0", "/var/opt/opscode/drbd/data", "noatime,nodiratime")
	if err != nil || cmd != "mkdir -p /var/opt/opscode/drbd/data && mount -t xfs -o noatime,nodiratime /dev/drbd0 /var/opt/opscode/drbd/data" {
		t.Errorf("MountCommand = %q, %v", cmd, err)
	}
	if _, err := MountCommand("ext4", "/dev/drbd0", "/x", "rw,$(reboot)"); err == nil {
		t.Error("metacharacter mount options accepted")
	}
	if got := UmountCommand("/mnt/it's"); got != `umount '/mnt/it'"'"'s'` {
		t.Errorf("UmountCommand quoting: %q", got)
	}
	if words, err := SplitMkfsOptions("  -L data   -m 0 "); err != nil || len(words) != 4 {
		t.Errorf("SplitMkfsOptions = %q, %v", words, err)
	}
}

func TestParseState(t *testing.T) {
	t.Parallel()
	out := "@@hostfs blkid\nDEVNAME=/dev/drbd0\nUUID=u1\nTYPE=xfs\n@@hostfs-rc 0\n@@hostfs findmnt\n@@hostfs-rc 1\n"
	p, err := ParseState(out)
	if err != nil || p.Signature.Type != "xfs" || p.Signature.UUID != "u1" || p.Mounted || p.SigErr != nil {
		t.Errorf("got %+v, %v", p, err)
	}
	out = "@@hostfs blkid\nblkid: error: /dev/drbd0: Wrong medium type\n@@hostfs-rc 2\n@@hostfs findmnt\n/dev/drbd0 /data ext4 rw\n@@hostfs-rc 0\n"
	p, err = ParseState(out)
	if err != nil || !errors.Is(p.SigErr, ErrUnreadable) || !p.Mounted || p.Mount.Target != "/data" {
		t.Errorf("got %+v, %v", p, err)
	}
	if _, err := ParseState("garbage"); err == nil {
		t.Error("garbage accepted")
	}
	if _, err := ParseState("@@hostfs blkid\n@@hostfs-rc 0\n@@hostfs findmnt\n"); err == nil {
		t.Error("truncated output (no findmnt exit status) accepted")
	}
}

// TestSplitMkfsOptions_refusesForce checks that no word that forces mkfs past its own refusal
// to overwrite a filesystem gets through: -f (mkfs.xfs), -F (mke2fs), --force, and a short
// flag combined with them.
func TestSplitMkfsOptions_refusesForce(t *testing.T) {
	t.Parallel()
	for _, opts := range []string{"-F", "-f", "--force", "--force=yes", "-qF", "-Fq", "-L data -F", "-FF", "-vf", "-m 0 -qf"} {
		if words, err := SplitMkfsOptions(opts); err == nil || !strings.Contains(err.Error(), "force") {
			t.Errorf("SplitMkfsOptions(%q) = %q, %v; want a refusal naming force", opts, words, err)
		}
		if _, err := MkfsCommand("ext4", "/dev/drbd0", strings.Fields(opts)); err == nil {
			t.Errorf("MkfsCommand accepted %q", opts)
		}
	}
	for _, opts := range []string{"-E nodiscard", "-L chef -m 0", "-m crc=1,finobt=1", "-i size=512", "-E lazy_itable_init=0", "-q", "-L f"} {
		if _, err := SplitMkfsOptions(opts); err != nil {
			t.Errorf("SplitMkfsOptions(%q): %v", opts, err)
		}
	}
}

func TestParseMountTargets(t *testing.T) {
	for _, tc := range []struct {
		stdout string
		want   []string
	}{
		{"", nil},
		{"\n", nil},
		{"/var/opt/opscode/drbd/data\n", []string{"/var/opt/opscode/drbd/data"}},
		{"/mnt/with\\x20space\n/srv/b\n", []string{"/mnt/with space", "/srv/b"}},
	} {
		if got := ParseMountTargets(tc.stdout); !slices.Equal(got, tc.want) {
			t.Errorf("ParseMountTargets(%q) = %q, want %q", tc.stdout, got, tc.want)
		}
	}
}
