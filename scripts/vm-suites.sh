#!/bin/bash
# scripts/vm-suites.sh BUILD_DIR REGEX [LOG]
#
# Runs the ctest suites that match REGEX inside scripts/vm-test.sh's guest
# (nested KVM under QEMU's software emulation) and requires every one of
# them to run and pass there: a skip is a failure.  This is .ci/run's kvm
# step.
#
# The emulated machine is not perfectly reliable: in about one run in four,
# the guest's own kernel locked up with both CPUs stuck ("soft lockup",
# kthreadd and rcu_preempt) while two enclaves ran, and nothing in the
# guest ran again until the time limit.  So the guest kernel panics on a
# soft lockup (softlockup_panic=1) and powers off at once, and the suites
# that had not passed yet run again in a fresh guest, at most
# ADY_VM_ATTEMPTS times in all (default 3).  A suite that fails is run again
# the same way, and the log says so; the enclave-stop lines of the guest's
# test daemon are printed after each attempt.  The last line is the
# summary: "kvm suites in the nested guest: N of N passed ...".
#
# Environment: ADY_VM_ATTEMPTS, ADY_VM_TIMEOUT (per attempt, default 1500),
# and scripts/vm-test.sh's.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -lt 2 ]; then
	sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
fi
build=$(cd "$1" && pwd) || exit 2
regex=$2
log=${3:-$build/vm-suites.log}
attempts=${ADY_VM_ATTEMPTS:-3}

mapfile -t want < <(ctest --test-dir "$build" -N -R "$regex" | sed -n 's/^ *Test *#[0-9]*: \(.*\)$/\1/p')
if [ ${#want[@]} -eq 0 ]; then
	echo "vm-suites: no suite matches $regex in $build" >&2
	exit 1
fi
: >"$log"
declare -A passed=()
used=0
for ((n = 1; n <= attempts; n++)); do
	left=()
	for t in "${want[@]}"; do [ -n "${passed[$t]:-}" ] || left+=("$t"); done
	[ ${#left[@]} -eq 0 ] && break
	re="^($(IFS='|'; echo "${left[*]}"))\$"
	echo "== vm-suites: attempt $n of $attempts: ${#left[@]} suites: ${left[*]}" | tee -a "$log"
	# (A fresh test-daemon directory inside: the host's may hold a socket
	# of a daemon the guest cannot reach.)
	ADY_VM_TIMEOUT=${ADY_VM_TIMEOUT:-1500} ADY_VM_APPEND="${ADY_VM_APPEND:-} softlockup_panic=1" \
		"$here/vm-test.sh" "$build" sh -c 'rm -rf td && mkdir td
ctest -R "$1" --output-on-failure -j2; rc=$?
echo "== enclave stops in the guest test daemon log:"; grep -h "enclave stopped" td/adytond.log
exit $rc' sh "$re" 2>&1 | tee "$build/vm-attempt.log"
	rc=${PIPESTATUS[0]}
	used=$n
	cat "$build/vm-attempt.log" >>"$log"
	# "  3/10 Test  #3: host_stop_test_kvm ......   Passed    1.67 sec"
	while read -r t; do passed[$t]=1; done < <(sed -n 's/^ *[0-9]*\/[0-9]* Test *#[0-9]*: \([^ ]*\) \.*  *Passed .*/\1/p' "$build/vm-attempt.log")
	if grep -q "soft lockup\|Kernel panic" "$build/vm-attempt.log"; then
		echo "== vm-suites: attempt $n: the guest kernel locked up (exit $rc)" | tee -a "$log"
	elif [ "$rc" != 0 ]; then
		echo "== vm-suites: attempt $n: exit $rc" | tee -a "$log"
	fi
	if grep -Eq '\*\*\*Skipped|\*\*\*Not Run' "$build/vm-attempt.log"; then
		echo "vm-suites: a suite was skipped in the nested guest: its kvm must run there" | tee -a "$log" >&2
		exit 1
	fi
done
bad=()
for t in "${want[@]}"; do [ -n "${passed[$t]:-}" ] || bad+=("$t"); done
echo "kvm suites in the nested guest: $((${#want[@]} - ${#bad[@]})) of ${#want[@]} passed, in $used attempt(s)${bad:+; not passed: ${bad[*]}}" | tee -a "$log"
[ ${#bad[@]} -eq 0 ]
