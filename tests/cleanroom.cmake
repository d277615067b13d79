# The clean room (issue 16, apps/cleanroom): the engine on the host; end to
# end on the process backend through a private adytond, against a second
# build of the same enclave (another configuration, so another MRENCLAVE)
# that providers must refuse; and the engine's parsers under libFuzzer.
adyton_add_enclave(cleanroom_other
  SOURCES ${PROJECT_SOURCE_DIR}/apps/cleanroom/enclave.c ${PROJECT_SOURCE_DIR}/apps/cleanroom/engine.c
  INCLUDES ${PROJECT_SOURCE_DIR}/apps/cleanroom
  CONFIG ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/cleanroom_other.conf
  KEY ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/test-signing.pem
  EDL ${PROJECT_SOURCE_DIR}/apps/cleanroom/cleanroom.edl)
# The same enclave again from the same sources and configuration, under
# another target name in another directory: a provider that rebuilds the
# clean room to learn its MRENCLAVE must get the one that runs, wherever
# it builds (cleanroom_test compares them).
adyton_add_enclave(cleanroom_rebuilt_elsewhere
  SOURCES ${PROJECT_SOURCE_DIR}/apps/cleanroom/enclave.c ${PROJECT_SOURCE_DIR}/apps/cleanroom/engine.c
  INCLUDES ${PROJECT_SOURCE_DIR}/apps/cleanroom
  CONFIG ${PROJECT_SOURCE_DIR}/apps/cleanroom/enclave.conf
  KEY ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/test-signing.pem
  EDL ${PROJECT_SOURCE_DIR}/apps/cleanroom/cleanroom.edl)
# The engine on the host (cmocka): the parsers' refusals and suppression
# at the boundaries.
add_executable(cleanroom_engine_test ${CMAKE_CURRENT_SOURCE_DIR}/unit/cleanroom_engine_test.c
  ${PROJECT_SOURCE_DIR}/apps/cleanroom/engine.c)
target_include_directories(cleanroom_engine_test PRIVATE ${PROJECT_SOURCE_DIR}/apps/cleanroom)
target_link_libraries(cleanroom_engine_test PRIVATE PkgConfig::CMOCKA)
ady_host_target(cleanroom_engine_test)
add_test(NAME cleanroom_engine_test COMMAND cleanroom_engine_test)
set_tests_properties(cleanroom_engine_test PROPERTIES LABELS unit)

get_target_property(_ady_cr_signed cleanroom-enclave ADYTON_SIGNED)
get_target_property(_ady_cr_other cleanroom_other ADYTON_SIGNED)
get_target_property(_ady_cr_rebuilt cleanroom_rebuilt_elsewhere ADYTON_SIGNED)

ady_integration_test(cleanroom_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/cleanroom_test.sh
  $<TARGET_FILE:adyton-cleanroom> ${_ady_cr_signed} ${_ady_cr_other} ${_ady_cr_rebuilt})
set_property(TEST cleanroom_test APPEND PROPERTY ENVIRONMENT
  "ADYTON_DAEMON=$<TARGET_FILE:adytond>" "ADYTON_ENCLAVE_HOST=$<TARGET_FILE:adyton-enclave-host>")
set_tests_properties(cleanroom_test PROPERTIES TIMEOUT 300)

# The engine's parsers under libFuzzer (-DADYTON_FUZZ=ON, clang), as
# tests/fuzz.cmake runs the others; the target includes engine.c.
if(ADYTON_FUZZ)
  add_executable(fuzz_cleanroom ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_cleanroom.c)
  target_include_directories(fuzz_cleanroom PRIVATE ${PROJECT_SOURCE_DIR}/apps/cleanroom)
  target_compile_options(fuzz_cleanroom PRIVATE ${ADY_FUZZ_FLAGS})
  target_link_options(fuzz_cleanroom PRIVATE ${ADY_FUZZ_FLAGS})
  set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz-work/fuzz_cleanroom)
  file(MAKE_DIRECTORY ${work}/corpus)
  add_test(NAME fuzz_cleanroom
    COMMAND fuzz_cleanroom -max_total_time=${ADY_FUZZ_TIME} -timeout=5 -rss_limit_mb=2048
            -artifact_prefix=${work}/ ${work}/corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/fuzz_cleanroom
    WORKING_DIRECTORY ${work})
  set_tests_properties(fuzz_cleanroom PROPERTIES LABELS fuzz TIMEOUT 120)
endif()
