# Keys, sealing, local attestation and randomness (issue 4: runtime APIs,
# the platform's EGETKEY/EREPORT, the sealed-blob format).
ady_unit_test(sealed_test adyton-format)
# derive_test includes src/platform/derive.c itself to reach its HKDF helper.
ady_unit_test(derive_test adyton-format OpenSSL::Crypto)
# The platform exits' table (src/platform/exits.c).
ady_unit_test(platform_test adyton-platform)

# Test enclaves A, B, C: one source, all signed with the committed test key
# so that they share MRSIGNER; ISVPRODID 9.  A: variant 1, ISVSVN 2.
# B: variant 2 (other code, other MRENCLAVE), ISVSVN 3.  C: A's code (A's
# MRENCLAVE), ISVSVN 4.
foreach(v a b c)
  adyton_add_enclave(seal_${v}
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/seal_enc.c
    CONFIG ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/seal_${v}.conf
    KEY ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/test-signing.pem)
endforeach()
target_compile_definitions(seal_a PRIVATE SEAL_VARIANT=1)
target_compile_definitions(seal_b PRIVATE SEAL_VARIANT=2)
target_compile_definitions(seal_c PRIVATE SEAL_VARIANT=1)

# One suite per backend (ADYTON_BACKEND), as host_test.
ady_unit_test(seal_test adyton::host)
add_dependencies(seal_test seal_a-signed seal_b-signed seal_c-signed)
set_tests_properties(seal_test PROPERTIES ENVIRONMENT "ADYTON_BACKEND=sim" TIMEOUT 300)

# The same suite through adytond on the process backend.
add_test(NAME seal_test_process COMMAND seal_test)
set_tests_properties(seal_test_process PROPERTIES LABELS integration TIMEOUT 300
  ENVIRONMENT "${ADY_PROCESS_TEST_ENV}")

# Sealed data survives a daemon restart and stays shut under another root.
ady_unit_test(seal_restart_test adyton::host)
add_dependencies(seal_restart_test seal_a-signed)
set_tests_properties(seal_restart_test PROPERTIES LABELS integration TIMEOUT 120
  ENVIRONMENT "${ADY_PROCESS_TEST_ENV}")

# The same suite on the kvm backend (tests/kvm.cmake): skipped where
# /dev/kvm does not work.  seal_restart_test is not registered for kvm: it
# opens its enclaves with ADY_BACKEND_PROCESS explicitly.
add_test(NAME seal_test_kvm COMMAND ${ADY_NEED_KVM} $<TARGET_FILE:seal_test>)
set_tests_properties(seal_test_kvm PROPERTIES LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77
  ENVIRONMENT "${ADY_KVM_TEST_ENV}")

# adytond's state files (root.key, attest.key): planted, damaged or foreign
# ones refused with the reason; restored ones give the same keys back.
ady_integration_test(daemon_state_test sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/daemon_state_test.sh)
set_property(TEST daemon_state_test APPEND PROPERTY ENVIRONMENT "ADYTON_DAEMON=$<TARGET_FILE:adytond>")
