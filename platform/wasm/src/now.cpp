// The clock read behind PerfNowClock (clock_impl.hpp). This must stay the first declaration of
// emscripten_get_now in this file: nothrow, so the call is a plain import call, never a JS
// exception trampoline. The import is JavaScript's performance.now() and throws nothing.
extern "C" double emscripten_get_now(void) __attribute__((nothrow));

extern "C" double omega_wasm_now_ms() noexcept { return emscripten_get_now(); }
