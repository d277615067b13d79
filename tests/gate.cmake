# Host integrity for the gate (issue 14): the IMA log decoder (format
# layer), replay, Keylime runtime policies, host TPM quotes, the CLI.
# Real data come from the shared vectors (ima-qemu/, keylime/); tests that
# need them exit 77 when they are absent.
set(ADY_VECTORS_DIR "${PROJECT_SOURCE_DIR}/../shared/vectors" CACHE PATH
  "Shared test vectors (ima-qemu/, keylime/); tests needing them skip when absent")

ady_unit_test(ima_test adyton-format)
target_compile_definitions(ima_test PRIVATE ADY_TEST_VECTORS="${ADY_VECTORS_DIR}")

ady_unit_test(gate_test adyton-gate-host)
target_compile_definitions(gate_test PRIVATE ADY_TEST_VECTORS="${ADY_VECTORS_DIR}")
target_include_directories(gate_test PRIVATE ${PROJECT_SOURCE_DIR}/apps/gate)

ady_integration_test(gate_cli_test python3 ${CMAKE_CURRENT_SOURCE_DIR}/integration/gate_cli_test.py
  $<TARGET_FILE:adyton-gate> ${ADY_VECTORS_DIR})

if(ADYTON_FUZZ)
  # Same shape as fuzz.cmake's loop (kept here so parallel work does not
  # collide): instrumented sources, committed seeds read-only.
  function(ady_gate_fuzz target)
    add_executable(${target} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${target}.c ${ARGN})
    target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/include)
    target_compile_options(${target} PRIVATE ${ADY_FUZZ_FLAGS})
    target_link_options(${target} PRIVATE ${ADY_FUZZ_FLAGS})
    set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz-work/${target})
    file(MAKE_DIRECTORY ${work}/corpus)
    add_test(NAME ${target}
      COMMAND ${target} -max_total_time=${ADY_FUZZ_TIME} -timeout=5 -rss_limit_mb=2048
              -artifact_prefix=${work}/ ${work}/corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${target}
      WORKING_DIRECTORY ${work})
    set_tests_properties(${target} PROPERTIES LABELS fuzz TIMEOUT 120)
  endfunction()
  ady_gate_fuzz(fuzz_ima ${ADY_FORMAT_SOURCES})
  # The policy loader with its libraries; policy.c instrumented, the
  # format layer too (it decodes security.ima signatures).
  ady_gate_fuzz(fuzz_gate_policy ${PROJECT_SOURCE_DIR}/apps/gate/policy.c ${ADY_FORMAT_SOURCES})
  target_include_directories(fuzz_gate_policy PRIVATE ${PROJECT_SOURCE_DIR}/apps/gate)
  target_link_libraries(fuzz_gate_policy PRIVATE PkgConfig::JANSSON PkgConfig::PCRE2 OpenSSL::Crypto)
  # The agent's answer as serve decodes it (answer.c, wire.c's base64).
  ady_gate_fuzz(fuzz_gate_answer ${PROJECT_SOURCE_DIR}/apps/gate/answer.c ${PROJECT_SOURCE_DIR}/apps/gate/wire.c
    ${ADY_FORMAT_SOURCES})
  target_include_directories(fuzz_gate_answer PRIVATE ${PROJECT_SOURCE_DIR}/apps/gate)
  target_link_libraries(fuzz_gate_answer PRIVATE PkgConfig::JANSSON OpenSSL::SSL OpenSSL::Crypto)
endif()

# The enclave check and the CA (issue 14 items 3 and 5): the test enclave
# makes a key and a quote over it (production and DEBUG builds, the
# committed test signing key), adyton-gate issues, revokes and writes the
# CRL, and a real nginx (Debian's, started by the test) enforces them.
foreach(v prod dbg)
  adyton_add_enclave(gate_enc_${v}
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/gate_enc.c
    CONFIG ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/gate_${v}.conf
    KEY ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/test-signing.pem)
endforeach()
get_target_property(_ady_gate_prod gate_enc_prod ADYTON_SIGNED)
get_target_property(_ady_gate_dbg gate_enc_dbg ADYTON_SIGNED)
ady_unit_test(gate_ca_test adyton-gate-ca ady-test-state)
target_include_directories(gate_ca_test PRIVATE ${PROJECT_SOURCE_DIR}/apps/gate)
# The hosts table (apps/gate/hostdb.c, adyton-gate-hosts): both backends,
# two handles as two gates sharing one state.
ady_unit_test(gate_hosts_test adyton-gate-hosts adyton-gate-ca adyton-gate-host ady-test-state)

# The gate demo (apps/gate-demo) in gate_nginx_test: its enclave's TLS
# client is the one that reaches the upstream through nginx.  The test
# build adds one ECALL (tests/enclaves/gate_demo_test_enc.c) that exports
# the key, asked for after the memory scan, as ground truth for it.
adyton_add_enclave(gate_demo_test_enc
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/gate_demo_test_enc.c
  CONFIG ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/gate_demo_test.conf
  KEY ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/test-signing.pem
  EDL ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/gate_demo_test.edl
  EDL_SEARCH_PATHS ${ADY_GATE_DEMO_DIR})
get_target_property(_ady_gate_demo_test gate_demo_test_enc ADYTON_SIGNED)
add_executable(gate_demo_test_app ${ADY_GATE_DEMO_DIR}/app.c)
adyton_edl_untrusted(gate_demo_test_app ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/gate_demo_test.edl
  SEARCH_PATHS ${ADY_GATE_DEMO_DIR})
target_compile_definitions(gate_demo_test_app PRIVATE GATE_DEMO_TEST)
target_link_libraries(gate_demo_test_app PRIVATE adyton::host adyton-format OpenSSL::Crypto)
ady_host_target(gate_demo_test_app)
add_dependencies(gate_demo_test_app gate_demo_test_enc-signed gate-demo-enclave-signed)

ady_integration_test(gate_nginx_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/gate_nginx_test.sh
  $<TARGET_FILE:adyton-gate> ${_ady_gate_prod} ${_ady_gate_dbg} $<TARGET_FILE:gate_demo_test_app>
  ${_ady_gate_demo_test})
set_property(TEST gate_nginx_test APPEND PROPERTY ENVIRONMENT
  "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>")
set_tests_properties(gate_nginx_test PROPERTIES TIMEOUT 300)

# The same suites with the gate's state on a real PostgreSQL, started by
# the test (initdb, pg_ctl) in a temporary directory on a UNIX socket; the
# serve suite too where adyton-agent is built.
# The real gate demo (apps/gate-demo, no export ECALL) is gate_agent_test's client.
get_target_property(_ady_gate_demo_real gate-demo-enclave ADYTON_SIGNED)
set(_ady_gate_pg_agent)
if(TARGET adyton-agent)
  set(_ady_gate_pg_agent -- ${CMAKE_CURRENT_SOURCE_DIR}/integration/gate_agent_test.sh $<TARGET_FILE:adyton-gate>
    $<TARGET_FILE:adyton-agent> ${_ady_gate_prod} ${_ady_gate_dbg} ${CMAKE_CURRENT_SOURCE_DIR}/integration/gate_ima_helper.py
    $<TARGET_FILE:gate-demo> ${_ady_gate_demo_real})
endif()
ady_integration_test(gate_pg_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/gate_pg_test.sh
  $<TARGET_FILE:gate_ca_test> $<TARGET_FILE:gate_hosts_test> ${CMAKE_CURRENT_SOURCE_DIR}/integration/gate_nginx_test.sh
  $<TARGET_FILE:adyton-gate> ${_ady_gate_prod} ${_ady_gate_dbg} $<TARGET_FILE:gate_demo_test_app>
  ${_ady_gate_demo_test} ${_ady_gate_pg_agent})
set_property(TEST gate_pg_test APPEND PROPERTY ENVIRONMENT
  "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>")
set_tests_properties(gate_pg_test PROPERTIES TIMEOUT 300)

# Attested access end to end (issue 14): swtpm, adytond --tpm, the agent,
# serve, nginx; IMA entries for real files with PCR 10 extended to match.
if(TARGET adyton-agent)
  ady_integration_test(gate_agent_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/gate_agent_test.sh
    $<TARGET_FILE:adyton-gate> $<TARGET_FILE:adyton-agent> ${_ady_gate_prod} ${_ady_gate_dbg}
    ${CMAKE_CURRENT_SOURCE_DIR}/integration/gate_ima_helper.py $<TARGET_FILE:gate-demo> ${_ady_gate_demo_real})
  set_property(TEST gate_agent_test APPEND PROPERTY ENVIRONMENT
    "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>")
  set_tests_properties(gate_agent_test PROPERTIES TIMEOUT 300)
endif()
