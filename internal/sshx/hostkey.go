package sshx

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Fingerprint returns the SHA256 fingerprint of key, "SHA256:...", as OpenSSH prints it.
func Fingerprint(key ssh.PublicKey) string {
	return ssh.FingerprintSHA256(key)
}

// HostKeyError reports a host key that is unknown (under the strict policy) or that
// contradicts what known_hosts, a pinned host_key or a recorded fingerprint expects.
type HostKeyError struct {
	Host        string
	Port        int
	KeyType     string // offered key type, e.g. "ssh-ed25519"
	Fingerprint string // offered key, "SHA256:..."
	KeyLine     string // offered key as an authorized_keys line, ready to copy
	Expected    string // what was expected, with where it came from (mismatch only)
	Mismatch    bool
	Policy      string
	// User is the login the connection was for; it completes the user@host:port target.
	User string
	// Revoked is set when known_hosts marks the offered key @revoked.
	Revoked bool
	// Bastion is set when the host is the configured bastion, whose key is pinned in the
	// provider's bastion block rather than on a resource.
	Bastion bool
}

// target names the host as user@host:port, prefixed with "bastion" for the bastion.
func (e *HostKeyError) target() string {
	t := Target{Host: e.Host, Port: e.Port, User: e.User}.String()
	if e.Bastion {
		return "bastion " + t
	}
	return t
}

// KnownHostsLine returns the known_hosts line that trusts the offered key for this host.
func (e *HostKeyError) KnownHostsLine() string {
	return knownhosts.Normalize(net.JoinHostPort(e.Host, fmt.Sprint(e.Port))) + " " + e.KeyLine
}

// Error explains what was offered, what was expected and how to trust the key.
func (e *HostKeyError) Error() string {
	var b strings.Builder
	switch {
	case e.Revoked:
		fmt.Fprintf(&b, "host key verification failed for %s: the host offered %s key %s, which known_hosts marks @revoked; refusing to connect.\nOffered key: %s",
			e.target(), e.KeyType, e.Fingerprint, e.KeyLine)
		return b.String()
	case e.Mismatch:
		fmt.Fprintf(&b, "HOST KEY MISMATCH for %s: the host offered %s key %s, but expected %s.\n", e.target(), e.KeyType, e.Fingerprint, e.Expected)
		b.WriteString("Someone could be intercepting the connection (man-in-the-middle), or the host was reinstalled and has a new key. Refusing to connect; host_key_policy = \"accept-new\" never overrides a changed key.\n")
		fmt.Fprintf(&b, "Offered key: %s\n", e.KeyLine)
		b.WriteString("If you have verified the new key out of band, replace the old one: ")
	default:
		fmt.Fprintf(&b, "host key verification failed for %s: the host offered an unknown %s key %s and host_key_policy is %q.\n", e.target(), e.KeyType, e.Fingerprint, e.Policy)
		fmt.Fprintf(&b, "Offered key: %s\n", e.KeyLine)
		b.WriteString("To trust it after verifying the fingerprint out of band, ")
	}
	if e.Bastion {
		// Nothing records the bastion's key, so accept-new does not apply to it.
		fmt.Fprintf(&b, "add `%s` to known_hosts, or set host_key = %q in the provider's bastion block", e.KnownHostsLine(), e.KeyLine)
		if e.Mismatch {
			b.WriteString(" (and remove the stale known_hosts entry)")
		}
		b.WriteString(".")
		return b.String()
	}
	fmt.Fprintf(&b, "add `%s` to known_hosts, or set host_key = %q on the resource", e.KnownHostsLine(), e.KeyLine)
	if e.Mismatch {
		b.WriteString(" (and remove the stale known_hosts entry or recorded host_key_fingerprint).")
	} else {
		b.WriteString(", or set host_key_policy = \"accept-new\" on the provider to trust a host's first key.")
	}
	return b.String()
}

// ValidateHostKey checks a pinned host key value (a host_key attribute) as the pool parses
// it, so a configuration error shows at plan time.
func ValidateHostKey(text string) error {
	if strings.TrimSpace(text) == "" {
		return fmt.Errorf("host key %q holds no key", text)
	}
	_, err := parseHostKeyLines(text)
	return err
}

// parseHostKeyLines parses pinned keys: authorized_keys lines ("ssh-ed25519 AAAA... comment")
// or known_hosts lines with a leading host pattern, one per line. A known_hosts line with a
// marker is refused: @revoked and @cert-authority do not name a key to trust.
func parseHostKeyLines(text string) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	n := 0
	for line := range strings.SplitSeq(text, "\n") {
		n++
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "@") {
			return nil, markerError(n, line)
		}
		if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err == nil {
			keys = append(keys, k)
			continue
		}
		_, _, k, _, _, err := ssh.ParseKnownHosts([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("cannot parse host key %q: want an authorized_keys line (ssh-ed25519 AAAA...) or a known_hosts line: %w", line, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 && strings.TrimSpace(text) != "" {
		return nil, fmt.Errorf("host key %q holds no key", text)
	}
	return keys, nil
}

// markerError explains why the known_hosts line number n with a marker cannot pin a key.
func markerError(n int, line string) error {
	marker, _, _ := strings.Cut(line, " ")
	switch marker {
	case "@revoked":
		return fmt.Errorf("host key line %d is a known_hosts @revoked line, but a pinned host key lists keys to trust, "+
			"so it would trust exactly the revoked key; put @revoked lines in known_hosts or known_hosts_file, where they refuse the key", n)
	case "@cert-authority":
		return fmt.Errorf("host key line %d is a known_hosts @cert-authority line, but host certificates are not supported; "+
			"pin the host's own public key (from ssh-keyscan or cloud-init output) instead", n)
	}
	return fmt.Errorf("host key line %d starts with %q, a known_hosts marker a pinned host key does not support; "+
		"give the host's public key line (ssh-ed25519 AAAA...)", n, marker)
}

// knownHostsDB wraps knownhosts for the pool: content and file are parsed once at NewPool.
type knownHostsDB struct {
	cb      ssh.HostKeyCallback // nil when no known_hosts was given
	probe   ssh.PublicKey       // a throwaway key whose KeyError lists a host's known keys
	tmpName string              // name the inline content was parsed under
}

// source names where a known key came from for error messages.
func (db *knownHostsDB) source(k knownhosts.KnownKey) string {
	if k.Filename == db.tmpName {
		return fmt.Sprintf("known_hosts content line %d", k.Line)
	}
	return fmt.Sprintf("%s:%d", k.Filename, k.Line)
}

// newKnownHostsDB reads known_hosts content and a known_hosts file (either may be empty).
func newKnownHostsDB(content, file string) (*knownHostsDB, error) {
	var files []string
	db := &knownHostsDB{}
	if strings.TrimSpace(content) != "" {
		// knownhosts reads files only; it parses them completely inside New, so the temporary
		// copy lives only for the duration of this call.
		f, err := os.CreateTemp("", "sshx-known-hosts-*")
		if err != nil {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
		defer os.Remove(f.Name())
		_, werr := f.WriteString(content + "\n")
		cerr := f.Close()
		if err := errors.Join(werr, cerr); err != nil {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
		if err := validateKnownHosts(content); err != nil {
			return nil, err
		}
		files = append(files, f.Name())
		db.tmpName = f.Name()
	}
	if file != "" {
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("known_hosts_file: %w", err)
		}
		files = append(files, file)
	}
	if len(files) == 0 {
		return db, nil
	}
	cb, err := knownhosts.New(files...)
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	db.cb, db.probe = cb, s.PublicKey()
	return db, nil
}

// validateKnownHosts rejects known_hosts content with a line knownhosts would silently skip:
// a typo in inline content is a configuration error, not something to ignore.
func validateKnownHosts(content string) error {
	for i, line := range strings.Split(content, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, _, _, _, _, err := ssh.ParseKnownHosts([]byte(line)); err != nil {
			return fmt.Errorf("known_hosts line %d %q: %w", i+1, line, err)
		}
	}
	return nil
}

// knownKeys returns the keys known_hosts holds for addr ("host:port").
func (db *knownHostsDB) knownKeys(addr string) []knownhosts.KnownKey {
	if db.cb == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := db.cb(addr, &net.TCPAddr{}, db.probe); errors.As(err, &ke) {
		return ke.Want
	}
	return nil
}

// hostKeyAlgorithms puts the algorithms of keys we already know first, the way OpenSSH
// does, so a host with several keys offers one we can check.
func hostKeyAlgorithms(known []ssh.PublicKey) []string {
	var first []string
	for _, k := range known {
		t := k.Type()
		algos := []string{t}
		if t == ssh.KeyAlgoRSA {
			algos = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
		}
		for _, a := range algos {
			if !slices.Contains(first, a) {
				first = append(first, a)
			}
		}
	}
	if len(first) == 0 {
		return nil
	}
	out := first
	for _, a := range ssh.SupportedAlgorithms().HostKeys {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// hostKeyCheck is the host key decision for one dial.
type hostKeyCheck struct {
	policy   string
	target   Target
	bastion  bool // target is the configured bastion
	pinned   []ssh.PublicKey
	db       *knownHostsDB
	accepted *acceptedKeys
	logf     func(string, ...any)

	mu   sync.Mutex
	seen ssh.PublicKey // the key the host offered, set by callback
}

// offered returns the key the host offered, or nil before key exchange.
func (h *hostKeyCheck) offered() ssh.PublicKey {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen
}

// acceptedKeys remembers keys trusted on first use (accept-new) for the pool's lifetime.
type acceptedKeys struct {
	mu   sync.Mutex
	keys map[string]ssh.PublicKey // "host:port" -> key
}

// get returns the key accepted for addr, nil when none was.
func (a *acceptedKeys) get(addr string) ssh.PublicKey {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.keys[addr]
}

// remember stores key for addr unless another key won the race; it returns the stored key.
func (a *acceptedKeys) remember(addr string, key ssh.PublicKey) ssh.PublicKey {
	a.mu.Lock()
	defer a.mu.Unlock()
	if k, ok := a.keys[addr]; ok {
		return k
	}
	a.keys[addr] = key
	return key
}

// keysEqual reports whether a and b are the same key.
func keysEqual(a, b ssh.PublicKey) bool {
	return a.Type() == b.Type() && string(a.Marshal()) == string(b.Marshal())
}

// preferredAlgorithms returns the host key algorithms to offer for this dial.
func (h *hostKeyCheck) preferredAlgorithms() []string {
	if h.policy == PolicyInsecure {
		return nil
	}
	known := slices.Clone(h.pinned)
	if k := h.accepted.get(h.target.addr()); k != nil {
		known = append(known, k)
	}
	for _, kk := range h.db.knownKeys(h.target.addr()) {
		known = append(known, kk.Key)
	}
	return hostKeyAlgorithms(known)
}

// callback implements ssh.HostKeyCallback. Every source that knows the host (pinned
// host_key, the recorded fingerprint, known_hosts, keys accepted earlier) must agree with the
// offered key; a host no source knows is refused under strict and trusted under accept-new.
func (h *hostKeyCheck) callback(hostname string, remote net.Addr, key ssh.PublicKey) error {
	h.mu.Lock()
	h.seen = key
	h.mu.Unlock()
	fp := Fingerprint(key)
	if h.policy == PolicyInsecure {
		h.logf("host key of %s is %s %s (not checked: host_key_policy = insecure)", h.target, key.Type(), fp)
		return nil
	}
	herr := &HostKeyError{
		Host: h.target.Host, Port: h.target.Port, User: h.target.User,
		KeyType: key.Type(), Fingerprint: fp,
		KeyLine: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))),
		Policy:  h.policy, Bastion: h.bastion,
	}
	matched := false
	var expected []string
	if len(h.pinned) > 0 {
		ok := false
		var fps []string
		for _, k := range h.pinned {
			fps = append(fps, Fingerprint(k))
			ok = ok || keysEqual(k, key)
		}
		if ok {
			matched = true
		} else {
			expected = append(expected, strings.Join(fps, " or ")+" (pinned host_key)")
		}
	}
	if want := strings.TrimSpace(h.target.KnownFingerprint); want != "" {
		if want == fp {
			matched = true
		} else {
			expected = append(expected, want+" (recorded host_key_fingerprint)")
		}
	}
	if h.db.cb != nil {
		err := h.db.cb(hostname, remote, key)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case err == nil:
			matched = true
		case errors.As(err, &re):
			herr.Revoked = true
			return herr
		case errors.As(err, &ke):
			if len(ke.Want) > 0 {
				var fps []string
				for _, w := range ke.Want {
					fps = append(fps, fmt.Sprintf("%s %s (%s)", w.Key.Type(), Fingerprint(w.Key), h.db.source(w)))
				}
				expected = append(expected, strings.Join(fps, " or "))
			}
		default:
			return fmt.Errorf("check host key of %s against known_hosts: %w", h.target, err)
		}
	}
	if k := h.accepted.get(h.target.addr()); k != nil {
		if keysEqual(k, key) {
			matched = true
		} else {
			expected = append(expected, Fingerprint(k)+" (accepted earlier by this provider run)")
		}
	}
	if len(expected) > 0 {
		herr.Mismatch = true
		herr.Expected = strings.Join(expected, "; ")
		return herr
	}
	if matched {
		return nil
	}
	if h.policy == PolicyAcceptNew {
		if k := h.accepted.remember(h.target.addr(), key); !keysEqual(k, key) {
			herr.Mismatch = true
			herr.Expected = Fingerprint(k) + " (accepted earlier by this provider run)"
			return herr
		}
		h.logf("accepted new host key of %s: %s %s (host_key_policy = accept-new)", h.target, key.Type(), fp)
		return nil
	}
	return herr
}
