package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/seed-a700e435/terraform-provider-drbd/internal/drbdsim"
)

// Day 2 of a Chef Server HA backend: a planned switchover stops Chef Server (stop_command)
// before the DRBD filesystem is unmounted, a busy unmount names the processes holding the
// filesystem, and a plan after out-of-band changes warns what it saw.

// chefFSStop answers `chef-server-ctl stop` on the simulated nodes like Chef Server: the
// services stop and let go of the filesystems they held (drbdsim.Node.ReleaseMount), or the
// stop fails with the given exit code and message.
type chefFSStop struct {
	mu   sync.Mutex
	code int
	msg  string
	runs [2]int
}

// fail makes the following stops fail with code and msg; fail(0, "") makes them succeed.
func (s *chefFSStop) fail(code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.code, s.msg = code, msg
}

// count returns how many stops node i received.
func (s *chefFSStop) count(i int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs[i]
}

// newChefFSEnv is a test env whose nodes answer `chef-server-ctl stop` through stop. The
// answer is injected with FailNext (exit 0 for success), so it does not depend on what the
// simulator's chef-server-ctl knows.
func newChefFSEnv(t *testing.T) (*testEnv, *chefFSStop) {
	t.Helper()
	stop := &chefFSStop{}
	var e *testEnv
	e = newEnvWith(t, drbdsim.PairConfig{}, envOptions{hook: func(node int, cmd string) {
		if !strings.Contains(cmd, "chef-server-ctl stop") {
			return
		}
		stop.mu.Lock()
		code, msg := stop.code, stop.msg
		stop.runs[node]++
		stop.mu.Unlock()
		n := e.node(node)
		if code != 0 {
			n.FailNext("chef-server-ctl", code, msg)
			return
		}
		n.ReleaseMount(defaultMountpoint)
		n.FailNext("chef-server-ctl", 0, "ok: down: nginx: 0s, normally up\nok: down: opscode-erchef: 1s, normally up\n"+
			"ok: down: postgresql: 1s, normally up\n")
	}})
	return e, stop
}

// chefFSPrimaryPair is newChefFSEnv with node1 Primary and both disks UpToDate.
func chefFSPrimaryPair(t *testing.T) (*testEnv, *chefFSStop) {
	t.Helper()
	e, stop := newChefFSEnv(t)
	e.promote().pair.CompleteSync()
	return e, stop
}

// TestAccDay2ChefFS_switchoverStopsChefBeforeUnmount: Chef Server's services keep the DRBD
// filesystem busy. Moving the role-bound steps to node2 (a planned switchover) destroys
// the Chef step first, whose stop_command stops the services, then unmounts, then demotes;
// node2 is promoted without force and mounts the same filesystem.
func TestAccDay2ChefFS_switchoverStopsChefBeforeUnmount(t *testing.T) {
	testAccPreCheck(t)
	e, stop := chefFSPrimaryPair(t)
	var from int
	var uuid string
	accCase(t, resource.TestCase{
		Steps: []resource.TestStep{
			{
				Config: e.chefFSConfig(0),
				Check: func(_ *terraform.State) error {
					if _, _, ok := e.node(0).MountedAt(defaultMountpoint); !ok {
						return fmt.Errorf("not mounted on node1")
					}
					// Chef Server runs from the filesystem.
					e.node(0).HoldMount(defaultMountpoint, "postgres", 4242)
					e.node(0).HoldMount(defaultMountpoint, "beam.smp", 4300)
					uuid = e.node(0).FSUUID()
					from = len(e.mutations(0))
					return nil
				},
			},
			{
				Config: e.chefFSConfig(1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("drbd_chef_backend_ready.chef", plancheck.ResourceActionDestroyBeforeCreate),
					plancheck.ExpectResourceAction("drbd_filesystem.data", plancheck.ResourceActionDestroyBeforeCreate),
					plancheck.ExpectResourceAction("drbd_primary.p", plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: func(_ *terraform.State) error {
					m := e.node(0).Mutating()
					st, um, sec := argvIndex(m, from, "chef-server-ctl", "stop"),
						argvIndex(m, from, "umount", defaultMountpoint), argvIndex(m, from, "drbdadm", "secondary")
					if st < 0 || um < 0 || sec < 0 || st >= um || um >= sec {
						return fmt.Errorf("node1 ran %q; want chef-server-ctl stop, then umount, then drbdadm secondary", e.mutations(0)[from:])
					}
					if n := countArgv(e.node(0).Mutating(), "umount"); n != 1 {
						return fmt.Errorf("umount ran %d times on node1, want once (after the stop)", n)
					}
					if e.node(0).Role() != "Secondary" || e.node(1).Role() != "Primary" {
						return fmt.Errorf("roles %s/%s, want Secondary/Primary", e.node(0).Role(), e.node(1).Role())
					}
					if _, _, ok := e.node(1).MountedAt(defaultMountpoint); !ok || e.node(1).FSUUID() != uuid {
						return fmt.Errorf("node2: mounted %v, uuid %s, want the same filesystem %s", ok, e.node(1).FSUUID(), uuid)
					}
					if e.ranCommand(1, "mkfs.ext4") {
						return fmt.Errorf("the filesystem was re-created on node2")
					}
					if !e.node(1).FileExists(defaultReadyFile) || len(e.node(1).ReconfigureRuns()) != 1 {
						return fmt.Errorf("node2 was not marked ready and reconfigured")
					}
					return nil
				},
			},
		},
		CheckDestroy: func(_ *terraform.State) error {
			if stop.count(0) != 1 || stop.count(1) != 1 {
				return fmt.Errorf("stops: node1 %d, node2 %d, want one each", stop.count(0), stop.count(1))
			}
			return nil
		},
	})
}

// TestAccDay2ChefFS_busyUnmountNamesHolders: without a stop command, the unmount of a
// filesystem still in use fails naming the processes (fuser -vm) and what to do; the
// filesystem stays mounted, and once they are gone the destroy goes through.
func TestAccDay2ChefFS_busyUnmountNamesHolders(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{}).promote()
	cfg := e.filesystemConfig(0)
	accCase(t, resource.TestCase{
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: func(_ *terraform.State) error {
					e.node(0).HoldMount(defaultMountpoint, "sleep", 1234)
					e.node(0).HoldMount(defaultMountpoint, "postgres", 88)
					return nil
				},
			},
			{
				Config:  cfg,
				Destroy: true,
				ExpectError: diagRE("Unable to Unmount DRBD Filesystem", "umount "+defaultMountpoint, e.hosts[0].Addr(),
					"exited 32", "target is busy", "Processes using "+defaultMountpoint+": postgres (pid 88, cwd), sleep (pid 1234, cwd).",
					"Stop them (for Chef: set stop_command on drbd_chef_backend_ready) and apply again"),
			},
			{
				PreConfig: func() {
					if _, _, ok := e.node(0).MountedAt(defaultMountpoint); !ok {
						t.Error("a busy unmount left the filesystem unmounted")
					}
					if !e.ranCommand(0, "fuser", "-vm", defaultMountpoint) {
						t.Error("fuser -vm was not run")
					}
					e.node(0).ReleaseMount(defaultMountpoint)
				},
				Config:  cfg,
				Destroy: true,
			},
		},
		CheckDestroy: func(_ *terraform.State) error {
			if _, _, ok := e.node(0).MountedAt(defaultMountpoint); ok {
				return fmt.Errorf("still mounted after the processes were gone")
			}
			return nil
		},
	})
}

// chefFSWarnings records the warnings the provider returns from ReadResource (what terraform
// plan shows after refreshing).
type chefFSWarnings struct {
	mu   sync.Mutex
	list []string
}

func (w *chefFSWarnings) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.list)
}

// since returns the warnings recorded after mark, as "summary: detail".
func (w *chefFSWarnings) since(mark int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.list[mark:])
}

// factories serves the provider in-process with the recording.
func (w *chefFSWarnings) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"drbd": func() (tfprotov6.ProviderServer, error) {
			return &chefFSWarningServer{ProviderServer: providerserver.NewProtocol6(New("test")())(), w: w}, nil
		},
	}
}

type chefFSWarningServer struct {
	tfprotov6.ProviderServer
	w *chefFSWarnings
}

func (s *chefFSWarningServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	resp, err := s.ProviderServer.ReadResource(ctx, req)
	if resp != nil {
		for _, d := range resp.Diagnostics {
			if d.Severity == tfprotov6.DiagnosticSeverityWarning {
				s.w.mu.Lock()
				s.w.list = append(s.w.list, d.Summary+": "+d.Detail)
				s.w.mu.Unlock()
			}
		}
	}
	return resp, err
}

// chefFSWarned is a plan check: a warning recorded since *mark matches want.
type chefFSWarned struct {
	w    *chefFSWarnings
	mark *int
	want *regexp.Regexp
}

func (c chefFSWarned) CheckPlan(_ context.Context, _ plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	got := c.w.since(*c.mark)
	for _, s := range got {
		if c.want.MatchString(s) {
			return
		}
	}
	resp.Error = fmt.Errorf("no plan warning matches %s; warnings: %q", c.want, got)
}

// TestAccDay2ChefFS_driftWarnings: a plan after the filesystem was unmounted and the ready
// file removed out of band warns about both, naming the host, what was seen and what the
// apply does; the apply then mounts and marks ready again.
func TestAccDay2ChefFS_driftWarnings(t *testing.T) {
	testAccPreCheck(t)
	e := newTestEnv(t, drbdsim.PairConfig{}).promote()
	e.pair.CompleteSync()
	w := &chefFSWarnings{}
	cfg := e.filesystemConfig(0) + block(`resource "drbd_chef_backend_ready" "test"`, e.hostArgs(0), "depends_on = [drbd_filesystem.test]")
	host := regexp.QuoteMeta(e.hosts[0].Addr())
	var mark, clean int
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: w.factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: func(_ *terraform.State) error {
					clean = w.mark()
					return nil
				},
			},
			{
				PreConfig: func() {
					if got := w.since(clean); len(got) != 0 {
						t.Errorf("warnings without drift: %q", got)
					}
					mark = w.mark()
					e.sh(0, "umount "+defaultMountpoint)
					e.node(0).RemoveFile(defaultReadyFile)
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("drbd_filesystem.test", plancheck.ResourceActionCreate),
					plancheck.ExpectResourceAction("drbd_chef_backend_ready.test", plancheck.ResourceActionCreate),
					chefFSWarned{w, &mark, regexp.MustCompile(`^Drift on \S+@` + host + `: ` + regexp.QuoteMeta(defaultMountpoint) +
						` is not mounted on \S+@` + host + `: the next apply mounts /dev/drbd0 there\.$`)},
					chefFSWarned{w, &mark, regexp.MustCompile(`^Drift on \S+@` + host + `: The Chef backend ready file ` +
						regexp.QuoteMeta(defaultReadyFile) + ` is gone on \S+@` + host +
						": the next apply touches it again and runs `chef-server-ctl reconfigure`\\.$")},
				}},
				Check: func(_ *terraform.State) error {
					if _, _, ok := e.node(0).MountedAt(defaultMountpoint); !ok || !e.node(0).FileExists(defaultReadyFile) {
						return fmt.Errorf("not repaired: mounted %v, ready file %v", ok, e.node(0).FileExists(defaultReadyFile))
					}
					return nil
				},
			},
		},
	})
}
