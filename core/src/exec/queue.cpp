#include <omega/exec/queue.hpp>

namespace omega {

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
