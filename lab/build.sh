#!/bin/bash
# build.sh: build the lab VM images from Debian's packages (needs root, network to the mirror).
#
# Usage: [DRBD=9 LAB_DRBD9_TARBALL=drbd-9.2.12.tar.gz] lab/build.sh [--force|--check|--print-hash]
#   (none)        build unless the images under .lab/images match the current inputs
#   --force       rebuild even when up to date
#   --check       exit 0 when up to date, 1 when a build is needed
#   --print-hash  print the input hash
#
# Inputs (hashed; any change triggers a rebuild): this script, lab/lib.sh, lab/guest/*,
# the package list, the suite, the kernel version and the lab's SSH client public key.
# Outputs: .lab/images/{vmlinuz,initrd.img,base.raw,inputs.sha256}. Downloads are cached under
# .lab/cache (debootstrap tree per package list, kernel per version), so a rebuild after a
# script change takes seconds.
# With DRBD=9: the images go to .lab/images-drbd9, with LINBIT's DRBD 9 modules built here from
# LAB_DRBD9_TARBALL against the guest kernel's headers (cached per tarball checksum and kernel
# version under LAB_MODULE_CACHE), installed under /lib/modules/KV/updates/, and the DRBD 9 form
# of the lab's resource file (guest/pc0-drbd9.res). The tarball's checksum is an input too.
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Guest packages: DRBD userland, sshd, mkfs, and what lab-init and the provider call.
PKGS=drbd-utils,openssh-server,e2fsprogs,xfsprogs,iproute2,kmod,procps,util-linux,mount,netbase
ensure_client_key() {
	mkdir -p "$LAB_SSH"
	chmod 700 "$LAB_SSH"
	[ -f "$LAB_KEY" ] || ssh-keygen -q -t ed25519 -N '' -C "drbd-lab-client" -f "$LAB_KEY"
}

input_hash() {
	{
		echo "suite=$LAB_SUITE pkgs=$PKGS kernel=$KV drbd=$LAB_DRBD"
		[ "$LAB_DRBD" != 9 ] || echo "drbd9-source=$DRBD9_SHA"
		cat "$LAB_SRC/build.sh" "$LAB_SRC/lib.sh"
		(cd "$LAB_SRC/guest" && for f in *; do echo "== $f"; cat "$f"; done)
		cat "$LAB_KEY.pub"
	} | sha256sum | cut -d' ' -f1
}

up_to_date() {
	local h
	h=$(input_hash)
	[ -f "$LAB_IMAGES/inputs.sha256" ] && [ "$(cat "$LAB_IMAGES/inputs.sha256")" = "$h" ] &&
		[ -f "$LAB_IMAGES/base.raw" ] && [ -f "$LAB_IMAGES/vmlinuz" ] && [ -f "$LAB_IMAGES/initrd.img" ]
}

preflight() {
	[ "$(id -u)" = 0 ] || lab_die "building images needs root (debootstrap, chroot); run as root or run lab/install-deps.sh and retry with sudo"
	local c missing=()
	for c in debootstrap mkfs.ext4 depmod modprobe cpio gzip dpkg-deb apt-get chroot; do
		command -v "$c" >/dev/null || missing+=("$c")
	done
	[ -x /usr/bin/busybox ] && /usr/bin/busybox --list >/dev/null 2>&1 || missing+=(busybox-static)
	[ ${#missing[@]} -eq 0 ] || lab_die "missing host tools: ${missing[*]} (run lab/install-deps.sh)"
	# busybox must be static: the initrd has no libc
	if ldd /usr/bin/busybox >/dev/null 2>&1; then
		lab_die "/usr/bin/busybox is dynamically linked; install busybox-static (lab/install-deps.sh)"
	fi
	local avail
	avail=$(df -Pk "$LAB_DIR" | awk 'NR==2{print $4}')
	[ "$avail" -gt $((3 * 1024 * 1024)) ] || lab_die "less than 3 GiB free under $LAB_DIR (have $((avail / 1024)) MiB)"
}

# debootstrap_tree prints a pristine debootstrap tree for the package list, cached by its hash.
debootstrap_tree() {
	local key dir t
	key=$(echo "$LAB_SUITE $PKGS $LAB_MIRROR" | sha256sum | cut -c1-16)
	dir=$LAB_CACHE/debootstrap-$key
	if [ ! -f "$dir.complete" ]; then
		t=$(lab_now)
		rm -rf "$dir"
		lab_log "debootstrap $LAB_SUITE from $LAB_MIRROR ($PKGS)"
		if ! debootstrap --variant=minbase --include="$PKGS" "$LAB_SUITE" "$dir" "$LAB_MIRROR" \
			>"$LAB_LOGS/debootstrap.log" 2>&1; then
			tail -20 "$LAB_LOGS/debootstrap.log" >&2
			lab_die "debootstrap failed (log: $LAB_LOGS/debootstrap.log)"
		fi
		touch "$dir.complete"
		lab_log "debootstrap: $(lab_since "$t")s"
	fi
	echo "$dir"
}

# kernel_tree prints the extracted linux-image package of version KV, cached.
kernel_tree() {
	local dir=$LAB_CACHE/kernel-$KV pkg=linux-image-$KV
	if [ ! -f "$dir.complete" ]; then
		rm -rf "$dir" "$LAB_CACHE/debs"
		mkdir -p "$LAB_CACHE/debs"
		(cd "$LAB_CACHE/debs" && apt-get -q -o APT::Sandbox::User=root download "$pkg" >"$LAB_LOGS/kernel-download.log" 2>&1) ||
			{
				cat "$LAB_LOGS/kernel-download.log" >&2
				lab_die "apt-get download $pkg failed"
			}
		dpkg-deb -x "$LAB_CACHE/debs/${pkg}"_*.deb "$dir"
		rm -rf "$LAB_CACHE/debs"
		touch "$dir.complete"
	fi
	echo "$dir"
}

install_modules() {
	local rootfs=$1 ktree=$2 src dst d
	src=$ktree/lib/modules/$KV
	dst=$rootfs/lib/modules/$KV
	rm -rf "$rootfs/lib/modules"
	mkdir -p "$dst/kernel/drivers/net"
	cp -a "$src"/modules.order "$src"/modules.builtin* "$dst/"
	# Only the subtrees a storage/network VM needs (the full tree is ~390 MB). drivers/block
	# holds drbd.ko (DRBD 8.4.11); lib holds lru_cache and libcrc32c.
	for d in arch crypto lib fs net/core drivers/block drivers/virtio drivers/char drivers/md; do
		mkdir -p "$dst/kernel/$(dirname "$d")"
		cp -a "$src/kernel/$d" "$dst/kernel/$d"
	done
	cp -a "$src"/kernel/drivers/net/{virtio_net,net_failover}.ko "$dst/kernel/drivers/net/"
	depmod -b "$rootfs" "$KV"
	[ -f "$dst/kernel/drivers/block/drbd/drbd.ko" ] || lab_die "drbd.ko missing from $KV"
}

# drbd9_preflight checks what building the DRBD 9 modules needs and sets DRBD9_SHA, the
# tarball's SHA-256 (part of the image inputs and of the module cache key).
drbd9_preflight() {
	[ -n "$LAB_DRBD9_TARBALL" ] ||
		lab_die "DRBD=9 needs LAB_DRBD9_TARBALL, the path of LINBIT's DRBD 9 kernel module source tarball (drbd-9.2.12.tar.gz; see lab/README.md, DRBD 9)"
	[ -f "$LAB_DRBD9_TARBALL" ] || lab_die "LAB_DRBD9_TARBALL=$LAB_DRBD9_TARBALL: no such file"
	DRBD9_SHA=$(sha256sum "$LAB_DRBD9_TARBALL" | cut -d' ' -f1)
}

# drbd9_modules sets DRBD9_MODS to the directory holding drbd.ko and its companions built from
# LAB_DRBD9_TARBALL for kernel KV, building them first unless the cache has them.
drbd9_modules() {
	local dir=$LAB_MODULE_CACHE/$DRBD9_SHA-$KV t work src b m
	DRBD9_MODS=$dir
	if [ -f "$dir/drbd.ko" ]; then
		lab_log "DRBD 9 modules cached: $dir ($(cat "$dir/version" 2>/dev/null))"
		return
	fi
	local missing=()
	for m in make gcc flex bison bc spatch strip; do command -v "$m" >/dev/null || missing+=("$m"); done
	[ -e "/lib/modules/$KV/build/Makefile" ] || missing+=("linux-headers-$KV")
	[ ${#missing[@]} -eq 0 ] || lab_die "building the DRBD 9 modules needs: ${missing[*]} (run DRBD=9 lab/install-deps.sh)"
	t=$(lab_now)
	lab_log "building the DRBD 9 modules from $LAB_DRBD9_TARBALL for $KV (about 2 min on 2 cores)"
	mkdir -p "$LAB_MODULE_CACHE"
	work=$(mktemp -d "$LAB_MODULE_CACHE/.build-XXXXXX")
	tar -xzf "$LAB_DRBD9_TARBALL" -C "$work"
	src=$(find "$work" -mindepth 2 -maxdepth 2 -type d -name drbd | head -1)
	if [ -z "$src" ] || [ ! -f "$src/Makefile" ]; then
		rm -rf "$work"
		lab_die "$LAB_DRBD9_TARBALL holds no drbd/Makefile: not a DRBD 9 kernel module source tarball"
	fi
	# SPAAS=false: the compat patches are made with the local spatch (coccinelle), never with
	# LINBIT's online patch service.
	if ! make -C "$src" KDIR="/lib/modules/$KV/build" SPAAS=false -j"$(nproc)" >"$LAB_LOGS/drbd9-build.log" 2>&1; then
		grep -E 'error|ERROR' "$LAB_LOGS/drbd9-build.log" | head -20 >&2
		rm -rf "$work"
		lab_die "the DRBD 9 module build failed (log: $LAB_LOGS/drbd9-build.log)"
	fi
	b=$src/build-$KV
	[ -d "$b" ] || b=$src
	mkdir -p "$work/out"
	for m in drbd.ko drbd_transport_tcp.ko drbd-kernel-compat/handshake/handshake.ko; do
		[ -f "$b/$m" ] || continue
		install -m644 "$b/$m" "$work/out/"
		strip --strip-debug "$work/out/${m##*/}"
	done
	if [ ! -f "$work/out/drbd.ko" ] || [ ! -f "$work/out/drbd_transport_tcp.ko" ]; then
		rm -rf "$work"
		lab_die "the DRBD 9 module build made no drbd.ko or drbd_transport_tcp.ko (log: $LAB_LOGS/drbd9-build.log)"
	fi
	modinfo -F version "$work/out/drbd.ko" >"$work/out/version"
	rm -rf "$dir"
	mv "$work/out" "$dir"
	rm -rf "$work"
	local secs
	secs=$(lab_since "$t")
	lab_log "DRBD $(cat "$dir/version") modules built in ${secs}s: $dir"
	lab_metric drbd9_module_build_s "$secs"
}

# install_drbd9 puts the DRBD 9 modules under the rootfs's /lib/modules/KV/updates/, where
# modprobe prefers them to the kernel's own DRBD 8.4, and checks that it does.
install_drbd9() {
	local rootfs=$1 mods=$2 dep
	install -d "$rootfs/lib/modules/$KV/updates"
	install -m644 "$mods"/*.ko "$rootfs/lib/modules/$KV/updates/"
	depmod -b "$rootfs" "$KV"
	dep=$(modprobe -d "$rootfs" -S "$KV" --show-depends drbd_transport_tcp)
	grep -q "/updates/drbd.ko" <<<"$dep" ||
		lab_die "modprobe drbd would not load the DRBD 9 module from updates/: $dep"
}

customize_rootfs() {
	local r=$1
	install -d -m700 "$r/root/.ssh"
	install -m600 "$LAB_KEY.pub" "$r/root/.ssh/authorized_keys"
	# Host keys are generated per node at first boot by lab-init (never shared between nodes).
	rm -f "$r"/etc/ssh/ssh_host_*
	cat >"$r/etc/ssh/sshd_config.d/lab.conf" <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
MaxSessions 64
MaxStartups 64:30:128
EOF
	cat >"$r/etc/hosts" <<'EOF'
127.0.0.1 localhost
169.254.77.1 node1
169.254.77.2 node2
EOF
	echo node0 >"$r/etc/hostname"
	: >"$r/etc/fstab"
	if [ "$LAB_DRBD" = 9 ]; then
		install -m644 "$LAB_SRC/guest/pc0-drbd9.res" "$r/etc/drbd.d/pc0.res"
	else
		install -m644 "$LAB_SRC/guest/pc0.res" "$r/etc/drbd.d/pc0.res"
	fi
	install -m755 "$LAB_SRC/guest/lab-init" "$r/sbin/lab-init"
	install -m755 "$LAB_SRC/guest/chef-server-ctl" "$r/usr/bin/chef-server-ctl"
	mkdir -p "$r/var/opt/opscode/drbd/data"
	# Smaller image: no docs, man pages or cached packages.
	rm -rf "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/locale/* \
		"$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*_Packages
}

build_initrd() {
	local rootfs=$1 out=$2 d m order="" seen="" f b
	d=$LAB_DIR/build/initrd.d
	rm -rf "$d"
	mkdir -p "$d"/{bin,dev,proc,sys,newroot,lib/modules}
	cp /usr/bin/busybox "$d/bin/busybox"
	ln -s busybox "$d/bin/sh"
	# Modules to mount the ext4 root on virtio-blk, in dependency order.
	for m in virtio_pci virtio_blk crc32c_generic ext4; do
		order+=" $(modprobe -d "$rootfs" -S "$KV" --show-depends "$m" | awk '$1=="insmod"{print $2}')"
	done
	: >"$d/lib/modules/order"
	for f in $order; do
		b=$(basename "$f")
		case " $seen " in *" $b "*) continue ;; esac
		seen+=" $b"
		cp "$f" "$d/lib/modules/$b"
		echo "$b" >>"$d/lib/modules/order"
	done
	cat >"$d/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m 2>/dev/null; done
root=/dev/vda; init=/sbin/init
for a in $(cat /proc/cmdline); do case $a in root=*) root=${a#root=};; init=*) init=${a#init=};; esac; done
i=0; while [ ! -b $root ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
mount -t ext4 -o rw $root /newroot || { echo "LAB-INITRD-FAILED cannot mount $root" >/dev/console; exec sh; }
mount --move /dev /newroot/dev; umount /proc /sys
exec switch_root /newroot $init
EOF
	chmod +x "$d/init"
	(cd "$d" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
}

build() {
	local t h stage tree ktree
	t=$(lab_now)
	preflight
	h=$(input_hash)
	DRBD9_MODS=""
	[ "$LAB_DRBD" != 9 ] || drbd9_modules
	stage=$LAB_DIR/build
	rm -rf "$stage"
	mkdir -p "$stage/out"
	tree=$(debootstrap_tree)
	ktree=$(kernel_tree)
	lab_log "assembling rootfs (kernel $KV, DRBD $LAB_DRBD)"
	cp -a "$tree" "$stage/rootfs"
	install_modules "$stage/rootfs" "$ktree"
	[ -z "$DRBD9_MODS" ] || install_drbd9 "$stage/rootfs" "$DRBD9_MODS"
	customize_rootfs "$stage/rootfs"
	build_initrd "$stage/rootfs" "$stage/out/initrd.img"
	cp "$ktree/boot/vmlinuz-$KV" "$stage/out/vmlinuz"
	# mkfs.ext4 -d fills the image from the tree: no loop devices, no mounts.
	mkfs.ext4 -q -F -L labroot -E root_owner=0:0 -d "$stage/rootfs" "$stage/out/base.raw" 1G >/dev/null
	echo "$h" >"$stage/out/inputs.sha256"
	# Swap in the new images only when complete; running VMs keep their open files.
	rm -rf "$LAB_IMAGES.old"
	[ ! -d "$LAB_IMAGES" ] || mv "$LAB_IMAGES" "$LAB_IMAGES.old"
	mv "$stage/out" "$LAB_IMAGES"
	rm -rf "$LAB_IMAGES.old" "$stage"
	local secs
	secs=$(lab_since "$t")
	lab_log "image built in ${secs}s: $(du -sh --apparent-size "$LAB_IMAGES/base.raw" | cut -f1) apparent, $(du -sh "$LAB_IMAGES/base.raw" | cut -f1) allocated"
	lab_metric image_build_s "$secs"
}

main() {
	local mode=${1:-build}
	case $mode in
	-h | --help)
		sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
		return 0
		;;
	build | --force | --check | --print-hash) ;;
	*)
		sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
		return 2
		;;
	esac
	mkdir -p "$LAB_DIR" "$LAB_CACHE" "$LAB_LOGS"
	ensure_client_key
	KV=$(lab_kernel_version)
	[ "$LAB_DRBD" != 9 ] || drbd9_preflight
	case $mode in
	--print-hash) input_hash ;;
	--check) up_to_date ;;
	--force) build ;;
	build)
		if up_to_date; then
			lab_log "images up to date ($(cut -c1-12 "$LAB_IMAGES/inputs.sha256"), kernel $KV, DRBD $LAB_DRBD)"
		else
			build
		fi
		;;
	esac
}

# One build at a time per lab directory.
mkdir -p "$LAB_DIR"
exec 9>"$LAB_DIR/build.lock"
flock 9
main "$@"
