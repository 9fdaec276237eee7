package demo

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestDemoProgressFilterIsLive checks that scripts/demo-progress.sh, which make demo puts between
// the provider log and the terminal, prints each sync progress line while its input is still
// open. A block-buffering filter (Debian's mawk without -W interactive) printed them only at
// end of input, that is after terraform apply had printed "Apply complete!".
func TestDemoProgressFilterIsLive(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "demo-progress.sh"))
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "first")
	cmd := exec.Command(bash, script, marker)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		_ = stdin.Close()
		if !waited {
			_ = cmd.Wait()
		}
	})

	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("%s: demo-progress.sh ended without printing it", what)
			}
			return l
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: not printed within 10s while the input stays open (output buffered?)", what)
		}
		return ""
	}

	// Lines as hclog writes them to TF_LOG_PATH (fields in any order; empty ones as key="").
	progress := `2026-01-02T03:04:05.000Z [INFO]  provider.terraform-provider-drbd: DRBD sync progress: ` +
		`connection_state=SyncSource replication_state="" tf_resource_type=drbd_sync disk_state=UpToDate ` +
		`eta=30s percent=0.4 speed_kib_per_sec=34132 @module=drbd peer_disk_state=Inconsistent ` +
		`host=root@127.0.0.1:43701 out_of_sync_kib=1048508 timestamp=2026-01-02T03:04:05.000Z`
	complete := `2026-01-02T03:04:35.000Z [INFO]  provider.terraform-provider-drbd: DRBD sync complete: ` +
		`tf_resource_type=drbd_sync host=root@127.0.0.1:43701 resource=pc0 @module=drbd`

	write := func(s string) {
		t.Helper()
		if _, err := io.WriteString(stdin, s+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	write("2026-01-02T03:04:04.000Z [INFO]  provider.terraform-provider-drbd: unrelated line")
	write(progress)
	got := next("the progress line")
	want := "    [provider log] DRBD sync progress: host=root@127.0.0.1:43701 connection_state=SyncSource " +
		"disk_state=UpToDate peer_disk_state=Inconsistent percent=0.4 out_of_sync_kib=1048508 " +
		"speed_kib_per_sec=34132 eta=30s"
	if got != want {
		t.Errorf("progress line\n got %q\nwant %q", got, want)
	}
	write(complete)
	if got, want := next("the complete line"), "    [provider log] DRBD sync complete: host=root@127.0.0.1:43701"; got != want {
		t.Errorf("complete line\n got %q\nwant %q", got, want)
	}
	if err := stdin.Close(); err != nil {
		t.Fatal(err)
	}
	if l, ok := <-lines; ok {
		t.Errorf("unexpected output after the input ended: %q", l)
	}
	waited = true
	if err := cmd.Wait(); err != nil {
		t.Fatalf("demo-progress.sh: %v", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("marker file (demo.sh's proof that a line was printed): %v", err)
	}
}
