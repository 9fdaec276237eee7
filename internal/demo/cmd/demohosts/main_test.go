package main

import (
	"testing"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

func TestParseVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    drbdsim.Version
		wantErr bool
	}{
		{"8.4", drbdsim.V84, false},
		{"8.3", drbdsim.V83, false},
		{"9", drbdsim.V9, false},
		{"9.2", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseVersion(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseVersion(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
