// Command simhosts serves N simulated DRBD pairs behind real SSH (internal/testhost in front of
// internal/drbdsim) on 127.0.0.1 for the refresh benchmark of bench/ (bench/run.sh). It runs
// in its own process, so the simulated hosts' work is not inside the Terraform or provider
// process being timed (internal/demo/cmd/demohosts does the same for two hosts).
//
// Every pair is in the state the Chef HA runbook leaves it in: up, node1 Primary, in sync,
// ext4 mounted at the provider's default mountpoint, the ready file on both nodes. Before
// printing its ready line it writes -tfvars: a Terraform variables file (JSON) with "pairs"
// (pair name -> {p, s}: the SSH ports of node1 and node2), "private_key" and "known_hosts".
//
// It then reads commands from standard input, one a line:
//
//	count   prints "commands=C sessions=S handshakes=H" (totals over every host so far)
//
// and exits when standard input closes.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/ssh"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

// The provider's defaults (internal/provider: defaultMountpoint, defaultReadyFile), which the
// benchmark's configuration leaves unset.
const (
	mountpoint = "/var/opt/opscode/drbd/data"
	readyFile  = "/var/opt/opscode/drbd/drbd_ready"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "simhosts:", err)
		os.Exit(1)
	}
}

type ports struct {
	P int `json:"p"`
	S int `json:"s"`
}

type vars struct {
	Pairs      map[string]ports `json:"pairs"`
	PrivateKey string           `json:"private_key"`
	KnownHosts string           `json:"known_hosts"`
}

func run() error {
	n := flag.Int("pairs", 50, "number of simulated two-node pairs")
	tfvars := flag.String("tfvars", "", "path of the Terraform variables file to write (required)")
	flag.Parse()
	if *tfvars == "" || *n < 1 {
		return fmt.Errorf("-tfvars is required and -pairs must be at least 1")
	}
	signer, keyPEM, err := testhost.NewSigner()
	if err != nil {
		return err
	}
	var commands atomic.Int64
	var hosts []*testhost.Host
	defer func() {
		for _, h := range hosts {
			_ = h.Close()
		}
	}()
	v := vars{Pairs: map[string]ports{}, PrivateKey: keyPEM}
	var known strings.Builder
	for i := range *n {
		pair := drbdsim.NewPair(drbdsim.PairConfig{ConfigFile: true})
		if err := runbookDone(pair); err != nil {
			return fmt.Errorf("pair %d: %w", i, err)
		}
		var hp [2]*testhost.Host
		for j := range hp {
			node := pair.Node(j)
			h, err := testhost.Start(testhost.Config{
				AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()},
				Handler: func(ctx context.Context, e *testhost.Exec) int {
					commands.Add(1)
					return node.Handle(ctx, e.Command, e.Stdin, e.Stdout, e.Stderr)
				},
			})
			if err != nil {
				return err
			}
			hosts = append(hosts, h)
			hp[j] = h
			known.WriteString(h.KnownHostsLine() + "\n")
		}
		v.Pairs[fmt.Sprintf("p%03d", i)] = ports{P: hp[0].Port(), S: hp[1].Port()}
	}
	v.KnownHosts = known.String()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*tfvars, append(data, '\n'), 0o600); err != nil {
		return err
	}
	fmt.Printf("simhosts: ready pairs=%d hosts=%d tfvars=%s\n", *n, len(hosts), *tfvars)

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch strings.TrimSpace(in.Text()) {
		case "count":
			var sessions, handshakes int64
			for _, h := range hosts {
				sessions += h.Sessions()
				handshakes += h.Handshakes()
			}
			fmt.Printf("commands=%d sessions=%d handshakes=%d\n", commands.Load(), sessions, handshakes)
		case "":
		default:
			fmt.Printf("error: unknown command %q\n", in.Text())
		}
	}
	return in.Err()
}

// runbookDone brings a pair to the end of the Chef HA runbook out of band, as an operator
// at the console would: up, node1 promoted, in sync, file system made and mounted, ready files.
func runbookDone(p *drbdsim.Pair) error {
	p.BringUp()
	res := p.Config().Resource
	steps := []struct {
		node int
		cmd  string
	}{
		{0, "drbdadm primary --force " + res},
		{0, "mkfs.ext4 -q /dev/drbd0"},
		{0, "mkdir -p " + mountpoint},
		{0, "mount -t ext4 /dev/drbd0 " + mountpoint},
		{0, "touch " + readyFile},
		{1, "touch " + readyFile},
	}
	for k, s := range steps {
		if k == 1 {
			p.CompleteSync()
		}
		var out, errb strings.Builder
		if code := p.Node(s.node).Handle(context.Background(), s.cmd, strings.NewReader(""), &out, &errb); code != 0 {
			return fmt.Errorf("out-of-band %q on node%d exited %d: %s", s.cmd, s.node+1, code, errb.String())
		}
	}
	return nil
}
