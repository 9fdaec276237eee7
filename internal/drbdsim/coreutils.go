package drbdsim

import (
	"bytes"
	"errors"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// splitFlags separates single-dash flags (combined ones split) from operands.
// Options in withArg consume the next argument (or the rest of the token).
func splitFlags(args []string, withArg string) (flags map[string]string, operands []string) {
	flags = map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			operands = append(operands, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "--") {
			k, v, _ := strings.Cut(a[2:], "=")
			flags["--"+k] = v
			continue
		}
		if len(a) < 2 || a[0] != '-' {
			operands = append(operands, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			f := string(a[j])
			if strings.Contains(withArg, f) {
				v := a[j+1:]
				if v == "" && i+1 < len(args) {
					i++
					v = args[i]
				}
				flags[f] = v
				break
			}
			flags[f] = ""
		}
	}
	return flags, operands
}

func (c *call) path(p string) string { return cleanPath(c.dir, p) }

// readInputs returns the contents of the named files ("-" or none: stdin), printing
// errors like coreutils. It takes the lock only for file reads.
func (c *call) readInputs(prog string, names []string) ([][]byte, int) {
	if len(names) == 0 {
		names = []string{"-"}
	}
	var out [][]byte
	code := 0
	for _, name := range names {
		if name == "-" {
			data, err := c.readStdin()
			if err != nil {
				return out, 130
			}
			out = append(out, data)
			continue
		}
		var data []byte
		var err error
		c.p.mutate(func() { data, err = c.s.readFile(c.path(name)) })
		if err != nil {
			msg := "No such file or directory"
			if errors.Is(err, errIsDir) {
				msg = "Is a directory"
			}
			c.errf("%s: %s: %s\n", prog, name, msg)
			code = 1
			continue
		}
		out = append(out, data)
	}
	return out, code
}

func progCat(c *call) int {
	_, names := splitFlags(c.args[1:], "")
	datas, code := c.readInputs("cat", names)
	for _, d := range datas {
		c.outf("%s", d)
	}
	return code
}

// lineCount parses head/tail's -n value; from reports tail's +N form.
func lineCount(flags map[string]string, args []string) (n int, from bool, ok bool) {
	v, has := flags["n"]
	if !has {
		v, has = flags["--lines"]
	}
	if !has {
		for _, a := range args {
			if len(a) > 1 && a[0] == '-' && isDigits(a[1:]) {
				v, has = a[1:], true
			}
		}
	}
	if !has {
		return 10, false, true
	}
	if strings.HasPrefix(v, "+") {
		from, v = true, v[1:]
	}
	v = strings.TrimPrefix(v, "-")
	n, err := strconv.Atoi(v)
	return n, from, err == nil
}

func numericFlagless(args []string) []string {
	var out []string
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' && isDigits(a[1:]) {
			continue
		}
		out = append(out, a)
	}
	return out
}

func splitLines(b []byte) []string {
	s := string(b)
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func progHead(c *call) int {
	flags, names := splitFlags(numericFlagless(c.args[1:]), "nc")
	n, _, ok := lineCount(flags, c.args[1:])
	if !ok {
		c.errf("head: invalid number of lines\n")
		return 1
	}
	datas, code := c.readInputs("head", names)
	for _, d := range datas {
		lines := splitLines(d)
		if n < len(lines) {
			lines = lines[:n]
		}
		c.outf("%s", strings.Join(lines, ""))
	}
	return code
}

func progTail(c *call) int {
	flags, names := splitFlags(numericFlagless(c.args[1:]), "nc")
	n, from, ok := lineCount(flags, c.args[1:])
	if !ok {
		c.errf("tail: invalid number of lines\n")
		return 1
	}
	datas, code := c.readInputs("tail", names)
	for _, d := range datas {
		lines := splitLines(d)
		switch {
		case from && n > 0:
			if n-1 < len(lines) {
				lines = lines[n-1:]
			} else {
				lines = nil
			}
		case !from && n < len(lines):
			lines = lines[len(lines)-n:]
		}
		c.outf("%s", strings.Join(lines, ""))
	}
	return code
}

func progMkdir(c *call) int {
	flags, names := splitFlags(c.args[1:], "m")
	_, parents := flags["p"]
	if len(names) == 0 {
		c.errf("mkdir: missing operand\n")
		return 1
	}
	code := 0
	c.p.mutate(func() {
		for _, name := range names {
			p := c.path(name)
			if e, ok := c.n.lookup(p); ok {
				if parents && e.dir {
					continue
				}
				c.errf("mkdir: cannot create directory '%s': File exists\n", name)
				code = 1
				continue
			}
			if parents {
				c.n.mkdirAll(p)
				continue
			}
			if d, ok := c.n.files[path.Dir(p)]; !ok || !d.dir {
				c.errf("mkdir: cannot create directory '%s': No such file or directory\n", name)
				code = 1
				continue
			}
			c.n.files[p] = &fsEntry{dir: true, mode: fs.ModeDir | 0o755, mod: time.Now()}
		}
	})
	return code
}

func progMv(c *call) int {
	_, names := splitFlags(c.args[1:], "tS")
	if len(names) != 2 {
		c.errf("mv: missing file operand\n")
		return 1
	}
	code := 0
	c.p.mutate(func() {
		src, dst := c.path(names[0]), c.path(names[1])
		e, ok := c.n.files[src]
		if !ok {
			c.errf("mv: cannot stat '%s': No such file or directory\n", names[0])
			code = 1
			return
		}
		if d, ok := c.n.files[dst]; ok && d.dir {
			dst = path.Join(dst, path.Base(src))
		}
		if d, ok := c.n.files[path.Dir(dst)]; !ok || !d.dir {
			c.errf("mv: cannot move '%s' to '%s': No such file or directory\n", names[0], names[1])
			code = 1
			return
		}
		if e.dir {
			for fp, fe := range c.n.files {
				if strings.HasPrefix(fp, src+"/") {
					delete(c.n.files, fp)
					c.n.files[dst+strings.TrimPrefix(fp, src)] = fe
				}
			}
		}
		delete(c.n.files, src)
		c.n.files[dst] = e
	})
	return code
}

func progRm(c *call) int {
	flags, names := splitFlags(c.args[1:], "")
	_, force := flags["f"]
	_, recursive := flags["r"]
	if _, ok := flags["R"]; ok {
		recursive = true
	}
	code := 0
	c.p.mutate(func() {
		for _, name := range names {
			p := c.path(name)
			e, ok := c.n.files[p]
			switch {
			case !ok:
				if !force {
					c.errf("rm: cannot remove '%s': No such file or directory\n", name)
					code = 1
				}
			case e.dir && !recursive:
				c.errf("rm: cannot remove '%s': Is a directory\n", name)
				code = 1
			default:
				c.n.removeAll(p)
			}
		}
	})
	return code
}

func progTouch(c *call) int {
	_, names := splitFlags(c.args[1:], "dtr")
	if len(names) == 0 {
		c.errf("touch: missing file operand\n")
		return 1
	}
	code := 0
	c.p.mutate(func() {
		for _, name := range names {
			p := c.path(name)
			if e, ok := c.n.lookup(p); ok {
				e.mod = time.Now()
				continue
			}
			if d, ok := c.n.files[path.Dir(p)]; !ok || !d.dir {
				c.errf("touch: cannot touch '%s': No such file or directory\n", name)
				code = 1
				continue
			}
			c.n.files[p] = &fsEntry{mode: 0o644, mod: time.Now()}
		}
	})
	return code
}

func progChmod(c *call) int {
	_, names := splitFlags(c.args[1:], "")
	if len(names) < 2 {
		c.errf("chmod: missing operand\n")
		return 1
	}
	mode, err := strconv.ParseUint(names[0], 8, 32)
	code := 0
	c.p.mutate(func() {
		for _, name := range names[1:] {
			e, ok := c.n.files[c.path(name)]
			if !ok {
				c.errf("chmod: cannot access '%s': No such file or directory\n", name)
				code = 1
				continue
			}
			if err == nil {
				e.mode = e.mode&^fs.ModePerm | fs.FileMode(mode)&fs.ModePerm
			} else if strings.Contains(names[0], "+x") {
				e.mode |= 0o111
			} else if strings.Contains(names[0], "-x") {
				e.mode &^= 0o111
			}
		}
	})
	return code
}

func progStat(c *call) int {
	flags, names := splitFlags(c.args[1:], "c")
	format, hasFormat := flags["c"]
	if v, ok := flags["--format"]; ok {
		format, hasFormat = v, true
	}
	code := 0
	c.p.view(func() {
		for _, name := range names {
			p := c.path(name)
			e, ok := c.n.lookup(p)
			if !ok {
				c.errf("stat: cannot statx '%s': No such file or directory\n", name)
				code = 1
				continue
			}
			kind := "regular file"
			switch {
			case e.dir:
				kind = "directory"
			case e.mode&fs.ModeDevice != 0 && e.mode&fs.ModeCharDevice != 0:
				kind = "character special file"
			case e.mode&fs.ModeDevice != 0:
				kind = "block special file"
			case len(e.data) == 0:
				kind = "regular empty file"
			}
			if !hasFormat {
				c.outf("  File: %s\n  Size: %d\t\tBlocks: 0          IO Block: 4096   %s\nAccess: (%04o/%s)  Uid: (    0/    root)   Gid: (    0/    root)\n",
					name, len(e.data), kind, e.mode.Perm(), e.mode.String())
				continue
			}
			r := strings.NewReplacer("%n", name, "%s", strconv.Itoa(len(e.data)), "%a", strconv.FormatUint(uint64(e.mode.Perm()), 8),
				"%F", kind, "%U", "root", "%G", "root", "%u", "0", "%g", "0", "%Y", strconv.FormatInt(e.mod.Unix(), 10))
			c.outf("%s\n", r.Replace(format))
		}
	})
	return code
}

func progLs(c *call) int {
	flags, names := splitFlags(c.args[1:], "")
	_, long := flags["l"]
	if len(names) == 0 {
		names = []string{c.dir}
	}
	code := 0
	c.p.view(func() {
		for _, name := range names {
			p := c.path(name)
			e, ok := c.n.lookup(p)
			if !ok {
				c.errf("ls: cannot access '%s': No such file or directory\n", name)
				code = 2
				continue
			}
			show := func(label string, fi fs.FileInfo) {
				if long {
					c.outf("%s 1 root root %d %s %s\n", fi.Mode().String(), fi.Size(), fi.ModTime().Format("Jan _2 15:04"), label)
				} else {
					c.outf("%s\n", label)
				}
			}
			if !e.dir {
				show(name, fileInfo{name: path.Base(p), e: e})
				continue
			}
			entries, _ := c.n.readDir(p)
			for _, de := range entries {
				info, _ := de.Info()
				show(de.Name(), info)
			}
		}
	})
	return code
}

func progGrep(c *call) int {
	flags, operands := splitFlags(c.args[1:], "e")
	pattern := ""
	if v, ok := flags["e"]; ok {
		pattern = v
	} else if len(operands) > 0 {
		pattern, operands = operands[0], operands[1:]
	} else {
		c.errf("Usage: grep [OPTION]... PATTERNS [FILE]...\n")
		return 2
	}
	_, quiet := flags["q"]
	_, invert := flags["v"]
	_, count := flags["c"]
	_, fixed := flags["F"]
	expr := pattern
	if fixed {
		expr = regexp.QuoteMeta(pattern)
	}
	if _, ok := flags["i"]; ok {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		c.errf("grep: %v\n", err)
		return 2
	}
	datas, code := c.readInputs("grep", operands)
	matches := 0
	for _, d := range datas {
		for _, line := range splitLines(d) {
			if re.MatchString(strings.TrimSuffix(line, "\n")) != invert {
				matches++
				if !quiet && !count {
					c.outf("%s", line)
					if !strings.HasSuffix(line, "\n") {
						c.outf("\n")
					}
				}
			}
		}
	}
	if count && !quiet {
		c.outf("%d\n", matches)
	}
	if code != 0 {
		return 2
	}
	if matches == 0 {
		return 1
	}
	return 0
}

func progUname(c *call) int {
	flags, _ := splitFlags(c.args[1:], "")
	var parts []string
	_, all := flags["a"]
	if _, ok := flags["s"]; ok || all || len(flags) == 0 {
		parts = append(parts, "Linux")
	}
	if _, ok := flags["n"]; ok || all {
		parts = append(parts, c.n.name)
	}
	if _, ok := flags["r"]; ok || all {
		parts = append(parts, "6.1.0-56-amd64")
	}
	if all {
		parts = append(parts, "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2", "x86_64", "GNU/Linux")
	} else if _, ok := flags["m"]; ok {
		parts = append(parts, "x86_64")
	}
	c.outf("%s\n", strings.Join(parts, " "))
	return 0
}

func progHostname(c *call) int {
	c.outf("%s\n", c.n.name)
	return 0
}

func progID(c *call) int {
	flags, _ := splitFlags(c.args[1:], "")
	_, u := flags["u"]
	_, g := flags["g"]
	_, name := flags["n"]
	switch {
	case (u || g) && name:
		c.outf("root\n")
	case u || g:
		c.outf("0\n")
	default:
		c.outf("uid=0(root) gid=0(root) groups=0(root)\n")
	}
	return 0
}

func progSleep(c *call) int {
	if len(c.args) < 2 {
		c.errf("sleep: missing operand\n")
		return 1
	}
	secs, err := strconv.ParseFloat(strings.TrimSuffix(c.args[1], "s"), 64)
	if err != nil {
		c.errf("sleep: invalid time interval '%s'\n", c.args[1])
		return 1
	}
	t := time.NewTimer(time.Duration(secs * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return 0
	case <-c.ctx.Done():
		return 130
	}
}

func progWhich(c *call) int {
	var b bytes.Buffer
	code := c.s.commandV(&b, c.args[1:])
	c.outf("%s", b.String())
	return code
}

// isMountpoint reports whether p is a mount point (pseudo filesystems included). Callers hold mu.
func (n *Node) isMountpoint(p string) bool {
	switch p {
	case "/", "/proc", "/sys", "/dev", "/run", "/tmp", "/dev/pts", "/dev/shm":
		return true
	}
	_, ok := n.mounts[p]
	return ok
}

func progMountpoint(c *call) int {
	flags, names := splitFlags(c.args[1:], "")
	_, quiet := flags["q"]
	if len(names) != 1 {
		c.errf("mountpoint: bad usage\nTry 'mountpoint --help' for more information.\n")
		return 1
	}
	code := 0
	c.p.view(func() {
		p := c.path(names[0])
		if _, ok := c.n.lookup(p); !ok {
			c.errf("mountpoint: %s: No such file or directory\n", names[0])
			code = 1
			return
		}
		if c.n.isMountpoint(p) {
			if !quiet {
				c.outf("%s is a mountpoint\n", names[0])
			}
			return
		}
		if !quiet {
			c.outf("%s is not a mountpoint\n", names[0])
		}
		code = 32
	})
	return code
}
