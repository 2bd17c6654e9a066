// io_bench: TCP on loopback through submit_io_task (the epoll reactor) against the same
// traffic on plain blocking sockets driven by two std::threads in the same process.
//
//   ping-pong       one 64 B request in flight, echoed back: round trips per second
//   one-way 64 B    messages sent back to back (omega: up to 64 sends in flight), counted
//   one-way 1 KiB   by the receiver from the bytes that arrived: messages per second
//
// Each row runs for --seconds (default 2, the seed's "ops in 2 seconds"), --runs times
// (default 3); the median is printed with min/max and the ratio omega / plain (above 1:
// omega did more). Both sides use TCP_NODELAY. Two threads in each case (a sender/pinger
// and a receiver/echoer); the omega system has more workers than submitters. Native only.
//
//   build/native-release/bench/io_bench [--seconds S] [--runs N]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <omega/exec/system.hpp>
#include <omega/io/io_op.hpp>

#include "bench_util.hpp"

using omega::IoOp;
using omega::IoOutput;
using omega::OmegaRng;
using omega::SocketToken;
using omega::UltraOmegaSystem;

namespace {

using SteadyClock = std::chrono::steady_clock;
double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "io_bench: %s\n", what.c_str());
  std::exit(1);
}

// ---- plain blocking sockets ---------------------------------------------------------------

struct PlainPair {
  int client = -1;
  int server = -1;
};

PlainPair plain_pair() {
  const int l = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (l < 0 || ::bind(l, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(l, 4) != 0 ||
      ::getsockname(l, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    die(std::string("plain listen: ") + std::strerror(errno));
  }
  PlainPair p;
  p.client = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(p.client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("plain connect");
  p.server = ::accept(l, nullptr, nullptr);
  ::close(l);
  const int one = 1;
  ::setsockopt(p.client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(p.server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return p;
}

bool write_all(int fd, const std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}
bool read_all(int fd, std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

double plain_ping_pong(double seconds) {
  PlainPair p = plain_pair();
  std::thread echo([&] {
    std::uint8_t buf[64];
    while (read_all(p.server, buf, sizeof buf) && write_all(p.server, buf, sizeof buf)) {
    }
  });
  std::uint8_t msg[64] = {1};
  std::uint64_t rounds = 0;
  const auto t0 = SteadyClock::now();
  while (seconds_since(t0) < seconds) {
    if (!write_all(p.client, msg, sizeof msg) || !read_all(p.client, msg, sizeof msg)) die("plain ping-pong");
    ++rounds;
  }
  const double elapsed = seconds_since(t0);
  ::shutdown(p.client, SHUT_RDWR);
  echo.join();
  ::close(p.client);
  ::close(p.server);
  return static_cast<double>(rounds) / elapsed;
}

double plain_one_way(double seconds, std::size_t size) {
  PlainPair p = plain_pair();
  std::uint64_t received = 0;
  double elapsed = 0;
  std::thread receiver([&] {
    std::vector<std::uint8_t> buf(64 * 1024);
    const auto t0 = SteadyClock::now();
    for (;;) {
      const ssize_t r = ::recv(p.server, buf.data(), buf.size(), 0);
      if (r <= 0) break;
      received += static_cast<std::uint64_t>(r);
    }
    elapsed = seconds_since(t0);
  });
  std::vector<std::uint8_t> msg(size, 7);
  const auto t0 = SteadyClock::now();
  while (seconds_since(t0) < seconds) {
    for (int i = 0; i < 64; ++i) {
      if (!write_all(p.client, msg.data(), msg.size())) die("plain send");
    }
  }
  ::shutdown(p.client, SHUT_WR);
  receiver.join();
  ::close(p.client);
  ::close(p.server);
  return static_cast<double>(received / size) / elapsed;
}

// ---- through submit_io_task ----------------------------------------------------------------

struct OmegaPair {
  SocketToken listener, client, server;
};

IoOutput must(omega::Result<omega::TaskHandle<IoOutput>, omega::NodeError> h, const char* what) {
  if (!h) die(std::string(what) + ": refused: " + std::string(omega::to_string(h.error())));
  auto r = h->recv_result();
  if (!r) die(std::string(what) + ": " + omega::to_string(r.error()));
  return std::move(*r);
}

OmegaPair omega_pair(UltraOmegaSystem& system, OmegaRng& rng) {
  OmegaPair p;
  IoOutput l = must(system.submit_io_task(IoOp::TcpListen{"127.0.0.1", 0, 4}, std::nullopt, rng), "listen");
  p.listener = *l.socket;
  auto accept = system.submit_io_task(IoOp::TcpAccept{p.listener}, std::nullopt, rng);
  p.client = *must(system.submit_io_task(IoOp::TcpConnect{"127.0.0.1", l.local->port}, std::nullopt, rng), "connect")
                  .socket;
  p.server = *must(std::move(accept), "accept").socket;
  return p;
}

// Receives exactly n bytes on s (TCP may split them); false at the end of the stream.
bool omega_read_all(UltraOmegaSystem& system, OmegaRng& rng, SocketToken s, std::size_t n,
                    std::vector<std::uint8_t>* into = nullptr) {
  std::size_t got = 0;
  while (got < n) {
    auto h = system.submit_io_task(IoOp::TcpReceive{s, n - got}, std::nullopt, rng);
    if (!h) return false;
    auto r = h->recv_result();
    if (!r || r->end_of_stream) return false;
    if (into) into->insert(into->end(), r->data.begin(), r->data.end());
    got += r->bytes;
  }
  return true;
}

UltraOmegaSystem bench_system() {
  // Workers outnumber the two submitting threads (the seed's rule); I/O itself runs on the
  // reactor thread.
  return UltraOmegaSystem::builder().with_nodes(4).with_super_nodes(1).build();
}

double omega_ping_pong(double seconds) {
  auto system = bench_system();
  OmegaRng rng = OmegaRng::new_with_seed(1);
  OmegaPair p = omega_pair(system, rng);
  std::thread echo([&] {
    OmegaRng echo_rng = OmegaRng::new_with_seed(2);
    std::vector<std::uint8_t> buf;
    for (;;) {
      buf.clear();
      if (!omega_read_all(system, echo_rng, p.server, 64, &buf)) return;
      auto h = system.submit_io_task(IoOp::TcpSend{p.server, buf}, std::nullopt, echo_rng);
      if (!h || !h->recv_result()) return;
    }
  });
  const std::vector<std::uint8_t> msg(64, 1);
  std::uint64_t rounds = 0;
  const auto t0 = SteadyClock::now();
  while (seconds_since(t0) < seconds) {
    auto send = system.submit_io_task(IoOp::TcpSend{p.client, msg}, std::nullopt, rng);
    if (!send || !send->recv_result() || !omega_read_all(system, rng, p.client, 64)) die("omega ping-pong");
    ++rounds;
  }
  const double elapsed = seconds_since(t0);
  must(system.submit_io_task(IoOp::TcpClose{p.client}, std::nullopt, rng), "close");  // the echoer sees the end
  echo.join();
  must(system.submit_io_task(IoOp::TcpClose{p.server}, std::nullopt, rng), "close");
  must(system.submit_io_task(IoOp::TcpClose{p.listener}, std::nullopt, rng), "close");
  return static_cast<double>(rounds) / elapsed;
}

double omega_one_way(double seconds, std::size_t size) {
  constexpr std::size_t kInFlight = 64;
  auto system = bench_system();
  OmegaRng rng = OmegaRng::new_with_seed(3);
  OmegaPair p = omega_pair(system, rng);
  std::uint64_t received = 0;
  double elapsed = 0;
  std::thread receiver([&] {
    OmegaRng recv_rng = OmegaRng::new_with_seed(4);
    const auto t0 = SteadyClock::now();
    for (;;) {
      auto h = system.submit_io_task(IoOp::TcpReceive{p.server, 64 * 1024}, std::nullopt, recv_rng);
      if (!h) break;
      auto r = h->recv_result();
      if (!r || r->end_of_stream) break;
      received += r->bytes;
    }
    elapsed = seconds_since(t0);
  });
  const std::vector<std::uint8_t> msg(size, 7);
  std::deque<omega::TaskHandle<IoOutput>> in_flight;
  const auto t0 = SteadyClock::now();
  while (seconds_since(t0) < seconds) {
    for (int i = 0; i < 64; ++i) {
      if (in_flight.size() == kInFlight) {
        if (!in_flight.front().recv_result()) die("omega send");
        in_flight.pop_front();
      }
      auto h = system.submit_io_task(IoOp::TcpSend{p.client, msg}, std::nullopt, rng);
      if (!h) die("omega send refused");
      in_flight.push_back(std::move(*h));
    }
  }
  for (auto& h : in_flight) {
    if (!h.recv_result()) die("omega send");
  }
  must(system.submit_io_task(IoOp::TcpClose{p.client}, std::nullopt, rng), "close");  // the receiver sees the end
  receiver.join();
  must(system.submit_io_task(IoOp::TcpClose{p.server}, std::nullopt, rng), "close");
  must(system.submit_io_task(IoOp::TcpClose{p.listener}, std::nullopt, rng), "close");
  return static_cast<double>(received / size) / elapsed;
}

void report(const char* name, const char* unit, int runs, const std::function<double()>& omega_fn,
            const std::function<double()>& plain_fn) {
  const omega::bench::Stat o = omega::bench::repeat(runs, omega_fn);
  const omega::bench::Stat b = omega::bench::repeat(runs, plain_fn);
  std::printf("  %-16s omega %11.0f %s (min %9.0f, max %9.0f)   plain %11.0f %s (min %9.0f, max %9.0f)   omega/plain x%.2f\n",
              name, o.median, unit, o.min, o.max, b.median, unit, b.min, b.max, o.median / b.median);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2.0;
  int runs = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: io_bench [--seconds S] [--runs N]\n");
      return 2;
    }
  }
  if (seconds <= 0 || runs < 1) {
    std::fprintf(stderr, "io_bench: --seconds must be > 0 and --runs >= 1\n");
    return 2;
  }
  std::printf("io_bench: TCP on 127.0.0.1, %.1f s per run, median of %d runs; baseline: plain blocking sockets "
              "on two std::threads; hardware threads: %u\n",
              seconds, runs, std::thread::hardware_concurrency());
  report("ping-pong 64 B", "rt/s ", runs, [&] { return omega_ping_pong(seconds); },
         [&] { return plain_ping_pong(seconds); });
  report("one-way 64 B", "msg/s", runs, [&] { return omega_one_way(seconds, 64); },
         [&] { return plain_one_way(seconds, 64); });
  report("one-way 1 KiB", "msg/s", runs, [&] { return omega_one_way(seconds, 1024); },
         [&] { return plain_one_way(seconds, 1024); });
  return 0;
}
