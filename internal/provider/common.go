package provider

import (
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

const (
	descHost = "Address of the DRBD node to reach over SSH. Values unknown at plan time (for example the IP " +
		"of a VM created in the same apply) are fine: the connection is opened at apply time."
	descPort    = "SSH port of this host; overrides the provider's `port`."
	descUser    = "SSH user on this host; overrides the provider's `user`."
	descHostKey = "Pinned public key line of this host (`ssh-ed25519 AAAA...`, for example from cloud-init output; a known_hosts " +
		"line works too, one key per line). When set, it is the only key accepted, also on a connection another resource opened " +
		"to the same host. A known_hosts line with a `@revoked` or `@cert-authority` marker is refused at plan time (put " +
		"`@revoked` lines in `known_hosts`)."
	descHostKeyFingerprint = "SHA256 fingerprint of the host key seen on the last connection. With `host_key_policy = \"accept-new\"` it is recorded on first contact and enforced afterwards."
)

// computedString is a computed string attribute that keeps its value from the prior state
// until the step that sets it runs again.
func computedString(desc string) schema.StringAttribute {
	return schema.StringAttribute{MarkdownDescription: desc, Computed: true,
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}}
}

// drbdNameAttribute is the attribute naming the DRBD resource a resource acts on: checked by
// drbdNameValidator at plan time, and a change replaces the resource.
func drbdNameAttribute(desc string, required bool) schema.StringAttribute {
	return schema.StringAttribute{MarkdownDescription: desc, Required: required, Optional: !required,
		Validators:    []validator.String{drbdNameValidator()},
		PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}}
}

// durationAttribute is an optional Go duration (timetypes.GoDuration) of at least least,
// def when unset.
func durationAttribute(desc, def string, least time.Duration) schema.StringAttribute {
	return schema.StringAttribute{MarkdownDescription: desc, Optional: true, Computed: true,
		CustomType: timetypes.GoDurationType{},
		Default:    stringdefault.StaticString(def),
		Validators: []validator.String{durationValidator(least)}}
}

// peerPortAttribute is `peer_port`: the SSH port of `peer_host`, valid only with it; more is
// added to the description, and a change replaces the resource when replace is set.
func peerPortAttribute(more string, replace bool) schema.Int64Attribute {
	a := schema.Int64Attribute{
		MarkdownDescription: strings.TrimSpace("SSH port of `peer_host`; defaults to the provider's `port`. " + more),
		Optional:            true,
		Validators: []validator.Int64{int64validator.Between(1, 65535),
			int64validator.AlsoRequires(path.MatchRoot("peer_host"))},
	}
	if replace {
		a.PlanModifiers = []planmodifier.Int64{int64planmodifier.RequiresReplace()}
	}
	return a
}

// peerHostKeyAttribute is `peer_host_key`: a pinned public key line of `peer_host`, like
// `host_key`, valid only with it.
func peerHostKeyAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "Pinned public key line of `peer_host`, like `host_key`.",
		Optional:            true,
		Validators:          []validator.String{hostKeyValidator(), stringvalidator.AlsoRequires(path.MatchRoot("peer_host"))},
	}
}

// connectionResourceAttributes returns the host/port/user/host_key/host_key_fingerprint
// attributes of a resource; changing where a resource lives replaces it.
func connectionResourceAttributes(attrs map[string]schema.Attribute) map[string]schema.Attribute {
	attrs["host"] = schema.StringAttribute{
		MarkdownDescription: descHost,
		Required:            true,
		Validators:          []validator.String{hostValidator()},
		PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
	attrs["port"] = schema.Int64Attribute{
		MarkdownDescription: descPort,
		Optional:            true,
		Validators:          []validator.Int64{int64validator.Between(1, 65535)},
		PlanModifiers:       []planmodifier.Int64{int64planmodifier.RequiresReplace()},
	}
	attrs["user"] = schema.StringAttribute{
		MarkdownDescription: descUser,
		Optional:            true,
		Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
	}
	attrs["host_key"] = schema.StringAttribute{
		MarkdownDescription: descHostKey,
		Optional:            true,
		Validators:          []validator.String{hostKeyValidator()},
	}
	attrs["host_key_fingerprint"] = computedString(descHostKeyFingerprint)
	attrs["id"] = computedString("Identifier, the same as the import ID.")
	return attrs
}

// connectionDataSourceAttributes is connectionResourceAttributes for data sources.
func connectionDataSourceAttributes(attrs map[string]dsschema.Attribute) map[string]dsschema.Attribute {
	attrs["host"] = dsschema.StringAttribute{MarkdownDescription: descHost, Required: true, Validators: []validator.String{hostValidator()}}
	attrs["port"] = dsschema.Int64Attribute{MarkdownDescription: descPort, Optional: true, Validators: []validator.Int64{int64validator.Between(1, 65535)}}
	attrs["user"] = dsschema.StringAttribute{MarkdownDescription: descUser, Optional: true, Validators: []validator.String{stringvalidator.LengthAtLeast(1)}}
	attrs["host_key"] = dsschema.StringAttribute{MarkdownDescription: descHostKey, Optional: true, Validators: []validator.String{hostKeyValidator()}}
	attrs["host_key_fingerprint"] = dsschema.StringAttribute{MarkdownDescription: descHostKeyFingerprint, Computed: true}
	attrs["id"] = dsschema.StringAttribute{MarkdownDescription: "Identifier: `host[:port]/resource`.", Computed: true}
	return attrs
}

// hostNamePattern accepts DNS names and IPv4 addresses; IPv6 addresses are checked with
// net.ParseIP. Neither admits "host:port" or anything a shell or ssh would interpret.
var hostNamePattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.\-_]*[A-Za-z0-9])?$`)

// validHost reports whether h is a host name or an IP address (IPv6 without brackets).
func validHost(h string) bool {
	return hostNamePattern.MatchString(h) || (strings.Contains(h, ":") && net.ParseIP(h) != nil)
}

// safePathPattern is what this provider accepts in remote paths: absolute, no white space, no
// shell metacharacters, no "..".
var safePathPattern = regexp.MustCompile(`^/[A-Za-z0-9._+@%,:=/-]*$`)

// validateAbsPath returns a problem with p as a remote path, or "".
func validateAbsPath(p string) string {
	switch {
	case p == "":
		return "must not be empty"
	case !strings.HasPrefix(p, "/"):
		return "must be an absolute path (starting with /)"
	case !safePathPattern.MatchString(p):
		return "may contain only letters, digits and . _ + @ % , : = / - (no white space or shell metacharacters)"
	case strings.Contains("/"+p+"/", "/../") || strings.Contains("/"+p+"/", "/./") || strings.Contains(p, "//"):
		return "must be a clean path (no //, . or .. components)"
	case len(p) > 1 && strings.HasSuffix(p, "/"):
		return "must not end with /"
	}
	return ""
}

// int64Or returns v's value, def when it is null or unknown.
func int64Or(v types.Int64, def int64) int64 {
	if v.IsNull() || v.IsUnknown() {
		return def
	}
	return v.ValueInt64()
}

// durationOr returns a duration attribute's value, def when it is null or unknown. A value
// that is not a duration (the schema's validation rejects it at plan time) is an error, never
// silently the default.
func durationOr(v timetypes.GoDuration, def time.Duration, diags *diag.Diagnostics) time.Duration {
	if v.IsNull() || v.IsUnknown() {
		return def
	}
	d, ds := v.ValueGoDuration()
	diags.Append(ds...)
	if ds.HasError() {
		return def
	}
	return d
}
