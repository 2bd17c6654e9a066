// The native reactor: a client of the platform's one event loop (event_loop.hpp), which runs
// on a thread of its own, separate from the CPU nodes.
//
// - Submissions go into a mutex-protected mailbox; the submitter that finds it empty posts
//   one drain to the loop (one post, and at most one eventfd write, per batch).
// - The loop polls for kPollNs after a turn with work before it sleeps (EventLoop::Options);
//   the wake-ups counter counts returns from a sleeping epoll_wait.
// - Sockets live in the slot table (socket_table.hpp); TCP operations are tcp_ops.hpp's,
//   OVP operations ovp_port.hpp's (one core OvpSession per endpoint). OVP emits and
//   receives may take their fast paths on the submitting thread first.
// - Shutdown resolves every pending operation with kIoShuttingDown and closes every socket,
//   except OVP sessions lingering after an OvpClose: the loop runs on until they are done
//   (at most io::kOvpLingerNs), then stops.
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <omega/base/assert.hpp>

#include "event_loop.hpp"
#include "io/reactor.hpp"
#include "ovp_port.hpp"
#include "socket_table.hpp"
#include "tcp_ops.hpp"

namespace omega {
namespace {

// After a turn that did work, the loop polls this long before it sleeps: a request/response
// peer usually answers within it, and a polling loop needs no eventfd write and no wake-up
// to see it.
constexpr std::int64_t kPollNs = 50'000;

std::unique_ptr<native::EventLoop> make_loop(IoCounters& counters) {
  auto loop = native::EventLoop::create(native::EventLoop::Options{.poll_ns = kPollNs, .wakeups = &counters.wakeups});
  OMEGA_ASSERT(loop.has_value(), "the reactor's event loop could not be created: out of file descriptors?");
  return std::move(*loop);
}

class EpollReactor final : public Reactor {
 public:
  explicit EpollReactor(IoCounters& counters)
      : loop_(make_loop(counters)),
        sockets_(*loop_, counters, [this](std::uint32_t slot, std::uint32_t events) { on_event(slot, events); }),
        tcp_(*loop_, sockets_),
        ovp_(*loop_, sockets_) {
    thread_ = std::thread([this] { loop_->run(); });
  }
  ~EpollReactor() override { shutdown(); }

  void submit(IoRequest request) noexcept override {
    if (ovp_.submit_inline(request)) return;
    bool post = false;
    {
      std::lock_guard lock(mutex_);
      if (!stopped_) {
        post = incoming_.empty();
        incoming_.push_back(std::move(request));
      }
    }
    if (request.done.pending()) {  // not moved into the mailbox: the reactor has stopped
      request.done.fail(kIoShuttingDown);
      return;
    }
    if (post) loop_->post([this] { drain(); });
  }

  void shutdown() noexcept override {
    bool first;
    {
      std::lock_guard lock(mutex_);
      first = !std::exchange(stopped_, true);
    }
    if (first) loop_->post([this] { stop(); });
    // A second caller waits for the join too: shutdown() returning always means every
    // operation has been resolved.
    std::lock_guard join_lock(join_mutex_);
    if (thread_.joinable()) thread_.join();
  }

  [[nodiscard]] std::string describe() const override {
    return "epoll (edge-triggered), 1 thread; OVP over AF_PACKET (sendmmsg/recvmmsg)";
  }

  void add_metrics(MetricsSnapshot& snap) const override { ovp_.add_metrics(snap); }

 private:
  // Loop thread from here on.
  void drain() {
    {
      std::lock_guard lock(mutex_);
      batch_.swap(incoming_);
    }
    for (IoRequest& request : batch_) {
      if (stopping_) {
        request.done.fail(kIoShuttingDown);
      } else {
        start(std::move(request));
      }
    }
    batch_.clear();
  }

  void start(IoRequest request) {
    const std::size_t index = request.op.index();
    if (auto* close = std::get_if<io_ops::TcpClose>(&request.op.variant())) {
      // Any kind of socket.
      auto slot = sockets_.resolve(close->socket, native::SlotKind::Free, "TcpClose", request.done);
      if (!slot) return;
      const char* why = "socket closed (TcpClose) while the operation was pending";
      if (sockets_[*slot].kind == native::SlotKind::Ovp) {
        ovp_.close_slot(*slot, why);
      } else {
        tcp_.close_slot(*slot, why);
      }
      request.done.complete(IoOutput{});
    } else if (index >= IoOpVariant(io_ops::OvpInit{}).index()) {
      ovp_.start(std::move(request));
    } else {
      tcp_.start(std::move(request));
    }
  }

  void on_event(std::uint32_t slot, std::uint32_t events) {
    const native::SlotKind kind = sockets_[slot].kind;
    if (kind == native::SlotKind::Ovp || kind == native::SlotKind::Lingering) {
      ovp_.on_event(slot, events);
    } else if (kind != native::SlotKind::Free) {
      tcp_.on_event(slot, events);
    }
  }

  // Everything pending fails and every socket closes now, except OVP sessions still
  // delivering what they held when they were closed: the loop runs on for those.
  void stop() {
    stopping_ = true;
    drain();  // queued before the stop, never started: they fail
    tcp_.shutdown();
    ovp_.shutdown([this] { loop_->stop(); });
  }

  std::unique_ptr<native::EventLoop> loop_;
  native::SocketTable sockets_;
  native::TcpOps tcp_;
  native::OvpPort ovp_;
  std::thread thread_;
  std::mutex join_mutex_;

  std::mutex mutex_;  // guards the two below
  std::vector<IoRequest> incoming_;
  bool stopped_ = false;

  // Loop thread only.
  std::vector<IoRequest> batch_;
  bool stopping_ = false;
};

}  // namespace

std::unique_ptr<Reactor> make_platform_reactor(IoCounters& counters) {
  return std::make_unique<EpollReactor>(counters);
}

}  // namespace omega
