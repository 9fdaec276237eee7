package hostfs

import (
	"path"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// FileMissingExit is the exit status of ReadFileCommand when the file does not exist, and of
// ExistsCommand's `test -e` when it does not (1).
const FileMissingExit = 3

// ReadFileCommand prints file, or exits FileMissingExit when it does not exist (any other
// non-zero status is a real error, e.g. permission denied).
func ReadFileCommand(file string) string {
	q := sshx.Quote(file)
	return "if test -e " + q + "; then cat " + q + "; else exit 3; fi"
}

// WriteFileCommand writes standard input to file atomically with the given octal mode
// (e.g. "600"): into a temporary file beside it, then renamed over it, so that a reader never
// sees half a file. The parent directory is created when missing.
func WriteFileCommand(file, mode string) string {
	dir, base := path.Split(file)
	tmp := dir + "." + base + ".terraform-tmp"
	return sshx.Join("mkdir", "-p", path.Clean(dir)) + " && cat > " + sshx.Quote(tmp) + " && " +
		sshx.Join("chmod", mode, tmp) + " && " + sshx.Join("mv", "-f", tmp, file)
}

// TouchCommand creates file (or updates its time stamp).
func TouchCommand(file string) string { return sshx.Join("touch", file) }

// ExistsCommand exits 0 when file exists and 1 when it does not.
func ExistsCommand(file string) string { return sshx.Join("test", "-e", file) }

// RemoveCommand removes file; a missing file is not an error.
func RemoveCommand(file string) string { return sshx.Join("rm", "-f", file) }

// MountTargetsCommand lists where the block device dev is mounted, one mountpoint a line
// (findmnt's raw output; exit 1 when it is not mounted anywhere).
func MountTargetsCommand(dev string) string {
	return sshx.Join("findmnt", "-n", "-r", "-o", "TARGET", "--source", dev)
}
