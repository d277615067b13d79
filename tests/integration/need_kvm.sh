#!/bin/sh
# Runs the command given only where KVM works: /dev/kvm a character device
# this user can open read/write.  Otherwise exits 77 (CTest: skipped) and
# says why, so a machine without virtualization skips the kvm suites
# instead of failing them.
if [ ! -c /dev/kvm ]; then
	echo "SKIP: /dev/kvm is absent (no hardware virtualization here); the kvm backend is not tested" >&2
	exit 77
fi
if ! { exec 9<>/dev/kvm; } 2>/dev/null; then
	echo "SKIP: /dev/kvm exists but cannot be opened read/write by $(id -un)" >&2
	exit 77
fi
exec 9>&-
exec "$@"
