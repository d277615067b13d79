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
ady_unit_test(kvm_test adyton::host adyton-kvm-plan)
add_dependencies(kvm_test testenc-signed adyton-kvm-host)
set_tests_properties(kvm_test PROPERTIES LABELS integration TIMEOUT 240 ENVIRONMENT "${ADY_KVM_TEST_ENV}")
