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

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"golang.org/x/crypto/ssh"

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
	e := &testEnv{t: t, pair: drbdsim.NewPair(drbdsim.PairConfig{ConfigFile: true}), keyPEM: keyPEM}
	for i := range e.hosts {
		e.hosts[i] = testhost.New(t, testhost.Config{
			AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()},
			Passwords:      map[string]string{"root": password},
			Handler:        simHandler(e.pair.Node(i)),
		})
	}
	logFile := filepath.Join(t.TempDir(), "provider.log")
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_LOG_PATH", logFile) // read by the in-process provider's sink; not passed to the CLI
	t.Setenv("TF_ACC_LOG_PATH", "")
	t.Setenv("TF_LOG_PATH_MASK", "")

	h := newCLIHarness(t)
	h.env = append(h.env, "TF_VAR_private_key="+keyPEM, "TF_VAR_private_key_passphrase="+passphrase, "TF_VAR_password="+password)
	h.writeFile("main.tf", requiredProviders+fmt.Sprintf(`
variable "private_key" {
  type      = string
  sensitive = true
}

variable "private_key_passphrase" {
  type      = string
  sensitive = true
}

variable "password" {
  type      = string
  sensitive = true
}

provider "drbd" {
  private_key            = var.private_key
  private_key_passphrase = var.private_key_passphrase
  password               = var.password
  known_hosts            = %[4]q
  connect_retries        = 0
}

resource "drbd_resource" "primary" {
  %[1]s
  name = "pc0"
}

resource "drbd_resource" "secondary" {
  %[2]s
  name = "pc0"
}

resource "drbd_primary" "primary" {
  %[1]s
  resource   = drbd_resource.primary.name
  force      = true
  depends_on = [drbd_resource.secondary]
}

resource "drbd_filesystem" "data" {
  %[1]s
  resource = drbd_primary.primary.resource
}

resource "drbd_sync" "initial" {
  %[1]s
  %[3]s
  resource      = drbd_primary.primary.resource
  resync_rate   = "1100M"
  poll_interval = "100ms"
  depends_on    = [drbd_filesystem.data]
}

resource "drbd_chef_backend_ready" "primary" {
  %[1]s
  depends_on = [drbd_sync.initial]
}

resource "drbd_chef_backend_ready" "secondary" {
  %[2]s
  depends_on = [drbd_chef_backend_ready.primary]
}

data "drbd_status" "secondary" {
  %[2]s
  resource   = "pc0"
  depends_on = [drbd_chef_backend_ready.secondary]
}
`, e.hostArgs(0), e.hostArgs(1), e.peerArgs(), e.knownHosts()))
	h.init()
	h.mustRun("apply", "-auto-approve", "-input=false")
	if err := e.checkRunbookDoneLite()(nil); err != nil {
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

// checkRunbookDoneLite checks that the apply really reached the hosts: the pair is in sync
// with node1 Primary and both ready files exist.
func (e *testEnv) checkRunbookDoneLite() resource.TestCheckFunc {
	return func(*terraform.State) error {
		if e.node(0).Role() != "Primary" || e.node(0).DiskState() != "UpToDate" || e.node(1).DiskState() != "UpToDate" {
			return fmt.Errorf("pair not in sync: %s %s/%s", e.node(0).Role(), e.node(0).DiskState(), e.node(1).DiskState())
		}
		for i := range 2 {
			if !e.node(i).FileExists(defaultReadyFile) {
				return fmt.Errorf("node%d has no ready file", i+1)
			}
		}
		return nil
	}
}
