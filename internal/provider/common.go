package provider

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

const (
	descHost = "Address of the DRBD node to reach over SSH. Values unknown at plan time (for example the IP " +
		"of a VM created in the same apply) are fine: the connection is opened at apply time."
	descPort               = "SSH port of this host; overrides the provider's `port`."
	descUser               = "SSH user on this host; overrides the provider's `user`."
	descHostKey            = "Pinned public key line of this host (`ssh-ed25519 AAAA...`, for example from cloud-init output). When set, it is the only key accepted."
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
		Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
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
	attrs["host_key"] = dsschema.StringAttribute{MarkdownDescription: descHostKey, Optional: true, Validators: []validator.String{stringvalidator.LengthAtLeast(1)}}
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

// importID is a parsed import ID: host[:port]/rest.
type importID struct {
	Host string
	Port int64 // 0 when not given
	Rest string
}

// parseImportID splits "host[:port]/rest"; IPv6 hosts are written in brackets ("[::1]:22/pc0").
// With absRest the rest is a path and keeps its leading slash.
func parseImportID(id string, absRest bool) (importID, error) {
	var out importID
	var hostport string
	if strings.HasPrefix(id, "[") {
		end := strings.Index(id, "]")
		if end < 0 {
			return out, fmt.Errorf("unterminated [ in %q", id)
		}
		slash := strings.Index(id[end:], "/")
		if slash < 0 {
			return out, fmt.Errorf("%q has no /", id)
		}
		hostport, out.Rest = id[:end+slash], id[end+slash+1:]
	} else {
		slash := strings.Index(id, "/")
		if slash < 0 {
			return out, fmt.Errorf("%q has no /", id)
		}
		hostport, out.Rest = id[:slash], id[slash+1:]
	}
	if absRest {
		out.Rest = "/" + out.Rest
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.Trim(hostport, "[]")
	} else {
		p, perr := strconv.Atoi(port)
		if perr != nil || p < 1 || p > 65535 {
			return out, fmt.Errorf("invalid port %q", port)
		}
		out.Port = int64(p)
	}
	if host == "" || !validHost(host) {
		return out, fmt.Errorf("invalid host %q", host)
	}
	out.Host = host
	if strings.Trim(out.Rest, "/") == "" {
		return out, fmt.Errorf("%q names no resource after the host", id)
	}
	return out, nil
}

// importResourceID parses "host[:port]/resource" for the resources named by a DRBD resource,
// adding a diagnostic when it is invalid.
func importResourceID(raw string, diags *diag.Diagnostics) (importID, bool) {
	id, err := parseImportID(raw, false)
	if err == nil {
		err = drbd.ValidateResourceName(id.Rest)
	}
	if err != nil {
		diags.AddError("Invalid Import ID",
			fmt.Sprintf("Expected host[:port]/resource, e.g. 192.0.2.10/pc0 or backend1:2222/pc0: %s.", err))
		return id, false
	}
	return id, true
}

// importPathID parses "host[:port]/path" (what names the remote path, example a full ID),
// adding a diagnostic when it is invalid.
func importPathID(raw, what, example string, diags *diag.Diagnostics) (importID, bool) {
	id, err := parseImportID(raw, true)
	if err == nil {
		if problem := validateAbsPath(id.Rest); problem != "" {
			err = fmt.Errorf("%s %q %s", what, id.Rest, problem)
		}
	}
	if err != nil {
		diags.AddError("Invalid Import ID", fmt.Sprintf("Expected host[:port]/%s, e.g. %s: %s.", what, example, err))
		return id, false
	}
	return id, true
}

// formatID is the inverse of parseImportID: the port appears only when the model sets one.
func formatID(c connectionModel, rest string) string {
	host := c.Host.ValueString()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if !c.Port.IsNull() && !c.Port.IsUnknown() {
		host += ":" + strconv.FormatInt(c.Port.ValueInt64(), 10)
	}
	return host + "/" + strings.TrimPrefix(rest, "/")
}

// connectionFromImport returns the connection attributes an import ID gives.
func connectionFromImport(id importID) connectionModel {
	c := connectionModel{
		Host:               types.StringValue(id.Host),
		Port:               types.Int64Null(),
		User:               types.StringNull(),
		HostKey:            types.StringNull(),
		HostKeyFingerprint: types.StringUnknown(),
	}
	if id.Port != 0 {
		c.Port = types.Int64Value(id.Port)
	}
	return c
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
