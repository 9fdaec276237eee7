package provider

import (
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

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

// TestAccResource_stateChangesBeforeCreateMD: between the probe that found no metadata and
// the create-md, the backing disk changes (metadata created by someone else, a filesystem
// written): create-md does not run over it, and the error says what was seen.
func TestAccResource_stateChangesBeforeCreateMD(t *testing.T) {
	testAccPreCheck(t)
	for _, tc := range []struct {
		name   string
		change func(e *testEnv)
		want   *regexp.Regexp
	}{
		{"metadata created", func(e *testEnv) { e.sh(0, "drbdadm -- --force create-md pc0") },
			diagRE("Refusing to Create DRBD Metadata", "pc0", "/dev/vdb", "TYPE=drbd", "Nothing was run")},
		{"filesystem written", func(e *testEnv) { e.node(0).PutBackingFilesystem("xfs") },
			diagRE("Refusing to Create DRBD Metadata", "/dev/vdb", "TYPE=xfs", "Nothing was run")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				e    *testEnv
				once sync.Once
			)
			e = newEnvWith(t, drbdsim.PairConfig{}, envOptions{hook: func(node int, cmd string) {
				if node == 0 && strings.Contains(cmd, "create-md") {
					once.Do(func() { tc.change(e) })
				}
			}})
			e.applyFails(t, e.resourceConfig(0), tc.want)
			want := 0
			if tc.name == "metadata created" {
				want = 1 // the out-of-band one
			}
			if n := countArgv(e.node(0).Executed(), "drbdadm", "--", "--force", "create-md") + countArgv(e.node(0).Executed(), "drbdadm", "create-md"); n != want {
				t.Errorf("create-md ran %d times, want %d (only the out-of-band one)", n, want)
			}
			if e.node(0).IsUp() {
				t.Error("the resource was brought up over the changed disk")
			}
		})
	}
}

// TestAccResource_stateChangesBeforeVictimConnect: between the probe that found the node a
// StandAlone Secondary in split brain and the connect --discard-my-data, it changes (promoted,
// or reconnected and so no longer StandAlone): its changes are not discarded, and the error
// says what was seen.
func TestAccResource_stateChangesBeforeVictimConnect(t *testing.T) {
	testAccPreCheck(t)
	for _, tc := range []struct {
		name, change string
		want         *regexp.Regexp
	}{
		{"promoted", "drbdadm primary pc0", diagRE("Refusing to Discard", "pc0", "Primary", "not Secondary", "Nothing was run")},
		{"reconnected", "drbdadm connect pc0", diagRE("Refusing to Discard", "pc0", "WFConnection", "not StandAlone", "Nothing was run")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				e    *testEnv
				once sync.Once
			)
			e = newEnvWith(t, drbdsim.PairConfig{SyncStepPercent: -1}, envOptions{hook: func(node int, cmd string) {
				if node == 1 && strings.Contains(cmd, "discard-my-data") {
					once.Do(func() { e.sh(1, tc.change) })
				}
			}})
			e.promote()
			e.pair.CompleteSync()
			e.pair.SplitBrain()
			e.applyFails(t, e.resourceConfig(1, "split_brain_victim = true"), tc.want)
			if n := countArgv(e.node(1).Executed(), "drbdadm", "connect", "--discard-my-data"); n != 0 {
				t.Errorf("connect --discard-my-data ran %d times after the node changed", n)
			}
		})
	}
}

// TestAccFilesystem_mountAfterMkfsIsChecked: the mount that follows mkfs is sent as the
// checked mount (the kernel's mount table and the mountpoint's canonical path read in the same
// command), like the mount of an existing filesystem, never as a plain mount.
func TestAccFilesystem_mountAfterMkfsIsChecked(t *testing.T) {
	testAccPreCheck(t)
	var (
		mu     sync.Mutex
		mounts []string
	)
	e := newEnvWith(t, drbdsim.PairConfig{}, envOptions{hook: func(node int, cmd string) {
		if node == 0 && strings.Contains(cmd, "mount -t ext4") {
			mu.Lock()
			mounts = append(mounts, cmd)
			mu.Unlock()
		}
	}})
	e.promote()
	accTest(t, resource.TestStep{Config: e.filesystemConfig(0)})
	if n := countArgv(e.node(0).Executed(), "mkfs.ext4"); n != 1 {
		t.Fatalf("mkfs.ext4 ran %d times, want 1", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(mounts) == 0 {
		t.Fatal("no mount was sent")
	}
	for _, cmd := range mounts {
		if !strings.Contains(cmd, "cd -P") || !strings.Contains(cmd, "/proc/self/mounts") {
			t.Errorf("a mount without the mountpoint check was sent: %q", cmd)
		}
	}
}
