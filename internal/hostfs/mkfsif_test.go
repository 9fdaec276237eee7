package hostfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMkfsIfBlankCommand_formatsOnlyABlankDeviceWhenAllowed runs the command under the real
// /bin/sh with stand-ins for blkid and mkfs: mkfs runs only when the precondition holds and
// blkid finds nothing at all (exit 2, no output), and never with a force flag.
func TestMkfsIfBlankCommand_formatsOnlyABlankDeviceWhenAllowed(t *testing.T) {
	const ext4 = "DEVNAME=/dev/drbd0\nUUID=0b4e3d0e-1f0c-4a4e-9d4c-2f8e5f0c1a11\nTYPE=ext4\nUSAGE=filesystem"
	for _, tc := range []struct {
		name    string
		pre     string
		blkid   string
		blkidRC int
		mkfsRC  int
		mkfs    bool
	}{
		{name: "blank, allowed", pre: "true", blkidRC: 2, mkfs: true},
		{name: "blank, mkfs fails", pre: "true", blkidRC: 2, mkfsRC: 1, mkfs: true},
		{name: "blank, not allowed", pre: "false", blkidRC: 2},
		{name: "precondition prints and fails", pre: "echo seen; test 1 = 0", blkidRC: 2},
		{name: "ext4", pre: "true", blkid: ext4},
		{name: "partition table", pre: "true", blkid: "PTUUID=1\nPTTYPE=dos"},
		{name: "Secondary: wrong medium type", pre: "true", blkid: "blkid: error: /dev/drbd0: Wrong medium type", blkidRC: 2},
		{name: "ambivalent", pre: "true", blkid: "ambivalent result", blkidRC: 8},
		{name: "no blkid", pre: "true", blkid: "sh: blkid: not found", blkidRC: 127},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			stub := func(name, out string, rc int) {
				body := "#!/bin/sh\necho \"" + name + " $*\" >> \"" + dir + "/ran.log\"\n"
				if out != "" {
					if err := os.WriteFile(filepath.Join(dir, name+".out"), []byte(out+"\n"), 0o644); err != nil {
						t.Fatal(err)
					}
					body += "cat \"" + dir + "/" + name + ".out\"\n"
				}
				body += "exit " + strconv.Itoa(rc) + "\n"
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			stub("blkid", tc.blkid, tc.blkidRC)
			stub("mkfs.ext4", "", tc.mkfsRC)
			cmd, err := MkfsIfBlankCommand("ext4", "/dev/drbd0", []string{"-E", "nodiscard"}, tc.pre)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(cmd, "\n") {
				t.Fatalf("the command spans lines: %q", cmd)
			}
			c := exec.Command("/bin/sh", "-c", cmd)
			c.Env = []string{"PATH=" + dir + ":/usr/bin:/bin"}
			out, _ := c.CombinedOutput()
			logb, _ := os.ReadFile(filepath.Join(dir, "ran.log"))
			ran := strings.Contains(string(logb), "mkfs.ext4 -q -E nodiscard /dev/drbd0")
			if ran != tc.mkfs {
				t.Fatalf("mkfs ran %v, want %v; commands:\n%s\noutput:\n%s", ran, tc.mkfs, logb, out)
			}
			a, err := ParseMkfsIfBlank(string(out))
			if err != nil {
				t.Fatalf("ParseMkfsIfBlank: %v\n%s", err, out)
			}
			if a.Ran != tc.mkfs || a.Formatted() != (tc.mkfs && tc.mkfsRC == 0) || a.PreconditionHeld != (tc.pre == "true") {
				t.Errorf("attempt %+v\n%s", a, out)
			}
			if tc.blkid == ext4 && a.Signature.Type != "ext4" {
				t.Errorf("signature %+v", a.Signature)
			}
		})
	}
	if _, err := MkfsIfBlankCommand("ext4", "/dev/drbd0", []string{"-F"}, "true"); err == nil {
		t.Error("a forced mkfs was built")
	}
}

// TestParseMkfsIfBlank_refusesAnMkfsOnAStateThatForbidsIt: output in which mkfs ran over a
// signature, or against the precondition, is an error.
func TestParseMkfsIfBlank_refusesAnMkfsOnAStateThatForbidsIt(t *testing.T) {
	t.Parallel()
	for _, out := range []string{
		"@@hostfs precondition\n@@hostfs-rc 0\n@@hostfs blkid\nTYPE=xfs\n@@hostfs-rc 0\n@@hostfs mkfs\n@@hostfs-rc 0\n",
		"@@hostfs precondition\n@@hostfs-rc 1\n@@hostfs blkid\n\n@@hostfs-rc 2\n@@hostfs mkfs\n@@hostfs-rc 0\n",
	} {
		if _, err := ParseMkfsIfBlank(out); err == nil {
			t.Errorf("no error for %q", out)
		}
	}
	if _, err := ParseMkfsIfBlank("garbage"); err == nil {
		t.Error("no error for garbage")
	}
}
