package hostfs

import (
	"strings"

	"al.essio.dev/pkg/shellescape"
)

// quote returns s quoted as one word for a POSIX shell.
func quote(s string) string { return shellescape.Quote(s) }

// join quotes every argument and joins them with spaces, so the shell sees exactly args as
// the argument list.
func join(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = quote(a)
	}
	return strings.Join(q, " ")
}
