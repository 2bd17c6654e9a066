// --post-js (threaded build): runs inside Emscripten's factory after its set-up.
// Under Node, 3.1.6 keeps every pool worker referenced, so a script that used the threaded
// build never exits. Once the module is ready (the pool has loaded, so start-up itself is
// not cut short) the workers are unreferenced: like a native program when main() returns,
// the process ends when the user's own work is done, whatever pool threads are parked.
// Layers that hand results to JS through Promises must hold a reference of their own
// while one is pending, so an awaited result is never cut off.
if (ENVIRONMENT_IS_NODE && typeof PThread == 'object') {
  addOnPostRun(function () {
    PThread.unusedWorkers.concat(PThread.runningWorkers).forEach(function (worker) { worker.unref(); });
  });
}
