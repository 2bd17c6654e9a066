#include "raw_port.hpp"

#include "packet_socket.hpp"

namespace omega::gateway {
namespace {

class PacketRawPort final : public RawPort {
 public:
  explicit PacketRawPort(native::PacketSocket socket) : socket_(std::move(socket)) {}

  int fd() const noexcept override { return socket_.fd(); }
  std::string name() const override { return socket_.interface(); }

  void send(std::span<const Outgoing> frames) override {
    // PacketSocket::queue keeps pointers: the frames live until send() returns.
    for (const auto& f : frames) socket_.queue(f.destination, f.frame);
    socket_.send();
  }
  bool backlogged() const override { return socket_.backlogged(); }
  void retry() override { socket_.send(); }

  Result<std::size_t, std::string> receive(const FrameCallback& on_frame) override {
    return socket_.receive([&](std::span<const std::uint8_t> frame) { on_frame(frame); });
  }

  Stats stats() override {
    const native::PacketSocketCounters c = socket_.stats();
    return Stats{.received = c.frames_received,
                 .sent = c.frames_sent,
                 .send_dropped = c.send_dropped + c.send_errors,
                 .kernel_drops = c.kernel_drops};
  }
  std::string last_error() const override { return socket_.last_error(); }

 private:
  native::PacketSocket socket_;
};

}  // namespace

Result<std::unique_ptr<RawPort>, std::string> open_raw_port(const std::string& interface) {
  auto socket = native::PacketSocket::open(interface, ovp::kEtherType);
  if (!socket) return Err(std::move(socket.error()));
  return std::unique_ptr<RawPort>(new PacketRawPort(std::move(*socket)));
}

}  // namespace omega::gateway
