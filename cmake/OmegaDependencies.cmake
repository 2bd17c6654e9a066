# Third-party code, all from Debian packages (see README, "Dependencies"):
#   Highway (libhwy-dev)      SIMD for histogram merge/percentile scans
#   tl::expected (libexpected-dev)  base of omega::Result (std::expected is C++23)
#   nlohmann/json (nlohmann-json3-dev)  JSON rendering of metrics snapshots
#   Catch2 v2 (catch2)        tests
#   GNU Nettle (nettle-dev; WASM: Debian's nettle 3.8.1 source, unpacked by scripts/setup.sh)
#                             HMAC-SHA256 of the swarm coordinator's signed votes
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
  # Nettle by its file path, not an imported target: libomega.a's export then names the
  # library itself and find_package(omega) users need no Nettle package of their own.
  find_path(OMEGA_NETTLE_INCLUDE_DIR NAMES nettle/hmac.h)
  find_library(OMEGA_NETTLE_LIBRARY nettle)
  if(NOT OMEGA_NETTLE_INCLUDE_DIR OR NOT OMEGA_NETTLE_LIBRARY)
    message(FATAL_ERROR "GNU Nettle (nettle-dev) not found: run scripts/setup.sh")
  endif()
  set(OMEGA_DEP_NETTLE "${OMEGA_NETTLE_LIBRARY}")
  set(OMEGA_DEP_NETTLE_INCLUDE "${OMEGA_NETTLE_INCLUDE_DIR}")
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

# Nettle in WASM: the same release Debian ships natively (3.8.1), compiled from its source
# tarball, which scripts/setup.sh downloads, checks (sha256) and unpacks. Only what
# HMAC-SHA256 needs is compiled; the portable C code paths (no assembly).
set(OMEGA_NETTLE_SOURCE_DIR "${CMAKE_SOURCE_DIR}/build/deps/nettle-3.8.1" CACHE PATH
    "Nettle 3.8.1 source tree (unpacked by scripts/setup.sh)")
if(NOT EXISTS "${OMEGA_NETTLE_SOURCE_DIR}/hmac-sha256.c")
  message(FATAL_ERROR "Nettle source not found in ${OMEGA_NETTLE_SOURCE_DIR}: run scripts/setup.sh "
                      "(it downloads nettle_3.8.1.orig.tar.gz from deb.debian.org and unpacks it there)")
endif()
# Users include <nettle/hmac.h>, as natively; the tarball's headers sit at its top level.
set(_nettle_stage "${CMAKE_BINARY_DIR}/_omega_deps/nettle_include")
file(MAKE_DIRECTORY "${_nettle_stage}")
if(NOT EXISTS "${_nettle_stage}/nettle")
  file(CREATE_LINK "${OMEGA_NETTLE_SOURCE_DIR}" "${_nettle_stage}/nettle" SYMBOLIC)
endif()
add_library(omega_dep_nettle OBJECT
  "${OMEGA_NETTLE_SOURCE_DIR}/hmac.c"
  "${OMEGA_NETTLE_SOURCE_DIR}/hmac-sha256.c"
  "${OMEGA_NETTLE_SOURCE_DIR}/sha256.c"
  "${OMEGA_NETTLE_SOURCE_DIR}/sha256-compress.c"
  "${OMEGA_NETTLE_SOURCE_DIR}/sha256-meta.c"
  "${OMEGA_NETTLE_SOURCE_DIR}/write-be32.c"
  "${OMEGA_NETTLE_SOURCE_DIR}/memxor.c")
# The few config.h facts these files use. alloca matters: without it Nettle's TMP_ALLOC is a
# block-scoped array, and hmac_set_key keeps a pointer to one past its block when it hashes a
# key longer than 64 bytes (RFC 4231 cases 6 and 7 then fail).
set(_nettle_config "${CMAKE_BINARY_DIR}/_omega_deps/nettle_config")
file(WRITE "${_nettle_config}/config.h.in"
  "/* Written by cmake/OmegaDependencies.cmake for the WASM build of Nettle's HMAC-SHA256. */\n"
  "#define HAVE_ALLOCA 1\n#define HAVE_ALLOCA_H 1\n#include <alloca.h>\n")
configure_file("${_nettle_config}/config.h.in" "${_nettle_config}/config.h" COPYONLY)
set_target_properties(omega_dep_nettle PROPERTIES C_STANDARD 99 POSITION_INDEPENDENT_CODE ON)
target_compile_definitions(omega_dep_nettle PRIVATE HAVE_CONFIG_H=1)
target_include_directories(omega_dep_nettle PRIVATE "${_nettle_config}")
target_compile_options(omega_dep_nettle PRIVATE -O2)
set(OMEGA_DEP_NETTLE omega_dep_nettle)
set(OMEGA_DEP_NETTLE_INCLUDE "${_nettle_stage}")
