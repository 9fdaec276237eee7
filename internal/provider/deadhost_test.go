package provider

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
	"testing"
	"time"
)

// deadHostCap is the test's own bound on a plan against a dead host: well past the 15s a plan
// may take, well short of the minutes it took before reads were bounded. A plan cut off here
// fails the test.
const deadHostCap = 30 * time.Second

// inNetnsEnv is set when the test binary runs again inside the namespace that drops packets.
const inNetnsEnv = "DRBD_TEST_IN_DROPPING_NETNS"

// droppedPort is the TCP port the namespace drops every packet to.
const droppedPort = 2222

// deadHostConfig is a configuration with the provider's default settings (credentials only)
// and a drbd_status reading pc0 on 127.0.0.1:port.
func deadHostConfig(port int) string {
	return fmt.Sprintf(`
terraform {
  required_providers {
    drbd = {
      source = "seed-a700e435/drbd"
    }
  }
}

provider "drbd" {
  password = "unused"
}

data "drbd_status" "dead" {
  host     = "127.0.0.1"
  port     = %d
  resource = "pc0"
}
`, port)
}

// planDeadHost runs terraform plan of deadHostConfig(port) under deadHostCap and returns its
// output and how long the plan took; the plan must fail by itself, naming the host and port
// and the fenced_hosts hint, without retrying.
func planDeadHost(t testing.TB, h *cliHarness, port int) (string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadHostCap)
	defer cancel()
	start := time.Now()
	out, err := h.command(ctx, "plan", "-input=false", "-no-color").CombinedOutput()
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("terraform plan against a dead host had not failed after %s (the test's cap):\n%s", deadHostCap, out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("terraform plan against a dead host: err = %v, want a failed plan:\n%s", err, out)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	for _, want := range []string{"could not be reached over SSH", "127.0.0.1:" + strconv.Itoa(port), "fenced_hosts"} {
		if !strings.Contains(text, want) {
			t.Errorf("the plan's error lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(text, "attempts") {
		t.Errorf("the plan retried the dead host:\n%s", out)
	}
	return string(out), took
}

// deadHostHarness is a CLI harness initialised with deadHostConfig(port).
func deadHostHarness(t testing.TB, port int) *cliHarness {
	t.Helper()
	h := newCLIHarness(t)
	h.writeFile("main.tf", deadHostConfig(port))
	h.init()
	return h
}

// closedPort returns a loopback port nothing listens on (connections are refused).
func closedPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}

// mutePort returns a loopback port that accepts TCP connections and never writes: a host
// whose sshd is wedged.
func mutePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
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
	return ln.Addr().(*net.TCPAddr).Port
}

// droppingNetns creates a network namespace whose loopback drops every TCP packet to
// droppedPort (nft), and removes it when the test ends. It skips the test when that is not
// possible (not root, no ip or nft).
func droppingNetns(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a host that drops packets is simulated in a network namespace, which needs root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("a host that drops packets needs %s (iproute2, nftables; .ci/run installs them as root)", tool)
		}
	}
	ns := fmt.Sprintf("drbdtest%d", os.Getpid())
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("ip", "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	run("ip", "-n", ns, "link", "set", "lo", "up")
	run("ip", "netns", "exec", ns, "nft", "add", "table", "inet", "drbdtest")
	run("ip", "netns", "exec", ns, "nft", "add chain inet drbdtest out { type filter hook output priority 0; policy accept; }")
	run("ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "drbdtest", "out", "tcp", "dport", strconv.Itoa(droppedPort), "drop")
	return ns
}

// TestAccDeadHost: with the provider's default settings, a plan reading a dead host fails by
// itself, naming the host and port and the fenced_hosts hint, for a refused port, a port
// that never speaks SSH and a host that drops every packet.
func TestAccDeadHost(t *testing.T) {
	testAccPreCheck(t)
	if os.Getenv(inNetnsEnv) != "" {
		// Inside the dropping namespace: only the dropped case runs here.
		t.Run("dropped", func(t *testing.T) { planDeadHost(t, deadHostHarness(t, droppedPort), droppedPort) })
		return
	}
	t.Run("refused", func(t *testing.T) {
		port := closedPort(t)
		planDeadHost(t, deadHostHarness(t, port), port)
	})
	t.Run("silent", func(t *testing.T) {
		port := mutePort(t)
		planDeadHost(t, deadHostHarness(t, port), port)
	})
	t.Run("dropped", func(t *testing.T) {
		ns := droppingNetns(t)
		cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run", "^TestAccDeadHost$/^dropped$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), inNetnsEnv+"=1")
		out, err := cmd.CombinedOutput()
		t.Logf("inside namespace %s:\n%s", ns, out)
		if err != nil || !strings.Contains(string(out), "--- PASS: TestAccDeadHost/dropped") {
			t.Fatalf("the plan inside the dropping namespace did not pass: %v", err)
		}
	})
}
