package sshx

import (
	"strings"

	"al.essio.dev/pkg/shellescape"
)

// Quote returns s quoted as one word for a POSIX shell; the empty string becomes an empty
// single-quoted word.
func Quote(s string) string {
	return shellescape.Quote(s)
}

// Join quotes every argument with Quote and joins them with spaces, so the shell sees exactly
// args as the argument list.
func Join(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}

// sudoWrap runs cmd through a non-interactive sudo, so a missing sudoers rule fails at once
// instead of waiting on a password prompt.
func sudoWrap(cmd string) string {
	return Join("sudo", "-n", "--", "sh", "-c", cmd)
}
