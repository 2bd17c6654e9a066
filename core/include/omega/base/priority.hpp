#pragma once
// One priority for every layer: the node queues' lanes, the scheduler's order within a tick,
// and the layers above them.
//
// Contract: a higher enumerator is served first (Critical, High, Normal, Low), so code may
// compare priorities with < and >. Each value is also an index in [0, kPriorityCount) for
// per-priority arrays.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace omega {

enum class Priority : std::uint8_t { Low, Normal, High, Critical };
inline constexpr std::size_t kPriorityCount = 4;

// "Low", "Normal", "High", "Critical".
[[nodiscard]] std::string_view to_string(Priority priority) noexcept;

}  // namespace omega
