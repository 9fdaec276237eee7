#!/bin/bash
# capture-drbd9.sh: capture real DRBD 9 outputs on a running DRBD=9 lab, at the states the 8.4
# captures cover, for the parser tests (internal/drbd/testdata/drbd-9.2.12/).
#
# Usage: DRBD=9 lab/lab.sh up; DRBD=9 lab/capture-drbd9.sh OUTDIR
#   Needs a fresh lab (blank backing disks); it creates metadata, syncs, disconnects, takes a
#   peer down, switches over, makes a real split brain and takes the resource down, and leaves
#   the lab split (bring it down afterwards). OUTDIR/STATE/nodeN-NAME.txt holds exactly the
#   stdout and stderr (merged) of one command, OUTDIR/STATE/rc.txt its exit code.
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
OUT=${1:?usage: $0 OUTDIR}
[ "$LAB_DRBD" = 9 ] || lab_die "capture-drbd9.sh needs DRBD=9"

# The commands the provider runs to read a node (its probe's sections, the generation
# identifiers, the settings) and the other views of the same state.
CMDS=(
	"version|drbdadm --version"
	"proc-drbd|cat /proc/drbd"
	"sh-dev|drbdadm sh-dev pc0"
	"dstate|drbdadm dstate pc0"
	"cstate|drbdadm cstate pc0"
	"role|drbdadm role pc0"
	"status-json|drbdsetup status pc0 --json"
	"drbdadm-status|drbdadm status pc0"
	"status-verbose|drbdsetup status pc0 --verbose --statistics"
	"events2-now|drbdsetup events2 --now --statistics pc0"
	"get-gi|drbdadm get-gi pc0"
	"show|drbdsetup show pc0"
)

# capture STATE: every command of CMDS on both nodes, plus the DRBD lines the kernel logged
# since the previous capture (dmesg-new).
declare -A seen=([1]=0 [2]=0)
capture() {
	local state=$1 n c name cmd rc
	mkdir -p "$OUT/$state"
	: >"$OUT/$state/rc.txt"
	for n in 1 2; do
		for c in "${CMDS[@]}"; do
			name=${c%%|*} cmd=${c#*|}
			rc=0
			lab_ssh "$n" "exec 2>&1; $cmd" >"$OUT/$state/node$n-$name.txt" || rc=$?
			echo "node$n $name $rc $cmd" >>"$OUT/$state/rc.txt"
		done
		lab_ssh "$n" "dmesg | grep -F drbd" >"$OUT/$state/dmesg.tmp" || true
		tail -n +"$((seen[$n] + 1))" "$OUT/$state/dmesg.tmp" >"$OUT/$state/node$n-dmesg-new.txt"
		seen[$n]=$(wc -l <"$OUT/$state/dmesg.tmp")
		rm -f "$OUT/$state/dmesg.tmp"
	done
	lab_log "captured $state"
}

on() {
	local n=$1
	shift
	lab_log "node$n: $*"
	lab_ssh "$n" "$@"
}

# wait_json N PATTERN: until node N's drbdsetup status --json matches the extended regexp.
wait_json() {
	local n=$1 re=$2 end=$((SECONDS + 300))
	until lab_ssh "$n" "drbdsetup status pc0 --json 2>&1" | tr -d ' \n' | grep -Eq "$re"; do
		[ $SECONDS -lt "$end" ] || lab_die "node$n: timed out waiting for $re"
		sleep 0.5
	done
}

# wait_dmesg N TEXT: until node N's kernel log holds TEXT.
wait_dmesg() {
	local n=$1 text=$2 end=$((SECONDS + 60))
	until lab_ssh "$n" "dmesg" | grep -qF "$text"; do
		[ $SECONDS -lt "$end" ] || lab_die "node$n: timed out waiting for '$text' in the kernel log"
		sleep 0.5
	done
}

mkdir -p "$OUT"
capture 00-module-loaded-no-resource
for n in 1 2; do on "$n" "drbdadm -- --force create-md pc0" >/dev/null 2>&1; done
capture 01-metadata-only
for n in 1 2; do on "$n" "drbdadm up pc0"; done
wait_json 1 '"connection-state":"Connected"'
wait_json 2 '"connection-state":"Connected"'
capture 02-connected-secondary-inconsistent
on 1 "drbdadm primary --force pc0"
wait_json 1 '"replication-state":"SyncSource".*"percent-in-sync":[1-9]'
capture 03-syncsource-primary
wait_json 1 '"peer-disk-state":"UpToDate"'
wait_json 2 '"disk-state":"UpToDate"'
capture 04-connected-primary-uptodate
on 1 "drbdadm disconnect pc0"
wait_json 2 '"connection-state":"Connecting"'
capture 05-standalone-after-disconnect
on 1 "drbdadm connect pc0"
wait_json 1 '"replication-state":"Established".*"peer-disk-state":"UpToDate"'
on 2 "drbdadm down pc0"
wait_json 1 '"connection-state":"Connecting"'
capture 06-peer-down
on 2 "drbdadm up pc0"
wait_json 1 '"replication-state":"Established".*"peer-disk-state":"UpToDate"'
wait_json 2 '"disk-state":"UpToDate"'
capture 07-peer-back
on 1 "drbdadm secondary pc0"
on 2 "drbdadm primary pc0"
capture 08-switchover-node2-primary
# A real split brain: DRBD's default after-sb policy (disconnect) in the file and in the kernel
# (DRBD 9 keeps a disconnected connection's net options). Both nodes are Secondary when they
# part, so neither marks the other Outdated; then each is Primary and writes while apart, and
# node2 stays Primary.
on 2 "drbdadm secondary pc0"
for n in 1 2; do
	on "$n" "sed -i '/after-sb-/d' /etc/drbd.d/pc0.res; drbdadm net-options --after-sb-0pri=disconnect --after-sb-1pri=disconnect --after-sb-2pri=disconnect pc0"
done
for n in 1 2; do on "$n" "drbdadm disconnect pc0"; done
on 1 "set -e; drbdadm primary pc0; dd if=/dev/urandom of=/dev/drbd0 bs=1M count=4 oflag=direct status=none; drbdadm secondary pc0"
on 2 "set -e; drbdadm primary pc0; dd if=/dev/urandom of=/dev/drbd0 bs=1M count=4 seek=8 oflag=direct status=none"
for n in 1 2; do on "$n" "drbdadm connect pc0"; done
wait_json 1 '"connection-state":"StandAlone"'
wait_json 2 '"connection-state":"StandAlone"'
wait_dmesg 1 'Split-Brain detected'
wait_dmesg 2 'Split-Brain detected'
capture 09-split-brain-standalone
on 2 "drbdadm secondary pc0"
for n in 1 2; do on "$n" "drbdadm down pc0"; done
capture 10-down
lab_log "captures in $OUT"
