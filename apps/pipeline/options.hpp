#pragma once
// omega-pipeline's command line. The program's own bounds catch what is not a number or is
// absurd for the flag on its own; PipelineConfig::validate() then judges the configuration
// as a whole (its reason is printed as given).
#include <chrono>
#include <string>
#include <vector>

#include <omega/actor/pipeline.hpp>
#include <omega/base/result.hpp>

namespace omega::pipeline_app {

struct CommandLine {
  actor::PipelineConfig config;
  bool json = false;        // one JSON object per line instead of text
  bool prometheus = false;  // the final telemetry frame as Prometheus text
  bool dot = false;         // the final graph as Graphviz DOT
  bool help = false;
  // Give up (request shutdown, report, exit 3) after this long. Zero: the default, the
  // run's own length (rate x beats) plus kTimeoutSlack.
  std::chrono::milliseconds timeout{0};
};

// The default timeout's margin over rate x beats: start-up, a slow machine, the final drain.
inline constexpr std::chrono::seconds kTimeoutSlack{60};

// Parses argv without argv[0]. An error names the flag and what was wrong with its value.
// A flag given twice takes its last value (as omega-gateway and omega-harness do).
Result<CommandLine, std::string> parse_command_line(const std::vector<std::string>& args);

std::string usage();

}  // namespace omega::pipeline_app
