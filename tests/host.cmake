# Host library, runtime and sim backend, end to end on a real enclave.
adyton_add_enclave(testenc
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/testenc.c
  CONFIG ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/testenc.conf
  KEY ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/testenc-signing.pem)

# The same suite runs once per backend (ADYTON_BACKEND); each backend that
# lands adds its own add_test(host_test_<backend>) here.
ady_unit_test(host_test adyton::host)
add_dependencies(host_test testenc-signed)
set_tests_properties(host_test PROPERTIES ENVIRONMENT "ADYTON_BACKEND=sim")
