package sshx_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

// TestPool_reuseOneHandshake is the acceptance check: 20 commands to one host share one
// connection.
func TestPool_reuseOneHandshake(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	p := newPool(t, f.cfg)
	ctx := testCtx(t)
	for i := range 20 {
		out, _, code, err := runCmd(ctx, p, f.target(), fmt.Sprintf("echo %d", i))
		if err != nil || code != 0 || out != fmt.Sprintf("%d\n", i) {
			t.Fatalf("Run %d = %q, %d, %v", i, out, code, err)
		}
	}
	if got := f.host.Handshakes(); got != 1 {
		t.Errorf("host handshakes = %d, want 1", got)
	}
	if diff := cmp.Diff(sshx.Stats{Handshakes: 1, Sessions: 20}, p.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	if got := f.host.Sessions(); got != 20 {
		t.Errorf("host sessions = %d, want 20", got)
	}
}

func TestPool_exec(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	p := newPool(t, f.cfg)
	tests := []struct {
		name string
		cmd  sshx.Command
		want sshx.Result
	}{
		{"stdout", sshx.Command{Cmd: "echo hello world"}, sshx.Result{Stdout: "hello world\n"}},
		{"stderr", sshx.Command{Cmd: "err oops"}, sshx.Result{Stderr: "oops\n"}},
		{"non-zero exit is not an error", sshx.Command{Cmd: "exit 3"}, sshx.Result{ExitCode: 3}},
		{"command not found", sshx.Command{Cmd: "nope"}, sshx.Result{Stderr: "sh: nope: not found\n", ExitCode: 127}},
		{"stdin", sshx.Command{Cmd: "cat", Stdin: strings.NewReader("a\nb\n")}, sshx.Result{Stdout: "a\nb\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.Exec(testCtx(t), f.target(), tt.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Exec (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPool_streamingLines(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{Handler: func(_ context.Context, e *testhost.Exec) int {
		fmt.Fprint(e.Stdout, "one\ntw")
		fmt.Fprint(e.Stderr, "warn\r\n")
		fmt.Fprint(e.Stdout, "o\nthree")
		return 0
	}})
	p := newPool(t, f.cfg)
	var stdout, stderr []string
	r, err := p.Exec(testCtx(t), f.target(), sshx.Command{
		Cmd:          "x",
		OnStdoutLine: func(l string) { stdout = append(stdout, l) },
		OnStderrLine: func(l string) { stderr = append(stderr, l) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"one", "two", "three"}, stdout); diff != "" {
		t.Errorf("stdout lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"warn"}, stderr); diff != "" {
		t.Errorf("stderr lines (-want +got):\n%s", diff)
	}
	if r.Stdout != "one\ntwo\nthree" {
		t.Errorf("Stdout = %q", r.Stdout)
	}
}

func TestPool_sudo(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{Handler: func(context.Context, *testhost.Exec) int { return 0 }})
	cfg := f.cfg
	cfg.Sudo = true
	p := newPool(t, cfg)
	for _, cmd := range []string{"drbdadm up pc0", "echo 'it''s' > /tmp/x"} {
		if _, _, _, err := runCmd(context.Background(), p, f.target(), cmd); err != nil {
			t.Fatal(err)
		}
	}
	// Under a deadline, timeout(1) runs inside sudo, so that it can end root's processes.
	if _, _, _, err := runCmd(testCtx(t), p, f.target(), "drbdadm down pc0"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`sudo -n -- sh -c 'drbdadm up pc0'`,
		`sudo -n -- sh -c 'echo '"'"'it'"'"''"'"'s'"'"' > /tmp/x'`,
		sshx.Join("sudo", "-n", "--", "sh", "-c", sshx.WithDeadline("drbdadm down pc0", 30*time.Second-time.Millisecond)),
	}
	if diff := cmp.Diff(want, f.host.Commands()); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
}

func TestPool_redialAfterDrop(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	p := newPool(t, f.cfg)
	ctx := testCtx(t)
	if _, _, _, err := runCmd(ctx, p, f.target(), "echo 1"); err != nil {
		t.Fatal(err)
	}
	f.host.DropConnections()
	out, _, _, err := runCmd(ctx, p, f.target(), "echo 2")
	if err != nil || out != "2\n" {
		t.Fatalf("Run after drop = %q, %v", out, err)
	}
	if got := f.host.Handshakes(); got != 2 {
		t.Errorf("handshakes = %d, want 2", got)
	}
}

// TestPool_redialStaleConnection covers the race the watcher cannot win: the pool still holds
// a connection the host already closed, and opening the session redials once.
func TestPool_redialStaleConnection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	p := newPool(t, f.cfg)
	ctx := testCtx(t)
	for i := range 5 {
		f.host.DropConnections()
		if out, _, _, err := runCmd(ctx, p, f.target(), "echo x"); err != nil || out != "x\n" {
			t.Fatalf("Run %d = %q, %v", i, out, err)
		}
	}
}

func TestPool_connectionLostMidCommand(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	f := newFixture(t, testhost.Config{Handler: func(ctx context.Context, e *testhost.Exec) int {
		if e.Command == "drbdadm primary pc0" {
			started <- struct{}{}
			<-ctx.Done()
			return 0
		}
		return shellHandler(ctx, e)
	}})
	f.host.DropOnCommand(func(cmd string) bool { return strings.HasPrefix(cmd, "drbdadm primary") })
	p := newPool(t, f.cfg)
	ctx := testCtx(t)
	_, _, code, err := runCmd(ctx, p, f.target(), "drbdadm primary pc0")
	if !errors.Is(err, sshx.ErrConnectionLost) {
		t.Fatalf("err = %v, want ErrConnectionLost", err)
	}
	if code != -1 {
		t.Errorf("exit code = %d, want -1", code)
	}
	if !strings.Contains(err.Error(), "root@"+f.host.Addr()) {
		t.Errorf("error does not name the target: %v", err)
	}
	select {
	case <-started:
	default:
		t.Error("the handler never started")
	}
	out, _, _, err := runCmd(ctx, p, f.target(), "echo after")
	if err != nil || out != "after\n" {
		t.Fatalf("Run after loss = %q, %v", out, err)
	}
	want := []string{"drbdadm primary pc0", "echo after"}
	if diff := cmp.Diff(want, f.host.Commands()); diff != "" {
		t.Errorf("commands (-want +got), the lost one must not be re-run:\n%s", diff)
	}
}

func TestPool_stopRestartRetries(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	logs := newLogRecorder()
	cfg := f.cfg
	cfg.ConnectRetries = 50
	cfg.RetryBackoff = 5 * time.Millisecond
	cfg.Logf = logs.Logf
	p := newPool(t, cfg)
	ctx := testCtx(t)
	if _, _, _, err := runCmd(ctx, p, f.target(), "echo up"); err != nil {
		t.Fatal(err)
	}
	f.host.Stop()
	type res struct {
		out string
		err error
	}
	done := make(chan res, 1)
	go func() {
		out, _, _, err := runCmd(ctx, p, f.target(), "echo back")
		done <- res{out, err}
	}()
	logs.waitFor(t, "retrying in")
	if err := f.host.Restart(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.out != "back\n" {
		t.Fatalf("Run across restart = %q, %v", r.out, r.err)
	}
	if got := f.host.Handshakes(); got != 2 {
		t.Errorf("handshakes = %d, want 2", got)
	}
}

func TestPool_retriesExhausted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	f.host.Stop()
	cfg := f.cfg
	cfg.ConnectRetries = 2
	cfg.RetryBackoff = time.Millisecond
	p := newPool(t, cfg)
	_, _, _, err := runCmd(testCtx(t), p, f.target(), "echo x")
	if err == nil {
		t.Fatal("Run succeeded against a stopped host")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v, want it to wrap ECONNREFUSED", err)
	}
	for _, want := range []string{"giving up after 3 attempts", "root@" + f.host.Addr()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestPool_retryBackoffHonoursContext(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	f.host.Stop()
	logs := newLogRecorder()
	cfg := f.cfg
	cfg.ConnectRetries = 5
	cfg.RetryBackoff = time.Hour
	cfg.Logf = logs.Logf
	p := newPool(t, cfg)
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() {
		_, _, _, err := runCmd(ctx, p, f.target(), "echo x")
		done <- err
	}()
	logs.waitFor(t, "retrying in")
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestPool_cancelRunningCommand(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	hostSawCancel := make(chan struct{})
	f := newFixture(t, testhost.Config{Handler: func(ctx context.Context, e *testhost.Exec) int {
		if e.Command != "block" {
			return 0
		}
		close(started)
		<-ctx.Done()
		close(hostSawCancel)
		return 143
	}})
	p := newPool(t, f.cfg)
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() {
		_, _, _, err := runCmd(ctx, p, f.target(), "block")
		done <- err
	}()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "root@"+f.host.Addr()) {
		t.Fatalf("err = %v, want context.Canceled naming the target", err)
	}
	<-hostSawCancel
	// The connection survives a cancelled command.
	if _, _, _, err := runCmd(testCtx(t), p, f.target(), "x"); err != nil {
		t.Fatal(err)
	}
	if got := f.host.Handshakes(); got != 1 {
		t.Errorf("handshakes = %d, want 1", got)
	}
}

// TestPool_concurrent runs 50 goroutines against one fresh target: one handshake, no races.
func TestPool_concurrent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	f.host.SetCommandDelay(time.Millisecond)
	p := newPool(t, f.cfg)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			out, _, _, err := runCmd(ctx, p, f.target(), fmt.Sprintf("echo %d", i))
			if err == nil && out != fmt.Sprintf("%d\n", i) {
				err = fmt.Errorf("goroutine %d got %q", i, out)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := f.host.Handshakes(); got != 1 {
		t.Errorf("handshakes = %d, want 1 (concurrent first use must dial once)", got)
	}
	if diff := cmp.Diff(sshx.Stats{Handshakes: 1, Sessions: 50}, p.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

func TestPool_maxSessions(t *testing.T) {
	t.Parallel()
	const limit, callers = 3, 12
	var inflight, peak atomic.Int64
	full := make(chan struct{})
	release := make(chan struct{})
	var fullOnce sync.Once
	f := newFixture(t, testhost.Config{Handler: func(ctx context.Context, e *testhost.Exec) int {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n == limit {
			fullOnce.Do(func() { close(full) })
		}
		<-release
		return 0
	}})
	cfg := f.cfg
	cfg.MaxSessions = limit
	p := newPool(t, cfg)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			_, _, _, err := runCmd(ctx, p, f.target(), "work")
			errs <- err
		})
	}
	<-full
	// With every slot held, no further session can have been opened.
	if got := p.Stats().Sessions; got != limit {
		t.Errorf("sessions opened while full = %d, want %d", got, limit)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := peak.Load(); got != limit {
		t.Errorf("peak concurrent commands = %d, want %d", got, limit)
	}
	if got := p.Stats().Sessions; got != callers {
		t.Errorf("sessions = %d, want %d", got, callers)
	}
}

func TestPool_sessionSlotWaitHonoursContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{})
	f := newFixture(t, testhost.Config{Handler: func(ctx context.Context, e *testhost.Exec) int {
		close(started)
		<-release
		return 0
	}})
	t.Cleanup(func() { close(release) })
	cfg := f.cfg
	cfg.MaxSessions = 1
	p := newPool(t, cfg)
	go func() { _, _, _, _ = runCmd(context.Background(), p, f.target(), "hold") }()
	<-started
	ctx, cancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
	defer cancel()
	_, _, _, err := runCmd(ctx, p, f.target(), "waits")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "session slots") {
		t.Fatalf("err = %v, want a deadline while waiting for a session slot", err)
	}
}

func TestPool_bastion(t *testing.T) {
	t.Parallel()
	target := newFixture(t, testhost.Config{})
	bastion := testhost.New(t, testhost.Config{
		AuthorizedKeys:  []ssh.PublicKey{target.key.signer.PublicKey()},
		Passwords:       map[string]string{"jump": "jumppw"},
		AllowForwarding: true,
	})
	tests := []struct {
		name    string
		bastion sshx.Bastion
		wantErr string
	}{
		{name: "main auth, host key via known_hosts", bastion: sshx.Bastion{Host: bastion.Host(), Port: bastion.Port()}},
		{name: "own password, pinned host key", bastion: sshx.Bastion{Host: bastion.Host(), Port: bastion.Port(), User: "jump", Password: "jumppw", HostKey: bastion.AuthorizedKeyLine()}},
		{name: "pinned host key mismatch", bastion: sshx.Bastion{Host: bastion.Host(), Port: bastion.Port(), HostKey: target.host.AuthorizedKeyLine()}, wantErr: "HOST KEY MISMATCH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := target.cfg
			cfg.KnownHosts = target.host.KnownHostsLine() + "\n" + bastion.KnownHostsLine()
			b := tt.bastion
			cfg.Bastion = &b
			p := newPool(t, cfg)
			ctx := testCtx(t)
			for range 3 {
				out, _, _, err := runCmd(ctx, p, target.target(), "echo via bastion")
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("err = %v, want %q", err, tt.wantErr)
					}
					return
				}
				if err != nil || out != "via bastion\n" {
					t.Fatalf("Run = %q, %v", out, err)
				}
			}
			if diff := cmp.Diff(sshx.Stats{Handshakes: 2, Sessions: 3}, p.Stats()); diff != "" {
				t.Errorf("Stats (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPool_bastionAcceptNewNeedsKnownKey: nothing records the bastion's key in any state,
// so host_key_policy = "accept-new" would trust whatever key it offers on every run. Under
// accept-new the bastion must be pinned (Bastion.HostKey) or in known_hosts; otherwise
// NewPool fails naming the bastion and both remedies, before anything is contacted.
func TestPool_bastionAcceptNewNeedsKnownKey(t *testing.T) {
	t.Parallel()
	target := newFixture(t, testhost.Config{})
	bastion := testhost.New(t, testhost.Config{
		AuthorizedKeys:  []ssh.PublicKey{target.key.signer.PublicKey()},
		AllowForwarding: true,
	})
	tests := []struct {
		name       string
		policy     string
		knownHosts string
		hostKey    string
		wantErr    bool
	}{
		{name: "accept-new, unknown bastion", policy: sshx.PolicyAcceptNew, wantErr: true},
		{name: "accept-new, pinned bastion", policy: sshx.PolicyAcceptNew, hostKey: bastion.AuthorizedKeyLine()},
		{name: "accept-new, bastion in known_hosts", policy: sshx.PolicyAcceptNew, knownHosts: bastion.KnownHostsLine()},
		// Under strict the dial itself refuses an unknown bastion (TestPool_hostKeyPolicies).
		{name: "strict, unknown bastion", policy: sshx.PolicyStrict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := target.cfg
			cfg.HostKeyPolicy = tt.policy
			cfg.KnownHosts = tt.knownHosts
			cfg.Bastion = &sshx.Bastion{Host: bastion.Host(), Port: bastion.Port(), HostKey: tt.hostKey}
			p, err := sshx.NewPool(cfg)
			if tt.wantErr {
				bt := "root@" + bastion.Addr()
				if err == nil {
					_ = p.Close()
					t.Fatalf("NewPool accepted a bastion no source knows under accept-new")
				}
				for _, want := range []string{"bastion " + bt, "accept-new", "host_key", "known_hosts"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error lacks %q:\n%v", want, err)
					}
				}
				if bastion.Handshakes() != 0 {
					t.Errorf("the bastion was contacted")
				}
				return
			}
			if err != nil {
				t.Fatalf("NewPool: %v", err)
			}
			_ = p.Close()
		})
	}
}

// TestPool_bastionKeyErrorNamesBastionBlock: a host key error for the bastion tells to fix
// the provider's bastion block, not a resource's host_key.
func TestPool_bastionKeyErrorNamesBastionBlock(t *testing.T) {
	t.Parallel()
	target := newFixture(t, testhost.Config{})
	bastion := testhost.New(t, testhost.Config{
		AuthorizedKeys:  []ssh.PublicKey{target.key.signer.PublicKey()},
		AllowForwarding: true,
	})
	cfg := target.cfg
	cfg.Bastion = &sshx.Bastion{Host: bastion.Host(), Port: bastion.Port()}
	p := newPool(t, cfg)
	_, _, _, err := runCmd(testCtx(t), p, target.target(), "echo via bastion")
	var hk *sshx.HostKeyError
	if !errors.As(err, &hk) || !hk.Bastion || !strings.Contains(err.Error(), "in the provider's bastion block") ||
		strings.Contains(err.Error(), "on the resource") || strings.Contains(err.Error(), "accept-new") {
		t.Fatalf("err = %v, want a bastion host key error pointing at the bastion block", err)
	}
}

func TestPool_bastionRedial(t *testing.T) {
	t.Parallel()
	target := newFixture(t, testhost.Config{})
	bastion := testhost.New(t, testhost.Config{
		AuthorizedKeys:  []ssh.PublicKey{target.key.signer.PublicKey()},
		AllowForwarding: true,
	})
	cfg := target.cfg
	cfg.KnownHosts = target.host.KnownHostsLine() + "\n" + bastion.KnownHostsLine()
	cfg.Bastion = &sshx.Bastion{Host: bastion.Host(), Port: bastion.Port()}
	p := newPool(t, cfg)
	ctx := testCtx(t)
	if _, _, _, err := runCmd(ctx, p, target.target(), "echo 1"); err != nil {
		t.Fatal(err)
	}
	bastion.DropConnections()
	if out, _, _, err := runCmd(ctx, p, target.target(), "echo 2"); err != nil || out != "2\n" {
		t.Fatalf("Run after the bastion dropped = %q, %v", out, err)
	}
	if got := bastion.Handshakes(); got != 2 {
		t.Errorf("bastion handshakes = %d, want 2", got)
	}
}

func TestPool_keepalive(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	logs := newLogRecorder()
	cfg := f.cfg
	cfg.KeepaliveInterval = 10 * time.Millisecond
	cfg.Logf = logs.Logf
	p := newPool(t, cfg)
	ctx := testCtx(t)
	if _, _, _, err := runCmd(ctx, p, f.target(), "echo 1"); err != nil {
		t.Fatal(err)
	}
	// An answer later than the interval closes the connection (a loaded machine can be that
	// slow): a command redials, and the keepalives go on over the new connection.
	eventually(t, "two answered keepalives", func() bool {
		if f.host.Keepalives() >= 2 {
			return true
		}
		_, _, _, _ = runCmd(ctx, p, f.target(), "echo again")
		return false
	})

	// A host that stops answering is given up on, and the next command redials.
	before := f.host.Handshakes()
	logs.reset()
	f.host.SetKeepaliveSilent(true)
	logs.waitFor(t, "keepalive to")
	logs.waitFor(t, "ended")
	f.host.SetKeepaliveSilent(false)
	if out, _, _, err := runCmd(ctx, p, f.target(), "echo 2"); err != nil || out != "2\n" {
		t.Fatalf("Run after keepalive failure = %q, %v", out, err)
	}
	if got := f.host.Handshakes(); got != before+1 {
		t.Errorf("handshakes = %d, want %d", got, before+1)
	}
}

func TestPool_closed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	p, err := sshx.NewPool(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := runCmd(testCtx(t), p, f.target(), "echo 1"); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := runCmd(testCtx(t), p, f.target(), "echo 2"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Run after Close: err = %v", err)
	}
}

func TestTarget_String(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t    sshx.Target
		want string
	}{
		{sshx.Target{Host: "db1", Port: 22, User: "root"}, "root@db1:22"},
		{sshx.Target{Host: "::1", Port: 2222, User: "admin"}, "admin@[::1]:2222"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// TestPool_connectTimeoutPerAttempt points the pool at a listener that accepts but never
// speaks SSH: each attempt times out and is retried, then the error says so.
func TestPool_connectTimeoutPerAttempt(t *testing.T) {
	t.Parallel()
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
	p := newPool(t, sshx.Config{
		Password:       "x",
		HostKeyPolicy:  sshx.PolicyInsecure,
		ConnectTimeout: 50 * time.Millisecond,
		ConnectRetries: 1,
		RetryBackoff:   time.Millisecond,
	})
	_, _, _, err = runCmd(testCtx(t), p, sshx.Target{Host: "127.0.0.1", Port: addr.Port}, "echo x")
	if err == nil || !strings.Contains(err.Error(), "timed out") || !strings.Contains(err.Error(), "giving up after 2 attempts") {
		t.Fatalf("err = %v, want a timeout after 2 attempts", err)
	}
}

// TestPool_reusedConnectionEnforcesRecordedFingerprint: under accept-new, a target whose
// recorded fingerprint differs from the key of a connection another target already opened
// to the same host is refused, not silently given that connection.
func TestPool_reusedConnectionEnforcesRecordedFingerprint(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testhost.Config{})
	cfg := f.cfg
	cfg.KnownHosts = ""
	cfg.HostKeyPolicy = sshx.PolicyAcceptNew
	p := newPool(t, cfg)
	ctx := testCtx(t)
	if _, _, _, err := runCmd(ctx, p, f.target(), "true"); err != nil {
		t.Fatal(err)
	}
	same := f.target()
	same.KnownFingerprint = f.host.Fingerprint()
	if _, _, _, err := runCmd(ctx, p, same, "true"); err != nil {
		t.Fatalf("matching recorded fingerprint refused: %v", err)
	}
	other := f.target()
	other.KnownFingerprint = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	_, _, _, err := runCmd(ctx, p, other, "true")
	var hk *sshx.HostKeyError
	if !errors.As(err, &hk) || !hk.Mismatch || !strings.Contains(err.Error(), "recorded host_key_fingerprint") ||
		!strings.Contains(err.Error(), f.host.Fingerprint()) {
		t.Fatalf("err = %v, want a host key mismatch naming both fingerprints", err)
	}
	if got := f.host.Handshakes(); got != 1 {
		t.Errorf("handshakes = %d, want 1 (the refusal reuses the pooled connection's key)", got)
	}
}

// TestPool_reusedConnectionSatisfiesTargetRules: a pooled connection opened for one target
// carries another target's commands only when its host key satisfies that target's own
// rules (its pinned host_key, known_hosts under strict); otherwise the other target is
// refused with a host key error, and no command runs for it. A target the key satisfies
// reuses the connection: no second handshake.
func TestPool_reusedConnectionSatisfiesTargetRules(t *testing.T) {
	t.Parallel()
	otherLine := strings.TrimSpace(string(marshalKey(newKey(t).signer.PublicKey())))
	tests := []struct {
		name        string
		policy      string
		knownHosts  bool // the host's key is in known_hosts
		first, then string
		// first and then are host_key values: "" (unpinned), "host" (the host's key),
		// "other" (another key).
		wantErr string // "" when the second target reuses the connection
	}{
		{name: "accept-new: unpinned, then pinned to another key", policy: sshx.PolicyAcceptNew, then: "other", wantErr: "pinned host_key"},
		{name: "strict: unpinned, then pinned to another key", policy: sshx.PolicyStrict, knownHosts: true, then: "other", wantErr: "pinned host_key"},
		{name: "accept-new: pinned, then pinned to another key", policy: sshx.PolicyAcceptNew, first: "host", then: "other", wantErr: "pinned host_key"},
		{name: "strict: pinned, then unpinned and not in known_hosts", policy: sshx.PolicyStrict, first: "host", wantErr: "unknown ssh-ed25519 key"},
		{name: "accept-new: unpinned, then matching pin", policy: sshx.PolicyAcceptNew, then: "host"},
		{name: "strict: unpinned, then matching pin", policy: sshx.PolicyStrict, knownHosts: true, then: "host"},
		{name: "accept-new: pinned, then unpinned", policy: sshx.PolicyAcceptNew, first: "host"},
		{name: "strict: pinned, then unpinned and in known_hosts", policy: sshx.PolicyStrict, knownHosts: true, first: "host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, testhost.Config{})
			pin := map[string]string{"": "", "host": f.host.AuthorizedKeyLine(), "other": otherLine}
			cfg := f.cfg
			cfg.HostKeyPolicy = tt.policy
			if !tt.knownHosts {
				cfg.KnownHosts = ""
			}
			p := newPool(t, cfg)
			ctx := testCtx(t)
			first := f.target()
			first.HostKey = pin[tt.first]
			if _, _, _, err := runCmd(ctx, p, first, "echo first"); err != nil {
				t.Fatalf("first target: %v", err)
			}
			then := f.target()
			then.HostKey = pin[tt.then]
			_, _, _, err := runCmd(ctx, p, then, "echo then")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("second target refused: %v", err)
				}
			} else {
				var hk *sshx.HostKeyError
				if !errors.As(err, &hk) || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), f.host.Fingerprint()) {
					t.Fatalf("err = %v, want a host key error (%q) naming the offered key", err, tt.wantErr)
				}
				if got := f.host.Commands(); len(got) != 1 {
					t.Errorf("commands run = %q, want only the first target's", got)
				}
			}
			if got := p.Stats().Handshakes; got != 1 {
				t.Errorf("Stats().Handshakes = %d, want 1 (the pooled connection's key is checked, no second handshake)", got)
			}
		})
	}
}
