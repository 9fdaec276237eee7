package drbd

// Command outputs shared by the probe tests and the fuzz seeds.
const (
	version84 = "DRBDADM_BUILDTAG=GIT-hash:\\ 409097fe02187f83790b88ac3e0d94f3c167adab\\ reproducible\\ build\\,\\ 2023-01-09\\ 14:51:18\n" +
		"DRBDADM_API_VERSION=1\nDRBD_KERNEL_VERSION_CODE=0x08040b\nDRBDADM_VERSION_CODE=0x091600\nDRBDADM_VERSION=9.22.0\n"
	version9   = "DRBD_KERNEL_VERSION_CODE=0x09020c\nDRBD_KERNEL_VERSION=9.2.12\nDRBDADM_VERSION_CODE=0x091c00\nDRBDADM_VERSION=9.28.0\n"
	proc9      = "version: 9.2.12 (api:2/proto:86-122)\nGIT-hash: 0123456789abcdef0123456789abcdef01234567 build by lab@host, 2024-11-01 10:00:00\nTransports (api:21): tcp (9.2.12)\n"
	proc83     = "version: 8.3.13 (api:88/proto:86-96)\nGIT-hash: 83ca112086600faacab2f157bc5a9324f7bd7f77 build by root@host, 2012-05-07 11:56:36\n 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n    ns:1 nr:0 dw:1 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n"
	notDefined = "'pc0' not defined in your config (for this host).\n"
)
