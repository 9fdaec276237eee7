package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
)

// providerAddressesFile lists the provider's addresses, one a line: Terraform resolves the
// examples' source "seed-a700e435/drbd" to the first, OpenTofu to the second.
const providerAddressesFile = "../../scripts/provider-addresses"

// readProviderAddresses reads the provider's addresses from providerAddressesFile.
func readProviderAddresses() ([]string, error) {
	b, err := os.ReadFile(providerAddressesFile)
	if err != nil {
		return nil, err
	}
	var addrs []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			addrs = append(addrs, line)
		}
	}
	if len(addrs) < 2 {
		return nil, fmt.Errorf("%s lists %d addresses, not Terraform's and OpenTofu's", providerAddressesFile, len(addrs))
	}
	return addrs, nil
}

// providerAddresses is readProviderAddresses that fails the test on error.
func providerAddresses(t testing.TB) []string {
	t.Helper()
	addrs, err := readProviderAddresses()
	if err != nil {
		t.Fatal(err)
	}
	return addrs
}

// observedServer wraps the provider server to report when ApplyResourceChange returns.
type observedServer struct {
	tfprotov6.ProviderServer
	mu        sync.Mutex
	onApplied func(typeName string)
}

// ApplyResourceChange calls the provider, then the onApplied hook with the resource type.
func (s *observedServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	resp, err := s.ProviderServer.ApplyResourceChange(ctx, req)
	s.mu.Lock()
	hook := s.onApplied
	s.mu.Unlock()
	if hook != nil {
		hook(req.TypeName)
	}
	return resp, err
}

// sinkT adapts a test or benchmark to terraform-plugin-log's test sink.
type sinkT struct{ testing.TB }

// Parallel is a no-op: the sink only names its output after the test.
func (sinkT) Parallel() {}

// cliHarness drives the real Terraform CLI with os/exec against this provider served in the
// test process (TF_REATTACH_PROVIDERS), for what terraform-plugin-testing cannot do: send
// SIGINT, time or count one command, keep the state and log files.
type cliHarness struct {
	t         testing.TB
	dir       string
	terraform string
	reattach  string
	server    *observedServer
	env       []string
}

// newCLIHarness serves the provider in-process and prepares an empty working directory. The
// provider logs through terraform-plugin-log's test sink, which follows TF_LOG, TF_LOG_PATH,
// TF_ACC_LOG_PATH and TF_LOG_PATH_MASK of this process.
func newCLIHarness(t testing.TB) *cliHarness {
	t.Helper()
	tfPath := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tfPath == "" {
		p, err := exec.LookPath("terraform")
		if err != nil {
			t.Skip("no terraform CLI: set TF_ACC_TERRAFORM_PATH")
		}
		tfPath = p
	}
	addrs := providerAddresses(t)
	h := &cliHarness{
		t: t, dir: t.TempDir(), terraform: tfPath,
		server: &observedServer{ProviderServer: providerserver.NewProtocol6(New("test")())()},
	}
	ctx, cancel := context.WithCancel(context.Background())
	reattachCh := make(chan *plugin.ReattachConfig, 1)
	closeCh := make(chan struct{})
	opts := []tf6server.ServeOpt{
		tf6server.WithDebug(ctx, reattachCh, closeCh),
		tf6server.WithGoPluginLogger(hclog.NewNullLogger()),
		tf6server.WithoutLogStderrOverride(),
	}
	// The test sink follows TF_LOG/TF_LOG_PATH of this process (off when unset), instead of
	// the server's default of everything on stderr.
	opts = append(opts, tf6server.WithLoggingSink(sinkT{t}))
	served := make(chan error, 1)
	go func() {
		served <- tf6server.Serve(addrs[0], func() tfprotov6.ProviderServer { return h.server }, opts...)
	}()
	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattachCh:
	case err := <-served:
		cancel()
		t.Fatalf("serve provider: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("provider server did not start")
	}
	t.Cleanup(func() {
		cancel()
		<-closeCh
	})
	// The same server under every address, so that terraform and tofu both find it.
	reattach := map[string]any{}
	for _, a := range addrs {
		reattach[a] = map[string]any{
			"Protocol": string(rc.Protocol), "ProtocolVersion": rc.ProtocolVersion, "Pid": rc.Pid, "Test": true,
			"Addr": map[string]string{"Network": rc.Addr.Network(), "String": rc.Addr.String()},
		}
	}
	b, err := json.Marshal(reattach)
	if err != nil {
		t.Fatal(err)
	}
	h.reattach = string(b)
	// An empty CLI configuration: no dev_overrides or plugin cache of the machine leak in.
	h.writeFile(".terraformrc", "")
	return h
}

// writeFile writes a file into the working directory.
func (h *cliHarness) writeFile(name, content string) {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// copyDir copies the *.tf files of dir into the working directory.
func (h *cliHarness) copyDir(dir string) {
	h.t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		h.t.Fatalf("no .tf files in %s: %v", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			h.t.Fatal(err)
		}
		h.writeFile(filepath.Base(f), string(b))
	}
}

// command prepares a terraform command in the working directory; Terraform's own logging
// variables are not inherited.
func (h *cliHarness) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, h.terraform, args...)
	cmd.Dir = h.dir
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TF_LOG") || strings.HasPrefix(kv, "TF_CLI_") || strings.HasPrefix(kv, "TF_REATTACH_PROVIDERS=") ||
			strings.HasPrefix(kv, "TF_PLUGIN_CACHE_DIR=") || strings.HasPrefix(kv, "TF_DATA_DIR=") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "TF_REATTACH_PROVIDERS="+h.reattach, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
		"TF_INPUT=0", "TF_CLI_CONFIG_FILE="+filepath.Join(h.dir, ".terraformrc"))
	cmd.Env = append(cmd.Env, h.env...)
	return cmd
}

// run runs terraform to completion and returns its combined output.
func (h *cliHarness) run(args ...string) (string, error) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := h.command(ctx, append(args, "-no-color")...).CombinedOutput()
	return string(out), err
}

// mustRun is run that fails the test when terraform fails.
func (h *cliHarness) mustRun(args ...string) string {
	h.t.Helper()
	out, err := h.run(args...)
	if err != nil {
		h.t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// onApplied sets the hook called whenever ApplyResourceChange returns.
func (h *cliHarness) onApplied(hook func(typeName string)) {
	h.server.mu.Lock()
	defer h.server.mu.Unlock()
	h.server.onApplied = hook
}

// init runs terraform init; the reattached provider needs no download.
func (h *cliHarness) init() { h.t.Helper(); h.mustRun("init", "-input=false") }

// syncedBuffer is a bytes.Buffer safe for a writing process and a reading test.
type syncedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *syncedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *syncedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
