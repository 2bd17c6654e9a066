#include <omega/actor/pipeline.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include <omega/base/clock.hpp>

namespace omega::actor {

namespace {

// Order-independent; with the Logger's order check it proves exactly once, in order.
constexpr std::uint64_t mix(std::uint64_t v) noexcept { return (v + 1) * 0x9E3779B97F4A7C15ULL; }

constexpr FizzBuzz::Kind kind_of(std::uint64_t v) noexcept {
  if (v % 15 == 0) return FizzBuzz::FizzBuzzKind;
  if (v % 3 == 0) return FizzBuzz::Fizz;
  if (v % 5 == 0) return FizzBuzz::Buzz;
  return FizzBuzz::Value;
}

// What the actors publish for report() (each field has one writer).
struct Shared {
  std::atomic<std::uint64_t> generated{0}, generated_checksum{0}, heartbeats{0}, bursts{0};
  std::atomic<std::uint64_t> logged{0}, logged_checksum{0}, out_of_order{0}, fizz{0}, buzz{0}, fizzbuzz{0};
  std::atomic<std::int64_t> last_logged_ns{0};
};

void publish(std::atomic<std::uint64_t>& to, std::uint64_t v) noexcept { to.store(v, std::memory_order_relaxed); }

struct GeneratorState {
  Shared* shared;
  std::uint64_t next = 0;
  std::uint64_t checksum = 0;
};
struct HeartbeatState {
  Shared* shared;
  std::uint64_t bursts = 0;
  std::uint64_t beats_sent = 0;
};
struct WorkerState {
  std::uint64_t moved = 0;
  std::uint64_t next_fault = 0;  // the Worker throws when `moved` would pass this (0: never)
};
struct LoggerState {
  Shared* shared;
  std::uint64_t logged = 0;
  std::uint64_t expected = 0;
  std::uint64_t checksum = 0;
  std::uint64_t out_of_order = 0;
  std::array<std::uint64_t, 4> kinds{};
};

}  // namespace

std::string PipelineConfig::validate() const {
  std::string why;
  const auto add = [&why](const std::string& s) { why += (why.empty() ? "" : "; ") + s; };
  if (rate.count() < 1 || rate.count() > 60'000) add("rate: " + std::to_string(rate.count()) + " ms is outside 1 to 60000");
  if (beats < 1 || beats > 1'000'000'000) add("beats: " + std::to_string(beats) + " is outside 1 to 1000000000");
  if (capacity < 16 || capacity > (std::size_t{1} << 24)) {
    add("capacity: " + std::to_string(capacity) + " is outside 16 to 16777216");
  }
  const auto batch = [&](const char* name, std::size_t v) {
    if (v < 1 || v > capacity) add(std::string(name) + ": " + std::to_string(v) + " is outside 1 to capacity (" +
                                   std::to_string(capacity) + ")");
  };
  batch("beat_burst", beat_burst);
  if (values_per_beat < 1 || values_per_beat > (std::size_t{1} << 24)) {
    add("values_per_beat: " + std::to_string(values_per_beat) + " is outside 1 to 16777216");
  }
  batch("generator_batch", generator_batch);
  batch("worker_batch", worker_batch);
  batch("logger_batch", logger_batch);
  // The Logger waits for logger_batch items while the Worker waits for room for worker_batch:
  // both cannot hold at once unless the channel has room for both.
  if (logger_batch + worker_batch > capacity) {
    add("logger_batch + worker_batch: " + std::to_string(logger_batch + worker_batch) + " exceeds capacity (" +
        std::to_string(capacity) + "): the Worker and the Logger could wait on each other");
  }
  if (telemetry_period.count() < 0 || telemetry_period > std::chrono::hours(1)) {
    add("telemetry_period: outside 0 to 1 hour");
  }
  if (std::string r = restart_policy.validate(); !r.empty()) add(r);
  return why;
}

std::string PipelineReport::to_json() const {
  nlohmann::json j{{"generated", generated},
                   {"logged", logged},
                   {"heartbeats", heartbeats},
                   {"bursts", bursts},
                   {"generated_checksum", generated_checksum},
                   {"logged_checksum", logged_checksum},
                   {"out_of_order", out_of_order},
                   {"fizz", fizz},
                   {"buzz", buzz},
                   {"fizzbuzz", fizzbuzz},
                   {"worker_restarts", worker_restarts},
                   {"elapsed_s", elapsed_s},
                   {"msgs_per_sec", msgs_per_sec},
                   {"finished", finished},
                   {"exactly_once", exactly_once}};
  return j.dump();
}

struct Pipeline::Impl {
  explicit Impl(PipelineConfig c)
      : config(std::move(c)),
        graph(Graph::builder()
                  .with_telemetry_period(config.telemetry_period)
                  .with_restart_policy(config.restart_policy)
                  .build()) {}

  PipelineConfig config;
  Shared shared;
  Graph graph;
  std::int64_t started_ns = 0;
};

Pipeline::Pipeline(PipelineConfig config) {
  if (std::string why = config.validate(); !why.empty()) throw std::invalid_argument("PipelineConfig: " + why);
  impl_ = std::make_unique<Impl>(std::move(config));
  Impl& p = *impl_;
  const PipelineConfig& c = p.config;
  Graph& g = p.graph;
  Shared* sh = &p.shared;

  auto [beat_tx, beat_rx] = g.channel<std::uint64_t>("heartbeat", c.capacity);
  auto [value_tx, value_rx] = g.channel<std::uint64_t>("values", c.capacity);
  auto [fizz_tx, fizz_rx] = g.channel<FizzBuzz>("fizzbuzz", c.capacity);
  Team light = g.team("light");

  g.actor("generator", Threading::Join(light), GeneratorState{sh},
          [tx = std::move(value_tx), batch = std::vector<std::uint64_t>(c.generator_batch)](
              Context& ctx, GeneratorState& s) mutable -> Behavior {
            while (ctx.is_running()) {
              co_await ctx.wait_for_all(tx.vacant(batch.size()));
              for (std::size_t i = 0; i < batch.size(); ++i) batch[i] = s.next + i;
              const std::size_t n = tx.send_slice_until_full(batch);
              for (std::size_t i = 0; i < n; ++i) s.checksum += mix(batch[i]);
              s.next += n;
              publish(s.shared->generated, s.next);
              publish(s.shared->generated_checksum, s.checksum);
            }
          });

  g.actor("heartbeat", Threading::Join(light), HeartbeatState{sh},
          [tx = std::move(beat_tx), rate = c.rate, beats = c.beats, burst = std::vector<std::uint64_t>(c.beat_burst)](
              Context& ctx, HeartbeatState& s) mutable -> Behavior {
            while (ctx.is_running() && s.bursts < beats) {
              co_await ctx.wait_for_all(ctx.periodic(rate), tx.vacant(burst.size()));
              if (!ctx.is_running()) break;
              for (std::size_t i = 0; i < burst.size(); ++i) burst[i] = s.beats_sent + i;
              s.beats_sent += tx.send_slice_until_full(burst);
              ++s.bursts;
              publish(s.shared->heartbeats, s.beats_sent);
              publish(s.shared->bursts, s.bursts);
            }
            if (s.bursts >= beats) ctx.request_shutdown();
          });

  g.actor("worker", Threading::Spawn, WorkerState{0, c.worker_fault_every},
          [beats = std::move(beat_rx), values = std::move(value_rx), out = std::move(fizz_tx),
           fault_every = c.worker_fault_every, per_beat = c.values_per_beat, in = std::vector<std::uint64_t>(c.worker_batch),
           msgs = std::vector<FizzBuzz>(c.worker_batch), beat_buf = std::vector<std::uint64_t>(c.beat_burst)](
              Context& ctx, WorkerState& s) mutable -> Behavior {
            // Peek, convert, send, then advance by what was sent: a throw (or a full channel)
            // loses and repeats nothing.
            while (ctx.is_running(values, beats)) {
              co_await ctx.wait_for_all(beats.avail(1));
              const bool paced = !beats.is_closed_and_empty();
              std::size_t licensed = SIZE_MAX;  // once the Heartbeat has stopped: everything left
              if (paced) {
                licensed = beats.take_slice(beat_buf) * per_beat;
                if (licensed == 0) continue;
              }
              while (licensed > 0) {
                const std::size_t want = std::min(licensed, in.size());
                co_await ctx.wait_for_all(values.avail(want), out.vacant(want));
                const std::size_t n = values.peek_slice(std::span(in.data(), want));
                if (n == 0) break;  // closed and drained
                if (fault_every != 0 && s.moved + n > s.next_fault) {
                  s.next_fault += fault_every;
                  throw std::runtime_error("worker: injected fault at value " + std::to_string(s.moved));
                }
                for (std::size_t i = 0; i < n; ++i) msgs[i] = FizzBuzz{in[i], kind_of(in[i])};
                const std::size_t m = out.send_slice_until_full(std::span<const FizzBuzz>(msgs.data(), n));
                if (m == 0 && out.receiver_stopped()) co_return;  // the Logger is gone: nothing can go on
                values.advance(m);
                s.moved += m;
                if (paced) licensed -= m;
              }
            }
          });

  g.actor("logger", Threading::Spawn, LoggerState{sh},
          [rx = std::move(fizz_rx), batch = std::vector<FizzBuzz>(c.logger_batch)](Context& ctx,
                                                                                   LoggerState& s) mutable -> Behavior {
            while (ctx.is_running(rx)) {
              co_await ctx.wait_for_all(rx.avail(batch.size()));
              const std::size_t n = rx.peek_slice(batch);
              for (std::size_t i = 0; i < n; ++i) {
                const FizzBuzz& m = batch[i];
                if (m.value != s.expected) ++s.out_of_order;
                s.expected = m.value + 1;
                s.checksum += mix(m.value);
                ++s.kinds[m.kind];
              }
              rx.advance(n);
              s.logged += n;
              if (n > 0) {
                publish(s.shared->logged, s.logged);
                publish(s.shared->logged_checksum, s.checksum);
                publish(s.shared->out_of_order, s.out_of_order);
                publish(s.shared->fizz, s.kinds[FizzBuzz::Fizz]);
                publish(s.shared->buzz, s.kinds[FizzBuzz::Buzz]);
                publish(s.shared->fizzbuzz, s.kinds[FizzBuzz::FizzBuzzKind]);
                s.shared->last_logged_ns.store(now_ns(), std::memory_order_relaxed);
              }
            }
          });
}

Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;
Pipeline::~Pipeline() = default;

void Pipeline::start() {
  impl_->started_ns = now_ns();
  impl_->graph.start();
}

Graph& Pipeline::graph() noexcept { return impl_->graph; }
const PipelineConfig& Pipeline::config() const noexcept { return impl_->config; }

PipelineReport Pipeline::report() const {
  const Impl& p = *impl_;
  const Shared& sh = p.shared;
  PipelineReport r;
  r.finished = p.graph.stopped();
  r.generated = sh.generated.load(std::memory_order_acquire);
  r.generated_checksum = sh.generated_checksum.load(std::memory_order_acquire);
  r.heartbeats = sh.heartbeats.load(std::memory_order_acquire);
  r.bursts = sh.bursts.load(std::memory_order_acquire);
  r.logged = sh.logged.load(std::memory_order_acquire);
  r.logged_checksum = sh.logged_checksum.load(std::memory_order_acquire);
  r.out_of_order = sh.out_of_order.load(std::memory_order_acquire);
  r.fizz = sh.fizz.load(std::memory_order_acquire);
  r.buzz = sh.buzz.load(std::memory_order_acquire);
  r.fizzbuzz = sh.fizzbuzz.load(std::memory_order_acquire);
  const Telemetry t = p.graph.telemetry();
  if (const ActorTelemetry* w = t.actor("worker")) r.worker_restarts = w->restarts;
  const std::int64_t last = sh.last_logged_ns.load(std::memory_order_acquire);
  if (p.started_ns != 0 && last > p.started_ns) r.elapsed_s = static_cast<double>(last - p.started_ns) / 1e9;
  if (r.elapsed_s > 0) r.msgs_per_sec = static_cast<double>(r.logged) / r.elapsed_s;
  r.exactly_once = r.finished && r.generated > 0 && r.logged == r.generated &&
                   r.logged_checksum == r.generated_checksum && r.out_of_order == 0;
  return r;
}

}  // namespace omega::actor
