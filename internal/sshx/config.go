package sshx

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Host-key policies accepted in Config.HostKeyPolicy.
const (
	PolicyStrict    = "strict"
	PolicyAcceptNew = "accept-new"
	PolicyInsecure  = "insecure"
)

// ErrConnectionLost is wrapped by errors of commands that were running when the connection
// dropped; such a command may or may not have run, and it is never re-run automatically.
var ErrConnectionLost = errors.New("ssh connection lost while the command was running")

// Defaults applied by NewPool to zero Config fields.
const (
	DefaultUser           = "root"
	DefaultPort           = 22
	DefaultConnectTimeout = 30 * time.Second
	DefaultRetryBackoff   = time.Second
	DefaultMaxSessions    = 8
	// DefaultSingleAttemptTimeout bounds a SingleAttempt dial when ConnectTimeout is longer.
	DefaultSingleAttemptTimeout = 10 * time.Second
	// MaxRetryBackoff caps the exponential backoff between connection attempts.
	MaxRetryBackoff = 10 * time.Second
)

// Bastion is a jump host every target connection goes through.
type Bastion struct {
	Host string
	Port int    // default 22
	User string // default Config.User
	// PrivateKey and Password authenticate to the bastion; when both are empty the main
	// Config authentication is used.
	PrivateKey, Password string
	// HostKey pins the bastion's key (authorized_keys or known_hosts line); when empty the
	// pool's known_hosts and policy apply.
	HostKey string
}

// Config configures a Pool. Zero values take the documented defaults.
type Config struct {
	User string // default "root"
	Port int    // default 22

	PrivateKey, PrivateKeyPassphrase, Certificate, Password string

	Agent       bool
	AgentSocket string // default $SSH_AUTH_SOCK

	KnownHosts     string // known_hosts content
	KnownHostsFile string // path; "" = none (DefaultKnownHostsFile gives OpenSSH's default)
	HostKeyPolicy  string // default strict

	Bastion *Bastion
	Sudo    bool

	ConnectTimeout time.Duration // default 30s, per attempt
	// SingleAttemptTimeout bounds the one attempt of a dial under SingleAttempt; default
	// ConnectTimeout, at most DefaultSingleAttemptTimeout.
	SingleAttemptTimeout time.Duration
	ConnectRetries       int           // attempts after the first; default 0
	RetryBackoff         time.Duration // default 1s, doubled per attempt up to 10s
	KeepaliveInterval    time.Duration // 0 = off
	MaxSessions          int           // per connection, default 8

	// Logf is an optional debug logger; it never receives secrets.
	Logf func(format string, args ...any)
}

// Target is one host commands run on.
type Target struct {
	Host string
	Port int    // 0 = Config.Port
	User string // "" = Config.User

	HostKey          string // pinned key line, optional
	KnownFingerprint string // "SHA256:..." from state, optional
}

// String returns "user@host:port".
func (t Target) String() string {
	return t.User + "@" + net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
}

func (t Target) addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// Stats counts the work a Pool has done.
type Stats struct {
	Handshakes int64 // successful client connections made (targets and bastion)
	Sessions   int64 // sessions opened
}

// Result is the outcome of a command that ran to completion.
type Result struct {
	Stdout, Stderr string
	ExitCode       int // -1 when killed by a signal or unknown
}

// Command is one remote command.
type Command struct {
	Cmd   string
	Stdin io.Reader // optional
	// OnStdoutLine and OnStderrLine, when set, are called with each line (without its
	// newline) as it arrives; calls for one stream are sequential.
	OnStdoutLine, OnStderrLine func(line string)
}

// applyDefaults fills the zero fields with the package defaults and checks the ranges.
func (c *Config) applyDefaults() error {
	if c.User == "" {
		c.User = DefaultUser
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("port %d is out of range 1-65535", c.Port)
	}
	switch c.HostKeyPolicy {
	case "":
		c.HostKeyPolicy = PolicyStrict
	case PolicyStrict, PolicyAcceptNew, PolicyInsecure:
	default:
		return fmt.Errorf("host key policy %q is not one of %q, %q, %q", c.HostKeyPolicy, PolicyStrict, PolicyAcceptNew, PolicyInsecure)
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.ConnectTimeout < 0 {
		return fmt.Errorf("connect timeout %s is negative", c.ConnectTimeout)
	}
	if c.SingleAttemptTimeout == 0 {
		c.SingleAttemptTimeout = min(c.ConnectTimeout, DefaultSingleAttemptTimeout)
	}
	if c.SingleAttemptTimeout < 0 {
		return fmt.Errorf("single attempt timeout %s is negative", c.SingleAttemptTimeout)
	}
	if c.ConnectRetries < 0 {
		return fmt.Errorf("connect retries %d is negative", c.ConnectRetries)
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.RetryBackoff < 0 {
		return fmt.Errorf("retry backoff %s is negative", c.RetryBackoff)
	}
	if c.KeepaliveInterval < 0 {
		return fmt.Errorf("keepalive interval %s is negative", c.KeepaliveInterval)
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.MaxSessions < 0 {
		return fmt.Errorf("max sessions %d is negative", c.MaxSessions)
	}
	if c.Bastion != nil {
		b := *c.Bastion
		if b.Host == "" {
			return errors.New("bastion host is empty")
		}
		if b.Port == 0 {
			b.Port = DefaultPort
		}
		if b.Port < 0 || b.Port > 65535 {
			return fmt.Errorf("bastion port %d is out of range 1-65535", b.Port)
		}
		if b.User == "" {
			b.User = c.User
		}
		c.Bastion = &b
	}
	return nil
}

// DefaultKnownHostsFile returns ~/.ssh/known_hosts when it exists, else "": the file OpenSSH
// reads when none is configured.
func DefaultKnownHostsFile() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	def := filepath.Join(home, ".ssh", "known_hosts")
	if _, err := os.Stat(def); err != nil {
		return ""
	}
	return def
}

// MaxOutputBytes caps what Exec keeps of each of a command's standard output and standard
// error; a command that prints more is stopped and fails with ErrOutputTooLarge.
const MaxOutputBytes = 4 << 20

// ErrOutputTooLarge is wrapped by the error of a command whose output exceeded MaxOutputBytes.
var ErrOutputTooLarge = errors.New("command output exceeds the limit")
