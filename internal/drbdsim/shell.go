package drbdsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// session is one Handle call: it carries the per-call "status already read" flag
// shared by nested sh -c interpreters.
type session struct {
	n        *Node
	advanced bool
}

// statusRead advances a running resync on the first status read of the session. The first
// such read on the node that grew the device still shows the new area's resync not started
// (DRBD starts it after `drbdadm resize` returned); the next read starts it. Callers hold mu.
func (s *session) statusRead() {
	if s.advanced {
		return
	}
	s.advanced = true
	p := s.n.p
	if g := p.growPending; g != nil {
		if !g.shown && g.node == s.n.idx {
			g.shown = true
			return
		}
		p.startPendingGrow()
	}
	p.advance(p.cfg.SyncStepPercent)
}

// Handle runs one command string as the node's /bin/sh would (sshd runs
// `sh -c CMD`) and returns its exit status. It never starts a real process.
// When ctx ends, blocking programs stop and Handle returns 130 unless the
// command had already finished.
func (n *Node) Handle(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := &session{n: n}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	// Pipelines write from several goroutines: serialise writes to the caller's writers.
	var mu sync.Mutex
	out := &lockedWriter{mu: &mu, w: stdout}
	errw := &lockedWriter{mu: &mu, w: stderr}
	var in io.Reader
	if stdin != nil {
		pr, pw, err := os.Pipe()
		if err != nil {
			fmt.Fprintf(stderr, "sh: 1: cannot create pipe: %v\n", err)
			return 2
		}
		go func() {
			_, _ = io.Copy(pw, stdin)
			_ = pw.Close()
		}()
		defer pr.Close()
		in = pr
	}
	code := s.run(ctx, cmd, in, out, errw, nil)
	var run []func()
	n.p.view(func() {
		kept := n.after[:0]
		for _, h := range n.after {
			if strings.Contains(cmd, h.substr) {
				run = append(run, h.fn)
				continue
			}
			kept = append(kept, h)
		}
		n.after = kept
	})
	for _, fn := range run {
		fn()
	}
	return code
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}

var shellEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh", "LANG=C.UTF-8", "PWD=/root",
}

// run interprets script. params are the shell options and positional parameters.
func (s *session) run(ctx context.Context, script string, stdin io.Reader, stdout, stderr io.Writer, params []string) int {
	file, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(script), "")
	if err != nil {
		msg := err.Error()
		var pe syntax.ParseError
		if errors.As(err, &pe) {
			msg = pe.Text
		}
		fmt.Fprintf(stderr, "sh: 1: Syntax error: %s\n", msg)
		return 2
	}
	env := append([]string{"HOSTNAME=" + s.n.name}, shellEnv...)
	opts := []interp.RunnerOption{
		interp.Env(expand.ListEnviron(env...)),
		interp.StdIO(stdin, stdout, stderr),
		interp.ExecHandlers(s.execMiddleware),
		interp.CallHandler(s.callHandler),
		interp.OpenHandler(s.openHandler),
		interp.StatHandler(s.statHandler),
		interp.ReadDirHandler2(s.readDirHandler),
		interp.AccessHandler(s.accessHandler),
		interp.Dir("/"),
	}
	if len(params) > 0 {
		opts = append(opts, interp.Params(params...))
	}
	r, err := interp.New(opts...)
	if err != nil {
		fmt.Fprintf(stderr, "sh: 1: %v\n", err)
		return 2
	}
	r.Dir = "/root"
	err = r.Run(ctx, file)
	code := 0
	if err != nil {
		var st interp.ExitStatus
		if errors.As(err, &st) {
			code = int(st)
		} else if ctx.Err() != nil {
			code = 130
		} else {
			fmt.Fprintf(stderr, "sh: 1: %v\n", err)
			code = 2
		}
	}
	return code
}

// cmdV is the internal program name `command -v` and `type` are routed to, so that
// PATH lookups consult the simulated programs instead of the real filesystem.
const cmdV = "\x00command-v"

func (s *session) callHandler(_ context.Context, args []string) ([]string, error) {
	if len(args) >= 3 && args[0] == "command" && (args[1] == "-v" || args[1] == "-V") {
		return append([]string{cmdV}, args[2:]...), nil
	}
	if len(args) >= 2 && args[0] == "type" {
		return append([]string{cmdV}, args[1:]...), nil
	}
	return args, nil
}

func (s *session) execMiddleware(interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(ctx context.Context, args []string) error {
		if code := s.exec(ctx, args); code != 0 {
			return interp.ExitStatus(code)
		}
		return nil
	}
}

// exec runs one simulated program (never a real one).
func (s *session) exec(ctx context.Context, args []string) int {
	hc := interp.HandlerCtx(ctx)
	name := path.Base(args[0])
	switch {
	case args[0] == cmdV:
		return s.commandV(hc.Stdout, args[1:])
	case name == "sudo":
		return s.sudo(ctx, hc, args)
	case name == "sh" || name == "bash" || name == "dash":
		return s.sh(ctx, hc, args)
	case name == "timeout":
		return s.timeout(ctx, hc, args)
	}
	prog, ok := programs[name]
	if !ok {
		fmt.Fprintf(hc.Stderr, "sh: 1: %s: not found\n", args[0])
		return 127
	}
	n := s.n
	var f fault
	var hasFault bool
	n.p.mutate(func() {
		n.record(args)
		f, hasFault = n.faults[name]
		delete(n.faults, name)
	})
	c := &call{s: s, n: n, p: n.p, ctx: ctx, args: args, stdin: hc.Stdin, stdout: hc.Stdout, stderr: hc.Stderr, dir: hc.Dir}
	if hasFault && f.delay > 0 {
		t := time.NewTimer(f.delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return 130
		case <-t.C:
		}
	}
	if hasFault && (f.exit != 0 || f.stderr != "") {
		return c.injectedFailure(name, f)
	}
	code := prog(c)
	c.flush()
	return code
}

func (c *call) injectedFailure(name string, f fault) int {
	if name == "chef-server-ctl" && len(c.args) > 1 && c.args[1] == "reconfigure" {
		c.chefHead()
		c.p.mutate(func() {
			c.p.reconfSeq++
			c.n.reconfRuns = append(c.n.reconfRuns, c.p.reconfSeq)
		})
	}
	c.errf("%s", f.stderr)
	if f.stderr != "" && !strings.HasSuffix(f.stderr, "\n") {
		c.errf("\n")
	}
	c.flush()
	return f.exit
}

func (s *session) commandV(stdout io.Writer, names []string) int {
	code := 0
	for _, name := range names {
		if strings.HasPrefix(name, "-") {
			continue
		}
		base := path.Base(name)
		_, ok := programs[base]
		if !ok && base != "sudo" && base != "sh" && base != "bash" && base != "dash" && base != "timeout" {
			if interp.IsBuiltin(name) {
				fmt.Fprintln(stdout, name)
				continue
			}
			code = 1
			continue
		}
		if strings.Contains(name, "/") {
			fmt.Fprintln(stdout, name)
		} else {
			fmt.Fprintln(stdout, programDir(base)+"/"+base)
		}
	}
	return code
}

func programDir(name string) string {
	switch name {
	case "drbdadm", "drbdsetup", "drbdmeta", "mkfs", "mkfs.ext4", "mkfs.ext3", "mkfs.ext2", "mke2fs",
		"mkfs.xfs", "blkid", "findmnt", "wipefs":
		return "/usr/sbin"
	}
	return "/usr/bin"
}

// timeout runs the rest of args as GNU timeout(1) does: -k, -s and the flags are accepted,
// the command ends when the duration passes, and then the exit status is 124. Like sudo and
// sh, it is not recorded as a program of its own.
func (s *session) timeout(ctx context.Context, hc interp.HandlerContext, args []string) int {
	i := 1
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		switch args[i] {
		case "-k", "-s", "--kill-after", "--signal":
			i++
		case "--":
			i++
			goto operands
		}
	}
operands:
	if i+1 >= len(args) {
		fmt.Fprintf(hc.Stderr, "timeout: missing operand\n")
		return 125
	}
	d, ok := timeoutDuration(args[i])
	if !ok {
		fmt.Fprintf(hc.Stderr, "timeout: invalid time interval '%s'\n", args[i])
		return 125
	}
	dctx := ctx
	if d > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	code := s.exec(dctx, args[i+1:])
	if ctx.Err() == nil && errors.Is(dctx.Err(), context.DeadlineExceeded) {
		return 124
	}
	return code
}

// timeoutDuration parses timeout(1)'s DURATION: a number with an optional s, m, h or d.
func timeoutDuration(s string) (time.Duration, bool) {
	unit := time.Second
	switch {
	case strings.HasSuffix(s, "s"):
		s = s[:len(s)-1]
	case strings.HasSuffix(s, "m"):
		s, unit = s[:len(s)-1], time.Minute
	case strings.HasSuffix(s, "h"):
		s, unit = s[:len(s)-1], time.Hour
	case strings.HasSuffix(s, "d"):
		s, unit = s[:len(s)-1], 24*time.Hour
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, false
	}
	return time.Duration(f * float64(unit)), true
}

// sudo strips sudo's own options and runs the rest as root (we already are).
func (s *session) sudo(ctx context.Context, hc interp.HandlerContext, args []string) int {
	i := 1
loop:
	for i < len(args) {
		a := args[i]
		switch {
		case a == "--":
			i++
			break loop
		case a == "-u" || a == "-g" || a == "-C" || a == "-p" || a == "-U" || a == "-r" || a == "-t" || a == "-D" || a == "-h":
			i += 2
		case strings.HasPrefix(a, "-") && len(a) > 1:
			i++
		default:
			break loop
		}
	}
	if i >= len(args) {
		fmt.Fprintln(hc.Stderr, "usage: sudo -h | -K | -k | -V")
		return 1
	}
	return s.exec(ctx, args[i:])
}

// sh implements `sh [-eux] -c CMD [NAME [ARGS...]]` and `sh` reading the script from stdin.
func (s *session) sh(ctx context.Context, hc interp.HandlerContext, args []string) int {
	var params []string
	script, haveC := "", false
	i := 1
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for _, ch := range a[1:] {
			switch ch {
			case 'c':
				haveC = true
			case 'e', 'u', 'x', 'f', 'v', 'n':
				params = append(params, "-"+string(ch))
			case 's':
			default:
				fmt.Fprintf(hc.Stderr, "%s: 0: Illegal option -%c\n", path.Base(args[0]), ch)
				return 2
			}
		}
	}
	if haveC {
		if i >= len(args) {
			fmt.Fprintf(hc.Stderr, "%s: 0: -c requires an argument\n", path.Base(args[0]))
			return 2
		}
		script = args[i]
		if i+2 < len(args) {
			params = append(params, "--")
			params = append(params, args[i+2:]...)
		}
		return s.run(ctx, script, hc.Stdin, hc.Stdout, hc.Stderr, params)
	}
	c := &call{ctx: ctx, stdin: hc.Stdin}
	data, err := c.readStdin()
	if err != nil {
		return 130
	}
	return s.run(ctx, string(data), nil, hc.Stdout, hc.Stderr, params)
}

// call is one run of a simulated program.
type call struct {
	s      *session
	n      *Node
	p      *Pair
	ctx    context.Context
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	dir    string
	buf    []chunk
}

type chunk struct {
	toErr bool
	data  []byte
}

// outf buffers stdout output; it is written by flush, never while mu is held.
func (c *call) outf(format string, a ...any) {
	c.buf = append(c.buf, chunk{data: fmt.Appendf(nil, format, a...)})
}

// errf buffers stderr output.
func (c *call) errf(format string, a ...any) {
	c.buf = append(c.buf, chunk{toErr: true, data: fmt.Appendf(nil, format, a...)})
}

func (c *call) flush() {
	for _, ch := range c.buf {
		if ch.toErr {
			_, _ = c.stderr.Write(ch.data)
		} else {
			_, _ = c.stdout.Write(ch.data)
		}
	}
	c.buf = nil
}

// readStdin reads all of stdin, giving up when the context ends.
func (c *call) readStdin() ([]byte, error) {
	if c.stdin == nil {
		return nil, nil
	}
	if f, ok := c.stdin.(*os.File); ok && f == nil {
		return nil, nil
	}
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		var b bytes.Buffer
		_, err := b.ReadFrom(c.stdin)
		done <- result{b.Bytes(), err}
	}()
	select {
	case r := <-done:
		return r.b, nil
	case <-c.ctx.Done():
		return nil, c.ctx.Err()
	}
}

// programs maps a program's base name to its implementation.
var programs map[string]func(*call) int

func init() {
	programs = map[string]func(*call) int{
		"drbdadm":         progDrbdadm,
		"drbdsetup":       progDrbdsetup,
		"cat":             progCat,
		"blockdev":        progBlockdev,
		"dumpe2fs":        progDumpe2fs,
		"xfs_info":        progXFSInfo,
		"resize2fs":       progResize2fs,
		"xfs_growfs":      progXFSGrowfs,
		"head":            progHead,
		"tail":            progTail,
		"mkdir":           progMkdir,
		"mv":              progMv,
		"rm":              progRm,
		"touch":           progTouch,
		"chmod":           progChmod,
		"stat":            progStat,
		"ls":              progLs,
		"grep":            progGrep,
		"dmesg":           progDmesg,
		"uname":           progUname,
		"hostname":        progHostname,
		"id":              progID,
		"sleep":           progSleep,
		"which":           progWhich,
		"true":            func(*call) int { return 0 },
		"false":           func(*call) int { return 1 },
		"mountpoint":      progMountpoint,
		"mount":           progMount,
		"umount":          progUmount,
		"findmnt":         progFindmnt,
		"fuser":           progFuser,
		"blkid":           progBlkid,
		"mkfs":            progMkfs,
		"mke2fs":          progMkfs,
		"mkfs.ext2":       progMkfs,
		"mkfs.ext3":       progMkfs,
		"mkfs.ext4":       progMkfs,
		"mkfs.xfs":        progMkfs,
		"chef-server-ctl": progChef,
	}
}

// IsMutating reports whether a program run (an argv from Executed) changes the
// host: drbdadm and drbdsetup state changes, mkfs, mount, umount, file
// operations, chef-server-ctl reconfigure, and {">", path}/{">>", path} file writes.
func IsMutating(argv []string) bool {
	if len(argv) == 0 {
		return false
	}
	name := path.Base(argv[0])
	switch name {
	case ">", ">>":
		return true
	case "mkdir", "touch", "rm", "rmdir", "mv", "cp", "ln", "chmod", "chown", "tee", "truncate", "dd",
		"umount", "wipefs", "mkfs", "mke2fs", "resize2fs", "xfs_growfs":
		return true
	case "mount":
		return len(argv) > 1 && argv[len(argv)-1] != "-l"
	case "chef-server-ctl":
		if len(argv) < 2 {
			return false
		}
		switch argv[1] {
		case "status", "help", "version", "show-config", "-h", "--help":
			return false
		}
		return true
	case "drbdadm":
		switch drbdadmWord(argv[1:]) {
		case "primary", "secondary", "up", "down", "adjust", "create-md", "disk-options",
			"peer-device-options", "net-options", "resource-options", "invalidate", "invalidate-remote",
			"connect", "disconnect", "attach", "detach", "syncer", "new-current-uuid", "resize",
			"outdate", "pause-sync", "resume-sync", "verify", "wipe-md":
			return true
		}
		return false
	case "drbdsetup":
		switch drbdsetupWord(argv[1:]) {
		case "syncer", "primary", "secondary", "down", "attach", "detach", "connect", "disconnect",
			"disk-options", "peer-device-options", "net-options", "resource-options", "invalidate",
			"invalidate-remote", "new-current-uuid", "resize", "new-resource", "new-minor", "del-minor",
			"del-resource", "outdate", "pause-sync", "resume-sync", "verify", "disk", "net":
			return true
		}
		return false
	}
	return strings.HasPrefix(name, "mkfs.")
}

// drbdadmWord returns the drbdadm sub-command of args (options and "--" skipped).
func drbdadmWord(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-c" || a == "--config-file" || a == "-t" || a == "-s" || a == "-m":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return a
		}
	}
	return ""
}

// drbdsetupWord returns the drbdsetup sub-command, skipping an 8.3-style device or minor.
func drbdsetupWord(args []string) string {
	for _, a := range args {
		if strings.HasPrefix(a, "-") || strings.HasPrefix(a, "/dev/") || isDigits(a) {
			continue
		}
		return a
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
