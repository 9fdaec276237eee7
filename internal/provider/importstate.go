package provider

// Import: the import IDs (host[:port]/resource or host[:port]/path) and the state an import
// starts from, derived from the resource's schema so that the defaults have one owner.

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/defaults"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbd"
)

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

// importState sets the state an import starts from: the connection attributes and the ID from
// id, then set (the attribute the ID names, and what the resource found out), every other
// attribute at its schema default, computed ones unknown until the first Read, the rest null.
// The import thus takes its defaults from the schema, which owns them.
func importState(ctx context.Context, resp *resource.ImportStateResponse, id importID, set map[string]attr.Value) {
	s, ok := resp.State.Schema.(schema.Schema)
	objType, isObj := resp.State.Schema.Type().TerraformType(ctx).(tftypes.Object)
	if !ok || !isObj {
		resp.Diagnostics.AddError("Unable to Import", fmt.Sprintf("The state schema is a %T. This is a bug in the provider; please report it.", resp.State.Schema))
		return
	}
	c := connectionFromImport(id)
	given := map[string]attr.Value{"host": c.Host, "port": c.Port, "user": c.User, "host_key": c.HostKey,
		"host_key_fingerprint": c.HostKeyFingerprint, "id": types.StringValue(formatID(c, id.Rest))}
	for k, v := range set {
		given[k] = v
	}
	values := make(map[string]tftypes.Value, len(objType.AttributeTypes))
	for name, typ := range objType.AttributeTypes {
		a := s.Attributes[name] // nil for a block (timeouts): null
		v := given[name]
		if v == nil && a != nil {
			v = schemaDefault(ctx, a)
		}
		switch {
		case v != nil:
			tv, err := v.ToTerraformValue(ctx)
			if err != nil {
				resp.Diagnostics.AddError("Unable to Import", fmt.Sprintf("%s: %s. This is a bug in the provider; please report it.", name, err))
				return
			}
			values[name] = tv
		case a != nil && a.IsComputed():
			values[name] = tftypes.NewValue(typ, tftypes.UnknownValue)
		default:
			values[name] = tftypes.NewValue(typ, nil)
		}
	}
	resp.State.Raw = tftypes.NewValue(objType, values)
}

// schemaDefault returns the default of a string, bool or int64 attribute, nil when it has none.
func schemaDefault(ctx context.Context, a schema.Attribute) attr.Value {
	switch a := a.(type) {
	case schema.StringAttribute:
		if a.Default != nil {
			var r defaults.StringResponse
			a.Default.DefaultString(ctx, defaults.StringRequest{}, &r)
			return r.PlanValue
		}
	case schema.BoolAttribute:
		if a.Default != nil {
			var r defaults.BoolResponse
			a.Default.DefaultBool(ctx, defaults.BoolRequest{}, &r)
			return r.PlanValue
		}
	case schema.Int64Attribute:
		if a.Default != nil {
			var r defaults.Int64Response
			a.Default.DefaultInt64(ctx, defaults.Int64Request{}, &r)
			return r.PlanValue
		}
	}
	return nil
}
