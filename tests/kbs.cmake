# The key broker (issue 16): adyton-kbs, ady_kbs_fetch() and the relay, on
# the process backend through a private adytond and a private broker.
ady_unit_test(kbs_store_test adyton-kbs-store ady-test-state)
# The enclave's configuration parser, built for the host, against the
# broker's validator.
ady_unit_test(kbs_config_test adyton-kbs-msg)
target_sources(kbs_config_test PRIVATE ${PROJECT_SOURCE_DIR}/src/trts/kbs_config.c)
foreach(v prod dbg)
  adyton_add_enclave(kbs_enc_${v}
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/kbs_enc.c
    CONFIG ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/kbs_${v}.conf
    KEY ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/test-signing.pem
    EDL ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/kbs_enc.edl
    EDL_SEARCH_PATHS ${ADY_KBS_EDL_DIR})
endforeach()
get_target_property(_ady_kbs_prod kbs_enc_prod ADYTON_SIGNED)
get_target_property(_ady_kbs_dbg kbs_enc_dbg ADYTON_SIGNED)

add_executable(kbs_app ${CMAKE_CURRENT_SOURCE_DIR}/integration/kbs_app.c)
adyton_edl_untrusted(kbs_app ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/kbs_enc.edl SEARCH_PATHS ${ADY_KBS_EDL_DIR})
target_link_libraries(kbs_app PRIVATE adyton::host adyton-kbs-relay OpenSSL::Crypto)
ady_host_target(kbs_app)
add_dependencies(kbs_app kbs_enc_prod-signed kbs_enc_dbg-signed)

# Releases and every refusal (audit log), the relay never sees the
# plaintext, malformed messages, the admin credential.
ady_integration_test(kbs_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/kbs_test.sh
  $<TARGET_FILE:adyton-kbs> $<TARGET_FILE:kbs_app> ${_ady_kbs_prod} ${_ady_kbs_dbg})
set_property(TEST kbs_test APPEND PROPERTY ENVIRONMENT
  "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>")
set_tests_properties(kbs_test PROPERTIES TIMEOUT 300)

# The broker's message parser under libFuzzer (-DADYTON_FUZZ=ON, clang),
# as tests/fuzz.cmake runs the others.
if(ADYTON_FUZZ)
  add_executable(fuzz_kbs_msg ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_kbs_msg.c ${ADY_FORMAT_SOURCES})
  target_include_directories(fuzz_kbs_msg PRIVATE ${PROJECT_SOURCE_DIR}/include)
  target_compile_options(fuzz_kbs_msg PRIVATE ${ADY_FUZZ_FLAGS})
  target_link_options(fuzz_kbs_msg PRIVATE ${ADY_FUZZ_FLAGS})
  set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz-work/fuzz_kbs_msg)
  file(MAKE_DIRECTORY ${work}/corpus)
  add_test(NAME fuzz_kbs_msg
    COMMAND fuzz_kbs_msg -max_total_time=${ADY_FUZZ_TIME} -timeout=5 -rss_limit_mb=2048
            -artifact_prefix=${work}/ ${work}/corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/fuzz_kbs_msg
    WORKING_DIRECTORY ${work})
  set_tests_properties(fuzz_kbs_msg PROPERTIES LABELS fuzz TIMEOUT 120)
endif()

# The same suites on a real PostgreSQL, started by the test (initdb, pg_ctl)
# in a temporary directory on a UNIX socket.
ady_integration_test(kbs_pg_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/kbs_pg_test.sh
  $<TARGET_FILE:kbs_store_test> ${CMAKE_CURRENT_SOURCE_DIR}/integration/kbs_test.sh
  $<TARGET_FILE:adyton-kbs> $<TARGET_FILE:kbs_app> ${_ady_kbs_prod} ${_ady_kbs_dbg})
set_property(TEST kbs_pg_test APPEND PROPERTY ENVIRONMENT
  "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>")
set_tests_properties(kbs_pg_test PROPERTIES TIMEOUT 300 RESOURCE_LOCK kbs_pg)

# adyton run --config-from: an enclave whose argv/env/files come only from
# the broker.  Its EDL is apps/kbs/adyton_kbs_run.edl, the run tool's.
adyton_add_enclave(kbs_run_enc
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/kbs_run_enc.c
  CONFIG ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/kbs_prod.conf
  KEY ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/test-signing.pem
  EDL ${ADY_KBS_EDL_DIR}/adyton_kbs_run.edl
  EDL_SEARCH_PATHS ${ADY_KBS_EDL_DIR})
get_target_property(_ady_kbs_run kbs_run_enc ADYTON_SIGNED)
ady_integration_test(kbs_run_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/kbs_run_test.sh
  $<TARGET_FILE:adyton-kbs> ${_ady_kbs_run})
set_property(TEST kbs_run_test APPEND PROPERTY ENVIRONMENT
  "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>")
set_tests_properties(kbs_run_test PROPERTIES TIMEOUT 300)

# TLS (kbs+tls://, a pinned CA; the TCP stream captured through a proxy
# holds no plaintext), the challenge rate limit and the connection caps,
# and run --config-from over TLS.
ady_integration_test(kbs_net_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/kbs_net_test.sh
  $<TARGET_FILE:adyton-kbs> $<TARGET_FILE:kbs_app> ${_ady_kbs_prod} ${_ady_kbs_run})
set_property(TEST kbs_net_test APPEND PROPERTY ENVIRONMENT
  "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>")
set_tests_properties(kbs_net_test PROPERTIES TIMEOUT 300)

# A resource's host requirement: the broker reads the gate's hosts table
# (adyton-kbs serve --gate-state).
ady_integration_test(kbs_gate_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/kbs_gate_test.sh
  $<TARGET_FILE:adyton-kbs> $<TARGET_FILE:kbs_app> ${_ady_kbs_prod} $<TARGET_FILE:adyton-gate>)
set_property(TEST kbs_gate_test APPEND PROPERTY ENVIRONMENT
  "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>")
set_tests_properties(kbs_gate_test PROPERTIES TIMEOUT 120)
