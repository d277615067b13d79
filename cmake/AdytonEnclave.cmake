# adyton_add_enclave(NAME SOURCES src... CONFIG enclave.conf KEY signing.pem
#                    [INCLUDES dir...] [LIBRARIES lib...]
#                    [EDL file.edl [EDL_SEARCH_PATHS dir...]])
#
# Builds NAME.elf, a freestanding static-PIE linked with the trusted runtime
# and BearSSL, and signs it into ${CMAKE_CURRENT_BINARY_DIR}/NAME.signed
# (target NAME-signed, built by default).  When KEY names a file that does
# not exist, a development key is generated in the build tree at build time
# and a warning is printed: MRSIGNER then changes with every fresh build.
#
# With EDL, adyton-edl generates the trusted stubs (FILE_t.c, FILE_t.h, in
# ${CMAKE_CURRENT_BINARY_DIR}/NAME-edl/, on the enclave's include path): the
# ECALL table and one function per OCALL.  Do not use ADY_ECALLS() then.
#
# adyton_edl_untrusted(TARGET file.edl [SEARCH_PATHS dir...])
#
# Generates the untrusted stubs (FILE_u.c, FILE_u.h, in
# ${CMAKE_CURRENT_BINARY_DIR}/TARGET-edl/) into the application TARGET: one
# function per ECALL and the OCALL table FILE_ocall_table.  See docs/edl.md.
#
# Works in-tree (targets adyton-trts, adyton and adyton-edl) and against an
# installed adyton (find_package(adyton) imports adyton::trts, adyton::cli
# and adyton::edl).  Both put ADYTON_EDL_DIR, the directory that holds
# adyton/ (the public EDL files: from "adyton/sockio.edl" import *;), on
# every EDL search path.

# In-tree: the source tree's include/; adytonConfig.cmake sets the
# installed one before including this file.
if(NOT DEFINED ADYTON_EDL_DIR)
  get_filename_component(ADYTON_EDL_DIR "${CMAKE_CURRENT_LIST_DIR}/../include" ABSOLUTE)
endif()

set(ADY_ENCLAVE_CFLAGS
  -ffreestanding -fPIE -fvisibility=hidden -fstack-protector-strong
  -mno-red-zone -fno-plt -fno-asynchronous-unwind-tables -fno-exceptions)
set(ADY_ENCLAVE_LDFLAGS
  -nostdlib -static-pie -Wl,-e,ady_enclave_entry -Wl,-u,ady_enclave_entry
  -Wl,-u,br_prng_seeder_system
  -Wl,-z,norelro -Wl,-z,noexecstack -Wl,-z,separate-code -Wl,-z,max-page-size=4096
  -Wl,--hash-style=gnu -Wl,--build-id=none)

function(_adyton_tool_targets trts_var cli_var)
  if(TARGET adyton-edl)
    set(ADY_EDL_TOOL adyton-edl PARENT_SCOPE)
  else()
    set(ADY_EDL_TOOL adyton::edl PARENT_SCOPE)
  endif()
  if(TARGET adyton-trts)
    set(${trts_var} adyton-trts PARENT_SCOPE)
  else()
    set(${trts_var} adyton::trts PARENT_SCOPE)
  endif()
  if(TARGET adyton)
    set(${cli_var} adyton PARENT_SCOPE)
  else()
    set(${cli_var} adyton::cli PARENT_SCOPE)
  endif()
endfunction()

# Runs adyton-edl for one side ("t" or "u") of EDL into OUT_DIR; sets
# ${src_var} to the generated .c file.
function(_adyton_edl_generate edl side out_dir search src_var)
  _adyton_tool_targets(trts cli)
  get_filename_component(edl_abs "${edl}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  get_filename_component(name "${edl_abs}" NAME)
  string(REGEX REPLACE "\\.edl$" "" base "${name}")
  string(REGEX REPLACE "[^A-Za-z0-9_]" "_" base "${base}")
  if(side STREQUAL "t")
    set(flag --trusted)
  else()
    set(flag --untrusted)
  endif()
  set(search_args "")
  foreach(dir IN LISTS search ADYTON_EDL_DIR)
    get_filename_component(dir "${dir}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND search_args -I "${dir}")
  endforeach()
  file(MAKE_DIRECTORY "${out_dir}")
  set(src "${out_dir}/${base}_${side}.c")
  add_custom_command(OUTPUT "${src}" "${out_dir}/${base}_${side}.h"
    COMMAND ${ADY_EDL_TOOL} ${flag} -o "${out_dir}" ${search_args} --depfile "${out_dir}/${base}_${side}.d" "${edl_abs}"
    DEPENDS "${edl_abs}" ${ADY_EDL_TOOL}
    DEPFILE "${out_dir}/${base}_${side}.d"
    COMMENT "adyton-edl: ${name} (${flag})" VERBATIM)
  set(${src_var} "${src}" PARENT_SCOPE)
endfunction()

function(adyton_edl_untrusted TARGET EDL)
  cmake_parse_arguments(ARG "" "" "SEARCH_PATHS" ${ARGN})
  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/${TARGET}-edl")
  _adyton_edl_generate("${EDL}" u "${out_dir}" "${ARG_SEARCH_PATHS}" src)
  target_sources(${TARGET} PRIVATE "${src}")
  target_include_directories(${TARGET} PRIVATE "${out_dir}")
  target_link_libraries(${TARGET} PRIVATE adyton::host)
endfunction()

function(adyton_add_enclave NAME)
  cmake_parse_arguments(ARG "" "CONFIG;KEY;EDL" "SOURCES;INCLUDES;LIBRARIES;EDL_SEARCH_PATHS" ${ARGN})
  if(NOT ARG_SOURCES OR NOT ARG_CONFIG OR NOT ARG_KEY)
    message(FATAL_ERROR "adyton_add_enclave(${NAME}): SOURCES, CONFIG and KEY are required")
  endif()
  _adyton_tool_targets(trts cli)

  get_filename_component(config "${ARG_CONFIG}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  get_filename_component(key "${ARG_KEY}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT EXISTS "${key}")
    set(key "${CMAKE_CURRENT_BINARY_DIR}/${NAME}-devkey.pem")
    message(STATUS "adyton: ${ARG_KEY} does not exist; ${NAME} is signed with a development key generated at ${key}")
    add_custom_command(OUTPUT "${key}"
      COMMAND ${cli} keygen "${key}"
      COMMENT "Generating development signing key for ${NAME}" VERBATIM)
  endif()

  set(edl_src "")
  if(ARG_EDL)
    set(edl_dir "${CMAKE_CURRENT_BINARY_DIR}/${NAME}-edl")
    _adyton_edl_generate("${ARG_EDL}" t "${edl_dir}" "${ARG_EDL_SEARCH_PATHS}" edl_src)
    list(APPEND ARG_INCLUDES "${edl_dir}")
  endif()

  add_executable(${NAME} ${ARG_SOURCES} ${edl_src})
  set_target_properties(${NAME} PROPERTIES SUFFIX ".elf" POSITION_INDEPENDENT_CODE OFF)
  target_compile_options(${NAME} PRIVATE ${ADY_ENCLAVE_CFLAGS})
  target_include_directories(${NAME} PRIVATE ${ARG_INCLUDES})
  target_link_options(${NAME} PRIVATE ${ADY_ENCLAVE_LDFLAGS})
  # BearSSL needs mem*/__*_chk from the runtime and the runtime needs
  # BearSSL: one group, then libgcc for compiler helpers.
  target_link_libraries(${NAME} PRIVATE -Wl,--start-group ${ARG_LIBRARIES} ${trts} "${BEARSSL_STATIC}" -Wl,--end-group -lgcc)

  # The image signed is the ELF without its debug information: the first
  # loaded page holds the ELF header, whose section-header offset moves
  # with the size of .debug_*, and that holds build paths.  Stripped, the
  # MRENCLAVE depends on the sources, the configuration and the toolchain
  # only, not on where the tree was built, so it can be reproduced.  The
  # .elf keeps its debug information for gdb (same addresses).
  set(signed "${CMAKE_CURRENT_BINARY_DIR}/${NAME}.signed")
  set(stripped "${CMAKE_CURRENT_BINARY_DIR}/${NAME}.nodebug.elf")
  add_custom_command(OUTPUT "${signed}"
    COMMAND "${CMAKE_OBJCOPY}" --strip-debug "$<TARGET_FILE:${NAME}>" "${stripped}"
    COMMAND ${cli} sign --key "${key}" --config "${config}" --out "${signed}" "${stripped}"
    DEPENDS ${NAME} "${config}" "${key}" ${cli}
    COMMENT "Signing enclave ${NAME}" VERBATIM)
  add_custom_target(${NAME}-signed ALL DEPENDS "${signed}")
  set_target_properties(${NAME} PROPERTIES ADYTON_SIGNED "${signed}")
endfunction()
