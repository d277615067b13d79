# Attested TLS (issue 7 part 4): the enclave-side certificate encoder and
# the host verifier without an enclave, then the RA-TLS demo end to end on
# the process backend through a private adytond.
ady_unit_test(ratls_test adyton-verify adyton-platform OpenSSL::Crypto)

add_executable(ratls_client ${CMAKE_CURRENT_SOURCE_DIR}/integration/ratls_client.c)
target_link_libraries(ratls_client PRIVATE adyton-verify)
ady_host_target(ratls_client)

get_target_property(_ady_ratls_signed ratls-demo-enclave ADYTON_SIGNED)
ady_integration_test(ratls_e2e_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/ratls_test.sh
  $<TARGET_FILE:ratls-demo> ${_ady_ratls_signed} $<TARGET_FILE:ratls_client>)
set_property(TEST ratls_e2e_test APPEND PROPERTY ENVIRONMENT
  "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>")
set_tests_properties(ratls_e2e_test PROPERTIES TIMEOUT 300)

# The shared enclave-side TLS close (adyton/sockio_enclave.h) does not wait
# on a peer that holds the connection open.
ady_integration_test(sockio_close_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/sockio_close_test.sh
  $<TARGET_FILE:ratls-demo> ${_ady_ratls_signed})
set_property(TEST sockio_close_test APPEND PROPERTY ENVIRONMENT
  "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>")
set_tests_properties(sockio_close_test PROPERTIES TIMEOUT 120)

# Both halves of adyton/sockio.edl: libadyton's OCALLs, and the enclave's
# BearSSL I/O (src/trts/sockio.c, built for the host with stub OCALLs).
ady_unit_test(sockio_test adyton::host)
ady_unit_test(sockio_listen_test adyton::host)
ady_unit_test(sockio_enclave_test "${BEARSSL_STATIC}")
target_include_directories(sockio_enclave_test PRIVATE ${PROJECT_SOURCE_DIR}/include ${BEARSSL_INCLUDE_DIR})
