#include "socket_table.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include "syscall.hpp"

namespace omega::native {

namespace {
const char* kind_text(SlotKind k) {
  switch (k) {
    case SlotKind::Listener: return "a listener";
    case SlotKind::Stream: return "a connection";
    case SlotKind::Ovp: return "an OVP endpoint";
    default: return "a socket";
  }
}
}  // namespace

std::string token_text(SocketToken t) {
  return "socket token " + std::to_string(t.value >> 32) + ":" + std::to_string(t.value & 0xffffffffu);
}

std::optional<std::uint32_t> SocketTable::resolve(SocketToken token, SlotKind want, const char* op,
                                                  IoCompletion& done) {
  const auto index = static_cast<std::uint32_t>(token.value & 0xffffffffu);
  const auto generation = static_cast<std::uint32_t>(token.value >> 32);
  if (index >= slots_.size() || slots_[index].generation != generation || slots_[index].kind == SlotKind::Free ||
      slots_[index].kind == SlotKind::Connecting || slots_[index].kind == SlotKind::Lingering) {
    counters_.bad_tokens.add();
    done.fail(std::string(op) + ": bad " + token_text(token) + " (never issued, or its socket was closed)");
    return std::nullopt;
  }
  if (want != SlotKind::Free && slots_[index].kind != want) {
    done.fail(std::string(op) + ": " + token_text(token) + " is " + kind_text(slots_[index].kind) + ", not " +
              kind_text(want));
    return std::nullopt;
  }
  return index;
}

Result<std::uint32_t, std::string> SocketTable::adopt(int fd, SlotKind kind, bool owns_fd) {
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    if (slots_.size() >= 0xffffffffu) {
      if (owns_fd) ::close(fd);
      return Err(std::string("too many sockets"));
    }
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  auto reg = loop_.add_fd(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                          [this, index](std::uint32_t events) { on_event_(index, events); });
  if (!reg) {
    if (owns_fd) ::close(fd);
    free_.push_back(index);
    return Err(std::move(reg.error()));
  }
  Slot& s = slots_[index];
  s.fd = fd;
  s.kind = kind;
  s.registration = *reg;
  counters_.open_sockets.add(1);
  return index;
}

void SocketTable::release(std::uint32_t index, bool close_fd) {
  Slot& s = slots_[index];
  if (s.kind == SlotKind::Free) return;
  loop_.remove_fd(s.registration);
  if (close_fd) ::close(s.fd);
  s.fd = -1;
  s.registration = 0;
  if (s.kind != SlotKind::Lingering) bump(s);  // a lingering slot's token is stale already
  s.kind = SlotKind::Free;
  s.input.clear();
  s.output.clear();
  counters_.open_sockets.add(-1);
  free_.push_back(index);
}

void SocketTable::retire_token(std::uint32_t index) {
  Slot& s = slots_[index];
  s.kind = SlotKind::Lingering;
  bump(s);
}

}  // namespace omega::native
