// The native reactor: epoll on one thread of its own, separate from the CPU nodes.
//
// - Sockets are non-blocking and registered once, edge-triggered, for input and output.
//   Edge-triggered because an operation is always tried first and retried until the kernel
//   says EAGAIN: readiness is only needed after an EAGAIN, and one registration per socket
//   lifetime means no epoll_ctl per operation (level-triggered would keep reporting a
//   writable socket, or need an EPOLL_CTL_MOD around every send).
// - Submissions go into a mutex-protected queue; the submitter that finds the reactor not
//   yet signalled writes its eventfd (one write per batch of submissions, not per op).
// - Timeouts: a min-heap of (deadline, operation id), checked on every loop turn;
//   epoll_wait sleeps until the earliest deadline (rounded up to a millisecond, so it never
//   wakes early). Entries of operations that finished earlier are skipped when they surface.
// - After a turn with work the loop polls for kPollNs before it sleeps (see there); the
//   wake-ups counter counts returns from a sleeping epoll_wait.
// - Sockets live in a slot table; a SocketToken is (generation << 32 | slot), and closing a
//   socket bumps its slot's generation, so unknown and stale tokens are recognised and
//   refused (counted in bad_tokens) without touching any fd.
// - Operations on one socket run in submission order per direction (receives and accepts on
//   the input side, sends and the connect on the output side).
// - Everything below the submission queue is touched by the reactor thread only, except
//   OVP endpoints (below), each guarded by its own mutex, and the list of live ones that
//   add_metrics() reads under metrics_mutex_.
//
// OVP (the Ovp slot kind): OvpInit opens a PacketSocket on the interface (EtherType 0x88B5)
// and an ovp::Endpoint, registered like any socket (edge-triggered). OvpEmit hands the
// payload to the endpoint, which queues it; at the end of every loop turn each endpoint
// with something due is flushed (queued messages packed into BATCH frames, reliable data,
// acks and retransmissions) and its frames leave in one sendmmsg batch; the emits of that
// turn resolve after it. Input edges drain the socket with recvmmsg into the endpoint;
// delivered messages resolve waiting OvpReceives in order, or wait in the endpoint's
// bounded queue. Reliable-mode timers are the endpoints' next_deadline(), folded into the
// epoll_wait timeout. Unicast frames go to the MAC address the endpoint learned for the
// drone, or to the Ethernet broadcast address until it has heard from it.
//
// Emits skip the reactor when that is faster: an OvpEmit that finds its endpoint quiet (no
// emit in the last kInlineGapNs, none waiting in the reactor's queue, at most one receive
// waiting: a request/response exchange rather than a pipeline) is encoded and sent
// with one sendmmsg on the submitting thread and resolved there, saving the hand-off to the
// reactor thread and back (a request/response exchange pays it twice per round trip).
// Emits that come closer together go through the reactor, where one turn's worth is packed
// into BATCH frames and one sendmmsg. Order is kept: an emit goes inline only when none is
// waiting in the reactor, and every flush sends what was staged before it. A submitter
// whose emit set an earlier reliable-mode timer than the sleeping reactor will wake for
// writes its eventfd. Likewise an OvpReceive that finds a message waiting, and no earlier
// receive waiting in the reactor, takes it on the submitting thread.
#include <arpa/inet.h>
#include <sys/time.h>

#include <shared_mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include <omega/base/assert.hpp>
#include <omega/base/clock.hpp>
#include <omega/io/reactor.hpp>
#include <omega/ovp/endpoint.hpp>

#include "packet_socket.hpp"

namespace omega {
namespace {

std::string errno_text(const char* what, int err) {
  return std::string(what) + ": " + std::system_category().message(err) + " (errno " + std::to_string(err) + ")";
}

std::string token_text(SocketToken t) {
  return "socket token " + std::to_string(t.value >> 32) + ":" + std::to_string(t.value & 0xffffffffu);
}

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

class EpollReactor final : public Reactor {
 public:
  explicit EpollReactor(IoCounters& counters) : counters_(counters) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    OMEGA_ASSERT(epoll_fd_ >= 0 && wake_fd_ >= 0, "epoll_create1/eventfd failed: out of file descriptors?");
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: read (reset) on every report
    ev.data.u64 = kWakeKey;
    OMEGA_ASSERT(::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) == 0, "epoll_ctl(eventfd) failed");
    thread_ = std::thread([this] { run(); });
  }
  ~EpollReactor() override {
    shutdown();
    ::close(wake_fd_);
    ::close(epoll_fd_);
  }

  void submit(IoRequest request) noexcept override {
    if (auto* e = std::get_if<io_ops::OvpEmit>(&request.op.variant())) {
      if (emit_inline(*e, request.done)) return;
    } else if (auto* r = std::get_if<io_ops::OvpReceive>(&request.op.variant())) {
      if (receive_inline(*r, request.done)) return;
    }
    bool signal = false;
    {
      std::lock_guard lock(mutex_);
      if (!stopped_) {
        incoming_.push_back(std::move(request));
        signal = !signalled_;
        signalled_ = true;
      }
    }
    if (request.done.pending()) {  // not moved into the queue: the reactor has stopped
      request.done.fail(kIoShuttingDown);
      return;
    }
    if (signal) wake();
  }

  void shutdown() noexcept override {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      stopped_flag_.store(true);
    }
    wake();
    // A second caller waits for the join too: shutdown() returning always means every
    // operation has been resolved.
    std::lock_guard join_lock(join_mutex_);
    if (thread_.joinable()) thread_.join();
  }

  [[nodiscard]] std::string describe() const override {
    return "epoll (edge-triggered), 1 thread; OVP over AF_PACKET (sendmmsg/recvmmsg)";
  }

  // The inline emit (see the top of the file). False: the caller queues it for the reactor
  // (which reports bad tokens, closed endpoints and shutdown the usual way).
  bool emit_inline(const io_ops::OvpEmit& e, IoCompletion& done) noexcept {
    if (stopped_flag_.load(std::memory_order_acquire)) return false;
    std::shared_ptr<OvpState> st = lookup(e.socket_token);
    if (!st) return false;
    std::unique_lock lock(st->mu);
    if (!st->open) return false;
    const std::int64_t now = now_ns();
    const bool burst = now - st->last_emit_ns < kInlineGapNs;
    st->last_emit_ns = now;
    // More than one receive waiting: the caller pipelines, and the reactor's batching and
    // its second thread serve it better than an inline send on the caller's thread.
    if (burst || st->via_reactor > 0 || st->receives_via_reactor > 1) {
      ++st->via_reactor;  // the reactor takes it (and counts it back) in order
      return false;
    }
    std::optional<std::span<const std::uint32_t>> targets;
    if (e.targets) targets = std::span<const std::uint32_t>(*e.targets);
    auto r = st->endpoint->emit(targets, e.payload, e.channel, Nanos(now));
    if (!r) {
      std::string why = emit_error(r.error(), e.payload.size(), st->socket.mtu());
      lock.unlock();
      done.fail(std::move(why));
      return true;
    }
    flush_locked(*st, now);
    st->inline_emits.add();
    const auto deadline = st->endpoint->next_deadline();
    lock.unlock();
    IoOutput out;
    out.bytes = e.payload.size();
    done.complete(std::move(out));
    // A timer (reliable mode) earlier than the reactor's planned wake-up: wake it.
    if (deadline && deadline->count() < sleep_until_.load()) wake();
    return true;
  }

  // An OvpReceive that finds a message waiting (and no earlier receive waiting in the
  // reactor) takes it on the submitting thread. False: the reactor takes it, in order.
  bool receive_inline(const io_ops::OvpReceive& r, IoCompletion& done) noexcept {
    if (stopped_flag_.load(std::memory_order_acquire)) return false;
    std::shared_ptr<OvpState> st = lookup(r.socket_token);
    if (!st) return false;
    std::unique_lock lock(st->mu);
    if (!st->open) return false;
    if (st->receives_via_reactor > 0 || !st->endpoint->pop(st->inline_message)) {
      ++st->receives_via_reactor;
      return false;
    }
    IoOutput out;
    out.bytes = st->inline_message.payload.size();
    out.data = std::move(st->inline_message.payload);
    out.source_drone = st->inline_message.source;
    out.channel = st->inline_message.channel;
    // The pop may have made room for peers whose acks were held back: tell them now.
    const std::int64_t now = now_ns();
    if (auto t = st->endpoint->next_deadline(); t && t->count() <= now) flush_locked(*st, now);
    st->inline_receives.add();
    lock.unlock();
    done.complete(std::move(out));
    return true;
  }

  static std::string emit_error(ovp::EmitError error, std::size_t payload, std::size_t mtu) {
    if (error == ovp::EmitError::SendBufferFull) {
      return "OvpEmit: the reliable send buffer to a target is full (the peer does not acknowledge): back off and "
             "retry";
    }
    return "OvpEmit: " + std::string(ovp::to_string(error)) + " (payload " + std::to_string(payload) +
           " bytes, link MTU " + std::to_string(mtu) + ")";
  }

  void add_metrics(MetricsSnapshot& snap) const override {
    std::lock_guard lock(metrics_mutex_);
    for (OvpState* o : ovp_live_) {
      const MetricLabels labels{{"interface", o->socket.interface()},
                                {"drone", std::to_string(o->endpoint->id())}};
      (void)o->endpoint->export_to(snap, labels);
      const native::PacketSocketCounters c = o->socket.stats();
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
          {"omega_ovp_inline_emits_total", o->inline_emits.value()},
          {"omega_ovp_inline_receives_total", o->inline_receives.value()},
      };
      const char* help[] = {
          "Frames the kernel queued for the OVP socket, drops included (PACKET_STATISTICS)",
          "Frames the kernel dropped: the OVP socket's receive buffer was full (PACKET_STATISTICS)",
          "sendmmsg calls",
          "recvmmsg calls",
          "Frames the kernel could not take at once, kept and sent later",
          "Frames dropped: the send backlog was full",
          "Frames the kernel refused (errno text in the reactor's last error)",
          "Frames larger than the receive buffer, dropped",
          "Frames of another interface, EtherType or our own, skipped",
          "OvpEmits sent on the submitting thread (a quiet endpoint), not through the reactor",
          "OvpReceives that found their message waiting and resolved on the submitting thread",
      };
      for (std::size_t i = 0; i < std::size(rows); ++i) (void)snap.add_counter(rows[i].first, help[i], labels, rows[i].second);
    }
  }

 private:
  static constexpr std::uint64_t kWakeKey = ~std::uint64_t{0};
  static constexpr std::size_t kScratchBytes = 64 * 1024;
  // After a turn that did work, the loop polls (epoll_wait with timeout 0, yielding in
  // between) for this long before it sleeps: a request/response peer usually answers within
  // it, and a polling reactor needs no eventfd write and no wake-up to see it.
  static constexpr std::int64_t kPollNs = 50'000;

  // Lingering: an OVP endpoint closed with OvpClose whose reliable layer still holds data;
  // its token is stale, but it keeps running (flush, retransmit, receive acks) until it has
  // delivered everything or kOvpLingerNs passed, then it really closes.
  enum class Kind : std::uint8_t { Free, Connecting, Stream, Listener, Ovp, Lingering };
  static constexpr std::int64_t kOvpLingerNs = 2'000'000'000;
  // Emits closer together than this go through the reactor and are batched; further apart
  // they are sent inline by their submitter.
  static constexpr std::int64_t kInlineGapNs = 15'000;

  // One OVP endpoint on one interface.
  // Shared with submitters (inline emits): everything but `dirty` and `linger_until`
  // (reactor thread only) is guarded by `mu`.
  struct OvpState {
    OvpState(native::PacketSocket s, std::unique_ptr<ovp::Endpoint> e) : socket(std::move(s)), endpoint(std::move(e)) {}
    std::mutex mu;
    native::PacketSocket socket;
    std::unique_ptr<ovp::Endpoint> endpoint;
    bool open = true;                // false once closed: inline emits go to the reactor (bad token)
    std::uint32_t via_reactor = 0;   // emits queued for the reactor, not yet staged
    std::uint32_t receives_via_reactor = 0;  // receives handed to the reactor, not yet resolved
    ovp::Message inline_message;     // receive_inline's scratch
    Counter inline_emits;            // emits sent on their submitter's thread
    Counter inline_receives;         // receives resolved on their submitter's thread
    std::int64_t last_emit_ns = INT64_MIN / 2;
    bool dirty = false;              // flush at the end of this turn
    std::int64_t linger_until = 0;   // Kind::Lingering: close by then at the latest
  };

  struct Slot {
    int fd = -1;
    std::uint32_t generation = 1;  // tokens never have generation 0, so SocketToken{0} is never valid
    Kind kind = Kind::Free;
    std::deque<std::uint64_t> input;   // pending receive/accept operation ids, in order
    std::deque<std::uint64_t> output;  // pending connect/send operation ids, in order
    std::shared_ptr<OvpState> ovp;     // Kind::Ovp/Lingering: owns the fd (the PacketSocket)
  };

  struct Pending {
    IoOp op;
    IoCompletion done;
    std::uint32_t slot = 0;
    std::size_t sent = 0;  // TcpSend: bytes already written
  };

  void wake() noexcept {
    const std::uint64_t one = 1;
    // EAGAIN means the counter is already non-zero: the reactor is being woken anyway.
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  }

  // ---- the loop --------------------------------------------------------------------------

  void run() {
    std::vector<epoll_event> events(256);
    std::vector<IoRequest> batch;
    std::int64_t poll_until = 0;  // after a turn with work, poll (no blocking) until then
    for (;;) {
      bool block = now_ns() >= poll_until;
      if (block) {
        // About to sleep: from now on a submission must write the eventfd. Checked under the
        // lock, so a submission either is seen here or finds signalled_ false and writes.
        std::lock_guard lock(mutex_);
        if (!incoming_.empty() || (stopped_ && lingering_ == 0)) {
          block = false;
        } else {
          signalled_ = false;
        }
      }
      int timeout_ms = 0;
      if (block) {
        // Published before the endpoints' timers are read, so an inline emit that sets an
        // earlier timer after that either is seen here or sees this and wakes us.
        sleep_until_.store(INT64_MAX);
        timeout_ms = next_timeout_ms();
        sleep_until_.store(timeout_ms < 0 ? INT64_MAX : now_ns() + std::int64_t{timeout_ms} * 1'000'000);
      }
      const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
      if (block) {
        sleep_until_.store(0);
        counters_.wakeups.add();
      }
      if (n < 0 && errno != EINTR) OMEGA_ASSERT(false, "epoll_wait failed");
      bool work = false;
      for (int i = 0; i < n; ++i) {
        const epoll_event& ev = events[static_cast<std::size_t>(i)];
        if (ev.data.u64 == kWakeKey) {
          std::uint64_t value;
          [[maybe_unused]] auto r = ::read(wake_fd_, &value, sizeof value);
          continue;
        }
        work = true;
        on_event(static_cast<std::uint32_t>(ev.data.u64), ev.events);
      }
      bool stop;
      {
        std::lock_guard lock(mutex_);
        batch.swap(incoming_);
        signalled_ = true;  // awake: submitters need not write the eventfd until we block again
        stop = stopped_;
      }
      work = work || !batch.empty();
      for (auto& request : batch) start(std::move(request));
      batch.clear();
      const std::int64_t now = now_ns();
      expire(now);
      if (!ovp_slots_.empty()) work = flush_ovp(now) || work;
      if (stop) {
        // Everything pending fails and every socket closes now, except endpoints still
        // delivering what they held when they were closed: the loop runs on for those.
        if (!stopping_) {
          stopping_ = true;
          drain_on_shutdown();
        }
        if (lingering_ == 0) break;
      }
      if (work) {
        poll_until = now + kPollNs;
      } else if (!block) {
        std::this_thread::yield();  // polling and idle: leave the CPU to the threads we serve
      }
    }
    drain_on_shutdown();
  }

  int next_timeout_ms() {
    while (!deadlines_.empty() && !pending_.count(deadlines_.top().second)) deadlines_.pop();
    if (deadlines_.size() > 2 * pending_.size() + 1024) {
      // Mostly entries of operations that finished long before their deadline (a fast
      // stream of operations with long timeouts): rebuild from the live ones, so the heap
      // stays proportional to what is pending. Amortised O(1) per entry.
      std::vector<Deadline> live;
      live.reserve(pending_.size());
      while (!deadlines_.empty()) {
        if (pending_.count(deadlines_.top().second)) live.push_back(deadlines_.top());
        deadlines_.pop();
      }
      deadlines_ = decltype(deadlines_)(std::greater<>(), std::move(live));
    }
    std::int64_t next = deadlines_.empty() ? INT64_MAX : deadlines_.top().first;
    for (std::uint32_t slot : ovp_slots_) {
      OvpState& o = *slots_[slot].ovp;
      std::lock_guard lock(o.mu);
      // A kernel that said EAGAIN/ENOBUFS gets another try in a millisecond even if no
      // writability edge comes (ENOBUFS raises none).
      if (o.socket.backlogged()) next = std::min(next, now_ns() + 1'000'000);
      if (auto t = o.endpoint->next_deadline()) next = std::min(next, std::max<std::int64_t>(t->count(), 0));
      if (slots_[slot].kind == Kind::Lingering) next = std::min(next, o.linger_until);
    }
    if (next == INT64_MAX) return -1;
    const std::int64_t left = next - now_ns();
    if (left <= 0) return 0;
    const std::int64_t ms = (left + 999'999) / 1'000'000;  // round up: never wake before the deadline
    return static_cast<int>(std::min<std::int64_t>(ms, 60'000));
  }

  void expire(std::int64_t now) {
    while (!deadlines_.empty() && deadlines_.top().first <= now) {
      const std::uint64_t id = deadlines_.top().second;
      deadlines_.pop();
      auto it = pending_.find(id);
      if (it == pending_.end()) continue;  // finished before its deadline
      std::unique_ptr<Pending> p = std::move(it->second);
      pending_.erase(it);
      p->done.complete(Err(TaskError::TimedOut{}));
      if (std::holds_alternative<io_ops::OvpReceive>(p->op.variant()) && slots_[p->slot].ovp) {
        OvpState& o = *slots_[p->slot].ovp;
        std::lock_guard lock(o.mu);
        if (o.receives_via_reactor > 0) --o.receives_via_reactor;
      }
      if (std::holds_alternative<io_ops::TcpConnect>(p->op.variant())) {
        // A connect that never finished owns its socket, which nobody can name yet: close it.
        close_slot(p->slot, "connect timed out");
        continue;
      }
      // Take it out of its socket's queue; if it was first, the next one may run now
      // (edge-triggered: readiness that came while it waited raises no new event).
      const bool input = std::holds_alternative<io_ops::TcpReceive>(p->op.variant()) ||
                         std::holds_alternative<io_ops::TcpAccept>(p->op.variant()) ||
                         std::holds_alternative<io_ops::OvpReceive>(p->op.variant());
      auto& q = input ? slots_[p->slot].input : slots_[p->slot].output;
      const bool was_first = !q.empty() && q.front() == id;
      q.erase(std::remove(q.begin(), q.end(), id), q.end());
      if (was_first) pump(p->slot, input);
    }
  }

  void drain_on_shutdown() {
    std::vector<IoRequest> late;
    {
      std::lock_guard lock(mutex_);
      late.swap(incoming_);  // queued before stopped_ was set, never started
    }
    for (auto& r : late) r.done.fail(kIoShuttingDown);
    for (auto& [id, p] : pending_) p->done.fail(kIoShuttingDown);
    pending_.clear();
    for (std::uint32_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].kind != Kind::Free && slots_[i].kind != Kind::Lingering) close_slot(i, kIoShuttingDown);
    }
    while (!deadlines_.empty()) deadlines_.pop();
  }

  // ---- sockets ---------------------------------------------------------------------------

  SocketToken token_of(std::uint32_t slot) const {
    return SocketToken{(std::uint64_t{slots_[slot].generation} << 32) | slot};
  }

  // The slot a token names if it is live and of an accepted kind; otherwise fails `done`
  // with the reason (and counts a bad token) and returns nullopt.
  std::optional<std::uint32_t> resolve(SocketToken token, Kind want, const char* op, IoCompletion& done) {
    const auto index = static_cast<std::uint32_t>(token.value & 0xffffffffu);
    const auto generation = static_cast<std::uint32_t>(token.value >> 32);
    if (index >= slots_.size() || slots_[index].generation != generation || slots_[index].kind == Kind::Free ||
        slots_[index].kind == Kind::Connecting || slots_[index].kind == Kind::Lingering) {
      counters_.bad_tokens.add();
      done.fail(std::string(op) + ": bad " + token_text(token) + " (never issued, or its socket was closed)");
      return std::nullopt;
    }
    if (want != Kind::Free && slots_[index].kind != want) {
      done.fail(std::string(op) + ": " + token_text(token) + " is " + kind_text(slots_[index].kind) + ", not " +
                kind_text(want));
      return std::nullopt;
    }
    return index;
  }

  static const char* kind_text(Kind k) {
    switch (k) {
      case Kind::Listener: return "a listener";
      case Kind::Stream: return "a connection";
      case Kind::Ovp: return "an OVP endpoint";
      default: return "a socket";
    }
  }

  // Registers fd (non-blocking already) and returns its slot. On failure fd is closed,
  // unless the caller still owns it (owns_fd false: an OVP PacketSocket).
  std::optional<std::uint32_t> adopt(int fd, Kind kind, std::string& error, bool owns_fd = true) {
    std::uint32_t index;
    if (!free_slots_.empty()) {
      index = free_slots_.back();
      free_slots_.pop_back();
    } else {
      if (slots_.size() >= 0xffffffffu) {
        error = "too many sockets";
        if (owns_fd) ::close(fd);
        return std::nullopt;
      }
      index = static_cast<std::uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = index;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      error = errno_text("epoll_ctl", errno);
      if (owns_fd) ::close(fd);
      free_slots_.push_back(index);
      return std::nullopt;
    }
    Slot& s = slots_[index];
    s.fd = fd;
    s.kind = kind;
    counters_.open_sockets.add(1);
    return index;
  }

  // Closes a live slot: its pending operations fail with `why`, its token goes stale.
  void close_slot(std::uint32_t index, const std::string& why) {
    Slot& s = slots_[index];
    if (s.kind == Kind::Free) return;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.fd, nullptr);
    if (s.kind == Kind::Lingering) --lingering_;
    if (s.ovp) {
      {
        std::lock_guard lock(metrics_mutex_);
        ovp_live_.erase(std::remove(ovp_live_.begin(), ovp_live_.end(), s.ovp.get()), ovp_live_.end());
      }
      ovp_slots_.erase(std::remove(ovp_slots_.begin(), ovp_slots_.end(), index), ovp_slots_.end());
      forget_token(index);
      {
        std::lock_guard lock(s.ovp->mu);
        s.ovp->open = false;
      }
      s.ovp.reset();  // closes the fd (or the last submitter still holding it does)
    } else {
      ::close(s.fd);
    }
    s.fd = -1;
    s.kind = Kind::Free;
    ++s.generation;
    if (s.generation == 0) s.generation = 1;
    counters_.open_sockets.add(-1);
    fail_pending(index, why);
    free_slots_.push_back(index);
  }

  void fail_pending(std::uint32_t index, const std::string& why) {
    Slot& s = slots_[index];
    for (auto* q : {&s.input, &s.output}) {
      for (std::uint64_t id : *q) {
        auto it = pending_.find(id);
        if (it == pending_.end()) continue;
        std::unique_ptr<Pending> p = std::move(it->second);
        pending_.erase(it);
        p->done.fail(why);
      }
      q->clear();
    }
  }

  // ---- operations ------------------------------------------------------------------------

  void start(IoRequest request) {
    IoCompletion& done = request.done;
    auto& op = request.op.variant();
    if (auto* c = std::get_if<io_ops::TcpConnect>(&op)) {
      sockaddr_in addr{};
      if (!parse(c->host, c->port, addr, "TcpConnect", done)) return;
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) return done.fail(errno_text("socket", errno));
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // request/response: no Nagle delay
      std::string error;
      auto slot = adopt(fd, Kind::Connecting, error);
      if (!slot) return done.fail("TcpConnect: " + error);
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
        return done.fail(errno_text(("bind " + l->host + ":" + std::to_string(l->port)).c_str(), err));
      }
      if (::listen(fd, l->backlog) != 0) {
        const int err = errno;
        ::close(fd);
        return done.fail(errno_text("listen", err));
      }
      std::string error;
      auto slot = adopt(fd, Kind::Listener, error);
      if (!slot) return done.fail("TcpListen: " + error);
      IoOutput out;
      out.socket = token_of(*slot);
      out.local = local_of(fd);
      done.complete(std::move(out));
    } else if (auto* a = std::get_if<io_ops::TcpAccept>(&op)) {
      auto slot = resolve(a->listener, Kind::Listener, "TcpAccept", done);
      if (slot) enqueue(std::move(request), *slot, true);
    } else if (auto* s = std::get_if<io_ops::TcpSend>(&op)) {
      auto slot = resolve(s->socket, Kind::Stream, "TcpSend", done);
      if (slot) enqueue(std::move(request), *slot, false);
    } else if (auto* r = std::get_if<io_ops::TcpReceive>(&op)) {
      auto slot = resolve(r->socket, Kind::Stream, "TcpReceive", done);
      if (slot) enqueue(std::move(request), *slot, true);
    } else if (auto* cl = std::get_if<io_ops::TcpClose>(&op)) {
      auto slot = resolve(cl->socket, Kind::Free, "TcpClose", done);
      if (!slot) return;
      close_slot(*slot, "socket closed (TcpClose) while the operation was pending");
      done.complete(IoOutput{});
    } else {
      start_ovp(std::move(request));
    }
  }

  // ---- OVP -------------------------------------------------------------------------------

  void start_ovp(IoRequest request) {
    IoCompletion& done = request.done;
    auto& op = request.op.variant();
    if (auto* init = std::get_if<io_ops::OvpInit>(&op)) {
      auto socket = native::PacketSocket::open(init->interface, ovp::kEtherType);
      if (!socket) return done.fail("OvpInit: " + socket.error());
      ovp::EndpointConfig config;
      config.my_drone_id = init->my_drone_id;
      config.groups = init->groups;
      config.reliable = init->reliable;
      config.max_frame = std::min(socket->mtu(), ovp::kMaxOvpSize);
      timeval tv{};
      ::gettimeofday(&tv, nullptr);
      last_epoch_ = ovp::session_epoch(static_cast<std::uint64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000, last_epoch_);
      config.epoch = last_epoch_;
      auto endpoint = ovp::Endpoint::try_create(std::move(config));
      if (!endpoint) return done.fail("OvpInit: " + endpoint.error() + " (interface " + init->interface + ")");
      std::string error;
      auto slot = adopt(socket->fd(), Kind::Ovp, error, /*owns_fd=*/false);
      if (!slot) return done.fail("OvpInit: " + error);
      auto state = std::make_shared<OvpState>(std::move(*socket), std::move(*endpoint));
      {
        std::lock_guard lock(metrics_mutex_);
        ovp_live_.push_back(state.get());
      }
      {
        std::unique_lock lock(ovp_map_mutex_);
        ovp_by_token_[token_of(*slot).value] = state;
      }
      slots_[*slot].ovp = std::move(state);
      ovp_slots_.push_back(*slot);
      mark_dirty(*slot);  // its HELLO goes out this turn
      IoOutput out;
      out.socket = token_of(*slot);
      done.complete(std::move(out));
    } else if (auto* e = std::get_if<io_ops::OvpEmit>(&op)) {
      auto slot = resolve(e->socket_token, Kind::Ovp, "OvpEmit", done);
      if (!slot) return;
      std::optional<std::span<const std::uint32_t>> targets;
      if (e->targets) targets = std::span<const std::uint32_t>(*e->targets);
      OvpState& o = *slots_[*slot].ovp;
      std::unique_lock lock(o.mu);
      if (o.via_reactor > 0) --o.via_reactor;
      auto r = o.endpoint->emit(targets, e->payload, e->channel, Nanos(now_ns()));
      if (!r) {
        std::string why = emit_error(r.error(), e->payload.size(), o.socket.mtu());
        lock.unlock();
        return done.fail(std::move(why));
      }
      lock.unlock();
      mark_dirty(*slot);
      emitted_.push_back(Emitted{std::move(done), e->payload.size()});
    } else if (auto* rcv = std::get_if<io_ops::OvpReceive>(&op)) {
      auto slot = resolve(rcv->socket_token, Kind::Ovp, "OvpReceive", done);
      if (slot) enqueue(std::move(request), *slot, /*input=*/true);
    } else if (auto* c = std::get_if<io_ops::OvpClose>(&op)) {
      auto slot = resolve(c->socket_token, Kind::Ovp, "OvpClose", done);
      if (!slot) return;
      // What the endpoint still had queued goes out first (and emits accepted so far resolve).
      const std::int64_t now = now_ns();
      flush_ovp(now);
      const char* why = "socket closed (OvpClose) while the operation was pending";
      Slot& s = slots_[*slot];
      bool idle;
      {
        std::lock_guard lock(s.ovp->mu);
        idle = s.ovp->endpoint->idle();
        if (!idle) {
          s.ovp->open = false;  // emits racing with the close now go to the reactor: bad token
          ovp::Message discard;
          while (s.ovp->endpoint->pop(discard)) {
          }
        }
      }
      if (idle) {
        close_slot(*slot, why);
      } else {
        // Reliable data still unacknowledged: like a TCP close, the close returns now and
        // the endpoint delivers the rest in the background (up to kOvpLingerNs).
        forget_token(*slot);
        fail_pending(*slot, why);
        s.kind = Kind::Lingering;
        if (++s.generation == 0) s.generation = 1;  // the token is stale from now on
        s.ovp->linger_until = now + kOvpLingerNs;
        ++lingering_;
      }
      done.complete(IoOutput{});
    }
  }

  void mark_dirty(std::uint32_t slot) { slots_[slot].ovp->dirty = true; }

  std::shared_ptr<OvpState> lookup(SocketToken token) {
    std::shared_lock lock(ovp_map_mutex_);
    auto it = ovp_by_token_.find(token.value);
    return it == ovp_by_token_.end() ? nullptr : it->second;
  }

  void forget_token(std::uint32_t slot) {
    std::unique_lock lock(ovp_map_mutex_);
    ovp_by_token_.erase(token_of(slot).value);
  }

  // Drains the socket into the endpoint and resolves waiting receives.
  void ovp_input(std::uint32_t slot) {
    OvpState& o = *slots_[slot].ovp;
    const Nanos now(now_ns());
    {
      std::lock_guard lock(o.mu);
      auto n = o.socket.receive([&](std::span<const std::uint8_t> frame) { (void)o.endpoint->on_ethernet(frame, now); });
      (void)n;  // a failing recvmmsg (the interface went away) is retried on the next edge
      if (slots_[slot].kind == Kind::Lingering) {
        while (o.endpoint->pop(message_)) {
          // Nobody receives any more; popping keeps the acks flowing.
        }
      }
    }
    if (slots_[slot].kind != Kind::Lingering) pump_input(slot);
    // Acks owed for what arrived go out at the end of this turn.
    std::lock_guard lock(o.mu);
    if (auto t = o.endpoint->next_deadline(); t && *t <= now) o.dirty = true;
  }

  // Flushes one endpoint into its socket: one sendmmsg batch. o.mu held.
  static bool flush_locked(OvpState& o, std::int64_t now) {
    o.endpoint->flush(Nanos(now), [&o](std::uint32_t to, std::span<const std::uint8_t> frame) {
      std::optional<ovp::MacAddress> mac;
      if (to != ovp::kBroadcast) mac = o.endpoint->mac_of(to);
      o.socket.queue(mac ? *mac : native::PacketSocket::kBroadcastMac, frame);
    });
    const bool sent = o.socket.queued() > 0 || o.socket.backlogged();
    if (sent) o.socket.send();
    return sent;
  }

  // The end of a turn: flushes every endpoint with something due, then resolves the emits
  // whose frames are now with the kernel. Returns whether anything was sent.
  bool flush_ovp(std::int64_t now) {
    bool sent = false;
    for (std::uint32_t slot : ovp_slots_) {
      OvpState& o = *slots_[slot].ovp;
      std::lock_guard lock(o.mu);
      bool due = o.dirty || o.socket.backlogged();
      if (!due) {
        auto t = o.endpoint->next_deadline();
        due = t && t->count() <= now;
      }
      o.dirty = false;
      if (due) sent = flush_locked(o, now) || sent;
    }
    complete_emits();
    if (lingering_ > 0) {
      finished_.clear();
      for (std::uint32_t slot : ovp_slots_) {
        const Slot& s = slots_[slot];
        if (s.kind != Kind::Lingering) continue;
        std::lock_guard lock(s.ovp->mu);
        if (s.ovp->endpoint->idle() || now >= s.ovp->linger_until) finished_.push_back(slot);
      }
      for (std::uint32_t slot : finished_) close_slot(slot, "socket closed (OvpClose)");
    }
    return sent;
  }

  void complete_emits() {
    for (Emitted& e : emitted_) {
      IoOutput out;
      out.bytes = e.bytes;
      e.done.complete(std::move(out));
    }
    emitted_.clear();
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

  // Queues the operation behind earlier ones in the same direction and, if it is first,
  // tries it at once (edge-triggered: no event comes for readiness that already exists).
  void enqueue(IoRequest request, std::uint32_t slot, bool input) {
    const std::uint64_t id = next_id_++;
    auto p = std::make_unique<Pending>();
    p->op = std::move(request.op);
    p->done = std::move(request.done);
    p->slot = slot;
    pending_.emplace(id, std::move(p));
    if (request.deadline_ns != INT64_MAX) deadlines_.emplace(request.deadline_ns, id);
    auto& q = input ? slots_[slot].input : slots_[slot].output;
    q.push_back(id);
    if (q.size() == 1) input ? pump_input(slot) : pump_output(slot);
  }

  void on_event(std::uint32_t slot, std::uint32_t events) {
    if (slot >= slots_.size() || slots_[slot].kind == Kind::Free) return;  // closed earlier this turn
    if (slots_[slot].kind == Kind::Ovp || slots_[slot].kind == Kind::Lingering) {
      if (events & EPOLLIN) ovp_input(slot);
      if (events & EPOLLOUT) mark_dirty(slot);  // a backlog (if any) goes at the end of the turn
      return;
    }
    // Input operations never close their socket, so the slot is still the same one after.
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) pump_input(slot);
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) pump_output(slot);
  }

  // Runs the slot's queued operations of one direction, in order, until one would block.
  void pump(std::uint32_t slot, bool input) {
    for (;;) {
      auto& q = input ? slots_[slot].input : slots_[slot].output;
      if (q.empty()) return;
      const std::uint64_t id = q.front();
      auto it = pending_.find(id);
      if (it == pending_.end()) {  // cancelled (timed out) earlier
        q.pop_front();
        continue;
      }
      const Outcome outcome = input ? try_input(slot, *it->second) : try_output(slot, *it->second);
      if (outcome == Outcome::WouldBlock) return;  // the next edge resumes it
      pending_.erase(it);
      // Not `q`: an accept adds a slot, which may have moved slots_.
      (input ? slots_[slot].input : slots_[slot].output).pop_front();
      if (outcome == Outcome::DoneCloseSlot) {
        close_slot(slot, "connect failed");
        return;
      }
    }
  }
  void pump_input(std::uint32_t slot) { pump(slot, true); }
  void pump_output(std::uint32_t slot) { pump(slot, false); }

  // What one attempt at an operation came to. Done and DoneCloseSlot: p.done was completed
  // (DoneCloseSlot: and the socket is unusable, a failed connect).
  enum class Outcome : std::uint8_t { WouldBlock, Done, DoneCloseSlot };

  Outcome try_input(std::uint32_t slot, Pending& p) {
    const int fd = slots_[slot].fd;
    if (slots_[slot].kind == Kind::Ovp) {
      {
        OvpState& o = *slots_[slot].ovp;
        std::lock_guard lock(o.mu);
        if (!o.endpoint->pop(message_)) return Outcome::WouldBlock;
        if (o.receives_via_reactor > 0) --o.receives_via_reactor;
      }
      IoOutput out;
      out.bytes = message_.payload.size();
      out.data = std::move(message_.payload);
      out.source_drone = message_.source;
      out.channel = message_.channel;
      p.done.complete(std::move(out));
      return Outcome::Done;
    }
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
    std::string error;
    auto s2 = adopt(fd2, Kind::Stream, error);
    if (!s2) {
      p.done.fail("TcpAccept: " + error);
      return Outcome::Done;
    }
    IoOutput out;
    out.socket = token_of(*s2);
    out.local = local_of(fd2);
    out.peer = to_address(peer);
    p.done.complete(std::move(out));
    return Outcome::Done;
  }

  Outcome try_output(std::uint32_t slot, Pending& p) {
    Slot& s = slots_[slot];
    if (s.kind == Kind::Connecting) {
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
          s.kind = Kind::Stream;
          IoOutput out;
          out.socket = token_of(slot);
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

  IoCounters& counters_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::mutex join_mutex_;

  std::mutex mutex_;                // guards the three below
  std::vector<IoRequest> incoming_;
  bool signalled_ = false;          // the eventfd was written and the reactor has not drained since
  bool stopped_ = false;

  // Reactor thread only.
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Pending>> pending_;
  using Deadline = std::pair<std::int64_t, std::uint64_t>;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  std::uint64_t next_id_ = 1;
  std::uint8_t scratch_[kScratchBytes];

  // OVP (reactor thread only, but ovp_live_, which add_metrics reads under metrics_mutex_).
  struct Emitted {
    IoCompletion done;
    std::size_t bytes;
  };
  std::vector<std::uint32_t> ovp_slots_;  // live OVP slots
  std::vector<Emitted> emitted_;          // emits accepted this turn, resolved after the flush
  std::uint32_t last_epoch_ = 0;
  ovp::Message message_;
  std::size_t lingering_ = 0;           // slots of Kind::Lingering
  std::vector<std::uint32_t> finished_;  // lingering slots done this turn
  bool stopping_ = false;                // shutdown began: pending operations failed
  mutable std::mutex metrics_mutex_;
  std::vector<OvpState*> ovp_live_;
  // Inline emits (submitter threads): token -> endpoint, and when the reactor will wake.
  std::shared_mutex ovp_map_mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<OvpState>> ovp_by_token_;
  std::atomic<std::int64_t> sleep_until_{0};  // 0: awake; INT64_MAX: asleep without a deadline
  std::atomic<bool> stopped_flag_{false};
};

}  // namespace

std::unique_ptr<Reactor> make_platform_reactor(IoCounters& counters) {
  return std::make_unique<EpollReactor>(counters);
}

}  // namespace omega
