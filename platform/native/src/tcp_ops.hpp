#pragma once
// The native reactor's TCP operations (TcpConnect/Listen/Accept/Send/Receive/Close) on the
// socket table. Loop thread only.
//
// - Operations on one socket run in submission order per direction (the slot's input and
//   output queues); the first of a direction is tried at once (edge-triggered: no event
//   comes for readiness that already exists), the rest when an edge says the socket moved.
// - A deadline is a loop timer; when it fires first the operation resolves TimedOut and is
//   cancelled (a connect that never finished takes its socket with it).
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "event_loop.hpp"
#include "io/reactor.hpp"
#include "socket_table.hpp"

namespace omega::native {

class TcpOps {
 public:
  TcpOps(EventLoop& loop, SocketTable& sockets) : loop_(loop), sockets_(sockets) {}
  TcpOps(const TcpOps&) = delete;
  TcpOps& operator=(const TcpOps&) = delete;

  // A TCP operation other than TcpClose, which may name any kind of socket: the reactor
  // resolves it and calls close_slot (or the OVP port's).
  void start(IoRequest request);
  void on_event(std::uint32_t slot, std::uint32_t events);
  // Closes a TCP slot: its pending operations fail with `why`, its token goes stale.
  void close_slot(std::uint32_t slot, const std::string& why);
  // Every pending operation fails with kIoShuttingDown and every TCP socket closes.
  void shutdown();

 private:
  struct Pending {
    IoOp op;
    IoCompletion done;
    std::uint32_t slot = 0;
    std::size_t sent = 0;  // TcpSend: bytes already written
    EventLoop::TimerId timer = 0;
  };
  // What one attempt at an operation came to. Done and DoneCloseSlot: p.done was completed
  // (DoneCloseSlot: and the socket is unusable, a failed connect).
  enum class Outcome : std::uint8_t { WouldBlock, Done, DoneCloseSlot };

  void enqueue(IoRequest request, std::uint32_t slot, bool input);
  void pump(std::uint32_t slot, bool input);
  Outcome try_input(std::uint32_t slot, Pending& p);
  Outcome try_output(std::uint32_t slot, Pending& p);
  void expire(std::uint64_t id);
  void fail_pending(std::uint32_t slot, const std::string& why);
  void finish(std::unordered_map<std::uint64_t, std::unique_ptr<Pending>>::iterator it);

  static constexpr std::size_t kScratchBytes = 64 * 1024;

  EventLoop& loop_;
  SocketTable& sockets_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Pending>> pending_;
  std::uint64_t next_id_ = 1;
  std::uint8_t scratch_[kScratchBytes];
};

}  // namespace omega::native
