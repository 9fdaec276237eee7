package provider

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

// randomSecret returns a recognisable random string.
func randomSecret(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// secretNeedles are the strings whose presence in a file means a credential leaked: the
// passphrase, the password, the whole PEM and every base64 line of its body.
func secretNeedles(keyPEM, passphrase, password string) map[string]string {
	needles := map[string]string{"private_key_passphrase": passphrase, "password": password, "private_key": strings.TrimSpace(keyPEM)}
	for i, line := range strings.Split(keyPEM, "\n") {
		line = strings.TrimSpace(line)
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			needles[fmt.Sprintf("private_key line %d", i)] = line
		}
	}
	return needles
}

// grepSecrets fails the test for every needle found in one of files.
func grepSecrets(t *testing.T, files []string, needles map[string]string) {
	t.Helper()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Errorf("read %s: %v", f, err)
			continue
		}
		for what, needle := range needles {
			if strings.Contains(string(b), needle) {
				t.Errorf("%s leaked into %s", what, f)
			}
		}
	}
}

// stateFiles lists the Terraform state files (and backups) under dir.
func stateFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.Contains(d.Name(), ".tfstate") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAccSecrets_notInStateOrLog applies the whole runbook with an encrypted private key, its
// passphrase and a password configured together, refreshes and destroys, then searches the
// state files and the provider's TRACE log for them. It drives the CLI itself (cliHarness)
// rather than terraform-plugin-testing, whose own helper logs print the test configuration
// into the same sink; here the secrets reach Terraform only as TF_VAR_ environment variables
// of the CLI, so every line of the log comes from the provider server. It is not parallel:
// terraform-plugin-log's test sink reads TF_LOG and TF_LOG_PATH from the process environment
// on every request.
func TestAccSecrets_notInStateOrLog(t *testing.T) {
	testAccPreCheck(t)
	passphrase := randomSecret(t, "passphrase-")
	password := randomSecret(t, "password-")
	signer, keyPEM, err := testhost.NewEncryptedSigner(passphrase)
	if err != nil {
		t.Fatal(err)
	}
	// A slower simulated sync (10% per command, not 25%) keeps it running until drbd_sync
	// raises the rate, whatever reads the steps before it make.
	e := newEnvWith(t, drbdsim.PairConfig{SyncStepPercent: 10}, envOptions{signer: signer, keyPEM: keyPEM, passwords: map[string]string{"root": password}})
	logFile := filepath.Join(t.TempDir(), "provider.log")
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_LOG_PATH", logFile) // read by the in-process provider's sink; not passed to the CLI
	t.Setenv("TF_ACC_LOG_PATH", "")
	t.Setenv("TF_LOG_PATH_MASK", "")

	h := newCLIHarness(t)
	h.env = append(h.env, e.exampleEnv()...) // the pair's addresses, known_hosts and TF_VAR_private_key
	h.env = append(h.env, "TF_VAR_private_key_passphrase="+passphrase, "TF_VAR_password="+password)
	h.copyDir(testdataDir(t))
	h.init()
	h.mustRun("apply", "-auto-approve", "-input=false")
	if err := e.checkRunbookDone()(nil); err != nil {
		t.Fatalf("the apply did not reach the hosts: %v", err)
	}
	needles := secretNeedles(keyPEM, passphrase, password)
	state := filepath.Join(h.dir, "terraform.tfstate")
	if b, err := os.ReadFile(state); err != nil || !strings.Contains(string(b), `"drbd_chef_backend_ready"`) {
		t.Fatalf("no state with the applied resources at %s: %v", state, err)
	}
	grepSecrets(t, stateFiles(t, h.dir), needles)
	// A refresh rewrites the state from every Read.
	h.mustRun("apply", "-refresh-only", "-auto-approve", "-input=false")
	grepSecrets(t, stateFiles(t, h.dir), needles)
	h.mustRun("destroy", "-auto-approve", "-input=false")
	grepSecrets(t, stateFiles(t, h.dir), needles)

	// The log must really hold the provider's TRACE output before the absence of secrets in
	// it means anything.
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("provider log: %v", err)
	}
	for _, want := range []string{"[TRACE] drbd: remote command finished", "[DEBUG] drbd: running remote command",
		"tf_rpc=ConfigureProvider", "tf_resource_type=drbd_sync", "drbdadm disk-options", "[TRACE] sdk.proto"} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("the provider log lacks %q: TRACE output was not captured (%d bytes)", want, len(b))
		}
	}
	grepSecrets(t, []string{logFile}, needles)
}
