// Catch2 v2's main, compiled once for all test files.
#if defined(__EMSCRIPTEN__)
#define CATCH_CONFIG_NO_POSIX_SIGNALS  // no signal handling in WASM
#endif
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
