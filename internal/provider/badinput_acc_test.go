package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

// hostileStrings are values no command-bound attribute may accept: shell metacharacters,
// line breaks, option injection, relative paths and blanks.
var hostileStrings = []string{
	"x; reboot",
	"x\nreboot",
	"$(reboot)",
	"`reboot`",
	"x | sh",
	"x && reboot",
	"-oProxyCommand=reboot",
	"relative/path",
	"../etc",
	"",
	" ",
}

// hostileAbsPaths are absolute paths that must be refused all the same.
var hostileAbsPaths = []string{
	"/var/opt/x; reboot",
	"/var/opt/x\nreboot",
	"/var/opt/$(reboot)",
	"/var/opt/`reboot`",
	"/var/opt/x y",
	"/var/opt/../../etc/passwd",
	"/var/opt//x",
	"/var/opt/x/",
	"/var/opt/*",
	"/var/opt/~root",
}

// badInputCase is one attribute of one resource or data source set to a hostile value.
type badInputCase struct {
	block string // e.g. `resource "drbd_sync" "test"`
	base  string // the other (valid) attributes
	attr  string
	value string
	want  *regexp.Regexp
}

func TestAccBadInput_everyCommandBoundAttribute(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	host := e.hostArgs(0)
	invalidName := regexp.MustCompile(`Invalid DRBD Resource Name`)
	invalidPath := regexp.MustCompile(`Invalid Path`)
	invalidHost := regexp.MustCompile(`(?s)must be a host name or an\s+IP address`)
	blank := regexp.MustCompile(`(?s)Blank Value|must not be empty|at least 1`)

	blocks := []struct {
		block string
		base  map[string]string // attribute -> valid value; attributes listed in checks are replaced
		names []string          // DRBD resource name attributes
		paths []string          // remote path attributes
		hosts []string          // host attributes
	}{
		{`resource "drbd_resource" "test"`, map[string]string{"name": "pc0"}, []string{"name"}, nil, []string{"host"}},
		{`resource "drbd_primary" "test"`, map[string]string{"resource": "pc0"}, []string{"resource"}, nil, []string{"host"}},
		{`resource "drbd_filesystem" "test"`, map[string]string{"resource": "pc0"}, []string{"resource"}, []string{"device", "mountpoint"}, []string{"host"}},
		{`resource "drbd_sync" "test"`, map[string]string{"resource": "pc0"}, []string{"resource"}, nil, []string{"host", "peer_host"}},
		{`resource "drbd_chef_backend_ready" "test"`, map[string]string{}, nil, []string{"ready_file"}, []string{"host"}},
		{`data "drbd_status" "test"`, map[string]string{"resource": "pc0"}, []string{"resource"}, nil, []string{"host"}},
	}
	var cases []badInputCase
	render := func(base map[string]string, skip string) string {
		var b strings.Builder
		for k, v := range base {
			if k != skip {
				fmt.Fprintf(&b, "  %s = %q\n", k, v)
			}
		}
		return b.String()
	}
	for _, bl := range blocks {
		for _, a := range bl.names {
			for _, v := range hostileStrings {
				cases = append(cases, badInputCase{bl.block, host + "\n" + render(bl.base, a), a, v, invalidName})
			}
		}
		for _, a := range bl.paths {
			for _, v := range append(append([]string{}, hostileStrings...), hostileAbsPaths...) {
				cases = append(cases, badInputCase{bl.block, host + "\n" + render(bl.base, a), a, v, invalidPath})
			}
		}
		for _, a := range bl.hosts {
			base := render(bl.base, a)
			if a != "host" {
				base = host + "\n" + base
			} else {
				base = fmt.Sprintf("port = %d\n", e.hosts[0].Port()) + base
			}
			for _, v := range append(append([]string{}, hostileStrings...), "127.0.0.1 -p 22", "[::1]", "host%eth0;x") {
				cases = append(cases, badInputCase{bl.block, base, a, v, invalidHost})
			}
		}
	}
	// Options, rates and contents with their own validators.
	fs, sync, res := blocks[2], blocks[3], blocks[0]
	for _, v := range []string{"noatime;reboot", "noatime,$(reboot)", "noatime\nreboot", "noatime reboot", "noatime,", ",noatime", "", " ", "ro,x=`id`"} {
		cases = append(cases, badInputCase{fs.block, host + "\n" + render(fs.base, ""), "mount_options", v, regexp.MustCompile(`(?s)mount\s+options`)})
	}
	for _, v := range []string{"-E nodiscard; reboot", "-E $(reboot)", "-L x|y", "-L 'x'", "-L \"x\"", "-d ~root", "-E *"} {
		cases = append(cases, badInputCase{fs.block, host + "\n" + render(fs.base, ""), "mkfs_options", v, regexp.MustCompile(`(?s)mkfs\s+option`)})
	}
	for _, v := range []string{"ext4;reboot", "ext4\n", "", "EXT4", "ntfs"} {
		cases = append(cases, badInputCase{fs.block, host + "\n" + render(fs.base, ""), "fs_type", v, regexp.MustCompile(`(?s)value must be one\s+of`)})
	}
	for _, v := range []string{"1100M; reboot", "1100M\nreboot", "$(reboot)", "", " ", "-1M", "1100 M", "fast"} {
		cases = append(cases, badInputCase{sync.block, host + "\n" + render(sync.base, ""), "resync_rate", v, regexp.MustCompile(`Invalid Resync Rate`)})
	}
	for _, v := range []string{"", " ", "\n\t\n"} {
		cases = append(cases, badInputCase{res.block, host + "\n" + render(res.base, ""), "config", v, blank})
	}
	for _, v := range []string{"", " "} {
		cases = append(cases, badInputCase{`resource "drbd_chef_backend_ready" "test"`, host + "\n", "reconfigure_command", v, blank})
	}

	runBadInputCases(t, e, cases)
}

// runBadInputCases plans each case and expects its error; afterwards no host may have been
// contacted at all.
func runBadInputCases(t *testing.T, e *testEnv, cases []badInputCase) {
	t.Helper()
	for i, tc := range cases {
		name := fmt.Sprintf("%02d_%s_%s_%q", i, strings.Fields(tc.block)[1], tc.attr, tc.value)
		t.Run(name, func(t *testing.T) {
			accTest(t, resource.TestStep{
				Config: e.providerConfig() + block(tc.block, tc.base, fmt.Sprintf("%s = %q", tc.attr, tc.value)),
				// terraform validate refuses the value before any plan.
				PlanOnly:    true,
				ExpectError: tc.want,
			})
		})
	}
	t.Cleanup(func() {
		for i := range e.hosts {
			if got := e.hosts[i].Commands(); len(got) != 0 {
				t.Errorf("host%d received commands despite plan-time validation: %q", i+1, got)
			}
			if n := e.hosts[i].Handshakes(); n != 0 {
				t.Errorf("host%d: %d SSH connections despite plan-time validation", i+1, n)
			}
		}
	})
}

// TestAccBadInput_hostWithPortAndMultilineMkfsOptions: values that would reach no shell
// unquoted but are still refused at plan time: a host with a port in it ("127.0.0.1:22";
// IPv6 addresses are told apart with net.ParseIP) and mkfs_options split across lines.
func TestAccBadInput_hostWithPortAndMultilineMkfsOptions(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	host := e.hostArgs(0)
	runBadInputCases(t, e, []badInputCase{
		{`resource "drbd_resource" "test"`, fmt.Sprintf("port = %d\n  name = \"pc0\"", e.hosts[0].Port()), "host", "127.0.0.1:22", regexp.MustCompile(`(?s)must be a host name or an\s+IP address`)},
		{`data "drbd_status" "test"`, fmt.Sprintf("port = %d\n  resource = \"pc0\"", e.hosts[0].Port()), "host", "127.0.0.1:22", regexp.MustCompile(`(?s)must be a host name or an\s+IP address`)},
		{`resource "drbd_filesystem" "test"`, host, "mkfs_options", "-E nodiscard\nreboot", regexp.MustCompile(`(?s)mkfs\s+option`)},
	})
}

// TestAccBadInput_reconfigureCommandIsShell documents the one deliberate exception:
// reconfigure_command reaches the remote shell as written (pipes, && and environment
// assignments work), and its schema description says so.
func TestAccBadInput_reconfigureCommandIsShell(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	const cmd = "CHEF_LICENSE=accept chef-server-ctl reconfigure && touch /var/opt/opscode/drbd/reconfigured"
	accTest(t, resource.TestStep{
		Config: e.readyConfig(0, fmt.Sprintf("reconfigure_command = %q", cmd)),
		Check: func(*terraform.State) error {
			if !e.node(0).FileExists("/var/opt/opscode/drbd/reconfigured") || len(e.node(0).ReconfigureRuns()) != 1 {
				return fmt.Errorf("reconfigure_command was not run by the shell as written")
			}
			return nil
		},
	})
	var sr fwresource.SchemaResponse
	(&chefBackendReadyResource{}).Schema(context.Background(), fwresource.SchemaRequest{}, &sr)
	attr, ok := sr.Schema.Attributes["reconfigure_command"]
	if !ok {
		t.Fatal("drbd_chef_backend_ready has no reconfigure_command")
	}
	desc := attr.GetMarkdownDescription()
	for _, want := range []string{"Passed to the remote shell as written", "never build it from untrusted input", "Never put a secret in it"} {
		if !strings.Contains(desc, want) {
			t.Errorf("reconfigure_command's description does not say %q: %q", want, desc)
		}
	}
	if sa := sr.Schema.Attributes["stop_command"].GetMarkdownDescription(); !strings.Contains(sa, "never put a secret in it") {
		t.Errorf("stop_command's description does not say it must carry no secret: %q", sa)
	}
}

// TestAccBadInput_hostKeyMarkers: a known_hosts line with a marker in host_key or
// peer_host_key is refused at plan time. Taken as a plain pin, "@revoked * KEY" would trust
// exactly the revoked key and "@cert-authority PATTERN KEY" the CA's key.
func TestAccBadInput_hostKeyMarkers(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{})
	host := e.hostArgs(0)
	key := e.hosts[0].AuthorizedKeyLine()
	values := map[string]*regexp.Regexp{
		"@revoked * " + key:                    diagRE("Invalid Host Key", "@revoked", "known_hosts"),
		"@cert-authority *.example.com " + key: diagRE("Invalid Host Key", "@cert-authority", "certificates are not supported"),
		key + "\n@revoked backend1 " + key:     diagRE("Invalid Host Key", "line 2", "@revoked"),
		"ssh-ed25519 !!!":                      diagRE("Invalid Host Key", "cannot parse"),
		" \n":                                  diagRE("Invalid Host Key", "holds no key"),
	}
	targets := []struct{ block, base, attr string }{
		{`resource "drbd_resource" "test"`, host + "\n  name = \"pc0\"", "host_key"},
		{`resource "drbd_primary" "test"`, host + "\n  resource = \"pc0\"", "host_key"},
		{`resource "drbd_primary" "test"`, host + "\n  resource = \"pc0\"\n  " + e.peerArgs(1), "peer_host_key"},
		{`resource "drbd_filesystem" "test"`, host + "\n  resource = \"pc0\"", "host_key"},
		{`resource "drbd_sync" "test"`, host + "\n  resource = \"pc0\"", "host_key"},
		{`resource "drbd_sync" "test"`, host + "\n  resource = \"pc0\"\n  " + e.peerArgs(1), "peer_host_key"},
		{`resource "drbd_chef_backend_ready" "test"`, host, "host_key"},
		{`data "drbd_status" "test"`, host + "\n  resource = \"pc0\"", "host_key"},
	}
	var cases []badInputCase
	for _, tg := range targets {
		for v, want := range values {
			cases = append(cases, badInputCase{tg.block, tg.base, tg.attr, v, want})
		}
	}
	runBadInputCases(t, e, cases)
}
