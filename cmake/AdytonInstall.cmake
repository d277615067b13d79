# Install: the CLI, the host libraries, the trusted runtime, the public
# headers and a CMake package so that enclave projects can do
#   find_package(adyton) + adyton_add_enclave(...) + target_link_libraries(app adyton::host)
include(CMakePackageConfigHelpers)

set_target_properties(adyton-host PROPERTIES EXPORT_NAME host)
set_target_properties(adyton-image PROPERTIES EXPORT_NAME image)
set_target_properties(adyton-platform PROPERTIES EXPORT_NAME platform)
set_target_properties(adyton-format PROPERTIES EXPORT_NAME format)
set_target_properties(adyton-trts PROPERTIES EXPORT_NAME trts)
set_target_properties(adyton-verify PROPERTIES EXPORT_NAME verify)
set_target_properties(adyton PROPERTIES EXPORT_NAME cli)
set_target_properties(adyton-edl PROPERTIES EXPORT_NAME edl)

set(ADY_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/adyton)
install(TARGETS adyton-host adyton-image adyton-platform adyton-format adyton-trts adyton-verify adyton adyton-edl
  EXPORT adytonTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/adyton DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT adytonTargets NAMESPACE adyton:: DESTINATION ${ADY_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/adytonConfig.cmake.in
  ${PROJECT_BINARY_DIR}/adytonConfig.cmake INSTALL_DESTINATION ${ADY_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/adytonConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/adytonConfig.cmake ${PROJECT_BINARY_DIR}/adytonConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/AdytonEnclave.cmake DESTINATION ${ADY_CMAKE_DIR})
# The platform service and its process-backend enclave host (adytond finds
# it next to itself or in libexec/adyton), the unit and the policy example.
install(TARGETS adytond RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS adyton-enclave-host RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/adyton)
install(FILES ${PROJECT_SOURCE_DIR}/dist/adytond.service DESTINATION ${CMAKE_INSTALL_LIBDIR}/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/dist/policy.conf.example DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/adyton)
# The kvm backend's enclave host: adytond looks for it in libexec/adyton.
install(TARGETS adyton-kvm-host RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/adyton)
