#include "ovp_port.hpp"

#include <sys/epoll.h>
#include <sys/time.h>

#include <algorithm>

#include <omega/base/clock.hpp>

namespace omega::native {

// ---- PacketLink ----------------------------------------------------------------------------

std::size_t PacketLink::mtu() const noexcept { return std::min(socket_.mtu(), ovp::kMaxOvpSize); }

void PacketLink::queue(std::uint32_t, const ovp::MacAddress* address, std::span<const std::uint8_t> frame) {
  socket_.queue(address ? *address : PacketSocket::kBroadcastMac, frame);
}

bool PacketLink::transmit(std::string& error) {
  if (socket_.queued() == 0 && !socket_.backlogged()) return false;
  const std::uint64_t refused = socket_.send_errors();
  socket_.send();
  if (socket_.send_errors() != refused) error = "the interface refused frames: " + socket_.last_error();
  return true;
}

std::size_t PacketLink::receive(FrameSink sink) {
  auto n = socket_.receive([&](std::span<const std::uint8_t> frame) { sink(frame); });
  return n ? *n : 0;  // a failing recvmmsg (the interface went away) is retried on the next edge
}

void PacketLink::add_metrics(MetricsSnapshot& snap, const MetricLabels& labels) const {
  const PacketSocketCounters c = socket_.stats();
  const std::pair<const char*, std::uint64_t> rows[] = {
      {"omega_ovp_kernel_packets_total", c.kernel_packets},
      {"omega_ovp_kernel_drops_total", c.kernel_drops},
      {"omega_ovp_socket_send_calls_total", c.send_calls},
      {"omega_ovp_socket_receive_calls_total", c.receive_calls},
      {"omega_ovp_socket_send_backlogged_total", c.send_backlogged},
      {"omega_ovp_socket_send_dropped_total", c.send_dropped},
      {"omega_ovp_socket_send_errors_total", c.send_errors},
      {"omega_ovp_socket_receive_truncated_total", c.receive_truncated},
      {"omega_ovp_socket_receive_foreign_total", c.receive_foreign},
  };
  const char* help[] = {
      "Frames the kernel queued for the OVP socket, drops included (PACKET_STATISTICS)",
      "Frames the kernel dropped: the OVP socket's receive buffer was full (PACKET_STATISTICS)",
      "sendmmsg calls",
      "recvmmsg calls",
      "Frames the kernel could not take at once, kept and sent later",
      "Frames dropped: the send backlog was full",
      "Frames the kernel refused (their emits failed with the errno text)",
      "Frames larger than the receive buffer, dropped",
      "Frames of another interface, EtherType or our own, skipped",
  };
  for (std::size_t i = 0; i < std::size(rows); ++i) (void)snap.add_counter(rows[i].first, help[i], labels, rows[i].second);
}

// ---- OvpPort -------------------------------------------------------------------------------

bool OvpPort::submit_inline(IoRequest& request) noexcept {
  if (stopped_.load(std::memory_order_acquire)) return false;
  const auto* e = std::get_if<io_ops::OvpEmit>(&request.op.variant());
  const auto* r = e ? nullptr : std::get_if<io_ops::OvpReceive>(&request.op.variant());
  if (!e && !r) return false;
  std::shared_ptr<io::OvpSession> session;
  {
    std::shared_lock lock(by_token_mutex_);
    auto it = by_token_.find((e ? e->socket_token : r->socket_token).value);
    if (it == by_token_.end()) return false;  // the loop reports the bad token
    session = it->second;
  }
  const std::int64_t now = now_ns();
  if (r) return session->receive_inline(request.done, now);
  std::int64_t wake_at = INT64_MAX;
  if (!session->emit_inline(*e, request.done, now, wake_at)) return false;
  // A timer (reliable mode) earlier than the one the loop will wake for: have it re-arm.
  if (wake_at < armed_at_.load()) loop_.post([this] { flush_all(); });
  return true;
}

void OvpPort::start(IoRequest request) {
  IoCompletion& done = request.done;
  auto& op = request.op.variant();
  const std::int64_t now = now_ns();
  if (auto* init = std::get_if<io_ops::OvpInit>(&op)) {
    auto socket = PacketSocket::open(init->interface, ovp::kEtherType);
    if (!socket) return done.fail("OvpInit: " + socket.error());
    timeval tv{};
    ::gettimeofday(&tv, nullptr);
    last_epoch_ = ovp::session_epoch(static_cast<std::uint64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000, last_epoch_);
    auto link = std::make_unique<PacketLink>(std::move(*socket));
    const int fd = link->fd();
    auto created = io::OvpSession::create(*init, last_epoch_, std::move(link));
    if (!created) return done.fail("OvpInit: " + created.error());
    std::shared_ptr<io::OvpSession> session = std::move(*created);
    auto slot = sockets_.adopt(fd, SlotKind::Ovp, /*owns_fd=*/false);
    if (!slot) return done.fail("OvpInit: " + slot.error());
    const SocketToken token = sockets_.token_of(*slot);
    {
      std::lock_guard lock(metrics_mutex_);
      live_.push_back(session);
    }
    {
      std::unique_lock lock(by_token_mutex_);
      by_token_[token.value] = session;
    }
    sessions_[*slot] = std::move(session);
    slots_.push_back(*slot);
    schedule_flush();  // its HELLO goes out this turn
    IoOutput out;
    out.socket = token;
    done.complete(std::move(out));
  } else if (auto* e = std::get_if<io_ops::OvpEmit>(&op)) {
    auto slot = sockets_.resolve(e->socket_token, SlotKind::Ovp, "OvpEmit", done);
    if (!slot) return;
    sessions_[*slot]->emit(*e, std::move(done), now);
    schedule_flush();
  } else if (auto* rcv = std::get_if<io_ops::OvpReceive>(&op)) {
    auto slot = sockets_.resolve(rcv->socket_token, SlotKind::Ovp, "OvpReceive", done);
    if (!slot) return;
    sessions_[*slot]->receive(std::move(done), request.deadline_ns, now);
    schedule_flush();  // its deadline, and acks a pop may owe
  } else if (auto* c = std::get_if<io_ops::OvpClose>(&op)) {
    auto slot = sockets_.resolve(c->socket_token, SlotKind::Ovp, "OvpClose", done);
    if (!slot) return;
    if (sessions_[*slot]->close(now)) {
      // Reliable data still unacknowledged: the close returns now and the session delivers
      // the rest in the background; its token is stale from now on.
      {
        std::unique_lock lock(by_token_mutex_);
        by_token_.erase(sockets_.token_of(*slot).value);
      }
      sockets_.retire_token(*slot);
      schedule_flush();
    } else {
      forget(*slot);
    }
    done.complete(IoOutput{});
  }
}

void OvpPort::on_event(std::uint32_t slot, std::uint32_t events) {
  auto it = sessions_.find(slot);
  if (it == sessions_.end()) return;
  if (events & EPOLLIN) it->second->pull(now_ns());
  // Acks owed for what arrived, and a backlog (EPOLLOUT), go at the end of the turn.
  schedule_flush();
}

void OvpPort::close_slot(std::uint32_t slot, const std::string& why) {
  auto it = sessions_.find(slot);
  if (it == sessions_.end()) return;
  it->second->fail(why);
  forget(slot);
}

// Closes the slot for good: the session leaves every map, the slot is released, and the
// socket closes with the last reference (a submitter may still hold one for a moment).
void OvpPort::forget(std::uint32_t slot) {
  auto it = sessions_.find(slot);
  if (it == sessions_.end()) return;
  std::shared_ptr<io::OvpSession> session = std::move(it->second);
  sessions_.erase(it);
  slots_.erase(std::remove(slots_.begin(), slots_.end(), slot), slots_.end());
  if (sockets_[slot].kind != SlotKind::Lingering) {
    std::unique_lock lock(by_token_mutex_);
    by_token_.erase(sockets_.token_of(slot).value);
  }
  {
    std::lock_guard lock(metrics_mutex_);
    live_.erase(std::remove(live_.begin(), live_.end(), session), live_.end());
  }
  sockets_.release(slot, /*close_fd=*/false);
}

void OvpPort::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  loop_.defer([this] {
    flush_scheduled_ = false;
    flush_all();
  });
}

void OvpPort::flush_all() {
  const std::int64_t now = now_ns();
  std::int64_t next = INT64_MAX;
  finished_.clear();
  for (std::uint32_t slot : slots_) {
    const io::OvpSession::Service s = sessions_[slot]->service(now);
    if (s.finished) finished_.push_back(slot);
    next = std::min(next, s.next);
  }
  for (std::uint32_t slot : finished_) forget(slot);
  arm(next, now);
  if (on_idle_) {
    const bool lingering = std::any_of(slots_.begin(), slots_.end(),
                                       [&](std::uint32_t s) { return sockets_[s].kind == SlotKind::Lingering; });
    if (!lingering) std::exchange(on_idle_, nullptr)();
  }
}

// Lazily: a timer armed earlier than needed stays (it fires, finds little to do, and
// re-arms), so a stream of later deadlines costs no timer operations.
void OvpPort::arm(std::int64_t next, std::int64_t now) {
  if (next == INT64_MAX || (timer_ != 0 && armed_at_.load(std::memory_order_relaxed) <= next)) return;
  if (timer_ != 0) loop_.cancel_timer(timer_);
  armed_at_.store(next);
  timer_ = loop_.add_timer(std::max<std::int64_t>(next - now, 0), [this] {
    timer_ = 0;
    // Before the sessions are read: an inline emit after this point either is seen by
    // flush_all() or sees no armed timer and posts a re-arm.
    armed_at_.store(INT64_MAX);
    flush_all();
  });
}

void OvpPort::shutdown(std::function<void()> on_idle) {
  stopped_.store(true, std::memory_order_release);
  const std::vector<std::uint32_t> slots = slots_;
  for (std::uint32_t slot : slots) {
    if (sockets_[slot].kind == SlotKind::Ovp) close_slot(slot, kIoShuttingDown);
  }
  on_idle_ = std::move(on_idle);
  flush_all();
}

void OvpPort::add_metrics(MetricsSnapshot& snap) const {
  std::lock_guard lock(metrics_mutex_);
  for (const auto& session : live_) session->add_metrics(snap);
}

}  // namespace omega::native
