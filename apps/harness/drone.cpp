#include "drone.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>

#include <omega/base/clock.hpp>
#include <omega/exec/system.hpp>
#include <omega/io/io_op.hpp>

namespace omega::harness {

const char* name(Transport t) {
  switch (t) {
    case Transport::Tcp: return "tcp";
    case Transport::OvpBestEffort: return "ovp";
    case Transport::OvpReliable: return "ovp-reliable";
  }
  return "?";
}

const char* name(Workload w) {
  switch (w) {
    case Workload::PingPong: return "ping-pong";
    case Workload::Pipelined: return "pipelined";
    case Workload::OneWay64: return "one-way-64";
    case Workload::OneWay1K: return "one-way-1k";
  }
  return "?";
}

std::size_t message_size(Workload w) { return w == Workload::OneWay1K ? 1024 : 64; }

namespace {

// A drone's reason to give up its row. Stays inside the harness: caught by the drone thread.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSetupLimitNs = 5'000 * kMs;  // connect, accept, hello
constexpr std::int64_t kSliceNs = 20 * kMs;          // waits re-check whether the other drone gave up

// ---- messages ---------------------------------------------------------------------------
// Every message of a row has the row's size: an 8-byte sequence number, a kind byte, and a
// filler that is a function of the sequence number, so the receiver verifies every byte.
enum Kind : std::uint8_t { kRequest = 1, kResponse = 2, kData = 3, kHello = 4, kHelloAck = 5 };

std::uint8_t filler(std::uint64_t seq, std::size_t i) { return static_cast<std::uint8_t>(seq * 131 + i * 7); }

std::vector<std::uint8_t> make_message(std::size_t size, std::uint64_t seq, Kind kind) {
  std::vector<std::uint8_t> m(size);
  std::memcpy(m.data(), &seq, sizeof seq);
  m[8] = kind;
  for (std::size_t i = 9; i < size; ++i) m[i] = filler(seq, i);
  return m;
}

struct Parsed {
  std::uint64_t seq = 0;
  Kind kind{};
};

std::optional<Parsed> parse(const std::vector<std::uint8_t>& m, std::size_t size) {
  if (m.size() != size) return std::nullopt;
  Parsed p;
  std::memcpy(&p.seq, m.data(), sizeof p.seq);
  if (m[8] < kRequest || m[8] > kHelloAck) return std::nullopt;
  p.kind = static_cast<Kind>(m[8]);
  for (std::size_t i = 9; i < size; ++i) {
    if (m[i] != filler(p.seq, i)) return std::nullopt;
  }
  return p;
}

// ---- what both drones of a row share ----------------------------------------------------
// Only for the measurement's bookkeeping (where the window ends, how many messages the
// sender submitted): the traffic itself crosses the veth pair.
struct Shared {
  Shared(const Testbed& b, const RowOptions& o, Workload w, Transport t)
      : bed(b), options(o), workload(w), transport(t) {}
  const Testbed& bed;
  const RowOptions& options;
  Workload workload;
  Transport transport;
  std::atomic<std::uint16_t> tcp_port{0};
  std::atomic<std::int64_t> window_end_ns{0};  // set by A when its window opens
  std::atomic<bool> sender_done{false};        // A left its window (and flushed, one-way)
  std::atomic<std::uint64_t> sent_total{0};    // one-way: valid once sender_done
  std::atomic<std::uint64_t> refused_total{0};
  std::vector<std::uint64_t> refused_seqs;     // one-way: written by A before sender_done
  std::atomic<bool> receiver_done{false};      // B finished its part (A may close after it)
  std::atomic<bool> abort{false};              // a drone failed: the other stops waiting
};

struct DroneOut {
  std::uint64_t ops = 0;
  std::vector<std::int64_t> rtt_ns;
  std::uint64_t sent = 0, refused = 0, lost = 0, late = 0, out_of_order = 0, corrupt = 0, received = 0;
  std::uint64_t link_drops = 0, kernel_drops = 0, endpoint_drops = 0, tcp_retransmits = 0, ovp_retransmissions = 0, ovp_gaps = 0;
  unsigned workers = 0;
  std::string error;
};

// ---- namespace counters -----------------------------------------------------------------
// Read through /proc/thread-self, which shows the calling thread's network namespace.
struct NsCounters {
  std::uint64_t link_drops = 0;
  std::uint64_t tcp_retransmits = 0;
};

NsCounters read_ns_counters(const std::string& interface) {
  NsCounters c;
  std::ifstream dev("/proc/thread-self/net/dev");
  std::string line;
  while (std::getline(dev, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string ifname = line.substr(0, colon);
    ifname.erase(0, ifname.find_first_not_of(' '));
    if (ifname != interface) continue;
    std::istringstream fields(line.substr(colon + 1));
    std::uint64_t v[16] = {};
    for (auto& x : v) fields >> x;
    c.link_drops = v[3] + v[11];  // rx drop, tx drop
  }
  std::ifstream snmp("/proc/thread-self/net/snmp");
  std::string header, values;
  while (std::getline(snmp, header) && std::getline(snmp, values)) {
    if (header.rfind("Tcp:", 0) != 0) continue;
    std::istringstream h(header), v(values);
    std::string key, value;
    while (h >> key && v >> value) {
      if (key == "RetransSegs") c.tcp_retransmits = std::stoull(value);
    }
  }
  return c;
}

// The OVP transport's own counters in a drone's metrics (exported while its endpoint is
// open). Drops: frames the kernel dropped for a full socket buffer (PACKET_STATISTICS),
// frames the socket dropped or the kernel refused on send, truncated frames, best-effort
// messages dropped for a full receive queue, BATCH payloads and frames rejected as malformed
// (not frames merely addressed to another drone, nor our own echoed back).
struct OvpCounters {
  std::uint64_t kernel_drops = 0;  // PACKET_STATISTICS: the socket's receive buffer was full
  std::uint64_t drops = 0;         // the others
  std::uint64_t retransmissions = 0;  // reliable mode: timeouts and fast retransmits
  std::uint64_t gaps = 0;  // best effort: sequence numbers the receiving endpoint never saw
};

OvpCounters ovp_counters(const UltraOmegaSystem& system) {
  static const char* const kDrops[] = {
      "omega_ovp_socket_send_dropped_total",
      "omega_ovp_socket_send_errors_total", "omega_ovp_socket_receive_truncated_total",
      "omega_ovp_receive_overflow_total",  "omega_ovp_batches_rejected_total",
  };
  OvpCounters c;
  const MetricsSnapshot snapshot = system.metrics();
  const auto sum = [&](const char* name, bool malformed_only) {
    std::uint64_t total = 0;
    if (const auto* family = snapshot.find(name)) {
      for (const auto& series : family->series) {
        if (malformed_only) {
          bool benign = false;
          for (const auto& [key, value] : series.labels) {
            benign = benign || (key == "reason" && (value == "OwnFrame" || value == "NotForMe"));
          }
          if (benign) continue;
        }
        if (const auto* v = std::get_if<std::uint64_t>(&series.value)) total += *v;
      }
    }
    return total;
  };
  c.kernel_drops = sum("omega_ovp_kernel_drops_total", false);
  for (const char* name : kDrops) c.drops += sum(name, false);
  c.drops += sum("omega_ovp_frames_rejected_total", true);
  c.retransmissions = sum("omega_ovp_reliable_retransmissions_total", false);
  if (const auto* family = snapshot.find("omega_ovp_messages_lost")) {
    for (const auto& series : family->series) {
      if (const auto* v = std::get_if<double>(&series.value)) c.gaps += static_cast<std::uint64_t>(*v);
    }
  }
  return c;
}

// ---- pipes: one message-oriented interface over TCP and OVP -----------------------------
class Pipe {
 public:
  Pipe(UltraOmegaSystem& system, OmegaRng& rng, Shared& shared, std::size_t max_sends)
      : system_(system), rng_(rng), shared_(shared), max_sends_(max_sends) {}
  virtual ~Pipe() = default;
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  // Submits one message; keeps at most max_sends in flight (waits for the oldest beyond).
  void send(std::vector<std::uint8_t> message) {
    while (sends_.size() >= max_sends_) reap_oldest_send();
    std::uint64_t seq = 0;
    std::memcpy(&seq, message.data(), sizeof seq);
    sends_.push_back({submit(send_op(std::move(message)), "send"), seq});
    while (!sends_.empty() && sends_.front().handle.is_ready()) reap_oldest_send();
  }
  // Waits for every send in flight.
  void flush() {
    while (!sends_.empty()) reap_oldest_send();
  }
  // The next message received, or nullopt once deadline_ns (now_ns's clock) passes.
  virtual std::optional<std::vector<std::uint8_t>> next(std::int64_t deadline_ns) = 0;
  virtual void close() = 0;

  // Sequence numbers of the messages a full reliable send buffer refused, in send order.
  [[nodiscard]] const std::vector<std::uint64_t>& refused() const { return refused_; }
  // OVP: messages from a drone other than the peer (none exists on the pair: counted as corrupt).
  [[nodiscard]] std::uint64_t foreign() const { return foreign_; }

 protected:
  virtual IoOp send_op(std::vector<std::uint8_t> message) = 0;

  TaskHandle<IoOutput> submit(IoOp op, const char* what) {
    auto h = system_.submit_io_task(std::move(op), std::nullopt, rng_);
    if (!h) throw Failure(std::string(what) + ": refused: " + std::string(to_string(h.error())));
    return std::move(*h);
  }
  // Waits for h until deadline_ns; nullopt if it is still pending then (h stays pending).
  static std::optional<Result<IoOutput, TaskError>> wait(TaskHandle<IoOutput>& h, std::int64_t deadline_ns) {
    const std::int64_t now = now_ns();
    if (now >= deadline_ns) return h.try_result();
    auto r = h.recv_result_for(Nanos(deadline_ns - now));
    if (!r && r.error().timed_out() && !h.is_ready()) return std::nullopt;  // still pending
    return r;
  }
  // Waits for an operation the row cannot do without (connect, accept, init, close).
  IoOutput await(TaskHandle<IoOutput> h, const std::string& what) {
    const std::int64_t limit = now_ns() + kSetupLimitNs;
    for (;;) {
      if (auto r = wait(h, std::min(limit, now_ns() + kSliceNs))) {
        if (!*r) throw Failure(what + ": " + to_string(r->error()));
        return std::move(**r);
      }
      if (shared_.abort.load()) throw Failure(what + ": abandoned, the other drone failed");
      if (now_ns() >= limit) throw Failure(what + ": no result within 5 s");
    }
  }

  UltraOmegaSystem& system_;
  OmegaRng& rng_;
  Shared& shared_;
  std::uint64_t foreign_ = 0;

 private:
  void reap_oldest_send() {
    auto r = sends_.front().handle.recv_result();
    const std::uint64_t seq = sends_.front().seq;
    sends_.pop_front();
    if (r) return;
    // Reliable OVP refuses an emit whose target's send buffer is full (backpressure: the
    // message was not accepted, so it is not lost); the receiver accounts for it.
    if (refusal(r.error())) {
      refused_.push_back(seq);
      return;
    }
    // Once A has left its window it closes; B's answers still in flight then fail (EPIPE)
    // and no longer matter.
    if (shared_.sender_done.load()) return;
    throw Failure("send failed: " + to_string(r.error()));
  }
  virtual bool refusal(const TaskError&) const { return false; }

  struct InFlight {
    TaskHandle<IoOutput> handle;
    std::uint64_t seq;
  };
  std::deque<InFlight> sends_;
  std::size_t max_sends_;
  std::vector<std::uint64_t> refused_;
};

class TcpPipe final : public Pipe {
 public:
  TcpPipe(UltraOmegaSystem& system, OmegaRng& rng, Shared& shared, std::size_t max_sends, std::size_t message_size)
      : Pipe(system, rng, shared, max_sends), size_(message_size) {}

  // A: connects to B's listener (B publishes the port once it listens).
  void connect() {
    const std::int64_t limit = now_ns() + kSetupLimitNs;
    while (shared_.tcp_port.load() == 0) {
      if (shared_.abort.load() || now_ns() > limit) throw Failure("connect: B never listened");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    socket_ = *await(submit(IoOp::TcpConnect{shared_.bed.address[1], shared_.tcp_port.load()}, "connect"),
                     "TcpConnect to " + shared_.bed.address[1])
                   .socket;
  }
  // B: listens on its own address (which exists only in its namespace: a reactor outside
  // it fails here) and accepts A.
  void listen_and_accept() {
    IoOutput l = await(submit(IoOp::TcpListen{shared_.bed.address[1], 0, 4}, "listen"),
                       "TcpListen on " + shared_.bed.address[1]);
    listener_ = *l.socket;
    auto accept = submit(IoOp::TcpAccept{*listener_}, "accept");
    shared_.tcp_port.store(l.local->port);
    socket_ = *await(std::move(accept), "TcpAccept").socket;
  }

  std::optional<std::vector<std::uint8_t>> next(std::int64_t deadline_ns) override {
    for (;;) {
      if (buffer_.size() - read_ >= size_) {
        std::vector<std::uint8_t> m(buffer_.begin() + static_cast<std::ptrdiff_t>(read_),
                                    buffer_.begin() + static_cast<std::ptrdiff_t>(read_ + size_));
        read_ += size_;
        if (read_ == buffer_.size()) {
          buffer_.clear();
          read_ = 0;
        }
        return m;
      }
      if (peer_closed_) return std::nullopt;
      if (!receive_.valid()) receive_ = submit(IoOp::TcpReceive{*socket_, 64 * 1024}, "receive");
      auto r = wait(receive_, deadline_ns);
      if (!r) return std::nullopt;
      receive_ = {};
      if (!*r) throw Failure("TcpReceive: " + to_string(r->error()));
      if ((*r)->end_of_stream) {
        // A closes once it has left its window (and flushed): the end of the row, not a failure.
        if (!shared_.sender_done.load()) throw Failure("TcpReceive: the peer closed the connection mid-row");
        peer_closed_ = true;
        return std::nullopt;
      }
      if (read_ > 0) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(read_));
        read_ = 0;
      }
      buffer_.insert(buffer_.end(), (*r)->data.begin(), (*r)->data.end());
    }
  }

  void close() override {
    flush();
    for (auto* s : {&socket_, &listener_}) {
      if (*s) (void)await(submit(IoOp::TcpClose{**s}, "close"), "TcpClose");
      s->reset();
    }
  }

 private:
  IoOp send_op(std::vector<std::uint8_t> message) override { return IoOp::TcpSend{*socket_, std::move(message)}; }

  std::size_t size_;
  std::optional<SocketToken> socket_, listener_;
  TaskHandle<IoOutput> receive_;
  std::vector<std::uint8_t> buffer_;
  std::size_t read_ = 0;
  bool peer_closed_ = false;
};

class OvpPipe final : public Pipe {
 public:
  OvpPipe(UltraOmegaSystem& system, OmegaRng& rng, Shared& shared, std::size_t max_sends, std::size_t receives,
          int side, bool reliable)
      : Pipe(system, rng, shared, max_sends),
        receives_(receives),
        me_(static_cast<std::uint32_t>(side + 1)),
        peer_(static_cast<std::uint32_t>(2 - side)) {
    // The interface exists only in this drone's namespace: a reactor outside it fails here.
    IoOp::OvpInit init{.interface = shared.bed.interface[side], .my_drone_id = me_, .reliable = reliable};
    token_ = *await(submit(std::move(init), "init"), "OvpInit on " + shared.bed.interface[side]).socket;
  }

  std::optional<std::vector<std::uint8_t>> next(std::int64_t deadline_ns) override {
    for (;;) {
      while (posted_.size() < receives_) posted_.push_back(submit(IoOp::OvpReceive{*token_}, "receive"));
      auto r = wait(posted_.front(), deadline_ns);
      if (!r) return std::nullopt;
      posted_.pop_front();
      if (!*r) throw Failure("OvpReceive: " + to_string(r->error()));
      if ((*r)->source_drone != peer_) {
        ++foreign_;
        continue;
      }
      return std::move((*r)->data);
    }
  }

  void close() override {
    flush();
    if (token_) (void)await(submit(IoOp::OvpClose{*token_}, "close"), "OvpClose");
    token_.reset();
    posted_.clear();  // resolved "socket closed" by the close
  }

 private:
  IoOp send_op(std::vector<std::uint8_t> message) override {
    return IoOp::OvpEmit{*token_, std::vector<std::uint32_t>{peer_}, std::move(message)};
  }
  bool refusal(const TaskError& e) const override {
    return e.execution_failed() && e.message().find("send buffer") != std::string::npos;
  }

  std::size_t receives_;
  std::uint32_t me_, peer_;
  std::optional<SocketToken> token_;
  std::deque<TaskHandle<IoOutput>> posted_;
};

// ---- the two roles ------------------------------------------------------------------------
struct Role {
  Shared& sh;
  Pipe& pipe;
  DroneOut& out;
  std::size_t size;
  bool best_effort;

  // A: a hello answered proves the path works before the window opens (raw frames sent
  // before both ends listen are lost, and best effort does not retry).
  void hello() {
    const std::int64_t limit = now_ns() + kSetupLimitNs;
    while (now_ns() < limit && !sh.abort.load()) {
      pipe.send(make_message(size, 0, kHello));
      const std::int64_t retry = now_ns() + 50 * kMs;
      while (auto m = pipe.next(retry)) {
        const auto p = parse(*m, size);
        if (p && p->kind == kHelloAck) return;
      }
    }
    throw Failure("the other drone did not answer a hello within 5 s");
  }

  std::int64_t open_window() {
    const std::int64_t end = now_ns() + static_cast<std::int64_t>(sh.options.seconds * 1e9);
    sh.window_end_ns.store(end);
    return end;
  }

  // One request in flight: a round trip is counted when its answer, verified, arrives
  // before the window closes. Best effort: an answer missing after the loss timeout counts
  // the request lost and the next one goes out.
  void ping_pong_client() {
    hello();
    const std::int64_t end = open_window();
    const std::int64_t loss_ns = static_cast<std::int64_t>(sh.options.loss_timeout_ms * 1e6);
    for (std::uint64_t seq = 1;; ++seq) {
      const std::int64_t t0 = now_ns();
      if (t0 >= end || sh.abort.load()) break;
      pipe.send(make_message(size, seq, kRequest));
      ++out.sent;
      const std::int64_t give_up = best_effort ? std::min(end, t0 + loss_ns) : end;
      bool answered = false;
      while (auto m = pipe.next(give_up)) {
        const auto p = parse(*m, size);
        if (!p) {
          ++out.corrupt;
        } else if (p->kind == kResponse && p->seq == seq) {
          const std::int64_t t1 = now_ns();
          if (t1 <= end) {
            ++out.ops;
            out.rtt_ns.push_back(t1 - t0);
          }
          answered = true;
          break;
        } else if (p->kind == kResponse) {
          ++out.late;
        }
      }
      if (!answered && now_ns() < end) ++out.lost;
    }
    sh.sender_done.store(true);
  }

  // `depth` requests in flight: each verified answer before the window closes is an
  // operation and sends the next request.
  void pipelined_client() {
    hello();
    const std::int64_t end = open_window();
    const std::int64_t loss_ns = static_cast<std::int64_t>(sh.options.loss_timeout_ms * 1e6);
    std::unordered_map<std::uint64_t, std::int64_t> pending;
    std::uint64_t seq = 1;
    const auto issue = [&] {
      pending.emplace(seq, now_ns());
      pipe.send(make_message(size, seq, kRequest));
      ++seq;
      ++out.sent;
    };
    for (unsigned i = 0; i < sh.options.depth; ++i) issue();
    std::int64_t next_scan = now_ns() + loss_ns;
    for (;;) {
      std::int64_t now = now_ns();
      if (now >= end || sh.abort.load()) break;
      auto m = pipe.next(best_effort ? std::min(end, next_scan) : end);
      now = now_ns();
      if (m) {
        const auto p = parse(*m, size);
        if (!p) {
          ++out.corrupt;
        } else if (p->kind == kResponse) {
          const auto it = pending.find(p->seq);
          if (it == pending.end()) {
            ++out.late;
          } else {
            if (now <= end) {
              ++out.ops;
              out.rtt_ns.push_back(now - it->second);
            }
            pending.erase(it);
            if (now < end) issue();
          }
        }
      }
      if (best_effort && now >= next_scan) {
        std::size_t expired = 0;
        for (auto it = pending.begin(); it != pending.end();) {
          if (now - it->second >= loss_ns) {
            it = pending.erase(it);
            ++expired;
          } else {
            ++it;
          }
        }
        out.lost += expired;
        for (std::size_t i = 0; i < expired && now < end; ++i) issue();
        next_scan = now + loss_ns / 4;
      }
    }
    sh.sender_done.store(true);
  }

  // B for both request/response workloads: answers every request with its own bytes
  // (kind Response) until A leaves its window.
  void echo_server() {
    while (!sh.sender_done.load() && !sh.abort.load()) {
      auto m = pipe.next(now_ns() + kSliceNs);
      if (!m) continue;
      const auto p = parse(*m, size);
      if (!p) {
        ++out.corrupt;
      } else if (p->kind == kHello) {
        pipe.send(make_message(size, 0, kHelloAck));
      } else if (p->kind == kRequest) {
        (*m)[8] = kResponse;
        pipe.send(std::move(*m));
      }
    }
  }

  // A: messages back to back until the window closes, `in_flight` sends outstanding. A
  // refused emit (reliable backpressure: B's window is full) is not resent (later ones may
  // already be accepted, and resending would reorder); the sender backs off instead of
  // spinning on refusals, as an application that respects backpressure would.
  void one_way_sender() {
    hello();
    const std::int64_t end = open_window();
    std::uint64_t seq = 1;
    std::size_t refusals_seen = 0;
    auto backoff = std::chrono::microseconds(20);
    while (now_ns() < end && !sh.abort.load()) {
      pipe.send(make_message(size, seq++, kData));
      if (pipe.refused().size() != refusals_seen) {
        refusals_seen = pipe.refused().size();
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::microseconds(1000));
      } else {
        backoff = std::chrono::microseconds(20);
      }
    }
    pipe.flush();
    out.sent = seq - 1;
    out.refused = pipe.refused().size();
    sh.refused_seqs = pipe.refused();
    sh.sent_total.store(out.sent);
    sh.refused_total.store(out.refused);
    sh.sender_done.store(true);
  }

  // B: an operation is a message received and verified (size, kind, every byte, a sequence
  // number above all seen before) no later than the window's end. After the window it goes
  // on receiving, uncounted, until every message A sent is accounted for or the line is
  // quiet, to tell lost messages from late ones. Lost: a sequence number A sent, that its
  // transport accepted (not refused), and that never arrived.
  void one_way_receiver(bool reliable) {
    std::uint64_t highest = 0;
    std::vector<std::uint64_t> skipped;  // sequence numbers jumped over, ascending
    std::int64_t last_progress = now_ns();
    const std::int64_t quiet_ns = (reliable ? 1000 : 300) * kMs;
    for (;;) {
      if (sh.abort.load()) return;
      const bool done = sh.sender_done.load();
      if (done && out.received + sh.refused_total.load() >= sh.sent_total.load()) break;
      auto m = pipe.next(now_ns() + kSliceNs);
      const std::int64_t now = now_ns();
      if (!m) {
        if (done && now - last_progress > quiet_ns) break;
        continue;
      }
      last_progress = now;
      const auto p = parse(*m, size);
      if (!p) {
        ++out.corrupt;
        continue;
      }
      if (p->kind == kHello) {
        pipe.send(make_message(size, 0, kHelloAck));
        continue;
      }
      if (p->kind != kData) continue;
      if (p->seq <= highest) {
        ++out.out_of_order;
        continue;
      }
      for (std::uint64_t s = highest + 1; s < p->seq; ++s) skipped.push_back(s);
      highest = p->seq;
      ++out.received;
      const std::int64_t end = sh.window_end_ns.load();
      if (end == 0 || now <= end) ++out.ops;
    }
    if (!sh.sender_done.load()) return;  // A failed; its row reports why
    for (std::uint64_t s = highest + 1; s <= sh.sent_total.load(); ++s) skipped.push_back(s);
    // Missing but refused is backpressure, not loss (both lists ascend).
    const auto& refused = sh.refused_seqs;
    std::size_t j = 0;
    for (const std::uint64_t s : skipped) {
      while (j < refused.size() && refused[j] < s) ++j;
      if (j == refused.size() || refused[j] != s) ++out.lost;
    }
  }
};

UltraOmegaSystem make_system(const RowOptions& o) {
  // Workers outnumber the one submitting thread (the seed's rule); the I/O itself runs on
  // the reactor thread the first submit_io_task starts.
  return UltraOmegaSystem::builder()
      .with_nodes(3)
      .with_super_nodes(1)
      .with_threads(o.regular_threads, o.regular_threads, o.super_threads, o.super_threads)
      .build();
}

void drone(int side, Shared& sh, DroneOut& out) {
  try {
    if (auto why = netns::enter_netns(sh.bed.netns[side]); !why.empty()) throw Failure(why);
    // Built on this thread, after setns: the reactor thread it starts inherits the namespace.
    auto system = make_system(sh.options);
    out.workers = static_cast<unsigned>(system.memory_stats().threads);
    OmegaRng rng = OmegaRng::new_with_seed(0x0e9a + static_cast<std::uint64_t>(side));
    const NsCounters before = read_ns_counters(sh.bed.interface[side]);
    const std::size_t size = message_size(sh.workload);
    const bool one_way = sh.workload == Workload::OneWay64 || sh.workload == Workload::OneWay1K;
    const std::size_t max_sends = one_way ? sh.options.in_flight : std::max(8u, sh.options.depth);
    const std::size_t receives = sh.workload == Workload::PingPong ? 1
                                 : one_way                         ? sh.options.in_flight
                                                                   : sh.options.depth;
    std::unique_ptr<Pipe> pipe;
    if (sh.transport == Transport::Tcp) {
      auto tcp = std::make_unique<TcpPipe>(system, rng, sh, max_sends, size);
      if (side == 0) {
        tcp->connect();
      } else {
        tcp->listen_and_accept();
      }
      pipe = std::move(tcp);
    } else {
      pipe = std::make_unique<OvpPipe>(system, rng, sh, max_sends, receives, side,
                                       sh.transport == Transport::OvpReliable);
    }
    Role role{sh, *pipe, out, size, sh.transport == Transport::OvpBestEffort};
    if (side == 0) {
      switch (sh.workload) {
        case Workload::PingPong: role.ping_pong_client(); break;
        case Workload::Pipelined: role.pipelined_client(); break;
        default: role.one_way_sender(); break;
      }
    } else if (one_way) {
      role.one_way_receiver(sh.transport == Transport::OvpReliable);
    } else {
      role.echo_server();
    }
    if (side == 1) {
      sh.receiver_done.store(true);
    } else {
      // Reliable emits resolve once accepted into the send window, not once delivered: A's
      // endpoint stays open (retransmitting) until B has accounted for every message.
      const std::int64_t limit = now_ns() + 2 * kSetupLimitNs;
      while (!sh.receiver_done.load() && !sh.abort.load() && now_ns() < limit) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (!sh.receiver_done.load() && !sh.abort.load()) throw Failure("B did not finish within 10 s of the window");
    }
    if (sh.transport != Transport::Tcp) {
      const OvpCounters c = ovp_counters(system);  // before the close retires the endpoint
      out.endpoint_drops = c.drops;
      out.kernel_drops = c.kernel_drops;
      out.ovp_gaps = c.gaps;
      out.ovp_retransmissions = c.retransmissions;
    }
    out.corrupt += pipe->foreign();
    pipe->close();
    const NsCounters after = read_ns_counters(sh.bed.interface[side]);
    out.link_drops = after.link_drops - before.link_drops;
    out.tcp_retransmits = after.tcp_retransmits - before.tcp_retransmits;
  } catch (const std::exception& e) {
    out.error = std::string(side == 0 ? "drone A: " : "drone B: ") + e.what();
    sh.abort.store(true);
  }
}

}  // namespace

RowResult run_row(const Testbed& bed, Workload workload, Transport transport, const RowOptions& options) {
  Shared sh{bed, options, workload, transport};
  DroneOut a, b;
  std::thread tb([&] { drone(1, sh, b); });
  std::thread ta([&] { drone(0, sh, a); });
  ta.join();
  tb.join();

  RowResult r;
  r.workload = workload;
  r.transport = transport;
  r.window_s = options.seconds;
  const bool one_way = workload == Workload::OneWay64 || workload == Workload::OneWay1K;
  r.ops = one_way ? b.ops : a.ops;
  r.rtt_ns = std::move(a.rtt_ns);
  r.sent = a.sent;
  r.refused = a.refused;
  r.lost = one_way ? b.lost : a.lost;
  r.late = a.late;
  r.out_of_order = b.out_of_order;
  r.corrupt = a.corrupt + b.corrupt;
  r.link_drops = a.link_drops + b.link_drops;
  r.endpoint_drops = a.endpoint_drops + b.endpoint_drops;
  r.kernel_drops = a.kernel_drops + b.kernel_drops;
  r.ovp_gaps = a.ovp_gaps + b.ovp_gaps;
  r.tcp_retransmits = a.tcp_retransmits + b.tcp_retransmits;
  r.ovp_retransmissions = a.ovp_retransmissions + b.ovp_retransmissions;
  r.workers_per_drone = a.workers;
  for (const auto* e : {&a.error, &b.error}) {
    if (!e->empty()) r.error += (r.error.empty() ? "" : "; ") + *e;
  }
  if (r.error.empty()) {
    // Each delivery guarantee, checked: nothing corrupt ever; TCP and reliable OVP lose and
    // reorder nothing.
    if (r.corrupt > 0) r.error = std::to_string(r.corrupt) + " corrupt messages";
    if (transport != Transport::OvpBestEffort && (r.lost > 0 || r.out_of_order > 0 || r.late > 0)) {
      r.error = std::string(name(transport)) + " broke its guarantee: lost " + std::to_string(r.lost) +
                ", out of order " + std::to_string(r.out_of_order) + ", late " + std::to_string(r.late);
    }
  }
  return r;
}

}  // namespace omega::harness
