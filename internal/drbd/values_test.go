package drbd

import "testing"

// Command outputs shared by the probe tests and the fuzz seeds.
const (
	version84 = "DRBDADM_BUILDTAG=GIT-hash:\\ 409097fe02187f83790b88ac3e0d94f3c167adab\\ reproducible\\ build\\,\\ 2023-01-09\\ 14:51:18\n" +
		"DRBDADM_API_VERSION=1\nDRBD_KERNEL_VERSION_CODE=0x08040b\nDRBDADM_VERSION_CODE=0x091600\nDRBDADM_VERSION=9.22.0\n"
	// version9 and proc9 are a real 9.2.12 node's (drbd-utils 9.22), as captured in
	// testdata/drbd-9.2.12/00-module-loaded-no-resource (TestValuesAreRealCaptures).
	version9 = "DRBDADM_BUILDTAG=GIT-hash:\\ 409097fe02187f83790b88ac3e0d94f3c167adab\\ reproducible\\ build\\,\\ 2023-01-09\\ 14:51:18\n" +
		"DRBDADM_API_VERSION=2\nDRBD_KERNEL_VERSION_CODE=0x09020c\nDRBD_KERNEL_VERSION=9.2.12\nDRBDADM_VERSION_CODE=0x091600\nDRBDADM_VERSION=9.22.0\n"
	proc9      = "version: 9.2.12 (api:2/proto:118-122)\nGIT-hash: 2da6f528dc4ab3fd25c511f7b03531100e54ab08 build by @vm, 2026-12-07 17:30:52\nTransports (api:21): tcp (9.2.12)\n"
	proc83     = "version: 8.3.13 (api:88/proto:86-96)\nGIT-hash: 83ca112086600faacab2f157bc5a9324f7bd7f77 build by root@host, 2012-05-07 11:56:36\n 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n    ns:1 nr:0 dw:1 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n"
	notDefined = "'pc0' not defined in your config (for this host).\n"
)

// TestValuesAreRealCaptures keeps the DRBD 9 outputs above equal to the real captures.
func TestValuesAreRealCaptures(t *testing.T) {
	for name, v := range map[string]string{"node1-version.txt": version9, "node1-proc-drbd.txt": proc9} {
		if want := readTestdata(t, "drbd-9.2.12/00-module-loaded-no-resource/"+name); v != want {
			t.Errorf("%s differs from the capture:\n got %q\nwant %q", name, v, want)
		}
	}
}
