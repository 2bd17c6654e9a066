#pragma once
// The seed's pipeline (seed 003, steady_state's "performant" lesson) as a ready graph:
//
//   Generator (256/batch) -> Worker (256/batch) -> Logger (1024/batch)
//                              ^ Heartbeat (32/burst)
//
// Generator and Heartbeat share one team; Worker and Logger have threads of their own. The
// Heartbeat sends a burst of `beat_burst` beats every `rate` and asks the graph to shut down
// after `beats` bursts. Each beat licenses the Worker to move `values_per_beat` values, in
// worker_batch slices, turning each value into a FizzBuzz message for the Logger (so the
// heartbeat paces the pipeline: at most rate x beat_burst x values_per_beat per second); once
// the Heartbeat has stopped the Worker moves everything left.
// The Logger checks every value arrives exactly once, in order (count and checksum).
// omega-pipeline (apps/pipeline), omega.runPipeline (JS) and bench/actor_bench run this.
//
//   omega::actor::PipelineConfig c;
//   c.rate = std::chrono::milliseconds(1);
//   c.beats = 10000;
//   omega::actor::Pipeline p(c);
//   p.start();
//   p.graph().block_until_stopped(std::chrono::seconds(60));
//   omega::actor::PipelineReport r = p.report();   // r.exactly_once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <omega/actor/actor.hpp>

namespace omega::actor {

struct PipelineConfig {
  std::chrono::milliseconds rate{10};      // between heartbeat bursts (steady_state's --rate)
  std::uint64_t beats = 1000;              // bursts before shutdown (--beats)
  std::size_t beat_burst = 32;             // beats per burst
  std::size_t values_per_beat = 4096;      // values each beat licenses the Worker to move
  std::size_t generator_batch = 256;
  std::size_t worker_batch = 256;          // --batch
  std::size_t logger_batch = 1024;
  std::size_t capacity = 8192;             // every channel
  std::chrono::milliseconds telemetry_period{100};
  // For tests: the Worker throws once every this many values it has moved (0: never); the
  // restart must lose and duplicate nothing.
  std::uint64_t worker_fault_every = 0;
  // The graph's supervisor policy (the Worker restarts under it).
  RestartPolicy restart_policy;
  // Why this configuration is unusable, or empty (each reason names the field and its bounds).
  [[nodiscard]] std::string validate() const;
};

// FizzBuzz, as the Worker sends it: the value, tagged.
struct FizzBuzz {
  enum Kind : std::uint8_t { Value, Fizz, Buzz, FizzBuzzKind };
  std::uint64_t value = 0;
  Kind kind = Value;
};

struct PipelineReport {
  std::uint64_t generated = 0;         // values the Generator sent
  std::uint64_t logged = 0;            // messages the Logger took
  std::uint64_t heartbeats = 0;        // beats sent
  std::uint64_t bursts = 0;
  std::uint64_t generated_checksum = 0;
  std::uint64_t logged_checksum = 0;
  std::uint64_t out_of_order = 0;      // messages whose value was not the next expected
  std::uint64_t fizz = 0, buzz = 0, fizzbuzz = 0;
  std::uint64_t worker_restarts = 0;
  double elapsed_s = 0;                // from start() to the Logger's last message
  double msgs_per_sec = 0;             // logged / elapsed_s
  bool finished = false;               // every actor stopped
  // Every generated value logged exactly once, in order, and the pipeline finished.
  bool exactly_once = false;
  [[nodiscard]] std::string to_json() const;
};

class Pipeline {
 public:
  // Throws std::invalid_argument with PipelineConfig::validate()'s reason.
  explicit Pipeline(PipelineConfig config);
  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;
  ~Pipeline();

  void start();
  [[nodiscard]] Graph& graph() noexcept;
  [[nodiscard]] const PipelineConfig& config() const noexcept;
  // Safe at any time; final once graph().stopped().
  [[nodiscard]] PipelineReport report() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace omega::actor
