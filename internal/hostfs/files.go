package hostfs

import (
	"path"
	"strings"
)

// FileMissingExit is the exit status of ReadFileCommand when the file does not exist, and of
// ExistsCommand's `test -e` when it does not (1).
const FileMissingExit = 3

// ReadFileCommand prints file, or exits FileMissingExit when it does not exist (any other
// non-zero status is a real error, e.g. permission denied).
func ReadFileCommand(file string) string {
	q := quote(file)
	return "if test -e " + q + "; then cat " + q + "; else exit 3; fi"
}

// WriteFileCommand writes standard input to file atomically with the given octal mode
// (e.g. "600"): into a temporary file beside it, then renamed over it, so that a reader never
// sees half a file. The parent directory is created when missing.
func WriteFileCommand(file, mode string) string {
	dir, base := path.Split(file)
	tmp := dir + "." + base + ".terraform-tmp"
	return join("mkdir", "-p", path.Clean(dir)) + " && cat > " + quote(tmp) + " && " +
		join("chmod", mode, tmp) + " && " + join("mv", "-f", tmp, file)
}

// TouchCommand creates file (or updates its time stamp).
func TouchCommand(file string) string { return join("touch", file) }

// ExistsCommand exits 0 when file exists and 1 when it does not.
func ExistsCommand(file string) string { return join("test", "-e", file) }

// RemoveCommand removes file; a missing file is not an error.
func RemoveCommand(file string) string { return join("rm", "-f", file) }

// MountTargetsCommand lists where the block device dev is mounted, one mountpoint a line
// (findmnt's raw output; exit 1 when it is not mounted anywhere).
func MountTargetsCommand(dev string) string {
	return join("findmnt", "-n", "-r", "-o", "TARGET", "--source", dev)
}

// ParseMountTargets returns the mountpoints MountTargetsCommand printed, one per line, with
// findmnt's escaping of blanks (\x20) undone.
func ParseMountTargets(stdout string) []string {
	var out []string
	for _, l := range strings.Split(stdout, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, unescape(l))
		}
	}
	return out
}
