package testhost_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

func mustSigner(t *testing.T) (ssh.Signer, string) {
	t.Helper()
	s, pem, err := testhost.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	return s, pem
}

func dial(t *testing.T, h *testhost.Host, user string, auth ...ssh.AuthMethod) (*ssh.Client, error) {
	t.Helper()
	return ssh.Dial("tcp", h.Addr(), &ssh.ClientConfig{
		User:            user,
		Auth:            auth,
		HostKeyCallback: ssh.FixedHostKey(h.PublicKey()),
		Timeout:         10 * time.Second,
	})
}

func run(t *testing.T, c *ssh.Client, cmd, stdin string) (stdout, stderr string, err error) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		return "", "", err
	}
	defer s.Close()
	var o, e bytes.Buffer
	s.Stdout, s.Stderr, s.Stdin = &o, &e, strings.NewReader(stdin)
	err = s.Run(cmd)
	return o.String(), e.String(), err
}

func echoHandler(_ context.Context, e *testhost.Exec) int {
	in, _ := io.ReadAll(e.Stdin)
	fmt.Fprintf(e.Stdout, "%s ran %q stdin=%q", e.User, e.Command, in)
	fmt.Fprint(e.Stderr, "warn")
	if e.Command == "fail" {
		return 3
	}
	return 0
}

func TestHost_auth(t *testing.T) {
	t.Parallel()
	key, _ := mustSigner(t)
	ca, _ := mustSigner(t)
	certKey, _ := mustSigner(t)
	certLine, err := testhost.SignUserCert(ca, certKey.PublicKey(), []string{"deploy"})
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(certLine))
	if err != nil {
		t.Fatal(err)
	}
	cert, ok := pub.(*ssh.Certificate)
	if !ok {
		t.Fatalf("SignUserCert returned a %T, want *ssh.Certificate", pub)
	}
	certSigner, err := ssh.NewCertSigner(cert, certKey)
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := mustSigner(t)
	h := testhost.New(t, testhost.Config{
		AuthorizedKeys:    []ssh.PublicKey{key.PublicKey()},
		Passwords:         map[string]string{"root": "pw"},
		TrustedUserCAKeys: []ssh.PublicKey{ca.PublicKey()},
		Handler:           echoHandler,
	})
	tests := []struct {
		name string
		user string
		auth ssh.AuthMethod
		ok   bool
	}{
		{"key", "root", ssh.PublicKeys(key), true},
		{"password", "root", ssh.Password("pw"), true},
		{"wrong password", "root", ssh.Password("nope"), false},
		{"certificate", "deploy", ssh.PublicKeys(certSigner), true},
		{"certificate wrong principal", "root", ssh.PublicKeys(certSigner), false},
		{"unknown key", "root", ssh.PublicKeys(stranger), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := dial(t, h, tt.user, tt.auth)
			if (err == nil) != tt.ok {
				t.Fatalf("dial err = %v, want ok=%v", err, tt.ok)
			}
			if c != nil {
				_ = c.Close()
			}
		})
	}
}

func TestHost_exec(t *testing.T) {
	t.Parallel()
	key, _ := mustSigner(t)
	h := testhost.New(t, testhost.Config{AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}, Handler: echoHandler})
	c, err := dial(t, h, "root", ssh.PublicKeys(key))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, errOut, err := run(t, c, "drbdadm up pc0", "in")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`root ran "drbdadm up pc0" stdin="in"`, "warn"}, []string{out, errOut}); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	_, _, err = run(t, c, "fail", "")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 3 {
		t.Errorf("err = %v, want exit status 3", err)
	}
	if diff := cmp.Diff([]string{"drbdadm up pc0", "fail"}, h.Commands()); diff != "" {
		t.Errorf("Commands (-want +got):\n%s", diff)
	}
	if h.Handshakes() != 1 || h.Sessions() != 2 {
		t.Errorf("handshakes=%d sessions=%d, want 1 and 2", h.Handshakes(), h.Sessions())
	}
}

func TestHost_defaultHandler(t *testing.T) {
	t.Parallel()
	key, _ := mustSigner(t)
	h := testhost.New(t, testhost.Config{AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}})
	c, err := dial(t, h, "root", ssh.PublicKeys(key))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, errOut, err := run(t, c, "frobnicate --now", "")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 127 || !strings.Contains(errOut, "frobnicate: not found") {
		t.Errorf("err = %v, stderr = %q; want 127 command not found", err, errOut)
	}
}

func TestHost_concurrentSessionsAndKeepalive(t *testing.T) {
	t.Parallel()
	key, _ := mustSigner(t)
	h := testhost.New(t, testhost.Config{AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}, Handler: echoHandler})
	c, err := dial(t, h, "root", ssh.PublicKeys(key))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if _, _, err := run(t, c, fmt.Sprint("cmd", i), ""); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	ok, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
	if err != nil || !ok {
		t.Errorf("keepalive = %v, %v; want true", ok, err)
	}
	if h.Sessions() != 10 || h.Keepalives() != 1 {
		t.Errorf("sessions=%d keepalives=%d", h.Sessions(), h.Keepalives())
	}
}

func TestHost_signalCancelsHandler(t *testing.T) {
	t.Parallel()
	key, _ := mustSigner(t)
	started, cancelled := make(chan struct{}), make(chan struct{})
	h := testhost.New(t, testhost.Config{AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}, Handler: func(ctx context.Context, e *testhost.Exec) int {
		close(started)
		<-ctx.Done()
		close(cancelled)
		return 143
	}})
	c, err := dial(t, h, "root", ssh.PublicKeys(key))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("block"); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := s.Signal(ssh.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-cancelled
	var ee *ssh.ExitError
	if err := s.Wait(); !errors.As(err, &ee) || ee.ExitStatus() != 143 {
		t.Errorf("Wait = %v, want exit 143", err)
	}
}

func TestHost_faults(t *testing.T) {
	t.Parallel()
	key, _ := mustSigner(t)
	h := testhost.New(t, testhost.Config{AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}, Handler: func(ctx context.Context, e *testhost.Exec) int {
		if e.Command == "hang" {
			<-ctx.Done()
		}
		return 0
	}})

	t.Run("refuse auth", func(t *testing.T) {
		h.SetRefuseAuth(true)
		defer h.SetRefuseAuth(false)
		if c, err := dial(t, h, "root", ssh.PublicKeys(key)); err == nil {
			c.Close()
			t.Fatal("dial succeeded while refusing auth")
		}
	})

	t.Run("drop on command", func(t *testing.T) {
		c, err := dial(t, h, "root", ssh.PublicKeys(key))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		h.DropOnCommand(func(cmd string) bool { return cmd == "hang" })
		_, _, err = run(t, c, "hang", "")
		var missing *ssh.ExitMissingError
		if !errors.As(err, &missing) && !errors.Is(err, io.EOF) {
			t.Errorf("err = %v, want the session to end without exit status", err)
		}
		if err := c.Wait(); err == nil {
			t.Error("connection still up after the drop")
		}
		// One-shot: the next "hang" would run normally (not tried: it blocks by design).
	})

	t.Run("drop connections", func(t *testing.T) {
		c, err := dial(t, h, "root", ssh.PublicKeys(key))
		if err != nil {
			t.Fatal(err)
		}
		h.DropConnections()
		if err := c.Wait(); err == nil {
			t.Error("Wait returned nil after DropConnections")
		}
	})

	t.Run("command delay honours cancellation", func(t *testing.T) {
		h.SetCommandDelay(time.Hour)
		defer h.SetCommandDelay(0)
		c, err := dial(t, h, "root", ssh.PublicKeys(key))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start("slow"); err != nil {
			t.Fatal(err)
		}
		_ = s.Signal(ssh.SIGINT)
		var ee *ssh.ExitError
		if err := s.Wait(); !errors.As(err, &ee) || ee.ExitStatus() != 130 {
			t.Errorf("Wait = %v, want exit 130", err)
		}
	})

	t.Run("host key change", func(t *testing.T) {
		old := h.PublicKey()
		s, _ := mustSigner(t)
		h.SetHostKey(s)
		_, err := ssh.Dial("tcp", h.Addr(), &ssh.ClientConfig{
			User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
			HostKeyCallback: ssh.FixedHostKey(old),
		})
		if err == nil {
			t.Fatal("dial with the old host key succeeded")
		}
		if h.Fingerprint() != ssh.FingerprintSHA256(s.PublicKey()) {
			t.Error("Fingerprint does not follow SetHostKey")
		}
	})

	t.Run("stop and restart", func(t *testing.T) {
		h.Stop()
		_, err := net.Dial("tcp", h.Addr())
		if err == nil {
			t.Fatal("dial succeeded while stopped")
		}
		if err := h.Restart(); err != nil {
			t.Fatal(err)
		}
		c, err := dial(t, h, "root", ssh.PublicKeys(key))
		if err != nil {
			t.Fatalf("dial after Restart: %v", err)
		}
		c.Close()
	})
}

func TestHost_forwarding(t *testing.T) {
	t.Parallel()
	key, _ := mustSigner(t)
	target := testhost.New(t, testhost.Config{AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}, Handler: echoHandler})
	bastion := testhost.New(t, testhost.Config{AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}, AllowForwarding: true})
	closed := testhost.New(t, testhost.Config{AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}})

	bc, err := dial(t, bastion, "root", ssh.PublicKeys(key))
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	nc, err := bc.Dial("tcp", target.Addr())
	if err != nil {
		t.Fatal(err)
	}
	sc, chans, reqs, err := ssh.NewClientConn(nc, target.Addr(), &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(key)}, HostKeyCallback: ssh.FixedHostKey(target.PublicKey()),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := ssh.NewClient(sc, chans, reqs)
	defer c.Close()
	if out, _, err := run(t, c, "hop", ""); err != nil || !strings.Contains(out, `"hop"`) {
		t.Fatalf("run through bastion = %q, %v", out, err)
	}

	if _, err := bc.Dial("tcp", "10.0.0.1:22"); err == nil {
		t.Error("forwarding to a non-loopback address succeeded")
	}
	cc, err := dial(t, closed, "root", ssh.PublicKeys(key))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := cc.Dial("tcp", target.Addr()); err == nil {
		t.Error("forwarding succeeded on a host without AllowForwarding")
	}
}

func TestHost_lines(t *testing.T) {
	t.Parallel()
	h := testhost.New(t, testhost.Config{})
	if got, want := h.KnownHostsLine(), fmt.Sprintf("[127.0.0.1]:%d %s", h.Port(), h.AuthorizedKeyLine()); got != want {
		t.Errorf("KnownHostsLine = %q, want %q", got, want)
	}
	if !strings.HasPrefix(h.AuthorizedKeyLine(), "ssh-ed25519 AAAA") {
		t.Errorf("AuthorizedKeyLine = %q", h.AuthorizedKeyLine())
	}
	if h.Host() != "127.0.0.1" || h.Addr() != fmt.Sprintf("127.0.0.1:%d", h.Port()) {
		t.Errorf("Host/Addr = %s %s", h.Host(), h.Addr())
	}
}

func TestKeyHelpers(t *testing.T) {
	t.Parallel()
	s, pemText, err := testhost.NewEncryptedSigner("pp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ssh.ParsePrivateKey([]byte(pemText)); err == nil {
		t.Error("encrypted key parsed without a passphrase")
	}
	back, err := ssh.ParsePrivateKeyWithPassphrase([]byte(pemText), []byte("pp"))
	if err != nil || !bytes.Equal(back.PublicKey().Marshal(), s.PublicKey().Marshal()) {
		t.Errorf("round trip: %v", err)
	}
	_, plain, err := testhost.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ssh.ParsePrivateKey([]byte(plain)); err != nil {
		t.Errorf("plain key: %v", err)
	}
}
