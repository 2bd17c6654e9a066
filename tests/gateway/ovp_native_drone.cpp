// A native OVP drone for the gateway's end-to-end test: raw Ethernet through
// omega::native::PacketSocket on one interface (run it inside a network namespace).
//
//   omega_ovp_native_drone --interface dr0 --id 500 [--announce-ms 50] [--corrupt-every N]
//
// Prints "ready" once the socket is open. Every DATA frame unicast to --id is echoed back
// to its source (same channel and payload) and logged as "from <source>"; every
// --announce-ms it broadcasts a DATA frame "native <id> <n>", every N-th of them with one bit
// of its payload flipped after the CRC was computed (--corrupt-every: the gateway must count
// and drop those). Runs until SIGTERM/SIGINT.
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <omega/ovp/frame.hpp>

#include "packet_socket.hpp"

namespace {
volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  std::string interface;
  std::uint32_t id = 0;
  int announce_ms = 0;
  int corrupt_every = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string opt = argv[i];
    if (opt == "--interface") {
      interface = argv[i + 1];
    } else if (opt == "--id") {
      id = static_cast<std::uint32_t>(std::stoul(argv[i + 1]));
    } else if (opt == "--announce-ms") {
      announce_ms = std::stoi(argv[i + 1]);
    } else if (opt == "--corrupt-every") {
      corrupt_every = std::stoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "unknown option %s\n", opt.c_str());
      return 2;
    }
  }
  if (interface.empty() || id == 0 || id == omega::ovp::kBroadcast) {
    std::fprintf(stderr, "usage: omega_ovp_native_drone --interface IF --id N [--announce-ms MS]\n");
    return 2;
  }
  ::signal(SIGTERM, on_signal);
  ::signal(SIGINT, on_signal);
  auto sock = omega::native::PacketSocket::open(interface, omega::ovp::kEtherType);
  if (!sock) {
    std::fprintf(stderr, "omega_ovp_native_drone: %s\n", sock.error().c_str());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);

  using Clock = std::chrono::steady_clock;
  auto next_announce = Clock::now();
  std::uint32_t sequence = 0;
  int announcements = 0;
  std::vector<std::vector<std::uint8_t>> out;  // frames live until send() returns
  while (!g_stop) {
    out.clear();
    pollfd p{sock->fd(), POLLIN, 0};
    ::poll(&p, 1, 10);
    auto got = sock->receive([&](std::span<const std::uint8_t> frame) {
      auto view = omega::ovp::decode_ethernet(frame, omega::ovp::DecodeFilter{.my_id = id});
      if (!view || view->header.type != omega::ovp::FrameType::Data || view->header.destination != id) return;
      std::printf("from %u\n", view->header.source);
      omega::ovp::FrameHeader h;
      h.type = omega::ovp::FrameType::Data;
      h.channel = view->header.channel;
      h.source = id;
      h.destination = view->header.source;
      h.epoch = 1;
      h.sequence = ++sequence;
      std::vector<std::uint8_t> reply(omega::ovp::ovp_size(view->payload.size()));
      if (omega::ovp::encode_ovp(h, view->payload, reply)) {
        out.push_back(std::move(reply));
        sock->queue(view->source_mac, out.back());
      }
    });
    if (!got) {
      std::fprintf(stderr, "receive: %s\n", got.error().c_str());
      return 1;
    }
    if (announce_ms > 0 && Clock::now() >= next_announce) {
      next_announce = Clock::now() + std::chrono::milliseconds(announce_ms);
      const std::string text = "native " + std::to_string(id) + " " + std::to_string(sequence);
      omega::ovp::FrameHeader h;
      h.source = id;
      h.destination = omega::ovp::kBroadcast;
      h.epoch = 1;
      h.sequence = ++sequence;
      std::vector<std::uint8_t> frame(omega::ovp::ovp_size(text.size()));
      if (omega::ovp::encode_ovp(h, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), frame)) {
        if (corrupt_every > 0 && ++announcements % corrupt_every == 0) frame.back() ^= 0x01;
        out.push_back(std::move(frame));
        sock->queue(omega::native::PacketSocket::kBroadcastMac, out.back());
      }
    }
    sock->send();
    std::fflush(stdout);
  }
  return 0;
}
