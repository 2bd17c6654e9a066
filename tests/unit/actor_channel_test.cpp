// Channels (omega/actor/channel.hpp) against their contract: items accepted whole and taken
// in order, single and in slices, around the ring many times; peek/advance; the counts the
// ends report; each Overflow policy with its counters; closing, and a receiver that stopped.
// Most cases use both ends from the test's thread, outside any actor, where every operation
// looks at once. The two-thread case runs where the platform has threads.
#include <omega/actor/actor.hpp>
#include <omega/base/clock.hpp>
#include <omega/base/config.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../support/sanitizers.hpp"

namespace oa = omega::actor;
using oa::Overflow;
using oa::SendStatus;
using namespace std::chrono_literals;

namespace {

using omega::test::kSanitized;

oa::Graph quiet_graph() { return oa::Graph::builder().with_telemetry_period(0ms).build(); }

// Keeps the graph's actors moving (teams without a thread of their own are served here; the
// others run on their threads) until pred holds or `timeout` passed.
template <class Pred>
bool eventually(oa::Graph& g, Pred pred, std::chrono::milliseconds timeout = 20s) {
  const std::int64_t until = omega::now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  while (!pred()) {
    if (omega::now_ns() > until) return pred();
    if (g.threaded_teams() < g.team_count()) {
      (void)g.run_pending();
    } else {
      std::this_thread::sleep_for(200us);
    }
  }
  return true;
}

std::vector<std::uint64_t> iota(std::uint64_t from, std::size_t n) {
  std::vector<std::uint64_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = from + i;
  return v;
}

// Takes everything readable, one item at a time.
std::vector<std::uint64_t> drain(oa::Rx<std::uint64_t>& rx) {
  std::vector<std::uint64_t> out;
  while (auto v = rx.try_take()) out.push_back(*v);
  return out;
}

}  // namespace

TEST_CASE("single items go in whole and come out in order; the ends count what the ring holds", "[actor_channel]") {
  auto g = quiet_graph();
  auto [tx, rx] = g.channel<std::uint64_t>("single", 7);
  CHECK(tx.valid());
  CHECK(rx.valid());
  CHECK(tx.capacity() == 7);
  CHECK(rx.capacity() == 7);
  CHECK(tx.vacant() == 7);
  CHECK(rx.avail() == 0);
  CHECK_FALSE(rx.try_take().has_value());

  for (std::uint64_t i = 0; i < 3; ++i) CHECK(tx.try_send(i));
  CHECK(rx.avail() == 3);
  CHECK(tx.vacant() == 4);
  // More items after the receiver last looked: avail() is what is readable now.
  CHECK(tx.try_send(3));
  CHECK(tx.try_send(4));
  CHECK(rx.avail() == 5);
  CHECK(tx.vacant() == 2);

  CHECK(rx.try_take() == std::optional<std::uint64_t>(0));
  CHECK(rx.try_take() == std::optional<std::uint64_t>(1));
  CHECK(rx.avail() == 3);
  // Room the receiver made since the sender last looked: vacant() is the room there is now.
  CHECK(tx.vacant() == 4);

  CHECK(tx.try_send(5));
  CHECK(tx.try_send(6));
  CHECK(tx.try_send(7));
  CHECK(tx.try_send(8));
  CHECK(tx.vacant() == 0);
  CHECK_FALSE(tx.try_send(99));  // full: try_send neither waits nor drops
  CHECK(rx.avail() == 7);
  CHECK(drain(rx) == iota(2, 7));
  CHECK(rx.avail() == 0);
  CHECK(tx.vacant() == 7);

  const oa::ChannelCounters c = rx.counters();
  CHECK(c.sent == 9);
  CHECK(c.taken == 9);
  CHECK(c.dropped_newest == 0);
  CHECK(c.dropped_oldest == 0);
  CHECK(c.refused == 0);
  CHECK(c.full == 0);  // try_send that found no room is not a send() under Block
  const oa::ChannelCounters ct = tx.counters();
  CHECK(ct.sent == c.sent);
  CHECK(ct.taken == c.taken);
}

TEST_CASE("items move through a channel (move-only items are moved, not copied)", "[actor_channel]") {
  auto g = quiet_graph();
  auto [tx, rx] = g.channel<std::unique_ptr<int>>("boxes", 4);
  for (int i = 0; i < 4; ++i) CHECK(tx.try_send(std::make_unique<int>(i)));
  CHECK_FALSE(tx.try_send(std::make_unique<int>(4)));
  for (int round = 0; round < 50; ++round) {
    auto v = rx.try_take();
    REQUIRE(v.has_value());
    REQUIRE(*v != nullptr);
    CHECK(**v == round);
    CHECK(tx.send(std::make_unique<int>(round + 4)) == SendStatus::Sent);
  }
  CHECK(rx.counters().sent == 54);
  CHECK(rx.counters().taken == 50);
}

TEST_CASE("wrap-around: thousands of rounds over a small ring, single and sliced, keep order and counts", "[actor_channel]") {
  const std::size_t cap = GENERATE(std::size_t{1}, std::size_t{7}, std::size_t{8});
  CAPTURE(cap);
  auto g = quiet_graph();
  auto [tx, rx] = g.channel<std::uint64_t>("wrap", cap);
  std::mt19937_64 rng(cap * 7919);
  std::vector<std::uint64_t> in(cap + 5);
  std::vector<std::uint64_t> out(cap + 5);
  std::uint64_t next_in = 0;
  std::uint64_t next_out = 0;
  std::uint64_t mismatches = 0;
  std::uint64_t avail_wrong = 0;   // avail() other than the items readable now
  std::uint64_t vacant_wrong = 0;  // vacant() other than the room there is now
  for (int round = 0; round < 20'000; ++round) {
    // Sender: a slice of 1..cap+5 (only what fits goes in, a prefix) or a few single items.
    const std::size_t held = static_cast<std::size_t>(next_in - next_out);
    if (rng() & 1) {
      const std::size_t want = 1 + static_cast<std::size_t>(rng() % (cap + 5));
      for (std::size_t i = 0; i < want; ++i) in[i] = next_in + i;
      const std::size_t sent = tx.send_slice_until_full(std::span<const std::uint64_t>(in.data(), want));
      REQUIRE(sent == std::min(want, cap - held));
      next_in += sent;
    } else {
      const std::size_t k = 1 + static_cast<std::size_t>(rng() % 3);
      for (std::size_t i = 0; i < k; ++i) {
        const bool ok = tx.try_send(next_in);
        REQUIRE(ok == (next_in - next_out < cap));
        if (ok) ++next_in;
      }
    }
    avail_wrong += rx.avail() != next_in - next_out;
    vacant_wrong += tx.vacant() != cap - (next_in - next_out);
    // Receiver: a slice into a buffer of random size, a peek committed in part, or singles.
    switch (rng() % 3) {
      case 0: {
        const std::size_t want = 1 + static_cast<std::size_t>(rng() % (cap + 5));
        const std::size_t n = rx.take_slice(std::span<std::uint64_t>(out.data(), want));
        REQUIRE(n == std::min<std::uint64_t>(want, next_in - next_out));
        for (std::size_t i = 0; i < n; ++i) mismatches += out[i] != next_out + i;
        next_out += n;
        break;
      }
      case 1: {
        const std::size_t want = 1 + static_cast<std::size_t>(rng() % (cap + 5));
        const std::size_t n = rx.peek_slice(std::span<std::uint64_t>(out.data(), want));
        REQUIRE(n == std::min<std::uint64_t>(want, next_in - next_out));
        for (std::size_t i = 0; i < n; ++i) mismatches += out[i] != next_out + i;
        const std::size_t commit = n == 0 ? 0 : static_cast<std::size_t>(rng() % (n + 1));
        rx.advance(commit);
        next_out += commit;
        break;
      }
      default: {
        const std::size_t k = 1 + static_cast<std::size_t>(rng() % 3);
        for (std::size_t i = 0; i < k; ++i) {
          auto v = rx.try_take();
          REQUIRE(v.has_value() == (next_in != next_out));
          if (v) mismatches += *v != next_out++;
        }
        break;
      }
    }
  }
  CHECK(mismatches == 0);
  CHECK(avail_wrong == 0);
  CHECK(vacant_wrong == 0);
  CHECK(next_in > 20'000 * cap / 4);  // the ring went round many times
  const oa::ChannelCounters c = rx.counters();
  CHECK(c.sent == next_in);
  CHECK(c.taken == next_out);
  CHECK(c.dropped_newest + c.dropped_oldest + c.refused + c.full == 0);
}

TEST_CASE("send_slice_until_full sends the longest prefix that fits", "[actor_channel]") {
  auto g = quiet_graph();
  auto [tx, rx] = g.channel<std::uint64_t>("prefix", 8);
  const auto first = iota(100, 5);
  CHECK(tx.send_slice_until_full(first) == 5);
  const auto second = iota(200, 10);
  CHECK(tx.send_slice_until_full(second) == 3);  // 200, 201, 202
  CHECK(tx.send_slice_until_full(second) == 0);  // full: nothing, and nothing dropped
  CHECK(tx.send_slice_until_full(std::span<const std::uint64_t>()) == 0);
  std::vector<std::uint64_t> expect = first;
  expect.insert(expect.end(), second.begin(), second.begin() + 3);
  std::array<std::uint64_t, 16> out{};
  CHECK(rx.take_slice(out) == 8);
  CHECK(std::vector<std::uint64_t>(out.begin(), out.begin() + 8) == expect);
  CHECK(rx.take_slice(out) == 0);
  const oa::ChannelCounters c = rx.counters();
  CHECK(c.sent == 8);
  CHECK(c.taken == 8);
  CHECK(c.full + c.dropped_newest + c.refused == 0);
}

TEST_CASE("peek_slice looks without taking; advance commits a prefix of it, never past what was sent", "[actor_channel]") {
  auto g = quiet_graph();
  auto [tx, rx] = g.channel<std::uint64_t>("peek", 8);
  CHECK(tx.send_slice_until_full(iota(0, 6)) == 6);
  std::array<std::uint64_t, 4> a{};
  std::array<std::uint64_t, 4> b{};
  CHECK(rx.peek_slice(a) == 4);
  CHECK(rx.peek_slice(b) == 4);
  CHECK(a == b);
  CHECK(a == std::array<std::uint64_t, 4>{0, 1, 2, 3});
  CHECK(rx.avail() == 6);
  CHECK(rx.counters().taken == 0);
  rx.advance(2);
  CHECK(rx.avail() == 4);
  CHECK(rx.counters().taken == 2);
  CHECK(rx.peek_slice(a) == 4);
  CHECK(a == std::array<std::uint64_t, 4>{2, 3, 4, 5});
  rx.advance(0);
  CHECK(rx.avail() == 4);
  rx.advance(100);  // clamps to the 4 readable
  CHECK(rx.avail() == 0);
  CHECK(rx.counters().taken == 6);
  CHECK(rx.counters().sent == 6);
  CHECK(rx.peek_slice(a) == 0);
  // The ring is still consistent after an over-long advance.
  CHECK(tx.try_send(6));
  CHECK(rx.try_take() == std::optional<std::uint64_t>(6));
}

TEST_CASE("Overflow::Block: send() on a full channel sends nothing, says Full and counts it", "[actor_channel]") {
  auto g = quiet_graph();
  auto [tx, rx] = g.channel<std::uint64_t>("block", 4, Overflow::Block);
  for (std::uint64_t i = 0; i < 4; ++i) CHECK(tx.send(i) == SendStatus::Sent);
  CHECK(tx.send(4) == SendStatus::Full);
  CHECK(tx.send(5) == SendStatus::Full);
  CHECK(tx.send(6) == SendStatus::Full);
  CHECK_FALSE(tx.try_send(7));
  oa::ChannelCounters c = tx.counters();
  CHECK(c.sent == 4);
  CHECK(c.full == 3);
  CHECK(c.dropped_newest + c.dropped_oldest + c.refused == 0);
  CHECK(drain(rx) == iota(0, 4));
  CHECK(tx.send(8) == SendStatus::Sent);
  CHECK(drain(rx) == std::vector<std::uint64_t>{8});
  c = rx.counters();
  CHECK(c.sent == 5);
  CHECK(c.taken == 5);
  CHECK(c.full == 3);
}

TEST_CASE("Overflow::DropNewest: a full channel keeps its oldest items and counts each discarded one", "[actor_channel]") {
  auto g = quiet_graph();
  auto [tx, rx] = g.channel<std::uint64_t>("drop-newest", 5, Overflow::DropNewest);
  for (std::uint64_t i = 0; i < 5; ++i) CHECK(tx.send(i) == SendStatus::Sent);
  for (std::uint64_t i = 5; i < 12; ++i) CHECK(tx.send(i) == SendStatus::Dropped);
  // try_send and slices never drop: they send what fits.
  CHECK_FALSE(tx.try_send(50));
  CHECK(tx.send_slice_until_full(iota(60, 3)) == 0);
  oa::ChannelCounters c = tx.counters();
  CHECK(c.sent == 5);
  CHECK(c.dropped_newest == 7);
  CHECK(c.dropped_oldest + c.refused + c.full == 0);
  CHECK(drain(rx) == iota(0, 5));
  CHECK(tx.send(12) == SendStatus::Sent);
  CHECK(drain(rx) == std::vector<std::uint64_t>{12});
  c = rx.counters();
  CHECK(c.sent == 6);
  CHECK(c.taken == 6);
  CHECK(c.dropped_newest == 7);
}

TEST_CASE("Overflow::DropOldest keeps the newest items and counts exactly the oldest it discarded", "[actor_channel]") {
  const std::size_t cap = GENERATE(std::size_t{7}, std::size_t{8});
  CAPTURE(cap);
  auto g = quiet_graph();
  auto [tx, rx] = g.channel<std::uint64_t>("drop-oldest", cap, Overflow::DropOldest);

  SECTION("a burst of twice the capacity leaves the newest `capacity` items") {
    for (std::uint64_t i = 0; i < 2 * cap; ++i) CHECK(tx.send(i) == SendStatus::Sent);
    CHECK(tx.vacant() == 0);  // the spare slots are not room
    CHECK(rx.avail() == cap);
    const oa::ChannelCounters c = rx.counters();
    CHECK(c.sent == 2 * cap);
    CHECK(c.dropped_oldest == cap);
    CHECK(c.dropped_newest == 0);
    CHECK(c.sent - c.taken - c.dropped_oldest == cap);  // what the ring holds
    CHECK(drain(rx) == iota(cap, cap));
    CHECK(rx.counters().taken == cap);
    CHECK(rx.counters().dropped_oldest == cap);
  }

  SECTION("a receiver that has not moved for far more than twice the capacity still gets the newest") {
    const std::uint64_t total = 5 * cap + 3;
    for (std::uint64_t i = 0; i < total; ++i) CHECK(tx.send(i) == SendStatus::Sent);
    CHECK(tx.counters().dropped_newest == 0);
    CHECK(rx.avail() == cap);
    CHECK(drain(rx) == iota(total - cap, cap));
    const oa::ChannelCounters c = rx.counters();
    CHECK(c.sent == total);
    CHECK(c.taken == cap);
    CHECK(c.dropped_oldest == total - cap);
    CHECK(c.dropped_newest == 0);
    // Caught up: overflow goes on discarding the oldest.
    for (std::uint64_t i = 0; i < cap + 2; ++i) CHECK(tx.send(5000 + i) == SendStatus::Sent);
    CHECK(drain(rx) == iota(5002, cap));
    CHECK(rx.counters().dropped_oldest == total - cap + 2);
    CHECK(rx.counters().sent - rx.counters().taken - rx.counters().dropped_oldest == 0);
  }

  SECTION("items the receiver peeked before they were overwritten are its to commit, not drops") {
    for (std::uint64_t i = 0; i < cap; ++i) CHECK(tx.send(i) == SendStatus::Sent);
    std::array<std::uint64_t, 2> seen{};
    CHECK(rx.peek_slice(seen) == 2);
    CHECK(seen == std::array<std::uint64_t, 2>{0, 1});
    CHECK(tx.send(100) == SendStatus::Sent);  // over item 0
    CHECK(tx.send(101) == SendStatus::Sent);  // over item 1
    rx.advance(2);                            // the receiver had them: taken, not dropped
    CHECK(drain(rx) == [&] {
      auto v = iota(2, cap - 2);
      v.push_back(100);
      v.push_back(101);
      return v;
    }());
    const oa::ChannelCounters c = rx.counters();
    CHECK(c.sent == cap + 2);
    CHECK(c.taken == cap + 2);
    CHECK(c.dropped_oldest == 0);
  }

  SECTION("slices and try_send never drop") {
    CHECK(tx.send_slice_until_full(iota(0, cap)) == cap);
    CHECK_FALSE(tx.try_send(77));
    CHECK(tx.send_slice_until_full(iota(0, 3)) == 0);
    CHECK(rx.counters().dropped_oldest == 0);
    CHECK(drain(rx) == iota(0, cap));
  }
}

TEST_CASE("Overflow::Fail: send() on a full channel is refused and counted", "[actor_channel]") {
  auto g = quiet_graph();
  auto [tx, rx] = g.channel<std::uint64_t>("fail", 3, Overflow::Fail);
  for (std::uint64_t i = 0; i < 3; ++i) CHECK(tx.send(i) == SendStatus::Sent);
  CHECK(tx.send(3) == SendStatus::Refused);
  CHECK(tx.send(4) == SendStatus::Refused);
  oa::ChannelCounters c = tx.counters();
  CHECK(c.sent == 3);
  CHECK(c.refused == 2);
  CHECK(c.full + c.dropped_newest + c.dropped_oldest == 0);
  CHECK(drain(rx) == iota(0, 3));
  CHECK(tx.send(5) == SendStatus::Sent);
  CHECK(rx.counters().refused == 2);
}

TEST_CASE("a closed sender refuses items; the receiver takes what was sent, then sees closed and empty", "[actor_channel]") {
  const Overflow policy = GENERATE(Overflow::Block, Overflow::DropNewest, Overflow::DropOldest, Overflow::Fail);
  CAPTURE(oa::to_string(policy));
  auto g = quiet_graph();
  auto [tx, rx] = g.channel<std::uint64_t>("closing", 8, policy);
  CHECK(tx.send_slice_until_full(iota(0, 3)) == 3);
  CHECK_FALSE(tx.is_closed());
  CHECK_FALSE(rx.is_closed());
  CHECK_FALSE(rx.is_closed_and_empty());
  tx.close();
  CHECK(tx.is_closed());
  CHECK(rx.is_closed());
  CHECK(tx.send(3) == SendStatus::Closed);
  CHECK_FALSE(tx.try_send(4));
  CHECK(tx.send_slice_until_full(iota(5, 2)) == 0);
  const oa::ChannelCounters c = rx.counters();
  CHECK(c.sent == 3);
  CHECK(c.refused == 4);  // every item offered after close: 1 + 1 + 2
  CHECK_FALSE(rx.is_closed_and_empty());  // items sent before the close are still there
  CHECK(rx.try_take() == std::optional<std::uint64_t>(0));
  std::array<std::uint64_t, 8> out{};
  CHECK(rx.take_slice(out) == 2);
  CHECK(out[0] == 1);
  CHECK(out[1] == 2);
  CHECK(rx.is_closed_and_empty());
  CHECK(rx.counters().taken == 3);
}

TEST_CASE("an empty channel closed before anyone used it is closed and empty", "[actor_channel]") {
  auto g = quiet_graph();
  auto [tx, rx] = g.channel<std::uint64_t>("closed-unused", 2);
  tx.close();
  CHECK(rx.is_closed_and_empty());
  CHECK(tx.send(1) == SendStatus::Closed);
  CHECK(rx.counters().refused == 1);
  CHECK_FALSE(rx.try_take().has_value());
}

TEST_CASE("conditions name their channel and are clamped to its capacity", "[actor_channel]") {
  auto g = quiet_graph();
  auto [tx, rx] = g.channel<std::uint64_t>("conds", 16);
  const auto a = rx.avail(1000);
  CHECK(a.kind == oa::detail::Cond::kAvail);
  CHECK(a.ch == rx.core());
  CHECK(a.n == 16);  // a wait for more than the ring can hold could never end
  CHECK(rx.avail(0).n == 1);
  const auto v = tx.vacant(5);
  CHECK(v.kind == oa::detail::Cond::kVacant);
  CHECK(v.ch == tx.core());
  CHECK(v.n == 5);
  CHECK(tx.vacant(99).n == 16);
  CHECK(tx.core() == rx.core());
}

TEST_CASE("the policies and statuses have distinct names", "[actor_channel]") {
  std::set<std::string> names;
  for (Overflow o : {Overflow::Block, Overflow::DropNewest, Overflow::DropOldest, Overflow::Fail}) {
    CHECK_FALSE(oa::to_string(o).empty());
    names.emplace(oa::to_string(o));
  }
  CHECK(names.size() == 4);
  names.clear();
  for (SendStatus s : {SendStatus::Sent, SendStatus::Full, SendStatus::Dropped, SendStatus::Refused, SendStatus::Closed}) {
    CHECK_FALSE(oa::to_string(s).empty());
    names.emplace(oa::to_string(s));
  }
  CHECK(names.size() == 5);
}

TEST_CASE("bad channels are refused: capacity 0 or over 2^30, an empty or duplicate name, after start", "[actor_channel]") {
  auto g = quiet_graph();
  CHECK_THROWS_AS(g.channel<std::uint64_t>("zero", 0), std::invalid_argument);
  CHECK_THROWS_AS(g.channel<std::uint64_t>("huge", (std::size_t{1} << 30) + 1), std::invalid_argument);
  CHECK_THROWS_AS(g.channel<std::uint64_t>("", 4), std::invalid_argument);
  auto ok = g.channel<std::uint64_t>("taken", 4);
  CHECK(ok.first.valid());
  CHECK_THROWS_AS(g.channel<std::uint64_t>("taken", 4), std::invalid_argument);
  CHECK_THROWS_AS(g.channel<int>("taken", 8), std::invalid_argument);  // names are per graph, not per type
  g.start();
  CHECK_THROWS_AS(g.channel<std::uint64_t>("late", 4), std::logic_error);
  g.request_shutdown();
  CHECK(g.block_until_stopped(10s));
}

TEST_CASE("an actor that received and stopped makes its channel refuse senders", "[actor_channel]") {
  auto g = quiet_graph();
  auto [tx, rx] = g.channel<std::uint64_t>("to-quitter", 4);
  CHECK(tx.send(1) == SendStatus::Sent);
  auto quitter = g.actor("quitter", oa::Threading::Spawn, std::uint64_t{0},
                         [rx = std::move(rx)](oa::Context&, std::uint64_t& got) mutable -> oa::Behavior {
                           if (auto v = rx.try_take()) got = *v;
                           co_return;
                         });
  g.start();
  REQUIRE(eventually(g, [&] { return quitter.state() == oa::ActorState::Stopped; }));
  CHECK(tx.send(2) == SendStatus::Closed);
  CHECK_FALSE(tx.try_send(3));
  CHECK(tx.send_slice_until_full(iota(4, 2)) == 0);
  const oa::ChannelCounters c = tx.counters();
  CHECK(c.sent == 1);
  CHECK(c.taken == 1);
  CHECK(c.refused == 4);
  CHECK(g.block_until_stopped(10s));
}

TEST_CASE("an actor's single sends reach the receiver by the end of its poll; returning closes its sender", "[actor_channel]") {
  auto g = quiet_graph();
  // Not structured bindings: Emscripten's clang 14 cannot capture those in a lambda.
  auto ch = g.channel<std::uint64_t>("from-actor", 8);
  auto& rx = ch.second;
  auto team = g.team("t");
  g.actor("sender", oa::Threading::Join(team), 0,
          [tx = std::move(ch.first)](oa::Context&, int&) mutable -> oa::Behavior {
            for (std::uint64_t i = 0; i < 3; ++i) (void)tx.try_send(i);
            co_return;
          });
  CHECK_FALSE(rx.is_closed());
  g.start();
  REQUIRE(eventually(g, [&] { return rx.is_closed(); }));
  CHECK(rx.avail() == 3);
  CHECK_FALSE(rx.is_closed_and_empty());
  CHECK(drain(rx) == iota(0, 3));
  CHECK(rx.is_closed_and_empty());
  CHECK(g.block_until_stopped(10s));
}

TEST_CASE("two threads: millions of items, single and sliced, arrive once each and in order", "[actor_channel]") {
  if constexpr (!omega::kHasThreads) {
    WARN("SKIPPED: the single-threaded build has no second thread");
    return;
  }
  const std::uint64_t items = kSanitized ? (std::uint64_t{1} << 19) : (std::uint64_t{1} << 22);
  const std::size_t cap = GENERATE(std::size_t{7}, std::size_t{1024});
  CAPTURE(cap, items);
  auto g = quiet_graph();
  auto ch = g.channel<std::uint64_t>("spsc", cap);
  auto& tx = ch.first;
  auto& rx = ch.second;
  std::uint64_t expected_sum = 0;
  for (std::uint64_t i = 0; i < items; ++i) expected_sum += i * 2654435761u;

  std::thread producer([&tx, items] {
    std::mt19937 rng(1);
    std::vector<std::uint64_t> batch(300);
    std::uint64_t next = 0;
    while (next < items) {
      if (rng() & 1) {
        if (tx.try_send(next * 2654435761u)) {
          ++next;
        } else {
          std::this_thread::yield();
        }
      } else {
        const std::size_t want = std::min<std::uint64_t>(1 + rng() % batch.size(), items - next);
        for (std::size_t i = 0; i < want; ++i) batch[i] = (next + i) * 2654435761u;
        const std::size_t n = tx.send_slice_until_full(std::span<const std::uint64_t>(batch.data(), want));
        next += n;
        if (n == 0) std::this_thread::yield();
      }
    }
    tx.close();
  });

  std::mt19937 rng(2);
  std::vector<std::uint64_t> buf(500);
  std::uint64_t got = 0;
  std::uint64_t sum = 0;
  std::uint64_t out_of_order = 0;
  while (!rx.is_closed_and_empty()) {
    std::size_t n = 0;
    switch (rng() % 3) {
      case 0:
        if (auto v = rx.try_take()) {
          out_of_order += *v != got * 2654435761u;
          sum += *v;
          n = 1;
        }
        break;
      case 1:
        n = rx.take_slice(std::span<std::uint64_t>(buf.data(), 1 + rng() % buf.size()));
        for (std::size_t i = 0; i < n; ++i) {
          out_of_order += buf[i] != (got + i) * 2654435761u;
          sum += buf[i];
        }
        break;
      default:
        n = rx.peek_slice(std::span<std::uint64_t>(buf.data(), 1 + rng() % buf.size()));
        for (std::size_t i = 0; i < n; ++i) {
          out_of_order += buf[i] != (got + i) * 2654435761u;
          sum += buf[i];
        }
        rx.advance(n);
        break;
    }
    got += n;
    if (n == 0) std::this_thread::yield();
  }
  producer.join();
  CHECK(got == items);
  CHECK(out_of_order == 0);
  CHECK(sum == expected_sum);
  const oa::ChannelCounters c = rx.counters();
  CHECK(c.sent == items);
  CHECK(c.taken == items);
  CHECK(c.refused + c.full + c.dropped_newest + c.dropped_oldest == 0);
}
