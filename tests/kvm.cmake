# The kvm backend (issue 5).  Its suites are the ones of the other backends
# (host_test, seal_test, edl_roundtrip_test, hello), registered again in
# their own .cmake files with ADY_KVM_TEST_ENV and wrapped in need_kvm.sh,
# which exits 77 (skipped) with the reason where /dev/kvm does not work.
set(ADY_NEED_KVM sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/need_kvm.sh)
set(ADY_KVM_TEST_ENV ${ADY_PROCESS_TEST_ENV})
list(FILTER ADY_KVM_TEST_ENV EXCLUDE REGEX "^ADYTON_BACKEND=")
list(APPEND ADY_KVM_TEST_ENV "ADYTON_BACKEND=kvm" "ADYTON_KVM_HOST=$<TARGET_FILE:adyton-kvm-host>")

# kvm_test: the guest memory plan and page tables (no KVM needed), the same
# MRENCLAVE on every backend, and isolation (needs /dev/kvm; those cases
# skip without it).
ady_unit_test(kvm_test adyton::host)
add_dependencies(kvm_test testenc-signed adyton-kvm-host)
set_tests_properties(kvm_test PROPERTIES LABELS integration TIMEOUT 240 ENVIRONMENT "${ADY_KVM_TEST_ENV}")

# The vCPUs wait for calls in guest mode (switchless) by default; the same
# suites with a VM exit per call (ADY_OPEN_EXIT_PER_CALL), where the host
# thread waits instead: both serve loops, every kind of stop in both.
add_test(NAME kvm_exits_test_kvm COMMAND $<TARGET_FILE:kvm_test>)
set_tests_properties(kvm_exits_test_kvm PROPERTIES LABELS integration TIMEOUT 240 SKIP_RETURN_CODE 77
  ENVIRONMENT "${ADY_KVM_TEST_ENV};ADYTON_KVM_EXIT_PER_CALL=1")
add_test(NAME host_exits_test_kvm COMMAND ${ADY_NEED_KVM} $<TARGET_FILE:host_test>)
set_tests_properties(host_exits_test_kvm PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77
  ENVIRONMENT "${ADY_KVM_TEST_ENV};ADYTON_KVM_EXIT_PER_CALL=1")

# Switchless means no VM exit per call: KVM's own exit counter during
# back-to-back calls, switchless against exit-per-call.  Alone (the counter
# is machine-wide); root and debugfs, as in the nested guest.
ady_unit_test(kvm_switchless_test adyton::host)
add_dependencies(kvm_switchless_test testenc-signed adyton-kvm-host)
set_tests_properties(kvm_switchless_test PROPERTIES LABELS integration TIMEOUT 240 RUN_SERIAL TRUE
  ENVIRONMENT "${ADY_KVM_TEST_ENV}")

# host_stop_test: an idle enclave host stopped and continued goes on
# serving (issue 11 item 8: the resumed wait under seccomp), on the process
# backend and, where it works, on kvm.
ady_unit_test(host_stop_test adyton::host)
add_dependencies(host_stop_test testenc-signed adyton-kvm-host)
set_tests_properties(host_stop_test PROPERTIES LABELS integration TIMEOUT 60 ENVIRONMENT "${ADY_PROCESS_TEST_ENV}")
add_test(NAME host_stop_test_kvm COMMAND ${ADY_NEED_KVM} $<TARGET_FILE:host_stop_test>)
set_tests_properties(host_stop_test_kvm PROPERTIES LABELS integration TIMEOUT 60 SKIP_RETURN_CODE 77
  ENVIRONMENT "${ADY_KVM_TEST_ENV}")

# Every kvm suite also runs inside scripts/vm-test.sh's software-emulated
# guest (.ci/run), 15-20x slower than native: their time limits, set by
# each area's own file, are raised once all are defined (the TPM quote
# suite, swtpm's key generation above all, took 760 s there on a busy
# machine; the others at most 75 s).
function(ady_kvm_timeouts)
  get_property(all DIRECTORY PROPERTY TESTS)
  foreach(t IN LISTS all)
    if(t MATCHES "quote_test_kvm$")
      set_tests_properties(${t} PROPERTIES TIMEOUT 1500)
    elseif(t MATCHES "_kvm$|^kvm_test$")
      set_tests_properties(${t} PROPERTIES TIMEOUT 600)
    endif()
  endforeach()
endfunction()
cmake_language(DEFER CALL ady_kvm_timeouts)
