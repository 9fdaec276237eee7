#!/usr/bin/env bash
# run.sh: the benchmarks of `make bench`; prints a table and writes it to BENCHMARKS.md.
#
# Usage: bench/run.sh [-n]     (-n: print only, leave BENCHMARKS.md alone)
#
# Every figure is a ratio against a baseline measured in the same run: the provider's pooled
# SSH connection against a fresh connection and OpenSSH (ControlMaster and plain) on a local
# sshd; `terraform plan` of 50 DRBD pairs against as many terraform_data resources; the
# drbd_sync return delay against its poll interval; the provider binary against an empty
# framework provider. Absolute numbers are shown for context only.
#
# The OpenSSH part starts Debian's sshd (openssh-server; installed when missing and the
# machine is Debian with service starts disabled by policy-rc.d) as root on 127.0.0.1 and a
# free port, with its own config, host key and a throwaway authorized key under bench/out/.
# The system sshd and ~/.ssh are never touched. Needs terraform (TF_ACC_TERRAFORM_PATH or PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bench/out
write_md=1
[ "${1:-}" = "-n" ] && write_md=0
case ${1:-} in -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac

export CHECKPOINT_DISABLE=1
export TF_ACC_TERRAFORM_PATH=${TF_ACC_TERRAFORM_PATH:-$(command -v terraform || echo /usr/local/bin/terraform)}
[ -x "$TF_ACC_TERRAFORM_PATH" ] || { echo "bench: terraform not found (set TF_ACC_TERRAFORM_PATH)" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/ssh"
results=$out/results.txt
: >"$results"

# --- local sshd -----------------------------------------------------------------------------
sshd_bin=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$sshd_bin" ]; then
	if [ "$(id -u)" = 0 ] && [ -x /usr/sbin/policy-rc.d ] && { /usr/sbin/policy-rc.d ssh start >/dev/null 2>&1; [ $? = 101 ]; }; then
		echo "bench: installing openssh-server (service start disabled by policy-rc.d)" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq --no-install-recommends openssh-server >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends openssh-server >/dev/null; }
	else
		echo "bench: no sshd; install openssh-server (its service need not run)" >&2
		exit 1
	fi
fi
[ "$(id -u)" = 0 ] || { echo "bench: the OpenSSH comparison runs sshd as root; run as root" >&2; exit 1; }

port=
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 40000))
	if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "bench: no free port" >&2; exit 1; }

ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$out/ssh/ssh_host_ed25519_key"
ssh-keygen -q -t ed25519 -N '' -C bench-client -f "$out/ssh/id_ed25519"
cp "$out/ssh/id_ed25519.pub" "$out/ssh/authorized_keys"
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$out/ssh/ssh_host_ed25519_key.pub")" >"$out/ssh/known_hosts"
cat >"$out/ssh/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $out/ssh/ssh_host_ed25519_key
PidFile $out/ssh/sshd.pid
AuthorizedKeysFile $out/ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxSessions 64
MaxStartups 200
LogLevel ERROR
CONF
cat >"$out/ssh/ssh_config" <<CONF
Host bench
  HostName 127.0.0.1
  Port $port
  User root
  IdentityFile $out/ssh/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $out/ssh/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
CONF
chmod 600 "$out/ssh/"*
# sshd's privilege separation directory (Debian's service creates it the same way).
[ -d /run/sshd ] || mkdir -p -m 0755 /run/sshd
"$sshd_bin" -t -f "$out/ssh/sshd_config"
"$sshd_bin" -D -f "$out/ssh/sshd_config" -E "$out/ssh/sshd.log" &
sshd_pid=$!
trap 'kill "$sshd_pid" 2>/dev/null || true; wait "$sshd_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	ssh -F "$out/ssh/ssh_config" -o ConnectTimeout=2 bench true 2>/dev/null && break
	kill -0 "$sshd_pid" 2>/dev/null || { cat "$out/ssh/sshd.log" >&2; echo "bench: sshd exited" >&2; exit 1; }
	sleep 0.1
done
ssh -F "$out/ssh/ssh_config" bench true

# --- binaries -----------------------------------------------------------------------------
go build -trimpath -ldflags "-s -w" -o "$out/terraform-provider-drbd" .
go build -trimpath -ldflags "-s -w" -o "$out/emptyprovider" ./bench/emptyprovider

# --- benchmarks ---------------------------------------------------------------------------
echo "bench: SSH and provider start (bench/)" >&2
BENCH_SSH_DIR=$out/ssh BENCH_SSHD_PORT=$port \
	BENCH_PROVIDER_BIN=$out/terraform-provider-drbd BENCH_EMPTY_PROVIDER_BIN=$out/emptyprovider \
	go test -count=1 -run '^$' -bench 'BenchmarkSSHCommand' -benchtime 15x ./bench/ 2>&1 |
	sed -n 's/^Benchmark/Benchmark/p' | tee "$out/bench-ssh.txt" >&2 || true
BENCH_SSH_DIR=$out/ssh BENCH_SSHD_PORT=$port \
	BENCH_PROVIDER_BIN=$out/terraform-provider-drbd BENCH_EMPTY_PROVIDER_BIN=$out/emptyprovider \
	go test -count=1 -run '^$' -bench 'BenchmarkProviderStart' -benchtime 10x ./bench/ 2>&1 |
	sed -n 's/^Benchmark/Benchmark/p' >"$out/bench-start.txt"
echo "bench: Terraform against fake hosts (internal/provider)" >&2
DRBD_BENCH=1 TF_ACC=1 DRBD_BENCH_OUT=$results \
	go test -count=1 -run '^TestAccBench_' -bench 'BenchmarkRefresh|BenchmarkSyncReturn' -benchtime 3x \
	./internal/provider/ 2>&1 | grep -E '^(Benchmark|--- FAIL|FAIL|ok)' | tee "$out/bench-provider.txt" >&2

# metric FILE BENCH UNIT: the value of UNIT on the line of benchmark BENCH (name up to -N).
metric() {
	awk -v b="$2" -v u="$3" '{ n=$1; sub(/-[0-9]+$/, "", n); if (n == b) for (i=2; i<NF; i++) if ($(i+1) == u) { print $i; exit } }' "$1"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
ms() { awk -v a="$1" 'BEGIN { printf "%.2f", a / 1e6 }'; }
res() { awk -v k="$1" '$1 == k { print $2 }' "$results"; }

ssh_f=$out/bench-ssh.txt start_f=$out/bench-start.txt prov_f=$out/bench-provider.txt
pool=$(metric "$ssh_f" BenchmarkSSHCommand/pool ns/op)
fresh=$(metric "$ssh_f" BenchmarkSSHCommand/fresh ns/op)
cm=$(metric "$ssh_f" BenchmarkSSHCommand/openssh-controlmaster ns/op)
plain=$(metric "$ssh_f" BenchmarkSSHCommand/openssh-fresh ns/op)
rd=$(metric "$prov_f" BenchmarkRefresh/drbd ns/op)
rb=$(metric "$prov_f" BenchmarkRefresh/terraform_data ns/op)
objs=$(printf "%.0f" "$(metric "$prov_f" BenchmarkRefresh/drbd objects)")
smean=$(metric "$prov_f" BenchmarkSyncReturn mean-ms)
smax=$(metric "$prov_f" BenchmarkSyncReturn max-ms)
spoll=$(metric "$prov_f" BenchmarkSyncReturn mean/poll)
spollmax=$(metric "$prov_f" BenchmarkSyncReturn max/poll)
td=$(metric "$start_f" BenchmarkProviderStart/drbd start-to-schema-ms)
te=$(metric "$start_f" BenchmarkProviderStart/empty start-to-schema-ms)
md=$(metric "$start_f" BenchmarkProviderStart/drbd peak-rss-KiB)
me=$(metric "$start_f" BenchmarkProviderStart/empty peak-rss-KiB)

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
tfv=$("$TF_ACC_TERRAFORM_PATH" version 2>/dev/null | head -n 1)
sshv=$(ssh -V 2>&1)

table=$(
	cat <<TABLE
| Figure | Baseline (same run) | Result | Ratio |
|---|---|---|---|
| SSH handshakes per \`terraform apply\` of examples/chef-ha-failover (fake hosts) | target: 1 per host | host1 $(res apply_handshakes_host1), host2 $(res apply_handshakes_host2) (sessions: $(res apply_sessions_host1) / $(res apply_sessions_host2), one per command) | - |
| Per-command cost, provider pool (sshx, reused connection) | provider pool = 1.00 | $(ms "$pool") ms | 1.00 |
| Per-command cost, fresh sshx connection per command | provider pool | $(ms "$fresh") ms | $(ratio "$fresh" "$pool") |
| Per-command cost, OpenSSH \`ssh\` with ControlMaster | provider pool | $(ms "$cm") ms | $(ratio "$cm" "$pool") |
| Per-command cost, plain OpenSSH \`ssh\` per command | provider pool | $(ms "$plain") ms | $(ratio "$plain" "$pool") |
| \`terraform plan\` refresh, 50 pairs x 9 objects ($objs objects: every resource type + drbd_status) | $objs \`terraform_data\`: $(ms "$rb") ms | $(ms "$rd") ms | $(ratio "$rd" "$rb") |
| Kernel UpToDate/UpToDate -> drbd_sync Create returns (poll_interval 500ms) | poll interval | mean $smean ms, max $smax ms | mean $spoll, max $spollmax of a poll |
| Provider binary start-to-schema (go-plugin handshake + GetProviderSchema) | empty framework provider: $te ms | $td ms | $(ratio "$td" "$te") |
| Provider binary peak RSS at schema | empty framework provider: $me KiB | $md KiB | $(ratio "$md" "$me") |
TABLE
)
machine="$cpu, $(nproc) CPUs, $mem RAM, Linux $(uname -r), $(go version | cut -d' ' -f3), $tfv, $sshv"

echo
echo "$table"
echo
echo "Machine: $machine"

if [ "$write_md" = 1 ]; then
	cat >"$root/BENCHMARKS.md" <<MD
# Benchmarks

Latest \`make bench\` (\`bench/run.sh\`) run, $(date -u +%Y-%m-%d). Every figure is compared with a
baseline measured in the same run, on the same machine; absolute times are for context only.

Machine: $machine.

$table

How each figure is measured:

- **Handshakes per apply**: \`TestAccBench_applyConnections\` (internal/provider/bench_test.go) runs
  one \`terraform apply\` of examples/chef-ha-failover with the real CLI against two fake SSH hosts
  (internal/testhost + the DRBD simulator) and the provider served in-process
  (\`TF_REATTACH_PROVIDERS\`), then reads the hosts' handshake and session counters. It also runs in
  \`make test\`, where more than one handshake per host fails.
- **Per-command cost**: \`BenchmarkSSHCommand\` (bench/bench_test.go) runs \`true\` on a local
  OpenSSH sshd (Debian's openssh-server, started by run.sh on 127.0.0.1 with its own config,
  host key and throwaway key): over one pooled sshx connection, over a new sshx connection per
  command, through \`ssh\` with ControlMaster (a master connection reused by one ssh process per
  command), and through a plain \`ssh\` per command.
- **Refresh**: \`BenchmarkRefresh\` applies 50 pairs (100 fake hosts) with every resource type and
  the data source once, then times \`terraform plan\` (a full refresh, parallelism 10); the
  baseline is the same number of \`terraform_data\` resources, which cost Terraform but no provider.
- **Sync return delay**: \`BenchmarkSyncReturn\` completes the simulated resync at a random phase
  of drbd_sync's poll cycle and measures until its ApplyResourceChange returns in the provider
  server; a value below 1 poll interval means the provider notices within one poll.
  On this machine sshd's own per-session work (a fork and exec per command) dominates every
  variant, and the machine is shared with other builds, so these ratios move by tens of percent
  between runs; what stays is the order: a pooled connection (sshx or ControlMaster) well below a
  connection per command.
- **Start-to-schema and RSS**: \`BenchmarkProviderStart\` launches the stripped binary as Terraform
  does (go-plugin handshake), calls GetProviderSchema over gRPC and reads VmHWM from /proc; the
  baseline is bench/emptyprovider, a terraform-plugin-framework provider with no resources.
MD
	echo "bench: wrote BENCHMARKS.md" >&2
fi
