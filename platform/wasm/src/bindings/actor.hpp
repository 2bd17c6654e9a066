#pragma once
// NativePipeline: the seed's actor pipeline (omega::actor::Pipeline) from JS, wrapped by
// js/actor.mjs (omega.runPipeline). The graph is the same C++ as natively: in the threaded
// build its three teams have threads (and telemetry its sampler); in the single-threaded build
// nothing has a thread and the wrapper drives run_pending() from the event loop, a slice at a
// time, sleeping until next_deadline_ns() when nothing is runnable. Nothing here blocks the
// calling thread: the wrapper waits for the actors to stop (stopped()), then release() hands
// the pipeline to a short-lived thread of its own that joins the teams' threads (a join on
// the browser's main thread would block it, and Emscripten warns of each), and the wrapper
// deletes this object once released() says that is done.
#include <atomic>
#include <memory>
#include <string>

#include <omega/actor/pipeline.hpp>

#include "js_common.hpp"

namespace omega::js {

class JsPipeline {
 public:
  JsPipeline() = default;
  JsPipeline(const JsPipeline&) = delete;
  JsPipeline& operator=(const JsPipeline&) = delete;
  ~JsPipeline();

  // config: { rate, beats, batch, telemetryPeriodMs, workerFaultEvery } (all optional).
  // Builds and starts the pipeline: {ok: true} or a refusal ({ok: false, error[, range]},
  // counted; {ok: false, error, backpressure: true} when the thread pool has no room).
  val init(const val& config);
  // The latest telemetry frame, camelCased: {seq, atNs, periodS, shuttingDown, stopped,
  // actors: [...], channels: [...]}.
  val telemetry() const;
  std::string to_dot() const;
  std::string to_prometheus() const;
  // PipelineReport, camelCased; the checksums as decimal strings (64 bits do not fit a JS
  // number).
  val report() const;
  // The configuration in force, defaults filled in.
  val config() const;
  // {actors, teams, threadedTeams}.
  val info() const;
  void request_shutdown();
  bool stopped() const;
  // Polls the actors of teams without a thread, up to `budget` polls and no longer than one
  // event-loop slice; returns the polls run (0 in the threaded build, whose teams have threads).
  double run_pending(const val& budget);
  // Milliseconds until a thread-less team's next timer (0: due now; Infinity: none).
  double next_due_in_ms() const;
  // Frees the pipeline and its threads: at once where joining them cannot block this thread
  // (no threads, or this thread may park), otherwise on a detached thread. Idempotent; the
  // other calls then answer as for a pipeline that never started.
  void release();
  // The pipeline is freed, its threads joined (true before init() and after release()
  // finished).
  bool released() const;

 private:
  std::unique_ptr<actor::Pipeline> pipeline_;
  // Set by the thread that frees the pipeline when release() handed it one.
  std::shared_ptr<std::atomic<bool>> released_;
};

}  // namespace omega::js
