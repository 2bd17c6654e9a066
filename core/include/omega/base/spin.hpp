#pragma once
// A polite spin-wait step: tells the CPU this is a busy-wait loop (x86 PAUSE), which saves
// power and frees the sibling hyper-thread. A compiler builtin, not an OS header.
namespace omega {
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
}  // namespace omega
