# Third-party code, all from Debian packages (see README, "Dependencies"):
#   Highway (libhwy-dev)      SIMD for histogram merge/percentile scans
#   tl::expected (libexpected-dev)  base of omega::Result (std::expected is C++23)
#   nlohmann/json (nlohmann-json3-dev)  JSON rendering of metrics snapshots
#   Catch2 v2 (catch2)        tests
# Natively they come through their CMake packages. Emscripten's sysroot does not see
# /usr/include, and adding /usr/include whole would pull glibc headers into WASM builds, so
# WASM builds see a staging folder that holds only these libraries' header trees.

if(NOT EMSCRIPTEN)
  find_package(Threads REQUIRED)
  find_package(hwy CONFIG REQUIRED)
  find_package(tl-expected CONFIG REQUIRED)
  find_package(nlohmann_json CONFIG REQUIRED)
  set(OMEGA_DEP_HWY hwy::hwy)
  set(OMEGA_DEP_EXPECTED tl::expected)
  set(OMEGA_DEP_JSON nlohmann_json::nlohmann_json)
  if(OMEGA_BUILD_TESTS)
    find_package(Catch2 2 CONFIG REQUIRED)
    set(OMEGA_DEP_CATCH2 Catch2::Catch2)
  endif()
  return()
endif()

set(OMEGA_SYSTEM_INCLUDE_DIR "/usr/include" CACHE PATH "Where Debian's -dev packages put headers")
set(_stage "${CMAKE_BINARY_DIR}/_omega_deps/include")
file(MAKE_DIRECTORY "${_stage}")

function(_omega_stage_headers target)
  # ARGN: header trees (folders or files) relative to OMEGA_SYSTEM_INCLUDE_DIR
  foreach(entry IN LISTS ARGN)
    set(src "${OMEGA_SYSTEM_INCLUDE_DIR}/${entry}")
    if(NOT EXISTS "${src}")
      message(FATAL_ERROR "${target}: ${src} not found; run scripts/setup.sh")
    endif()
    if(NOT EXISTS "${_stage}/${entry}")
      file(CREATE_LINK "${src}" "${_stage}/${entry}" SYMBOLIC)
    endif()
  endforeach()
  add_library(${target} INTERFACE IMPORTED)
  set_target_properties(${target} PROPERTIES INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${_stage}"
                                             INTERFACE_INCLUDE_DIRECTORIES "${_stage}")
endfunction()

# Highway in WASM: one static target (WASM, -msimd128), no runtime dispatch, so no libhwy.
_omega_stage_headers(omega_dep_hwy hwy)
set_property(TARGET omega_dep_hwy PROPERTY INTERFACE_COMPILE_DEFINITIONS HWY_COMPILE_ONLY_STATIC=1)
_omega_stage_headers(omega_dep_expected tl)
_omega_stage_headers(omega_dep_json nlohmann)
set(OMEGA_DEP_HWY omega_dep_hwy)
set(OMEGA_DEP_EXPECTED omega_dep_expected)
set(OMEGA_DEP_JSON omega_dep_json)
if(OMEGA_BUILD_TESTS)
  _omega_stage_headers(omega_dep_catch2 catch2)
  set(OMEGA_DEP_CATCH2 omega_dep_catch2)
endif()
