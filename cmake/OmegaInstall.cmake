# Installs the C++ library with an export set, so a user's
#   find_package(omega CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE omega::omega)
# works against the install prefix. WASM builds install the JS package instead.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

if(EMSCRIPTEN)
  install(DIRECTORY "${OMEGA_JS_PACKAGE_DIR}/" DESTINATION "${CMAKE_INSTALL_DATADIR}/omega/js")
  return()
endif()

install(TARGETS omega EXPORT omegaTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY core/include/ platform/${OMEGA_PLATFORM}/include/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(EXPORT omegaTargets NAMESPACE omega:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/omega)
configure_package_config_file(cmake/omegaConfig.cmake.in
  "${CMAKE_CURRENT_BINARY_DIR}/omegaConfig.cmake"
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/omega)
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/omegaConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/omegaConfig.cmake"
              "${CMAKE_CURRENT_BINARY_DIR}/omegaConfigVersion.cmake"
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/omega)
