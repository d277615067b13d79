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
