package provider

import (
	"context"
	"fmt"
	"math/big"
	"reflect"
	"sort"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// codecCase is one model type with the schema it is read and written with.
type codecCase struct {
	name  string
	state func(raw tftypes.Value) tfsdk.State // a state of the schema holding raw
	model func() any
}

func codecCases(t testing.TB) []codecCase {
	t.Helper()
	ctx := context.Background()
	rs := func(r resource.Resource) func(tftypes.Value) tfsdk.State {
		var resp resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatal(resp.Diagnostics)
		}
		return func(raw tftypes.Value) tfsdk.State { return tfsdk.State{Schema: resp.Schema, Raw: raw} }
	}
	var ds datasource.SchemaResponse
	(&statusDataSource{}).Schema(ctx, datasource.SchemaRequest{}, &ds)
	return []codecCase{
		// Named as the provider names them: a schema's timeouts block depends on the type name.
		{"drbd_resource", rs(named[resourceResource]("resource")), func() any { return &resourceResourceModel{} }},
		{"drbd_primary", rs(named[primaryResource]("primary")), func() any { return &primaryResourceModel{} }},
		{"drbd_filesystem", rs(named[filesystemResource]("filesystem")), func() any { return &filesystemResourceModel{} }},
		{"drbd_sync", rs(named[syncResource]("sync")), func() any { return &syncResourceModel{} }},
		{"drbd_chef_backend_ready", rs(named[chefBackendReadyResource]("chef_backend_ready")), func() any { return &chefBackendReadyModel{} }},
		{"drbd_status", func(raw tftypes.Value) tfsdk.State { return tfsdk.State{Schema: ds.Schema, Raw: raw} },
			func() any { return &statusDataSourceModel{} }},
	}
}

// objectType is the Terraform type of c's schema.
func (c codecCase) objectType(t testing.TB) tftypes.Object {
	t.Helper()
	st := c.state(tftypes.Value{})
	obj, ok := st.Schema.Type().TerraformType(context.Background()).(tftypes.Object)
	if !ok {
		t.Fatalf("%s: schema type is not an object", c.name)
	}
	return obj
}

// sampleValue returns a value of type typ: variant 0 null, 1 unknown, others known values
// that differ by variant (durations stay valid, so that the framework accepts them).
func sampleValue(typ tftypes.Type, name string, variant int) tftypes.Value {
	switch variant % 5 {
	case 0:
		return tftypes.NewValue(typ, nil)
	case 1:
		return tftypes.NewValue(typ, tftypes.UnknownValue)
	}
	switch {
	case typ.Is(tftypes.String):
		return tftypes.NewValue(typ, fmt.Sprintf("%ds", variant)) // a valid duration and a valid string
	case typ.Is(tftypes.Number):
		return tftypes.NewValue(typ, big.NewFloat(float64(variant*1000)))
	case typ.Is(tftypes.Bool):
		return tftypes.NewValue(typ, variant%2 == 0)
	case typ.Is(tftypes.Map{}):
		m, _ := typ.(tftypes.Map)
		return tftypes.NewValue(typ, map[string]tftypes.Value{"k": sampleValue(m.ElementType, name, variant)})
	case typ.Is(tftypes.Object{}):
		obj, _ := typ.(tftypes.Object)
		vals := map[string]tftypes.Value{}
		names := make([]string, 0, len(obj.AttributeTypes))
		for n := range obj.AttributeTypes {
			names = append(names, n)
		}
		sort.Strings(names)
		for i, n := range names {
			vals[n] = sampleValue(obj.AttributeTypes[n], n, variant+i)
		}
		return tftypes.NewValue(typ, vals)
	}
	panic(fmt.Sprintf("no sample for %s (%s)", typ, name))
}

// sampleState is a whole object of objType, each attribute a different variant.
func sampleState(objType tftypes.Object, variant int) tftypes.Value {
	names := make([]string, 0, len(objType.AttributeTypes))
	for n := range objType.AttributeTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	vals := map[string]tftypes.Value{}
	for i, n := range names {
		vals[n] = sampleValue(objType.AttributeTypes[n], n, variant+i)
	}
	return tftypes.NewValue(objType, vals)
}

// TestStateCodec_matchesFramework reads and writes every model with getModel/setModel and
// with the framework's Get/Set, from states whose attributes are null, unknown and known in
// turn: the models and the written states must be identical, and the fast path must be the
// one taken.
func TestStateCodec_matchesFramework(t *testing.T) {
	ctx := context.Background()
	for _, c := range codecCases(t) {
		t.Run(c.name, func(t *testing.T) {
			objType := c.objectType(t)
			for variant := range 10 {
				raw := sampleState(objType, variant)
				st := c.state(raw)
				want, got := c.model(), c.model()
				if d := st.Get(ctx, want); d.HasError() {
					t.Fatalf("variant %d: framework Get: %v", variant, d)
				}
				if !getFast(ctx, st.Raw, st.Schema, got) {
					t.Fatalf("variant %d: getFast handed over to the framework", variant)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("variant %d: getFast read\n%#v\nthe framework\n%#v", variant, got, want)
				}
				if d := getModel(ctx, st, got); d.HasError() {
					t.Fatalf("variant %d: getModel: %v", variant, d)
				}
				// Set starts from another state of the same type, as Read's response does.
				wantSt, gotSt := c.state(sampleState(objType, variant+1)), c.state(sampleState(objType, variant+1))
				if d := wantSt.Set(ctx, want); d.HasError() {
					t.Fatalf("variant %d: framework Set: %v", variant, d)
				}
				if !setFast(ctx, &gotSt, got) {
					t.Fatalf("variant %d: setFast handed over to the framework", variant)
				}
				if !gotSt.Raw.Equal(wantSt.Raw) || !gotSt.Raw.Equal(raw) {
					t.Fatalf("variant %d: setFast wrote\n%s\nthe framework\n%s", variant, gotSt.Raw, wantSt.Raw)
				}
			}
		})
	}
}

// TestStateCodec_handsOver checks that whatever the fast path does not handle goes to the
// framework, whose diagnostics are then returned unchanged.
func TestStateCodec_handsOver(t *testing.T) {
	ctx := context.Background()
	cases := codecCases(t)
	var sync codecCase
	for _, c := range cases {
		if c.name == "drbd_sync" {
			sync = c
		}
	}
	objType := sync.objectType(t)

	// An invalid duration: the framework's validation error, not the fast path's.
	vals := map[string]tftypes.Value{}
	if err := sampleState(objType, 3).As(&vals); err != nil {
		t.Fatal(err)
	}
	vals["poll_interval"] = tftypes.NewValue(tftypes.String, "soon")
	st := sync.state(tftypes.NewValue(objType, vals))
	if getFast(ctx, st.Raw, st.Schema, &syncResourceModel{}) {
		t.Fatal("getFast accepted an invalid duration")
	}
	var a, b syncResourceModel
	want, got := st.Get(ctx, &a), getModel(ctx, st, &b)
	if !want.HasError() || !reflect.DeepEqual(got, want) {
		t.Fatalf("getModel: %v, the framework: %v", got, want)
	}
	b.PollInterval = a.PollInterval
	setSt := sync.state(sampleState(objType, 4))
	if setFast(ctx, &setSt, &b) {
		t.Fatal("setFast accepted an invalid duration")
	}

	// A port that is not an integer: the framework's conversion error.
	vals["poll_interval"] = tftypes.NewValue(tftypes.String, "1s")
	vals["port"] = tftypes.NewValue(tftypes.Number, big.NewFloat(22.5))
	st = sync.state(tftypes.NewValue(objType, vals))
	if getFast(ctx, st.Raw, st.Schema, &syncResourceModel{}) {
		t.Fatal("getFast accepted a port of 22.5")
	}
	want, got = st.Get(ctx, &a), getModel(ctx, st, &b)
	if !want.HasError() || !reflect.DeepEqual(got, want) {
		t.Fatalf("getModel: %v, the framework: %v", got, want)
	}

	// A model whose attributes are not the schema's: the framework's mismatch error.
	for _, c := range cases {
		if c.name == "drbd_chef_backend_ready" {
			st := c.state(sampleState(c.objectType(t), 2))
			var m statusDataSourceModel
			if getFast(ctx, st.Raw, st.Schema, &m) {
				t.Fatal("getFast read a drbd_chef_backend_ready state into a drbd_status model")
			}
			// (The framework's text lists the fields in map order: compare the summaries.)
			want, got := st.Get(ctx, &m), getModel(ctx, st, &m)
			if !want.HasError() || len(got) != len(want) || got[0].Summary() != want[0].Summary() {
				t.Fatalf("getModel: %v, the framework: %v", got, want)
			}
			if setFast(ctx, &st, &m) {
				t.Fatal("setFast wrote a drbd_status model into a drbd_chef_backend_ready state")
			}
		}
	}

	// Not a pointer to a struct.
	if getFast(ctx, st.Raw, st.Schema, syncResourceModel{}) || setFast(ctx, &st, "x") {
		t.Fatal("the fast path accepted a non-pointer")
	}
}

// BenchmarkStateCodec compares one Read's model conversion (Get, then Set) through the
// framework's reflection and through getModel/setModel.
func BenchmarkStateCodec(b *testing.B) {
	ctx := context.Background()
	for _, c := range codecCases(b) {
		objType := c.objectType(b)
		raw := sampleState(objType, 2)
		b.Run(c.name+"/framework", func(b *testing.B) {
			for b.Loop() {
				st := c.state(raw)
				m := c.model()
				_ = st.Get(ctx, m)
				_ = st.Set(ctx, m)
			}
		})
		b.Run(c.name+"/codec", func(b *testing.B) {
			for b.Loop() {
				st := c.state(raw)
				m := c.model()
				_ = getModel(ctx, st, m)
				_ = setModel(ctx, &st, m)
			}
		})
	}
}
