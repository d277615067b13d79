# Multi-tenant operations of adytond (issue 15): the enclave memory pool,
# tenants and their limits.
ady_integration_test(tenant_pool_test bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/tenant_pool_test.sh
  $<TARGET_FILE:adytond> $<TARGET_FILE:adyton-enclave-host> ${PROJECT_BINARY_DIR}/tests/testenc.signed
  $<TARGET_PROPERTY:bigenc,ADYTON_SIGNED>)
set_tests_properties(tenant_pool_test PROPERTIES TIMEOUT 120)
# Prometheus metrics: promtool, a real Prometheus, hostile scrapers.
if(TARGET PkgConfig::MHD)
  ady_integration_test(metrics_test python3 ${CMAKE_CURRENT_SOURCE_DIR}/integration/metrics_test.py
    $<TARGET_FILE:adytond> $<TARGET_FILE:adyton-enclave-host> ${PROJECT_BINARY_DIR}/tests/testenc.signed)
  set_tests_properties(metrics_test PROPERTIES TIMEOUT 180)
endif()
# Usage records in SQLite and adyton usage.
if(TARGET PkgConfig::SQLITE3)
  ady_integration_test(usage_test python3 ${CMAKE_CURRENT_SOURCE_DIR}/integration/usage_test.py
    $<TARGET_FILE:adytond> $<TARGET_FILE:adyton-enclave-host> ${PROJECT_BINARY_DIR}/tests/testenc.signed)
  set_tests_properties(usage_test PROPERTIES TIMEOUT 120)
endif()
# adyton capacity and the NFD feature file.
ady_integration_test(capacity_test bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/capacity_test.sh
  $<TARGET_FILE:adytond> $<TARGET_FILE:adyton-enclave-host> ${PROJECT_BINARY_DIR}/tests/testenc.signed)
set_tests_properties(capacity_test PROPERTIES TIMEOUT 60)
# ECALL and exit counts in the metrics: an application that makes a known
# number of each (ecall_count_app.c), on process and, where /dev/kvm runs
# the backend's guest, on kvm (switchless and one VM exit per call).
add_executable(ecall_count_app ${CMAKE_CURRENT_SOURCE_DIR}/integration/ecall_count_app.c)
target_include_directories(ecall_count_app PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/enclaves)
target_link_libraries(ecall_count_app PRIVATE adyton::host)
add_dependencies(ecall_count_app testenc-signed)
if(TARGET PkgConfig::MHD)
  set(_ady_count_args python3 ${CMAKE_CURRENT_SOURCE_DIR}/integration/ecall_metrics_test.py
    $<TARGET_FILE:adytond> $<TARGET_FILE:adyton-enclave-host> $<TARGET_FILE:adyton-kvm-host>
    ${PROJECT_BINARY_DIR}/tests/testenc.signed $<TARGET_FILE:ecall_count_app>)
  ady_integration_test(ecall_metrics_test ${_ady_count_args} process)
  set_tests_properties(ecall_metrics_test PROPERTIES TIMEOUT 120)
  ady_integration_test(ecall_metrics_test_kvm ${ADY_NEED_KVM} ${_ady_count_args} kvm)
  set_property(TEST ecall_metrics_test_kvm APPEND PROPERTY ENVIRONMENT
    "ADYTON_KVM_HOST=$<TARGET_FILE:adyton-kvm-host>")
  set_tests_properties(ecall_metrics_test_kvm PROPERTIES TIMEOUT 300)
endif()
# The enclave table's size (adytond --total-enclaves).
ady_integration_test(total_enclaves_test bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/total_enclaves_test.sh
  $<TARGET_FILE:adytond> $<TARGET_FILE:adyton-enclave-host> ${PROJECT_BINARY_DIR}/tests/testenc.signed)
set_tests_properties(total_enclaves_test PROPERTIES TIMEOUT 60)
