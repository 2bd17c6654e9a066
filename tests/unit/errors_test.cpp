#include <omega/base/error.hpp>
#include <omega/base/result.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace {

omega::Result<int, omega::TaskError> parse_positive(int v) {
  if (v < 0) return omega::Err(omega::TaskError::ExecutionFailed{"negative input"});
  return v;
}

}  // namespace

TEST_CASE("NodeError kinds have the seed's names", "[errors]") {
  using omega::NodeError;
  CHECK(omega::to_string(NodeError::SystemMaxedOut) == "SystemMaxedOut");
  CHECK(omega::to_string(NodeError::QueueFull) == "QueueFull");
  CHECK(omega::to_string(NodeError::NodeShuttingDown) == "NodeShuttingDown");
  CHECK(omega::to_string(NodeError::NoNodesAvailable) == "NoNodesAvailable");
}

TEST_CASE("TaskError carries kind and message", "[errors]") {
  const omega::TaskError timed_out = omega::TaskError::TimedOut{};
  const omega::TaskError panicked = omega::TaskError::Panicked{"boom"};
  const omega::TaskError failed = omega::TaskError::ExecutionFailed{"bad input"};
  CHECK(timed_out.timed_out());
  CHECK(panicked.panicked());
  CHECK(panicked.message() == "boom");
  CHECK(failed.execution_failed());
  CHECK(omega::to_string(timed_out) == "TimedOut");
  CHECK(omega::to_string(panicked) == "Panicked: boom");
  CHECK(omega::to_string(failed) == "ExecutionFailed: bad input");
  CHECK(panicked == omega::TaskError(omega::TaskError::Panicked{"boom"}));
  CHECK_FALSE(panicked == failed);
}

TEST_CASE("Result holds a value or an error", "[errors]") {
  auto ok = parse_positive(7);
  REQUIRE(ok);
  CHECK(*ok == 7);
  auto bad = parse_positive(-1);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().execution_failed());
  CHECK(bad.error().message() == "negative input");
  CHECK(bad.value_or(3) == 3);
  auto doubled = ok.map([](int v) { return v * 2; });
  CHECK(*doubled == 14);
}
