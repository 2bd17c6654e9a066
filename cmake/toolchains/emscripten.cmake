# Emscripten toolchain for Ultra Omega: Debian's emscripten 3.1.6 plus the environment it
# needs, supplied by the build so nothing has to be exported in a shell first.
set(OMEGA_EMSCRIPTEN_ROOT "/usr/share/emscripten" CACHE PATH "Emscripten installation (Debian: /usr/share/emscripten)")
include("${OMEGA_EMSCRIPTEN_ROOT}/cmake/Modules/Platform/Emscripten.cmake")

# emcc's JS optimizer runs acorn under Node; Debian installs acorn under /usr/share/nodejs,
# which Node only searches when NODE_PATH says so. Configure-time checks inherit ENV;
# build-time compiles and links get it through the launchers.
set(OMEGA_NODE_PATH "/usr/share/nodejs" CACHE PATH "Where Emscripten's Node helpers (acorn) live")
set(ENV{NODE_PATH} "${OMEGA_NODE_PATH}")
set(CMAKE_C_COMPILER_LAUNCHER "${CMAKE_COMMAND};-E;env;NODE_PATH=${OMEGA_NODE_PATH}")
set(CMAKE_CXX_COMPILER_LAUNCHER "${CMAKE_COMMAND};-E;env;NODE_PATH=${OMEGA_NODE_PATH}")
set(CMAKE_CXX_LINKER_LAUNCHER "${CMAKE_COMMAND};-E;env;NODE_PATH=${OMEGA_NODE_PATH}")

# Test binaries are CommonJS glue; 3.1.6's glue would try fetch() on a file path under
# Node 20's global fetch, so ctest runs them with fetch disabled.
find_program(OMEGA_NODE_EXECUTABLE node REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR "${OMEGA_NODE_EXECUTABLE};--no-experimental-fetch" CACHE STRING "" FORCE)
