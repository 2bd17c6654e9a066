# Build-wide settings. Flags that change the ABI (sanitizers, wasm threads, wasm exceptions,
# SIMD) apply to every target in the build, because everything linked together must agree.

add_library(omega_default_settings INTERFACE)
target_compile_options(omega_default_settings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual)

if(OMEGA_SANITIZE)
  if(EMSCRIPTEN)
    message(FATAL_ERROR "OMEGA_SANITIZE is for native presets")
  endif()
  list(JOIN OMEGA_SANITIZE "," _omega_san)
  add_compile_options(-fsanitize=${_omega_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_omega_san})
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang" AND "undefined" IN_LIST OMEGA_SANITIZE)
    # clang 14's -fsanitize=function (part of "undefined") puts type data before a coroutine's
    # split resume/destroy clones that the assembler cannot place ("Cannot represent a
    # difference across sections"): the library's own coroutines (the swarm's runs) stop the
    # build. The check only concerns calls through mistyped function pointers.
    add_compile_options(-fno-sanitize=function)
  endif()
endif()

if(OMEGA_BUILD_FUZZ)
  if(EMSCRIPTEN OR NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "OMEGA_BUILD_FUZZ needs native clang (libFuzzer)")
  endif()
  # Coverage instrumentation for everything the fuzzers reach; only the fuzz targets link
  # libFuzzer's main (-fsanitize=fuzzer, in tests/fuzz).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(EMSCRIPTEN)
  # SIMD128 for Highway's static WASM target. Exceptions use Emscripten's JS-based scheme:
  # Debian's 3.1.6 ships its system libraries prebuilt for it (not for -fwasm-exceptions),
  # and a task that throws must still become TaskError::Panicked.
  add_compile_options(-msimd128 -fexceptions)
  add_link_options(-fexceptions -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=33554432)
  if(OMEGA_WASM_THREADS)
    add_compile_options(-pthread)
    # Every thread a program may use is created at start-up (DESIGN.md, "Threads in the
    # browser"); STRICT=2 turns pool exhaustion into an error instead of a silent deadlock.
    set(OMEGA_WASM_POOL_SIZE 8 CACHE STRING "Web Workers created at start-up in the threaded build")
    # No memory growth with threads: V8 tells the other threads' instances of a grown shared
    # memory lazily, and until one has noticed, its atomic accesses (bounds-checked against the
    # old size) to the new pages trap as "memory access out of bounds". Workers touch what the
    # main thread allocated just before (the next node's queue while a system is built), so
    # growth crashed them at random. The memory is fixed at start-up instead; an allocation
    # beyond it fails like any other (the JS package refuses such a configuration).
    set(OMEGA_WASM_MEMORY 268435456 CACHE STRING "Bytes of memory of the threaded build (fixed: no growth)")
    add_link_options(-pthread -sPTHREAD_POOL_SIZE=${OMEGA_WASM_POOL_SIZE} -sPTHREAD_POOL_SIZE_STRICT=2
                     -sALLOW_MEMORY_GROWTH=0 -sINITIAL_MEMORY=${OMEGA_WASM_MEMORY})
  endif()
endif()
