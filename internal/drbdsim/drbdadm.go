package drbdsim

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// admArgs is a parsed drbdadm command line.
type admArgs struct {
	word string
	res  string
	opts []string // --key[=value] options for the back-end (before or after the word)
}

func (a admArgs) has(opt string) bool {
	for _, o := range a.opts {
		if o == opt || strings.HasPrefix(o, opt+"=") {
			return true
		}
	}
	return false
}

// setup returns the back-end command drbdadm would name in its error line.
func (c *call) setup(word string, extra ...string) string {
	cfg := c.p.cfg
	var parts []string
	switch cfg.Version {
	case V83:
		parts = []string{"drbdsetup", c.n.device(), word}
	case V9:
		obj := cfg.Resource
		switch word {
		case "disk-options", "peer-device-options", "invalidate", "resize", "new-current-uuid":
			obj = strconv.Itoa(cfg.Minor)
		case "cstate", "connect", "disconnect":
			obj = cfg.Resource + " " + strconv.Itoa(1-c.n.idx)
		}
		parts = []string{"drbdsetup", word, obj}
	default:
		obj := strconv.Itoa(cfg.Minor)
		switch word {
		case "down", "status", "new-minor":
			obj = cfg.Resource
		}
		parts = []string{"drbdsetup-84", word, obj}
	}
	return strings.Join(append(parts, extra...), " ")
}

// failed prints drbdadm's trailer naming the failed back-end command and returns code.
func (c *call) failed(code int, setupCmd string) int {
	c.errf("Command '%s' terminated with exit code %d\n", setupCmd, code)
	return code
}

// obj is the object prefix of kernel messages: the minor on 8.x, the resource on 9.
func (c *call) obj() string {
	if c.p.cfg.Version == V9 {
		return c.p.cfg.Resource
	}
	return strconv.Itoa(c.p.cfg.Minor)
}

// notUp reports the error of a kernel command against a resource that is down.
func (c *call) notUp(word string, extra ...string) int {
	if c.p.cfg.Version == V9 {
		c.errf("%s: No such resource\n", c.p.cfg.Resource)
	} else {
		c.errf("%d: Failure: (127) Device minor not allocated\nadditional info from kernel:\nunknown minor\n", c.p.cfg.Minor)
	}
	return c.failed(10, c.setup(word, extra...))
}

// stateFailed reports a refused state change.
func (c *call) stateFailed(code int, msg, word string, extra ...string) int {
	c.errf("%s: State change failed: %s\n", c.obj(), msg)
	return c.failed(code, c.setup(word, extra...))
}

func (c *call) mdVersion() string {
	if c.p.cfg.Version == V9 {
		return "v09"
	}
	return "v08"
}

func (c *call) drbdmeta(word string) string {
	return fmt.Sprintf("drbdmeta %d %s %s internal %s", c.p.cfg.Minor, c.mdVersion(), c.p.cfg.BackingDisk, word)
}

var resDeclRE = regexp.MustCompile(`(?m)^\s*resource\s+("?)([A-Za-z0-9_.+-]+)("?)\s*\{?`)

// resourceDefined reports whether a file under /etc/drbd.d declares the resource. Callers hold mu.
func (n *Node) resourceDefined(res string) bool {
	for p, e := range n.files {
		resFile := path.Dir(p) == "/etc/drbd.d" && strings.HasSuffix(p, ".res")
		if e.dir || (p != "/etc/drbd.conf" && !resFile) {
			continue
		}
		for _, m := range resDeclRE.FindAllStringSubmatch(string(e.data), -1) {
			if m[2] == res {
				return true
			}
		}
	}
	return false
}

func progDrbdadm(c *call) int {
	v := c.p.cfg.Version
	var a admArgs
	var resources []string
	passthrough := false
	args := c.args[1:]
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case a.word == "" && arg == "--":
			passthrough = true
		case a.word == "" && (arg == "--version" || arg == "-V"):
			if v == V83 {
				c.errf("drbdadm: unrecognized option '%s'\n", arg)
				return 20
			}
			if v == V9 {
				c.outf("%s", adm9Version)
			} else {
				c.outf("%s", adm84Version)
			}
			return 0
		case arg == "-c" || arg == "--config-file":
			i++
		case strings.HasPrefix(arg, "--config-file="):
		case strings.HasPrefix(arg, "-"):
			if v == V83 && !passthrough {
				c.errf("drbdadm: unrecognized option '%s'\n", arg)
				return 20
			}
			a.opts = append(a.opts, arg)
		case a.word == "":
			a.word = arg
		default:
			resources = append(resources, arg)
		}
	}
	if a.word == "" {
		c.errf("\nUSAGE: drbdadm COMMAND [OPTION...] {all|RESOURCE...}\n\n")
		return 1
	}
	handler, ok := admCommands[a.word]
	switch {
	case a.word == "peer-device-options" && v != V9, a.word == "disk-options" && v == V83, a.word == "syncer" && v != V83:
		ok = false
	}
	if !ok {
		c.errf("drbdadm: Unknown command '%s'\n", a.word)
		return 1
	}
	if len(resources) == 0 {
		c.errf("USAGE: %s %s [OPTION...] {all|RESOURCE...}\n", c.args[0], a.word)
		return 1
	}
	res := resources[0]
	if i := strings.IndexByte(res, '/'); i >= 0 {
		res = res[:i]
	}
	if res == "all" {
		res = c.p.cfg.Resource
	}
	a.res = res
	var code int
	c.p.mutate(func() {
		if res != c.p.cfg.Resource || !c.n.resourceDefined(res) {
			c.errf("'%s' not defined in your config (for this host).\n", resources[0])
			code = 10
			return
		}
		code = handler(c, a)
	})
	return code
}

var admCommands map[string]func(*call, admArgs) int

func init() {
	admCommands = map[string]func(*call, admArgs) int{
		"sh-dev": func(c *call, _ admArgs) int {
			for vol := range c.p.volumes() {
				c.outf("%s\n", c.n.deviceOf(vol))
			}
			return 0
		},
		"sh-ll-dev": func(c *call, _ admArgs) int {
			for vol := range c.p.volumes() {
				c.outf("%s\n", c.p.backingDiskOf(vol))
			}
			return 0
		},
		"sh-minor": func(c *call, _ admArgs) int {
			for vol := range c.p.volumes() {
				c.outf("%d\n", c.p.minorOf(vol))
			}
			return 0
		},
		"sh-md-dev":           func(c *call, _ admArgs) int { c.outf("%s\n", c.p.cfg.BackingDisk); return 0 },
		"dump":                admDump,
		"role":                admRole,
		"cstate":              admCState,
		"dstate":              admDState,
		"status":              admStatus,
		"create-md":           admCreateMD,
		"up":                  admUp,
		"attach":              admUp,
		"down":                admDown,
		"adjust":              admAdjust,
		"primary":             admPrimary,
		"secondary":           admSecondary,
		"connect":             admConnect,
		"disconnect":          admDisconnect,
		"invalidate":          admInvalidate,
		"verify":              admVerify,
		"resize":              admResize,
		"disk-options":        admOptions,
		"peer-device-options": admOptions,
		"net-options":         admNetOptions,
		"syncer":              admSyncer,
		"new-current-uuid":    admNewCurrentUUID,
		"get-gi":              admGetGI,
	}
}

func admDump(c *call, a admArgs) int {
	for p, e := range c.n.files {
		if strings.HasPrefix(p, "/etc/drbd.d/") && strings.HasSuffix(p, ".res") && strings.Contains(string(e.data), "resource "+a.res) {
			c.outf("# %s\n%s", p, e.data)
			return 0
		}
	}
	return 0
}

func admRole(c *call, _ admArgs) int {
	n := c.n
	if !n.up {
		if c.p.cfg.Version == V83 {
			c.outf("Unconfigured\n")
			return 0
		}
		if c.p.cfg.Version == V9 {
			c.errf("%s: Unknown resource\n", c.p.cfg.Resource)
			return c.failed(10, c.setup("role"))
		}
		return c.notUp("role")
	}
	c.s.statusRead()
	pr, _ := n.peerView()
	if c.p.cfg.Version == V9 {
		c.outf("%s\n", n.role)
	} else {
		c.outf("%s/%s\n", n.role, pr)
	}
	return 0
}

func admCState(c *call, _ admArgs) int {
	n := c.n
	if !n.up {
		if c.p.cfg.Version == V83 {
			c.outf("Unconfigured\n")
			return 0
		}
		if c.p.cfg.Version == V9 {
			c.errf("%s: Failure: (158) Unknown resource\n%s: No such connection\n", c.p.cfg.Resource, c.p.cfg.Resource)
			return c.failed(10, c.setup("cstate"))
		}
		return c.notUp("cstate")
	}
	c.s.statusRead()
	cs := n.connState()
	if c.p.cfg.Version == V9 {
		switch cs {
		case csWFConnection:
			cs = csConnecting
		case csSyncSource, csSyncTarget, csVerifyS, csVerifyT:
			cs = csConnected
		}
	}
	c.outf("%s\n", cs)
	return 0
}

func admDState(c *call, _ admArgs) int {
	n := c.n
	if !n.up {
		// drbdadm falls back to reading the metadata with drbdmeta.
		switch {
		case !n.hasMD:
			c.errf("No valid meta data found\n")
			return 1
		case n.mdDisk == diskUpToDate:
			c.outf("%s\n", diskConsistent)
		default:
			c.outf("%s\n", n.mdDisk)
		}
		return 0
	}
	c.s.statusRead()
	_, pd := n.peerView()
	c.outf("%s/%s\n", n.disk, pd)
	return 0
}

func admStatus(c *call, a admArgs) int {
	n := c.n
	switch {
	case c.p.cfg.Version == V83:
		c.s.statusRead()
		c.outf("%s", n.render83Status())
		return 0
	case !n.up:
		c.errf("%s: No such resource\n", a.res)
		if c.p.cfg.Version == V9 {
			c.errf("# No currently configured DRBD found.\n")
		}
		return c.failed(10, c.setup("status"))
	}
	c.s.statusRead()
	c.outf("%s", n.renderStatusText())
	return 0
}

func admCreateMD(c *call, a admArgs) int {
	n := c.n
	force := a.has("--force")
	if n.up {
		c.errf("Device '%d' is configured!\n", c.p.cfg.Minor)
		return c.failed(20, c.drbdmeta("create-md"))
	}
	if n.backingFS != nil {
		c.outf("md_offset %d\nal_offset %d\nbm_offset %d\n\n", c.p.cfg.SizeKiB*1024+32768, c.p.cfg.SizeKiB*1024, c.p.cfg.SizeKiB*1024-32768)
		c.outf("Found %s filesystem\n%12d kB data area apparently used\n%12d kB left usable by current configuration\n\n",
			n.backingFS.fstype, c.p.cfg.SizeKiB+68, c.p.cfg.SizeKiB)
		c.outf("Device size would be truncated, which\nwould corrupt data and result in\n'access beyond end of device' errors.\n" +
			"You need to either\n   * use external meta data (recommended)\n   * shrink that filesystem first\n" +
			"   * zero out the device (destroy the filesystem)\nOperation refused.\n\n")
		return c.failed(40, c.drbdmeta("create-md"))
	}
	if n.hasMD {
		c.outf("You want me to create a %s style flexible-size internal meta data block.\n", c.mdVersion())
		c.outf("There appears to be a %s flexible-size internal meta data block\nalready in place on %s at byte offset %d\n\n",
			c.mdVersion(), c.p.cfg.BackingDisk, c.p.cfg.SizeKiB*1024+32768)
		if !force {
			c.outf("Do you really want to overwrite the existing meta-data?\n")
			c.errf("stdin not a TTY, not waiting for confirmation\n")
			c.outf("Operation cancelled.\n")
			return c.failed(1, c.drbdmeta("create-md"))
		}
		c.errf("*** confirmation forced via --force option ***\n")
	}
	n.createMD()
	if c.p.cfg.Version == V83 {
		c.outf("Writing meta data...\ninitializing activity log\nNOT initializing bitmap\nNew drbd meta data block successfully created.\nsuccess\n")
		return 0
	}
	bmKB := (c.p.cfg.SizeKiB/4 + 8*1024 - 1) / (8 * 1024)
	bmKB = (bmKB + 3) &^ 3
	c.outf("initializing bitmap (%d KB) to all zero\ninitializing activity log\nWriting meta data...\n"+
		"New drbd meta data block successfully created.\n", bmKB)
	return 0
}

func admUp(c *call, _ admArgs) int {
	n := c.n
	if n.up {
		switch c.p.cfg.Version {
		case V83:
			c.errf("%d: Failure: (124) Device is attached to a disk (use detach first)\n", c.p.cfg.Minor)
			return c.failed(10, c.setup("disk", c.p.cfg.BackingDisk, c.p.cfg.BackingDisk, "internal", "--set-defaults", "--create-device"))
		default:
			c.errf("%s: Failure: (161) Minor or volume exists already (delete it first)\n", c.obj())
			return c.failed(10, c.setup("new-minor", strconv.Itoa(c.p.cfg.Minor), "0"))
		}
	}
	if !n.hasMD {
		c.errf("No valid meta data found\n")
		return c.failed(255, c.drbdmeta("apply-al"))
	}
	n.bringUp()
	return 0
}

func admDown(c *call, _ admArgs) int {
	n := c.n
	if !n.up {
		return 0
	}
	if n.devMounted() {
		return c.stateFailed(11, "(-12) Device is held open by someone", "down")
	}
	if c.p.cfg.Version == V9 && c.p.linkUp() {
		n.outdateSecondaryOnLeave()
	}
	n.takeDown()
	return 0
}

func admAdjust(c *call, a admArgs) int {
	n := c.n
	if !n.up {
		return admUp(c, a)
	}
	n.resyncOpts = map[string]string{}
	n.standAlone = false
	return 0
}

func admPrimary(c *call, a admArgs) int {
	v := c.p.cfg.Version
	force := a.has("--force") || a.has("--overwrite-data-of-peer")
	if v == V9 && a.has("--overwrite-data-of-peer") {
		c.errf("drbdsetup primary: unrecognized option '--overwrite-data-of-peer'\n")
		return c.failed(20, c.setup("primary", "--overwrite-data-of-peer"))
	}
	var extra []string
	if force {
		extra = []string{"--force"}
		if v == V83 {
			extra = []string{"--overwrite-data-of-peer"}
		}
	}
	if !c.n.up {
		if v == V83 {
			return c.stateFailed(17, "(-2) Need access to UpToDate data", "primary", extra...)
		}
		return c.notUp("primary", extra...)
	}
	code, msg := c.n.promote(force)
	if code != 0 {
		return c.stateFailed(code, msg, "primary", extra...)
	}
	return 0
}

// promote implements primary [--force]. Callers hold mu.
func (n *Node) promote(force bool) (int, string) {
	p := n.p
	if !n.up {
		return 10, "resource is down"
	}
	if pr, _ := n.peerView(); pr == rolePrimary {
		return 11, "(-1) Multiple primaries not allowed by config"
	}
	if n.role == rolePrimary {
		n.autoPromoted = false // promoted by hand now: stays Primary after the last umount
		return 0, ""
	}
	if force {
		if n.disk == diskDiskless || n.disk == diskFailed {
			return 17, "(-2) Need access to UpToDate data"
		}
		if n.disk != diskUpToDate {
			n.setDisk(diskUpToDate)
			if p.sync != nil && p.sync.source != n.idx {
				p.sync = nil
			}
			pe := n.peer()
			if p.linkUp() && pe.disk != diskUpToDate && p.sync == nil {
				p.startSync(n.idx, p.cfg.SizeKiB)
			}
		}
		n.role = rolePrimary
		return 0, ""
	}
	if !n.hasUpToDateAccess() {
		return 17, "(-2) Need access to UpToDate data"
	}
	if !n.hasQuorum() {
		return 11, "(-25) No quorum"
	}
	n.role = rolePrimary
	return 0, ""
}

func admSecondary(c *call, _ admArgs) int {
	n := c.n
	if !n.up {
		if c.p.cfg.Version == V83 {
			return 0
		}
		return c.notUp("secondary")
	}
	if n.devMounted() {
		return c.stateFailed(11, "(-12) Device is held open by someone", "secondary")
	}
	n.role = roleSecondary
	return 0
}

func admConnect(c *call, a admArgs) int {
	n := c.n
	if !n.up {
		return c.notUp("connect")
	}
	if !n.standAlone {
		if c.p.cfg.Version == V9 {
			c.errf("%s: Failure: (162) Invalid configuration request\nadditional info from kernel:\n"+
				"Connection for peer node id %d already exists\n", c.p.cfg.Resource, 1-n.idx)
		} else {
			c.errf("%s: Failure: (102) Local address(port) already in use.\n", c.obj())
		}
		return c.failed(10, c.setup("connect"))
	}
	n.standAlone = false
	n.discardMyData = a.has("--discard-my-data")
	return 0
}

func admDisconnect(c *call, _ admArgs) int {
	n := c.n
	if !n.up {
		return c.notUp("disconnect")
	}
	if !n.standAlone {
		from := n.connState()
		if c.p.cfg.Version == V9 && c.p.linkUp() {
			// DRBD 9 outdates the Secondary of a graceful disconnect from a Primary.
			n.outdateSecondaryOnLeave()
			n.peer().outdateSecondaryOnLeave()
		}
		n.klogConnState(from, "Disconnecting")
		n.klogConnState("Disconnecting", csStandAlone)
	}
	n.standAlone = true
	return 0
}

// outdateSecondaryOnLeave marks the node Outdated when it is an UpToDate Secondary whose
// peer is Primary and the connection is closed gracefully (`drbdadm disconnect` on either
// node, `drbdadm down` on this one): seen on 9.2.12, where the peer left Connecting shows
// disk:Outdated and `drbdadm dstate` of the node taken down reads Outdated from its
// metadata. Callers hold mu.
func (n *Node) outdateSecondaryOnLeave() {
	if n.role == roleSecondary && n.peer().role == rolePrimary && n.disk == diskUpToDate {
		n.setDisk(diskOutdated)
	}
}

func admInvalidate(c *call, _ admArgs) int {
	n := c.n
	if !n.up {
		return c.notUp("invalidate")
	}
	p := c.p
	if p.linkUp() {
		if _, pd := n.peerView(); pd != diskUpToDate {
			return c.stateFailed(11, "(-15) Need a connection to start verify or resync", "invalidate")
		}
		p.sync = nil
		p.startSync(1-n.idx, p.cfg.SizeKiB)
		return 0
	}
	n.setDisk(diskInconsistent)
	return 0
}

// resyncOptionNames are the resync controller options; on DRBD 9 they belong to the peer device.
var resyncOptionNames = []string{"resync-rate", "c-plan-ahead", "c-min-rate", "c-max-rate", "c-fill-target", "c-delay-target", "resync-after"}

var diskOptionNames = []string{"on-io-error", "fencing", "disk-barrier", "disk-flushes", "disk-drain", "md-flushes",
	"al-extents", "al-updates", "disk-timeout", "read-balancing", "discard-zeroes-if-aligned", "rs-discard-granularity"}

func admOptions(c *call, a admArgs) int {
	v := c.p.cfg.Version
	n := c.n
	parsed := map[string]string{}
	for _, o := range a.opts {
		key, val, _ := strings.Cut(strings.TrimPrefix(o, "--"), "=")
		resync := slices.Contains(resyncOptionNames, key)
		valid := resync
		if a.word == "disk-options" {
			valid = valid || slices.Contains(diskOptionNames, key)
			if v == V9 && resync {
				valid = false
			}
		}
		if !valid {
			c.errf("drbdsetup %s: unrecognized option '%s'\n", a.word, o)
			return c.failed(20, c.setup(a.word, a.opts...))
		}
		if resync && key != "resync-after" {
			if _, ok := parseRateKiB(val); !ok {
				c.errf("drbdsetup %s: invalid value '%s' for option '--%s'\n", a.word, val, key)
				return c.failed(20, c.setup(a.word, a.opts...))
			}
		}
		if resync {
			parsed[key] = val
		}
	}
	if !n.up {
		return c.notUp(a.word, a.opts...)
	}
	for k, val := range parsed {
		setResyncOpt(n.resyncOpts, k, val)
		// Measured on real DRBD 8.4.11: disk-options on a connected node also changes the
		// peer's resync-rate and c-plan-ahead (not c-min-rate).
		if v == V84 && c.p.linkUp() && (k == "resync-rate" || k == "c-plan-ahead") {
			setResyncOpt(n.peer().resyncOpts, k, val)
		}
	}
	return 0
}

// setResyncOpt sets a resync option; drbdsetup show lists only values that differ from
// DRBD's defaults, so a default value removes it.
func setResyncOpt(opts map[string]string, key, val string) {
	opts[key] = val
	if isDefaultOption(key, val) {
		delete(opts, key)
	}
}

// isDefaultOption reports whether val is DRBD's default for the resync option key
// (c-plan-ahead 20, resync-rate and c-min-rate 250 KiB/s).
func isDefaultOption(key, val string) bool {
	kib, ok := parseRateKiB(val)
	switch key {
	case "c-plan-ahead":
		return ok && kib == 20
	case "resync-rate", "c-min-rate":
		return ok && kib == 250
	}
	return false
}

// drbdsetupShow implements `drbdsetup show RES` (8.4, 9) and `drbdsetup DEVICE show`
// (8.3): the settings in force, defaults left out. Callers hold mu.
func drbdsetupShow(c *call) int {
	n, cfg := c.n, c.p.cfg
	if !n.up {
		switch cfg.Version {
		case V83:
			c.errf("%s: Failure: (127) Device minor not allocated\n", n.device())
		case V9:
			c.outf("# No currently configured DRBD found.\n")
			return 0
		default:
			c.errf("%s: No such resource\n", cfg.Resource)
		}
		return 10
	}
	opts := slices.Sorted(maps.Keys(n.resyncOpts))
	if cfg.Version == V83 {
		c.outf("disk {\n}\nsyncer {\n")
		if cfg.VerifyAlg != "" {
			c.outf("\tverify-alg\t\"%s\";\n", cfg.VerifyAlg)
		}
		if r, ok := n.resyncOpts["resync-rate"]; ok {
			c.outf("\trate\t\t%s;\n", r)
		}
		c.outf("}\n_this_host {\n\tdevice\t\t\tminor %d;\n\tdisk\t\t\t\"%s\";\n\tmeta-disk\t\tinternal;\n}\n", cfg.Minor, cfg.BackingDisk)
		return 0
	}
	c.outf("resource %s {\n    options {\n    }\n    net {\n", cfg.Resource)
	if cfg.VerifyAlg != "" {
		c.outf("        verify-alg       \t\"%s\";\n", cfg.VerifyAlg)
	}
	c.outf("    }\n")
	c.outf("    _this_host {\n        volume 0 {\n            device\t\t\tminor %d;\n            disk\t\t\t\"%s\";\n"+
		"            meta-disk\t\t\tinternal;\n            disk {\n", cfg.Minor, cfg.BackingDisk)
	for _, k := range opts {
		c.outf("                %-16s\t%s;\n", k, n.resyncOpts[k])
	}
	c.outf("            }\n        }\n    }\n}\n")
	return 0
}

func admNetOptions(c *call, _ admArgs) int {
	if !c.n.up {
		return c.notUp("net-options")
	}
	return 0
}

// admSyncer is 8.3's `drbdadm syncer`: it re-applies the configured syncer section.
func admSyncer(c *call, _ admArgs) int {
	if c.n.up {
		c.n.resyncOpts = map[string]string{}
	}
	return 0
}

func admNewCurrentUUID(c *call, a admArgs) int {
	n := c.n
	if !n.up {
		return c.notUp("new-current-uuid")
	}
	if a.has("--clear-bitmap") && c.p.linkUp() && n.disk == diskInconsistent && n.peer().disk == diskInconsistent {
		n.setDisk(diskUpToDate)
		n.peer().setDisk(diskUpToDate)
	}
	return 0
}

func progDrbdsetup(c *call) int {
	v := c.p.cfg.Version
	args := c.args[1:]
	word := drbdsetupWord(args)
	var rest []string
	seen := false
	for _, a := range args {
		if !seen && a == word {
			seen = true
			continue
		}
		rest = append(rest, a)
	}
	has := func(opt string) bool { return slices.Contains(rest, opt) }
	var code int
	switch word {
	case "syncer":
		if v != V83 {
			c.errf("drbdsetup: unknown command '%s'\n%s", firstOr(args, word), usage84)
			return 20
		}
		rate := ""
		for i, a := range rest {
			switch {
			case (a == "-r" || a == "--rate" || a == "--resync-rate") && i+1 < len(rest):
				rate = rest[i+1]
			case strings.HasPrefix(a, "--rate="), strings.HasPrefix(a, "--resync-rate="):
				_, rate, _ = strings.Cut(a, "=")
			case strings.HasPrefix(a, "-r") && len(a) > 2:
				rate = a[2:]
			}
		}
		if _, ok := parseRateKiB(rate); !ok && rate != "" {
			c.errf("%s: invalid rate '%s'\n", c.n.device(), rate)
			return 20
		}
		c.p.mutate(func() {
			if !c.n.up {
				c.errf("%s: Failure: (127) Device minor not allocated\n", c.n.device())
				code = 10
				return
			}
			switch {
			case rate == "":
			case isDefaultOption("resync-rate", rate):
				delete(c.n.resyncOpts, "resync-rate")
			default:
				c.n.resyncOpts["resync-rate"] = rate
			}
		})
		return code
	case "show":
		c.p.view(func() { code = drbdsetupShow(c) })
		return code
	case "events2":
		if v == V83 {
			break
		}
		if !has("--now") {
			c.errf("drbdsetup events2: the simulator answers --now only\n")
			return 20
		}
		res := lastOperand(rest)
		c.p.mutate(func() {
			if res != "" && res != c.p.cfg.Resource {
				c.outf("exists -\n")
				return
			}
			c.s.statusRead()
			c.outf("%s", c.n.renderEvents2Now())
		})
		return 0
	case "status":
		if v == V83 {
			c.errf("drbdsetup: unknown command 'status'\n")
			return 20
		}
		if has("--json") && v == V84 {
			c.errf("status: unrecognized option '--json'\n%s", usage84)
			return 20
		}
		res := lastOperand(rest)
		c.p.mutate(func() {
			n := c.n
			if !n.up || (res != "" && res != c.p.cfg.Resource) {
				if res == "" {
					if has("--json") {
						c.outf("[\n]\n")
					} else {
						c.outf("# No currently configured DRBD found.\n")
					}
					return
				}
				c.errf("%s: No such resource\n", res)
				if v == V9 {
					// drbdsetup 9.22 still prints the empty list after the error.
					if has("--json") {
						c.outf("[\n]\n\n")
					} else {
						c.outf("# No currently configured DRBD found.\n")
					}
				}
				code = 10
				return
			}
			c.s.statusRead()
			if has("--json") {
				c.outf("%s", n.renderStatusJSON())
			} else {
				c.outf("%s", n.renderStatusText())
			}
		})
		return code
	}
	if v == V84 {
		c.errf("drbdsetup: unknown command '%s'\n%s", word, usage84)
	} else {
		c.errf("drbdsetup: unknown command '%s'\n", word)
	}
	return 20
}

// lastOperand returns the last argument that is not an option ("" when there is none).
func lastOperand(args []string) string {
	res := ""
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			res = a
		}
	}
	return res
}

func firstOr(args []string, def string) string {
	if len(args) > 0 {
		return args[0]
	}
	return def
}
