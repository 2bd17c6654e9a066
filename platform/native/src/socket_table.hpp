#pragma once
// The native reactor's sockets (epoll_reactor.cpp): a slot table on the event loop.
//
// - A SocketToken is (generation << 32 | slot). Releasing a slot, or retiring its token
//   (an OVP session that lingers after OvpClose), bumps the generation, so unknown and stale
//   tokens are recognised and refused (counted in bad_tokens) without touching any fd.
//   Generation 0 is never used, so SocketToken{0} is never valid.
// - Every socket is non-blocking and registered once, edge-triggered, for input and output.
//   Edge-triggered because an operation is always tried first and retried until the kernel
//   says EAGAIN: readiness is only needed after an EAGAIN, and one registration per socket
//   lifetime means no epoll_ctl per operation (level-triggered would keep reporting a
//   writable socket, or need an EPOLL_CTL_MOD around every send).
// - Loop thread only.
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <omega/io/io_op.hpp>

#include "event_loop.hpp"
#include "io/reactor.hpp"

namespace omega::native {

enum class SlotKind : std::uint8_t { Free, Connecting, Stream, Listener, Ovp, Lingering };

struct Slot {
  int fd = -1;
  std::uint32_t generation = 1;
  SlotKind kind = SlotKind::Free;
  EventLoop::RegistrationId registration = 0;
  // TCP: pending operation ids per direction, in submission order (receives and accepts on
  // the input side, sends and the connect on the output side).
  std::deque<std::uint64_t> input;
  std::deque<std::uint64_t> output;
};

// "socket token <generation>:<slot>"
[[nodiscard]] std::string token_text(SocketToken token);

class SocketTable {
 public:
  using EventFn = std::function<void(std::uint32_t slot, std::uint32_t events)>;

  SocketTable(EventLoop& loop, IoCounters& counters, EventFn on_event)
      : loop_(loop), counters_(counters), on_event_(std::move(on_event)) {}

  [[nodiscard]] SocketToken token_of(std::uint32_t slot) const {
    return SocketToken{(std::uint64_t{slots_[slot].generation} << 32) | slot};
  }
  // The slot `token` names if it is live and of kind `want` (Free: any usable kind);
  // otherwise fails `done` with the reason (counting a bad token) and returns nullopt.
  std::optional<std::uint32_t> resolve(SocketToken token, SlotKind want, const char* op, IoCompletion& done);
  // Registers fd and returns its slot. On failure fd is closed, unless the caller still owns
  // it (owns_fd false: an OVP PacketSocket).
  Result<std::uint32_t, std::string> adopt(int fd, SlotKind kind, bool owns_fd = true);
  // Unregisters and frees the slot (closing its fd if close_fd); its token goes stale.
  void release(std::uint32_t slot, bool close_fd);
  // The token goes stale; the slot stays registered as Lingering until released.
  void retire_token(std::uint32_t slot);

  [[nodiscard]] Slot& operator[](std::uint32_t slot) noexcept { return slots_[slot]; }
  [[nodiscard]] bool live(std::uint32_t slot) const noexcept {
    return slot < slots_.size() && slots_[slot].kind != SlotKind::Free;
  }
  [[nodiscard]] std::uint32_t size() const noexcept { return static_cast<std::uint32_t>(slots_.size()); }

 private:
  static void bump(Slot& s) noexcept {
    if (++s.generation == 0) s.generation = 1;
  }

  EventLoop& loop_;
  IoCounters& counters_;
  EventFn on_event_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;
};

}  // namespace omega::native
