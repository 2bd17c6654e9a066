#include "options.hpp"

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>

namespace omega::pipeline_app {
namespace {

constexpr std::uint64_t kMaxRateMs = 60'000;           // a minute between bursts (PipelineConfig's bound)
constexpr std::uint64_t kMaxBeats = 1'000'000'000;     // bursts
constexpr std::uint64_t kMaxBatch = 1u << 20;          // PipelineConfig::validate holds it to the channels
constexpr std::uint64_t kMaxTelemetryMs = 3'600'000;
constexpr std::uint64_t kMaxFaultEvery = 1'000'000'000'000;
constexpr double kMaxTimeoutS = 7 * 24 * 3600.0;

// Plain decimal digits only: no sign, no spaces, no 0x, no exponent (strtoull would take
// " -1" and wrap it).
std::optional<std::uint64_t> parse_unsigned(const std::string& text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// Seconds as digits with at most one decimal point ("5", "0.5", "2."): no sign, exponent,
// inf or nan.
std::optional<double> parse_seconds(const std::string& text) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  int dots = 0;
  int digits = 0;
  for (char c : text) {
    if (c == '.') {
      ++dots;
    } else if (c >= '0' && c <= '9') {
      ++digits;
    } else {
      return std::nullopt;
    }
  }
  if (dots > 1 || digits == 0) return std::nullopt;
  return std::strtod(text.c_str(), nullptr);
}

}  // namespace

std::string usage() {
  const actor::PipelineConfig d;
  return "usage: omega-pipeline [options]\n"
         "\n"
         "Runs the seed's actor pipeline (Generator -> Worker -> Logger, a Heartbeat pacing the\n"
         "Worker; Generator and Heartbeat share one team, Worker and Logger have threads of their\n"
         "own), prints each channel's messages per second every second, then the totals, and\n"
         "checks that every generated value was logged exactly once, in order.\n"
         "\n"
         "  --rate N          milliseconds between heartbeat bursts, 1.." + std::to_string(kMaxRateMs) +
         " (default " + std::to_string(d.rate.count()) + ")\n"
         "  --beats N         heartbeat bursts before shutdown, 1.." + std::to_string(kMaxBeats) +
         " (default " + std::to_string(d.beats) + ")\n"
         "  --batch N         the Worker's batch (default " + std::to_string(d.worker_batch) + "; at most\n"
         "                    " + std::to_string(d.capacity - d.logger_batch) + ": with the Logger's batch, " +
         std::to_string(d.logger_batch) + ", within the channels' capacity, " + std::to_string(d.capacity) + ")\n"
         "  --telemetry-ms N  telemetry period in milliseconds (default " +
         std::to_string(d.telemetry_period.count()) + ")\n"
         "  --timeout S       give up after S seconds: shut down, report, exit 3\n"
         "                    (default: rate x beats + " + std::to_string(kTimeoutSlack.count()) + " s)\n"
         "  --json            one JSON object per line: {\"type\":\"second\",...} each second, then\n"
         "                    {\"type\":\"report\",...} (with \"prometheus\" and \"dot\" when asked)\n"
         "  --prometheus      after the run, print the final telemetry frame as Prometheus text\n"
         "  --dot             after the run, print the graph as Graphviz DOT\n"
         "  --fault-every N   testing: the Worker throws once every N values it moves and is\n"
         "                    restarted; the check must still hold\n"
         "  --help            this text\n"
         "\n"
         "SIGINT/SIGTERM shut the pipeline down early; it drains, reports and is checked as usual.\n"
         "exit status: 0 every generated value logged exactly once; 1 the check failed; 2 bad\n"
         "arguments; 3 timed out\n";
}

Result<CommandLine, std::string> parse_command_line(const std::vector<std::string>& args) {
  CommandLine cl;
  actor::PipelineConfig& c = cl.config;

  using Setter = std::function<Result<void, std::string>(const std::string& flag, const std::string& value)>;
  // A whole number in min..max, stored through `store`.
  const auto integer = [](std::uint64_t min, std::uint64_t max, const char* what,
                          std::function<void(std::uint64_t)> store) -> Setter {
    return [=](const std::string& flag, const std::string& v) -> Result<void, std::string> {
      const auto n = parse_unsigned(v);
      if (!n || *n < min || *n > max) {
        return Err(flag + ": expected " + what + ", a whole number in " + std::to_string(min) + ".." +
                   std::to_string(max) + ", got '" + v + "'");
      }
      store(*n);
      return {};
    };
  };
  const std::map<std::string, Setter> with_value{
      {"--rate", integer(1, kMaxRateMs, "milliseconds between heartbeat bursts",
                         [&c](std::uint64_t n) { c.rate = std::chrono::milliseconds(n); })},
      {"--beats", integer(1, kMaxBeats, "the number of heartbeat bursts", [&c](std::uint64_t n) { c.beats = n; })},
      {"--batch", integer(1, kMaxBatch, "the Worker's batch size",
                          [&c](std::uint64_t n) { c.worker_batch = static_cast<std::size_t>(n); })},
      {"--telemetry-ms", integer(0, kMaxTelemetryMs, "the telemetry period in milliseconds",
                                 [&c](std::uint64_t n) { c.telemetry_period = std::chrono::milliseconds(n); })},
      {"--fault-every", integer(1, kMaxFaultEvery, "values between the Worker's injected faults",
                                [&c](std::uint64_t n) { c.worker_fault_every = n; })},
      {"--timeout", [&cl](const std::string& flag, const std::string& v) -> Result<void, std::string> {
         const auto s = parse_seconds(v);
         if (!s || *s < 0.001 || *s > kMaxTimeoutS) {
           return Err(flag + ": expected seconds in 0.001.." + std::to_string(static_cast<long>(kMaxTimeoutS)) +
                      " (digits and at most one '.'), got '" + v + "'");
         }
         cl.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(*s * 1000.0 + 0.5));
         return {};
       }},
  };
  const std::map<std::string, bool*> switches{
      {"--json", &cl.json}, {"--prometheus", &cl.prometheus}, {"--dot", &cl.dot}, {"--help", &cl.help},
      {"-h", &cl.help}};

  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (const std::size_t eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);  // --rate=5
      flag = flag.substr(0, eq);
    }
    if (auto sw = switches.find(flag); sw != switches.end()) {
      if (value) return Err(flag + ": takes no value, got '" + *value + "'");
      *sw->second = true;
      continue;
    }
    const auto it = with_value.find(flag);
    if (it == with_value.end()) return Err("unknown option '" + args[i] + "'");
    if (!value) {
      if (i + 1 >= args.size()) return Err(flag + ": missing value");
      if (args[i + 1].rfind("--", 0) == 0) return Err(flag + ": missing value (the next argument is '" + args[i + 1] + "')");
      value = args[++i];
    }
    if (auto r = it->second(flag, *value); !r) return Err(r.error());
  }
  return cl;
}

}  // namespace omega::pipeline_app
