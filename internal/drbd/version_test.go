package drbd

import (
	"errors"
	"testing"
)

func TestParseUtilsVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		in            string
		kernel, utils Version
		wantErr       bool
	}{
		{
			name: "bookworm utils 9.22 with 8.4.11 module (lab)",
			in: "DRBDADM_BUILDTAG=GIT-hash:\\ 409097fe02187f83790b88ac3e0d94f3c167adab\\ reproducible\\ build\\,\\ 2023-01-09\\ 14:51:18\n" +
				"DRBDADM_API_VERSION=1\nDRBD_KERNEL_VERSION_CODE=0x08040b\nDRBDADM_VERSION_CODE=0x091600\nDRBDADM_VERSION=9.22.0\n",
			kernel: Version{8, 4, 11}, utils: Version{9, 22, 0},
		},
		{
			name:   "real 9.2.12 module with utils 9.22 (lab capture)",
			in:     version9,
			kernel: Version{9, 2, 12}, utils: Version{9, 22, 0},
		},
		{
			name:   "DRBD 9 with text kernel version",
			in:     "DRBD_KERNEL_VERSION_CODE=0x09020c\nDRBD_KERNEL_VERSION=9.2.12\nDRBDADM_VERSION_CODE=0x091c00\nDRBDADM_VERSION=9.28.0\n",
			kernel: Version{9, 2, 12}, utils: Version{9, 28, 0},
		},
		{
			name:  "module not loaded",
			in:    "DRBD_KERNEL_VERSION_CODE=0x000000\nDRBDADM_VERSION_CODE=0x080405\n",
			utils: Version{8, 4, 5},
		},
		{
			name:   "suffix ignored",
			in:     "DRBD_KERNEL_VERSION=9.3.0-rc.1\nDRBDADM_VERSION=9.30.0-rc.2\n",
			kernel: Version{9, 3, 0}, utils: Version{9, 30, 0},
		},
		{name: "8.3 utils reject --version", in: "drbdadm: unrecognized option '--version'\n", wantErr: true},
		{name: "garbage codes", in: "DRBD_KERNEL_VERSION_CODE=zz\nDRBDADM_VERSION=x.y\n", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, u, err := ParseUtilsVersion(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrNoVersion) {
				t.Errorf("err = %v, want ErrNoVersion", err)
			}
			if k != tt.kernel || u != tt.utils {
				t.Errorf("got kernel %v utils %v, want %v %v", k, u, tt.kernel, tt.utils)
			}
		})
	}
}

func TestVersionsFamily(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    Versions
		want Family
	}{
		{Versions{Kernel: Version{8, 4, 11}, Utils: Version{9, 22, 0}}, Family84}, // utils 9 drive 8.4 via the 8.4 back-end
		{Versions{Kernel: Version{8, 3, 13}}, Family83},
		{Versions{Kernel: Version{8, 2, 7}}, Family83},
		{Versions{Kernel: Version{9, 2, 12}, Utils: Version{9, 28, 0}}, Family9},
		{Versions{Kernel: Version{10, 0, 0}}, Family9},
		{Versions{Utils: Version{9, 22, 0}}, Family9},
		{Versions{Utils: Version{8, 9, 10}}, Family84},
		{Versions{Utils: Version{8, 3, 16}}, Family83},
		{Versions{}, FamilyUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.v.String(), func(t *testing.T) {
			t.Parallel()
			if got := tt.v.Family(); got != tt.want {
				t.Errorf("Family() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Version
		str     string
		wantErr bool
	}{
		{in: "8.4.11", want: Version{8, 4, 11}, str: "8.4.11"},
		{in: "9.2.12-rc.1", want: Version{9, 2, 12}, str: "9.2.12"},
		{in: "8.3", want: Version{8, 3, 0}, str: "8.3.0"},
		{in: " 9.0.0 ", want: Version{9, 0, 0}, str: "9.0.0"},
		{in: "9", wantErr: true, str: "unknown"},
		{in: "v9.1.0", wantErr: true, str: "unknown"},
		{in: "1234567.1", wantErr: true, str: "unknown"},
		{in: "", wantErr: true, str: "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseVersion(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want || got.String() != tt.str || got.IsZero() != (tt.want == Version{}) {
				t.Errorf("got %v (%q), want %v (%q)", got, got.String(), tt.want, tt.str)
			}
		})
	}
}
