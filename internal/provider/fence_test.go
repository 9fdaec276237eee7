package provider

import "testing"

func TestFenceSet(t *testing.T) {
	t.Parallel()
	f := newFenceSet([]string{"backend1", "10.0.0.2:2222", "[2001:db8::1]:22", "2001:db8::2", "bad entry"})
	tests := []struct {
		host string
		port int
		want bool
	}{
		{"backend1", 22, true},
		{"backend1", 2222, true},
		{"backend2", 22, false},
		{"10.0.0.2", 2222, true},
		{"10.0.0.2", 22, false},
		{"2001:db8::1", 22, true},
		{"2001:db8::1", 23, false},
		{"2001:db8::2", 22, true},
		{"bad entry", 22, false},
	}
	for _, tt := range tests {
		if _, got := f.fenced(tt.host, tt.port); got != tt.want {
			t.Errorf("fenced(%q, %d) = %v, want %v", tt.host, tt.port, got, tt.want)
		}
	}
	d := &providerData{port: 2222, fence: f}
	if _, got := d.fencedTarget("10.0.0.2", 0); !got {
		t.Error("an unset port must match the provider's port")
	}
	for _, bad := range []string{"", "a b", "host:0", "host:x", "[::1", "a/b", "::1:22:"} {
		if _, _, err := parseFence(bad); err == nil {
			t.Errorf("parseFence(%q) accepted", bad)
		}
	}
}
