package provider

import (
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

// TestAccFilesystem_stateChangesBeforeMkfs: the device changes between the read that found it
// blank and the mkfs (another filesystem written, the node demoted): mkfs does not run, and
// the error says what was seen.
func TestAccFilesystem_stateChangesBeforeMkfs(t *testing.T) {
	testAccPreCheck(t)
	for _, tc := range []struct {
		name, change string
		want         *regexp.Regexp
	}{
		{"xfs written", "mkfs.xfs -q /dev/drbd0", diagRE("Refusing to Format", "/dev/drbd0", "xfs", "Nothing was run")},
		{"demoted", "drbdadm secondary pc0", diagRE("Refusing to Format", "/dev/drbd0", "Secondary", "Nothing was run")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				e    *testEnv
				once sync.Once
			)
			e = newEnvWith(t, drbdsim.PairConfig{}, envOptions{hook: func(node int, cmd string) {
				if node == 0 && strings.Contains(cmd, "mkfs.ext4") {
					once.Do(func() { e.sh(0, tc.change) })
				}
			}})
			e.promote()
			e.applyFails(t, e.filesystemConfig(0), tc.want)
			if n := countArgv(e.node(0).Executed(), "mkfs.ext4"); n != 0 {
				t.Errorf("mkfs.ext4 ran %d times after the device changed", n)
			}
		})
	}
}
