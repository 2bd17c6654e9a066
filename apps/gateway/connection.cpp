// omega-gateway's connections: accept (with the connection limit), the per-connection
// timer, the dispatch of loop events by phase, teardown and draining, and the end-of-turn
// flush.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "gateway_impl.hpp"

namespace omega::gateway {

Gateway::Impl::Conn* Gateway::Impl::find(std::uint64_t id) {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second.get();
}

void Gateway::Impl::accept_all() {
  for (;;) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // EMFILE/ENFILE/ENOBUFS: out of descriptors or memory. Edge-triggered, so nothing
      // reports the waiting connections again: retry shortly.
      ++counters_.accept_errors;
      if (!accept_retry_) {
        accept_retry_ = loop_.add_timer(100'000'000, [this] {
          accept_retry_ = 0;
          if (listen_fd_ >= 0) accept_all();
        });
      }
      return;
    }
    if (conns_.size() >= config_.max_connections) {
      ++counters_.handshake_rejects["too_many_connections"];
      ++counters_.http_responses[503];
      const std::string body = "too many connections\n";
      const std::string resp =
          response_head(503, {{"Content-Type", "text/plain; charset=utf-8"}, {"Connection", "close"}}, body.size()) + body;
      [[maybe_unused]] auto n = ::send(fd, resp.data(), resp.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // frames are small; latency counts
    auto c = std::make_unique<Conn>();
    c->owner = this;
    c->id = next_conn_++;
    c->fd = fd;
    char host[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
    c->peer = std::string(host) + ":" + std::to_string(ntohs(a.sin_port));
    const std::uint64_t id = c->id;
    auto reg = loop_.add_fd(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                            [this, id](std::uint32_t events) { on_event(id, events); });
    if (!reg) {
      ++counters_.accept_errors;
      ::close(fd);
      continue;
    }
    c->reg = *reg;
    ++counters_.connections_accepted;
    Conn& ref = *c;
    conns_.emplace(id, std::move(c));
    arm(ref, TimerKind::Request, config_.handshake_timeout_ms);
    pump_http(ref);
  }
}

void Gateway::Impl::arm(Conn& c, TimerKind kind, std::int64_t ms) {
  if (c.timer) loop_.cancel_timer(c.timer);
  const std::uint64_t id = c.id;
  c.timer_kind = kind;
  c.timer = loop_.add_timer(ms * 1'000'000, [this, id] { on_timer(id); });
}

void Gateway::Impl::disarm(Conn& c) {
  if (c.timer) loop_.cancel_timer(c.timer);
  c.timer = 0;
  c.timer_kind = TimerKind::None;
}

void Gateway::Impl::on_timer(std::uint64_t id) {
  Conn* c = find(id);
  if (!c) return;
  c->timer = 0;
  switch (c->timer_kind) {
    case TimerKind::Request:
      // Nothing, or not a whole request, within the handshake timeout (slowloris).
      ++counters_.hostile_closes["handshake_timeout"];
      teardown(*c, "hostile");
      return;
    case TimerKind::Idle:
      teardown(*c, "idle");
      return;
    case TimerKind::Close:
      teardown(*c, c->close_reason ? c->close_reason : "peer_gone");
      return;
    case TimerKind::None:
      return;
  }
}

void Gateway::Impl::on_event(std::uint64_t id, std::uint32_t events) {
  Conn* c = find(id);
  if (!c) return;
  switch (c->phase) {
    case Phase::Http:
      pump_http(*c);
      return;
    case Phase::WebSocket:
      ws_pump(*c, events);
      return;
    case Phase::Draining:
      drain(*c);
      return;
  }
}

void Gateway::Impl::release(Conn& c) {
  close_file(c);
  if (c.timer) loop_.cancel_timer(c.timer);
  loop_.remove_fd(c.reg);
  ::close(c.fd);
  if (c.ws) wslay_event_context_free(c.ws);
  c.ws = nullptr;
  unbind(c);
}

void Gateway::Impl::unbind(Conn& c) {
  if (!c.drone) return;
  auto it = drones_.find(c.drone);
  if (it != drones_.end() && it->second == c.id) drones_.erase(it);
}

void Gateway::Impl::teardown(Conn& c, const char* reason) {
  if (c.ws) {
    if (c.violation && c.close_reason == nullptr) count_violation(c);
    ++counters_.ws_closes[c.close_reason ? c.close_reason : reason];
  }
  const std::uint64_t id = c.id;
  release(c);
  conns_.erase(id);
  maybe_finish_shutdown();
}

void Gateway::Impl::begin_drain(Conn& c) {
  if (c.phase == Phase::Draining) return;
  c.phase = Phase::Draining;
  // Nothing is routed to a draining connection: its id is free for a reconnect now.
  unbind(c);
  ::shutdown(c.fd, SHUT_WR);
  arm(c, TimerKind::Close, config_.close_timeout_ms);
  drain(c);
}

void Gateway::Impl::drain(Conn& c) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      counters_.bytes_in += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    teardown(c, c.close_reason ? c.close_reason : "peer_gone");  // EOF or error: the peer is done
    return;
  }
}

Gateway::Impl::Io Gateway::Impl::send_buffered(int fd, std::string& buf, std::size_t& off) {
  while (off < buf.size()) {
    const ssize_t n = ::send(fd, buf.data() + off, buf.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      counters_.bytes_out += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Io::Pending;
    return Io::Failed;
  }
  buf.clear();
  off = 0;
  return Io::Done;
}

void Gateway::Impl::mark_dirty(Conn& c) {
  if (c.dirty) return;
  c.dirty = true;
  dirty_.push_back(c.id);
  if (!flush_scheduled_) {
    flush_scheduled_ = true;
    loop_.defer([this] { flush_dirty(); });
  }
}

void Gateway::Impl::flush_dirty() {
  flush_scheduled_ = false;
  std::vector<std::uint64_t> ids;
  ids.swap(dirty_);
  for (std::uint64_t id : ids) {
    Conn* c = find(id);
    if (c && c->phase == Phase::WebSocket && c->dirty) ws_flush(*c);
  }
  flush_raw();
}

}  // namespace omega::gateway
