package sshx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// errPoolClosed is returned by calls made after Close.
var errPoolClosed = errors.New("ssh connection pool is closed")

// singleAttemptKey marks a context of SingleAttempt.
type singleAttemptKey struct{}

// SingleAttempt returns ctx marked so that a connection dialled for a call under it makes one
// attempt, bounded by Config.SingleAttemptTimeout, and is never retried: for callers that
// expect the host to be up already (a refresh, a destroy), so that a dead host fails fast. A
// call without the mark that finds such a dial failed dials again with its own retries.
func SingleAttempt(ctx context.Context) context.Context {
	return context.WithValue(ctx, singleAttemptKey{}, true)
}

// isSingleAttempt reports whether ctx is marked by SingleAttempt.
func isSingleAttempt(ctx context.Context) bool {
	v, _ := ctx.Value(singleAttemptKey{}).(bool)
	return v
}

// connKey identifies one pooled connection. The bastion has its own key, shared pool-wide.
type connKey struct {
	host    string
	port    int
	user    string
	bastion bool
}

// conn is one pooled SSH connection. ready is closed once the dial finished; then exactly one
// of client and err is set and never changes.
type conn struct {
	key    connKey
	target Target
	ready  chan struct{}
	dead   chan struct{} // closed when client's connection ended
	sem    chan struct{} // session slots

	client      *ssh.Client
	hostKey     ssh.PublicKey
	fingerprint string
	err         error
	// dialerGaveUp is set when the dial failed because the dialling caller's ctx ended;
	// waiters with a live ctx then dial themselves instead of inheriting that failure.
	dialerGaveUp bool
	// singleAttempt is set when the dial made one attempt only (SingleAttempt); a waiter
	// that may retry then dials itself instead of inheriting its failure.
	singleAttempt bool
}

// isDead reports whether the connection has been closed or lost.
func (c *conn) isDead() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

// Pool runs commands over pooled SSH connections: one per (host, port, user), opened lazily,
// shared by every caller, with at most Config.MaxSessions sessions at a time on each. It is
// safe for concurrent use.
type Pool struct {
	cfg         Config
	auth        *authSet
	bastionAuth *authSet
	bastionPins []ssh.PublicKey
	known       *knownHostsDB
	accepted    *acceptedKeys
	logf        func(string, ...any)

	mu     sync.Mutex
	conns  map[connKey]*conn
	closed bool
	wg     sync.WaitGroup

	handshakes atomic.Int64
	sessions   atomic.Int64
}

// NewPool validates cfg eagerly (keys, passphrase, certificate, known_hosts, policy) and
// returns a Pool that has not connected anywhere yet.
func NewPool(cfg Config) (*Pool, error) {
	if cfg.Agent && cfg.AgentSocket == "" {
		cfg.AgentSocket = os.Getenv("SSH_AUTH_SOCK")
	}
	if err := cfg.applyDefaults(); err != nil {
		return nil, fmt.Errorf("ssh configuration: %w", err)
	}
	p := &Pool{
		cfg:      cfg,
		conns:    map[connKey]*conn{},
		accepted: &acceptedKeys{keys: map[string]ssh.PublicKey{}},
		logf:     cfg.Logf,
	}
	if p.logf == nil {
		p.logf = func(string, ...any) {}
	}
	var err error
	if p.auth, err = newAuthSet(&cfg); err != nil {
		return nil, fmt.Errorf("ssh configuration: %w", err)
	}
	if b := cfg.Bastion; b != nil {
		p.bastionAuth = p.auth
		if b.PrivateKey != "" || b.Password != "" {
			bc := Config{PrivateKey: b.PrivateKey, Password: b.Password}
			if p.bastionAuth, err = newAuthSet(&bc); err != nil {
				return nil, fmt.Errorf("ssh configuration: bastion %s: %w", p.bastionTarget(), err)
			}
		}
		if b.HostKey != "" {
			if p.bastionPins, err = parseHostKeyLines(b.HostKey); err != nil {
				return nil, fmt.Errorf("ssh configuration: bastion %s: %w", p.bastionTarget(), err)
			}
		}
	}
	if p.known, err = newKnownHostsDB(cfg.KnownHosts, cfg.KnownHostsFile); err != nil {
		return nil, fmt.Errorf("ssh configuration: %w", err)
	}
	if err := p.checkBastionKnown(); err != nil {
		return nil, fmt.Errorf("ssh configuration: %w", err)
	}
	return p, nil
}

// checkBastionKnown refuses a bastion whose key nothing vouches for under accept-new: no
// state records the bastion's key, so trusting its first key would trust whatever key it
// offers on every run. It must be pinned (Bastion.HostKey) or in known_hosts.
func (p *Pool) checkBastionKnown() error {
	if p.cfg.Bastion == nil || p.cfg.HostKeyPolicy != PolicyAcceptNew || len(p.bastionPins) > 0 {
		return nil
	}
	bt := p.bastionTarget()
	if len(p.known.knownKeys(bt.addr())) > 0 {
		return nil
	}
	return fmt.Errorf("bastion %s: host_key_policy %q does not apply to the bastion, because no state records its key "+
		"(every run would trust whatever key it offers); set host_key in the bastion block to its public key line, "+
		"or add its key to known_hosts or known_hosts_file", bt, PolicyAcceptNew)
}

// bastionTarget is the configured bastion as a target.
func (p *Pool) bastionTarget() Target {
	b := p.cfg.Bastion
	return Target{Host: b.Host, Port: b.Port, User: b.User, HostKey: b.HostKey}
}

// resolve applies the pool defaults to t.
func (p *Pool) resolve(t Target) Target { return p.Resolve(t) }

// Resolve returns t as the pool connects to it: the configuration's user and port where t
// leaves them unset, and KnownFingerprint kept only under host_key_policy accept-new and
// without a pinned HostKey. Under strict, known_hosts and HostKey are the truth, so a host
// whose key was legitimately rotated there is not refused because of an old recorded
// fingerprint; a pinned key is the only key accepted.
func (p *Pool) Resolve(t Target) Target {
	if t.Port == 0 {
		t.Port = p.cfg.Port
	}
	if t.User == "" {
		t.User = p.cfg.User
	}
	if p.cfg.HostKeyPolicy != PolicyAcceptNew || t.HostKey != "" {
		t.KnownFingerprint = ""
	}
	return t
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	return Stats{Handshakes: p.handshakes.Load(), Sessions: p.sessions.Load()}
}

// Close closes every connection and waits for the pool's goroutines. Commands still running
// fail with ErrConnectionLost.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	var clients []*ssh.Client
	for _, c := range p.conns {
		select {
		case <-c.ready:
			if c.client != nil {
				clients = append(clients, c.client)
			}
		default:
			// Still dialling: establish sees p.closed and closes it.
		}
	}
	p.mu.Unlock()
	for _, c := range clients {
		_ = c.Close()
	}
	p.wg.Wait()
	return nil
}

// Fingerprint connects to t if needed and returns the SHA256 fingerprint of the host key of
// that connection; under accept-new this is the key to record in state.
func (p *Pool) Fingerprint(ctx context.Context, t Target) (string, error) {
	t = p.resolve(t)
	c, err := p.conn(ctx, connKey{host: t.Host, port: t.Port, user: t.User}, t)
	if err != nil {
		return "", err
	}
	return c.fingerprint, nil
}

// conn returns the live pooled connection for k, dialling it once however many callers ask
// at the same time.
func (p *Pool) conn(ctx context.Context, k connKey, t Target) (*conn, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, fmt.Errorf("connect to %s: %w", t, errPoolClosed)
		}
		c := p.conns[k]
		if c == nil {
			c = &conn{
				key: k, target: t,
				ready: make(chan struct{}), dead: make(chan struct{}),
				sem: make(chan struct{}, p.cfg.MaxSessions),
			}
			p.conns[k] = c
			p.mu.Unlock()
			p.establish(ctx, c)
			if c.err != nil {
				return nil, c.err
			}
			return c, nil
		}
		p.mu.Unlock()
		select {
		case <-c.ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to %s: %w", t, ctx.Err())
		}
		switch {
		case c.err != nil && c.dialerGaveUp && ctx.Err() == nil:
			continue
		case c.err != nil && c.singleAttempt && !isSingleAttempt(ctx) && ctx.Err() == nil:
			continue
		case c.err != nil:
			return nil, c.err
		case c.isDead():
			p.drop(c)
			continue
		}
		if err := p.checkReused(c, t); err != nil {
			return nil, err
		}
		return c, nil
	}
}

// checkReused refuses a pooled connection, dialled for another target to the same host,
// port and user, whose host key does not satisfy t's own rules: the key goes through the
// same check as at dial time with t's pinned host_key, its recorded fingerprint (under
// accept-new), known_hosts and the policy. A connection that would not have been accepted
// for t is never used for it. The bastion connection has one target, checked when dialled.
func (p *Pool) checkReused(c *conn, t Target) error {
	if c.key.bastion {
		return nil
	}
	check, err := p.hostKeyCheck(c.key, t)
	if err != nil {
		return err
	}
	// The client's remote address is the one the dial's check saw (ssh.NewClientConn passes
	// the connection's RemoteAddr to the callback).
	return check.callback(t.addr(), c.client.RemoteAddr(), c.hostKey)
}

// hostKeyCheck returns the host key decision for connecting to t: the bastion's pins for
// the bastion, t's pinned host_key otherwise.
func (p *Pool) hostKeyCheck(k connKey, t Target) (*hostKeyCheck, error) {
	pins := p.bastionPins
	if !k.bastion {
		var err error
		if pins, err = parseHostKeyLines(t.HostKey); err != nil {
			return nil, fmt.Errorf("connect to %s: %w", t, err)
		}
	}
	return &hostKeyCheck{policy: p.cfg.HostKeyPolicy, target: t, bastion: k.bastion, pinned: pins, db: p.known, accepted: p.accepted, logf: p.logf}, nil
}

// drop forgets c (if it is still the pooled connection for its key) and closes it.
func (p *Pool) drop(c *conn) {
	p.mu.Lock()
	if p.conns[c.key] == c {
		delete(p.conns, c.key)
	}
	p.mu.Unlock()
	if c.client != nil {
		_ = c.client.Close()
	}
}

// establish dials c (with retries) and publishes the result to everyone waiting on it.
func (p *Pool) establish(ctx context.Context, c *conn) {
	client, key, err := p.dialWithRetry(ctx, c.key, c.target)
	p.mu.Lock()
	if err == nil && p.closed {
		_ = client.Close()
		err = fmt.Errorf("connect to %s: %w", c.target, errPoolClosed)
	}
	if err != nil {
		c.err = err
		c.dialerGaveUp = ctx.Err() != nil
		c.singleAttempt = isSingleAttempt(ctx)
		if p.conns[c.key] == c {
			delete(p.conns, c.key)
		}
		p.mu.Unlock()
		close(c.ready)
		return
	}
	c.client, c.hostKey, c.fingerprint = client, key, Fingerprint(key)
	p.wg.Add(1)
	go p.watch(c)
	if iv := p.cfg.KeepaliveInterval; iv > 0 {
		p.wg.Add(1)
		go p.keepalive(c, iv)
	}
	p.mu.Unlock()
	close(c.ready)
}

// watch marks c dead and forgets it when its connection ends, so the next use redials.
func (p *Pool) watch(c *conn) {
	defer p.wg.Done()
	err := c.client.Wait()
	close(c.dead)
	p.mu.Lock()
	if p.conns[c.key] == c {
		delete(p.conns, c.key)
	}
	closed := p.closed
	p.mu.Unlock()
	if !closed {
		p.logf("ssh connection to %s ended: %v", c.target, err)
	}
}

// keepalive sends keepalive@openssh.com every interval; a request that fails or gets no
// answer within the interval closes the connection, so the next use redials.
func (p *Pool) keepalive(c *conn, interval time.Duration) {
	defer p.wg.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-c.dead:
			return
		case <-tick.C:
		}
		res := make(chan error, 1)
		go func() {
			_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
			res <- err
		}()
		timer := time.NewTimer(interval)
		var err error
		select {
		case err = <-res:
		case <-timer.C:
			err = fmt.Errorf("no answer within %s", interval)
		case <-c.dead:
			timer.Stop()
			return
		}
		timer.Stop()
		if err != nil {
			p.logf("keepalive to %s failed: %v; closing the connection", c.target, err)
			_ = c.client.Close()
			return
		}
	}
}

// retryableError marks dial failures worth another attempt.
type retryableError struct{ err error }

// Error returns the wrapped error's text.
func (e *retryableError) Error() string { return e.err.Error() }

// Unwrap returns the wrapped error.
func (e *retryableError) Unwrap() error { return e.err }

// dialWithRetry dials t, retrying retryable failures ConnectRetries times with a doubling
// backoff; under SingleAttempt it makes one attempt bounded by SingleAttemptTimeout.
func (p *Pool) dialWithRetry(ctx context.Context, k connKey, t Target) (*ssh.Client, ssh.PublicKey, error) {
	backoff := min(p.cfg.RetryBackoff, MaxRetryBackoff)
	attempts, timeout := 1+p.cfg.ConnectRetries, p.cfg.ConnectTimeout
	if isSingleAttempt(ctx) {
		attempts, timeout = 1, p.cfg.SingleAttemptTimeout
	}
	for i := 1; ; i++ {
		client, key, err := p.dialOnce(ctx, k, t, timeout)
		if err == nil {
			return client, key, nil
		}
		var re *retryableError
		retryable := errors.As(err, &re)
		if retryable {
			err = re.err
		}
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("connect to %s: %w (last error: %v)", t, ctx.Err(), err)
		}
		if !retryable {
			return nil, nil, err
		}
		if i >= attempts {
			if attempts > 1 {
				return nil, nil, fmt.Errorf("connect to %s: giving up after %d attempts: %w", t, attempts, err)
			}
			return nil, nil, err // it names t already
		}
		p.logf("connect to %s failed (attempt %d of %d): %v; retrying in %s", t, i, attempts, err, backoff)
		timer := time.NewTimer(backoff)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, nil, fmt.Errorf("connect to %s: %w (last error: %v)", t, ctx.Err(), err)
		}
		backoff = min(2*backoff, MaxRetryBackoff)
	}
}

// dialOnce makes one connection attempt, bounded by timeout. Errors worth retrying come back
// as *retryableError.
func (p *Pool) dialOnce(ctx context.Context, k connKey, t Target, timeout time.Duration) (*ssh.Client, ssh.PublicKey, error) {
	auth := p.auth
	if k.bastion {
		auth = p.bastionAuth
	}
	check, err := p.hostKeyCheck(k, t)
	if err != nil {
		return nil, nil, err
	}

	attemptCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var nc net.Conn
	if p.cfg.Bastion != nil && !k.bastion {
		if nc, err = p.dialViaBastion(ctx, attemptCtx, t); err != nil {
			return nil, nil, err
		}
	} else {
		var d net.Dialer
		nc, err = d.DialContext(attemptCtx, "tcp", t.addr())
		if err != nil {
			return nil, nil, &retryableError{fmt.Errorf("connect to %s: %w", t, err)}
		}
	}

	methods, cleanup := auth.methods(p.logf)
	defer cleanup()
	config := &ssh.ClientConfig{
		User:              t.User,
		Auth:              methods,
		HostKeyCallback:   check.callback,
		HostKeyAlgorithms: check.preferredAlgorithms(),
	}
	// The handshake has no context of its own: closing the connection aborts it.
	stop := context.AfterFunc(attemptCtx, func() { _ = nc.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(nc, t.addr(), config)
	aborted := !stop()
	if err != nil {
		_ = nc.Close()
		var hk *HostKeyError
		switch {
		case errors.As(err, &hk):
			return nil, nil, hk
		case check.offered() != nil && !aborted:
			// Past key exchange: authentication or a protocol problem, not worth retrying.
			if isAuthFailure(err) {
				return nil, nil, fmt.Errorf("connect to %s: authentication failed (tried %s): %w", t, auth.describe(), err)
			}
			return nil, nil, fmt.Errorf("connect to %s: %w", t, err)
		case aborted && ctx.Err() == nil:
			return nil, nil, &retryableError{fmt.Errorf("connect to %s: SSH handshake timed out after %s: %w", t, timeout, err)}
		case aborted:
			return nil, nil, fmt.Errorf("connect to %s: %w", t, ctx.Err())
		case isTransient(err):
			return nil, nil, &retryableError{fmt.Errorf("connect to %s: %w", t, err)}
		default:
			return nil, nil, fmt.Errorf("connect to %s: %w", t, err)
		}
	}
	if aborted {
		_ = sc.Close()
		return nil, nil, &retryableError{fmt.Errorf("connect to %s: SSH handshake timed out after %s", t, timeout)}
	}
	p.handshakes.Add(1)
	key := check.offered()
	p.logf("connected to %s (host key %s)", t, Fingerprint(key))
	return ssh.NewClient(sc, chans, reqs), key, nil
}

// dialViaBastion opens a TCP channel to t through the pooled bastion connection. A bastion
// connection that turns out to be dead is dropped and redialled once, transparently.
func (p *Pool) dialViaBastion(ctx, attemptCtx context.Context, t Target) (net.Conn, error) {
	bt := p.bastionTarget()
	bk := connKey{host: bt.Host, port: bt.Port, user: bt.User, bastion: true}
	for redialled := false; ; redialled = true {
		// The bastion connection retries on its own; its failure ends this dial.
		bastion, err := p.conn(ctx, bk, bt)
		if err != nil {
			return nil, fmt.Errorf("connect to %s through bastion: %w", t, err)
		}
		nc, err := bastion.client.DialContext(attemptCtx, "tcp", t.addr())
		if err == nil {
			return nc, nil
		}
		err = fmt.Errorf("connect to %s through bastion %s: %w", t, bastion.target, err)
		var oce *ssh.OpenChannelError
		switch {
		case errors.As(err, &oce) && oce.Reason == ssh.Prohibited:
			return nil, err
		case errors.As(err, &oce):
			// The bastion could not reach the target (refused, unreachable): retry later.
			return nil, &retryableError{err}
		case attemptCtx.Err() != nil:
			return nil, &retryableError{err}
		}
		p.drop(bastion)
		if redialled {
			return nil, &retryableError{err}
		}
		p.logf("bastion connection %s is broken (%v); redialling", bastion.target, err)
	}
}

// isAuthFailure reports whether the server refused every authentication method.
func isAuthFailure(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "unable to authenticate") || strings.Contains(msg, "no supported methods remain")
}

// isTransient reports errors that happen while a host is booting or restarting sshd.
func isTransient(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || isTimeout(err)
}

// isTimeout reports network timeouts.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
