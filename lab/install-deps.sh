#!/bin/bash
# install-deps.sh: install the host packages the DRBD lab needs (Debian/Ubuntu, as root).
#
# Usage: [DRBD=9] lab/install-deps.sh [-h]
#
# Idempotent and quiet: packages already present are not reinstalled, and apt's
# package lists are refreshed only when something is missing. Fails loudly when a
# package cannot be installed, so `make test-lab` never passes by skipping.
# With DRBD=9 it also installs what building LINBIT's DRBD 9 module needs: a compiler,
# coccinelle (spatch) and the headers of the guest kernel (linux-headers-KV).
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }

case ${1:-} in
-h | --help) usage; exit 0 ;;
'') ;;
*) usage >&2; exit 2 ;;
esac

# Host tools: qemu (TCG) and qemu-img; debootstrap for the guest rootfs; busybox-static
# and cpio for the initrd; kmod for depmod/modprobe -d; e2fsprogs for mkfs.ext4 -d;
# openssh-client for ssh/ssh-keygen; socat for the QEMU monitor (lab.sh grow); dpkg-dev-free
# extraction uses dpkg-deb (in dpkg).
PKGS=(
	qemu-system-x86 qemu-utils debootstrap busybox-static cpio kmod openssh-client
	e2fsprogs gzip coreutils util-linux procps iproute2 ca-certificates socat
)
if [ "${LAB_WITH_SHELLCHECK:-0}" = 1 ]; then PKGS+=(shellcheck); fi
# DRBD 9 is built out of tree against the guest kernel's headers; its compat step applies
# semantic patches with coccinelle's spatch.
if [ "$LAB_DRBD" = 9 ]; then
	PKGS+=(build-essential flex bison libelf-dev bc patch binutils coccinelle "linux-headers-$(lab_kernel_version)")
fi

if [ "$(id -u)" != 0 ]; then
	SUDO=(sudo -n)
else
	SUDO=()
fi

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "lab/install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >/dev/null
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" 2>&1 >/dev/null | { grep -v "^debconf: delaying" >&2 || true; }
for p in "${missing[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		{ echo "lab/install-deps.sh: $p did not install" >&2; exit 1; }
done
