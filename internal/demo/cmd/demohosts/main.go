// Command demohosts serves two simulated DRBD backends behind real SSH on 127.0.0.1 for
// `make demo` (scripts/demo.sh).
//
// It writes demo.tfvars.json, demo.env, id_ed25519 and known_hosts into -dir, prints one line
// starting with "demohosts: ready" and serves until SIGINT or SIGTERM, when it prints the final
// DRBD status of both nodes and exits. SIGUSR1 writes the current status to -dir/status.txt
// (atomically, so a script can wait for the file to appear).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/demo"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demohosts:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", "", "directory for the tfvars, env, key and known_hosts files (required)")
	version := flag.String("drbd", "8.4", "simulated DRBD version: 8.3, 8.4 or 9")
	syncFor := flag.Duration("sync", demo.DefaultSyncDuration, "how long the simulated initial resync takes")
	flag.Parse()
	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	v, err := parseVersion(*version)
	if err != nil {
		return err
	}

	// Subscribe before announcing readiness, so that a signal sent right after the ready line
	// is never lost.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR1)

	b, err := demo.Start(demo.Config{Version: v, SyncDuration: *syncFor})
	if err != nil {
		return err
	}
	defer func() { _ = b.Close() }()
	if err := b.WriteFiles(*dir); err != nil {
		return err
	}
	fmt.Printf("demohosts: ready primary=%s secondary=%s drbd=%s sync=%s dir=%s\n",
		b.Host(0).Addr(), b.Host(1).Addr(), v, syncFor.Round(time.Millisecond), *dir)

	for sig := range sigs {
		if sig == syscall.SIGUSR1 {
			if err := b.WriteStatus(filepath.Join(*dir, "status.txt")); err != nil {
				fmt.Fprintln(os.Stderr, "demohosts: write status:", err)
			}
			continue
		}
		break
	}
	fmt.Print("demohosts: final DRBD status of the simulated nodes\n" + b.Status())
	return b.Close()
}

func parseVersion(s string) (drbdsim.Version, error) {
	switch s {
	case "8.4":
		return drbdsim.V84, nil
	case "8.3":
		return drbdsim.V83, nil
	case "9":
		return drbdsim.V9, nil
	}
	return 0, fmt.Errorf("-drbd %q: want 8.3, 8.4 or 9", s)
}
