#!/bin/bash
# scripts/vm-test.sh BUILD_DIR COMMAND [ARG...]
#
# Runs COMMAND in BUILD_DIR, as root, inside a virtual machine that has a
# working /dev/kvm, on any x86-64 Linux machine, with or without KVM of its
# own: QEMU emulates (TCG, -cpu max: SVM with nested paging) a machine that
# boots Debian 12's generic kernel, which loads kvm_amd nested=1.  This is
# how the kvm backend's suites run in CI (.ci/run).  Exits with COMMAND's
# exit code; 124 when the run timed out, 125 when the guest never ran it.
#
# The guest's / is the host's / (virtio-9p, read-only) under a tmpfs
# overlay: every host path (this tree, the build tree, /usr) is there,
# writable, and the writes are gone at power off.
#
# The first run takes the kernel package (apt-get download, dpkg-deb -x:
# nothing is installed) and builds a busybox initramfs with the virtio, 9p,
# overlay and KVM modules, both kept in ADY_VM_CACHE.  Needs qemu-system-x86,
# busybox-static, kmod, cpio (scripts/deps.sh).
#
# Environment:
#   ADY_VM_CACHE    kernel and initramfs (default ${XDG_CACHE_HOME:-~/.cache}/adyton-vm)
#   ADY_VM_SMP      guest CPUs, each one host thread (default: the host's, at most 2)
#   ADY_VM_MEM      guest memory (default 3G); ADY_VM_TMPFS its overlay (default 2G)
#   ADY_VM_TIMEOUT  seconds for everything, boot included (default 1800)
#   ADY_VM_KVM_AMD  kvm_amd options (default nested=1; keep npt: npt=0 locks up under load)
#   ADY_VM_CONSOLE  1: show the whole console (firmware, kernel), not only the command's
#   ADY_VM_APPEND   more kernel command line (e.g. loglevel=7 to see a lockup's stack)
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -lt 2 ]; then
	sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
fi
build=$(cd "$1" && pwd) || exit 2
shift
for tool in qemu-system-x86_64 busybox modprobe depmod cpio dpkg-deb; do
	command -v "$tool" >/dev/null || { echo "vm-test: needs $tool (scripts/deps.sh)" >&2; exit 125; }
done
cache=${ADY_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/adyton-vm}
mkdir -p "$cache" || exit 125

# The kernel: the version linux-image-amd64 depends on now, unpacked.
kernel_tree() {
	local pkg deb
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	if [ -z "$pkg" ]; then
		# no package lists yet, or offline: take what the cache has
		ls -d "$cache"/linux-image-*/ 2>/dev/null | tail -1 | sed 's:/$::'
		return
	fi
	if [ ! -d "$cache/$pkg/lib/modules" ]; then
		(cd "$cache" && rm -f "$pkg"_*.deb && apt-get download -q "$pkg") >&2 || return 1
		deb=$(ls "$cache/$pkg"_*.deb | head -1)
		rm -rf "$cache/$pkg.tmp" && dpkg-deb -x "$deb" "$cache/$pkg.tmp" && mv "$cache/$pkg.tmp" "$cache/$pkg" &&
			rm -f "$deb" || return 1
	fi
	echo "$cache/$pkg"
}

# The initramfs: busybox, vm-test-init, and the modules with their
# dependencies in load order; rebuilt when the kernel or the init changes.
initramfs() {
	local kdir=$1 kver out root m ko name
	kver=$(ls "$kdir/lib/modules" | head -1)
	out="$cache/initramfs-$kver-$(sha256sum "$here/vm-test-init" | cut -c1-12).cpio.gz"
	if [ ! -f "$out" ]; then
		root=$(mktemp -d) || return 1
		mkdir -p "$root/bin" "$root/lib/modules" "$root/proc" "$root/sys" "$root/dev"
		cp "$(command -v busybox)" "$root/bin/busybox"
		for name in $("$root/bin/busybox" --list); do
			[ "$name" = busybox ] || ln -s busybox "$root/bin/$name"
		done
		install -m 755 "$here/vm-test-init" "$root/init"
		[ -s "$kdir/lib/modules/$kver/modules.dep" ] || depmod -b "$kdir" "$kver"
		: >"$root/lib/modules/order"
		for m in virtio_pci virtio_net 9pnet_virtio 9p overlay kvm_amd kvm_intel; do
			modprobe -d "$kdir" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}' |
				while read -r ko; do
					name=$(basename "$ko" .ko | tr - _)
					grep -qx "$name" "$root/lib/modules/order" && continue
					cp "$ko" "$root/lib/modules/$name.ko"
					echo "$name" >>"$root/lib/modules/order"
				done
		done
		(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$out.tmp" && mv "$out.tmp" "$out"
		rm -rf "$root"
	fi
	echo "$out"
}

kdir=$(kernel_tree) && [ -n "$kdir" ] || { echo "vm-test: no kernel (apt-get download failed?)" >&2; exit 125; }
initrd=$(initramfs "$kdir") || { echo "vm-test: initramfs failed" >&2; exit 125; }
vmlinuz=$(ls "$kdir"/boot/vmlinuz-* | head -1)

job=$(mktemp -d "${TMPDIR:-/tmp}/adyton-vm.XXXXXX") || exit 125
trap 'rm -rf "$job"' EXIT
# (bash in the guest, as here: printf %q may quote in bash's $'...' form)
{
	printf 'cd %q || exit 125\n' "$build"
	printf 'exec'
	printf ' %q' "$@"
	echo
} >"$job/run.sh"

smp=${ADY_VM_SMP:-$(($(nproc) < 2 ? 1 : 2))}
append="console=ttyS0 quiet loglevel=3 panic=-1 vmtest.kvm_amd=${ADY_VM_KVM_AMD:-nested=1}"
append="$append vmtest.kvm_intel=nested=1 vmtest.tmpfs=${ADY_VM_TMPFS:-2G} ${ADY_VM_APPEND:-}"
start=$(date +%s)
timeout -k 10 "${ADY_VM_TIMEOUT:-1800}" qemu-system-x86_64 -machine q35,accel=tcg -cpu max -smp "$smp" \
	-m "${ADY_VM_MEM:-3G}" -nodefaults -no-user-config -display none -no-reboot -serial stdio -monitor none \
	-kernel "$vmlinuz" -initrd "$initrd" -append "$append" \
	-virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$job,mount_tag=job,security_model=none" </dev/null 2>&1 |
	if [ "${ADY_VM_CONSOLE:-0}" = 1 ]; then cat; else
		# From the harness's first line on, line by line as it comes;
		# QEMU's 9p server refuses the host's sockets and FIFOs and says
		# so for each: noise.
		on=0
		while IFS= read -r line; do
			case $line in
			*"attempt to open special file"* | *"reboot: Power down"*) continue ;;
			vm-test:*) on=1 ;;
			esac
			[ $on = 1 ] && printf '%s\n' "$line"
		done
	fi
qrc=${PIPESTATUS[0]}
if [ -s "$job/rc" ]; then
	rc=$(cat "$job/rc")
	echo "vm-test: exit code $rc, $(($(date +%s) - start)) s in all"
	exit "$rc"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "vm-test: timed out after ${ADY_VM_TIMEOUT:-1800} s" >&2
	exit 124
fi
echo "vm-test: the guest did not run the command (qemu exit $qrc); ADY_VM_CONSOLE=1 shows why" >&2
exit 125
