// The WASM reactor. A browser page cannot open raw TCP sockets (only fetch, WebSocket and
// WebRTC), and Node runs the same build, so every TCP operation resolves at once with
// ExecutionFailed(kTcpUnavailable): the way out of the browser is the OVP gateway. OVP
// operations go to the WebSocket transport (ovp_websocket.hpp), which runs on the main
// thread's event loop; nothing here ever blocks it.
#include <mutex>

#include "io/reactor.hpp"
#include "ovp_websocket.hpp"

namespace omega {
namespace {

constexpr const char* kTcpUnavailable = "TCP is not available in the browser; use the OVP gateway";

class WasmReactor final : public Reactor {
 public:
  explicit WasmReactor(IoCounters& counters) : counters_(counters), ovp_(counters) {}

  void submit(IoRequest request) noexcept override {
    counters_.wakeups.add();  // each submission is one turn of this reactor
    const bool ovp = request.op.index() >= IoOpVariant(io_ops::OvpInit{}).index();
    if (ovp) {
      ovp_.submit(std::move(request));  // refuses it itself once shut down
      return;
    }
    bool stopped;
    {
      std::lock_guard lock(mutex_);
      stopped = stopped_;
    }
    request.done.fail(stopped ? kIoShuttingDown : kTcpUnavailable);
  }
  void shutdown() noexcept override {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    ovp_.shutdown();
  }
  [[nodiscard]] std::string describe() const override {
    return "wasm: no TCP in the browser; OVP over WebSocket to the gateway";
  }
  void add_metrics(MetricsSnapshot& snapshot) const override { ovp_.add_metrics(snapshot); }

 private:
  IoCounters& counters_;
  std::mutex mutex_;
  bool stopped_ = false;
  wasm::OvpWebSocketTransport ovp_;
};

}  // namespace

std::unique_ptr<Reactor> make_platform_reactor(IoCounters& counters) { return std::make_unique<WasmReactor>(counters); }

}  // namespace omega
