// Package testhost is an in-process fake SSH host for tests. It listens on 127.0.0.1 only,
// runs "exec" requests through a Go Handler and can inject the faults a real fleet shows:
// changed host keys, refused authentication, slow commands, dropped connections and reboots.
package testhost

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

// Exec describes one "exec" request handed to a Handler.
type Exec struct {
	Command, User string
	Stdin         io.Reader
	Stdout        io.Writer
	Stderr        io.Writer
}

// Handler runs one "exec" request and returns the exit status. ctx is cancelled when the client
// closes the session/sends a signal or the host drops the connection.
type Handler func(ctx context.Context, e *Exec) int

// Config configures a Host.
type Config struct {
	HostKey           ssh.Signer        // nil = generate ed25519
	AuthorizedKeys    []ssh.PublicKey   // keys accepted for every user
	Passwords         map[string]string // user -> password
	TrustedUserCAKeys []ssh.PublicKey   // accept OpenSSH user certs signed by these
	Handler           Handler           // nil = exit 127 "command not found"
	AllowForwarding   bool              // direct-tcpip to 127.0.0.0/8 only, so the host can act as a bastion
	// RawCommands hands the Handler each command exactly as received. Otherwise a command
	// the client wrapped in its deadline (sshx.WithDeadline) reaches the Handler as written,
	// with that deadline on its ctx, and exits 124 when it passes, as under timeout(1).
	RawCommands bool
}

// Host is a running fake SSH host.
type Host struct {
	cfg  Config
	port int

	mu          sync.Mutex
	ln          net.Listener
	hostKey     ssh.Signer
	conns       map[net.Conn]struct{}
	commands    []string
	refuseAuth  bool
	delay       time.Duration
	dropMatches []func(string) bool
	silent      bool
	closed      bool

	handshakes atomic.Int64
	sessions   atomic.Int64
	keepalives atomic.Int64
	wg         sync.WaitGroup
}

// New starts a Host on 127.0.0.1 with a random port and closes it when the test ends.
func New(t testing.TB, cfg Config) *Host {
	t.Helper()
	h, err := Start(cfg)
	if err != nil {
		t.Fatalf("testhost: %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// Start starts a Host on 127.0.0.1 with a random port, for use outside tests.
func Start(cfg Config) (*Host, error) {
	h := &Host{cfg: cfg, hostKey: cfg.HostKey, conns: map[net.Conn]struct{}{}}
	if h.hostKey == nil {
		s, _, err := NewSigner()
		if err != nil {
			return nil, err
		}
		h.hostKey = s
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		_ = ln.Close()
		return nil, fmt.Errorf("listen on 127.0.0.1: unexpected address type %T", ln.Addr())
	}
	h.port = addr.Port
	h.ln = ln
	h.wg.Add(1)
	go h.acceptLoop(ln)
	return h, nil
}

// Host returns the address the host listens on, always "127.0.0.1".
func (h *Host) Host() string { return "127.0.0.1" }

// Port returns the TCP port the host listens on.
func (h *Host) Port() int { return h.port }

// Addr returns "127.0.0.1:PORT".
func (h *Host) Addr() string { return net.JoinHostPort(h.Host(), strconv.Itoa(h.port)) }

// PublicKey returns the current host public key.
func (h *Host) PublicKey() ssh.PublicKey {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hostKey.PublicKey()
}

// AuthorizedKeyLine returns the host key as an authorized_keys line ("ssh-ed25519 AAAA...").
func (h *Host) AuthorizedKeyLine() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(h.PublicKey())))
}

// KnownHostsLine returns a known_hosts line for the host ("[127.0.0.1]:PORT ssh-ed25519 AAAA...").
func (h *Host) KnownHostsLine() string {
	return fmt.Sprintf("[%s]:%d %s", h.Host(), h.port, h.AuthorizedKeyLine())
}

// Fingerprint returns the SHA256 fingerprint of the current host key.
func (h *Host) Fingerprint() string { return ssh.FingerprintSHA256(h.PublicKey()) }

// SetHostKey replaces the host key for new connections (a "host key changed" fault).
func (h *Host) SetHostKey(s ssh.Signer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hostKey = s
}

// SetRefuseAuth makes every authentication attempt fail while refuse is true.
func (h *Host) SetRefuseAuth(refuse bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refuseAuth = refuse
}

// SetCommandDelay delays every command by d before its handler runs (a slow host).
func (h *Host) SetCommandDelay(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.delay = d
}

// DropConnections closes every live network connection now.
func (h *Host) DropConnections() {
	h.mu.Lock()
	conns := make([]net.Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// DropOnCommand arranges for the next command that match accepts to be dropped mid-run: its
// handler starts, then the network connection is closed before any exit status is sent.
// Each registration fires once.
func (h *Host) DropOnCommand(match func(cmd string) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropMatches = append(h.dropMatches, match)
}

// Stop stops listening and drops every connection, so clients see "connection refused" (a
// reboot). Restart brings the host back on the same port.
func (h *Host) Stop() {
	h.mu.Lock()
	ln := h.ln
	h.ln = nil
	h.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	h.DropConnections()
}

// Restart listens again on the same port after Stop.
func (h *Host) Restart() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errors.New("testhost: host is closed")
	}
	if h.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", h.Addr())
	if err != nil {
		return fmt.Errorf("testhost: listen again on %s: %w", h.Addr(), err)
	}
	h.ln = ln
	h.wg.Add(1)
	go h.acceptLoop(ln)
	return nil
}

// SetKeepaliveSilent makes the host stop answering keepalive@openssh.com requests while silent
// is true (a hung host whose TCP connection stays open).
func (h *Host) SetKeepaliveSilent(silent bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.silent = silent
}

// Keepalives returns the number of keepalive@openssh.com requests answered.
func (h *Host) Keepalives() int64 { return h.keepalives.Load() }

// Handshakes returns the number of successful SSH handshakes (authenticated connections).
func (h *Host) Handshakes() int64 { return h.handshakes.Load() }

// Sessions returns the number of session channels opened.
func (h *Host) Sessions() int64 { return h.sessions.Load() }

// Commands returns every exec'd command, in the order received.
func (h *Host) Commands() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.commands...)
}

// Close stops the host and waits for its goroutines to finish.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	h.Stop()
	h.wg.Wait()
	return nil
}

func (h *Host) acceptLoop(ln net.Listener) {
	defer h.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		h.mu.Lock()
		if h.closed || h.ln != ln {
			// Stopped between Accept and here: behave as if the connection never came.
			h.mu.Unlock()
			_ = c.Close()
			return
		}
		h.conns[c] = struct{}{}
		h.wg.Add(1)
		h.mu.Unlock()
		go func() {
			defer h.wg.Done()
			h.serveConn(c)
			h.mu.Lock()
			delete(h.conns, c)
			h.mu.Unlock()
			_ = c.Close()
		}()
	}
}

func (h *Host) serverConfig() *ssh.ServerConfig {
	h.mu.Lock()
	key := h.hostKey
	h.mu.Unlock()
	checker := &ssh.CertChecker{
		IsUserAuthority: func(auth ssh.PublicKey) bool {
			for _, k := range h.cfg.TrustedUserCAKeys {
				if keyEqual(k, auth) {
					return true
				}
			}
			return false
		},
		UserKeyFallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			for _, k := range h.cfg.AuthorizedKeys {
				if keyEqual(k, key) {
					return &ssh.Permissions{}, nil
				}
			}
			return nil, errors.New("testhost: public key not authorized")
		},
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if h.refusing() {
				return nil, errors.New("testhost: authentication refused")
			}
			return checker.Authenticate(meta, key)
		},
		PasswordCallback: func(meta ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if h.refusing() {
				return nil, errors.New("testhost: authentication refused")
			}
			want, ok := h.cfg.Passwords[meta.User()]
			if ok && want == string(pw) {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("testhost: wrong password")
		},
	}
	cfg.AddHostKey(key)
	return cfg
}

func (h *Host) refusing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.refuseAuth
}

func keyEqual(a, b ssh.PublicKey) bool {
	return a.Type() == b.Type() && string(a.Marshal()) == string(b.Marshal())
}

func (h *Host) serveConn(c net.Conn) {
	// A client that never finishes the handshake must not pin the goroutine forever.
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	sconn, chans, reqs, err := ssh.NewServerConn(c, h.serverConfig())
	if err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	h.handshakes.Add(1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for req := range reqs {
			keepalive := req.Type == "keepalive@openssh.com"
			if keepalive {
				h.mu.Lock()
				silent := h.silent
				h.mu.Unlock()
				if silent {
					continue
				}
				h.keepalives.Add(1)
			}
			// Every global request gets an answer, as OpenSSH does.
			if req.WantReply {
				_ = req.Reply(keepalive, nil)
			}
		}
	}()
	for nc := range chans {
		switch nc.ChannelType() {
		case "session":
			ch, creqs, err := nc.Accept()
			if err != nil {
				continue
			}
			h.sessions.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				h.serveSession(ctx, c, sconn.User(), ch, creqs)
			}()
		case "direct-tcpip":
			if !h.cfg.AllowForwarding {
				_ = nc.Reject(ssh.Prohibited, "port forwarding is disabled")
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				h.forward(ctx, nc)
			}()
		default:
			_ = nc.Reject(ssh.UnknownChannelType, "unknown channel type")
		}
	}
	cancel()
	_ = sconn.Close()
	wg.Wait()
}

// forward serves a direct-tcpip channel (RFC 4254 7.2), dialling loopback targets only.
func (h *Host) forward(ctx context.Context, nc ssh.NewChannel) {
	var p struct {
		Host       string
		Port       uint32
		OriginHost string
		OriginPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &p); err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, "malformed direct-tcpip request")
		return
	}
	ip := net.ParseIP(p.Host)
	if p.Host == "localhost" {
		ip = net.IPv4(127, 0, 0, 1)
	}
	if ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		_ = nc.Reject(ssh.Prohibited, "testhost forwards to 127.0.0.0/8 only")
		return
	}
	var d net.Dialer
	target, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip.String(), strconv.Itoa(int(p.Port))))
	if err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		_ = target.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(target, ch)
		if tc, ok := target.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(ch, target)
		_ = ch.CloseWrite()
		done <- struct{}{}
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	_ = ch.Close()
	_ = target.Close()
	<-done
}

func (h *Host) serveSession(connCtx context.Context, netConn net.Conn, user string, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer func() {
		_ = ch.Close()
		go ssh.DiscardRequests(reqs)
	}()
	ctx, cancel := context.WithCancel(connCtx)
	defer cancel()
	exitCh := make(chan int, 1)
	started := false
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				// The client closed the channel (or the connection is gone).
				cancel()
				if started {
					<-exitCh
				}
				return
			}
			switch req.Type {
			case "exec":
				if started {
					_ = req.Reply(false, nil)
					continue
				}
				var p struct{ Command string }
				if err := ssh.Unmarshal(req.Payload, &p); err != nil {
					_ = req.Reply(false, nil)
					continue
				}
				started = true
				_ = req.Reply(true, nil)
				go func() {
					exitCh <- h.runCommand(ctx, netConn, user, p.Command, ch)
				}()
			case "signal":
				cancel()
				if req.WantReply {
					_ = req.Reply(true, nil)
				}
			case "env", "pty-req":
				if req.WantReply {
					_ = req.Reply(true, nil)
				}
			default:
				if req.WantReply {
					_ = req.Reply(false, nil)
				}
			}
		case code := <-exitCh:
			if code < 0 {
				// The connection was dropped on purpose: no exit status.
				return
			}
			_ = ch.CloseWrite()
			status := make([]byte, 4)
			binary.BigEndian.PutUint32(status, uint32(code))
			_, _ = ch.SendRequest("exit-status", false, status)
			return
		}
	}
}

// runCommand returns the exit status, or -1 when the connection was dropped on purpose.
func (h *Host) runCommand(ctx context.Context, netConn net.Conn, user, cmd string, ch ssh.Channel) int {
	if inner, limit, ok := sshx.ParseDeadline(cmd); ok && !h.cfg.RawCommands {
		dctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		code := h.runCommand(dctx, netConn, user, inner, ch)
		if code >= 0 && ctx.Err() == nil && errors.Is(dctx.Err(), context.DeadlineExceeded) {
			return 124
		}
		return code
	}
	h.mu.Lock()
	h.commands = append(h.commands, cmd)
	delay := h.delay
	drop := false
	for i, m := range h.dropMatches {
		if m(cmd) {
			drop = true
			h.dropMatches = append(h.dropMatches[:i:i], h.dropMatches[i+1:]...)
			break
		}
	}
	h.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 130
		}
	}
	e := &Exec{Command: cmd, User: user, Stdin: ch, Stdout: ch, Stderr: ch.Stderr()}
	handler := h.cfg.Handler
	if handler == nil {
		handler = func(_ context.Context, e *Exec) int {
			fmt.Fprintf(e.Stderr, "sh: 1: %s: not found\n", firstWord(e.Command))
			return 127
		}
	}
	if !drop {
		return handler(ctx, e)
	}
	started := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		close(started)
		handler(ctx, e)
	}()
	<-started
	_ = netConn.Close()
	<-finished
	return -1
}

func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return s
	}
	return f[0]
}
