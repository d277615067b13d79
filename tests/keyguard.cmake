# The key guard (apps/keyguard, issue 6).
ady_unit_test(keyguard_crypto_test keyguard-crypto OpenSSL::Crypto)
ady_unit_test(luks1_test adyton-format)

# Helper for keyguard_plain_test.sh: OpenSSL's aes-256-xts over a file.
add_executable(keyguard_xts_decrypt ${CMAKE_CURRENT_SOURCE_DIR}/unit/keyguard_xts_decrypt.c)
target_link_libraries(keyguard_xts_decrypt PRIVATE OpenSSL::Crypto)
ady_host_target(keyguard_xts_decrypt)

# Integration tests: nbdkit with the filter on the process backend.  With
# sanitizers the filter needs the ASan runtime preloaded into nbdkit.
set(_kg_env ${ADY_PROCESS_TEST_ENV}
  "KG_TOOL=$<TARGET_FILE:adyton-keyguard>"
  "KG_ENCLAVE=${KG_ENCLAVE_SIGNED}"
  "KG_FILTER=${KG_FILTER}"
  "KG_XTS_DECRYPT=$<TARGET_FILE:keyguard_xts_decrypt>"
  "ADYTON=$<TARGET_FILE:adyton>"
  "ADY_BINARY_DIR=${PROJECT_BINARY_DIR}")
if(ADYTON_SANITIZE)
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so OUTPUT_VARIABLE _kg_asan
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  # use_sigaltstack=0: with ASan preloaded into (uninstrumented) nbdkit,
  # libsanitizer's own thread teardown (UnsetAlternateSignalStack) reports
  # a stack-buffer-overflow in sigaltstack and aborts nbdkit when a worker
  # thread exits, e.g. after a refused connection (keyguard_volume_test).
  list(APPEND _kg_env "KG_ASAN_PRELOAD=${_kg_asan}" "ASAN_OPTIONS=detect_leaks=0:use_sigaltstack=0")
endif()
foreach(t e2e luks seal plain attest cli nbd volume install)
  ady_integration_test(keyguard_${t}_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/keyguard_${t}_test.sh)
  set_tests_properties(keyguard_${t}_test PROPERTIES ENVIRONMENT "${_kg_env}" TIMEOUT 300 RUN_SERIAL TRUE)
endforeach()
