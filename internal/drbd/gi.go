package drbd

import (
	"fmt"
	"strconv"
	"strings"
)

// uuidJustCreated is the current data generation UUID that drbdmeta writes into fresh
// metadata (UUID_JUST_CREATED in drbd.h); the lowest bit of a current UUID is the
// "was Primary" flag, so it is ignored in the comparison.
const uuidJustCreated = 4

// GI is a node's data generation identifiers as `drbdadm get-gi` prints them:
// "CURRENT:BITMAP:HISTORY1:HISTORY2:flags...", e.g. the "Just Created"
// 0000000000000004:0000000000000000:0000000000000000:0000000000000000:0:0:0:1:0:1:0.
type GI struct {
	Current, Bitmap, History1, History2 uint64
	// Raw is the line as printed.
	Raw string
}

// JustCreated reports whether the metadata is freshly created and never synced:
// DRBD's "Just Created" current UUID and no bitmap or history UUIDs. Only then may
// the initial sync be skipped with SkipInitialSync.
func (g GI) JustCreated() bool {
	return g.Current&^1 == uuidJustCreated && g.Bitmap == 0 && g.History1 == 0 && g.History2 == 0
}

// ParseGI parses the output of GetGI: the first line of the form
// HEX:HEX:HEX:HEX[:flags...].
func ParseGI(out string) (GI, error) {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		f := strings.Split(line, ":")
		if len(f) < 4 {
			continue
		}
		var u [4]uint64
		ok := true
		for i := range 4 {
			v, err := strconv.ParseUint(f[i], 16, 64)
			if err != nil || len(f[i]) != 16 {
				ok = false
				break
			}
			u[i] = v
		}
		if ok {
			return GI{Current: u[0], Bitmap: u[1], History1: u[2], History2: u[3], Raw: line}, nil
		}
	}
	return GI{}, fmt.Errorf("no generation identifiers in the output of drbdadm get-gi: %s", firstLine(out))
}

// GetGI returns `drbdadm get-gi RES` (the local node's generation identifiers).
func (c Commands) GetGI(res ResourceName) string { return c.drbdadm(res, "get-gi") }

// SkipInitialSync returns the command that marks a freshly created pair in sync without
// a resync (LINBIT's documented way for blank devices): 8.3 and 8.4
// `drbdadm -- --clear-bitmap new-current-uuid RES`, 9
// `drbdadm new-current-uuid --clear-bitmap RES`. Run it on one node of a Connected
// pair whose metadata is Just Created on both nodes (GI.JustCreated) and whose disks are
// both Inconsistent; both become UpToDate at once. Unused blocks are then not compared,
// so an online verify may report them until they are written.
func (c Commands) SkipInitialSync(res ResourceName) (string, error) {
	if err := c.needFamily("skip-initial-sync"); err != nil {
		return "", err
	}
	if c.family == Family9 {
		return c.drbdadm(res, "new-current-uuid", "--clear-bitmap"), nil
	}
	return c.drbdadm(res, "--", "--clear-bitmap", "new-current-uuid"), nil
}

// ParseGIAll parses every generation line of GetGI's output: one per volume of the resource.
func ParseGIAll(out string) ([]GI, error) {
	var all []GI
	for _, line := range strings.Split(out, "\n") {
		if g, err := ParseGI(line); err == nil {
			all = append(all, g)
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no generation identifiers in the output of drbdadm get-gi: %s", firstLine(out))
	}
	return all, nil
}
