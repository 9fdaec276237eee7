// Package provider implements the drbd Terraform provider: resources that bring up and fail
// over DRBD-replicated storage over SSH, step by step as the Chef Server HA runbook does.
package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/sshx"
)

var (
	_ provider.Provider                   = (*drbdProvider)(nil)
	_ provider.ProviderWithValidateConfig = (*drbdProvider)(nil)
)

// Defaults of the provider block that are the provider's own, documented in the schema: for
// sshx, zero retries and a zero keepalive interval mean none. The other defaults (user, port,
// connect_timeout, host_key_policy, the bastion's port and user, known_hosts_file) are sshx's,
// applied there to what the configuration leaves unset.
const (
	defaultConnectRetries    = 8
	defaultKeepaliveInterval = 15 * time.Second
)

// New returns a constructor of the provider for providerserver.Serve.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &drbdProvider{version: version}
	}
}

// providerTypeName is the provider's type name, the prefix of every resource and data source type.
const providerTypeName = "drbd"

// drbdProvider is the drbd provider; version is the release it reports.
type drbdProvider struct {
	version string
}

func (p *drbdProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = providerTypeName
	resp.Version = p.version
}

func (p *drbdProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The `drbd` provider brings up and fails over DRBD-replicated storage over SSH, " +
			"one runbook step per resource (first of all the Chef Server high-availability backend pair). " +
			"Credentials live only in this block, so they never enter the state. One SSH connection per " +
			"target (host, port, user) is opened lazily at apply or refresh time and shared by every " +
			"resource of this provider instance.",
		Attributes: map[string]schema.Attribute{
			"user": schema.StringAttribute{
				MarkdownDescription: "SSH user for every host unless a resource overrides it. Defaults to `root`.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"port": schema.Int64Attribute{
				MarkdownDescription: "SSH port for every host unless a resource overrides it. Defaults to `22`.",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(1, 65535)},
			},
			"private_key": schema.StringAttribute{
				MarkdownDescription: "Private key (PEM or OpenSSH format content, not a path) for public-key authentication.",
				Optional:            true,
				Sensitive:           true,
			},
			"private_key_passphrase": schema.StringAttribute{
				MarkdownDescription: "Passphrase of an encrypted `private_key`.",
				Optional:            true,
				Sensitive:           true,
				Validators:          []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("private_key"))},
			},
			"certificate": schema.StringAttribute{
				MarkdownDescription: "Signed OpenSSH user certificate (the `*-cert.pub` line) for `private_key`.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("private_key"))},
			},
			"password": schema.StringAttribute{
				MarkdownDescription: "Password for password authentication.",
				Optional:            true,
				Sensitive:           true,
			},
			"agent": schema.BoolAttribute{
				MarkdownDescription: "Use the SSH agent at `SSH_AUTH_SOCK`. Several methods may be given; they are tried in the order key, certificate, agent, password.",
				Optional:            true,
			},
			"known_hosts": schema.StringAttribute{
				MarkdownDescription: "known_hosts content (not a path) used to verify host keys, e.g. from a sensitive variable in HCP Terraform.",
				Optional:            true,
			},
			"known_hosts_file": schema.StringAttribute{
				MarkdownDescription: "Path of a known_hosts file. Defaults to `~/.ssh/known_hosts` when that file exists.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"host_key_policy": schema.StringAttribute{
				MarkdownDescription: "`strict` (default: the host key must be known from `known_hosts`, `known_hosts_file` or the resource's `host_key`), " +
					"`accept-new` (like OpenSSH `StrictHostKeyChecking=accept-new`: the first key seen is recorded in each resource's `host_key_fingerprint` and enforced afterwards) " +
					"or `insecure` (no checking; warns at plan time).",
				Optional:   true,
				Validators: []validator.String{stringvalidator.OneOf(sshx.PolicyStrict, sshx.PolicyAcceptNew, sshx.PolicyInsecure)},
			},
			"sudo": schema.BoolAttribute{
				MarkdownDescription: "Run every command as `sudo -n -- sh -c '...'` (never prompts, never hangs: the user needs passwordless sudo).",
				Optional:            true,
			},
			"connect_timeout": schema.StringAttribute{
				MarkdownDescription: "Timeout of one SSH connection attempt, as a Go duration. Defaults to `30s` for a create; " +
					"every other operation (refresh and plan, `drbd_status`, update, destroy) makes a single attempt bounded by " +
					"this value when it is set, else by `10s`, so that a plan against a dead host fails within seconds.",
				CustomType: timetypes.GoDurationType{},
				Optional:   true,
				Validators: []validator.String{durationValidator(0)},
			},
			"connect_retries": schema.Int64Attribute{
				MarkdownDescription: "How many times a refused or timed-out connection of a create is retried, with exponential backoff from 1s capped at 10s (suits VMs that are still booting). Defaults to `8`. Only a create expects a host that may still be booting: refresh and plan, `drbd_status`, update and destroy never retry, so that a dead host fails fast. Authentication and host-key failures are never retried.",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(0, 100)},
			},
			"fenced_hosts": schema.SetAttribute{
				MarkdownDescription: "Hosts the operator has fenced: powered off, or cut off so that they cannot write. Each entry is a " +
					"`host` (every port) or `host:port` (IPv6 as `[addr]:port`), as written in the resources' `host` and `port`. " +
					"The provider never contacts a fenced host: Read of a resource there keeps the last known state and warns; " +
					"destroying one forgets it without running anything and warns what was left undone on the host; creating or " +
					"updating one, or reading `drbd_status` there, is an error naming the fence. `drbd_primary` promotes a node " +
					"whose peer is not connected (a failover) only when the peer is fenced, and `drbd_sync` whose peer is fenced " +
					"does not wait for it. Fence a host only when it really is off or cut off: a fenced host that still runs as " +
					"Primary on the other side of a partition means two Primaries (split brain).",
				Optional:    true,
				ElementType: types.StringType,
				Validators:  []validator.Set{setvalidator.ValueStringsAre(fenceEntryValidator())},
			},
			"keepalive_interval": schema.StringAttribute{
				MarkdownDescription: "Interval of SSH keepalive requests, as a Go duration; `0s` disables them. Defaults to `15s`.",
				CustomType:          timetypes.GoDurationType{},
				Optional:            true,
				Validators:          []validator.String{durationValidator(0)},
			},
		},
		Blocks: map[string]schema.Block{
			"bastion": schema.SingleNestedBlock{
				MarkdownDescription: "Jump host through which every target is reached. Its own credentials fall back to the provider's when both `private_key` and `password` are unset.",
				Attributes: map[string]schema.Attribute{
					"host": schema.StringAttribute{
						MarkdownDescription: "Bastion address. Required when the block is present.",
						Optional:            true,
					},
					"port": schema.Int64Attribute{
						MarkdownDescription: "Bastion SSH port. Defaults to `22`.",
						Optional:            true,
						Validators:          []validator.Int64{int64validator.Between(1, 65535)},
					},
					"user": schema.StringAttribute{
						MarkdownDescription: "Bastion SSH user. Defaults to the provider's `user`.",
						Optional:            true,
					},
					"private_key": schema.StringAttribute{
						MarkdownDescription: "Private key content for the bastion.",
						Optional:            true,
						Sensitive:           true,
					},
					"password": schema.StringAttribute{
						MarkdownDescription: "Password for the bastion.",
						Optional:            true,
						Sensitive:           true,
					},
					"host_key": schema.StringAttribute{
						MarkdownDescription: "Pinned public key line of the bastion (`ssh-ed25519 AAAA...`). Without it the bastion's key must be in " +
							"`known_hosts` or `known_hosts_file`: nothing records the bastion's key in the state, so `host_key_policy = \"accept-new\"` " +
							"does not apply to it, and a bastion neither pinned nor in known_hosts fails the provider configuration under `accept-new`.",
						Optional:   true,
						Validators: []validator.String{hostKeyValidator()},
					},
				},
			},
		},
	}
}

func (p *drbdProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if cfg.HostKeyPolicy.ValueString() == sshx.PolicyInsecure {
		resp.Diagnostics.AddAttributeWarning(path.Root("host_key_policy"), "Host Key Checking Disabled",
			"host_key_policy = \"insecure\" accepts any host key, so a man-in-the-middle could receive every command "+
				"this provider sends. Use known_hosts, a per-resource host_key, or \"accept-new\" outside throwaway labs.")
	}
	if cfg.HostKeyPolicy.ValueString() == sshx.PolicyAcceptNew {
		resp.Diagnostics.AddAttributeWarning(path.Root("host_key_policy"), "Host Keys Trusted on First Use",
			"host_key_policy = \"accept-new\" trusts the key a host offers on first contact and records it in the state "+
				"(host_key_fingerprint); a different key is refused afterwards. A man-in-the-middle on that first contact would "+
				"go unnoticed: for production, pass known_hosts (for example from cloud-init output) or pin host_key.")
	}
	if cfg.Bastion != nil && !cfg.Bastion.Host.IsUnknown() && cfg.Bastion.Host.ValueString() == "" {
		resp.Diagnostics.AddAttributeError(path.Root("bastion").AtName("host"), "Missing Bastion Host",
			"The bastion block needs a host. Remove the block to connect directly.")
	}
}

func (p *drbdProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	data := &providerData{user: sshx.DefaultUser, port: sshx.DefaultPort}
	resp.ResourceData = data
	resp.DataSourceData = data
	if !cfg.FencedHosts.IsUnknown() {
		var fenced []string
		resp.Diagnostics.Append(cfg.FencedHosts.ElementsAs(ctx, &fenced, false)...)
		data.fence = newFenceSet(fenced)
	}

	if configHasUnknown(cfg) {
		// Connections open lazily at apply or refresh time; with unknown credentials there is
		// nothing to validate yet and planning must not fail.
		tflog.Debug(ctx, "drbd provider configuration has unknown values; SSH connections are deferred")
		return
	}

	connectTimeout := durationOr(cfg.ConnectTimeout, 0, &resp.Diagnostics)
	sc := sshx.Config{
		User:                 cfg.User.ValueString(),
		Port:                 int(cfg.Port.ValueInt64()),
		PrivateKey:           cfg.PrivateKey.ValueString(),
		PrivateKeyPassphrase: cfg.PrivateKeyPassphrase.ValueString(),
		Certificate:          cfg.Certificate.ValueString(),
		Password:             cfg.Password.ValueString(),
		Agent:                cfg.Agent.ValueBool(),
		KnownHosts:           cfg.KnownHosts.ValueString(),
		KnownHostsFile:       cfg.KnownHostsFile.ValueString(),
		HostKeyPolicy:        cfg.HostKeyPolicy.ValueString(),
		Sudo:                 cfg.Sudo.ValueBool(),
		ConnectTimeout:       connectTimeout,
		ConnectRetries:       int(int64Or(cfg.ConnectRetries, defaultConnectRetries)),
		// A read's one attempt: connect_timeout when set, else sshx's bound (10s).
		SingleAttemptTimeout: connectTimeout,
		KeepaliveInterval:    durationOr(cfg.KeepaliveInterval, defaultKeepaliveInterval, &resp.Diagnostics),
		Logf: func(format string, args ...any) {
			tflog.Debug(ctx, "ssh: "+fmt.Sprintf(format, args...))
		},
	}
	if cfg.KnownHostsFile.IsNull() {
		sc.KnownHostsFile = sshx.DefaultKnownHostsFile()
	}
	if b := cfg.Bastion; b != nil && !b.Host.IsNull() {
		sc.Bastion = &sshx.Bastion{
			Host:       b.Host.ValueString(),
			Port:       int(b.Port.ValueInt64()),
			User:       b.User.ValueString(),
			PrivateKey: b.PrivateKey.ValueString(),
			Password:   b.Password.ValueString(),
			HostKey:    b.HostKey.ValueString(),
		}
	}
	if sc.PrivateKey == "" && sc.Password == "" && !sc.Agent {
		resp.Diagnostics.AddWarning("No SSH Credentials Configured",
			"None of private_key, password or agent is set in the drbd provider block, so every SSH connection "+
				"will fail authentication. Set at least one of them.")
	}
	pool, err := sshx.NewPool(sc)
	if err != nil {
		resp.Diagnostics.AddError("Invalid SSH Configuration",
			"The drbd provider could not prepare its SSH client: "+err.Error()+
				"\n\nCheck private_key (content, not a path), private_key_passphrase, certificate, known_hosts and the bastion block.")
		return
	}
	data.pool = pool
	resolved := pool.Resolve(sshx.Target{})
	data.user, data.port = resolved.User, resolved.Port
}

func (p *drbdProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		withFence[resourceResource]("resource"),
		withFence[primaryResource]("primary"),
		withFence[filesystemResource]("filesystem"),
		withFence[syncResource]("sync"),
		withFence[verifyResource]("verify"),
		withFence[chefBackendReadyResource]("chef_backend_ready"),
	}
}

func (p *drbdProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		withFenceDS[statusDataSource]("status"),
	}
}

// configHasUnknown reports whether any provider attribute is unknown (e.g. a key from a
// resource created in the same apply).
func configHasUnknown(c providerModel) bool {
	vals := []interface{ IsUnknown() bool }{
		c.User, c.Port, c.PrivateKey, c.PrivateKeyPassphrase, c.Certificate, c.Password, c.Agent,
		c.KnownHosts, c.KnownHostsFile, c.HostKeyPolicy, c.Sudo, c.ConnectTimeout, c.ConnectRetries,
		c.KeepaliveInterval,
	}
	if b := c.Bastion; b != nil {
		vals = append(vals, b.Host, b.Port, b.User, b.PrivateKey, b.Password, b.HostKey)
	}
	for _, v := range vals {
		if v.IsUnknown() {
			return true
		}
	}
	return false
}
