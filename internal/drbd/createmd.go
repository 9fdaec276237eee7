package drbd

import (
	"fmt"
	"strings"
)

// Sections of CreateMDIfBlank's output, in ProbeCommand's marker format. Each backing disk's
// blkid section is named SectionBlkid, a blank and the disk.
const (
	SectionLLDev    = "lldev"    // drbdadm sh-ll-dev RES: the backing disks, one per volume
	SectionBlkid    = "blkid"    // blkid -p -o export DISK, for each backing disk
	SectionCreateMD = "createmd" // the create-md, present only when it ran
)

// noMetadata is drbdmeta's whole answer for a volume without valid metadata.
const noMetadata = "No valid meta data found"

// CreateMDIfBlank returns one POSIX sh command that creates the resource's metadata
// (CreateMD, whose --force skips every confirmation) only when, read in the same shell right
// before, every volume is blank: `drbdadm sh-ll-dev RES` names backing disks under /dev/,
// `drbdadm dstate RES` fails and prints "No valid meta data found" once per backing disk and
// nothing else (so the resource is down and no volume has metadata), and `blkid -p` finds no
// signature at all on any backing disk (exit 2, no output). In any other state it runs
// nothing more and prints what it saw; ParseCreateMDIfBlank reads it. A resource that
// drbdadm answers for only in part (for example when it stops at the first volume) is
// therefore refused, never half created.
func (c Commands) CreateMDIfBlank(res ResourceName) string {
	r := res.quoted()
	section := func(name, v string) string {
		return "printf '%s\\n' '" + probeMarker + name + "'; printf '%s\\n' \"$" + v + "\"; echo \"" + rcMarker + "$" + v + "_rc\""
	}
	// $drbd_nl is a newline, so that the command stays on one line.
	return "drbd_ll=$(drbdadm sh-ll-dev " + r + " 2>&1); drbd_ll_rc=$?; " + section(SectionLLDev, "drbd_ll") + "; " +
		"drbd_ds=$(drbdadm dstate " + r + " 2>&1); drbd_ds_rc=$?; " + section(SectionDState, "drbd_ds") + "; " +
		"drbd_ok=1; drbd_n=0; test \"$drbd_ll_rc\" = 0 || drbd_ok=0; " +
		"if test \"$drbd_ll_rc\" = 0; then set -f; for drbd_d in $drbd_ll; do drbd_n=$((drbd_n + 1)); case \"$drbd_d\" in " +
		"/dev/*) drbd_b=$(blkid -p -o export \"$drbd_d\" 2>&1); drbd_b_rc=$?; " +
		"printf '%s\\n' \"" + probeMarker + SectionBlkid + " $drbd_d\"; printf '%s\\n' \"$drbd_b\"; echo \"" + rcMarker + "$drbd_b_rc\"; " +
		"if test \"$drbd_b_rc\" != 2 || test -n \"$drbd_b\"; then drbd_ok=0; fi;; " +
		"*) drbd_ok=0;; esac; done; set +f; fi; " +
		"drbd_nl=$(printf '\\nx'); drbd_nl=${drbd_nl%x}; drbd_m=0; drbd_rest=\"$drbd_ds$drbd_nl\"; " +
		"while test -n \"$drbd_rest\"; do drbd_x=${drbd_rest%%\"$drbd_nl\"*}; drbd_rest=${drbd_rest#*\"$drbd_nl\"}; " +
		"case \"$drbd_x\" in '') ;; '" + noMetadata + "') drbd_m=$((drbd_m + 1));; *) drbd_ok=0;; esac; done; " +
		"test \"$drbd_ds_rc\" != 0 || drbd_ok=0; test \"$drbd_n\" -gt 0 || drbd_ok=0; test \"$drbd_m\" = \"$drbd_n\" || drbd_ok=0; " +
		"if test \"$drbd_ok\" = 1; then echo '" + probeMarker + SectionCreateMD + "'; " + c.CreateMD(res) + " </dev/null 2>&1; echo \"" + rcMarker + "$?\"; fi"
}

// DiskSignature is what blkid printed for one backing disk.
type DiskSignature struct {
	Disk string
	ProbeSection
}

// Blank reports whether blkid found nothing at all on the disk (exit 2, no output).
func (d DiskSignature) Blank() bool { return d.Exit == 2 && strings.TrimSpace(d.Output) == "" }

// MetadataCreation is the parsed output of CreateMDIfBlank.
type MetadataCreation struct {
	// LLDev and DState are the outputs of sh-ll-dev and dstate read before any create-md.
	LLDev, DState ProbeSection
	// Disks are the backing disks sh-ll-dev named, Signatures what blkid saw on those it read.
	Disks      []string
	Signatures []DiskSignature
	// Attempted is set when every volume was blank and create-md ran; CreateMD is its
	// output and exit status.
	Attempted bool
	CreateMD  ProbeSection
}

// Created reports whether create-md ran and succeeded.
func (m MetadataCreation) Created() bool { return m.Attempted && m.CreateMD.Exit == 0 }

// Refusal says why the state read is not blank, as a sentence fragment ("" when it is).
func (m MetadataCreation) Refusal() string {
	if m.LLDev.Exit != 0 {
		return fmt.Sprintf("`drbdadm sh-ll-dev` exited %d: %s", m.LLDev.Exit, oneLine(m.LLDev.Output))
	}
	if len(m.Disks) == 0 {
		return "`drbdadm sh-ll-dev` named no backing disk"
	}
	for _, d := range m.Disks {
		if !strings.HasPrefix(d, "/dev/") {
			return fmt.Sprintf("backing disk %q is not a device under /dev/ (a diskless volume?)", d)
		}
	}
	for _, s := range m.Signatures {
		if !s.Blank() {
			return fmt.Sprintf("backing disk %s is not blank (blkid -p exited %d: %s)", s.Disk, s.Exit, oneLine(s.Output))
		}
	}
	if len(m.Signatures) != len(m.Disks) {
		return fmt.Sprintf("only %d of %d backing disks were read", len(m.Signatures), len(m.Disks))
	}
	var lines []string
	for _, l := range strings.Split(m.DState.Output, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if m.DState.Exit == 0 {
		return fmt.Sprintf("`drbdadm dstate` shows metadata in use (%s): the resource is up", oneLine(m.DState.Output))
	}
	for _, l := range lines {
		if l != noMetadata {
			return fmt.Sprintf("`drbdadm dstate` exited %d with %q: a volume may have metadata", m.DState.Exit, oneLine(m.DState.Output))
		}
	}
	if len(lines) != len(m.Disks) {
		return fmt.Sprintf("`drbdadm dstate` reported %q %d times for %d backing disks", noMetadata, len(lines), len(m.Disks))
	}
	return ""
}

// oneLine joins the non-empty lines of s with "; ", cut to 300 bytes.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return truncate(strings.Join(parts, "; "), 300)
}

// ParseCreateMDIfBlank parses the output of CreateMDIfBlank. A create-md that ran although
// the state read before it is not blank (Refusal) is reported as an error: the shell check
// and this package disagree.
func ParseCreateMDIfBlank(output string) (MetadataCreation, error) {
	if !strings.Contains(output, probeMarker) {
		return MetadataCreation{}, ErrNotProbeOutput
	}
	sections, _ := splitProbe(output)
	var m MetadataCreation
	var ok1, ok2 bool
	m.LLDev, ok1 = sections[SectionLLDev]
	m.DState, ok2 = sections[SectionDState]
	if !ok1 || !ok2 {
		return m, fmt.Errorf("no %q or %q section in the metadata creation output", SectionLLDev, SectionDState)
	}
	if m.LLDev.Exit == 0 {
		m.Disks = strings.Fields(m.LLDev.Output)
	}
	for _, d := range m.Disks {
		if s, ok := sections[SectionBlkid+" "+d]; ok {
			m.Signatures = append(m.Signatures, DiskSignature{Disk: d, ProbeSection: s})
		}
	}
	m.CreateMD, m.Attempted = sections[SectionCreateMD]
	if why := m.Refusal(); m.Attempted && why != "" {
		return m, fmt.Errorf("create-md ran although %s", why)
	}
	return m, nil
}
