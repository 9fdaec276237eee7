package sshx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// cancelGrace bounds how long a cancelled command waits for the host to close its session
// before Exec returns anyway.
const cancelGrace = 2 * time.Second

// KillGrace is how long a command that outlived its deadline on the host has after SIGTERM
// before timeout(1) sends SIGKILL.
const KillGrace = 5 * time.Second

// timeoutExitStatus is timeout(1)'s exit status for a command it ended.
const timeoutExitStatus = 124

// deadlinePrefix starts every command run under a deadline: timeout(1), where the host has it,
// runs the command in a process group of its own and ends that group at the deadline (SIGTERM,
// then SIGKILL after KillGrace), and passes on a signal the session receives. The command is
// handed over as a parameter, so it is quoted once. Hosts without timeout(1) run it as is.
const deadlinePrefix = `exec sh -c 'command -v timeout >/dev/null 2>&1 && exec timeout -k ` +
	`"$1" "$2" sh -c "$3"; exec sh -c "$3"' sh `

// WithDeadline returns cmd as Exec sends it when the remaining time is left: under timeout(1)
// with that many seconds, rounded up, plus one, so the host ends it by itself even when the
// client's cancel never arrives, and the client, whose deadline comes first, reports it.
func WithDeadline(cmd string, left time.Duration) string {
	secs := max(int64((left+time.Second-1)/time.Second), 0) + 1
	return deadlinePrefix + strconv.Itoa(int(KillGrace/time.Second)) + " " + strconv.FormatInt(secs, 10) + " " + Quote(cmd)
}

// ParseDeadline is the inverse of WithDeadline, for hosts simulated in-process: the command
// as written and its time limit, ok false when cmd is not wrapped.
func ParseDeadline(cmd string) (inner string, limit time.Duration, ok bool) {
	rest, ok := strings.CutPrefix(cmd, deadlinePrefix)
	if !ok {
		return "", 0, false
	}
	f := strings.SplitN(rest, " ", 3)
	if len(f) != 3 {
		return "", 0, false
	}
	secs, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return "", 0, false
	}
	inner, ok = unquote(f[2])
	return inner, time.Duration(secs) * time.Second, ok
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
	if dl, ok := ctx.Deadline(); ok {
		cmd = WithDeadline(cmd, time.Until(dl))
	}
	if p.cfg.Sudo {
		cmd = sudoWrap(cmd)
	}
	cn, sess, err := p.session(ctx, t)
	if err != nil {
		return Result{ExitCode: -1}, err
	}
	defer func() { <-cn.sem }()
	defer sess.Close()

	overflow := make(chan struct{})
	var overflowOnce sync.Once
	tooMuch := func() { overflowOnce.Do(func() { close(overflow) }) }
	stdout := &lineWriter{onLine: c.OnStdoutLine, limit: MaxOutputBytes, overflow: tooMuch}
	stderr := &lineWriter{onLine: c.OnStderrLine, limit: MaxOutputBytes, overflow: tooMuch}
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
		var exitErr *ssh.ExitError
		if ctx.Err() != nil && errors.As(err, &exitErr) && exitErr.ExitStatus() == timeoutExitStatus {
			// timeout(1) on the host and ctx ended together: the deadline passed.
			return result(-1), fmt.Errorf("run command on %s: %w", t, ctx.Err())
		}
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
	case <-overflow:
		_ = sess.Signal(ssh.SIGTERM)
		_ = sess.Close()
		timer := time.NewTimer(cancelGrace)
		select {
		case <-done:
		case <-timer.C:
		}
		timer.Stop()
		stream := "stdout"
		if stderr.exceeded() {
			stream = "stderr"
		}
		return result(-1), fmt.Errorf("run command on %s: its %s passed %d MiB, so it was stopped: %w",
			t, stream, MaxOutputBytes>>20, ErrOutputTooLarge)
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

// lineWriter collects a stream and calls onLine for each complete line as it arrives. With a
// limit, it keeps at most limit bytes and calls overflow once when more arrive.
type lineWriter struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	pending  []byte // bytes after the last newline
	onLine   func(string)
	finished bool
	limit    int    // 0 = none
	overflow func() // called once when the limit is passed
	over     bool
}

// exceeded reports whether more than limit bytes arrived.
func (w *lineWriter) exceeded() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.over
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
	n := len(b)
	if w.limit > 0 && w.buf.Len()+len(b) > w.limit {
		b = b[:w.limit-w.buf.Len()]
		if !w.over {
			w.over = true
			w.overflow()
		}
	}
	w.buf.Write(b)
	if w.onLine == nil || w.finished {
		return n, nil
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
	return n, nil
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
