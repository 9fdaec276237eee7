package sshx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// cancelGrace bounds how long a cancelled command waits for the host to close its session
// before Exec returns anyway.
const cancelGrace = 2 * time.Second

// Run runs cmd on t and returns its output and exit code; see Exec.
func (p *Pool) Run(ctx context.Context, t Target, cmd string) (stdout, stderr string, exitCode int, err error) {
	r, err := p.Exec(ctx, t, Command{Cmd: cmd})
	return r.Stdout, r.Stderr, r.ExitCode, err
}

// Exec runs c on t over the pooled connection. A non-zero exit status is not an error: it is
// reported in Result.ExitCode. A command interrupted by a dropped connection returns an error
// wrapping ErrConnectionLost and is never re-run. When ctx ends, the command is signalled,
// its session closed, and the error wraps ctx.Err().
func (p *Pool) Exec(ctx context.Context, t Target, c Command) (Result, error) {
	t = p.resolve(t)
	if err := ctx.Err(); err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("run command on %s: %w", t, err)
	}
	cmd := c.Cmd
	if p.cfg.Sudo {
		cmd = sudoWrap(cmd)
	}
	cn, sess, err := p.session(ctx, t)
	if err != nil {
		return Result{ExitCode: -1}, err
	}
	defer func() { <-cn.sem }()
	defer sess.Close()

	stdout := &lineWriter{onLine: c.OnStdoutLine}
	stderr := &lineWriter{onLine: c.OnStderrLine}
	sess.Stdout, sess.Stderr = stdout, stderr
	if c.Stdin != nil {
		sess.Stdin = c.Stdin
	}
	result := func(code int) Result {
		stdout.finish()
		stderr.finish()
		return Result{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: code}
	}
	if err := sess.Start(cmd); err != nil {
		if cn.isDead() || errors.Is(err, io.EOF) {
			return result(-1), fmt.Errorf("run command on %s: %w: %w", t, ErrConnectionLost, err)
		}
		return result(-1), fmt.Errorf("run command on %s: the host refused to start it: %w", t, err)
	}
	// done is closed once Wait returns; waitErr is written before the close, so reading it
	// after a receive from done is race-free. After a cancellation Wait's outcome is
	// irrelevant (the context error is reported) and waitErr is never read.
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = sess.Wait()
		close(done)
	}()
	select {
	case <-done:
		err = waitErr
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGTERM)
		_ = sess.Close()
		timer := time.NewTimer(cancelGrace)
		select {
		case <-done:
		case <-timer.C:
		}
		timer.Stop()
		r := result(-1)
		return r, fmt.Errorf("run command on %s: %w", t, ctx.Err())
	}

	var exitErr *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return result(0), nil
	case errors.As(err, &exitErr):
		if exitErr.Signal() != "" {
			return result(-1), nil
		}
		return result(exitErr.ExitStatus()), nil
	case errors.As(err, &missing):
		return result(-1), fmt.Errorf("run command on %s: %w (the session closed without an exit status; the command may or may not have run)", t, ErrConnectionLost)
	case cn.isDead():
		return result(-1), fmt.Errorf("run command on %s: %w: %w", t, ErrConnectionLost, err)
	default:
		return result(-1), fmt.Errorf("run command on %s: %w", t, err)
	}
}

// session returns a new session on t's pooled connection with a session slot held (the
// caller releases cn.sem). A connection found dead is dropped and redialled once.
func (p *Pool) session(ctx context.Context, t Target) (*conn, *ssh.Session, error) {
	k := connKey{host: t.Host, port: t.Port, user: t.User}
	redialled := false
	for {
		cn, err := p.conn(ctx, k, t)
		if err != nil {
			return nil, nil, err
		}
		select {
		case cn.sem <- struct{}{}:
		case <-cn.dead:
			// It died while we waited for a slot; the next conn call redials.
			p.drop(cn)
			continue
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("open session on %s: waiting for one of %d session slots: %w", t, p.cfg.MaxSessions, ctx.Err())
		}
		sess, err := newSession(ctx, cn.client)
		if err == nil {
			p.sessions.Add(1)
			return cn, sess, nil
		}
		<-cn.sem
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("open session on %s: %w", t, ctx.Err())
		}
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) {
			// The connection works; the host refused a session (e.g. its MaxSessions).
			return nil, nil, fmt.Errorf("open session on %s: %w", t, err)
		}
		p.drop(cn)
		if redialled {
			return nil, nil, fmt.Errorf("open session on %s after redialling: %w", t, err)
		}
		p.logf("ssh connection to %s is broken (%v); redialling", t, err)
		redialled = true
	}
}

// newSession opens a session, giving up when ctx ends; a session that arrives after that is
// closed.
func newSession(ctx context.Context, client *ssh.Client) (*ssh.Session, error) {
	type result struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := client.NewSession()
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.s != nil {
				_ = r.s.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// lineWriter collects a stream and calls onLine for each complete line as it arrives.
type lineWriter struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	pending  []byte // bytes after the last newline
	onLine   func(string)
	finished bool
}

// copyBufs holds the buffers ReadFrom reads a stream through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// ReadFrom reads r to EOF into w. x/crypto/ssh copies each session's stdout and stderr
// with io.Copy, which would otherwise allocate a 32 KiB buffer per stream and command; this
// one comes from a pool.
func (w *lineWriter) ReadFrom(r io.Reader) (int64, error) {
	bp, _ := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var n int64
	for {
		k, err := r.Read(buf)
		if k > 0 {
			_, _ = w.Write(buf[:k])
			n += int64(k)
		}
		switch {
		case errors.Is(err, io.EOF):
			return n, nil
		case err != nil:
			return n, err
		}
	}
}

// Write keeps b and hands every completed line to onLine.
func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	if w.onLine == nil || w.finished {
		return len(b), nil
	}
	w.pending = append(w.pending, b...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			break
		}
		w.onLine(strings.TrimSuffix(string(w.pending[:i]), "\r"))
		w.pending = w.pending[i+1:]
	}
	return len(b), nil
}

// finish reports a trailing partial line and stops further callbacks, so none run after
// Exec returned.
func (w *lineWriter) finish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished {
		return
	}
	w.finished = true
	if w.onLine != nil && len(w.pending) > 0 {
		w.onLine(strings.TrimSuffix(string(w.pending), "\r"))
	}
	w.pending = nil
}

// String returns everything written.
func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
