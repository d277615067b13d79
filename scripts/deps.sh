#!/bin/sh
# Installs the Debian 12 packages adyton needs to build, test and fuzz
# (qemu-system-x86, busybox-static, cpio, kmod: scripts/vm-test.sh, the
# nested-KVM guest the kvm suites run in).
# Idempotent: installs only what is missing.  Needs root (or sudo).
set -eu

PKGS="build-essential cmake pkg-config python3 openssl xxd
libssl-dev libbearssl-dev libcmocka-dev libseccomp-dev
clang llvm libclang-rt-14-dev
nbdkit nbdkit-plugin-dev libnbd-bin python3-libnbd cryptsetup-bin fuse3 e2fsprogs
libtss2-dev swtpm swtpm-tools tpm2-tools
libjansson-dev libpcre2-dev
libsqlite3-dev libpq-dev postgresql
qemu-system-x86 busybox-static cpio kmod
libmicrohttpd-dev prometheus python3-jsonschema
nginx curl"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
