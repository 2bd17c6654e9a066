#include <omega/base/assert.hpp>
#include <omega/base/error.hpp>

#include <cstdio>
#include <cstdlib>

namespace omega {

namespace detail {
void assert_fail(const char* file, int line, const char* expr, const char* why) noexcept {
  std::fprintf(stderr, "%s:%d: omega invariant broken: %s (%s)\n", file, line, why, expr);
  std::fflush(stderr);
  std::abort();
}
}  // namespace detail

std::string_view to_string(NodeError error) noexcept {
  switch (error) {
    case NodeError::SystemMaxedOut: return "SystemMaxedOut";
    case NodeError::QueueFull: return "QueueFull";
    case NodeError::NodeShuttingDown: return "NodeShuttingDown";
    case NodeError::NoNodesAvailable: return "NoNodesAvailable";
  }
  return "NodeError(?)";
}

std::string_view to_string(TaskError::Kind kind) noexcept {
  switch (kind) {
    case TaskError::Kind::TimedOut: return "TimedOut";
    case TaskError::Kind::Panicked: return "Panicked";
    case TaskError::Kind::ExecutionFailed: return "ExecutionFailed";
  }
  return "TaskError(?)";
}

std::string to_string(const TaskError& error) {
  std::string out(to_string(error.kind()));
  if (!error.message().empty()) {
    out += ": ";
    out += error.message();
  }
  return out;
}

}  // namespace omega
