# The TPM root of trust (issue 7 part 1), with swtpm (skipped when absent):
# the TPM-sealed root key across restarts and TPMs, and TPM-certified quotes
# verified offline.  Private swtpm instances and daemons per test.
get_target_property(_ady_tpm_seal_a seal_a ADYTON_SIGNED)
ady_integration_test(tpm_root_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/tpm_root_test.sh ${_ady_tpm_seal_a})
ady_integration_test(tpm_quote_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/tpm_quote_test.sh ${_ady_attest_prod})
ady_integration_test(tpm_pcr_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/tpm_pcr_test.sh)
foreach(t tpm_root_test tpm_quote_test tpm_pcr_test)
  set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT
    "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>")
  set_tests_properties(${t} PROPERTIES TIMEOUT 300)
endforeach()
ady_integration_test(tpm_quote_test_kvm ${ADY_NEED_KVM} ${CMAKE_CURRENT_SOURCE_DIR}/integration/tpm_quote_test.sh
  ${_ady_attest_prod})
set_property(TEST tpm_quote_test_kvm APPEND PROPERTY ENVIRONMENT "ADY_TEST_BACKEND=kvm"
  "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>"
  "ADYTON_KVM_HOST=$<TARGET_FILE:adyton-kvm-host>")
set_tests_properties(tpm_quote_test_kvm PROPERTIES TIMEOUT 300)
