# adyton_add_enclave(NAME SOURCES src... CONFIG enclave.conf KEY signing.pem
#                    [INCLUDES dir...] [LIBRARIES lib...])
#
# Builds NAME.elf, a freestanding static-PIE linked with the trusted runtime
# and BearSSL, and signs it into ${CMAKE_CURRENT_BINARY_DIR}/NAME.signed
# (target NAME-signed, built by default).  When KEY names a file that does
# not exist, a development key is generated in the build tree at build time
# and a warning is printed: MRSIGNER then changes with every fresh build.
#
# Works in-tree (targets adyton-trts and adyton) and against an installed
# adyton (find_package(adyton) imports adyton::trts and adyton::cli).

set(ADY_ENCLAVE_CFLAGS
  -ffreestanding -fPIE -fvisibility=hidden -fstack-protector-strong
  -mno-red-zone -fno-plt -fno-asynchronous-unwind-tables -fno-exceptions)
set(ADY_ENCLAVE_LDFLAGS
  -nostdlib -static-pie -Wl,-e,ady_enclave_entry -Wl,-u,ady_enclave_entry
  -Wl,-z,norelro -Wl,-z,noexecstack -Wl,-z,separate-code -Wl,-z,max-page-size=4096
  -Wl,--hash-style=gnu -Wl,--build-id=none)

function(_adyton_tool_targets trts_var cli_var)
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

function(adyton_add_enclave NAME)
  cmake_parse_arguments(ARG "" "CONFIG;KEY" "SOURCES;INCLUDES;LIBRARIES" ${ARGN})
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

  add_executable(${NAME} ${ARG_SOURCES})
  set_target_properties(${NAME} PROPERTIES SUFFIX ".elf" POSITION_INDEPENDENT_CODE OFF)
  target_compile_options(${NAME} PRIVATE ${ADY_ENCLAVE_CFLAGS})
  target_include_directories(${NAME} PRIVATE ${ARG_INCLUDES})
  target_link_options(${NAME} PRIVATE ${ADY_ENCLAVE_LDFLAGS})
  # BearSSL needs mem*/__*_chk from the runtime and the runtime needs
  # BearSSL: one group, then libgcc for compiler helpers.
  target_link_libraries(${NAME} PRIVATE -Wl,--start-group ${ARG_LIBRARIES} ${trts} "${BEARSSL_STATIC}" -Wl,--end-group -lgcc)

  set(signed "${CMAKE_CURRENT_BINARY_DIR}/${NAME}.signed")
  add_custom_command(OUTPUT "${signed}"
    COMMAND ${cli} sign --key "${key}" --config "${config}" --out "${signed}" "$<TARGET_FILE:${NAME}>"
    DEPENDS ${NAME} "${config}" "${key}" ${cli}
    COMMENT "Signing enclave ${NAME}" VERBATIM)
  add_custom_target(${NAME}-signed ALL DEPENDS "${signed}")
  set_target_properties(${NAME} PROPERTIES ADYTON_SIGNED "${signed}")
endfunction()
