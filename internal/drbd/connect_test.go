package drbd

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConnectCommands(t *testing.T) {
	t.Parallel()
	// A name goes through ParseResourceName first, as in the provider: a bad one gives no command.
	connect := func(c Commands, res string) (string, error) {
		n, err := ParseResourceName(res)
		if err != nil {
			return "", err
		}
		return c.Connect(n), nil
	}
	discard := func(c Commands, res string) (string, error) {
		n, err := ParseResourceName(res)
		if err != nil {
			return "", err
		}
		return c.ConnectDiscardMyData(n)
	}
	tests := []struct {
		name string
		v    Versions
		f    func(Commands, string) (string, error)
		res  string
		want []string // nil: an error and no command
	}{
		{"connect 8.3", v83, connect, "pc0", []string{"drbdadm", "connect", "pc0"}},
		{"connect 8.4", v84, connect, "pc0", []string{"drbdadm", "connect", "pc0"}},
		{"connect 8.4 old utils", v84old, connect, "pc0", []string{"drbdadm", "connect", "pc0"}},
		{"connect 9", v9, connect, "r.0_x-1", []string{"drbdadm", "connect", "r.0_x-1"}},
		{"connect, version unknown", vUnknown, connect, "pc0", []string{"drbdadm", "connect", "pc0"}},
		{"discard-my-data 8.3", v83, discard, "pc0", []string{"drbdadm", "--", "--discard-my-data", "connect", "pc0"}},
		{"discard-my-data 8.4", v84, discard, "pc0", []string{"drbdadm", "connect", "--discard-my-data", "pc0"}},
		{"discard-my-data 8.4 old utils", v84old, discard, "pc0", []string{"drbdadm", "connect", "--discard-my-data", "pc0"}},
		{"discard-my-data 9", v9, discard, "pc0", []string{"drbdadm", "connect", "--discard-my-data", "pc0"}},
		// The option's place differs between 8.3 and later: no guess.
		{"discard-my-data, version unknown", vUnknown, discard, "pc0", nil},
		// Invalid names are an error, never a command.
		{"connect bad name", v84, connect, "pc0; reboot", nil},
		{"connect all", v9, connect, "all", nil},
		{"connect option as name", v84, connect, "--discard-my-data", nil},
		{"discard bad name 8.3", v83, discard, "$(id)", nil},
		{"discard bad name 9", v9, discard, "pc 0", nil},
		{"discard all", v84, discard, "all", nil},
		{"discard empty", v84, discard, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd, err := tt.f(NewCommands(tt.v), tt.res)
			if tt.want == nil {
				if err == nil || cmd != "" {
					t.Fatalf("got command %q, err %v; want an error and no command", cmd, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			argv, err := shellArgv(cmd)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, argv); diff != "" {
				t.Errorf("argv of %q mismatch (-want +got):\n%s", cmd, diff)
			}
		})
	}
}
