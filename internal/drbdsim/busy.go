package drbdsim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Processes that keep a mounted filesystem busy (a service with its working directory in
// it), and fuser (psmisc), which names them.
//
// A held mount makes umount fail like util-linux does ("umount: DIR: target is busy.",
// exit 32). The simulator's umount has no hook of its own, so the hold is carried by the
// node's injected-failure slot for umount (the one FailNext uses): it fails the next umount of
// the node, and is armed again by HoldMount and by every fuser run while a hold lasts, so the
// provider's "umount, then ask fuser who holds it" cycle keeps failing until ReleaseMount.
// Two umounts in a row without fuser in between see only the first fail, and the failure
// does not look at which directory umount was given.

// mountHolder is one simulated process using a directory.
type mountHolder struct {
	command string
	pid     int
}

var (
	// holdsMu guards holds. It is taken inside the pair's lock (mutate, view), never around it.
	holdsMu sync.Mutex
	// holds are the holders of each node, by held directory.
	holds = map[*Node]map[string][]mountHolder{}
)

// busyMessage is util-linux umount's message for a filesystem in use.
func busyMessage(dir string) string { return fmt.Sprintf("umount: %s: target is busy.\n", dir) }

// HoldMount makes a process (command, pid) use dir as its working directory, so that
// `umount DIR` fails with "umount: DIR: target is busy." (exit 32) and `fuser -vm DIR` lists
// it, until ReleaseMount(dir). Holding a directory twice with the same pid changes nothing.
func (n *Node) HoldMount(dir, command string, pid int) {
	dir = cleanPath("/", dir)
	n.p.mutate(func() {
		holdsMu.Lock()
		defer holdsMu.Unlock()
		h := holds[n]
		if h == nil {
			h = map[string][]mountHolder{}
			holds[n] = h
		}
		if !slices.ContainsFunc(h[dir], func(m mountHolder) bool { return m.pid == pid }) {
			h[dir] = append(h[dir], mountHolder{command: command, pid: pid})
		}
		n.armBusy()
	})
}

// ReleaseMount ends every hold on dir (the processes stopped); umount works again once no
// hold is left on the node.
func (n *Node) ReleaseMount(dir string) {
	dir = cleanPath("/", dir)
	n.p.mutate(func() {
		holdsMu.Lock()
		defer holdsMu.Unlock()
		delete(holds[n], dir)
		if len(holds[n]) == 0 {
			delete(holds, n)
		}
		if f, ok := n.faults["umount"]; ok && f.exit == 32 && strings.Contains(f.stderr, "target is busy") {
			delete(n.faults, "umount")
		}
		n.armBusy()
	})
}

// armBusy makes the next umount fail as busy while a hold lasts. Callers hold mu and holdsMu.
func (n *Node) armBusy() {
	dirs := slices.Sorted(maps.Keys(holds[n]))
	if len(dirs) == 0 {
		return
	}
	// umount names its operand, the mount point of the held directory.
	target := n.mountOf(dirs[0])
	if target == "/" {
		target = dirs[0]
	}
	f := n.faults["umount"]
	f.exit, f.stderr = 32, busyMessage(target)
	n.faults["umount"] = f
}

// holdersUnder returns the holders of dirs equal to or under mount (exactly dir when exact),
// sorted by pid. Callers hold mu and holdsMu.
func (n *Node) holdersUnder(mount string, exact bool) []mountHolder {
	var out []mountHolder
	for dir, hs := range holds[n] {
		if dir == mount || (!exact && (mount == "/" || strings.HasPrefix(dir, mount+"/"))) {
			out = append(out, hs...)
		}
	}
	slices.SortFunc(out, func(a, b mountHolder) int { return a.pid - b.pid })
	return out
}

// mountOf returns the mount point of the filesystem holding p ("/" when no simulated mount
// does). Callers hold mu.
func (n *Node) mountOf(p string) string {
	best := "/"
	for dir := range n.mounts {
		if (p == dir || strings.HasPrefix(p, dir+"/")) && len(dir) > len(best) {
			best = dir
		}
	}
	return best
}

// fuserNameField is the width of psmisc fuser's first column.
const fuserNameField = 20

// progFuser implements psmisc fuser [-v] [-m|-M] [-s] NAME...: the processes using a file, or
// with -m the filesystem it is on. The simulated processes are those of HoldMount (user root,
// ACCESS ..c..). With -v the table goes to stderr, as psmisc prints it:
//
//	                     USER        PID ACCESS COMMAND
//	/mnt:                root     kernel mount /mnt
//	                     root        123 ..c.. sleep
//
// Without -v the PIDs go to stdout and the rest to stderr. Exit status 0 when a process was
// found, 1 otherwise. -k (kill) is not simulated.
func progFuser(c *call) int {
	var verbose, mountMode, exactMount, silent bool
	var names []string
	for i, a := range c.args[1:] {
		if a == "--" {
			names = append(names, c.args[i+2:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			names = append(names, a)
			continue
		}
		for _, ch := range a[1:] {
			switch ch {
			case 'v':
				verbose = true
			case 'm':
				mountMode = true
			case 'M':
				exactMount = true
			case 's':
				silent = true
			case 'a', 'u', 'w':
			default:
				c.errf("fuser: invalid option -- '%c'\n", ch)
				return 1
			}
		}
	}
	if len(names) == 0 {
		c.errf("No process specification given\n")
		return 1
	}
	found := false
	header := false
	c.p.mutate(func() {
		holdsMu.Lock()
		defer holdsMu.Unlock()
		for _, name := range names {
			p := c.path(name)
			if !c.n.fileExists(p) {
				c.errf("Specified filename %s does not exist.\n", name)
				continue
			}
			mount := ""
			var hs []mountHolder
			switch {
			case exactMount && !c.n.isMountpoint(p):
				c.errf("Specified filename %s is not a mountpoint.\n", name)
				continue
			case mountMode || exactMount:
				mount = c.n.mountOf(p)
				hs = c.n.holdersUnder(mount, false)
			default:
				hs = c.n.holdersUnder(p, true)
			}
			found = found || len(hs) > 0
			if silent || (!verbose && len(hs) == 0) {
				continue
			}
			if !verbose {
				c.errf("%s:", name)
				for _, h := range hs {
					c.outf(" %5d", h.pid)
					c.errf("c")
				}
				c.errf("\n")
				continue
			}
			if mount == "" && len(hs) == 0 {
				continue
			}
			if !header {
				c.errf("%*s USER        PID ACCESS COMMAND\n", fuserNameField, "")
				header = true
			}
			lead := name + ":"
			if len(lead) > fuserNameField {
				c.errf("%s\n", lead)
				lead = ""
			}
			line := func(format string, a ...any) {
				c.errf("%-*s %s\n", fuserNameField, lead, fmt.Sprintf(format, a...))
				lead = ""
			}
			if mount != "" {
				line("%-8s kernel mount %s", "root", mount)
			}
			for _, h := range hs {
				line("%-8s %6d ..c.. %s", "root", h.pid, h.command)
			}
		}
		if len(holds[c.n]) > 0 {
			c.n.armBusy()
		}
	})
	if found {
		return 0
	}
	return 1
}
