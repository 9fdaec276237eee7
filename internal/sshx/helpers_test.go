package sshx_test

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

// shellHandler understands a few commands: "echo ARGS", "err ARGS" (to stderr), "exit N",
// "cat" (stdin to stdout), "block" (until ctx ends); anything else exits 127.
func shellHandler(ctx context.Context, e *testhost.Exec) int {
	cmd, args, _ := strings.Cut(e.Command, " ")
	switch cmd {
	case "echo":
		fmt.Fprintln(e.Stdout, args)
		return 0
	case "err":
		fmt.Fprintln(e.Stderr, args)
		return 0
	case "exit":
		n, _ := strconv.Atoi(args)
		return n
	case "cat":
		_, _ = io.Copy(e.Stdout, e.Stdin)
		return 0
	case "block":
		<-ctx.Done()
		return 130
	case "whoami":
		fmt.Fprintln(e.Stdout, e.User)
		return 0
	}
	fmt.Fprintf(e.Stderr, "sh: %s: not found\n", cmd)
	return 127
}

// keyPair is a client key with its OpenSSH PEM.
type keyPair struct {
	signer ssh.Signer
	pem    string
}

func newKey(t testing.TB) keyPair {
	t.Helper()
	s, pem, err := testhost.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{s, pem}
}

// fixture is a fake host that trusts one client key, and a pool config that trusts the host.
type fixture struct {
	host *testhost.Host
	key  keyPair
	cfg  sshx.Config
}

func newFixture(t testing.TB, hcfg testhost.Config) *fixture {
	t.Helper()
	k := newKey(t)
	hcfg.AuthorizedKeys = append(hcfg.AuthorizedKeys, k.signer.PublicKey())
	if hcfg.Handler == nil {
		hcfg.Handler = shellHandler
	}
	h := testhost.New(t, hcfg)
	return &fixture{
		host: h,
		key:  k,
		cfg: sshx.Config{
			PrivateKey:     k.pem,
			KnownHosts:     h.KnownHostsLine(),
			ConnectTimeout: 10 * time.Second,
		},
	}
}

func (f *fixture) target() sshx.Target {
	return sshx.Target{Host: f.host.Host(), Port: f.host.Port()}
}

func newPool(t testing.TB, cfg sshx.Config) *sshx.Pool {
	t.Helper()
	p, err := sshx.NewPool(cfg)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// logRecorder is a Config.Logf that lets tests wait for a message.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
	wake  chan struct{}
}

func newLogRecorder() *logRecorder { return &logRecorder{wake: make(chan struct{}, 1)} }

func (l *logRecorder) Logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// reset forgets the lines logged so far: a later waitFor sees only what comes after.
func (l *logRecorder) reset() {
	l.mu.Lock()
	l.lines = nil
	l.mu.Unlock()
}

// waitFor blocks until a logged line contains substr.
func (l *logRecorder) waitFor(t testing.TB, substr string) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for _, line := range l.lines {
			if strings.Contains(line, substr) {
				l.mu.Unlock()
				return
			}
		}
		l.mu.Unlock()
		select {
		case <-l.wake:
		case <-deadline.C:
			t.Fatalf("no log line containing %q", substr)
		}
	}
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func marshalKey(k ssh.PublicKey) []byte { return ssh.MarshalAuthorizedKey(k) }

// runCmd runs cmd on t through p and returns its output and exit code (Exec for tests).
func runCmd(ctx context.Context, p *sshx.Pool, t sshx.Target, cmd string) (stdout, stderr string, exitCode int, err error) { //nolint:unparam // the shape of the former Pool.Run the tests were written against
	r, err := p.Exec(ctx, t, sshx.Command{Cmd: cmd})
	return r.Stdout, r.Stderr, r.ExitCode, err
}
