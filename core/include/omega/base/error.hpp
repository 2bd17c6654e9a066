#pragma once
// The error kinds every layer shares, named as in the seeds (000: NodeError, TaskError).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace omega {

// Why a submission was refused. Nothing was accepted, so nothing is lost.
enum class NodeError : std::uint8_t {
  SystemMaxedOut,    // every candidate node was full
  QueueFull,         // the chosen node's queue was full
  NodeShuttingDown,  // shutdown has begun; new work is refused
  NoNodesAvailable,  // the system has no nodes
};

[[nodiscard]] std::string_view to_string(NodeError error) noexcept;

// Why an accepted task produced no value.
class TaskError {
 public:
  enum class Kind : std::uint8_t { TimedOut, Panicked, ExecutionFailed };

  // Tags so call sites read like the seed: TaskError::Panicked{"boom"}.
  struct TimedOut {};
  struct Panicked {
    std::string message;
  };
  struct ExecutionFailed {
    std::string message;
  };

  TaskError(TimedOut) noexcept : kind_(Kind::TimedOut) {}                          // NOLINT: implicit by design
  TaskError(Panicked p) noexcept : kind_(Kind::Panicked), message_(std::move(p.message)) {}  // NOLINT
  TaskError(ExecutionFailed e) noexcept                                              // NOLINT
      : kind_(Kind::ExecutionFailed), message_(std::move(e.message)) {}

  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  [[nodiscard]] const std::string& message() const noexcept { return message_; }
  [[nodiscard]] bool timed_out() const noexcept { return kind_ == Kind::TimedOut; }
  [[nodiscard]] bool panicked() const noexcept { return kind_ == Kind::Panicked; }
  [[nodiscard]] bool execution_failed() const noexcept { return kind_ == Kind::ExecutionFailed; }

  friend bool operator==(const TaskError&, const TaskError&) = default;

 private:
  Kind kind_;
  std::string message_;
};

[[nodiscard]] std::string_view to_string(TaskError::Kind kind) noexcept;
// "Panicked: <message>", "TimedOut", ...
[[nodiscard]] std::string to_string(const TaskError& error);

}  // namespace omega
