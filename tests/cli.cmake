# adyton run / adyton ps / adytond --help against the private test daemon
# (ADY_PROCESS_TEST_ENV).  testenc comes from host.cmake.
ady_integration_test(cli_daemon_test bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/cli_daemon_test.sh
  $<TARGET_PROPERTY:testenc,ADYTON_SIGNED>)
# ENVIRONMENT replaces the one ady_integration_test set: repeat what it gave.
set_tests_properties(cli_daemon_test PROPERTIES TIMEOUT 120 ENVIRONMENT
  "ADY_SOURCE_DIR=${PROJECT_SOURCE_DIR};ADY_BINARY_DIR=${PROJECT_BINARY_DIR};${ADY_PROCESS_TEST_ENV};ADYTON=$<TARGET_FILE:adyton>")
