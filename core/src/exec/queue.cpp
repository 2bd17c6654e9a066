#include <omega/exec/queue.hpp>

namespace omega {

std::string_view to_string(Priority priority) noexcept {
  switch (priority) {
    case Priority::Low: return "Low";
    case Priority::Normal: return "Normal";
    case Priority::High: return "High";
  }
  return "Priority(?)";
}

std::string_view to_string(PressureLevel level) noexcept {
  switch (level) {
    case PressureLevel::Empty: return "Empty";
    case PressureLevel::Low: return "Low";
    case PressureLevel::Normal: return "Normal";
    case PressureLevel::High: return "High";
    case PressureLevel::Full: return "Full";
  }
  return "PressureLevel(?)";
}

}  // namespace omega
