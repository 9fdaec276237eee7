package provider

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func TestParseImportID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id      string
		abs     bool
		want    importID
		wantErr bool
	}{
		{id: "192.0.2.10/pc0", want: importID{Host: "192.0.2.10", Rest: "pc0"}},
		{id: "backend1:2222/pc0", want: importID{Host: "backend1", Port: 2222, Rest: "pc0"}},
		{id: "[2001:db8::1]:22/pc0", want: importID{Host: "2001:db8::1", Port: 22, Rest: "pc0"}},
		{id: "[2001:db8::1]/pc0", want: importID{Host: "2001:db8::1", Rest: "pc0"}},
		{id: "h/var/opt/opscode/drbd/data", abs: true, want: importID{Host: "h", Rest: "/var/opt/opscode/drbd/data"}},
		{id: "h:22/var/opt/opscode/drbd/drbd_ready", abs: true, want: importID{Host: "h", Port: 22, Rest: "/var/opt/opscode/drbd/drbd_ready"}},
		{id: "pc0", wantErr: true},
		{id: "/pc0", wantErr: true},
		{id: "h/", wantErr: true},
		{id: "h:99999/pc0", wantErr: true},
		{id: "h:x/pc0", wantErr: true},
		{id: "h;rm/pc0", wantErr: true},
		{id: "[::1/pc0", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseImportID(tt.id, tt.abs)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseImportID(%q) error = %v, wantErr %v", tt.id, err, tt.wantErr)
			continue
		}
		if err == nil {
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseImportID(%q) (-want +got):\n%s", tt.id, diff)
			}
		}
	}
}

func TestFormatID_roundTrips(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		host string
		port int64
		rest string
		abs  bool
	}{
		{"192.0.2.10", 0, "pc0", false},
		{"backend1", 2222, "pc0", false},
		{"2001:db8::1", 22, "pc0", false},
		{"h", 0, "/var/opt/opscode/drbd/data", true},
	} {
		m := connectionModel{Host: types.StringValue(c.host), Port: types.Int64Null()}
		if c.port != 0 {
			m.Port = types.Int64Value(c.port)
		}
		id := formatID(m, c.rest)
		got, err := parseImportID(id, c.abs)
		if err != nil {
			t.Fatalf("formatID gave %q, which does not parse: %v", id, err)
		}
		if got.Host != c.host || got.Port != c.port || got.Rest != c.rest {
			t.Errorf("round trip of %+v through %q gave %+v", c, id, got)
		}
	}
}

// TestImportState_takesDefaultsFromTheSchema: an imported drbd_primary starts from the ID's
// connection and name, the schema's defaults, unknown computed values and null optional ones;
// an imported drbd_chef_backend_ready has no timeouts block.
func TestImportState_takesDefaultsFromTheSchema(t *testing.T) {
	ctx := context.Background()
	imported := func(r resource.Resource, raw string, set func(importID) map[string]attr.Value) tfsdk.State {
		t.Helper()
		var sr resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &sr)
		id, err := parseImportID(raw, raw[len(raw)-1] != '0')
		if err != nil {
			t.Fatal(err)
		}
		resp := resource.ImportStateResponse{State: tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)}}
		importState(ctx, &resp, id, set(id))
		if resp.Diagnostics.HasError() {
			t.Fatal(resp.Diagnostics)
		}
		return resp.State
	}

	st := imported(&primaryResource{}, "[::1]:2222/pc0", func(id importID) map[string]attr.Value {
		return map[string]attr.Value{"resource": types.StringValue(id.Rest)}
	})
	var m primaryResourceModel
	if d := st.Get(ctx, &m); d.HasError() {
		t.Fatal(d)
	}
	got := map[string]attr.Value{
		"host": m.Host, "port": m.Port, "user": m.User, "id": m.ID, "host_key_fingerprint": m.HostKeyFingerprint,
		"resource": m.Resource, "force": m.Force, "allow_overwrite_peer_data": m.AllowOverwritePeerData,
		"demote_on_destroy": m.DemoteOnDestroy, "connect_timeout": types.StringValue(m.ConnectTimeout.ValueString()),
		"peer_host": m.PeerHost, "skip_initial_sync": m.SkipInitialSync, "role": m.Role, "disk_state": m.DiskState,
	}
	want := map[string]attr.Value{
		"host": types.StringValue("::1"), "port": types.Int64Value(2222), "user": types.StringNull(),
		"id": types.StringValue("[::1]:2222/pc0"), "host_key_fingerprint": types.StringUnknown(),
		"resource": types.StringValue("pc0"), "force": types.BoolValue(false), "allow_overwrite_peer_data": types.BoolValue(false),
		"demote_on_destroy": types.BoolValue(true), "connect_timeout": types.StringValue(defaultPromoteWait),
		"peer_host": types.StringNull(), "skip_initial_sync": types.BoolValue(false), "role": types.StringUnknown(),
		"disk_state": types.StringUnknown(),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("imported drbd_primary (-want +got):\n%s", diff)
	}

	st = imported(&chefBackendReadyResource{}, "192.0.2.10/var/opt/opscode/drbd/drbd_ready", func(id importID) map[string]attr.Value {
		return map[string]attr.Value{"ready_file": types.StringValue(id.Rest)}
	})
	var c chefBackendReadyModel
	if d := st.Get(ctx, &c); d.HasError() {
		t.Fatal(d)
	}
	if !c.Timeouts.IsNull() || !c.StopCommand.IsNull() || !c.Reconfigure.ValueBool() ||
		c.ReconfigureCommand.ValueString() != defaultReconfigureCommand || c.ReadyFile.ValueString() != defaultReadyFile {
		t.Errorf("imported drbd_chef_backend_ready: timeouts null %v, stop_command %v, reconfigure %v, reconfigure_command %v, ready_file %v",
			c.Timeouts.IsNull(), c.StopCommand, c.Reconfigure, c.ReconfigureCommand, c.ReadyFile)
	}
}
