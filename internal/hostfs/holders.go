package hostfs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Holder is a process that keeps a mounted filesystem busy, so that umount fails.
type Holder struct {
	PID     int
	Command string   // the process name (fuser's COMMAND, /proc/PID/comm)
	Access  []string // how it uses the filesystem: cwd, root, exe, open file, open for writing, mmap
}

// String names the holder for a diagnostic, e.g. "sleep (pid 1234, cwd)".
func (h Holder) String() string {
	cmd := h.Command
	if cmd == "" {
		cmd = "?"
	}
	parts := append([]string{fmt.Sprintf("pid %d", h.PID)}, h.Access...)
	return fmt.Sprintf("%s (%s)", cmd, strings.Join(parts, ", "))
}

// DescribeHolders lists at most limit holders, e.g. "postgres (pid 88, cwd), sleep (pid 1234,
// cwd) and 3 more".
func DescribeHolders(hs []Holder, limit int) string {
	limit = max(limit, 1)
	names := make([]string, 0, min(len(hs), limit))
	for i, h := range hs {
		if i == limit {
			break
		}
		names = append(names, h.String())
	}
	s := strings.Join(names, ", ")
	if len(hs) > limit {
		s += fmt.Sprintf(" and %d more", len(hs)-limit)
	}
	return s
}

// IsBusy reports whether umount's message says the filesystem is in use: util-linux prints
// "umount: DIR: target is busy." (exit 32); older versions and umount.nfs say "device is busy".
func IsBusy(umountStderr string) bool {
	return strings.Contains(umountStderr, "target is busy") || strings.Contains(umountStderr, "device is busy")
}

const (
	markFuser = "@@hostfs fuser"
	markProc  = "@@hostfs proc"
)

// HoldersCommand lists the processes that use the filesystem mounted at mountpoint, in one
// round trip; ParseHolders reads its output.
//
// With psmisc installed it runs `fuser -vm MOUNTPOINT`, which matches every file of the
// filesystem (by device, not by path) and writes its table to stderr (merged here). psmisc and
// lsof are not on minimal Debian images (debian:12-slim has neither, nor procps), so when fuser
// is missing (what would be exit 127) the fallback reads /proc with tools that are always
// there: find (findutils is Essential in Debian) lists the cwd, root, exe and fd links whose
// target lies under the mountpoint, in one process however many descriptors the host has, and
// a small POSIX sh loop names each match's process from /proc/PID/comm. It sees paths only
// (not memory maps, nor a file opened through another mount of the same filesystem), which
// is enough to name what keeps a service's data directory busy.
func HoldersCommand(mountpoint string) string {
	return "if command -v fuser >/dev/null 2>&1; then echo " + quote(markFuser) + "; " +
		join("fuser", "-vm", mountpoint) + " 2>&1; else echo " + quote(markProc) + "; " +
		procHoldersCommand(mountpoint) + "; fi"
}

// procHoldersCommand is the fallback of HoldersCommand: "PID LINK COMM" for every cwd, root,
// exe or fd link of /proc whose target is the mountpoint or lies under it.
func procHoldersCommand(mountpoint string) string {
	mp := strings.TrimRight(mountpoint, "/")
	pat, under := globEscape(mp), globEscape(mp)+"/*"
	if mp == "" {
		pat, under = "/", "/*"
	}
	return "find /proc/[0-9]*/cwd /proc/[0-9]*/root /proc/[0-9]*/exe /proc/[0-9]*/fd -maxdepth 1 " +
		`\( -lname ` + quote(pat) + ` -o -lname ` + quote(under) + ` \) -print 2>/dev/null | ` +
		`while read -r l; do p=${l#/proc/}; pid=${p%%/*}; k=${p#*/}; ` +
		`printf '%s %s %s\n' "$pid" "${k%%/*}" "$(cat "/proc/$pid/comm" 2>/dev/null)"; done`
}

// globEscape escapes the pattern characters of find -lname.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ParseHolders parses the output of HoldersCommand: the processes, in the order first seen,
// each once.
func ParseHolders(out string) ([]Holder, error) {
	out += "\n"
	for _, mark := range []string{markFuser, markProc} {
		i := strings.Index(out, mark+"\n")
		if i < 0 {
			continue
		}
		body := out[i+len(mark)+1:]
		if mark == markFuser {
			return ParseFuser(body), nil
		}
		return parseProcHolders(body), nil
	}
	return nil, fmt.Errorf("not a holders listing: %.200q", strings.TrimSpace(out))
}

// fuserAccess names the letters of fuser's ACCESS column.
var fuserAccess = map[rune]string{
	'c': "cwd", 'e': "exe", 'f': "open file", 'F': "open for writing", 'r': "root", 'm': "mmap",
}

// ParseFuser parses the table of `fuser -v` (psmisc), e.g.
//
//	                     USER        PID ACCESS COMMAND
//	/mnt:                root     kernel mount /mnt
//	                     root        123 ..c.. sleep
//
// A name longer than the first column stands on a line of its own. "kernel" lines (the mount
// itself, swap, an NFS export) are not processes and are left out, as are messages such as
// "Specified filename /x does not exist.".
func ParseFuser(out string) []Holder {
	var hs holderSet
	for _, line := range strings.Split(out, "\n") {
		rest := line
		if line != "" && line[0] != ' ' && line[0] != '\t' {
			// "NAME:" then the first entry, if it fits on the line.
			i := strings.Index(line, ":")
			if i < 0 || (i+1 < len(line) && line[i+1] != ' ' && line[i+1] != '\t') {
				continue
			}
			rest = line[i+1:]
		}
		f := strings.Fields(rest)
		if len(f) < 4 || f[1] == "kernel" {
			continue
		}
		pid, err := strconv.Atoi(f[1])
		if err != nil || pid <= 0 || !isFuserAccess(f[2]) {
			continue
		}
		var access []string
		for _, r := range f[2] {
			if a, ok := fuserAccess[r]; ok {
				access = append(access, a)
			}
		}
		hs.add(pid, strings.Join(f[3:], " "), access...)
	}
	return hs.list
}

// isFuserAccess reports whether s is a field of fuser access letters.
func isFuserAccess(s string) bool {
	for _, r := range s {
		if _, ok := fuserAccess[r]; !ok && r != '.' {
			return false
		}
	}
	return s != ""
}

// procAccess names the /proc links of the fallback listing.
var procAccess = map[string]string{"cwd": "cwd", "root": "root", "exe": "exe", "fd": "open file"}

// parseProcHolders parses the fallback's "PID LINK COMM" lines.
func parseProcHolders(out string) []Holder {
	var hs holderSet
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		pid, err := strconv.Atoi(f[0])
		a, ok := procAccess[f[1]]
		if err != nil || pid <= 0 || !ok {
			continue
		}
		hs.add(pid, strings.Join(f[2:], " "), a)
	}
	return hs.list
}

// holderSet collects holders by PID in the order first seen.
type holderSet struct {
	list  []Holder
	index map[int]int
}

// add records pid with its command, merging the access of a PID already seen.
func (s *holderSet) add(pid int, command string, access ...string) {
	if s.index == nil {
		s.index = map[int]int{}
	}
	i, ok := s.index[pid]
	if !ok {
		i = len(s.list)
		s.index[pid] = i
		s.list = append(s.list, Holder{PID: pid, Command: command})
	}
	h := &s.list[i]
	if h.Command == "" {
		h.Command = command
	}
	for _, a := range access {
		if !slices.Contains(h.Access, a) {
			h.Access = append(h.Access, a)
		}
	}
}
