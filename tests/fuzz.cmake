# libFuzzer targets, one per parser of untrusted bytes (STYLE.md).  Only
# included with -DADYTON_FUZZ=ON; needs clang.  Each target compiles the
# format sources itself so they carry the fuzzer's instrumentation, and
# its CTest test runs briefly from the committed seeds; new inputs and
# crash artifacts go to the build tree, never the source tree.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "ADYTON_FUZZ=ON needs clang (libFuzzer); configure with CC=clang")
endif()

set(ADY_FUZZ_FLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
set(ADY_FUZZ_TIME 15 CACHE STRING "Seconds each fuzz test runs under CTest")

# A target's own sources beyond the format layer: ${target}_sources, and
# include directories: ${target}_includes.
set(fuzz_keyguard_ecall_sources ${PROJECT_SOURCE_DIR}/apps/keyguard/ecall_in.c)
set(fuzz_keyguard_ecall_includes ${PROJECT_SOURCE_DIR}/apps/keyguard)

foreach(target fuzz_elf fuzz_sigstruct fuzz_config fuzz_proto fuzz_policy fuzz_sealed fuzz_luks1 fuzz_quote fuzz_vpolicy fuzz_ratls
    fuzz_msbuf fuzz_keyguard_ecall)
  add_executable(${target} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${target}.c ${${target}_sources} ${ADY_FORMAT_SOURCES})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/include ${${target}_includes})
  target_compile_options(${target} PRIVATE ${ADY_FUZZ_FLAGS})
  target_link_options(${target} PRIVATE ${ADY_FUZZ_FLAGS})

  set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz-work/${target})
  file(MAKE_DIRECTORY ${work}/corpus)
  # libFuzzer writes new units to the first corpus directory only; the
  # committed seeds are read-only input.
  add_test(NAME ${target}
    COMMAND ${target} -max_total_time=${ADY_FUZZ_TIME} -timeout=5 -rss_limit_mb=2048
            -artifact_prefix=${work}/ ${work}/corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${target}
    WORKING_DIRECTORY ${work})
  set_tests_properties(${target} PROPERTIES LABELS fuzz TIMEOUT 120)
endforeach()
