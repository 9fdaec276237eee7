#!/bin/bash
# lab.sh: two-node DRBD lab (Debian bookworm guests under QEMU TCG) for the Chef HA backend:
# Debian's DRBD 8.4 module, or with DRBD=9 LINBIT's DRBD 9.2 built from LAB_DRBD9_TARBALL.
#
# Usage: [DRBD=9 LAB_DRBD9_TARBALL=...] lab/lab.sh COMMAND [ARGS]
#   up [--disk-size SIZE]  build images if their inputs changed, create fresh disks
#                          (DRBD backing disk SIZE, default $LAB_DISK_SIZE=1G), boot both
#                          nodes, wait for SSH, write .lab/ssh/known_hosts
#   down                   power both nodes off (only this lab's own qemu PIDs)
#   crash N                pull node N's plug (SIGKILL its qemu; disks kept)
#   start N                boot node N again on its existing disks
#   stop N                 power node N off cleanly (its init runs drbdadm down all); disks kept
#   blank-disk N           replace node N's DRBD backing disk with a blank sparse file of the
#                          same size (node N must be off): a rebuilt backend's new disk
#   grow N SIZE            grow node N's DRBD backing disk to SIZE (e.g. 2G) while it runs,
#                          through its QEMU monitor (block_resize): a cloud disk grown online
#   ssh N [CMD...]         run CMD (or a shell) as root on node N
#   status                 show which nodes run, their PIDs and memory
#   console N              print node N's serial console log
#   env                    print the lab's settings (ports, key, known_hosts) as shell lines
#   build [--force]        only build the images (see lab/build.sh)
#   clean                  power off and delete the VM disks and run state (keeps images/cache)
#
# Nodes: node1 SSH 127.0.0.1:$LAB_SSH_PORT1 (10022), node2 127.0.0.1:$LAB_SSH_PORT2 (10023),
# as root with .lab/ssh/id_ed25519. Replication link: 169.254.77.1 <-> .2 over
# -netdev socket UDP on 127.0.0.1. Everything lives under .lab/ (LAB_DIR).
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; }

pidfile() { echo "$LAB_RUN/node$1.pid"; }

# node_pid N prints node N's qemu PID when that process is running and is this lab's qemu
# (checked by its command line naming our disk), so a reused PID is never signalled.
node_pid() {
	local n=$1 f pid
	f=$(pidfile "$n")
	[ -s "$f" ] || return 1
	pid=$(cat "$f")
	[ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$LAB_RUN/node$n.qcow2" || return 1
	echo "$pid"
}

# wait_gone PID SECONDS waits for PID to exit; fails after SECONDS.
wait_gone() {
	local pid=$1 end=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null; do
		[ $SECONDS -lt "$end" ] || return 1
		sleep 0.1
	done
}

preflight_run() {
	local c missing=()
	for c in qemu-system-x86_64 qemu-img ssh ssh-keygen flock; do
		command -v "$c" >/dev/null || missing+=("$c")
	done
	[ ${#missing[@]} -eq 0 ] || lab_die "cannot start the lab: missing ${missing[*]} (run lab/install-deps.sh)"
	mkdir -p "$LAB_RUN"
	local avail
	avail=$(df -Pk "$LAB_RUN" | awk 'NR==2{print $4}')
	[ "$avail" -gt $((2 * 1024 * 1024)) ] || lab_die "cannot start the lab: less than 2 GiB free under $LAB_RUN"
}

start_node() {
	local n=$1 size=$2 port peer_udp my_udp
	port=$(lab_port "$n")
	[ -f "$LAB_RUN/node$n.qcow2" ] ||
		qemu-img create -q -f qcow2 -F raw -b "$LAB_IMAGES/base.raw" "$LAB_RUN/node$n.qcow2"
	[ -f "$LAB_RUN/node$n-drbd.raw" ] || truncate -s "$size" "$LAB_RUN/node$n-drbd.raw"
	# UDP pair: no start order, and the link survives a crash + restart of either node.
	my_udp=$((LAB_LINK_PORT + n))
	peer_udp=$((LAB_LINK_PORT + 3 - n))
	: >"$LAB_RUN/node$n.console"
	rm -f "$(pidfile "$n")"
	if ! qemu-system-x86_64 -name "drbd-lab-node$n" \
		-accel "tcg,tb-size=$LAB_TB_SIZE" -cpu max -smp 1 -m "$LAB_MEM" \
		-display none -vga none -no-reboot \
		-kernel "$LAB_IMAGES/vmlinuz" -initrd "$LAB_IMAGES/initrd.img" \
		-append "console=ttyS0 root=/dev/vda rw init=/sbin/lab-init lab.node=$n panic=-1 quiet" \
		-drive "file=$LAB_RUN/node$n.qcow2,if=virtio,format=qcow2,cache=unsafe" \
		-drive "file=$LAB_RUN/node$n-drbd.raw,if=virtio,format=raw,cache=unsafe" \
		-netdev "user,id=mgmt,restrict=on,ipv6=off,net=169.254.10.0/24,hostfwd=tcp:127.0.0.1:$port-:22" \
		-device "virtio-net-pci,netdev=mgmt,mac=52:54:00:12:34:0$n" \
		-netdev "socket,id=repl,udp=127.0.0.1:$peer_udp,localaddr=127.0.0.1:$my_udp" \
		-device "virtio-net-pci,netdev=repl,mac=52:54:00:77:00:0$n" \
		-object rng-random,id=rng0,filename=/dev/urandom -device virtio-rng-pci,rng=rng0 \
		-serial "file:$LAB_RUN/node$n.console" \
		-monitor "unix:$LAB_RUN/node$n.mon,server=on,wait=off" \
		-pidfile "$(pidfile "$n")" -daemonize 2>"$LAB_RUN/node$n.qemu.log" 7>&-; then
		cat "$LAB_RUN/node$n.qemu.log" >&2
		lab_die "node$n: qemu failed to start (is 127.0.0.1:$port or UDP $my_udp in use?)"
	fi
	lab_log "node$n: qemu pid $(cat "$(pidfile "$n")"), ssh 127.0.0.1:$port"
}

# assemble_known_hosts writes known_hosts from the host keys the nodes printed on their consoles.
assemble_known_hosts() {
	(
		flock 8
		local n tmp=$LAB_KNOWN_HOSTS.tmp
		: >"$tmp"
		for n in 1 2; do
			if [ -s "$LAB_RUN/hostkey-node$n" ]; then
				echo "[127.0.0.1]:$(lab_port "$n") $(cat "$LAB_RUN/hostkey-node$n")" >>"$tmp"
			fi
		done
		mv "$tmp" "$LAB_KNOWN_HOSTS"
	) 8>"$LAB_SSH/known_hosts.lock"
}

# wait_ssh N T0 waits until node N prints its host key and LAB-READY and answers on SSH.
wait_ssh() {
	local n=$1 t0=$2 end=$((SECONDS + LAB_BOOT_TIMEOUT)) pid key
	pid=$(node_pid "$n") || lab_die "node$n: qemu is not running"
	# slirp accepts on the forwarded port before sshd listens in the guest, and an early ssh
	# then hangs; the console's LAB-READY line comes after sshd started.
	until grep -q "LAB-READY node$n" "$LAB_RUN/node$n.console" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -30 "$LAB_RUN/node$n.console" >&2
			lab_die "node$n: qemu exited during boot (console above, $LAB_RUN/node$n.console)"
		fi
		if [ $SECONDS -ge "$end" ]; then
			tail -30 "$LAB_RUN/node$n.console" >&2
			lab_die "node$n: not ready after ${LAB_BOOT_TIMEOUT}s (console above)"
		fi
		sleep 0.1
	done
	# The guest must run the flavour asked for (DRBD 9 from updates/, not the kernel's 8.4).
	local ver
	ver=$(grep -a "^LAB-DRBD-MODULE node$n " "$LAB_RUN/node$n.console" | tail -1 | tr -d '\r' | cut -d' ' -f3)
	case $LAB_DRBD:$ver in
	8.4:8.4.* | 9:9.*) ;;
	*) lab_die "node$n runs DRBD module '${ver:-none}', not the lab's DRBD $LAB_DRBD (console: $LAB_RUN/node$n.console)" ;;
	esac
	key=$(grep -a "^LAB-HOSTKEY node$n " "$LAB_RUN/node$n.console" | tail -1 | tr -d '\r' | cut -d' ' -f3,4)
	[ -n "$key" ] || lab_die "node$n: no LAB-HOSTKEY line on the console"
	echo "$key" >"$LAB_RUN/hostkey-node$n"
	assemble_known_hosts
	until lab_ssh "$n" true 2>"$LAB_RUN/node$n.ssh-err"; do
		if [ $SECONDS -ge "$end" ]; then
			cat "$LAB_RUN/node$n.ssh-err" >&2
			lab_die "node$n: SSH on 127.0.0.1:$(lab_port "$n") not answering after ${LAB_BOOT_TIMEOUT}s"
		fi
		sleep 0.2
	done
	local secs
	secs=$(lab_since "$t0")
	lab_log "node$n: $(grep -a "LAB-DRBD" "$LAB_RUN/node$n.console" | tr -d '\r' | tr '\n' ' ')SSH ready ${secs}s after qemu start"
	lab_metric "boot_to_ssh_node${n}_s" "$secs"
}

# sync_clock N sets node N's clock to the host's over one established SSH session (the RTC
# gives whole seconds only) and reports the remaining offset. Run records of the two nodes are
# compared by timestamp, so their clocks must agree far better than a second.
sync_clock() {
	local n=$1 a b g r rtt off i
	coproc CLK {
		# Guest side: `get` answers with bash's $EPOCHREALTIME (no fork, so no delay); `adj D`
		# steps the clock by D seconds relative to the time date(1) itself reads, so the delay
		# of starting date under load does not become an error.
		# shellcheck disable=SC2016 # expanded by the guest's shell
		lab_ssh "$n" 'while read -r c v; do case $c in adj) date -s "$v seconds" >/dev/null; echo done;; get) echo "$EPOCHREALTIME";; *) exit 0;; esac; done'
	}
	for i in 1 2 3 4 5 6; do
		# Offset = guest time - host midpoint, from the fastest of three round trips.
		rtt=9
		for _ in 1 2 3; do
			a=$(lab_now)
			echo get >&"${CLK[1]}"
			read -r g <&"${CLK[0]}"
			b=$(lab_now)
			r=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.6f", b-a}')
			if awk -v r="$r" -v m="$rtt" 'BEGIN{exit !(r < m)}'; then
				rtt=$r
				off=$(awk -v a="$a" -v b="$b" -v g="$g" 'BEGIN{printf "%.1f", (g-(a+b)/2)*1000}')
			fi
		done
		awk -v o="$off" 'BEGIN{exit !(o < 5 && o > -5)}' && break
		[ "$i" -lt 6 ] || break
		echo "adj $(awk -v o="$off" 'BEGIN{printf "%+.6f", -o/1000}')" >&"${CLK[1]}"
		read -r _ <&"${CLK[0]}"
	done
	echo quit >&"${CLK[1]}"
	wait "$CLK_PID" 2>/dev/null || true
	lab_log "node$n: clock offset ${off} ms after sync (best rtt $(awk -v r="$rtt" 'BEGIN{printf "%.1f", r*1000}') ms)"
	lab_metric "clock_offset_node${n}_ms" "$off"
}

stop_node() {
	local n=$1 pid
	pid=$(node_pid "$n") || {
		rm -f "$(pidfile "$n")"
		return 0
	}
	# Ask the guest to power off cleanly (lab-init: drbdadm down all, sync, sysrq o).
	timeout 10 bash -c ". '$LAB_SRC/lib.sh'; lab_ssh $n 'kill -USR1 1'" >/dev/null 2>&1 || true
	if ! wait_gone "$pid" 15; then
		lab_log "node$n: no clean power-off; terminating qemu $pid"
		kill "$pid" 2>/dev/null || true
		wait_gone "$pid" 10 || { kill -KILL "$pid" 2>/dev/null || true; wait_gone "$pid" 10; }
	fi
	rm -f "$(pidfile "$n")"
	lab_log "node$n: stopped"
}

cmd_up() {
	local size=$LAB_DISK_SIZE
	while [ $# -gt 0 ]; do
		case $1 in
		--disk-size) size=${2:?--disk-size needs a value}; shift 2 ;;
		--disk-size=*) size=${1#*=}; shift ;;
		*) usage >&2; exit 2 ;;
		esac
	done
	local t
	t=$(lab_now)
	preflight_run
	"$LAB_SRC/build.sh"
	stop_node 1 &
	stop_node 2 &
	wait
	rm -f "$LAB_RUN"/node[12].qcow2 "$LAB_RUN"/node[12]-drbd.raw "$LAB_RUN"/hostkey-node[12]
	t=$(lab_now)
	start_node 1 "$size"
	start_node 2 "$size"
	local w1 w2 rc=0
	wait_ssh 1 "$t" &
	w1=$!
	wait_ssh 2 "$t" &
	w2=$!
	wait "$w1" || rc=1
	wait "$w2" || rc=1
	[ $rc -eq 0 ] || {
		cmd_down
		lab_die "the lab did not come up"
	}
	sync_clock 1
	sync_clock 2
	local secs
	secs=$(lab_since "$t")
	lab_log "both nodes up in ${secs}s (DRBD disks $size); known_hosts: $LAB_KNOWN_HOSTS"
	lab_metric boot_to_ssh_s "$secs"
}

cmd_down() {
	stop_node 1 &
	stop_node 2 &
	wait
}

cmd_crash() {
	local n=${1:?crash needs a node number} pid
	lab_port "$n" >/dev/null
	pid=$(node_pid "$n") || lab_die "node$n is not running"
	kill -KILL "$pid"
	wait_gone "$pid" 10 || lab_die "node$n: qemu $pid survived SIGKILL"
	rm -f "$(pidfile "$n")"
	lab_log "node$n: plug pulled (qemu $pid killed); disks kept"
}

cmd_start() {
	local n=${1:?start needs a node number} t
	lab_port "$n" >/dev/null
	if node_pid "$n" >/dev/null; then lab_die "node$n is already running"; fi
	if [ ! -f "$LAB_RUN/node$n.qcow2" ] || [ ! -f "$LAB_RUN/node$n-drbd.raw" ]; then
		lab_die "node$n has no disks; use 'lab.sh up' first"
	fi
	preflight_run
	t=$(lab_now)
	start_node "$n" "$LAB_DISK_SIZE"
	wait_ssh "$n" "$t"
	sync_clock "$n"
}

cmd_stop() {
	local n=${1:?stop needs a node number}
	lab_port "$n" >/dev/null
	node_pid "$n" >/dev/null || lab_die "node$n is not running"
	stop_node "$n"
}

# cmd_blank_disk N recreates node N's backing disk (/dev/vdb in the guest) as a blank sparse
# file of the same size, while the node is off: the blank disk of a replaced backend. The
# node's system overlay (and so its SSH host key) is kept.
cmd_blank_disk() {
	local n=${1:?blank-disk needs a node number} f size
	lab_port "$n" >/dev/null
	if node_pid "$n" >/dev/null; then lab_die "node$n is running; power it off first (lab.sh stop $n or crash $n)"; fi
	f=$LAB_RUN/node$n-drbd.raw
	[ -f "$f" ] || lab_die "node$n has no DRBD disk ($f); use 'lab.sh up' first"
	size=$(stat -c %s "$f")
	rm -f "$f"
	truncate -s "$size" "$f"
	lab_log "node$n: DRBD backing disk replaced by a blank one ($size bytes, $f)"
}

# cmd_grow N SIZE grows node N's DRBD backing disk (/dev/vdb in the guest) to SIZE (bytes, or
# with an IEC suffix: 2G) while the node runs, with the QEMU monitor's block_resize, as a cloud
# provider grows a VM's disk online; the guest sees the new size at once. Never shrinks.
cmd_grow() {
	local n=${1:?grow needs a node number} size=${2:?grow needs a size, e.g. 2G} f want cur i
	lab_port "$n" >/dev/null
	node_pid "$n" >/dev/null || lab_die "node$n is not running"
	command -v socat >/dev/null || lab_die "cannot grow the disk: missing socat (run lab/install-deps.sh)"
	want=$(numfmt --from=iec "$size" 2>/dev/null) || lab_die "grow: '$size' is not a size (e.g. 2G or 2147483648)"
	f=$LAB_RUN/node$n-drbd.raw
	cur=$(stat -c %s "$f")
	[ "$want" -ge "$cur" ] || lab_die "node$n: $size ($want bytes) is smaller than the disk's $cur bytes; grow never shrinks"
	# The drive's id is QEMU's default for the second -drive if=virtio: virtio1. The monitor
	# reads a plain number as MiB, hence the B suffix.
	printf 'block_resize virtio1 %sB\n' "$want" |
		socat -t 1 - "UNIX-CONNECT:$LAB_RUN/node$n.mon" >"$LAB_RUN/node$n.mon.log" 2>&1 ||
		lab_die "node$n: the QEMU monitor $LAB_RUN/node$n.mon did not answer ($(tail -1 "$LAB_RUN/node$n.mon.log"))"
	for i in $(seq 50); do
		[ "$(stat -c %s "$f")" = "$want" ] && break
		[ "$i" -lt 50 ] || lab_die "node$n: block_resize did not resize $f to $want bytes (monitor: $(tr -d '\r' <"$LAB_RUN/node$n.mon.log" | grep -a -o 'Error.*' | tail -1))"
		sleep 0.1
	done
	lab_log "node$n: DRBD backing disk grown online from $cur to $want bytes (block_resize virtio1)"
}

cmd_status() {
	local n pid
	for n in 1 2; do
		if pid=$(node_pid "$n"); then
			echo "node$n: running, qemu pid $pid, ssh 127.0.0.1:$(lab_port "$n"), rss $(awk '/VmRSS/{print $2" "$3}' "/proc/$pid/status")"
		else
			echo "node$n: down"
		fi
	done
}

cmd_env() {
	cat <<EOF
LAB_DIR=$LAB_DIR
LAB_DRBD=$LAB_DRBD
LAB_SSH_PORT1=$LAB_SSH_PORT1
LAB_SSH_PORT2=$LAB_SSH_PORT2
LAB_KEY=$LAB_KEY
LAB_KNOWN_HOSTS=$LAB_KNOWN_HOSTS
EOF
}

main() {
	local cmd=${1:-}
	[ $# -eq 0 ] || shift
	case $cmd in
	up | down | crash | start | stop | blank-disk | grow | clean)
		mkdir -p "$LAB_DIR"
		exec 7>"$LAB_DIR/run.lock"
		# qemu is started with fd 7 closed, so only a running lab.sh can hold this lock.
		flock -w 60 7 || lab_die "another lab.sh (up/down/crash/start/stop/blank-disk/grow/clean) has held $LAB_DIR/run.lock for 60 s"
		;;
	esac
	case $cmd in
	up) cmd_up "$@" ;;
	down) cmd_down ;;
	crash) cmd_crash "$@" ;;
	start) cmd_start "$@" ;;
	stop) cmd_stop "$@" ;;
	blank-disk) cmd_blank_disk "$@" ;;
	grow) cmd_grow "$@" ;;
	ssh)
		local n=${1:?ssh needs a node number}
		shift
		lab_ssh "$n" "$@"
		;;
	status) cmd_status ;;
	console) cat "$LAB_RUN/node${1:?console needs a node number}.console" ;;
	env) cmd_env ;;
	build) exec "$LAB_SRC/build.sh" "${@:-build}" ;;
	clean)
		cmd_down
		rm -rf "$LAB_RUN"
		;;
	-h | --help | help) usage ;;
	*)
		usage >&2
		exit 2
		;;
	esac
}

main "$@"
