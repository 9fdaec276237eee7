package provider

import (
	"context"
	"reflect"
	"slices"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/attr/xattr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// The framework's State.Get and State.Set convert a model struct by reflection and, for every
// field of every call, compile the regular expression that checks the field's tfsdk tag
// (terraform-plugin-framework internal/reflect isValidFieldName, issue #725). In a refresh
// each Read converts its model twice: `make bench` profiled this conversion at about a
// quarter of the provider's own CPU time in a plan of 450 objects. getModel and setModel do
// the same conversion with each model's layout worked out once; whenever a model, schema or
// value is anything but the plain case (a field that is not an attr.Value, a type or an
// attribute set that does not match), they hand over to the framework's own Get and Set,
// which then report their usual diagnostics.

// modelLayout is how a model struct maps onto its schema's object: one entry per tfsdk
// attribute (embedded structs flattened, as the framework does).
type modelLayout struct {
	fields []modelField
	// objType is the schema's object type as the first conversion saw it; a value of any
	// other type goes to the framework.
	objType tftypes.Object
}

// modelField is one model field with its attribute name, index path and types.
type modelField struct {
	name  string
	index []int
	typ   attr.Type
	tfTyp tftypes.Type
}

var (
	// modelLayouts caches *modelLayout (nil: not convertible here) by model type, against
	// the first schema seen with it.
	modelLayouts  sync.Map // reflect.Type -> *modelLayout
	attrValueType = reflect.TypeFor[attr.Value]()
)

// schemaWithType is the part of the framework's schema interface the layout needs.
type schemaWithType interface {
	Type() attr.Type
}

// layoutOf returns the layout of the struct type t against schema, or nil when the fast
// conversion does not apply (the framework's reflection then does the work).
func layoutOf(ctx context.Context, t reflect.Type, schema any) *modelLayout {
	if v, ok := modelLayouts.Load(t); ok {
		l, _ := v.(*modelLayout)
		return l
	}
	v, _ := modelLayouts.LoadOrStore(t, buildLayout(ctx, t, schema))
	l, _ := v.(*modelLayout)
	return l
}

// buildLayout works out layoutOf's answer for t: nil when the schema is not an object or a
// field cannot be converted here.
func buildLayout(ctx context.Context, t reflect.Type, schema any) *modelLayout {
	s, ok := schema.(schemaWithType)
	if !ok || t.Kind() != reflect.Struct {
		return nil
	}
	objTyp, ok := s.Type().(attr.TypeWithAttributeTypes)
	if !ok {
		return nil
	}
	tfObj, ok := objTyp.TerraformType(ctx).(tftypes.Object)
	if !ok || len(tfObj.OptionalAttributes) > 0 {
		return nil
	}
	fields, ok := structFields(t, nil)
	if !ok {
		return nil
	}
	attrTypes := objTyp.AttributeTypes()
	if len(fields) != len(attrTypes) || len(fields) != len(tfObj.AttributeTypes) {
		return nil
	}
	seen := map[string]bool{}
	for i := range fields {
		f := &fields[i]
		if seen[f.name] || attrTypes[f.name] == nil || tfObj.AttributeTypes[f.name] == nil {
			return nil
		}
		seen[f.name] = true
		f.typ, f.tfTyp = attrTypes[f.name], tfObj.AttributeTypes[f.name]
	}
	return &modelLayout{fields: fields, objType: tfObj}
}

// structFields lists the tfsdk fields of t the way the framework reads them: exported fields
// with a tag (not "-"), and the fields of embedded structs (embedded by value, untagged).
// It reports false for anything else, including a field that is not an attr.Value.
func structFields(t reflect.Type, prefix []int) ([]modelField, bool) {
	var out []modelField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag, tagged := f.Tag.Lookup("tfsdk")
		if tag == "-" {
			continue
		}
		index := append(slices.Clone(prefix), i)
		if f.Anonymous {
			if tagged || f.Type.Kind() != reflect.Struct {
				return nil, false
			}
			sub, ok := structFields(f.Type, index)
			if !ok {
				return nil, false
			}
			out = append(out, sub...)
			continue
		}
		if !tagged || tag == "" || !f.Type.Implements(attrValueType) {
			return nil, false
		}
		out = append(out, modelField{name: tag, index: index})
	}
	return out, true
}

// getModel is state.Get(ctx, target) for a pointer to a model struct.
func getModel(ctx context.Context, state tfsdk.State, target any) diag.Diagnostics {
	if getFast(ctx, state.Raw, state.Schema, target) {
		return nil
	}
	return state.Get(ctx, target)
}

// getConfigModel is config.Get(ctx, target) for a pointer to a model struct.
func getConfigModel(ctx context.Context, config tfsdk.Config, target any) diag.Diagnostics {
	if getFast(ctx, config.Raw, config.Schema, target) {
		return nil
	}
	return config.Get(ctx, target)
}

// getFast converts raw into *target, validating each value as the framework does, and
// reports whether it did so without a single diagnostic. When it reports false (it may have
// written part of target) the framework has to do the conversion.
func getFast(ctx context.Context, raw tftypes.Value, schema any, target any) bool {
	rv := reflect.ValueOf(target)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return false
	}
	l := layoutOf(ctx, rv.Elem().Type(), schema)
	if l == nil || raw.Type() == nil || !raw.Type().Equal(l.objType) || !raw.IsKnown() || raw.IsNull() {
		return false
	}
	var vals map[string]tftypes.Value
	if err := raw.As(&vals); err != nil || len(vals) != len(l.fields) {
		return false
	}
	elem := rv.Elem()
	for _, f := range l.fields {
		tv, ok := vals[f.name]
		if !ok {
			return false
		}
		v, err := f.typ.ValueFromTerraform(ctx, tv)
		if err != nil {
			return false
		}
		fv := elem.FieldByIndex(f.index)
		if reflect.TypeOf(v) != fv.Type() {
			return false
		}
		if !valid(ctx, f, v, tv) {
			return false
		}
		fv.Set(reflect.ValueOf(v))
	}
	return true
}

// valid runs the validation the framework runs on each converted value (the value's own,
// else its type's) and reports whether it said nothing at all: any diagnostic, even a
// warning, is left to the framework to report in its own words.
func valid(ctx context.Context, f modelField, v attr.Value, tv tftypes.Value) bool {
	p := path.Root(f.name)
	if va, ok := v.(xattr.ValidateableAttribute); ok {
		resp := xattr.ValidateAttributeResponse{}
		va.ValidateAttribute(ctx, xattr.ValidateAttributeRequest{Path: p}, &resp)
		return len(resp.Diagnostics) == 0
	}
	if tw, ok := f.typ.(xattr.TypeWithValidate); ok { //nolint:staticcheck // deprecated, but the framework still runs it
		return len(tw.Validate(ctx, tv, p)) == 0
	}
	return true
}

// setModel is state.Set(ctx, model) for a pointer to a model struct.
func setModel(ctx context.Context, state *tfsdk.State, model any) diag.Diagnostics {
	if setFast(ctx, state, model) {
		return nil
	}
	return state.Set(ctx, model)
}

// setFast stores *model as state.Raw, validating each value as the framework does, and
// reports whether it did so without a single diagnostic. When it reports false, state is
// untouched and the framework has to do the conversion.
func setFast(ctx context.Context, state *tfsdk.State, model any) bool {
	rv := reflect.ValueOf(model)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return false
	}
	l := layoutOf(ctx, rv.Elem().Type(), state.Schema)
	if l == nil || state.Raw.Type() == nil || !state.Raw.Type().Equal(l.objType) {
		return false
	}
	elem := rv.Elem()
	vals := make(map[string]tftypes.Value, len(l.fields))
	for _, f := range l.fields {
		v, ok := elem.FieldByIndex(f.index).Interface().(attr.Value)
		if !ok || v == nil {
			return false
		}
		tv, err := v.ToTerraformValue(ctx)
		if err != nil || tv.Type() == nil || !tv.Type().Equal(f.tfTyp) {
			return false
		}
		if !valid(ctx, f, v, tv) {
			return false
		}
		vals[f.name] = tv
	}
	if err := tftypes.ValidateValue(l.objType, vals); err != nil {
		return false
	}
	state.Raw = tftypes.NewValue(l.objType, vals)
	return true
}
