// omega-pipeline: the seed's actor pipeline (seed 003, steady_state's "performant" lesson)
// as a program, running omega::actor::Pipeline (the same graph that omega.runPipeline and
// bench/actor_bench run).
//
//   build/native-release/apps/pipeline/omega-pipeline --rate 1 --beats 10000
//
// Every second it prints each channel's messages per second (taken by its receiver over
// that second) and fill; at the end the totals and the exactly-once verdict: every value the
// Generator sent reached the Logger once, in order (count and checksum), and every actor
// stopped. Exit status: 0 the verdict holds; 1 it does not; 2 bad arguments (the message
// names the flag); 3 timed out (--timeout).
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <omega/actor/actor.hpp>
#include <omega/actor/pipeline.hpp>

#include "options.hpp"

namespace oa = omega::actor;
namespace app = omega::pipeline_app;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitTimedOut = 3;
// How long a timed-out run gets to drain after shutdown is asked, before it is reported as
// it stands (~Pipeline then stops what is left).
constexpr std::chrono::seconds kTimeoutGrace{5};
// The main thread wakes at least this often to notice a signal or the deadline.
constexpr std::chrono::milliseconds kWakeEvery{50};

volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_signal(int sig) { g_signal = sig; }

void install_signal_handlers() {
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;  // a second signal kills the process the usual way
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

std::string fmt_rate(double v) {
  char buf[32];
  if (v >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2f G/s", v / 1e9);
  } else if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f M/s", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.2f k/s", v / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f /s", v);
  }
  return buf;
}

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016" PRIx64, v);
  return buf;
}

// Each channel's taken count at the previous line, to rate the messages over exactly the
// span between two frames (a frame's own msgs_per_sec covers only its telemetry period).
struct Previous {
  std::int64_t at_ns = 0;
  std::vector<std::pair<std::string, std::uint64_t>> taken;
  [[nodiscard]] std::uint64_t of(const std::string& name) const {
    for (const auto& [n, t] : taken) {
      if (n == name) return t;
    }
    return 0;
  }
};

void print_second(const oa::Telemetry& t, const oa::PipelineReport& r, double since_start_s, Previous& prev,
                  bool json) {
  const double span_s = static_cast<double>(t.at_ns - prev.at_ns) / 1e9;
  nlohmann::ordered_json line;
  std::string text;
  if (json) {
    line = {{"type", "second"},        {"t_s", since_start_s},      {"bursts", r.bursts},
            {"generated", r.generated}, {"logged", r.logged},         {"channels", nlohmann::ordered_json::array()},
            {"actors", nlohmann::ordered_json::array()}};
  } else {
    char head[48];
    std::snprintf(head, sizeof head, "%7.1f s", since_start_s);
    text = head;
  }
  Previous next{t.at_ns, {}};
  for (const oa::ChannelTelemetry& c : t.channels) {
    const std::uint64_t taken = c.counters.taken;
    // No new frame since the last line (a telemetry period over a second): the frame's own rate.
    const double rate =
        span_s > 0 ? static_cast<double>(taken - std::min(taken, prev.of(c.name))) / span_s : c.msgs_per_sec;
    next.taken.emplace_back(c.name, taken);
    if (json) {
      line["channels"].push_back({{"name", c.name},
                                  {"from", c.from},
                                  {"to", c.to},
                                  {"msgs_per_sec", rate},
                                  {"sampled_msgs_per_sec", c.msgs_per_sec},
                                  {"fill_percent", c.fill_percent},
                                  {"len", c.len},
                                  {"capacity", c.capacity},
                                  {"sent", c.counters.sent},
                                  {"taken", taken},
                                  {"latency_ms", c.latency_ms},
                                  {"closed", c.closed}});
    } else {
      char cell[96];
      std::snprintf(cell, sizeof cell, " | %s %s fill %.0f%%", c.name.c_str(), fmt_rate(rate).c_str(), c.fill_percent);
      text += cell;
    }
  }
  if (json) {
    for (const oa::ActorTelemetry& a : t.actors) {
      line["actors"].push_back({{"name", a.name},
                                {"team", a.team},
                                {"state", std::string(oa::to_string(a.state))},
                                {"cpu_percent", a.cpu_percent},
                                {"polls", a.polls},
                                {"restarts", a.restarts}});
    }
    std::printf("%s\n", line.dump().c_str());
  } else {
    std::printf("%s\n", text.c_str());
  }
  std::fflush(stdout);
  prev = std::move(next);
}

// The verdict's reasons, for a run that is not exactly once.
std::string failures(const oa::PipelineReport& r) {
  std::string why;
  const auto add = [&why](const std::string& s) { why += (why.empty() ? "" : "; ") + s; };
  if (r.generated == 0) add("nothing was generated");
  if (r.logged != r.generated) {
    add("logged " + std::to_string(r.logged) + " of " + std::to_string(r.generated) + " generated values");
  }
  if (r.logged_checksum != r.generated_checksum) add("checksums differ");
  if (r.out_of_order != 0) add(std::to_string(r.out_of_order) + " out of order");
  if (!r.finished) add("the pipeline did not finish");
  return why.empty() ? "the pipeline's own check failed" : why;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto cl = app::parse_command_line(args);
  if (!cl) {
    std::fprintf(stderr, "omega-pipeline: %s\n\n%s", cl.error().c_str(), app::usage().c_str());
    return kExitUsage;
  }
  if (cl->help) {
    std::fputs(app::usage().c_str(), stdout);
    return 0;
  }
  const oa::PipelineConfig& config = cl->config;
  if (const std::string why = config.validate(); !why.empty()) {
    // validate() names PipelineConfig's fields; say which flags set them.
    std::fprintf(stderr,
                 "omega-pipeline: the configuration is refused: %s\n(--rate sets rate, --beats beats, --batch "
                 "worker_batch, --telemetry-ms telemetry_period)\n\n%s",
                 why.c_str(), app::usage().c_str());
    return kExitUsage;
  }
  const bool json = cl->json;
  // rate x beats reaches 3.6e15 ms at the flags' bounds: capped (a century) before it becomes
  // nanoseconds.
  constexpr std::int64_t kCenturyMs = 100LL * 365 * 24 * 3600 * 1000;
  const std::int64_t run_ms = config.rate.count() * static_cast<std::int64_t>(config.beats);
  const std::chrono::milliseconds timeout_ms =
      cl->timeout.count() > 0 ? cl->timeout
                              : std::chrono::milliseconds(std::min(run_ms, kCenturyMs)) + app::kTimeoutSlack;
  const auto timeout = std::chrono::duration_cast<Clock::duration>(timeout_ms);

  install_signal_handlers();
  std::optional<oa::Pipeline> pipeline;
  try {
    pipeline.emplace(config);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "omega-pipeline: %s\n", e.what());
    return kExitUsage;
  }
  oa::Pipeline& p = *pipeline;
  if (!json) {
    std::printf("omega-pipeline: a burst of %zu beats every %lld ms, %" PRIu64
                " bursts, each beat licensing %zu values; batches: generator %zu, worker %zu, logger %zu; "
                "channels of %zu\n",
                config.beat_burst, static_cast<long long>(config.rate.count()), config.beats, config.values_per_beat,
                config.generator_batch, config.worker_batch, config.logger_batch, config.capacity);
    std::fflush(stdout);
  }

  const Clock::time_point t0 = Clock::now();
  p.start();
  Previous prev{p.graph().telemetry().at_ns, {}};
  const Clock::time_point deadline = t0 + timeout;
  Clock::time_point next_line = t0 + std::chrono::seconds(1);
  bool timed_out = false;
  bool interrupted = false;
  for (;;) {
    const Clock::time_point now = Clock::now();
    const Clock::duration slice = std::min({next_line - now, deadline - now, Clock::duration(kWakeEvery)});
    if (p.graph().block_until_stopped(std::max(slice, Clock::duration::zero()))) break;
    if (g_signal != 0 && !interrupted) {
      interrupted = true;
      if (!json) std::printf("omega-pipeline: signal %d, shutting down (draining)\n", static_cast<int>(g_signal));
      p.graph().request_shutdown();
    }
    const Clock::time_point after = Clock::now();
    if (after >= deadline) {
      timed_out = true;
      p.graph().request_shutdown();
      p.graph().block_until_stopped(kTimeoutGrace);
      break;
    }
    if (after >= next_line) {
      print_second(p.graph().telemetry(), p.report(), std::chrono::duration<double>(after - t0).count(), prev, json);
      next_line += std::chrono::seconds(1);
    }
  }

  // Once the graph has stopped, telemetry() is a frame that shows it stopped.
  const oa::Telemetry final_frame = p.graph().telemetry();
  const oa::PipelineReport r = p.report();
  std::uint64_t restarts = 0;
  for (const oa::ActorTelemetry& a : final_frame.actors) restarts += a.restarts;
  const int status = timed_out ? kExitTimedOut : (r.exactly_once ? 0 : kExitFailed);
  const double timeout_s = std::chrono::duration<double>(timeout).count();

  if (json) {
    nlohmann::ordered_json out{{"type", "report"}};
    if (const auto fields = nlohmann::ordered_json::parse(r.to_json(), nullptr, /*allow_exceptions=*/false);
        fields.is_object()) {
      out.update(fields);
    }
    // The fields the verdict rests on, whatever to_json() spells.
    out["generated"] = r.generated;
    out["logged"] = r.logged;
    out["exactly_once"] = r.exactly_once;
    out["restarts"] = restarts;
    out["interrupted"] = interrupted;
    out["timed_out"] = timed_out;
    out["exit_status"] = status;
    out["config"] = {{"rate_ms", config.rate.count()},
                     {"beats", config.beats},
                     {"beat_burst", config.beat_burst},
                     {"values_per_beat", config.values_per_beat},
                     {"generator_batch", config.generator_batch},
                     {"worker_batch", config.worker_batch},
                     {"logger_batch", config.logger_batch},
                     {"capacity", config.capacity},
                     {"telemetry_ms", config.telemetry_period.count()},
                     {"worker_fault_every", config.worker_fault_every}};
    if (cl->prometheus) out["prometheus"] = final_frame.to_prometheus();
    if (cl->dot) out["dot"] = final_frame.to_dot();
    std::printf("%s\n", out.dump().c_str());
    return status;
  }

  std::printf("total: %" PRIu64 " generated, %" PRIu64 " logged in %.3f s = %s\n", r.generated, r.logged,
              r.elapsed_s, fmt_rate(r.msgs_per_sec).c_str());
  std::printf("       %" PRIu64 " bursts, %" PRIu64 " beats; fizz %" PRIu64 ", buzz %" PRIu64 ", fizzbuzz %" PRIu64
              "; %" PRIu64 " out of order\n",
              r.bursts, r.heartbeats, r.fizz, r.buzz, r.fizzbuzz, r.out_of_order);
  std::printf("       checksum: generated %s, logged %s (%s)\n", hex(r.generated_checksum).c_str(),
              hex(r.logged_checksum).c_str(), r.generated_checksum == r.logged_checksum ? "match" : "DIFFER");
  std::printf("       restarts: %" PRIu64 " (worker %" PRIu64 ")%s\n", restarts, r.worker_restarts,
              interrupted ? "; interrupted by a signal" : "");
  if (timed_out) {
    std::printf("omega-pipeline: timed out after %.3f s (%" PRIu64 " of %" PRIu64 " bursts sent)\n", timeout_s,
                r.bursts, config.beats);
  }
  if (r.exactly_once) {
    std::printf("omega-pipeline: exactly once: all %" PRIu64 " generated values were logged once, in order\n",
                r.generated);
  } else {
    std::printf("omega-pipeline: NOT exactly once: %s\n", failures(r).c_str());
  }
  if (cl->prometheus) {
    std::printf("# omega-pipeline: the final telemetry frame (Prometheus text exposition 0.0.4)\n%s",
                final_frame.to_prometheus().c_str());
  }
  if (cl->dot) std::printf("%s", final_frame.to_dot().c_str());
  return status;
}
