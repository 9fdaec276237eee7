package drbdsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"mvdan.cc/sh/v3/interp"
)

// fsEntry is a file or directory of a node's in-memory filesystem.
type fsEntry struct {
	dir  bool
	data []byte
	mode fs.FileMode
	mod  time.Time
}

var simEpoch = time.Date(2025, 11, 25, 0, 12, 0, 0, time.UTC)

func (n *Node) initFS() {
	n.files = map[string]*fsEntry{}
	for _, d := range []string{
		"/", "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/etc", "/etc/drbd.d", "/proc", "/dev",
		"/root", "/tmp", "/run", "/var", "/var/lib", "/var/log", "/var/opt", "/var/opt/opscode",
		"/var/opt/opscode/drbd", "/lib", "/lib/drbd",
	} {
		n.files[d] = &fsEntry{dir: true, mode: fs.ModeDir | 0o755, mod: simEpoch}
	}
	n.putFile("/etc/hostname", n.name+"\n")
	n.putFile("/etc/fstab", "")
	n.putFile("/etc/drbd.conf", "include \"drbd.d/global_common.conf\";\ninclude \"drbd.d/*.res\";\n")
	n.putFile("/etc/drbd.d/global_common.conf", "global {\n\tusage-count no;\n}\ncommon {\n}\n")
	if n.p.cfg.ConfigFile {
		n.putFile("/etc/drbd.d/"+n.p.cfg.Resource+".res", n.p.ResConfig())
	}
}

// ResConfig returns the resource configuration written when PairConfig.ConfigFile is set.
func (p *Pair) ResConfig() string {
	c := p.cfg
	var b strings.Builder
	fmt.Fprintf(&b, "resource %s {\n", c.Resource)
	b.WriteString("  net {\n    protocol C;\n    cram-hmac-alg sha1;\n    shared-secret \"chef-ha-lab\";\n" +
		"    after-sb-0pri discard-younger-primary;\n    after-sb-1pri discard-secondary;\n" +
		"    after-sb-2pri call-pri-lost-after-sb;\n  }\n  disk {\n    on-io-error detach;\n  }\n")
	for i, name := range c.NodeNames {
		fmt.Fprintf(&b, "  on %s {\n    device    /dev/drbd%d minor %d;\n    disk      %s;\n"+
			"    address   169.254.77.%d:7788;\n    meta-disk internal;\n  }\n", name, c.Minor, c.Minor, c.BackingDisk, i+1)
	}
	b.WriteString("}\n")
	return b.String()
}

// putFile creates or replaces a regular file, creating missing parents. Callers hold mu
// (or own the node exclusively).
func (n *Node) putFile(p, data string) {
	p = cleanPath("/", p)
	n.mkdirAll(path.Dir(p))
	n.files[p] = &fsEntry{data: []byte(data), mode: 0o644, mod: simEpoch}
}

func (n *Node) mkdirAll(p string) {
	for d := p; ; d = path.Dir(d) {
		if e, ok := n.files[d]; ok && e.dir {
			break
		}
		n.files[d] = &fsEntry{dir: true, mode: fs.ModeDir | 0o755, mod: simEpoch}
		if d == "/" {
			break
		}
	}
}

func cleanPath(dir, p string) string {
	if !path.IsAbs(p) {
		p = path.Join(dir, p)
	}
	return path.Clean(p)
}

// device returns the DRBD device path.
func (n *Node) device() string { return fmt.Sprintf("/dev/drbd%d", n.p.cfg.Minor) }

// devExists reports whether the DRBD device node exists. 8.4 and 9 create it with
// the minor; 8.3 has it from module load. Callers hold mu.
func (n *Node) devExists() bool { return n.up || n.p.cfg.Version == V83 }

func (n *Node) devMounted() bool {
	for _, m := range n.mounts {
		if m.dev == n.device() {
			return true
		}
	}
	return false
}

// renderMounts renders the kernel's mount table: the root filesystem, then the node's mounts.
// Callers hold mu.
func (n *Node) renderMounts() string {
	var b strings.Builder
	b.WriteString("/dev/vda1 / ext4 rw,relatime 0 0\n")
	for _, dir := range slices.Sorted(maps.Keys(n.mounts)) {
		m := n.mounts[dir]
		opts := m.opts
		if opts == "" {
			opts = "rw,relatime"
		}
		fmt.Fprintf(&b, "%s %s %s %s 0 0\n", m.dev, strings.ReplaceAll(dir, " ", `\040`), m.fstype, opts)
	}
	return b.String()
}

// special returns a synthetic entry for device and proc files. Callers hold mu.
func (n *Node) special(p string) (*fsEntry, bool) {
	switch p {
	case "/proc/drbd", "/proc/self/mounts", "/proc/mounts":
		return &fsEntry{mode: 0o444, mod: time.Now()}, true
	case "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/tty":
		return &fsEntry{mode: fs.ModeDevice | fs.ModeCharDevice | 0o666, mod: simEpoch}, true
	case n.p.cfg.BackingDisk:
		return &fsEntry{mode: fs.ModeDevice | 0o660, mod: simEpoch}, true
	case n.device():
		if n.devExists() {
			return &fsEntry{mode: fs.ModeDevice | 0o600, mod: simEpoch}, true
		}
	}
	return nil, false
}

// lookup returns the entry at the clean absolute path p. Callers hold mu.
func (n *Node) lookup(p string) (*fsEntry, bool) {
	if e, ok := n.special(p); ok {
		return e, true
	}
	e, ok := n.files[p]
	return e, ok
}

func (n *Node) fileExists(p string) bool {
	_, ok := n.lookup(cleanPath("/", p))
	return ok
}

// errNoEnt and friends carry dash's wording so the interpreter prints
// "sh: 1: cannot open /x: No such file" for failed redirections.
//
//nolint:staticcheck // ST1005: the capitalised text is dash's strerror wording, printed verbatim.
var (
	errNoEnt      = errors.New("No such file")
	errNoDir      = errors.New("Directory nonexistent")
	errIsDir      = errors.New("Is a directory")
	errPermission = errors.New("Permission denied")
)

// readFile returns the content of a file for a program or a redirection.
// /proc/drbd is rendered live and counts as a status read. Callers hold mu.
func (s *session) readFile(p string) ([]byte, error) {
	n := s.n
	switch p {
	case "/proc/drbd":
		s.statusRead()
		return []byte(n.renderProc()), nil
	case "/proc/self/mounts", "/proc/mounts":
		return []byte(n.renderMounts()), nil
	case "/dev/null", "/dev/tty", n.p.cfg.BackingDisk, n.device():
		if _, ok := n.lookup(p); ok {
			return nil, nil
		}
	case "/dev/zero", "/dev/urandom", "/dev/random":
		return nil, nil // endless in reality; the simulator has no use for their bytes
	}
	if b, ok := n.sysBlockSize(p); ok {
		return b, nil
	}
	e, ok := n.files[p]
	switch {
	case !ok:
		return nil, fs.ErrNotExist
	case e.dir:
		return nil, errIsDir
	}
	return slices.Clone(e.data), nil
}

// openHandler implements redirections against the node's filesystem.
func (s *session) openHandler(ctx context.Context, name string, flag int, _ os.FileMode) (io.ReadWriteCloser, error) {
	hc := interp.HandlerCtx(ctx)
	p := cleanPath(hc.Dir, name)
	n := s.n
	if flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		var data []byte
		var err error
		n.p.mutate(func() { data, err = s.readFile(p) })
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				err = errNoEnt
			}
			return nil, &fs.PathError{Op: "sh: 1: cannot open", Path: p, Err: err}
		}
		return &memFile{r: bytes.NewReader(data)}, nil
	}
	switch p {
	case "/dev/null", "/dev/tty":
		return &memFile{}, nil
	case "/dev/stdout":
		return &memFile{w: hc.Stdout}, nil
	case "/dev/stderr":
		return &memFile{w: hc.Stderr}, nil
	}
	op := ">"
	if flag&os.O_APPEND != 0 {
		op = ">>"
	}
	var err error
	n.p.mutate(func() {
		if e, ok := n.lookup(p); ok && (e.dir || e.mode&fs.ModeDevice != 0 || p == "/proc/drbd") {
			if e.dir {
				err = errIsDir
			} else {
				err = errPermission
			}
			return
		}
		if d, ok := n.files[path.Dir(p)]; !ok || !d.dir {
			err = errNoDir
			return
		}
		n.record([]string{op, p})
		e, ok := n.files[p]
		if !ok {
			e = &fsEntry{mode: 0o644}
			n.files[p] = e
		}
		if flag&os.O_TRUNC != 0 {
			e.data = nil
		}
		e.mod = time.Now()
	})
	if err != nil {
		return nil, &fs.PathError{Op: "sh: 1: cannot create", Path: p, Err: err}
	}
	return &memFile{w: &nodeFileWriter{n: n, path: p}}, nil
}

// nodeFileWriter appends to a file of the node under the pair lock.
type nodeFileWriter struct {
	n    *Node
	path string
}

func (w *nodeFileWriter) Write(b []byte) (int, error) {
	w.n.p.mutate(func() {
		e, ok := w.n.files[w.path]
		if !ok {
			e = &fsEntry{mode: 0o644}
			w.n.files[w.path] = e
		}
		e.data = append(e.data, b...)
		e.mod = time.Now()
	})
	return len(b), nil
}

// memFile adapts a reader or writer to io.ReadWriteCloser.
type memFile struct {
	r io.Reader
	w io.Writer
}

func (f *memFile) Read(b []byte) (int, error) {
	if f.r == nil {
		return 0, io.EOF
	}
	return f.r.Read(b)
}

func (f *memFile) Write(b []byte) (int, error) {
	if f.w == nil {
		return len(b), nil
	}
	return f.w.Write(b)
}

func (f *memFile) Close() error { return nil }

// fileInfo implements fs.FileInfo for the in-memory filesystem.
type fileInfo struct {
	name string
	e    *fsEntry
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return int64(len(i.e.data)) }
func (i fileInfo) Mode() fs.FileMode  { return i.e.mode }
func (i fileInfo) ModTime() time.Time { return i.e.mod }
func (i fileInfo) IsDir() bool        { return i.e.dir }
func (i fileInfo) Sys() any           { return nil }

func (s *session) statHandler(ctx context.Context, name string, _ bool) (fs.FileInfo, error) {
	p := cleanPath(interp.HandlerCtx(ctx).Dir, name)
	var e *fsEntry
	var ok bool
	s.n.p.view(func() { e, ok = s.n.lookup(p) })
	if !ok {
		return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
	}
	return fileInfo{name: path.Base(p), e: e}, nil
}

func (s *session) accessHandler(ctx context.Context, name string, mode interp.AccessMode) error {
	fi, err := s.statHandler(ctx, name, true)
	if err != nil {
		return err
	}
	if mode&interp.AccessExec != 0 && !fi.IsDir() && fi.Mode().Perm()&0o111 == 0 {
		return &fs.PathError{Op: "access", Path: name, Err: fs.ErrPermission}
	}
	return nil
}

func (s *session) readDirHandler(ctx context.Context, name string) ([]fs.DirEntry, error) {
	p := cleanPath(interp.HandlerCtx(ctx).Dir, name)
	var out []fs.DirEntry
	var err error
	s.n.p.view(func() { out, err = s.n.readDir(p) })
	return out, err
}

// readDir lists a directory, sorted by name. Callers hold mu.
func (n *Node) readDir(p string) ([]fs.DirEntry, error) {
	e, ok := n.lookup(p)
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	if !e.dir {
		return nil, &fs.PathError{Op: "readdir", Path: p, Err: errors.New("not a directory")}
	}
	names := map[string]*fsEntry{}
	for fp, fe := range n.files {
		if fp != "/" && path.Dir(fp) == p {
			names[path.Base(fp)] = fe
		}
	}
	switch p {
	case "/proc", "/dev":
		for _, sp := range []string{"/proc/drbd", "/dev/null", n.p.cfg.BackingDisk, n.device()} {
			if path.Dir(sp) == p {
				if se, ok := n.special(sp); ok {
					names[path.Base(sp)] = se
				}
			}
		}
	}
	out := make([]fs.DirEntry, 0, len(names))
	for _, name := range slices.Sorted(maps.Keys(names)) {
		out = append(out, fs.FileInfoToDirEntry(fileInfo{name: name, e: names[name]}))
	}
	return out, nil
}

// FileExists reports whether path exists on the node (files, directories, devices, /proc/drbd).
func (n *Node) FileExists(p string) (ok bool) {
	n.p.view(func() { ok = n.fileExists(p) })
	return ok
}

// WriteFile writes a regular file out of band, creating missing parent directories.
func (n *Node) WriteFile(p, data string) { n.p.mutate(func() { n.putFile(p, data) }) }

// RemoveFile removes a file or directory tree out of band.
func (n *Node) RemoveFile(p string) {
	n.p.mutate(func() { n.removeAll(cleanPath("/", p)) })
}

func (n *Node) removeAll(p string) {
	for fp := range n.files {
		if fp == p || strings.HasPrefix(fp, p+"/") {
			delete(n.files, fp)
		}
	}
}

// ReadFile returns the content of a regular file (false when missing or not a regular file).
func (n *Node) ReadFile(p string) (data string, ok bool) {
	n.p.view(func() {
		e, found := n.files[cleanPath("/", p)]
		if found && !e.dir {
			data, ok = string(e.data), true
		}
	})
	return data, ok
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
