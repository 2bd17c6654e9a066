// --pre-js: runs inside Emscripten's factory before its set-up reads Module.
// The module is a guest in its host program. 3.1.6's Node glue ends the process from quit_
// (exit(), a JS exception escaping a callback from C++): process.exit(status), or
// process.exitCode = status when the runtime is kept alive. Here quit only throws, to
// whoever called in, and the host decides what a failure means. (The process-wide
// uncaughtException/unhandledRejection handlers are linked out: NODEJS_CATCH_EXIT=0,
// NODEJS_CATCH_REJECTION=0.) A quit passed in moduleArgs still wins.
if (!Module['quit']) {
  Module['quit'] = function (status, toThrow) {
    throw toThrow;
  };
}
