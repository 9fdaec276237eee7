# shellcheck shell=bash disable=SC2034
# lib.sh: configuration and helpers shared by lab/build.sh, lab/lab.sh and lab/test-lab.sh.
# Sourced, never executed. Every setting can be overridden from the environment.

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_ROOT=$(cd "$LAB_SRC/.." && pwd)
LAB_DIR=${LAB_DIR:-$LAB_ROOT/.lab}

LAB_SUITE=${LAB_SUITE:-bookworm}
# The DRBD the guests run: 8.4 (the module in Debian's kernel, the default) or 9 (LINBIT's 9.2
# module, built on this host from the source tarball LAB_DRBD9_TARBALL; see README.md, "DRBD 9").
# `make lab-up DRBD=9` and `DRBD=9 lab/lab.sh up` select 9; LAB_DRBD wins over DRBD.
LAB_DRBD=${LAB_DRBD:-${DRBD:-8.4}}
case $LAB_DRBD in
8 | 8.4) LAB_DRBD=8.4 ;;
9 | 9.2) LAB_DRBD=9 ;;
*)
	echo "lab: DRBD=$LAB_DRBD is not a lab flavour (8.4 or 9)" >&2
	exit 2
	;;
esac
LAB_DRBD9_TARBALL=${LAB_DRBD9_TARBALL:-}
# Built DRBD 9 modules, per tarball checksum and kernel version, outside the clone so that a
# fresh clone or `lab.sh clean` does not rebuild them.
LAB_MODULE_CACHE=${LAB_MODULE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-drbd/drbd9-modules}
# The machine's own Debian mirror, as apt is configured (deb822 .sources or sources.list).
LAB_MIRROR=${LAB_MIRROR:-$(awk '/^URIs:/{print $2; exit} /^deb /{print $2; exit}' \
	/etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true)}
LAB_MIRROR=${LAB_MIRROR:-http://deb.debian.org/debian}

# MiB per VM. 2 GiB because DRBD 8.4.11 on this kernel sometimes leaks pages on the SyncSource
# after a peer rejoins mid-resync (about the resynced volume); see README.md, Pitfalls.
LAB_MEM=${LAB_MEM:-2048}
LAB_TB_SIZE=${LAB_TB_SIZE:-256}    # TCG translation cache MiB (QEMU's default adds ~1 GiB RSS)
LAB_SSH_PORT1=${LAB_SSH_PORT1:-10022}
LAB_SSH_PORT2=${LAB_SSH_PORT2:-10023}
LAB_LINK_PORT=${LAB_LINK_PORT:-17788} # node N binds 127.0.0.1:LINK_PORT+N (UDP) for the DRBD link
LAB_DISK_SIZE=${LAB_DISK_SIZE:-1G}  # DRBD backing disk per node (sparse file)
LAB_BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-180} # seconds from qemu start to SSH

# Each flavour has its own images, so switching between them does not rebuild.
if [ "$LAB_DRBD" = 9 ]; then LAB_IMAGES=$LAB_DIR/images-drbd9; else LAB_IMAGES=$LAB_DIR/images; fi
LAB_RUN=$LAB_DIR/run
LAB_CACHE=$LAB_DIR/cache
LAB_LOGS=$LAB_DIR/logs
LAB_SSH=$LAB_DIR/ssh
LAB_KEY=$LAB_SSH/id_ed25519
LAB_KNOWN_HOSTS=$LAB_SSH/known_hosts

# lab_log prints a timestamped message on stderr.
lab_log() { echo "[lab $(date +%T)] $*" >&2; }

# lab_die prints an error on stderr and exits 1.
lab_die() {
	echo "[lab $(date +%T)] ERROR: $*" >&2
	exit 1
}

# lab_now prints the current time as seconds.nanoseconds.
lab_now() { if [ -n "${EPOCHREALTIME:-}" ]; then echo "$EPOCHREALTIME"; else date +%s.%N; fi; }

# lab_since T prints the seconds elapsed since T (from lab_now), one decimal.
lab_since() { awk -v a="$1" -v b="$(lab_now)" 'BEGIN{printf "%.1f", b-a}'; }

# lab_metric NAME VALUE prints a metric line on stdout (collected by test logs).
lab_metric() { echo "LAB-METRIC $1=$2"; }

# lab_port N prints the forwarded SSH port of node N.
lab_port() {
	case $1 in
	1) echo "$LAB_SSH_PORT1" ;;
	2) echo "$LAB_SSH_PORT2" ;;
	*) lab_die "no node $1 (nodes are 1 and 2)" ;;
	esac
}

# lab_ssh_opts prints the ssh options for the lab: our key, strict host-key checking against
# the known_hosts file lab.sh writes from the keys each VM prints on its serial console.
lab_ssh_opts() {
	printf '%s\n' -i "$LAB_KEY" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$LAB_KNOWN_HOSTS" \
		-o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 \
		-o ServerAliveInterval=5 -o ServerAliveCountMax=3
}

# lab_ssh N CMD... runs CMD as root on node N over plain ssh.
lab_ssh() {
	local n=$1 opts
	shift
	mapfile -t opts < <(lab_ssh_opts)
	ssh "${opts[@]}" -p "$(lab_port "$n")" root@127.0.0.1 "$@"
}

# lab_kernel_version prints the guest kernel's version: LAB_KERNEL, else the version Debian's
# linux-image-amd64 depends on now (apt's lists are refreshed once when they lack it).
lab_kernel_version() {
	if [ -n "${LAB_KERNEL:-}" ]; then
		echo "$LAB_KERNEL"
		return
	fi
	local v
	v=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -1)
	if [ -z "$v" ]; then
		apt-get update -qq >/dev/null 2>&1 || true
		v=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -1)
	fi
	[ -n "$v" ] || lab_die "cannot resolve the kernel version from linux-image-amd64 (apt lists missing?); set LAB_KERNEL"
	echo "$v"
}
