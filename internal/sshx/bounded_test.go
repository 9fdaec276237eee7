package sshx_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

// realShell returns a Handler that runs each command under the real /bin/sh in a session of
// its own, as sshd does without a pty. With signal set, a client's signal or closed session
// sends SIGTERM to that shell alone (sshd's "signal" request); without it, nothing reaches
// the command (a client that vanished). Its children are not signalled either way.
func realShell(signal bool) testhost.Handler {
	return func(ctx context.Context, e *testhost.Exec) int {
		cmd := exec.Command("/bin/sh", "-c", e.Command)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = e.Stdin, e.Stdout, e.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		// A child left running keeps the output pipes open; Wait gives up on them after this.
		cmd.WaitDelay = time.Second
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(e.Stderr, err)
			return 127
		}
		stop := context.AfterFunc(ctx, func() {
			if signal {
				_ = cmd.Process.Signal(syscall.SIGTERM)
			}
		})
		defer stop()
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		return 0
	}
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// hangingChild runs a command whose shell leaves a child that would run for ten minutes and
// prints the child's pid, until ctx's deadline; it returns the pid.
func hangingChild(t *testing.T, signal bool, deadline time.Duration) int {
	t.Helper()
	if _, err := exec.LookPath("timeout"); err != nil {
		t.Skip("no timeout(1) on this machine")
	}
	f := newFixture(t, testhost.Config{Handler: realShell(signal), RawCommands: true})
	p := newPool(t, f.cfg)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	pid := make(chan int, 1)
	_, err := p.Exec(ctx, f.target(), sshx.Command{
		Cmd: "sleep 600 & echo $!; wait",
		OnStdoutLine: func(line string) {
			if n, err := strconv.Atoi(strings.TrimSpace(line)); err == nil {
				pid <- n
			}
		},
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Exec = %v, want the deadline's error", err)
	}
	select {
	case n := <-pid:
		t.Cleanup(func() { _ = syscall.Kill(n, syscall.SIGKILL) })
		return n
	default:
		t.Fatal("the command printed no pid")
		return 0
	}
}

// TestExec_deadlineEndsRemoteChildren: when the deadline passes, the command's whole process
// tree on the host ends, not only the shell the session's signal reaches.
func TestExec_deadlineEndsRemoteChildren(t *testing.T) {
	pid := hangingChild(t, true, 2*time.Second)
	eventually(t, fmt.Sprintf("remote child %d to end after the deadline", pid), func() bool { return !alive(pid) })
}

// TestExec_deadlineEndsRemoteProcessWithoutClient: the host ends the command at the deadline
// by itself, even when the client's signal and close never reach it.
func TestExec_deadlineEndsRemoteProcessWithoutClient(t *testing.T) {
	pid := hangingChild(t, false, 2*time.Second)
	eventually(t, fmt.Sprintf("remote child %d to end after the deadline", pid), func() bool { return !alive(pid) })
}

// TestExec_noDeadlineNoWrapper: a command without a deadline is sent as written.
func TestExec_noDeadlineNoWrapper(t *testing.T) {
	f := newFixture(t, testhost.Config{})
	p := newPool(t, f.cfg)
	if _, err := p.Exec(context.Background(), f.target(), sshx.Command{Cmd: "echo hi"}); err != nil {
		t.Fatal(err)
	}
	if got := f.host.Commands(); len(got) != 1 || got[0] != "echo hi" {
		t.Fatalf("commands = %q, want [echo hi]", got)
	}
}

// TestExec_deadlineWrapperUnderTestHost: the in-process host understands the wrapper: the
// handler sees the command as written, under the deadline.
func TestExec_deadlineWrapperUnderTestHost(t *testing.T) {
	f := newFixture(t, testhost.Config{})
	p := newPool(t, f.cfg)
	r, err := p.Exec(testCtx(t), f.target(), sshx.Command{Cmd: "echo hi"})
	if err != nil || r.Stdout != "hi\n" {
		t.Fatalf("Exec = %+v, %v", r, err)
	}
	if got := f.host.Commands(); len(got) != 1 || got[0] != "echo hi" {
		t.Fatalf("commands = %q, want [echo hi]", got)
	}
}

// TestExec_outputCapped: a command that prints more than the cap fails with
// ErrOutputTooLarge instead of filling memory.
func TestExec_outputCapped(t *testing.T) {
	for _, stream := range []string{"stdout", "stderr"} {
		t.Run(stream, func(t *testing.T) {
			f := newFixture(t, testhost.Config{Handler: func(ctx context.Context, e *testhost.Exec) int {
				w := e.Stdout
				if stream == "stderr" {
					w = e.Stderr
				}
				line := []byte(strings.Repeat("x", 1023) + "\n")
				for i := 0; i < (sshx.MaxOutputBytes>>10)+64; i++ {
					if _, err := w.Write(line); err != nil || ctx.Err() != nil {
						return 141
					}
				}
				return 0
			}})
			p := newPool(t, f.cfg)
			r, err := p.Exec(context.Background(), f.target(), sshx.Command{Cmd: "flood"})
			if !errors.Is(err, sshx.ErrOutputTooLarge) || !strings.Contains(err.Error(), stream) {
				t.Fatalf("Exec error = %v, want ErrOutputTooLarge naming %s", err, stream)
			}
			if len(r.Stdout) > sshx.MaxOutputBytes || len(r.Stderr) > sshx.MaxOutputBytes {
				t.Fatalf("kept %d/%d bytes, more than the cap %d", len(r.Stdout), len(r.Stderr), sshx.MaxOutputBytes)
			}
		})
	}
}

// silentListener accepts TCP connections on loopback and never writes: a host whose sshd is
// wedged. It returns the port.
func silentListener(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	t.Cleanup(func() { // LIFO: runs after the pool closed
		_ = ln.Close()
		held.Wait()
	})
	held.Go(func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	})
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("listener address %v is not a TCP address", ln.Addr())
	}
	return addr.Port
}

// TestPool_singleAttempt: a connection dialled under SingleAttempt makes one attempt bounded
// by SingleAttemptTimeout, whatever ConnectRetries and ConnectTimeout say, for a refused port
// and for one that never speaks SSH; a caller without it still retries.
func TestPool_singleAttempt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	f.host.Stop()
	log := newLogRecorder()
	cfg := sshx.Config{
		Password: "x", HostKeyPolicy: sshx.PolicyInsecure,
		ConnectTimeout: time.Hour, ConnectRetries: 8, RetryBackoff: 10 * time.Second,
		SingleAttemptTimeout: 200 * time.Millisecond, Logf: log.Logf,
	}
	p := newPool(t, cfg)
	for name, port := range map[string]int{"refused": f.host.Port(), "silent": silentListener(t)} {
		_, _, _, err := runCmd(sshx.SingleAttempt(testCtx(t)), p, sshx.Target{Host: "127.0.0.1", Port: port}, "echo x")
		if err == nil || strings.Contains(err.Error(), "attempts") || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: err = %v, want the first attempt's own error", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for _, l := range log.lines {
		if strings.Contains(l, "retrying") {
			t.Errorf("retried: %s", l)
		}
	}
}

// TestPool_singleAttemptFailureNotShared: a caller that may retry does not inherit the
// failure of a single-attempt dial; it dials again.
func TestPool_singleAttemptFailureNotShared(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	cfg := f.cfg
	cfg.ConnectRetries = 1
	cfg.RetryBackoff = time.Millisecond
	p := newPool(t, cfg)
	f.host.Stop()
	if _, _, _, err := runCmd(sshx.SingleAttempt(testCtx(t)), p, f.target(), "echo x"); err == nil {
		t.Fatal("Run succeeded against a stopped host")
	}
	if err := f.host.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := runCmd(testCtx(t), p, f.target(), "echo x"); err != nil {
		t.Fatalf("Run after the host came back: %v", err)
	}
}
