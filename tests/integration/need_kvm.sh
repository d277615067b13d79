#!/bin/sh
# Runs the command given only where the kvm backend can run: /dev/kvm a
# character device this user can open read/write, whose KVM runs the
# backend's guest (adyton-kvm-host --probe: long mode, SSE/AVX/AES-NI,
# exceptions, port I/O; a paravirtualized-only KVM cannot).  Otherwise
# exits 77 (CTest: skipped) and says why, so such a machine skips the kvm
# suites instead of failing them.  ADYTON_KVM_HOST names adyton-kvm-host.
if [ ! -c /dev/kvm ]; then
	echo "SKIP: /dev/kvm is absent (no hardware virtualization here); the kvm backend is not tested" >&2
	exit 77
fi
if ! { exec 9<>/dev/kvm; } 2>/dev/null; then
	echo "SKIP: /dev/kvm exists but cannot be opened read/write by $(id -un)" >&2
	exit 77
fi
exec 9>&-
if [ -z "${ADYTON_KVM_HOST:-}" ] || [ ! -x "$ADYTON_KVM_HOST" ]; then
	echo "need_kvm.sh: ADYTON_KVM_HOST does not name adyton-kvm-host" >&2
	exit 1
fi
if ! why=$("$ADYTON_KVM_HOST" --probe 2>&1); then
	echo "SKIP: /dev/kvm: $why" >&2
	exit 77
fi
exec "$@"
