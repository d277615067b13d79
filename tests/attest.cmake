# Remote attestation (issue 7): the quote format, the verifier policy, the
# QUOTE/QUOTED messages, the verifier library, and quotes end to end.
ady_unit_test(quote_format_test adyton-format)
ady_unit_test(verify_quote_test adyton-verify adyton-platform OpenSSL::Crypto)

# The attestation test enclave, production and DEBUG; signed with the
# committed test key (MRSIGNER shared with the other test enclaves).
foreach(v prod dbg)
  adyton_add_enclave(attest_${v}
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/attest_enc.c
    CONFIG ${CMAKE_CURRENT_SOURCE_DIR}/integration/attest_${v}.conf
    KEY ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/test-signing.pem)
endforeach()
get_target_property(_ady_attest_prod attest_prod ADYTON_SIGNED)
get_target_property(_ady_attest_dbg attest_dbg ADYTON_SIGNED)

# Quotes through a private adytond on the process backend, verified by
# `adyton verify-quote` with only the quote, the policy and the pinned key;
# every negative case; provisioning policy and its SIGHUP reload.
ady_integration_test(attest_quote_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/attest_quote_test.sh
  ${_ady_attest_prod} ${_ady_attest_dbg})
set_property(TEST attest_quote_test APPEND PROPERTY ENVIRONMENT
  "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>")
set_tests_properties(attest_quote_test PROPERTIES TIMEOUT 300)

# The same on kvm (issue 5's backend), where /dev/kvm works.
ady_integration_test(attest_quote_test_kvm ${ADY_NEED_KVM} ${CMAKE_CURRENT_SOURCE_DIR}/integration/attest_quote_test.sh
  ${_ady_attest_prod} ${_ady_attest_dbg})
set_property(TEST attest_quote_test_kvm APPEND PROPERTY ENVIRONMENT "ADY_TEST_BACKEND=kvm"
  "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>"
  "ADYTON_KVM_HOST=$<TARGET_FILE:adyton-kvm-host>")
set_tests_properties(attest_quote_test_kvm PROPERTIES TIMEOUT 300)

# `adyton quote` (the shipped quote enclave) -> `adyton verify-quote
# --report-data` on the process backend through a private adytond (issue 11
# item 2); also from an installed tree (cmake --install into a temp dir).
ady_integration_test(attest_report_data_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/attest_report_data_test.sh)
set_property(TEST attest_report_data_test APPEND PROPERTY ENVIRONMENT
  "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>")
set_tests_properties(attest_report_data_test PROPERTIES TIMEOUT 300)
