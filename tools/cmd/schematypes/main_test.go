package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTypeNames(t *testing.T) {
	t.Parallel()
	const schema = `{"format_version":"1.0","provider_schemas":{"registry.terraform.io/seed-a700e435/drbd":{
		"provider":{"version":0,"block":{}},
		"resource_schemas":{"drbd_sync":{},"drbd_primary":{}},
		"data_source_schemas":{"drbd_status":{}}}}}`
	tests := []struct {
		name, input, kind string
		want              []string
		wantErr           bool
	}{
		{"resources sorted", schema, "resources", []string{"drbd_primary", "drbd_sync"}, false},
		{"data sources", schema, "data-sources", []string{"drbd_status"}, false},
		{"unknown kind", schema, "functions", nil, true},
		{"no providers", `{"format_version":"1.0"}`, "resources", nil, true},
		{"not json", `provider "drbd" {}`, "resources", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := typeNames(strings.NewReader(tt.input), tt.kind)
			if (err != nil) != tt.wantErr {
				t.Fatalf("typeNames error = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("typeNames (-want +got):\n%s", diff)
			}
		})
	}
}
