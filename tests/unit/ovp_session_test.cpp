// io::OvpSession (core/src/io/ovp_session.hpp), the OVP session both platforms drive, over
// a FrameLink built on the fault-injecting test network (tests/support/fault_network.hpp):
// loss, duplication, reordering and corruption; ordered receive waiters; timeouts; close
// while operations pend (and the linger after it); best-effort and reliable modes; the
// inline fast paths; bad frames counted, never trusted. Deterministic (fake time, seeded
// network), so it runs the same natively and as WASM (threaded and single-threaded).
#include <omega/exec/handle.hpp>
#include <omega/io/io_op.hpp>
#include <omega/ovp/frame.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../support/fault_network.hpp"
#include "io/frame_link.hpp"
#include "io/ovp_session.hpp"

using omega::IoCompletion;
using omega::IoCounters;
using omega::IoOutput;
using omega::TaskHandle;
namespace io_ops = omega::io_ops;

using omega::io::FrameLink;
using omega::io::OvpSession;
using omega::test::FaultConfig;
using Bytes = std::vector<std::uint8_t>;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kMs = 1'000'000;

// Drones on one simulated segment, a fake clock, and the network between them.
struct Segment {
  explicit Segment(FaultConfig config = {}, std::uint64_t seed = 1) : net(config, seed) {}
  omega::test::FaultNetwork net;
  std::int64_t now = 1'000 * kMs;
  std::map<std::uint32_t, OvpSession*> drones;
};

// The test FrameLink: bare OVP frames into the fault network; broadcasts to every other
// drone on the segment.
class FaultLink final : public FrameLink {
 public:
  FaultLink(Segment& segment, std::uint32_t self) : segment_(segment), self_(self) {}
  std::size_t mtu_bytes = omega::ovp::kMaxOvpSize;
  bool refuse = false;     // transmit() reports the frames refused
  std::string congestion;  // congested() says this
  std::size_t frames = 0;

  [[nodiscard]] Framing framing() const noexcept override { return Framing::Ovp; }
  [[nodiscard]] std::size_t mtu() const noexcept override { return mtu_bytes; }
  void queue(std::uint32_t destination, const omega::ovp::MacAddress* address,
             std::span<const std::uint8_t> frame) override {
    CHECK(address == nullptr);  // a bare-frame link is never handed link addresses
    ++queued_;
    ++frames;
    if (refuse) return;
    const auto at = std::chrono::nanoseconds(segment_.now);
    if (destination == omega::ovp::kBroadcast) {
      for (const auto& [id, session] : segment_.drones) {
        if (id != self_) segment_.net.send(self_, id, frame, at);
      }
    } else {
      segment_.net.send(self_, destination, frame, at);
    }
  }
  bool transmit(std::string& error) override {
    if (refuse && queued_ > 0) error = "the test link refused the frames";
    return std::exchange(queued_, 0) > 0;
  }
  [[nodiscard]] std::string congested() const override { return congestion; }

 private:
  Segment& segment_;
  std::uint32_t self_;
  std::size_t queued_ = 0;
};

struct Drone {
  std::unique_ptr<OvpSession> session;
  FaultLink* link = nullptr;
};

Drone join(Segment& segment, std::uint32_t id, bool reliable = false, std::size_t mtu = omega::ovp::kMaxOvpSize) {
  auto link = std::make_unique<FaultLink>(segment, id);
  link->mtu_bytes = mtu;
  FaultLink* raw = link.get();
  auto created = OvpSession::create(io_ops::OvpInit{"fault-net", id, reliable}, /*epoch=*/id, std::move(link));
  REQUIRE(created);
  Drone d{std::move(*created), raw};
  segment.drones[id] = d.session.get();
  return d;
}

// An operation's two ends: what the platform completes and what the caller waits on.
struct Op {
  TaskHandle<IoOutput> handle;
  IoCompletion done;
};
Op make_op(IoCounters& counters) {
  auto* state = omega::detail::TaskState<IoOutput>::acquire(nullptr, nullptr);
  return Op{TaskHandle<IoOutput>(state), IoCompletion(state, &counters)};
}

// The platform's loop, simulated: delivers due frames, services every session, and moves
// the clock to the next thing due; until `done` or `limit_ns` of simulated time passed.
template <class Done>
bool run_until(Segment& s, Done done, std::int64_t limit_ns = 10'000 * kMs) {
  const std::int64_t until = s.now + limit_ns;
  while (!done()) {
    (void)s.net.deliver_due(std::chrono::nanoseconds(s.now), [&](std::uint32_t to, std::span<const std::uint8_t> f) {
      auto it = s.drones.find(to);
      if (it != s.drones.end()) (void)it->second->on_frame(f, s.now);
    });
    std::int64_t next = INT64_MAX;
    for (auto& [id, session] : s.drones) next = std::min(next, session->service(s.now).next);
    if (done()) return true;
    if (auto due = s.net.next_due()) next = std::min<std::int64_t>(next, due->count());
    if (next == INT64_MAX || next > until) return false;
    s.now = std::max(next, s.now + 1);  // time always moves: a deadline at `now` was served
  }
  return true;
}

// Lets `ns` of simulated time pass, serving whatever falls due in it.
void run_for(Segment& s, std::int64_t ns) {
  const std::int64_t until = s.now + ns;
  (void)run_until(s, [&] { return s.now >= until; }, ns);
  s.now = std::max(s.now, until);
}

// Drones 1 and 2, once each has heard the other's HELLO.
void join_pair(Segment& s, Drone& a, Drone& b, bool reliable = false) {
  a = join(s, 1, reliable);
  b = join(s, 2, reliable);
  REQUIRE(run_until(s, [&] { return s.net.stats().sent >= 2; }));
}

Bytes message(std::uint32_t index, std::size_t size = 24) {
  Bytes b(std::max<std::size_t>(size, 4));
  omega::ovp::store_be32(b.data(), index);
  for (std::size_t i = 4; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(index * 7 + i);
  return b;
}

io_ops::OvpEmit to(std::uint32_t target, Bytes payload, std::uint16_t channel = 0) {
  return io_ops::OvpEmit{omega::SocketToken{1}, std::vector<std::uint32_t>{target}, std::move(payload), channel};
}

std::string error_of(TaskHandle<IoOutput>& h) {
  REQUIRE(h.is_ready());
  auto r = h.recv_result();
  REQUIRE_FALSE(r);
  return r.error().timed_out() ? std::string("TimedOut") : r.error().message();
}

}  // namespace

TEST_CASE("emits resolve at the flush; receives resolve in submission order with messages in arrival order",
          "[ovp_session]") {
  IoCounters counters;
  Segment s;
  Drone a, b;
  join_pair(s, a, b);

  // Waiters first: they take the messages in order.
  std::vector<Op> receives;
  for (int i = 0; i < 3; ++i) {
    receives.push_back(make_op(counters));
    b.session->receive(std::move(receives.back().done), INT64_MAX, s.now);
  }
  std::vector<Op> emits;
  for (std::uint32_t i = 0; i < 5; ++i) {
    emits.push_back(make_op(counters));
    a.session->emit(to(2, message(i), static_cast<std::uint16_t>(i)), std::move(emits.back().done), s.now);
  }
  CHECK_FALSE(emits[0].handle.is_ready());  // staged until the flush
  const std::size_t frames_before = a.link->frames;
  CHECK(a.session->flush(s.now));
  CHECK(a.link->frames == frames_before + 1);  // five small messages, one BATCH frame
  for (auto& e : emits) {
    REQUIRE(e.handle.is_ready());
    CHECK(e.handle.recv_result()->bytes == 24);
  }
  REQUIRE(run_until(s, [&] { return receives.back().handle.is_ready(); }));
  for (std::uint32_t i = 0; i < 3; ++i) {
    auto r = receives[i].handle.recv_result();
    REQUIRE(r);
    CHECK(r->data == message(i));
    CHECK(r->source_drone == 1);
    CHECK(r->channel == i);
  }
  // The other two wait in the endpoint for later receives, which resolve at once.
  for (std::uint32_t i = 3; i < 5; ++i) {
    Op r = make_op(counters);
    b.session->receive(std::move(r.done), INT64_MAX, s.now);
    REQUIRE(r.handle.is_ready());
    CHECK(r.handle.recv_result()->data == message(i));
  }
  CHECK(counters.completed.value() == 10);
}

TEST_CASE("reliable mode delivers every message exactly once and in order through every fault", "[ovp_session]") {
  IoCounters counters;
  // Bursts of loss (80% in bursts of ~3 frames, 5% between them), and every other fault.
  const FaultConfig faults{.p_good_to_bad = 0.05, .p_bad_to_good = 0.3, .loss_good = 0.05, .loss_bad = 0.8,
                           .duplicate = 0.05, .corrupt = 0.05, .delay_min = 100us, .delay_max = 2ms,
                           .reorder = 0.1, .reorder_extra = 3ms};
  Segment s(faults, 42);
  Drone a = join(s, 1, /*reliable=*/true);
  Drone b = join(s, 2, /*reliable=*/true);

  constexpr std::uint32_t kCount = 400;
  std::vector<Op> emits;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    emits.push_back(make_op(counters));
    a.session->emit(to(2, message(i, 16 + i % 300)), std::move(emits.back().done), s.now);
    if (i % 25 == 24) run_for(s, 2 * kMs);  // time passes between bursts
  }
  std::vector<Op> receives;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    receives.push_back(make_op(counters));
    b.session->receive(std::move(receives.back().done), INT64_MAX, s.now);
  }
  REQUIRE(run_until(s, [&] { return receives.back().handle.is_ready(); }, 60'000 * kMs));
  for (auto& e : emits) REQUIRE(e.handle.recv_result());
  for (std::uint32_t i = 0; i < kCount; ++i) {
    auto r = receives[i].handle.recv_result();
    REQUIRE(r);
    INFO("message " << i);
    REQUIRE(r->data == message(i, 16 + i % 300));  // corrupted copies were never delivered
  }
  // Exactly once: nothing more comes.
  Op extra = make_op(counters);
  b.session->receive(std::move(extra.done), s.now + 500 * kMs, s.now);
  REQUIRE(run_until(s, [&] { return extra.handle.is_ready(); }));
  CHECK(error_of(extra.handle) == "TimedOut");
  // Every fault happened, and the bad frames were counted and dropped.
  CHECK(s.net.stats().lost > 0);
  CHECK(s.net.stats().duplicated > 0);
  CHECK(s.net.stats().reordered > 0);
  CHECK(s.net.stats().corrupted > 0);
  CHECK(b.session->endpoint().decoder_counters().rejected_total() + a.session->endpoint().decoder_counters().rejected_total() > 0);
  CHECK(a.session->endpoint().reliable_counters().retransmissions.value() > 0);
  CHECK(b.session->endpoint().reliable_counters().delivered.value() == kCount);
  // Both sides idle again once everything is acknowledged.
  REQUIRE(run_until(s, [&] { return a.session->endpoint().idle() && b.session->endpoint().idle(); }));
}

TEST_CASE("best effort: duplicates are dropped, reordered messages are not invented, corrupted frames are counted",
          "[ovp_session]") {
  IoCounters counters;
  FaultConfig faults;
  faults.duplicate = 0.3;
  faults.corrupt = 0.2;
  faults.delay_max = 1ms;
  faults.reorder = 0.2;
  faults.reorder_extra = 2ms;
  Segment s(faults, 7);
  Drone a = join(s, 1);
  Drone b = join(s, 2);
  constexpr std::uint32_t kCount = 300;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    Op e = make_op(counters);
    a.session->emit(to(2, message(i)), std::move(e.done), s.now);
    CHECK(a.session->flush(s.now));  // one DATA frame each
    REQUIRE(e.handle.is_ready());
    run_for(s, 100'000);
  }
  REQUIRE(run_until(s, [&] { return !s.net.next_due(); }));
  // Whatever arrived, arrived once and intact.
  std::vector<bool> seen(kCount);
  std::size_t got = 0;
  for (;;) {
    Op r = make_op(counters);
    b.session->receive(std::move(r.done), s.now, s.now);  // due at once: only what waits
    b.session->expire(s.now);
    auto out = r.handle.recv_result();
    if (!out) break;
    const std::uint32_t index = omega::ovp::load_be32(out->data.data());
    REQUIRE(index < kCount);
    CHECK(out->data == message(index));
    CHECK_FALSE(seen[index]);
    seen[index] = true;
    ++got;
  }
  const auto& ec = b.session->endpoint().counters();
  CHECK(got == ec.messages_received.value());
  CHECK(got >= kCount / 2);
  CHECK(got + static_cast<std::size_t>(ec.messages_lost.value()) <= kCount);
  CHECK(ec.duplicates.value() > 0);
  CHECK(b.session->endpoint().decoder_counters().rejected_total() > 0);
  CHECK(s.net.stats().corrupted > 0);
}

TEST_CASE("a receive past its deadline resolves TimedOut and consumes nothing", "[ovp_session]") {
  IoCounters counters;
  Segment s;
  Drone a = join(s, 1);
  Drone b = join(s, 2);
  Op first = make_op(counters);
  Op second = make_op(counters);
  b.session->receive(std::move(first.done), s.now + 50 * kMs, s.now);
  b.session->receive(std::move(second.done), INT64_MAX, s.now);
  CHECK(b.session->next_deadline(s.now) <= s.now + 50 * kMs);
  REQUIRE(run_until(s, [&] { return first.handle.is_ready(); }));
  CHECK(error_of(first.handle) == "TimedOut");
  CHECK_FALSE(second.handle.is_ready());
  // The next message goes to the waiter behind it.
  Op e = make_op(counters);
  a.session->emit(to(2, message(9)), std::move(e.done), s.now);
  REQUIRE(run_until(s, [&] { return second.handle.is_ready(); }));
  CHECK(second.handle.recv_result()->data == message(9));
  CHECK(counters.timed_out.value() == 1);
}

TEST_CASE("close fails what pends, sends what was accepted, and lingers while reliable data is unacknowledged",
          "[ovp_session]") {
  IoCounters counters;
  Segment s;
  Drone a, b;
  join_pair(s, a, b, /*reliable=*/true);

  SECTION("a best-effort-idle session closes at once") {
    Op waiting = make_op(counters);
    a.session->receive(std::move(waiting.done), INT64_MAX, s.now);
    CHECK_FALSE(a.session->close(s.now));
    CHECK(error_of(waiting.handle) == "OvpReceive: socket closed (OvpClose) while the operation was pending");
  }
  SECTION("accepted reliable messages are still delivered after the close") {
    Op waiting = make_op(counters);
    a.session->receive(std::move(waiting.done), INT64_MAX, s.now);
    std::vector<Op> emits;
    for (std::uint32_t i = 0; i < 20; ++i) {
      emits.push_back(make_op(counters));
      a.session->emit(to(2, message(i)), std::move(emits.back().done), s.now);
    }
    CHECK(a.session->close(s.now));  // lingers
    CHECK(a.session->lingering());
    for (auto& e : emits) REQUIRE(e.handle.recv_result());  // flushed by the close
    CHECK(error_of(waiting.handle).find("OvpReceive: socket closed (OvpClose)") == 0);
    // Later operations on a closed session fail with the same reason.
    Op late = make_op(counters);
    a.session->emit(to(2, message(99)), std::move(late.done), s.now);
    CHECK(error_of(late.handle) == "OvpEmit: socket closed (OvpClose) while the operation was pending");
    REQUIRE(run_until(s, [&] { return a.session->finished(s.now); }));
    CHECK(a.session->endpoint().idle());
    for (std::uint32_t i = 0; i < 20; ++i) {
      Op r = make_op(counters);
      b.session->receive(std::move(r.done), INT64_MAX, s.now);
      REQUIRE(r.handle.is_ready());
      CHECK(r.handle.recv_result()->data == message(i));
    }
  }
  SECTION("a silent peer: the linger ends after kOvpLingerNs") {
    s.drones.erase(2);  // b hears nothing from now on
    Op e = make_op(counters);
    a.session->emit(to(2, message(1)), std::move(e.done), s.now);
    const std::int64_t closed_at = s.now;
    CHECK(a.session->close(s.now));
    REQUIRE(run_until(s, [&] { return a.session->finished(s.now); }, 3'000 * kMs));
    CHECK(s.now >= closed_at + omega::io::kOvpLingerNs);
    CHECK_FALSE(a.session->endpoint().idle());
  }
}

TEST_CASE("fail() resolves what pends and every later operation with the reason", "[ovp_session]") {
  IoCounters counters;
  Segment s;
  Drone a = join(s, 1);
  Op waiting = make_op(counters);
  Op staged = make_op(counters);
  a.session->receive(std::move(waiting.done), s.now + 5 * kMs, s.now);
  a.session->emit(to(2, message(1)), std::move(staged.done), s.now);
  a.session->fail("the link went away");
  CHECK(error_of(waiting.handle) == "OvpReceive: the link went away");
  CHECK(error_of(staged.handle) == "OvpEmit: the link went away");
  Op later = make_op(counters);
  a.session->receive(std::move(later.done), INT64_MAX, s.now);
  CHECK(error_of(later.handle) == "OvpReceive: the link went away");
  CHECK(a.session->next_deadline(s.now) == INT64_MAX);  // nothing left to time out
  CHECK_FALSE(a.session->flush(s.now, true));
}

TEST_CASE("emit errors: payload over the link MTU, a congested link, frames the link refused", "[ovp_session]") {
  IoCounters counters;
  Segment s;
  Drone a = join(s, 1, false, /*mtu=*/100);
  Op big = make_op(counters);
  a.session->emit(to(2, Bytes(100 - omega::ovp::kHeaderSize + 1)), std::move(big.done), s.now);
  CHECK(error_of(big.handle).find("link MTU 100") != std::string::npos);

  a.link->congestion = "the test link is full";
  Op blocked = make_op(counters);
  a.session->emit(to(2, message(1)), std::move(blocked.done), s.now);
  CHECK(error_of(blocked.handle) == "OvpEmit: the test link is full");
  a.link->congestion.clear();

  a.link->refuse = true;
  Op refused = make_op(counters);
  a.session->emit(to(2, message(2)), std::move(refused.done), s.now);
  CHECK_FALSE(refused.handle.is_ready());
  a.session->flush(s.now);
  CHECK(error_of(refused.handle) == "OvpEmit: the test link refused the frames");
  CHECK(counters.failed.value() == 3);
}

TEST_CASE("inline paths: a quiet session sends on the caller's thread, bursts and pipelines go through the loop",
          "[ovp_session]") {
  IoCounters counters;
  Segment s;
  Drone a, b;
  join_pair(s, a, b);
  std::int64_t wake_at = 0;

  Op quiet = make_op(counters);
  REQUIRE(a.session->emit_inline(to(2, message(0)), quiet.done, s.now, wake_at));
  CHECK(quiet.handle.recv_result()->bytes == 24);
  CHECK(wake_at == INT64_MAX);  // best effort: no timer
  // Right behind it: a burst, which the loop batches; the next one keeps the order.
  Op burst = make_op(counters);
  CHECK_FALSE(a.session->emit_inline(to(2, message(1)), burst.done, s.now + 1'000, wake_at));
  s.now += 100 * kMs;
  Op after = make_op(counters);
  CHECK_FALSE(a.session->emit_inline(to(2, message(2)), after.done, s.now, wake_at));  // one waits in the loop
  a.session->emit(to(2, message(1)), std::move(burst.done), s.now);
  a.session->emit(to(2, message(2)), std::move(after.done), s.now);
  REQUIRE(run_until(s, [&] { return after.handle.is_ready(); }));

  // Receives: one that finds its message waiting takes it inline; otherwise the loop.
  REQUIRE(run_until(s, [&] { return b.session->endpoint().queued() == 3; }));
  for (std::uint32_t i = 0; i < 3; ++i) {
    Op r = make_op(counters);
    REQUIRE(b.session->receive_inline(r.done, s.now));
    CHECK(r.handle.recv_result()->data == message(i));
  }
  Op empty = make_op(counters);
  CHECK_FALSE(b.session->receive_inline(empty.done, s.now));
  b.session->receive(std::move(empty.done), INT64_MAX, s.now);
  Op behind = make_op(counters);
  CHECK_FALSE(b.session->receive_inline(behind.done, s.now));  // one waits in the loop: keep the order
  b.session->receive(std::move(behind.done), INT64_MAX, s.now);
  // Two receives waiting: a pipeline, so emits go through the loop.
  Op piped = make_op(counters);
  s.now += 100 * kMs;
  CHECK_FALSE(b.session->emit_inline(to(1, message(5)), piped.done, s.now, wake_at));
  b.session->emit(to(1, message(5)), std::move(piped.done), s.now);
  Op m3 = make_op(counters);
  s.now += 100 * kMs;
  REQUIRE(a.session->emit_inline(to(2, message(3)), m3.done, s.now, wake_at));
  REQUIRE(run_until(s, [&] { return empty.handle.is_ready(); }));
  CHECK(empty.handle.recv_result()->data == message(3));
  CHECK_FALSE(behind.handle.is_ready());

  omega::MetricsSnapshot snap;
  a.session->add_metrics(snap);
  const auto* inline_emits = snap.find("omega_ovp_inline_emits_total");
  REQUIRE(inline_emits != nullptr);
  CHECK(std::get<std::uint64_t>(inline_emits->series.at(0).value) == 2);
}

TEST_CASE("bad frames are counted and dropped, never delivered", "[ovp_session]") {
  IoCounters counters;
  Segment s;
  Drone b = join(s, 2);
  Op waiting = make_op(counters);
  b.session->receive(std::move(waiting.done), INT64_MAX, s.now);
  omega::ovp::FrameHeader h;
  h.source = 9;
  h.destination = 2;
  h.epoch = 1;
  h.sequence = 1;
  const Bytes body = message(1);
  Bytes good(omega::ovp::kHeaderSize + body.size());
  REQUIRE(omega::ovp::encode_ovp(h, body, good));
  Bytes bad_crc = good;
  bad_crc.back() ^= 0x10;
  const Bytes garbage{1, 2, 3};
  CHECK_FALSE(b.session->on_frame(bad_crc, s.now));
  CHECK_FALSE(b.session->on_frame(garbage, s.now));
  CHECK_FALSE(waiting.handle.is_ready());
  CHECK(b.session->endpoint().decoder_counters().rejected_total() == 2);
  CHECK(b.session->on_frame(good, s.now));
  REQUIRE(waiting.handle.is_ready());
  CHECK(waiting.handle.recv_result()->data == body);
}
