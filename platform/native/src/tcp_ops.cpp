#include "tcp_ops.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <omega/base/clock.hpp>

#include "syscall.hpp"

namespace omega::native {
namespace {

SocketAddress to_address(const sockaddr_in& a) {
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
  return SocketAddress{buf, ntohs(a.sin_port)};
}
std::optional<SocketAddress> local_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return std::nullopt;
  return to_address(a);
}
std::optional<SocketAddress> peer_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return std::nullopt;
  return to_address(a);
}

bool parse(const std::string& host, std::uint16_t port, sockaddr_in& addr, const char* op, IoCompletion& done) {
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    done.fail(std::string(op) + ": host must be a numeric IPv4 address (the reactor does no DNS lookups), got '" +
              host + "'");
    return false;
  }
  return true;
}

bool is_input(const IoOp& op) {
  return std::holds_alternative<io_ops::TcpReceive>(op.variant()) ||
         std::holds_alternative<io_ops::TcpAccept>(op.variant());
}

}  // namespace

void TcpOps::start(IoRequest request) {
  IoCompletion& done = request.done;
  auto& op = request.op.variant();
  if (auto* c = std::get_if<io_ops::TcpConnect>(&op)) {
    sockaddr_in addr{};
    if (!parse(c->host, c->port, addr, "TcpConnect", done)) return;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return done.fail(errno_text("socket", errno));
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // request/response: no Nagle delay
    auto slot = sockets_.adopt(fd, SlotKind::Connecting);
    if (!slot) return done.fail("TcpConnect: " + slot.error());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
      const int err = errno;
      close_slot(*slot, "connect failed");
      return done.fail(errno_text("connect", err));
    }
    // Connected or in progress: either way EPOLLOUT (edge on registration or on completion)
    // reports it, and try_output checks SO_ERROR.
    enqueue(std::move(request), *slot, /*input=*/false);
  } else if (auto* l = std::get_if<io_ops::TcpListen>(&op)) {
    sockaddr_in addr{};
    if (!parse(l->host, l->port, addr, "TcpListen", done)) return;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return done.fail(errno_text("socket", errno));
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const int err = errno;
      ::close(fd);
      return done.fail(errno_text("bind " + l->host + ":" + std::to_string(l->port), err));
    }
    if (::listen(fd, l->backlog) != 0) {
      const int err = errno;
      ::close(fd);
      return done.fail(errno_text("listen", err));
    }
    auto slot = sockets_.adopt(fd, SlotKind::Listener);
    if (!slot) return done.fail("TcpListen: " + slot.error());
    IoOutput out;
    out.socket = sockets_.token_of(*slot);
    out.local = local_of(fd);
    done.complete(std::move(out));
  } else if (auto* a = std::get_if<io_ops::TcpAccept>(&op)) {
    auto slot = sockets_.resolve(a->listener, SlotKind::Listener, "TcpAccept", done);
    if (slot) enqueue(std::move(request), *slot, true);
  } else if (auto* s = std::get_if<io_ops::TcpSend>(&op)) {
    auto slot = sockets_.resolve(s->socket, SlotKind::Stream, "TcpSend", done);
    if (slot) enqueue(std::move(request), *slot, false);
  } else if (auto* r = std::get_if<io_ops::TcpReceive>(&op)) {
    auto slot = sockets_.resolve(r->socket, SlotKind::Stream, "TcpReceive", done);
    if (slot) enqueue(std::move(request), *slot, true);
  }
}

void TcpOps::enqueue(IoRequest request, std::uint32_t slot, bool input) {
  const std::uint64_t id = next_id_++;
  auto p = std::make_unique<Pending>();
  p->op = std::move(request.op);
  p->done = std::move(request.done);
  p->slot = slot;
  if (request.deadline_ns != INT64_MAX) {
    p->timer = loop_.add_timer(std::max<std::int64_t>(request.deadline_ns - now_ns(), 0), [this, id] { expire(id); });
  }
  pending_.emplace(id, std::move(p));
  auto& q = input ? sockets_[slot].input : sockets_[slot].output;
  q.push_back(id);
  if (q.size() == 1) pump(slot, input);
}

void TcpOps::finish(std::unordered_map<std::uint64_t, std::unique_ptr<Pending>>::iterator it) {
  if (it->second->timer != 0) loop_.cancel_timer(it->second->timer);
  pending_.erase(it);
}

void TcpOps::on_event(std::uint32_t slot, std::uint32_t events) {
  // Input operations never close their socket, so the slot is still the same one after.
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) pump(slot, true);
  if (!sockets_.live(slot)) return;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) pump(slot, false);
}

void TcpOps::pump(std::uint32_t slot, bool input) {
  for (;;) {
    auto& q = input ? sockets_[slot].input : sockets_[slot].output;
    if (q.empty()) return;
    const std::uint64_t id = q.front();
    auto it = pending_.find(id);
    if (it == pending_.end()) {  // cancelled (timed out) earlier
      q.pop_front();
      continue;
    }
    const Outcome outcome = input ? try_input(slot, *it->second) : try_output(slot, *it->second);
    if (outcome == Outcome::WouldBlock) return;  // the next edge resumes it
    finish(it);
    // Not `q`: an accept adds a slot, which may have moved the table.
    (input ? sockets_[slot].input : sockets_[slot].output).pop_front();
    if (outcome == Outcome::DoneCloseSlot) {
      close_slot(slot, "connect failed");
      return;
    }
  }
}

TcpOps::Outcome TcpOps::try_input(std::uint32_t slot, Pending& p) {
  const int fd = sockets_[slot].fd;
  if (auto* r = std::get_if<io_ops::TcpReceive>(&p.op.variant())) {
    IoOutput out;
    ssize_t n;
    if (r->max_bytes <= kScratchBytes) {
      n = ::recv(fd, scratch_, r->max_bytes, 0);
      if (n > 0) out.data.assign(scratch_, scratch_ + n);
    } else {
      out.data.resize(r->max_bytes);
      n = ::recv(fd, out.data.data(), r->max_bytes, 0);
      if (n >= 0) out.data.resize(static_cast<std::size_t>(n));
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Outcome::WouldBlock;
      if (errno == EINTR) return try_input(slot, p);
      p.done.fail(errno_text("recv", errno));
      return Outcome::Done;
    }
    out.bytes = static_cast<std::size_t>(n);
    out.end_of_stream = n == 0;
    p.done.complete(std::move(out));
    return Outcome::Done;
  }
  // TcpAccept
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  const int fd2 = ::accept4(fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd2 < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Outcome::WouldBlock;
    if (errno == EINTR || errno == ECONNABORTED) return try_input(slot, p);  // that connection is gone; next
    p.done.fail(errno_text("accept", errno));
    return Outcome::Done;
  }
  const int one = 1;
  ::setsockopt(fd2, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto s2 = sockets_.adopt(fd2, SlotKind::Stream);
  if (!s2) {
    p.done.fail("TcpAccept: " + s2.error());
    return Outcome::Done;
  }
  IoOutput out;
  out.socket = sockets_.token_of(*s2);
  out.local = local_of(fd2);
  out.peer = to_address(peer);
  p.done.complete(std::move(out));
  return Outcome::Done;
}

TcpOps::Outcome TcpOps::try_output(std::uint32_t slot, Pending& p) {
  Slot& s = sockets_[slot];
  if (s.kind == SlotKind::Connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == 0) {
      // Not yet connected if there is no peer (the registration edge can precede completion).
      auto peer = peer_of(s.fd);
      if (!peer) {
        if (errno == ENOTCONN) return Outcome::WouldBlock;
        err = errno;
      } else {
        s.kind = SlotKind::Stream;
        IoOutput out;
        out.socket = sockets_.token_of(slot);
        out.local = local_of(s.fd);
        out.peer = std::move(peer);
        p.done.complete(std::move(out));
        return Outcome::Done;
      }
    }
    p.done.fail(errno_text("connect", err));
    return Outcome::DoneCloseSlot;
  }
  auto& bytes = std::get<io_ops::TcpSend>(p.op.variant()).bytes;
  while (p.sent < bytes.size()) {
    const ssize_t n = ::send(s.fd, bytes.data() + p.sent, bytes.size() - p.sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Outcome::WouldBlock;
      if (errno == EINTR) continue;
      p.done.fail(errno_text("send", errno) + " after " + std::to_string(p.sent) + " of " +
                  std::to_string(bytes.size()) + " bytes");
      return Outcome::Done;
    }
    p.sent += static_cast<std::size_t>(n);
  }
  IoOutput out;
  out.bytes = p.sent;
  p.done.complete(std::move(out));
  return Outcome::Done;
}

void TcpOps::expire(std::uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;  // finished before its deadline
  std::unique_ptr<Pending> p = std::move(it->second);
  pending_.erase(it);  // its timer is the one firing now
  p->done.complete(Err(TaskError::TimedOut{}));
  if (std::holds_alternative<io_ops::TcpConnect>(p->op.variant())) {
    // A connect that never finished owns its socket, which nobody can name yet: close it.
    close_slot(p->slot, "connect timed out");
    return;
  }
  // Take it out of its socket's queue; if it was first, the next one may run now
  // (edge-triggered: readiness that came while it waited raises no new event).
  const bool input = is_input(p->op);
  auto& q = input ? sockets_[p->slot].input : sockets_[p->slot].output;
  const bool was_first = !q.empty() && q.front() == id;
  q.erase(std::remove(q.begin(), q.end(), id), q.end());
  if (was_first) pump(p->slot, input);
}

void TcpOps::fail_pending(std::uint32_t index, const std::string& why) {
  Slot& s = sockets_[index];
  for (auto* q : {&s.input, &s.output}) {
    for (std::uint64_t id : *q) {
      auto it = pending_.find(id);
      if (it == pending_.end()) continue;
      std::unique_ptr<Pending> p = std::move(it->second);
      if (p->timer != 0) loop_.cancel_timer(p->timer);
      pending_.erase(it);
      p->done.fail(why);
    }
    q->clear();
  }
}

void TcpOps::close_slot(std::uint32_t slot, const std::string& why) {
  if (!sockets_.live(slot)) return;
  fail_pending(slot, why);
  sockets_.release(slot, /*close_fd=*/true);
}

void TcpOps::shutdown() {
  for (auto& [id, p] : pending_) {
    if (p->timer != 0) loop_.cancel_timer(p->timer);
    p->done.fail(kIoShuttingDown);
  }
  pending_.clear();
  for (std::uint32_t i = 0; i < sockets_.size(); ++i) {
    const SlotKind k = sockets_[i].kind;
    if (k == SlotKind::Connecting || k == SlotKind::Stream || k == SlotKind::Listener) close_slot(i, kIoShuttingDown);
  }
}

}  // namespace omega::native
