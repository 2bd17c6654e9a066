#pragma once
// What the Embind binding files share. bindings.cpp owns the runtime metrics registry; the
// other files count refused JS arguments in the same omega_js_invalid_arguments_total.
#include <omega/base/metrics.hpp>

namespace omega::js {
Counter& invalid_arguments_counter();
}  // namespace omega::js
