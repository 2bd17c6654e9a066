// The WASM reactor. A browser page cannot open raw TCP sockets (only fetch, WebSocket and
// WebRTC), and Node runs the same build, so every TCP operation resolves at once with
// ExecutionFailed(kTcpUnavailable): the way out of the browser is the OVP gateway
// (WebSocket), which is the OVP transport's job. Nothing here ever waits, so the reactor
// needs no thread and never blocks the event loop.
#include <mutex>

#include <omega/io/reactor.hpp>

namespace omega {
namespace {

constexpr const char* kTcpUnavailable = "TCP is not available in the browser; use the OVP gateway";

class WasmReactor final : public Reactor {
 public:
  explicit WasmReactor(IoCounters& counters) : counters_(counters) {}

  void submit(IoRequest request) noexcept override {
    counters_.wakeups.add();  // each submission is one turn of this reactor
    bool stopped;
    {
      std::lock_guard lock(mutex_);
      stopped = stopped_;
    }
    const std::size_t i = request.op.index();
    const bool ovp = i >= IoOpVariant(io_ops::OvpInit{}).index();
    request.done.fail(stopped ? kIoShuttingDown : ovp ? kOvpNotAvailable : kTcpUnavailable);
  }
  void shutdown() noexcept override {
    std::lock_guard lock(mutex_);
    stopped_ = true;  // nothing is ever pending here
  }
  [[nodiscard]] std::string describe() const override { return "wasm: no TCP in the browser"; }

 private:
  IoCounters& counters_;
  std::mutex mutex_;
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<Reactor> make_platform_reactor(IoCounters& counters) { return std::make_unique<WasmReactor>(counters); }

}  // namespace omega
