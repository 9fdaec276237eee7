package hostfs

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// shellCommands parses cmd as POSIX sh and returns the argv of every simple command in it,
// after quote removal. Any expansion (parameter, command substitution, arithmetic, glob,
// tilde), redirection, assignment or control structure is an error: a built command must
// mean exactly its words. Commands may be joined with && only.
func shellCommands(cmd string) ([][]string, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(cmd), "")
	if err != nil {
		return nil, err
	}
	if len(f.Stmts) != 1 {
		return nil, fmt.Errorf("%d statements in %q", len(f.Stmts), cmd)
	}
	var bad error
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.ParamExp, *syntax.CmdSubst, *syntax.ArithmExp, *syntax.ProcSubst, *syntax.ExtGlob,
			*syntax.BraceExp, *syntax.Subshell, *syntax.Block, *syntax.FuncDecl, *syntax.IfClause,
			*syntax.WhileClause, *syntax.ForClause, *syntax.CaseClause:
			bad = fmt.Errorf("%T in %q", n, cmd)
		case *syntax.Redirect:
			bad = fmt.Errorf("redirection in %q", cmd)
		case *syntax.Lit:
			if strings.ContainsAny(n.Value, "*?[~") {
				bad = fmt.Errorf("unquoted glob or tilde %q in %q", n.Value, cmd)
			}
		}
		return bad == nil
	})
	if bad != nil {
		return nil, bad
	}
	var out [][]string
	var walk func(s *syntax.Stmt) error
	walk = func(s *syntax.Stmt) error {
		if s.Background || s.Negated || len(s.Redirs) > 0 {
			return fmt.Errorf("statement modifiers in %q", cmd)
		}
		switch c := s.Cmd.(type) {
		case *syntax.CallExpr:
			if len(c.Assigns) > 0 {
				return fmt.Errorf("assignment in %q", cmd)
			}
			argv, err := expand.Fields(&expand.Config{}, c.Args...)
			if err != nil {
				return err
			}
			out = append(out, argv)
			return nil
		case *syntax.BinaryCmd:
			if c.Op != syntax.AndStmt {
				return fmt.Errorf("operator %s in %q", c.Op, cmd)
			}
			if err := walk(c.X); err != nil {
				return err
			}
			return walk(c.Y)
		default:
			return fmt.Errorf("%T in %q", c, cmd)
		}
	}
	if err := walk(f.Stmts[0]); err != nil {
		return nil, err
	}
	return out, nil
}

// noControl reports whether s holds no line break, which no parsed field may carry.
func noControl(s string) bool { return !strings.Contains(s, "\n") }

func FuzzParseBlkid(f *testing.F) {
	f.Add("DEVNAME=/dev/drbd0\nUUID=0b7c\nVERSION=1.0\nTYPE=ext4\nUSAGE=filesystem\n", "", 0)
	f.Add("PTUUID=1234\nPTTYPE=dos\n", "", 0)
	f.Add("", "", 2)
	f.Add("", "blkid: error: /dev/drbd0: Wrong medium type\n", 2)
	f.Add("", "blkid: error: /dev/nope: No such file or directory\n", 4)
	f.Add("TYPE=\nTYPE==x\n=\n", "", 0)
	f.Fuzz(func(t *testing.T, stdout, stderr string, exitCode int) {
		s, err := ParseBlkid(stdout, stderr, exitCode)
		switch {
		case exitCode == 0 && err != nil:
			t.Fatalf("exit 0 must parse: %v", err)
		case exitCode == 2 && strings.TrimSpace(stderr) == "" && (err != nil || !s.Empty()):
			t.Fatalf("exit 2 without stderr is 'nothing found', got %+v, %v", s, err)
		case exitCode != 0 && exitCode != 2 && err == nil:
			t.Fatalf("exit %d accepted", exitCode)
		}
		if err != nil && !s.Empty() {
			t.Fatalf("error with a signature: %+v", s)
		}
		for _, v := range []string{s.Type, s.UUID, s.Usage, s.PTType} {
			if !noControl(v) {
				t.Fatalf("field with a line break: %q", v)
			}
		}
		if s.Describe() == "" {
			t.Fatal("empty description")
		}
	})
}

func FuzzParseFindmnt(f *testing.F) {
	f.Add("/dev/drbd0 /var/opt/opscode/drbd/data ext4 rw,relatime\n", 0)
	f.Add("/dev/drbd0 /mnt/with\\x20space xfs rw\n/dev/drbd1 /mnt/with\\x20space ext4 ro\n", 0)
	f.Add("", 1)
	f.Add("garbage\n", 0)
	f.Add("", 0)
	f.Fuzz(func(t *testing.T, stdout string, exitCode int) {
		m, ok, err := ParseFindmnt(stdout, exitCode)
		if err != nil && ok {
			t.Fatalf("error and a mount: %+v %v", m, err)
		}
		if exitCode != 0 && exitCode != 1 && (err == nil || ok) {
			t.Fatalf("exit %d accepted: %+v", exitCode, m)
		}
		if !ok {
			return
		}
		if m.Source == "" || m.Target == "" || m.FSType == "" {
			t.Fatalf("mount with an empty field: %+v", m)
		}
		for _, v := range []string{m.Source, m.Target, m.FSType, m.Options} {
			if !noControl(v) {
				t.Fatalf("field with a line break: %q", v)
			}
		}
		if strings.ContainsAny(m.FSType+m.Options, " \t") {
			t.Fatalf("unescaped blank in fstype/options: %+v", m)
		}
	})
}

func FuzzParseState(f *testing.F) {
	f.Add("TYPE=ext4\nUUID=0b7c\nUSAGE=filesystem", 0, "/dev/drbd0 /var/opt/opscode/drbd/data ext4 rw", 0)
	f.Add("", 2, "", 1)
	f.Add("blkid: error: /dev/drbd0: Wrong medium type", 2, "", 1)
	f.Add("", 8, "findmnt: bad usage", 64)
	f.Fuzz(func(t *testing.T, blkidOut string, blkidRC int, findmntOut string, findmntRC int) {
		// Arbitrary text never panics.
		_, _ = ParseState(blkidOut + "\n" + findmntOut)
		_, _ = ParseState(markBlkid + "\n" + blkidOut + "\n" + markMount + "\n" + findmntOut)

		// Well-formed output (what StateCommand prints) parses as the two parsers would.
		for _, body := range []string{blkidOut, findmntOut} {
			for _, line := range strings.Split(body, "\n") {
				if line == markBlkid || line == markMount || strings.HasPrefix(line, markRC) {
					t.Skip("section text that imitates the markers")
				}
			}
		}
		out := fmt.Sprintf("%s\n%s\n%s%d\n%s\n%s\n%s%d\n", markBlkid, blkidOut, markRC, blkidRC, markMount, findmntOut, markRC, findmntRC)
		p, err := ParseState(out)
		var wantSig Signature
		var wantSigErr error
		if blkidRC == 0 {
			wantSig, wantSigErr = ParseBlkid(blkidOut, "", 0)
		} else {
			wantSig, wantSigErr = ParseBlkid("", blkidOut, blkidRC)
		}
		wantMount, wantMounted, wantErr := ParseFindmnt(findmntOut, findmntRC)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("probe error %v, findmnt error %v", err, wantErr)
		}
		if p.Signature != wantSig || (p.SigErr != nil) != (wantSigErr != nil) {
			t.Fatalf("signature %+v/%v, want %+v/%v", p.Signature, p.SigErr, wantSig, wantSigErr)
		}
		if err == nil && (p.Mount != wantMount || p.Mounted != wantMounted) {
			t.Fatalf("mount %+v/%v, want %+v/%v", p.Mount, p.Mounted, wantMount, wantMounted)
		}
	})
}

// FuzzCommands checks that every command builder either refuses its input or builds a
// command whose words are exactly the intended argv, whatever the input holds.
func FuzzCommands(f *testing.F) {
	f.Add("ext4", "/dev/drbd0", "/var/opt/opscode/drbd/data", "noatime,discard", "-E nodiscard")
	f.Add("xfs", "/dev/drbd/by-res/pc0/0", "/mnt/a b", "", "-m crc=1")
	f.Add("ext4; reboot", "/dev/drbd0 /dev/sda", "/x'$(id)'", "rw;reboot", "-E nodiscard && reboot")
	f.Add("ext4", "-rf", "`id`", "noatime\nreboot", "$(id)")
	f.Add("ext4", "", "", ",", "\t")
	f.Fuzz(func(t *testing.T, fsType, dev, mountpoint, mountOpts, mkfsOpts string) {
		for _, s := range []string{fsType, dev, mountpoint, mountOpts, mkfsOpts} {
			if strings.Contains(s, "\x00") || !utf8.ValidString(s) {
				// No argv can carry NUL, and Terraform strings are always valid UTF-8.
				t.Skip("NUL or invalid UTF-8")
			}
		}
		check := func(cmd string, want ...[]string) {
			t.Helper()
			got, err := shellCommands(cmd)
			if err != nil {
				t.Fatalf("built command does not parse as plain words: %v", err)
			}
			if len(got) != len(want) {
				t.Fatalf("%q parsed to %q, want %q", cmd, got, want)
			}
			for i := range got {
				if !slices.Equal(got[i], want[i]) {
					t.Fatalf("%q parsed to %q, want %q", cmd, got, want)
				}
			}
		}
		check(BlkidCommand(dev), []string{"blkid", "-p", "-o", "export", dev})
		check(FindmntCommand(mountpoint), []string{"findmnt", "-n", "-r", "-o", "SOURCE,TARGET,FSTYPE,OPTIONS", "--mountpoint", mountpoint})
		check(UmountCommand(mountpoint), []string{"umount", mountpoint})

		words, splitErr := SplitMkfsOptions(mkfsOpts)
		if splitErr == nil {
			for _, w := range words {
				if strings.ContainsAny(w, " \t\n'\"\\$`;&|<>()*?[]{}~#!") {
					t.Fatalf("dangerous mkfs option %q accepted", w)
				}
			}
		}
		cmd, err := MkfsCommand(fsType, dev, words)
		fsOK := ValidateFSType(fsType) == nil
		switch {
		case !fsOK && err == nil:
			t.Fatalf("unsupported fs type %q accepted", fsType)
		case fsOK && splitErr == nil && err != nil:
			t.Fatalf("valid mkfs input refused: %v", err)
		case err == nil:
			check(cmd, append(append([]string{"mkfs." + fsType, "-q"}, words...), dev))
		}

		optsOK := mountOpts == "" || ValidateMountOptions(mountOpts) == nil
		if optsOK && strings.ContainsAny(mountOpts, " \t\n'\"\\$`;&|<>()*?[]{}~#!/") {
			t.Fatalf("dangerous mount options %q accepted", mountOpts)
		}
		cmd, err = MountCommand(fsType, dev, mountpoint, mountOpts)
		switch {
		case (!fsOK || !optsOK) && err == nil:
			t.Fatalf("invalid mount input accepted: %q %q", fsType, mountOpts)
		case fsOK && optsOK && err != nil:
			t.Fatalf("valid mount input refused: %v", err)
		case err == nil:
			mount := []string{"mount", "-t", fsType}
			if mountOpts != "" {
				mount = append(mount, "-o", mountOpts)
			}
			check(cmd, []string{"mkdir", "-p", mountpoint}, append(mount, dev, mountpoint))
		}

		// The probe runs two commands with fixed markers; whatever dev and mountpoint hold,
		// the words reaching blkid and findmnt are exactly them.
		probe := StateCommand(dev, mountpoint)
		pf, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(probe), "")
		if err != nil {
			t.Fatalf("probe command does not parse: %v", err)
		}
		var calls [][]string
		syntax.Walk(pf, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.CmdSubst, *syntax.Subshell, *syntax.FuncDecl:
				t.Fatalf("%T in probe %q", n, probe)
			case *syntax.CallExpr:
				if n.Args[0].Lit() == "blkid" || n.Args[0].Lit() == "findmnt" {
					argv, err := expand.Fields(&expand.Config{}, n.Args...)
					if err != nil {
						t.Fatal(err)
					}
					calls = append(calls, argv)
				}
			}
			return true
		})
		want := [][]string{
			{"blkid", "-p", "-o", "export", dev},
			{"findmnt", "-n", "-r", "-o", "SOURCE,TARGET,FSTYPE,OPTIONS", "--mountpoint", mountpoint},
		}
		if len(calls) != 2 || !slices.Equal(calls[0], want[0]) || !slices.Equal(calls[1], want[1]) {
			t.Fatalf("probe %q runs %q, want %q", probe, calls, want)
		}
	})
}
