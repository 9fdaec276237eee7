#!/usr/bin/env bash
# demo-progress.sh: read provider log lines (TF_LOG_PROVIDER=INFO) on stdin and print each
# "DRBD sync progress" / "DRBD sync complete" line, shortened to its key=value fields, the moment
# it arrives. scripts/demo.sh uses it to show the sync while `terraform apply` runs.
#
# Plain bash on purpose: Debian's default awk (mawk) reads a pipe in blocks unless run with
# -W interactive, which held every progress line back until apply had finished. `read` takes one
# line at a time and printf writes it at once. internal/demo/live_test.go checks that a line comes
# out while stdin is still open.
#
# Usage: demo-progress.sh [MARKER]   (MARKER: a file created after the first line is printed)
set -uo pipefail

marker=${1:-}
keys=(host connection_state replication_state disk_state peer_disk_state percent out_of_sync_kib
  speed_kib_per_sec eta)

while IFS= read -r line || [ -n "$line" ]; do
  case $line in
  *"DRBD sync complete"*) msg="DRBD sync complete" ;;
  *"DRBD sync progress"*) msg="DRBD sync progress" ;;
  *) continue ;;
  esac
  out=""
  for key in "${keys[@]}"; do
    re=" $key=([^ ]+)"
    # Fields the provider logged empty (key="") are left out.
    if [[ $line =~ $re ]] && [[ ${BASH_REMATCH[1]} != *'""' ]]; then
      out+=" $key=${BASH_REMATCH[1]}"
    fi
  done
  printf '    [provider log] %s:%s\n' "$msg" "$out"
  if [ -n "$marker" ] && [ ! -e "$marker" ]; then : >"$marker"; fi
done
