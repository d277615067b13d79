# Host library, runtime and sim backend, end to end on a real enclave.
adyton_add_enclave(testenc
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/testenc.c
  CONFIG ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/testenc.conf
  KEY ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/test-signing.pem)

# The same suite runs once per backend (ADYTON_BACKEND); each backend that
# lands adds its own add_test(host_test_<backend>) here.
ady_unit_test(host_test adyton::host)
add_dependencies(host_test testenc-signed)
set_tests_properties(host_test PROPERTIES ENVIRONMENT "ADYTON_BACKEND=sim")

# The installed package, used by a project outside the tree.
ady_integration_test(out_of_tree sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/out_of_tree.sh)
set_tests_properties(out_of_tree PROPERTIES TIMEOUT 300)

# The demo the README runs.
ady_integration_test(hello_demo $<TARGET_FILE:hello>)
set_tests_properties(hello_demo PROPERTIES PASS_REGULAR_EXPRESSION
  "ecall sha256\\(\"abc\"\\) -> ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")

# The same suite through adytond on the process backend.
add_test(NAME host_test_process COMMAND host_test)
set_tests_properties(host_test_process PROPERTIES LABELS integration TIMEOUT 120
  ENVIRONMENT "${ADY_PROCESS_TEST_ENV}")
ady_integration_test(hello_demo_process $<TARGET_FILE:hello> --backend process)
set_tests_properties(hello_demo_process PROPERTIES ENVIRONMENT "${ADY_PROCESS_TEST_ENV}"
  PASS_REGULAR_EXPRESSION "on the process backend.*ecall sha256\\(\"abc\"\\) -> ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")

# adytond and the process backend under attack and load.
ady_unit_test(daemon_test adyton::host OpenSSL::Crypto)
add_dependencies(daemon_test testenc-signed)
set_tests_properties(daemon_test PROPERTIES LABELS integration TIMEOUT 240
  ENVIRONMENT "${ADY_PROCESS_TEST_ENV}")

# The same suite and demo on the kvm backend (tests/kvm.cmake): skipped
# where /dev/kvm does not work.
add_test(NAME host_test_kvm COMMAND ${ADY_NEED_KVM} $<TARGET_FILE:host_test>)
set_tests_properties(host_test_kvm PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77
  ENVIRONMENT "${ADY_KVM_TEST_ENV}")
add_test(NAME hello_demo_kvm COMMAND ${ADY_NEED_KVM} $<TARGET_FILE:hello> --backend kvm
  WORKING_DIRECTORY ${PROJECT_BINARY_DIR})
set_tests_properties(hello_demo_kvm PROPERTIES LABELS integration SKIP_RETURN_CODE 77
  ENVIRONMENT "${ADY_KVM_TEST_ENV}"
  PASS_REGULAR_EXPRESSION "on the kvm backend.*ecall sha256\\(\"abc\"\\) -> ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
  SKIP_REGULAR_EXPRESSION "SKIP: /dev/kvm")

# The zero-copy slot API (ady_ecall_slot_*), on sim and through adytond
# on the process backend.
ady_unit_test(host_slot_test adyton::host)
add_dependencies(host_slot_test testenc-signed)
set_tests_properties(host_slot_test PROPERTIES ENVIRONMENT "ADYTON_BACKEND=sim")
add_test(NAME host_slot_test_process COMMAND host_slot_test)
set_tests_properties(host_slot_test_process PROPERTIES LABELS integration TIMEOUT 120
  ENVIRONMENT "${ADY_PROCESS_TEST_ENV}")
add_test(NAME host_slot_test_kvm COMMAND ${ADY_NEED_KVM} $<TARGET_FILE:host_slot_test>)
set_tests_properties(host_slot_test_kvm PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77
  ENVIRONMENT "${ADY_KVM_TEST_ENV}")

# adytond against a hostile or careless local user (issue 11 items 3-7, 9):
# the exec-window ptrace race, a client that never reads, idle connections,
# malformed launches carrying descriptors, an application that ignores
# SIGCHLD, a launch under exactly dist/adytond.service's capabilities, and
# the default memory bound.  Needs root (it runs a system daemon and acts
# as nobody); skipped otherwise.
adyton_add_enclave(bigenc
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/testenc.c
  CONFIG ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/bigenc.conf
  KEY ${CMAKE_CURRENT_SOURCE_DIR}/enclaves/test-signing.pem)
add_executable(daemon_abuse ${CMAKE_CURRENT_SOURCE_DIR}/unit/daemon_abuse.c)
target_link_libraries(daemon_abuse PRIVATE adyton::host)
target_include_directories(daemon_abuse PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_compile_definitions(daemon_abuse PRIVATE ADY_TEST_BINARY_DIR="${PROJECT_BINARY_DIR}")
ady_host_target(daemon_abuse)
add_dependencies(daemon_abuse testenc-signed bigenc-signed)
ady_integration_test(daemon_abuse_test bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/daemon_abuse_test.sh
  $<TARGET_FILE:daemon_abuse> $<TARGET_FILE:adytond> $<TARGET_FILE:adyton-enclave-host>
  ${PROJECT_SOURCE_DIR}/dist/adytond.service $<TARGET_PROPERTY:bigenc,ADYTON_SIGNED>)
set_tests_properties(daemon_abuse_test PROPERTIES TIMEOUT 240)
