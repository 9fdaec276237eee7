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

// unquote undoes Quote: a plain word, or single-quoted parts joined by "'" (shellescape's
// form); ok is false for anything else.
func unquote(s string) (string, bool) {
	if !strings.HasPrefix(s, "'") {
		return s, !strings.ContainsAny(s, " '\\\"")
	}
	var b strings.Builder
	for s != "" {
		switch {
		case strings.HasPrefix(s, `"'"`):
			b.WriteByte('\'')
			s = s[3:]
		case strings.HasPrefix(s, "'"):
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return "", false
			}
			b.WriteString(s[1 : 1+end])
			s = s[end+2:]
		default:
			return "", false
		}
	}
	return b.String(), true
}
