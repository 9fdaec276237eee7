package drbd

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func addFileSeeds(f *testing.F, patterns ...string) {
	f.Helper()
	for _, p := range patterns {
		files, err := filepath.Glob(filepath.Join("testdata", p))
		if err != nil || len(files) == 0 {
			f.Fatalf("no seeds for %s: %v", p, err)
		}
		for _, file := range files {
			rel, _ := filepath.Rel("testdata", file)
			f.Add(readTestdata(f, rel))
		}
	}
}

// checkStatus asserts the invariants every parsed Status must hold.
func checkStatus(t *testing.T, s Status) {
	t.Helper()
	if s.SyncPercent < 0 || s.SyncPercent > 100 || s.SyncPercent != s.SyncPercent {
		t.Errorf("SyncPercent %v out of range", s.SyncPercent)
	}
	if s.ETA < 0 || s.SpeedKiBps < 0 || s.OutOfSyncKiB < 0 {
		t.Errorf("negative ETA/speed/oos: %+v", s)
	}
	if s.SplitBrain && s.ConnectionState != ConnStandAlone {
		t.Errorf("SplitBrain without StandAlone: %+v", s)
	}
	if InSync(s) && (s.SyncPercent != 100 || s.Syncing) {
		t.Errorf("in sync but %v%% syncing=%v", s.SyncPercent, s.Syncing)
	}
	if !s.Configured && s.ConnectionState != ConnUnconfigured {
		t.Errorf("unconfigured status with connection state %q", s.ConnectionState)
	}
}

func FuzzParseProcDRBD(f *testing.F) {
	addFileSeeds(f, "drbd-8.4.11/*/*.txt")
	f.Add(runbookSample(f))
	f.Add(benchProcText(16))
	f.Add("version: 8.3.0 (api:88/proto:86-89)\nbuilt-in\n 3: cs:VerifyT st:Secondary/Primary ds:UpToDate/UpToDate B r---\n\t[>...] verified: 0.0% (1/1)M\n\tstalled\n")
	f.Fuzz(func(t *testing.T, text string) {
		p, err := ParseProcDRBD(text)
		if (err != nil) != (strings.TrimSpace(text) == "") {
			t.Fatalf("err = %v for %q", err, text)
		}
		if err != nil {
			return
		}
		if len(p.Warnings) > maxWarnings+1 {
			t.Errorf("%d warnings: unbounded", len(p.Warnings))
		}
		for _, m := range p.Minors {
			s, ok := p.StatusOf(m.Minor)
			if !ok {
				t.Fatalf("listed minor %d not found", m.Minor)
			}
			checkStatus(t, s)
			if s.Minor != m.Minor || s.Minor < 0 {
				t.Errorf("minor %d became %d", m.Minor, s.Minor)
			}
		}
	})
}

func FuzzParseStatusJSON(f *testing.F) {
	addFileSeeds(f, "drbd-9.2.12/*/node*-status-json.txt")
	addFileSeeds(f, "drbd-9.2.12-derived/*.json")
	f.Add("pc0: No such resource\n")
	f.Add(`[{"name":"pc0","role":"Primary","devices":[{"minor":-7}],"connections":[{"connection-state":"StandAlone","peer_devices":[{"percent-in-sync":1e308,"estimated-seconds-to-finish":-1}]}]}]`)
	f.Fuzz(func(t *testing.T, data string) {
		for _, res := range []string{"pc0", "other", ""} {
			s, err := ParseStatusJSON([]byte(data), res)
			if err != nil && s.Configured {
				t.Errorf("error %v with a configured status", err)
			}
			if err == nil {
				checkStatus(t, s)
				if s.Resource != res {
					t.Errorf("Resource = %q, want %q", s.Resource, res)
				}
			}
		}
	})
}

func FuzzParseStatusText(f *testing.F) {
	addFileSeeds(f, "drbd-9.2.12/*/node*-drbdadm-status.txt")
	addFileSeeds(f, "drbd-9.2.12/*/node*-status-verbose.txt")
	addFileSeeds(f, "drbd-9.2.12-derived/*.txt")
	f.Add("pc0 role:Primary\n  disk:UpToDate\n  peer role:Secondary\n    replication:Established peer-disk:UpToDate\n")
	f.Add("pc0 role:Secondary\n  disk:Inconsistent\n  peer role:Primary\n    replication:SyncTarget peer-disk:UpToDate done:6.15\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseStatusText(text, "pc0")
		if err != nil && s.Configured {
			t.Errorf("error %v with a configured status", err)
		}
		if err == nil {
			checkStatus(t, s)
		}
	})
}

func FuzzParseProbe(f *testing.F) {
	sec := func(name, out string, rc string) string {
		return "@@drbd-probe " + name + "\n" + out + "@@drbd-rc " + rc + "\n"
	}
	proc := readTestdata(f, "drbd-8.4.11/states/03-syncsource-primary-70.0pct.txt")
	f.Add(sec("version", version84, "0") + sec("proc", proc, "0") + sec("shdev", "/dev/drbd0\n", "0") + sec("dstate", "UpToDate/Inconsistent\n", "0"))
	f.Add(sec("version", version84, "0") + sec("proc", "version: 8.4.11 (api:1/proto:86-101)\nsrcversion: X \n", "0") +
		sec("shdev", "/dev/drbd0\n", "0") + sec("dstate", "No valid meta data found\n", "1"))
	f.Add(sec("version", version9, "0") + sec("proc", proc9, "0") + sec("shdev", "/dev/drbd0\n", "0") +
		sec("dstate", "UpToDate/Inconsistent\n", "0") + sec("json", readTestdata(f, "drbd-9.2.12/03-syncsource-primary/node1-status-json.txt"), "0"))
	f.Add(sec("version", version9, "0") + sec("proc", proc9, "0") + sec("json", "x", "20") +
		sec("status", readTestdata(f, "drbd-9.2.12/03-syncsource-primary/node2-drbdadm-status.txt"), "0"))
	f.Add("@@drbd-probe proc\nversion: 8.4.11@@drbd-rc x\n@@drbd-rc 0\n@@drbd-probe")
	f.Fuzz(func(t *testing.T, out string) {
		p, err := ParseProbe("pc0", out)
		if (err != nil) != !strings.Contains(out, probeMarker) {
			t.Fatalf("err = %v", err)
		}
		if err != nil {
			return
		}
		checkStatus(t, p.Status)
		if p.Status.Resource != "pc0" {
			t.Errorf("Resource = %q", p.Status.Resource)
		}
		for _, d := range p.Devices {
			if !strings.HasPrefix(d, "/dev/") {
				t.Errorf("device %q", d)
			}
		}
	})
}

// FuzzParseAdmin covers the drbdadm dstate parser.
func FuzzParseAdmin(f *testing.F) {
	for _, s := range []string{"Primary/Secondary\n", "Secondary\nPrimary\n", "Connected\n", "WFConnection\n",
		"UpToDate/Inconsistent\n", "UpToDate/UpToDate/Outdated\n", "Consistent\n", "No valid meta data found\n",
		"0: Failure: (127) Device minor not allocated\n", "Unconfigured\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		if l, p, err := ParseDState(out); err == nil {
			if _, ok := lookupDiskState(string(l)); !ok {
				t.Errorf("unknown disk state %q accepted", l)
			}
			if _, ok := lookupDiskState(string(p)); !ok {
				t.Errorf("unknown peer disk state %q accepted", p)
			}
		}
	})
}

func FuzzParseUtilsVersion(f *testing.F) {
	f.Add(version84)
	f.Add(version9)
	f.Add("DRBD_KERNEL_VERSION_CODE=0x000000\nDRBDADM_VERSION_CODE=0x080405\n")
	f.Add("drbdadm: unrecognized option '--version'\n")
	f.Fuzz(func(t *testing.T, out string) {
		k, u, err := ParseUtilsVersion(out)
		if (err != nil) != (k.IsZero() && u.IsZero()) {
			t.Errorf("err = %v with kernel %v utils %v", err, k, u)
		}
		for _, v := range []Version{k, u} {
			if v.Major < 0 || v.Minor < 0 || v.Patch < 0 {
				t.Errorf("negative version %v", v)
			}
		}
	})
}

// FuzzCommands checks the validators and the builder together: an accepted
// name (and rate, and device) always yields commands whose argv, after shell
// parsing, is exactly the intended words; a rejected one never yields a
// command.
func FuzzCommands(f *testing.F) {
	f.Add("pc0", "1100M", "/dev/drbd0", uint8(0))
	f.Add("r.0_x-1", "40960", "/dev/drbd/by-res/r0/0", uint8(1))
	f.Add("pc0'; rm -rf / #", "1M", "/dev/drbd0 x", uint8(2))
	f.Add("$(reboot)", "4G", "/dev/../x", uint8(3))
	f.Add("-all", "0M", "", uint8(4))
	f.Fuzz(func(t *testing.T, name, rate, device string, sel uint8) {
		vs := []Versions{v83, v84, v84old, v9, vUnknown}
		c := NewCommands(vs[int(sel)%len(vs)])
		nameOK := ValidateResourceName(name) == nil
		if nameOK && (!utf8.ValidString(name) || strings.ContainsAny(name, " \t\n'\"\\$`;&|<>()*?[]{}~#!/")) {
			t.Fatalf("dangerous name %q accepted", name)
		}
		type built struct {
			cmd  string
			err  error
			want []string
		}
		var cases []built
		add := func(cmd string, err error, want ...string) { cases = append(cases, built{cmd, err, want}) }
		rn, err := ParseResourceName(name)
		if (err == nil) != nameOK || (err != nil && rn != ResourceName{}) {
			t.Fatalf("ParseResourceName(%q) = %v, %v", name, rn, err)
		}
		if !nameOK {
			return // no command can be built for it
		}
		for _, b := range []struct {
			f    func(ResourceName) string
			verb []string
		}{
			{c.Primary, []string{"primary"}}, {c.Secondary, []string{"secondary"}}, {c.Up, []string{"up"}},
			{c.Down, []string{"down"}}, {c.Adjust, []string{"adjust"}}, {c.ShLLDev, []string{"sh-ll-dev"}}, {c.Connect, []string{"connect"}},
		} {
			add(b.f(rn), nil, append(append([]string{"drbdadm"}, b.verb...), name)...)
		}
		cmd, err := c.ForcePrimary(rn)
		if c.Family() == Family83 {
			add(cmd, err, "drbdadm", "--", "--overwrite-data-of-peer", "primary", name)
		} else {
			add(cmd, err, "drbdadm", "primary", "--force", name)
		}
		cmd = c.CreateMD(rn)
		if c.Versions().Utils.Major >= 9 {
			add(cmd, nil, "drbdadm", "create-md", "--force", name)
		} else {
			add(cmd, nil, "drbdadm", "--", "--force", "create-md", name)
		}
		for _, b := range cases {
			if !nameOK {
				if b.err == nil || b.cmd != "" {
					t.Fatalf("invalid name %q produced %q", name, b.cmd)
				}
				continue
			}
			if b.err != nil {
				if c.Family() != FamilyUnknown {
					t.Fatalf("valid name %q: %v", name, b.err)
				}
				continue
			}
			argv, err := shellArgv(b.cmd)
			if err != nil {
				t.Fatalf("%q: %v", b.cmd, err)
			}
			if !slices.Equal(argv, b.want) {
				t.Fatalf("%q parsed to %q, want %q", b.cmd, argv, b.want)
			}
		}

		cmd, err = c.SetResyncRate(rn, device, rate)
		rateOK := ValidateRate(rate) == nil
		devOK := c.Family() != Family83 || ValidateDevice(device) == nil
		if ok := nameOK && rateOK && devOK && c.Family() != FamilyUnknown; ok != (err == nil) || (err != nil) != (cmd == "") {
			t.Fatalf("SetResyncRate(%q, %q, %q) = %q, %v", name, device, rate, cmd, err)
		}
		if err == nil {
			argv, perr := shellArgv(cmd)
			if perr != nil {
				t.Fatalf("%q: %v", cmd, perr)
			}
			var want []string
			switch c.Family() {
			case Family83:
				want = []string{"drbdsetup", device, "syncer", "-r", rate}
			case Family84:
				want = []string{"drbdadm", "disk-options", "--c-plan-ahead=0", "--resync-rate=" + rate, "--c-min-rate=0", name}
			default:
				want = []string{"drbdadm", "peer-device-options", "--c-plan-ahead=0", "--resync-rate=" + rate, "--c-min-rate=0", name}
			}
			if !slices.Equal(argv, want) {
				t.Fatalf("%q parsed to %q, want %q", cmd, argv, want)
			}
		}

		if probe := ProbeCommand(rn); !strings.Contains(probe, "drbdadm dstate "+name+" 2>&1") {
			t.Fatalf("probe does not carry the name verbatim: %q", probe)
		}
	})
}
