package provider

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"golang.org/x/crypto/ssh"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
	"github.com/seed-a700e435/terraform-provider-drbd/internal/testhost"
)

// testAccProtoV6ProviderFactories runs the provider in-process, so the fake hosts of a test
// and the provider share the process and the test can inspect both.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"drbd": providerserver.NewProtocol6WithError(New("test")()),
}

// TestMain registers the in-process provider under its real source address, so that test
// configurations (and the examples they load) use `source = "seed-a700e435/drbd"` as users do.
func TestMain(m *testing.M) {
	if os.Getenv(resource.EnvTfAccProviderNamespace) == "" {
		_ = os.Setenv(resource.EnvTfAccProviderNamespace, "seed-a700e435")
	}
	os.Exit(m.Run())
}

// requiredProviders pins the provider's source address in inline test configurations.
const requiredProviders = `
terraform {
  required_providers {
    drbd = {
      source = "seed-a700e435/drbd"
    }
  }
}
`

// testAccPreCheck skips acceptance tests unless TF_ACC is set (terraform-plugin-testing
// does the same; this gives a clearer reason).
func testAccPreCheck(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests need TF_ACC=1 and a Terraform CLI (TF_ACC_TERRAFORM_PATH)")
	}
}

// testEnv is a simulated DRBD pair served by two fake SSH hosts on 127.0.0.1.
type testEnv struct {
	t      *testing.T
	pair   *drbdsim.Pair
	hosts  [2]*testhost.Host
	keyPEM string
}

// simHandler serves a simulated node's operating system over the fake host.
func simHandler(n *drbdsim.Node) testhost.Handler {
	return func(ctx context.Context, e *testhost.Exec) int {
		return n.Handle(ctx, e.Command, e.Stdin, e.Stdout, e.Stderr)
	}
}

// newTestEnv starts a pair of fake DRBD hosts. The resource file exists on both nodes; the
// caller decides how far the pair is brought up.
func newTestEnv(t *testing.T, cfg drbdsim.PairConfig) *testEnv {
	t.Helper()
	cfg.ConfigFile = true
	signer, keyPEM, err := testhost.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, pair: drbdsim.NewPair(cfg), keyPEM: keyPEM}
	for i := range e.hosts {
		e.hosts[i] = testhost.New(t, testhost.Config{
			AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()},
			Handler:        simHandler(e.pair.Node(i)),
		})
	}
	return e
}

// node returns simulated node i.
func (e *testEnv) node(i int) *drbdsim.Node { return e.pair.Node(i) }

// sh runs a command on node i out of band (an operator at the console) and fails the test
// when it exits non-zero.
func (e *testEnv) sh(i int, cmd string) {
	e.t.Helper()
	var out, errb strings.Builder
	if code := e.node(i).Handle(context.Background(), cmd, strings.NewReader(""), &out, &errb); code != 0 {
		e.t.Fatalf("out-of-band %q on node%d exited %d: %s%s", cmd, i+1, code, out.String(), errb.String())
	}
}

// knownHosts is the known_hosts content for both fake hosts.
func (e *testEnv) knownHosts() string {
	return e.hosts[0].KnownHostsLine() + "\n" + e.hosts[1].KnownHostsLine() + "\n"
}

// providerConfig is a provider block that trusts both hosts and does not retry (fast failures).
func (e *testEnv) providerConfig() string {
	return requiredProviders + fmt.Sprintf(`
provider "drbd" {
  private_key     = <<-EOT
%s
EOT
  known_hosts     = <<-EOT
%s
EOT
  connect_retries = 0
  connect_timeout = "5s"
}
`, strings.TrimSpace(e.keyPEM), strings.TrimSpace(e.knownHosts()))
}

// hostArgs are the host/port attributes that address node i.
func (e *testEnv) hostArgs(i int) string {
	return fmt.Sprintf("host = %q\n  port = %d", e.hosts[i].Host(), e.hosts[i].Port())
}

// importID is the import ID of something on node i.
func (e *testEnv) importID(i int, rest string) string {
	return fmt.Sprintf("%s:%d/%s", e.hosts[i].Host(), e.hosts[i].Port(), strings.TrimPrefix(rest, "/"))
}

// mutations returns the mutating commands node i has run so far, as strings.
func (e *testEnv) mutations(i int) []string {
	var out []string
	for _, argv := range e.node(i).Mutating() {
		out = append(out, strings.Join(argv, " "))
	}
	return out
}

// checkNoNewMutations returns a check that fails when node i ran a mutating command after
// before was taken.
func (e *testEnv) checkNoNewMutations(before *[2]int) resource.TestCheckFunc {
	return func(_ *terraform.State) error {
		for i := range 2 {
			got := e.mutations(i)
			if len(got) != before[i] {
				return fmt.Errorf("node%d ran mutating commands it should not have: %q", i+1, got[before[i]:])
			}
		}
		return nil
	}
}

// snapshotMutations records the number of mutating commands so far on both nodes.
func (e *testEnv) snapshotMutations(into *[2]int) func() {
	return func() {
		for i := range 2 {
			into[i] = len(e.mutations(i))
		}
	}
}

// ranCommand reports whether node i ran a program whose argv starts with prefix.
func (e *testEnv) ranCommand(i int, prefix ...string) bool {
	for _, argv := range e.node(i).Executed() {
		if len(argv) >= len(prefix) && slices.Equal(argv[:len(prefix)], prefix) {
			return true
		}
	}
	return false
}

func TestProvider_schemaValid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := New("test")()
	srv := providerserver.NewProtocol6(p)()
	resp, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Errorf("schema diagnostic: %s: %s", d.Summary, d.Detail)
	}
	want := []string{"drbd_resource", "drbd_primary", "drbd_filesystem", "drbd_sync", "drbd_chef_backend_ready"}
	for _, name := range want {
		if _, ok := resp.ResourceSchemas[name]; !ok {
			t.Errorf("resource %s missing", name)
		}
	}
	if _, ok := resp.DataSourceSchemas["drbd_status"]; !ok {
		t.Error("data source drbd_status missing")
	}
	// Every attribute documents itself.
	check := func(kind string, s *tfprotov6.Schema) {
		var walk func(prefix string, b *tfprotov6.SchemaBlock)
		walk = func(prefix string, b *tfprotov6.SchemaBlock) {
			for _, a := range b.Attributes {
				if strings.TrimSpace(a.Description) == "" {
					t.Errorf("%s: attribute %s%s has no description", kind, prefix, a.Name)
				}
			}
			for _, nb := range b.BlockTypes {
				walk(prefix+nb.TypeName+".", nb.Block)
			}
		}
		walk("", s.Block)
	}
	check("provider", resp.Provider)
	for name, s := range resp.ResourceSchemas {
		check(name, s)
	}
	for name, s := range resp.DataSourceSchemas {
		check(name, s)
	}
}
