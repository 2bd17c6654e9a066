#pragma once
// Test helpers for code that runs on threads where the target has them.
#include <omega/base/config.hpp>

#include <functional>
#include <thread>
#include <vector>

namespace omega::test {

// Runs body(i) on n threads and joins them. Only call when omega::kHasThreads.
inline void run_threads(int n, const std::function<void(int)>& body) {
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) threads.emplace_back(body, i);
  for (auto& t : threads) t.join();
}

}  // namespace omega::test
