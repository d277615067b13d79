# Signed images (src/host/image.c), the signer and the CLI (src/tools).
# All tests use the hello example's images from the build tree: building
# the unit tests builds them too; a missing image fails a test, never skips.
ady_unit_test(image_test adyton-image adyton-sign)
ady_unit_test(sign_test adyton-image adyton-sign)
foreach(t image_test sign_test)
  foreach(dep hello-enclave hello-enclave-signed)
    if(TARGET ${dep})
      add_dependencies(${t} ${dep})
    endif()
  endforeach()
endforeach()

set(_ady_it ${CMAKE_CURRENT_SOURCE_DIR}/integration)
ady_integration_test(cli_test bash ${_ady_it}/cli_test.sh)
if(Python3_Interpreter_FOUND)
  ady_integration_test(mrenclave_check ${Python3_EXECUTABLE} ${_ady_it}/mrenclave_check.py)
  ady_integration_test(sigstruct_openssl ${Python3_EXECUTABLE} ${_ady_it}/sigstruct_openssl.py)
  ady_integration_test(malformed_images ${Python3_EXECUTABLE} ${_ady_it}/malformed_images.py)
else()
  message(WARNING "python3 not found: the image integration tests are not registered")
endif()
