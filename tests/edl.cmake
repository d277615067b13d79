# adyton-edl (docs/edl.md): the parser's unit tests, the golden EDL
# round-tripped through a real enclave, the SampleEnclave-style files, and
# (with ADYTON_FUZZ) the parser and unmarshalling fuzzers.
set(ADY_EDL_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/edl)

ady_unit_test(edl_parser_test adyton-edl-lib)

# The golden EDL: trusted stubs into the enclave, untrusted into the test.
# Both compile with the tree's warning list (and -Werror in CI).
adyton_add_enclave(edl_enc
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/edl_enc.c
  CONFIG ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/edl_enc.conf
  KEY ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/edl_enc-signing.pem
  INCLUDES ${ADY_EDL_TEST_DIR}
  EDL ${ADY_EDL_TEST_DIR}/edltest.edl)

# The same suite runs once per backend (ADYTON_BACKEND), like host_test.
ady_unit_test(edl_roundtrip_test adyton::host Threads::Threads)
adyton_edl_untrusted(edl_roundtrip_test ${ADY_EDL_TEST_DIR}/edltest.edl)
target_include_directories(edl_roundtrip_test PRIVATE ${ADY_EDL_TEST_DIR})
add_dependencies(edl_roundtrip_test edl_enc-signed)
set_tests_properties(edl_roundtrip_test PROPERTIES ENVIRONMENT "ADYTON_BACKEND=sim")
# The same generated code through adytond on the process backend.
add_test(NAME edl_roundtrip_test_process COMMAND edl_roundtrip_test)
set_tests_properties(edl_roundtrip_test_process PROPERTIES LABELS integration TIMEOUT 120
  ENVIRONMENT "${ADY_PROCESS_TEST_ENV}")

# SampleEnclave-style files: they parse, and both sides of what they
# generate compile warning-free (an object library, nothing links it).
_adyton_edl_generate(${ADY_EDL_TEST_DIR}/sample/Enclave.edl t ${CMAKE_CURRENT_BINARY_DIR}/edl-sample "" sample_t)
_adyton_edl_generate(${ADY_EDL_TEST_DIR}/sample/Enclave.edl u ${CMAKE_CURRENT_BINARY_DIR}/edl-sample "" sample_u)
add_library(edl_sample_golden OBJECT ${sample_t} ${sample_u})
target_include_directories(edl_sample_golden PRIVATE ${PROJECT_SOURCE_DIR}/include ${CMAKE_CURRENT_BINARY_DIR}/edl-sample
  ${ADY_EDL_TEST_DIR}/sample)
add_test(NAME edl_sample COMMAND adyton-edl --check ${ADY_EDL_TEST_DIR}/sample/Enclave.edl)
set_tests_properties(edl_sample PROPERTIES LABELS unit)

if(ADYTON_FUZZ)
  # Same pattern as fuzz.cmake.  fuzz_edl_unmarshal compiles the golden
  # EDL's trusted side and edl_enc.c for the host: random bytes go into the
  # generated ECALL decoders and, through a fake ady_ocall, into the
  # generated OCALL reply decoders.
  set(edl_fuzz_gen ${CMAKE_CURRENT_BINARY_DIR}/edl-fuzz)
  _adyton_edl_generate(${ADY_EDL_TEST_DIR}/edltest.edl t ${edl_fuzz_gen} "" fuzz_edl_t)
  set(fuzz_edl_parser_sources ${PROJECT_SOURCE_DIR}/src/tools/edl/ctx.c ${PROJECT_SOURCE_DIR}/src/tools/edl/lex.c
    ${PROJECT_SOURCE_DIR}/src/tools/edl/parse.c ${PROJECT_SOURCE_DIR}/src/tools/edl/check.c
    ${PROJECT_SOURCE_DIR}/src/tools/edl/gen.c)
  set(fuzz_edl_unmarshal_sources ${fuzz_edl_t} ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/edl_enc.c)
  foreach(target fuzz_edl_parser fuzz_edl_unmarshal)
    add_executable(${target} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${target}.c ${${target}_sources} ${ADY_FORMAT_SOURCES})
    target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src/tools/edl
      ${edl_fuzz_gen} ${ADY_EDL_TEST_DIR})
    target_compile_options(${target} PRIVATE ${ADY_FUZZ_FLAGS})
    target_link_options(${target} PRIVATE ${ADY_FUZZ_FLAGS})
    set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz-work/${target})
    file(MAKE_DIRECTORY ${work}/corpus)
    add_test(NAME ${target}
      COMMAND ${target} -max_total_time=${ADY_FUZZ_TIME} -timeout=5 -rss_limit_mb=2048
              -artifact_prefix=${work}/ ${work}/corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${target}
      WORKING_DIRECTORY ${work})
    set_tests_properties(${target} PROPERTIES LABELS fuzz TIMEOUT 120)
  endforeach()
endif()

# The same generated code on the kvm backend (tests/kvm.cmake): skipped
# where /dev/kvm does not work.
add_test(NAME edl_roundtrip_test_kvm COMMAND ${ADY_NEED_KVM} $<TARGET_FILE:edl_roundtrip_test>)
set_tests_properties(edl_roundtrip_test_kvm PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77
  ENVIRONMENT "${ADY_KVM_TEST_ENV}")

# The SGX SDK's SampleEnclave EDL files, unmodified (issue 17), from the
# shared test vectors next to the checkout (ADYTON_SGX_EDL_DIR to point
# elsewhere): every file generates code that compiles warning-free, and
# tests/enclaves/sample_enc.c implements the ECALLs that
# edl_sgx_sample_test drives on sim, process and (where it works) kvm.
set(ADYTON_SGX_EDL_DIR "${PROJECT_SOURCE_DIR}/../shared/vectors/sgx-edl" CACHE PATH
  "the SGX SDK's SampleEnclave EDL files (Enclave/, Include/, sdk/)")
if(EXISTS "${ADYTON_SGX_EDL_DIR}/Enclave/Enclave.edl")
  set(sgx_edl ${ADYTON_SGX_EDL_DIR}/Enclave/Enclave.edl)
  set(sgx_edl_search ${ADYTON_SGX_EDL_DIR}/Include ${ADYTON_SGX_EDL_DIR}/sdk)
  set(sgx_gen ${CMAKE_CURRENT_BINARY_DIR}/edl-sgx-sample)
  _adyton_edl_generate(${sgx_edl} t ${sgx_gen} "${sgx_edl_search}" sgx_sample_t)
  _adyton_edl_generate(${sgx_edl} u ${sgx_gen} "${sgx_edl_search}" sgx_sample_u)
  # Both sides with the tree's warning list (-Werror in CI), for the host.
  add_library(edl_sgx_sample_golden OBJECT ${sgx_sample_t} ${sgx_sample_u})
  target_include_directories(edl_sgx_sample_golden PRIVATE ${PROJECT_SOURCE_DIR}/include ${sgx_gen}
    ${ADYTON_SGX_EDL_DIR}/Include)
  add_test(NAME edl_sgx_sample_check COMMAND adyton-edl --check -I ${ADYTON_SGX_EDL_DIR}/Include
    -I ${ADYTON_SGX_EDL_DIR}/sdk ${sgx_edl})
  set_tests_properties(edl_sgx_sample_check PROPERTIES LABELS unit)

  adyton_add_enclave(sample_enc
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/sample_enc.c
    CONFIG ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/sample_enc.conf
    KEY ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/edl_enc-signing.pem
    INCLUDES ${ADYTON_SGX_EDL_DIR}/Include
    EDL ${sgx_edl} EDL_SEARCH_PATHS ${sgx_edl_search})
  ady_unit_test(edl_sgx_sample_test adyton::host Threads::Threads)
  adyton_edl_untrusted(edl_sgx_sample_test ${sgx_edl} SEARCH_PATHS ${sgx_edl_search})
  target_include_directories(edl_sgx_sample_test PRIVATE ${ADYTON_SGX_EDL_DIR}/Include)
  add_dependencies(edl_sgx_sample_test sample_enc-signed)
  set_tests_properties(edl_sgx_sample_test PROPERTIES ENVIRONMENT "ADYTON_BACKEND=sim" TIMEOUT 120)
  add_test(NAME edl_sgx_sample_test_process COMMAND edl_sgx_sample_test)
  set_tests_properties(edl_sgx_sample_test_process PROPERTIES LABELS integration TIMEOUT 120
    ENVIRONMENT "${ADY_PROCESS_TEST_ENV}")
  add_test(NAME edl_sgx_sample_test_kvm COMMAND ${ADY_NEED_KVM} $<TARGET_FILE:edl_sgx_sample_test>)
  set_tests_properties(edl_sgx_sample_test_kvm PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77
    ENVIRONMENT "${ADY_KVM_TEST_ENV}")
else()
  message(STATUS "adyton: no SGX SampleEnclave EDL files at ${ADYTON_SGX_EDL_DIR}: edl_sgx_sample tests not built")
endif()

# Generated code with user names that once shadowed the helpers' locals.
_adyton_edl_generate(${ADY_EDL_TEST_DIR}/edltest_names.edl t ${CMAKE_CURRENT_BINARY_DIR}/edl-names "" names_t)
_adyton_edl_generate(${ADY_EDL_TEST_DIR}/edltest_names.edl u ${CMAKE_CURRENT_BINARY_DIR}/edl-names "" names_u)
add_library(edl_names_golden OBJECT ${names_t} ${names_u})
target_include_directories(edl_names_golden PRIVATE ${PROJECT_SOURCE_DIR}/include ${CMAKE_CURRENT_BINARY_DIR}/edl-names)
