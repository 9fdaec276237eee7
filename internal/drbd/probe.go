package drbd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Probe markers. Each section of the probe output starts with
// "@@drbd-probe NAME" and ends with "@@drbd-rc N" (the section command's exit
// status).
const (
	probeMarker = "@@drbd-probe "
	rcMarker    = "@@drbd-rc "
)

// Probe section names.
const (
	SectionVersion = "version" // drbdadm --version
	SectionProc    = "proc"    // cat /proc/drbd
	SectionShDev   = "shdev"   // drbdadm sh-dev RES
	SectionDState  = "dstate"  // drbdadm dstate RES
	SectionJSON    = "json"    // drbdsetup status RES --json (DRBD 9 kernels only)
	SectionStatus  = "status"  // drbdadm status RES (DRBD 9, only when --json failed)
	SectionSizes   = "sizes"   // backing disk and device sizes (ProbeWithSizesCommand only)
)

// ProbeCommand returns one POSIX sh command that gathers everything a Read
// needs in a single round trip: drbdadm --version, /proc/drbd, sh-dev, dstate,
// the DRBD lines of the kernel log (for split brain) and, when /proc/drbd
// names a DRBD 9 kernel, `drbdsetup status --json` (and `drbdadm status` text
// if --json is rejected as a usage error). It uses only echo, read, printf,
// case, if, test, $?, command substitution, variable assignment, pipes to
// grep, head and tail, redirections and ';', and every sub-command's stderr is
// merged into the output so that DRBD's messages reach ParseProbe.
func ProbeCommand(resource ResourceName) string { return probeCommand(resource, true) }

// StateProbeCommand is ProbeCommand without the kernel log: for steps that act on the role and
// disk states only (promotion guards, device lookups) and need no split-brain verdict. Its
// Status.SplitBrain is always false, and Status.SplitBrainUnknown too.
func StateProbeCommand(resource ResourceName) string { return probeCommand(resource, false) }

// ProbeWithSizesCommand is ProbeCommand that also prints every volume's backing disk and
// DRBD device size (Probe.Sizes, as ReadSizes prints them, the minors from `drbdadm
// sh-minor`): what a refresh of drbd_resource needs for its grow check, in the same round trip.
func ProbeWithSizesCommand(resource ResourceName) string {
	r := resource.quoted()
	// The section's stderr is not merged: ParseSizes reads only its own lines, and a size that
	// cannot be read prints an empty value.
	return probeCommand(resource, true) + "; echo '" + probeMarker + SectionSizes + "'; { " +
		"for d in $(drbdadm sh-ll-dev " + r + "); do printf 'backing %s ' \"$d\"; blockdev --getsize64 \"$d\" || echo; done; " +
		"for m in $(drbdadm sh-minor " + r + "); do printf 'device %s ' \"$m\"; cat \"/sys/block/drbd$m/size\" || echo; done; " +
		"} 2>/dev/null; echo \"" + rcMarker + "$?\""
}

func probeCommand(resource ResourceName, kernelLog bool) string {
	r := resource.quoted()
	section := func(name, cmd string) string {
		return "echo '" + probeMarker + name + "'; " + cmd + " 2>&1; echo \"" + rcMarker + "$?\""
	}
	parts := []string{
		section(SectionVersion, "drbdadm --version"),
		section(SectionProc, "cat /proc/drbd"),
		section(SectionShDev, "drbdadm sh-dev "+r),
		section(SectionDState, "drbdadm dstate "+r),
	}
	if kernelLog {
		parts = append(parts, kernelLogSection())
	}
	parts = append(parts,
		"drbd_probe_v=''",
		"if test -e /proc/drbd; then read -r drbd_probe_v < /proc/drbd; fi",
		"case \"$drbd_probe_v\" in \"version: 9\"*) "+
			"echo '"+probeMarker+SectionJSON+"'; drbdsetup status "+r+" --json 2>&1; drbd_probe_rc=$?; "+
			"echo \""+rcMarker+"$drbd_probe_rc\"; "+
			// Exit 20 is a usage error: utils older than 8.9.8 have no --json.
			"if test \"$drbd_probe_rc\" = 20; then "+section(SectionStatus, "drbdadm status "+r)+"; fi;; esac",
	)
	return strings.Join(parts, "; ")
}

// Metadata says whether the resource's backing disk carries DRBD metadata.
type Metadata int

// Metadata values. MetadataAbsent is only reported on DRBD's explicit
// "No valid meta data found" (drbdadm dstate exit 1), so that create-md is
// never run on a guess.
const (
	MetadataUnknown Metadata = iota
	MetadataPresent
	MetadataAbsent
)

// String returns "unknown", "present" or "absent".
func (m Metadata) String() string {
	switch m {
	case MetadataPresent:
		return "present"
	case MetadataAbsent:
		return "absent"
	}
	return "unknown"
}

// Probe is the parsed output of ProbeCommand.
type Probe struct {
	Versions Versions
	// Status has Configured false when the resource is not up.
	Status Status
	// Volumes is every volume and every peer connection of the resource (Status is volume
	// 0 and the first peer); empty when the resource is not up.
	Volumes  Volumes
	Metadata Metadata
	// Devices lists the devices from sh-dev, one per volume.
	Devices []string
	// Raw is the status text used (the /proc/drbd text, or the JSON/text status).
	Raw string
	// KernelLogError is why the kernel log could not be read (for example a
	// non-root user without sudo under kernel.dmesg_restrict), "" when it was
	// read or not asked for. Status.SplitBrain is false when it is set.
	KernelLogError string
	// Sizes is every volume's backing disk and device size, read by ProbeWithSizesCommand;
	// nil when not asked for or not readable (SizesError says why).
	Sizes      []VolumeSize
	SizesError error
	Warnings   []string
	// Sections holds every section's output and exit code by name.
	Sections map[string]ProbeSection
}

// ProbeSection is one command's output within a probe.
type ProbeSection struct {
	Output string
	// Exit is the exit status, -1 when the section's "@@drbd-rc" line is
	// missing (truncated output).
	Exit int
}

// ErrNotProbeOutput is returned by ParseProbe for output without any probe marker.
var ErrNotProbeOutput = errors.New("not the output of drbd.ProbeCommand (no @@drbd-probe markers)")

// splitProbe splits probe output into its sections.
func splitProbe(output string) (map[string]ProbeSection, []string) {
	sections := map[string]ProbeSection{}
	var warnings []string
	var (
		name string
		in   bool
		buf  strings.Builder
	)
	closeSection := func(exit int) {
		if _, dup := sections[name]; dup {
			warnings = append(warnings, fmt.Sprintf("probe section %q repeated; the last one is used", name))
		}
		sections[name] = ProbeSection{Output: buf.String(), Exit: exit}
		buf.Reset()
		in = false
	}
	lines := strings.SplitAfter(output, "\n")
	for idx := 0; idx < len(lines); idx++ {
		line := lines[idx]
		// A command whose output lacks a final newline leaves the marker
		// glued to its last line: split it off.
		if i := strings.Index(line, "@@drbd-"); i > 0 {
			lines = append(lines[:idx+1], lines[idx:]...)
			lines[idx], lines[idx+1] = line[:i], line[i:]
			line = lines[idx]
		}
		trimmed := strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(trimmed, probeMarker):
			if in {
				warnings = append(warnings, fmt.Sprintf("probe section %q has no exit status (truncated?)", name))
				closeSection(-1)
			}
			name, in = strings.TrimSpace(trimmed[len(probeMarker):]), true
		case strings.HasPrefix(trimmed, rcMarker):
			if !in {
				warnings = append(warnings, "exit status outside a probe section ignored")
				continue
			}
			rc, err := strconv.Atoi(strings.TrimSpace(trimmed[len(rcMarker):]))
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("probe section %q: unparseable exit status %q", name, truncate(trimmed, 40)))
				rc = -1
			}
			closeSection(rc)
		case in:
			buf.WriteString(line)
		case strings.TrimSpace(line) != "":
			if len(warnings) < maxWarnings {
				warnings = append(warnings, fmt.Sprintf("probe output outside any section ignored: %q", truncate(strings.TrimSpace(line), 80)))
			}
		}
	}
	if in {
		warnings = append(warnings, fmt.Sprintf("probe section %q has no exit status (truncated?)", name))
		closeSection(-1)
	}
	return sections, warnings
}

// ParseProbe parses the output of ProbeCommand(resource). It fails only when
// output is not probe output at all; everything else (DRBD not installed,
// module not loaded, resource not configured or not up) is reported through
// the fields and Warnings.
func ParseProbe(resource, output string) (*Probe, error) {
	if !strings.Contains(output, probeMarker) {
		return nil, ErrNotProbeOutput
	}
	sections, warnings := splitProbe(output)
	return probeFromSections(resource, sections, warnings), nil
}

// Device returns the resource's DRBD device: from the status, else the first device
// `drbdadm sh-dev` named; "" when neither knows it.
func (p *Probe) Device() string {
	if p.Status.Device != "" {
		return p.Status.Device
	}
	return firstOr(p.Devices)
}

// PollCommand returns the command for repeated status reads after p: only the status
// section (8.x: cat /proc/drbd; 9: drbdsetup status --json, or the drbdadm status text
// when p found --json unsupported), one program instead of the four of ProbeCommand.
// Versions, devices and metadata do not change while a sync is waited for.
func (p *Probe) PollCommand(resource ResourceName) string {
	r := resource.quoted()
	section := func(name, cmd string) string {
		return "echo '" + probeMarker + name + "'; " + cmd + " 2>&1; echo \"" + rcMarker + "$?\""
	}
	switch {
	case sectionPresent(p.Sections, SectionStatus):
		return section(SectionStatus, "drbdadm status "+r)
	case sectionPresent(p.Sections, SectionJSON):
		return section(SectionJSON, "drbdsetup status "+r+" --json")
	default:
		return section(SectionProc, "cat /proc/drbd")
	}
}

// ParsePoll parses the output of p.PollCommand(resource) into a new Probe that takes the
// sections the poll did not read (versions, sh-dev, dstate) from p.
func (p *Probe) ParsePoll(resource, output string) (*Probe, error) {
	if !strings.Contains(output, probeMarker) {
		return nil, ErrNotProbeOutput
	}
	polled, warnings := splitProbe(output)
	sections := make(map[string]ProbeSection, len(p.Sections))
	for k, v := range p.Sections {
		sections[k] = v
	}
	for k, v := range polled {
		sections[k] = v
	}
	delete(sections, SectionSizes) // not read again: a poll has no sizes
	return probeFromSections(resource, sections, warnings), nil
}

// probeFromSections interprets the sections of a probe.
func probeFromSections(resource string, sections map[string]ProbeSection, warnings []string) *Probe {
	p := &Probe{Sections: sections, Warnings: warnings, Status: unconfiguredStatus(resource, -1, "")}
	warn := func(format string, args ...any) { p.Warnings = append(p.Warnings, fmt.Sprintf(format, args...)) }

	// Versions: drbd-utils from drbdadm --version; the kernel from the first
	// line of /proc/drbd, else from drbdadm --version.
	var procKernel, admKernel Version
	if sec, ok := sections[SectionVersion]; ok {
		k, u, err := ParseUtilsVersion(sec.Output)
		if err != nil {
			warn("drbd-utils version unknown: drbdadm --version exited %d: %s", sec.Exit, firstLine(sec.Output))
		}
		admKernel, p.Versions.Utils = k, u
	} else {
		warn("drbd-utils version unknown: drbdadm --version did not run")
	}
	var proc *ProcDRBD
	if sec, ok := sections[SectionProc]; ok && (sec.Exit == 0 || sec.Exit == -1 && strings.HasPrefix(strings.TrimSpace(sec.Output), "version:")) {
		pr, err := ParseProcDRBD(sec.Output)
		if err != nil {
			warn("/proc/drbd: %v", err)
		} else {
			proc = pr
			procKernel = pr.Version
			p.Warnings = append(p.Warnings, pr.Warnings...)
		}
	} else if ok {
		warn("/proc/drbd unreadable (DRBD module not loaded?): %s", firstLine(sec.Output))
	}
	p.Versions.Kernel = procKernel
	if procKernel.IsZero() {
		p.Versions.Kernel = admKernel
	} else if !admKernel.IsZero() && admKernel != procKernel {
		warn("kernel version differs: /proc/drbd says %s, drbdadm --version says %s; using /proc/drbd", procKernel, admKernel)
	}

	// Devices from sh-dev.
	if sec, ok := sections[SectionShDev]; ok {
		for _, l := range strings.Split(sec.Output, "\n") {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "/dev/") {
				p.Devices = append(p.Devices, l)
			}
		}
		if sec.Exit != 0 || len(p.Devices) == 0 {
			warn("drbdadm sh-dev %s exited %d: %s", resource, sec.Exit, firstLine(sec.Output))
		}
	}
	minor := -1
	if len(p.Devices) > 0 {
		if n, ok := minorOfDevice(p.Devices[0]); ok {
			minor = n
		} else {
			warn("cannot tell the minor of device %s", p.Devices[0])
		}
	}

	// Metadata from dstate.
	if sec, ok := sections[SectionDState]; ok {
		p.Metadata = metadataFrom(sec)
	}

	// Status.
	family := p.Versions.Family()
	switch {
	case sectionPresent(sections, SectionJSON) || sectionPresent(sections, SectionStatus) || family == Family9 && proc != nil:
		p.Status = p.status9(resource, sections, proc, minor)
	case proc != nil:
		p.Raw = sections[SectionProc].Output
		dev := ""
		if len(p.Devices) > 0 {
			dev = p.Devices[0]
		}
		if minor < 0 {
			p.Status = unconfiguredStatus(resource, -1, dev)
			break
		}
		st, ok := proc.StatusOf(minor)
		if !ok {
			st = unconfiguredStatus(resource, minor, dev)
		}
		st.Resource = resource
		if dev != "" {
			st.Device = dev
		}
		p.Status = st
		if minors, ok := minorsOf(p.Devices); ok && st.Configured {
			p.Volumes = volumesFromProc(proc, minors)
		}
	default:
		p.Status = unconfiguredStatus(resource, minor, firstOr(p.Devices))
	}

	if len(p.Volumes.Local) == 0 && p.Status.Configured {
		p.Volumes = VolumesOf(p.Status)
	}

	// Split brain: only what DRBD itself reported in the kernel log, and only while the node is
	// StandAlone (a node that connects again after it is waiting for its peer, not split).
	if sec, ok := sections[SectionKernelLog]; ok {
		if sec.Exit == 0 {
			p.Status.SplitBrain = p.Status.Configured && p.Status.ConnectionState == ConnStandAlone &&
				SplitBrainReported(sec.Output, resource, p.Status.Minor)
		} else {
			p.KernelLogError = fmt.Sprintf("dmesg exited %d: %s", sec.Exit, firstLine(sec.Output))
			p.Status.SplitBrainUnknown = p.Status.Configured
			warn("kernel log unreadable, so a split brain cannot be told from an administrative disconnect: %s", p.KernelLogError)
		}
	}
	if sec, ok := sections[SectionSizes]; ok && p.Status.Configured {
		p.Sizes, p.SizesError = ParseSizes(sec.Output)
	}
	return p
}

func sectionPresent(sections map[string]ProbeSection, name string) bool {
	_, ok := sections[name]
	return ok
}

// status9 reads the DRBD 9 status from the json (or text fallback) section;
// a DRBD 9 kernel in 8.4 compat mode that lists the minor in /proc/drbd is
// the last resort.
func (p *Probe) status9(resource string, sections map[string]ProbeSection, proc *ProcDRBD, minor int) Status {
	if sec, ok := sections[SectionJSON]; ok && sec.Exit == 0 {
		p.Raw = sec.Output
		st, err := ParseStatusJSON([]byte(sec.Output), resource)
		if err == nil {
			if st.Minor < 0 {
				st.Minor, st.Device = minor, firstOr(p.Devices)
			}
			p.Volumes = volumesFromJSON([]byte(sec.Output), resource)
			return st
		}
		p.Warnings = append(p.Warnings, "drbdsetup status --json: "+err.Error())
	} else if ok && strings.Contains(sec.Output, "No such resource") {
		p.Raw = sec.Output
		return unconfiguredStatus(resource, minor, firstOr(p.Devices))
	}
	if sec, ok := sections[SectionStatus]; ok {
		p.Raw = sec.Output
		st, err := ParseStatusText(sec.Output, resource)
		if err == nil || errors.Is(err, ErrNoSuchResource) {
			if st.Device == "" {
				st.Device = firstOr(p.Devices)
			}
			if st.Minor < 0 {
				st.Minor = minor
			}
			return st
		}
		p.Warnings = append(p.Warnings, "drbdadm status: "+err.Error())
	}
	if proc != nil && minor >= 0 {
		if st, ok := proc.StatusOf(minor); ok {
			p.Raw = sections[SectionProc].Output
			st.Resource = resource
			return st
		}
	}
	p.Warnings = append(p.Warnings, "no usable DRBD 9 status in the probe output")
	return unconfiguredStatus(resource, minor, firstOr(p.Devices))
}

// metadataFrom interprets `drbdadm dstate`: "No valid meta data found" means
// absent; a disk state that needs metadata means present; anything else
// (not up and unreadable, Diskless, Unconfigured, errors) is unknown.
func metadataFrom(sec ProbeSection) Metadata {
	if strings.Contains(sec.Output, "No valid meta data found") {
		return MetadataAbsent
	}
	if sec.Exit != 0 {
		return MetadataUnknown
	}
	local, _, err := ParseDState(sec.Output)
	if err != nil {
		return MetadataUnknown
	}
	switch local {
	case DiskAttaching, DiskNegotiating, DiskInconsistent, DiskOutdated, DiskConsistent, DiskUpToDate:
		return MetadataPresent
	}
	return MetadataUnknown
}

// minorOfDevice returns N for "/dev/drbdN".
func minorOfDevice(dev string) (int, bool) {
	n, ok := strings.CutPrefix(dev, "/dev/drbd")
	if !ok {
		return 0, false
	}
	return atoiSmall(n)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return "(no output)"
	}
	return truncate(s, 120)
}

func firstOr(s []string) string {
	if len(s) > 0 {
		return s[0]
	}
	return ""
}
