#include <omega/base/priority.hpp>

namespace omega {

std::string_view to_string(Priority priority) noexcept {
  switch (priority) {
    case Priority::Low: return "Low";
    case Priority::Normal: return "Normal";
    case Priority::High: return "High";
    case Priority::Critical: return "Critical";
  }
  return "Priority(?)";
}

}  // namespace omega
