// Package demo serves two simulated DRBD backends (a Chef Server HA pair) behind real SSH on
// 127.0.0.1 for `make demo`: the project's own fake SSH host (internal/testhost) in front of the
// DRBD pair simulator (internal/drbdsim), plus the files Terraform needs to reach them.
//
// Unlike the acceptance tests, the simulated resync here advances with wall-clock time rather
// than with status reads, so a user watching `terraform apply` sees the sync progress over a
// few seconds whatever the provider's poll interval is.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

// Defaults of Config.
const (
	DefaultSyncDuration = 15 * time.Second
	DefaultTick         = 250 * time.Millisecond
)

// File names WriteFiles creates in its directory.
const (
	TFVarsFile     = "demo.tfvars.json"
	EnvFile        = "demo.env"
	PrivateKeyFile = "id_ed25519"
	KnownHostsFile = "known_hosts"
)

// Config configures the simulated backends. Zero fields take the defaults.
type Config struct {
	// Version is the simulated DRBD generation; the zero value is DRBD 8.4.
	Version drbdsim.Version
	// SyncDuration is how long the initial resync takes once it has started.
	SyncDuration time.Duration
	// Tick is how often the resync is moved forward.
	Tick time.Duration
}

func (c *Config) setDefaults() {
	if c.SyncDuration <= 0 {
		c.SyncDuration = DefaultSyncDuration
	}
	if c.Tick <= 0 {
		c.Tick = DefaultTick
	}
	if c.Tick > c.SyncDuration {
		c.Tick = c.SyncDuration
	}
}

// Vars are the input variables of examples/chef-ha-failover that address the backends; they
// marshal to a Terraform .tfvars.json file.
type Vars struct {
	PrimaryHost   string `json:"backend1_host"`
	PrimaryPort   int    `json:"backend1_port"`
	SecondaryHost string `json:"backend2_host"`
	SecondaryPort int    `json:"backend2_port"`
	PrivateKey    string `json:"private_key"`
	KnownHosts    string `json:"known_hosts"`
}

// Backends is a running simulated pair: node1 (the primary backend) and node2.
type Backends struct {
	cfg    Config
	pair   *drbdsim.Pair
	hosts  [2]*testhost.Host
	keyPEM string

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// Start starts both backends on 127.0.0.1 (random ports), with the DRBD resource file present
// on both nodes and nothing else done, and the goroutine that moves a running resync forward.
func Start(cfg Config) (*Backends, error) {
	cfg.setDefaults()
	signer, keyPEM, err := testhost.NewSigner()
	if err != nil {
		return nil, fmt.Errorf("generate client key: %w", err)
	}
	b := &Backends{
		cfg: cfg,
		// Automatic progress on status reads is off: the ticker below is the only clock.
		pair:   drbdsim.NewPair(drbdsim.PairConfig{Version: cfg.Version, ConfigFile: true, SyncStepPercent: -1}),
		keyPEM: keyPEM,
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	for i := range b.hosts {
		h, err := testhost.Start(testhost.Config{
			AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()},
			Handler:        nodeHandler(b.pair.Node(i)),
		})
		if err != nil {
			for _, started := range b.hosts[:i] {
				_ = started.Close()
			}
			return nil, fmt.Errorf("start backend %d: %w", i+1, err)
		}
		b.hosts[i] = h
	}
	go b.advance()
	return b, nil
}

// nodeHandler serves a simulated node's operating system over a fake SSH host.
func nodeHandler(n *drbdsim.Node) testhost.Handler {
	return func(ctx context.Context, e *testhost.Exec) int {
		return n.Handle(ctx, e.Command, e.Stdin, e.Stdout, e.Stderr)
	}
}

// advance moves a running resync forward on every tick, so that it takes about SyncDuration.
func (b *Backends) advance() {
	defer close(b.done)
	step := 100 * float64(b.cfg.Tick) / float64(b.cfg.SyncDuration)
	t := time.NewTicker(b.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.pair.Advance(step) // a no-op while no resync runs
		}
	}
}

// Pair returns the simulated DRBD pair.
func (b *Backends) Pair() *drbdsim.Pair { return b.pair }

// Host returns the fake SSH host of node i (0: primary backend, 1: secondary backend).
func (b *Backends) Host(i int) *testhost.Host { return b.hosts[i] }

// PrivateKey returns the OpenSSH private key (PEM) the backends accept.
func (b *Backends) PrivateKey() string { return b.keyPEM }

// KnownHosts returns known_hosts lines for both backends.
func (b *Backends) KnownHosts() string {
	return b.hosts[0].KnownHostsLine() + "\n" + b.hosts[1].KnownHostsLine() + "\n"
}

// Vars returns the example's variables for these backends.
func (b *Backends) Vars() Vars {
	return Vars{
		PrimaryHost:   b.hosts[0].Host(),
		PrimaryPort:   b.hosts[0].Port(),
		SecondaryHost: b.hosts[1].Host(),
		SecondaryPort: b.hosts[1].Port(),
		PrivateKey:    b.keyPEM,
		KnownHosts:    b.KnownHosts(),
	}
}

// WriteFiles writes TFVarsFile, EnvFile, PrivateKeyFile and KnownHostsFile into dir (created
// with mode 0700 when missing). Files holding the key are mode 0600.
func (b *Backends) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	vars, err := json.MarshalIndent(b.Vars(), "", "  ")
	if err != nil {
		return err
	}
	v := b.Vars()
	env := fmt.Sprintf("PRIMARY_HOST=%s\nPRIMARY_PORT=%d\nSECONDARY_HOST=%s\nSECONDARY_PORT=%d\nPRIVATE_KEY_FILE=%s\nKNOWN_HOSTS_FILE=%s\nTFVARS_FILE=%s\n",
		v.PrimaryHost, v.PrimaryPort, v.SecondaryHost, v.SecondaryPort,
		filepath.Join(dir, PrivateKeyFile), filepath.Join(dir, KnownHostsFile), filepath.Join(dir, TFVarsFile))
	files := []struct {
		name    string
		content []byte
	}{
		{PrivateKeyFile, []byte(b.keyPEM)},
		{KnownHostsFile, []byte(b.KnownHosts())},
		{TFVarsFile, append(vars, '\n')},
		{EnvFile, []byte(env)},
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.content); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes a 0600 file through a temporary file and a rename, so that a reader
// polling for the file never sees it half written.
func writeFileAtomic(path string, content []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(content)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// WriteStatus writes Status to path atomically.
func (b *Backends) WriteStatus(path string) error {
	return writeFileAtomic(path, []byte(b.Status()))
}

// Status describes the DRBD state of both nodes as an operator would check it: a summary line
// per node and its /proc/drbd.
func (b *Backends) Status() string {
	var sb strings.Builder
	for i, h := range b.hosts {
		n := b.pair.Node(i)
		label := [2]string{"primary backend", "secondary backend"}[i]
		fmt.Fprintf(&sb, "%s (%s, ssh %s):\n", n.Name(), label, h.Addr())
		if !n.IsUp() {
			fmt.Fprintf(&sb, "  resource %s down (metadata kept: %v)\n", b.pair.Config().Resource, n.HasMetadata())
		} else {
			fmt.Fprintf(&sb, "  role %s/%s  cs:%s  ds:%s/%s\n",
				n.Role(), n.PeerRole(), n.ConnState(), n.DiskState(), n.PeerDiskState())
		}
		for _, line := range strings.Split(strings.TrimRight(n.ProcDRBD(), "\n"), "\n") {
			sb.WriteString("  | " + line + "\n")
		}
	}
	return sb.String()
}

// Close stops the progress goroutine and both hosts, and waits for them.
func (b *Backends) Close() error {
	var err error
	b.closeOnce.Do(func() {
		close(b.stop)
		<-b.done
		err = errors.Join(b.hosts[0].Close(), b.hosts[1].Close())
	})
	return err
}
