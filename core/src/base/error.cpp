#include <omega/base/error.hpp>

namespace omega {

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
