#!/usr/bin/env bash
# run.sh: the benchmarks of `make bench`; prints a table and writes it to BENCHMARKS.md.
#
# Usage: bench/run.sh [-n]     (-n: print only, leave BENCHMARKS.md alone)
#
# Every figure is compared with a baseline measured in the same run, the variants interleaved
# (one of each per round, the order rotated) and reported as the median and range over the
# rounds, each ratio taken within a round: the provider's pooled SSH connection against a
# fresh connection and OpenSSH (ControlMaster and plain) on a local sshd; `terraform plan` of
# 50 simulated DRBD pairs with the provider against bench/noopprovider (the same schemas, no
# remote work), the hosts served by bench/cmd/simhosts in a process of their own; the
# drbd_sync return delay against its poll interval; the provider binary against an empty
# framework provider. Absolute numbers are shown for context only.
#
# The OpenSSH part starts Debian's sshd (openssh-server; installed when missing and the
# machine is Debian with service starts disabled by policy-rc.d) as root on 127.0.0.1 and a
# free port, with its own config, host key and a throwaway authorized key under bench/out/.
# Its sessions log in as the bench user drbdbench (created when missing: login shell /bin/sh,
# empty home /var/lib/drbdbench), so no rc file of a login shell runs per command; strace
# (installed when missing) counts the execve calls per command for that user and for root.
# The system sshd and ~/.ssh are never touched. Needs terraform or tofu (TERRAFORM, TF_ACC_TERRAFORM_PATH or PATH).
#
# Rounds: BENCH_SSH_ROUNDS (20, BENCH_SSH_PER_ROUND commands each, default 5),
# BENCH_START_ROUNDS (20), BENCH_REFRESH_ROUNDS (10), BENCH_PAIRS (50).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bench/out
write_md=1
[ "${1:-}" = "-n" ] && write_md=0
case ${1:-} in -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac

export CHECKPOINT_DISABLE=1
# The CLI: TERRAFORM (terraform or tofu), else TF_ACC_TERRAFORM_PATH, else terraform on PATH.
export TF_ACC_TERRAFORM_PATH=${TERRAFORM:-${TF_ACC_TERRAFORM_PATH:-$(command -v terraform || echo /usr/local/bin/terraform)}}
[ -x "$TF_ACC_TERRAFORM_PATH" ] || { echo "bench: terraform not found (set TERRAFORM=/path/to/terraform or tofu)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: the OpenSSH comparison runs sshd as root and needs a bench user; run as root" >&2; exit 1; }

ssh_rounds=${BENCH_SSH_ROUNDS:-20}
start_rounds=${BENCH_START_ROUNDS:-20}
refresh_rounds=${BENCH_REFRESH_ROUNDS:-10}
pairs=${BENCH_PAIRS:-50}

rm -rf "$out"
mkdir -p "$out/ssh" "$out/auth"
results=$out/results.txt          # bench/: KEY MEDIAN MIN MAX ROUNDS
presults=$out/results-provider.txt # internal/provider: KEY VALUE
: >"$results"
: >"$presults"

# apt_install PKG: install a Debian package when this is a Debian machine whose service starts
# are disabled by policy-rc.d (a container or CI machine, not someone's server).
apt_install() {
	if [ -x /usr/sbin/policy-rc.d ] && { /usr/sbin/policy-rc.d ssh start >/dev/null 2>&1; [ $? = 101 ]; }; then
		echo "bench: installing $1 (service start disabled by policy-rc.d)" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq --no-install-recommends "$1" >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "$1" >/dev/null; }
	else
		return 1
	fi
}

# --- local sshd and its bench user ----------------------------------------------------------
sshd_bin=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$sshd_bin" ]; then
	apt_install openssh-server || { echo "bench: no sshd; install openssh-server (its service need not run)" >&2; exit 1; }
fi

# The bench user: login shell /bin/sh (dash: `sh -c CMD` reads no rc file) and an empty home,
# so a session costs sshd's own work and not root's ~/.bashrc (which may run pyenv init and
# the like on every command). Created once, corrected when it exists with other settings;
# nothing of the system's is removed. Password '*' (no password, not locked: sshd without PAM
# refuses key logins to accounts whose password starts with '!').
bench_user=drbdbench
bench_home=/var/lib/$bench_user
if ! getent passwd "$bench_user" >/dev/null; then
	echo "bench: creating the bench user $bench_user (shell /bin/sh, empty home $bench_home)" >&2
	useradd --system --no-create-home --home-dir "$bench_home" --shell /bin/sh --password '*' \
		--comment "terraform-provider-drbd make bench" "$bench_user"
fi
IFS=: read -r _ _ _ _ _ u_home u_shell < <(getent passwd "$bench_user")
if [ "$u_home" != "$bench_home" ] || [ "$u_shell" != /bin/sh ]; then
	usermod --home "$bench_home" --shell /bin/sh "$bench_user"
fi
case $(getent shadow "$bench_user" | cut -d: -f2) in '!'*) usermod --password '*' "$bench_user" ;; esac
mkdir -p -m 0755 "$bench_home"
if [ -n "$(ls -A "$bench_home")" ]; then
	echo "bench: $bench_home is not empty; the bench user's home must hold no rc file" >&2
	exit 1
fi

port=
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 40000))
	if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "bench: no free port" >&2; exit 1; }

ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$out/ssh/ssh_host_ed25519_key"
ssh-keygen -q -t ed25519 -N '' -C bench-client -f "$out/ssh/id_ed25519"
# sshd reads authorized keys as the user logging in: world-readable, in a directory of its own.
cp "$out/ssh/id_ed25519.pub" "$out/auth/authorized_keys"
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$out/ssh/ssh_host_ed25519_key.pub")" >"$out/ssh/known_hosts"
cat >"$out/ssh/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $out/ssh/ssh_host_ed25519_key
PidFile $out/ssh/sshd.pid
AuthorizedKeysFile $out/auth/authorized_keys
# root only for the execve count of the old method (root's login shell); timed sessions use $bench_user.
AllowUsers $bench_user root
PermitRootLogin prohibit-password
PermitUserEnvironment no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
PrintLastLog no
StrictModes no
MaxSessions 64
MaxStartups 200
LogLevel ERROR
CONF
cat >"$out/ssh/ssh_config" <<CONF
Host bench bench-root
  HostName 127.0.0.1
  Port $port
  IdentityFile $out/ssh/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $out/ssh/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
Host bench
  User $bench_user
Host bench-root
  User root
CONF
chmod 600 "$out/ssh/"*
chmod 0755 "$out" "$out/auth"
chmod 0644 "$out/auth/authorized_keys"
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
ssh -F "$out/ssh/ssh_config" bench true ||
	{ cat "$out/ssh/sshd.log" >&2; echo "bench: cannot log in as $bench_user (can it read $out/auth/authorized_keys?)" >&2; exit 1; }

# --- execve per command: what one `ssh HOST true` makes sshd and its children execute --------
# The proof that the timed sessions run sshd's work only: strace -f on the private sshd while
# 3 plain ssh commands run as the bench user, then as root (the old method: root's login
# shell, bash, reads ~/.bashrc).
command -v strace >/dev/null || apt_install strace || true
execve_per_cmd() { # HOST -> "CALLS STARTED" per command (calls include failed PATH lookups)
	local host=$1 log=$out/strace-$1.txt spid
	strace -f -qq -e trace=execve -e signal=none -o "$log" -p "$sshd_pid" 2>"$out/strace-$1.err" &
	spid=$!
	for _ in $(seq 100); do
		[ "$(awk '/^TracerPid:/ { print $2 }' /proc/"$sshd_pid"/status)" != 0 ] && break
		sleep 0.05
	done
	for _ in 1 2 3; do ssh -F "$out/ssh/ssh_config" "$host" true; done
	sleep 0.2
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	awk '/execve\(/ && !/resumed>/ { calls++ } /(execve\(.*|execve resumed>.*)= 0$/ { ok++ }
		END { printf "%.0f %.0f", calls / 3, ok / 3 }' "$log"
}
exec_bench="n/a n/a" exec_root="n/a n/a" exec_progs=n/a
if command -v strace >/dev/null; then
	exec_bench=$(execve_per_cmd bench) || exec_bench="n/a n/a"
	exec_root=$(execve_per_cmd bench-root) || exec_root="n/a n/a"
	# The programs the bench user's sessions started (successful execve), e.g. "/usr/sbin/sshd -R, /bin/sh -c true".
	exec_progs=$(awk -F'"' '/execve\(.*= 0$/ { p = $2; if ($0 ~ /"-R"\]/) p = p " -R"; if ($0 ~ /"-c"/) p = p " -c " $8; if (!(p in seen)) { seen[p] = 1; out = out (out ? ", " : "") p } } END { print out }' "$out/strace-bench.txt" 2>/dev/null) || exec_progs=n/a
	echo "bench: execve per ssh command: $bench_user $exec_bench, root $exec_root (calls, started)" >&2
else
	echo "bench: no strace; execve per command not counted" >&2
fi

# --- binaries -----------------------------------------------------------------------------
go build -trimpath -ldflags "-s -w" -o "$out/terraform-provider-drbd" .
go build -trimpath -ldflags "-s -w" -o "$out/emptyprovider" ./bench/emptyprovider
go build -trimpath -ldflags "-s -w" -o "$out/noopprovider" ./bench/noopprovider
go build -trimpath -o "$out/simhosts" ./bench/cmd/simhosts

# --- benchmarks ---------------------------------------------------------------------------
# benchgo PATTERN ROUNDS LOG: one go test -bench run of bench/, one round per b.Loop iteration.
benchgo() {
	BENCH_OUT=$results BENCH_SSH_DIR=$out/ssh BENCH_SSHD_PORT=$port BENCH_SSH_USER=$bench_user \
		BENCH_PROVIDER_BIN=$out/terraform-provider-drbd BENCH_EMPTY_PROVIDER_BIN=$out/emptyprovider \
		BENCH_NOOP_PROVIDER_BIN=$out/noopprovider BENCH_SIMHOSTS_BIN=$out/simhosts \
		BENCH_TERRAFORM=$TF_ACC_TERRAFORM_PATH BENCH_PAIRS=$pairs \
		go test -count=1 -run '^$' -bench "^$1\$" -benchtime "$2x" -timeout 20m ./bench/ >"$out/$3" 2>&1 ||
		{ cat "$out/$3" >&2; echo "bench: $1 failed" >&2; exit 1; }
	grep '^Benchmark' "$out/$3" >&2 || true
}
echo "bench: SSH per command, $ssh_rounds rounds (bench/)" >&2
benchgo BenchmarkSSHCommand "$ssh_rounds" bench-ssh.txt
echo "bench: provider start, $start_rounds rounds (bench/)" >&2
benchgo BenchmarkProviderStart "$start_rounds" bench-start.txt
echo "bench: refresh of $pairs pairs, provider vs no-op provider, $refresh_rounds rounds (bench/)" >&2
benchgo BenchmarkRefresh "$refresh_rounds" bench-refresh.txt
echo "bench: Terraform against fake hosts (internal/provider)" >&2
DRBD_BENCH=1 TF_ACC=1 DRBD_BENCH_OUT=$presults \
	go test -count=1 -run '^TestAccBench_' -bench '^BenchmarkSyncReturn$' -benchtime 3x \
	./internal/provider/ 2>&1 | grep -E '^(Benchmark|--- FAIL|FAIL|ok)' | tee "$out/bench-provider.txt" >&2

# metric FILE BENCH UNIT: the value of UNIT on the line of benchmark BENCH (name up to -N).
metric() {
	awk -v b="$2" -v u="$3" '{ n=$1; sub(/-[0-9]+$/, "", n); if (n == b) for (i=2; i<NF; i++) if ($(i+1) == u) { print $i; exit } }' "$1"
}
pres() { awk -v k="$1" '$1 == k { print $2 }' "$presults"; }
# field KEY N: field N of the bench/ result KEY (2 median, 3 min, 4 max, 5 rounds).
field() { awk -v k="$1" -v n="$2" '$1 == k { print $n; found=1 } END { if (!found) print "nan" }' "$results"; }
# fmtr KEY DIGITS [SCALE]: "median (min-max)" of a bench/ result.
fmtr() {
	awk -v d="$2" -v s="${3:-1}" -v m="$(field "$1" 2)" -v lo="$(field "$1" 3)" -v hi="$(field "$1" 4)" \
		'BEGIN { f = "%." d "f"; printf f " (" f "-" f ")", m * s, lo * s, hi * s }'
}
rounds() { field "$1" 5; }

prov_f=$out/bench-provider.txt
smean=$(metric "$prov_f" BenchmarkSyncReturn mean-ms)
smax=$(metric "$prov_f" BenchmarkSyncReturn max-ms)
spoll=$(metric "$prov_f" BenchmarkSyncReturn mean/poll)
spollmax=$(metric "$prov_f" BenchmarkSyncReturn max/poll)
objs=$(field refresh.objects 2)
read -r eb_calls eb_started <<<"$exec_bench"
read -r er_calls er_started <<<"$exec_root"

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
tfv=$("$TF_ACC_TERRAFORM_PATH" version 2>/dev/null | grep -m1 -E "^(Terraform|OpenTofu) v")
sshv=$(ssh -V 2>&1)

table=$(
	cat <<TABLE
Medians over the rounds, ranges (min-max) in brackets; each ratio is taken within a round and then summarised. A ratio whose range includes 1.00 is within this run's noise (the machine is shared with other builds).

| Figure | Baseline (same run) | Result | Ratio to baseline |
|---|---|---|---|
| SSH handshakes per \`terraform apply\` of examples/chef-ha-failover (fake hosts) | target: 1 per host | host1 $(pres apply_handshakes_host1), host2 $(pres apply_handshakes_host2) (sessions: $(pres apply_sessions_host1) / $(pres apply_sessions_host2), one per command) | - |
| Per-command cost, provider pool (sshx, reused connection), $(rounds ssh.pool.ms) rounds | provider pool = 1.00 | $(fmtr ssh.pool.ms 2) ms | 1.00 |
| Per-command cost, fresh sshx connection per command | provider pool | $(fmtr ssh.fresh.ms 2) ms | $(fmtr ssh.fresh.ratio 2) |
| Per-command cost, OpenSSH \`ssh\` with ControlMaster | provider pool | $(fmtr ssh.openssh-controlmaster.ms 2) ms | $(fmtr ssh.openssh-controlmaster.ratio 2) |
| Per-command cost, plain OpenSSH \`ssh\` per command | provider pool | $(fmtr ssh.openssh-fresh.ms 2) ms | $(fmtr ssh.openssh-fresh.ratio 2) |
| \`terraform plan\` refresh, $pairs pairs x 9 objects ($objs objects: every resource type + drbd_status), $(rounds refresh.drbd.ms) rounds | no-op provider, same schemas: $(fmtr refresh.noop.ms 0) ms | $(fmtr refresh.drbd.ms 0) ms | $(fmtr refresh.ratio 2) |
| Remote commands per pair per refresh (received by the simulated hosts) | no-op provider: $(fmtr refresh.noop.cmds_per_pair 1) | $(fmtr refresh.drbd.cmds_per_pair 1) (9 objects per pair; SSH handshakes per pair: $(fmtr refresh.drbd.handshakes_per_pair 1)) | - |
| Kernel UpToDate/UpToDate -> drbd_sync Create returns (poll_interval 500ms), 3 runs | poll interval | mean $smean ms, max $smax ms | mean $spoll, max $spollmax of a poll |
| Provider binary start-to-schema (go-plugin handshake + GetProviderSchema), $(rounds start.drbd.ms) rounds | empty framework provider: $(fmtr start.empty.ms 1) ms | $(fmtr start.drbd.ms 1) ms | $(fmtr start.ratio 2) |
| Provider binary peak RSS at schema | empty framework provider: $(fmtr rss.empty.kib 0) KiB | $(fmtr rss.drbd.kib 0) KiB | $(fmtr rss.ratio 2) |
TABLE
)
machine="$cpu, $(nproc) CPUs, $mem RAM, Linux $(uname -r), $(go version | cut -d' ' -f3), $tfv, $sshv"

echo
echo "$table"
echo
echo "execve per \`ssh HOST true\` (calls / programs started): $bench_user $eb_calls / $eb_started ($exec_progs), root $er_calls / $er_started"
echo "Machine: $machine"

# The sections "## Lab: ..." come from the real-DRBD lab (make test-lab, see lab/README.md), and
# "## Plan with one host dead" from BenchmarkDeadHostPlan (internal/provider), not from this
# script: they are printed here and carried over unchanged, at the end.
lab_section=$(awk '/^## / { keep = ($0 ~ /^## (Lab: |Plan with one host dead)/) } keep' "$root/BENCHMARKS.md" 2>/dev/null || true)
if [ -n "$lab_section" ]; then
	echo
	echo "Real-DRBD lab figures (make test-lab; carried over in BENCHMARKS.md):"
	printf '%s\n' "$lab_section" | awk '/^## (Lab: |Plan with one host dead)/ { print } /^\| / && !/^\|---/ && !/^\| (Figure|Start) / && !/^\| \+/ { print }'
fi

if [ "$write_md" = 1 ]; then
	cat >"$root/BENCHMARKS.md" <<MD
# Benchmarks

Latest \`make bench\` (\`bench/run.sh\`) run, $(date -u +%Y-%m-%d). Every figure is compared with a
baseline measured in the same run, on the same machine, the two interleaved; absolute times are
for context only.

Machine: $machine.

$table

## What changed in the method

- **The remote shell no longer runs rc files.** The private sshd's sessions used to log in as
  root, whose login shell is bash; bash started by sshd for a command reads ~/.bashrc, which on
  these machines runs \`pyenv init\`, so the per-command figures timed the machine's shell
  start-up. run.sh now logs in as the bench user \`$bench_user\` (created once: login shell /bin/sh,
  empty home $bench_home; \`PermitUserEnvironment no\`). strace -f of the private sshd in this run,
  execve calls per plain \`ssh HOST true\` (3 commands each): **before (root): $er_calls calls,
  $er_started programs started; after ($bench_user): $eb_calls calls, $eb_started started** ($exec_progs).
- **Interleaved rounds.** Variants used to be timed in separate blocks, so load from other work on
  this shared 2-CPU machine fell on one variant and not another. Now each round runs every variant
  once (order rotated each round), the table shows the median and min-max over the rounds, and
  every ratio is computed within a round against the baseline of that round.
- **Refresh against a provider floor.** The refresh used to be compared with \`terraform_data\`, which
  no provider can reach (no plugin process, no schema). The baseline is now bench/noopprovider:
  a framework provider named drbd with this provider's own schemas (taken from
  internal/provider's Schema methods; a unit test checks they are equal) and CRUD that does
  nothing, refreshing the same configuration and the same state (both through \`dev_overrides\`,
  both as separate plugin processes). The simulated hosts moved out of the timed process into
  bench/cmd/simhosts, which also counts the remote commands each refresh sends.

## How each figure is measured

- **Handshakes per apply**: \`TestAccBench_applyConnections\` (internal/provider/bench_test.go) runs
  one \`terraform apply\` of examples/chef-ha-failover with the real CLI against two fake SSH hosts
  (internal/testhost + the DRBD simulator) and the provider served in-process
  (\`TF_REATTACH_PROVIDERS\`), then reads the hosts' handshake and session counters. It also runs in
  \`make test\`, where more than one handshake per host fails.
- **Per-command cost**: \`BenchmarkSSHCommand\` (bench/bench_test.go) runs \`true\` on a local
  OpenSSH sshd (Debian's openssh-server, started by run.sh on 127.0.0.1 with its own config,
  host key and throwaway key, sessions as \`$bench_user\`): over one pooled sshx connection, over a
  new sshx connection per command, through \`ssh\` with ControlMaster (a master connection reused
  by one ssh process per command), and through a plain \`ssh\` per command. $(rounds ssh.pool.ms) rounds of
  ${BENCH_SSH_PER_ROUND:-5} commands per variant. What remains per command is sshd's own session work (a fork
  and an exec of /bin/sh) plus, for the fresh variants, a key exchange and sshd's re-exec; the
  machine is shared with other builds, hence the ranges.
- **Refresh**: \`BenchmarkRefresh\` (bench/refresh_test.go) starts bench/cmd/simhosts ($pairs simulated
  pairs, $((pairs * 2)) SSH hosts on 127.0.0.1, each in the state the Chef HA runbook leaves), applies
  the configuration once with the provider binary, checks that a plan with either provider shows
  no change, then times \`terraform plan -parallelism=10\` (a full refresh) with the provider binary
  and with the no-op provider in turn, $(rounds refresh.drbd.ms) rounds. Terraform, both providers and the
  hosts are separate processes; the hosts' command counters are read before and after each plan.
- **Sync return delay**: \`BenchmarkSyncReturn\` (internal/provider) completes the simulated resync
  at a random phase of drbd_sync's poll cycle and measures until its ApplyResourceChange returns in
  the provider server; a value below 1 poll interval means the provider notices within one poll.
- **Start-to-schema and RSS**: \`BenchmarkProviderStart\` (bench/bench_test.go) launches the stripped
  binary as Terraform does (go-plugin handshake), calls GetProviderSchema over gRPC and reads
  VmHWM from /proc, alternating with bench/emptyprovider (a terraform-plugin-framework provider
  with no resources), $(rounds start.drbd.ms) rounds.
MD
	[ -z "$lab_section" ] || printf '\n%s\n' "$lab_section" >>"$root/BENCHMARKS.md"
	echo "bench: wrote BENCHMARKS.md" >&2
fi
