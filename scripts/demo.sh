#!/usr/bin/env bash
# demo.sh (`make demo`): two simulated DRBD backends behind real SSH on 127.0.0.1, and the Chef
# HA runbook example (examples/chef-ha-failover) applied against them with a freshly built
# provider, then destroyed. Nothing leaves loopback; no registry is contacted (dev_overrides).
#
# Environment: TERRAFORM, the CLI: terraform or tofu (default: `command -v terraform`, then
# /usr/local/bin/terraform),
# DEMO_DRBD (simulated DRBD version: 8.4 (default), 9 or 8.3), DEMO_SYNC (how long the simulated
# initial resync takes, default 15s), KEEP_DEMO_DIR=1 (keep the temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."

tf=${TERRAFORM:-$(command -v terraform 2>/dev/null || true)}
tf=${tf:-/usr/local/bin/terraform}
[ -x "$tf" ] || { echo "demo: no terraform binary (set TERRAFORM=/path/to/terraform or tofu)" >&2; exit 1; }
cli=$(basename "$tf") # what the messages call it: terraform or tofu
export CHECKPOINT_DISABLE=1

t0=$(date +%s)
bold="" plain=""
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; fi
say() { printf '\n%s==> %s%s (%ss)\n' "$bold" "$*" "$plain" "$(($(date +%s) - t0))"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/drbd-demo.XXXXXX")
hosts_pid=""
apply_pid=""
cleanup() {
  local rc=$?
  # Only processes this script started, by PID.
  if [ -n "$apply_pid" ] && kill -0 "$apply_pid" 2>/dev/null; then
    kill -INT "$apply_pid" 2>/dev/null || true # terraform stops gracefully on SIGINT
    wait "$apply_pid" 2>/dev/null || true
  fi
  if [ -n "$hosts_pid" ] && kill -0 "$hosts_pid" 2>/dev/null; then
    kill -TERM "$hosts_pid" 2>/dev/null || true
    wait "$hosts_pid" 2>/dev/null || true
  fi
  if [ "${KEEP_DEMO_DIR:-0}" = 1 ]; then
    echo "demo: kept $tmp"
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for_file FILE SECONDS: poll (with a deadline) until FILE exists.
wait_for_file() {
  local deadline=$(($(date +%s) + $2))
  until [ -e "$1" ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then return 1; fi
    if [ -n "$hosts_pid" ] && ! kill -0 "$hosts_pid" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
}

# sim_status: ask demohosts (SIGUSR1) for the simulated nodes' status and print it.
sim_status() {
  rm -f "$tmp/env/status.txt"
  kill -USR1 "$hosts_pid"
  wait_for_file "$tmp/env/status.txt" 10 || { echo "demo: demohosts did not report its status" >&2; return 1; }
  cat "$tmp/env/status.txt"
}

say "building the provider and the simulated backends"
go build -o "$tmp/plugins/terraform-provider-drbd" .
go build -o "$tmp/demohosts" ./internal/demo/cmd/demohosts

say "starting two simulated DRBD ${DEMO_DRBD:-8.4} backends behind SSH on 127.0.0.1"
"$tmp/demohosts" -dir "$tmp/env" -drbd "${DEMO_DRBD:-8.4}" -sync "${DEMO_SYNC:-15s}" >"$tmp/demohosts.log" 2>&1 &
hosts_pid=$!
deadline=$(($(date +%s) + 30))
until grep -q '^demohosts: ready' "$tmp/demohosts.log"; do
  if ! kill -0 "$hosts_pid" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
    echo "demo: demohosts did not start:" >&2; cat "$tmp/demohosts.log" >&2; exit 1
  fi
  sleep 0.1
done
grep '^demohosts: ready' "$tmp/demohosts.log"
# shellcheck disable=SC1091
. "$tmp/env/demo.env"
ssh_opts="-i $PRIVATE_KEY_FILE -o UserKnownHostsFile=$KNOWN_HOSTS_FILE"
echo "primary backend:   ssh $ssh_opts -p $PRIMARY_PORT root@$PRIMARY_HOST cat /proc/drbd"
echo "secondary backend: ssh $ssh_opts -p $SECONDARY_PORT root@$SECONDARY_HOST cat /proc/drbd"

# The example runs from a copy, so no state or .terraform directory lands in the checkout.
cp -R examples/chef-ha-failover "$tmp/work"
scripts/dev-cli-config.sh "$tmp/terraformrc" "$tmp/plugins"
export TF_CLI_CONFIG_FILE="$tmp/terraformrc" TF_IN_AUTOMATION=1 TF_INPUT=0
color=()
[ -t 1 ] || color=(-no-color)
tfw() { "$tf" -chdir="$tmp/work" "$1" "${color[@]}" "${@:2}"; }

say "$cli apply examples/chef-ha-failover (TF_LOG_PROVIDER=INFO, showing the DRBD sync progress lines)"
: >"$tmp/provider.log"
# Provider logs go to a file so that Terraform's own errors stay on stderr; the sync progress
# lines are picked out of it as they are written (tail stops by itself when apply exits) and
# printed by demo-progress.sh line by line, so they show up while apply runs.
# terraform itself is the background job (not a subshell), so cleanup can stop it by its PID.
# Its output passes through a loop that notes whether a progress line was already printed when
# "Apply complete!" arrives: the demo fails if the progress was held back until the end.
watch_apply() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
    *"Apply complete!"*)
      if [ -e "$tmp/progress.first" ]; then echo before >"$tmp/progress.order"; else echo after >"$tmp/progress.order"; fi
      ;;
    esac
    printf '%s\n' "$line"
  done
}
TF_LOG_PROVIDER=INFO TF_LOG_PATH="$tmp/provider.log" \
  "$tf" -chdir="$tmp/work" apply "${color[@]}" -auto-approve -var-file="$tmp/env/demo.tfvars.json" \
  > >(watch_apply) &
apply_pid=$!
tail -n +1 -F --pid="$apply_pid" "$tmp/provider.log" 2>/dev/null |
  grep --line-buffered -E 'DRBD sync (progress|complete)' |
  ./scripts/demo-progress.sh "$tmp/progress.first" &
filter_pid=$!
wait "$apply_pid"
apply_pid=""
wait "$filter_pid" || true
# watch_apply ends when terraform closes its output; give it a moment to write its verdict.
for _ in $(seq 50); do [ -e "$tmp/progress.order" ] && break; sleep 0.1; done
case $(cat "$tmp/progress.order" 2>/dev/null) in
before) ;;
after)
  echo "demo: no DRBD sync progress line was printed before \"Apply complete!\" (output buffered?)" >&2
  exit 1
  ;;
*)
  echo "demo: terraform apply printed no \"Apply complete!\" line" >&2
  exit 1
  ;;
esac

say "drbd_status data source outputs ($cli output)"
tfw output primary_status
tfw output secondary_status
tfw output filesystem_uuid

say "second apply: nothing to do"
tfw plan -detailed-exitcode -var-file="$tmp/env/demo.tfvars.json" >/dev/null && echo "no changes: the runbook is idempotent"

say "DRBD status of both simulated nodes after the runbook"
sim_status

say "$cli destroy (unmount, demote, drbdadm down; metadata and data are kept)"
tfw destroy -auto-approve -var-file="$tmp/env/demo.tfvars.json"

say "final DRBD status of both simulated nodes"
kill -TERM "$hosts_pid"
wait "$hosts_pid" || true
hosts_pid=""
sed -n '/^demohosts: final/,$p' "$tmp/demohosts.log"

say "demo finished"
