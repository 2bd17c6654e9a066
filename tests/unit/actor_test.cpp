// Actors (omega/actor/actor.hpp) against their contract: waits that resume exactly when their
// conditions hold and never poll meanwhile; teams that share their thread fairly under pulse
// budgets; restarts that keep state and, with peek/advance, lose and duplicate nothing;
// restart intensity, backoff and the two supervisor strategies; shutdown that drains; the
// seed's pipeline; bad configuration; and a stress test of many actors and channels
// ([actor_stress], its own ctest entry, worth running under TSan).
//
// Natively every team runs on its own thread; in the single-threaded WASM build nothing has a
// thread and the test's thread drives the actors through run_pending()/block_until_stopped().
// Waits here are bounded; nothing asserts how fast anything ran.
#include <omega/actor/actor.hpp>
#include <omega/actor/pipeline.hpp>
#include <omega/base/clock.hpp>
#include <omega/base/config.hpp>
#include <omega/pulse/coro.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../support/sanitizers.hpp"

namespace oa = omega::actor;
using oa::ActorEvent;
using oa::ActorState;
using namespace std::chrono_literals;

namespace {

using omega::test::kSanitized;
// Work sizes shrink where each step costs more (sanitizers) or where one thread does it all.
constexpr bool kSmall = kSanitized || !omega::kHasThreads;

oa::Graph::Builder quiet() { return oa::Graph::builder().with_telemetry_period(0ms); }

std::int64_t to_ns(std::chrono::nanoseconds d) { return d.count(); }

// Keeps the graph's actors moving (teams without a thread of their own are served here; the
// others run on their threads) until pred holds or `timeout` passed.
template <class Pred>
bool eventually(oa::Graph& g, Pred pred, std::chrono::milliseconds timeout = 20s) {
  const std::int64_t until = omega::now_ns() + to_ns(timeout);
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

// Lets the graph run for `d` (serving the teams without a thread meanwhile).
void idle_for(oa::Graph& g, std::chrono::milliseconds d) {
  (void)eventually(g, [] { return false; }, d);
}

std::uint64_t polls_of(const oa::Graph& g, std::string_view actor) {
  const oa::Telemetry t = g.telemetry();
  const oa::ActorTelemetry* a = t.actor(actor);
  return a == nullptr ? ~std::uint64_t{0} : a->polls;
}

// Supervision events, as on_event delivers them (on team threads).
class EventLog {
 public:
  void attach(oa::Graph& g) {
    g.on_event([this](const ActorEvent& e) {
      std::lock_guard lock(m_);
      events_.push_back(e);
    });
  }
  std::vector<ActorEvent> of(std::string_view actor, ActorEvent::Kind kind) const {
    std::lock_guard lock(m_);
    std::vector<ActorEvent> out;
    for (const auto& e : events_) {
      if (e.actor == actor && e.kind == kind) out.push_back(e);
    }
    return out;
  }
  std::size_t count(std::string_view actor, ActorEvent::Kind kind) const { return of(actor, kind).size(); }
  std::size_t count_any(std::string_view actor) const {
    std::lock_guard lock(m_);
    return static_cast<std::size_t>(
        std::count_if(events_.begin(), events_.end(), [&](const ActorEvent& e) { return e.actor == actor; }));
  }

 private:
  mutable std::mutex m_;
  std::vector<ActorEvent> events_;
};

// What a waiting actor saw each time its wait returned.
struct WaitProbe {
  std::atomic<std::uint64_t> returns{0};   // every return from the wait
  std::atomic<std::uint64_t> resumes{0};   // returns with `true` (conditions held)
  std::atomic<std::uint64_t> short_{0};    // resumed, but the condition did not hold
  std::atomic<std::uint64_t> took{0};      // items moved in total
};

bool is_waiting(const oa::ActorRef& a) { return a.state() == ActorState::Waiting; }

std::vector<std::uint64_t> iota(std::uint64_t from, std::size_t n) {
  std::vector<std::uint64_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = from + i;
  return v;
}

// Budgets decided by units alone (a time budget that a preempted thread overruns would cut
// polls short at random), and a Monitor tier that never promotes, so that busy actors stay
// on one lane: what they get then depends on the team's turn-taking only.
omega::PulseConfig unit_budgets_only(std::uint32_t units) {
  return omega::PulseConfig::profile(omega::PulseProfile::Balanced)
      .with_unit_budget(units)
      .with_poll_budget(std::chrono::milliseconds(200))
      .with_slow_poll_threshold(std::chrono::milliseconds(400))
      .with_watchdog(std::chrono::milliseconds(800), std::chrono::milliseconds(50))
      .with_tier(omega::Tier::Monitor, omega::TierPolicy::builder("stay").build());
}

}  // namespace

// ---- conditions ---------------------------------------------------------------------------

TEST_CASE("avail(n): a waiting actor is resumed only once n items are there, and does not poll meanwhile", "[actor]") {
  auto g = quiet().build();
  auto ch = g.channel<std::uint64_t>("in", 256);
  auto& tx = ch.first;
  auto team = g.team("t");
  CHECK(team.name() == "t");
  auto probe = std::make_shared<WaitProbe>();
  auto waiter = g.actor("waiter", oa::Threading::Join(team), probe,
                        [rx = std::move(ch.second)](oa::Context& ctx, std::shared_ptr<WaitProbe>& p) mutable -> oa::Behavior {
                          std::array<std::uint64_t, 100> buf{};
                          while (ctx.is_running()) {
                            const bool ok = co_await ctx.wait_for_all(rx.avail(100));
                            p->returns.fetch_add(1);
                            if (ok) p->resumes.fetch_add(1);
                            const std::size_t n = rx.take_slice(buf);
                            if (ok && n < 100) p->short_.fetch_add(1);
                            p->took.fetch_add(n);
                          }
                        });
  CHECK(waiter.name() == "waiter");
  g.start();
  REQUIRE(eventually(g, [&] { return is_waiting(waiter); }));
  const std::uint64_t polls0 = polls_of(g, "waiter");
  REQUIRE(polls0 >= 1);

  for (std::uint64_t i = 0; i < 99; ++i) REQUIRE(tx.try_send(i));
  idle_for(g, 100ms);
  CHECK(probe->returns.load() == 0);
  CHECK(polls_of(g, "waiter") == polls0);  // 99 publishes woke nobody
  CHECK(is_waiting(waiter));

  REQUIRE(tx.try_send(99));
  REQUIRE(eventually(g, [&] { return probe->resumes.load() == 1 && is_waiting(waiter); }));
  CHECK(probe->took.load() == 100);
  CHECK(probe->short_.load() == 0);

  // Idle again: no polls while nothing arrives.
  const std::uint64_t polls1 = polls_of(g, "waiter");
  idle_for(g, 100ms);
  CHECK(polls_of(g, "waiter") == polls1);

  // 250 at once: two batches of 100 at once, then 50 are not enough.
  CHECK(tx.send_slice_until_full(iota(100, 250)) == 250);
  REQUIRE(eventually(g, [&] { return probe->resumes.load() == 3 && is_waiting(waiter); }));
  idle_for(g, 50ms);
  CHECK(probe->resumes.load() == 3);
  CHECK(probe->took.load() == 300);
  CHECK(probe->short_.load() == 0);
  CHECK(probe->returns.load() == 3);

  // Shutdown: the wait is for input, and the sender is still open with 50 items; it returns
  // once the sender closes (the actor takes what is left).
  g.request_shutdown();
  CHECK(g.shutdown_requested());
  idle_for(g, 50ms);
  CHECK(waiter.state() != ActorState::Stopped);
  tx.close();
  CHECK(g.block_until_stopped(20s));
  CHECK(waiter.state() == ActorState::Stopped);
  CHECK(probe->took.load() == 350);
}

TEST_CASE("vacant(n): a waiting sender is resumed only once there is room for n, and does not poll meanwhile", "[actor]") {
  auto g = quiet().build();
  auto ch = g.channel<std::uint64_t>("out", 16);
  auto& rx = ch.second;
  auto team = g.team("t");
  auto probe = std::make_shared<WaitProbe>();
  auto sender = g.actor("sender", oa::Threading::Join(team), probe,
                        [tx = std::move(ch.first)](oa::Context& ctx, std::shared_ptr<WaitProbe>& p) mutable -> oa::Behavior {
                          std::uint64_t next = 0;
                          std::array<std::uint64_t, 10> batch{};
                          while (ctx.is_running()) {
                            const bool ok = co_await ctx.wait_for_all(tx.vacant(10));
                            p->returns.fetch_add(1);
                            if (!ok) continue;
                            p->resumes.fetch_add(1);
                            for (auto& v : batch) v = next++;
                            const std::size_t n = tx.send_slice_until_full(batch);
                            if (n < 10) p->short_.fetch_add(1);
                            next -= 10 - n;
                            p->took.fetch_add(n);
                          }
                        });
  g.start();
  // Empty: room for 10 at once; then 6 left, not enough.
  REQUIRE(eventually(g, [&] { return probe->resumes.load() == 1 && is_waiting(sender); }));
  const std::uint64_t polls0 = polls_of(g, "sender");
  for (int i = 0; i < 3; ++i) REQUIRE(rx.try_take().has_value());  // room for 9
  idle_for(g, 100ms);
  CHECK(probe->resumes.load() == 1);
  CHECK(polls_of(g, "sender") == polls0);
  REQUIRE(rx.try_take().has_value());  // room for 10
  REQUIRE(eventually(g, [&] { return probe->resumes.load() == 2 && is_waiting(sender); }));
  CHECK(probe->took.load() == 20);
  CHECK(probe->short_.load() == 0);
  // What it sent arrives in order after the 4 taken.
  std::array<std::uint64_t, 16> out{};
  CHECK(rx.take_slice(out) == 16);
  CHECK(std::vector<std::uint64_t>(out.begin(), out.end()) == iota(4, 16));
  REQUIRE(eventually(g, [&] { return probe->resumes.load() == 3 && is_waiting(sender); }));
  // Shutdown: a send condition counts as held, so the sender returns and stops.
  g.request_shutdown();
  CHECK(g.block_until_stopped(20s));
  CHECK(sender.state() == ActorState::Stopped);
  CHECK(probe->short_.load() == 0);
  CHECK(rx.counters().sent == probe->took.load());
}

TEST_CASE("wait_for_all resumes when every condition holds; wait_for_any when one does", "[actor]") {
  auto g = quiet().build();
  auto a = g.channel<std::uint64_t>("a", 64);
  auto b = g.channel<std::uint64_t>("b", 64);
  auto c = g.channel<std::uint64_t>("c", 64);
  auto d = g.channel<std::uint64_t>("d", 64);
  auto team = g.team("t");
  struct Seen {
    std::atomic<std::uint64_t> resumes{0};
    std::atomic<std::uint64_t> from_first{0};
    std::atomic<std::uint64_t> from_second{0};
  };
  auto all = std::make_shared<Seen>();
  auto any = std::make_shared<Seen>();
  auto all_ref = g.actor("all", oa::Threading::Join(team), all,
                         [ra = std::move(a.second), rb = std::move(b.second)](oa::Context& ctx,
                                                                              std::shared_ptr<Seen>& s) mutable -> oa::Behavior {
                           std::array<std::uint64_t, 64> buf{};
                           while (ctx.is_running()) {
                             if (!co_await ctx.wait_for_all(ra.avail(5), rb.avail(3))) continue;
                             s->resumes.fetch_add(1);
                             s->from_first.fetch_add(ra.take_slice(buf));
                             s->from_second.fetch_add(rb.take_slice(buf));
                           }
                         });
  auto any_ref = g.actor("any", oa::Threading::Join(team), any,
                         [rc = std::move(c.second), rd = std::move(d.second)](oa::Context& ctx,
                                                                              std::shared_ptr<Seen>& s) mutable -> oa::Behavior {
                           std::array<std::uint64_t, 64> buf{};
                           while (ctx.is_running()) {
                             if (!co_await ctx.wait_for_any(rc.avail(5), rd.avail(3))) continue;
                             s->resumes.fetch_add(1);
                             // Take only from an input whose condition holds.
                             if (const std::size_t n = rc.peek_slice(buf); n >= 5) {
                               rc.advance(n);
                               s->from_first.fetch_add(n);
                             }
                             if (const std::size_t n = rd.peek_slice(buf); n >= 3) {
                               rd.advance(n);
                               s->from_second.fetch_add(n);
                             }
                           }
                         });
  g.start();
  REQUIRE(eventually(g, [&] { return is_waiting(all_ref) && is_waiting(any_ref); }));

  // all: 5 on a alone is not enough, nor 2 on b; the third on b is.
  CHECK(a.first.send_slice_until_full(iota(0, 5)) == 5);
  idle_for(g, 50ms);
  CHECK(all->resumes.load() == 0);
  CHECK(b.first.send_slice_until_full(iota(0, 2)) == 2);
  idle_for(g, 50ms);
  CHECK(all->resumes.load() == 0);
  CHECK(b.first.try_send(2));
  REQUIRE(eventually(g, [&] { return all->resumes.load() == 1; }));
  CHECK(all->from_first.load() == 5);
  CHECK(all->from_second.load() == 3);

  // any: 4 on c and 2 on d satisfy neither; a third on d does.
  CHECK(c.first.send_slice_until_full(iota(0, 4)) == 4);
  CHECK(d.first.send_slice_until_full(iota(0, 2)) == 2);
  idle_for(g, 50ms);
  CHECK(any->resumes.load() == 0);
  CHECK(d.first.try_send(2));
  REQUIRE(eventually(g, [&] { return any->resumes.load() == 1 && is_waiting(any_ref); }));
  CHECK(any->from_first.load() == 0);
  CHECK(any->from_second.load() == 3);
  // A fifth on c now satisfies the other condition.
  CHECK(c.first.try_send(4));
  REQUIRE(eventually(g, [&] { return any->resumes.load() == 2; }));
  CHECK(any->from_first.load() == 5);
  CHECK(all->resumes.load() == 1);

  g.request_shutdown();
  a.first.close();
  b.first.close();
  c.first.close();
  d.first.close();
  CHECK(g.block_until_stopped(20s));
}

namespace {
constexpr std::chrono::milliseconds kPeriod{20};
}

TEST_CASE("wait_for_all_or_proceed_upon(periodic(d), ...) proceeds on the period without data, never early", "[actor]") {
  auto g = quiet().build();
  auto ch = g.channel<std::uint64_t>("rare", 1000);
  auto fast = g.channel<std::uint64_t>("plenty", 1000);
  auto team = g.team("t");
  struct Ticks {
    std::atomic<std::uint64_t> resumes{0};
    std::atomic<std::uint64_t> false_returns{0};
    std::atomic<std::uint64_t> with_data{0};
  };
  auto ticks = std::make_shared<Ticks>();
  auto burst = std::make_shared<Ticks>();
  const std::int64_t begin = omega::now_ns();
  auto ticker = g.actor("ticker", oa::Threading::Join(team), ticks,
                        [rx = std::move(ch.second)](oa::Context& ctx, std::shared_ptr<Ticks>& t) mutable -> oa::Behavior {
                          while (ctx.is_running()) {
                            const bool ok = co_await ctx.wait_for_all_or_proceed_upon(ctx.periodic(kPeriod), rx.avail(1000));
                            if (!ok) {
                              t->false_returns.fetch_add(1);
                              continue;
                            }
                            t->resumes.fetch_add(1);
                            if (rx.avail() > 0) t->with_data.fetch_add(1);
                          }
                        });
  // A period of an hour: only the data can end its wait.
  auto batcher = g.actor("batcher", oa::Threading::Join(team), burst,
                         [rx = std::move(fast.second)](oa::Context& ctx, std::shared_ptr<Ticks>& t) mutable -> oa::Behavior {
                           std::vector<std::uint64_t> buf(1000);
                           while (ctx.is_running()) {
                             if (!co_await ctx.wait_for_all_or_proceed_upon(ctx.periodic(1h), rx.avail(1000))) continue;
                             t->resumes.fetch_add(1);
                             t->with_data.fetch_add(rx.take_slice(buf));
                           }
                         });
  g.start();
  REQUIRE(eventually(g, [&] { return ticks->resumes.load() >= 4; }));
  const std::int64_t elapsed = omega::now_ns() - begin;
  const std::uint64_t seen = ticks->resumes.load();
  // Deadlines count from the actor's start (after `begin`): k resumes need k periods.
  CHECK(seen <= static_cast<std::uint64_t>(elapsed / to_ns(kPeriod)) + 1);
  CHECK(ticks->with_data.load() == 0);
  CHECK(ticks->false_returns.load() == 0);
  // One poll per period (plus the first), not a spin between them.
  CHECK(polls_of(g, "ticker") <= 2 * seen + 4);

  // Who serves the period's timer: the team's thread, or (without one) whoever calls
  // run_pending, who learns when from next_deadline_ns.
  if (g.threaded_teams() == g.team_count()) {
    CHECK(g.next_deadline_ns() == -1);
  } else {
    CHECK(g.next_deadline_ns() >= 0);
  }
  CHECK(is_waiting(batcher));
  CHECK(burst->resumes.load() == 0);
  CHECK(fast.first.send_slice_until_full(iota(0, 999)) == 999);
  idle_for(g, 50ms);
  CHECK(burst->resumes.load() == 0);
  CHECK(fast.first.try_send(999));
  REQUIRE(eventually(g, [&] { return burst->resumes.load() == 1; }));
  CHECK(burst->with_data.load() == 1000);

  g.request_shutdown();
  ch.first.close();
  fast.first.close();
  CHECK(g.block_until_stopped(20s));
  CHECK(ticker.state() == ActorState::Stopped);
}

TEST_CASE("an actor knows its name and graph, and may ask the graph to shut down", "[actor]") {
  oa::Graph* seen_graph = nullptr;
  std::string seen_name;
  auto ticks = std::make_shared<std::atomic<std::uint64_t>>(0);
  auto g = quiet().build();  // after what its actors refer to: it goes first
  auto team = g.team("t");
  g.actor("ticker", oa::Threading::Join(team), ticks,
          [](oa::Context& ctx, std::shared_ptr<std::atomic<std::uint64_t>>& n) -> oa::Behavior {
            while (ctx.is_running()) {
              co_await ctx.wait_for_all(ctx.periodic(1ms));
              n->fetch_add(1);
            }
          });
  auto quitter = g.actor("quitter", oa::Threading::Spawn, 0, [&](oa::Context& ctx, int&) -> oa::Behavior {
    seen_graph = &ctx.graph();
    seen_name = std::string(ctx.name());
    while (ticks->load() < 5) co_await omega::sleep_for(1ms);
    ctx.request_shutdown();
  });
  g.start();
  REQUIRE(g.block_until_stopped(20s));
  CHECK(g.shutdown_requested());
  CHECK(seen_graph == &g);
  CHECK(seen_name == "quitter");
  CHECK(quitter.state() == ActorState::Stopped);
  CHECK(ticks->load() >= 5);
}

// ---- teams --------------------------------------------------------------------------------

TEST_CASE("a team shares its thread fairly: busy actors all progress, and a waiting one is still served", "[actor]") {
  const bool promotions = GENERATE(false, true);
  CAPTURE(promotions);
  // With promotions (the Balanced profile as is) busy actors may climb tiers at different
  // moments and take turns on different lanes: each must still progress. Without, they are
  // on one lane and must progress alike.
  auto g = promotions ? quiet().build() : quiet().with_pulse(unit_budgets_only(64)).build();
  auto team = g.team("shared");
  auto held = g.channel<std::uint64_t>("held", 4);
  auto feed = g.channel<std::uint64_t>("feed", 64);
  REQUIRE(held.first.try_send(1));  // never taken: the `holding` actor's condition always holds

  struct Counts {
    std::array<std::atomic<std::uint64_t>, 3> busy{};
    std::atomic<std::uint64_t> served{0};
  };
  auto counts = std::make_shared<Counts>();
  for (std::size_t i = 0; i < 2; ++i) {
    g.actor("spinner" + std::to_string(i), oa::Threading::Join(team), counts,
            [i](oa::Context& ctx, std::shared_ptr<Counts>& c) -> oa::Behavior {
              while (ctx.is_running()) {
                c->busy[i].fetch_add(1, std::memory_order_relaxed);
                co_await omega::checkpoint();
              }
            });
  }
  g.actor("holding", oa::Threading::Join(team), counts,
          [rx = std::move(held.second)](oa::Context& ctx, std::shared_ptr<Counts>& c) mutable -> oa::Behavior {
            while (ctx.is_running()) {
              c->busy[2].fetch_add(1, std::memory_order_relaxed);
              co_await ctx.wait_for_all(rx.avail(1));
            }
          });
  g.actor("served", oa::Threading::Join(team), counts,
          [rx = std::move(feed.second)](oa::Context& ctx, std::shared_ptr<Counts>& c) mutable -> oa::Behavior {
            while (ctx.is_running(rx)) {
              co_await ctx.wait_for_all(rx.avail(1));
              while (rx.try_take()) c->served.fetch_add(1);
            }
          });
  g.start();
  CHECK(g.team_count() >= 1);
  if (omega::kHasThreads) CHECK(g.threaded_teams() == g.team_count());

  // The waiting actor gets each item while three actors keep the thread busy.
  for (std::uint64_t i = 0; i < 20; ++i) {
    REQUIRE(feed.first.try_send(i));
    REQUIRE(eventually(g, [&] { return counts->served.load() == i + 1; }));
  }
  const std::uint64_t target = kSmall ? 64 * 20 : 64 * 200;
  const bool progressed = eventually(g, [&] {
    return std::min({counts->busy[0].load(), counts->busy[1].load(), counts->busy[2].load()}) >= target;
  });
  g.request_shutdown();
  feed.first.close();
  CHECK(g.block_until_stopped(20s));
  const std::uint64_t b0 = counts->busy[0].load();
  const std::uint64_t b1 = counts->busy[1].load();
  const std::uint64_t b2 = counts->busy[2].load();
  CAPTURE(b0, b1, b2);
  CHECK(progressed);
  CHECK(counts->served.load() == 20);
  if (!promotions) {
    const std::uint64_t lo = std::min({b0, b1, b2});
    const std::uint64_t hi = std::max({b0, b1, b2});
    CHECK(hi <= 2 * lo);
  }
}

TEST_CASE("a team's budgets scale with priority: a High actor gets about twice a Normal one's units", "[actor]") {
  auto g = quiet().with_pulse(unit_budgets_only(64)).build();
  auto team = g.team("shared");
  auto counts = std::make_shared<std::array<std::atomic<std::uint64_t>, 2>>();
  const omega::Priority prios[2] = {omega::Priority::Normal, omega::Priority::High};
  for (std::size_t i = 0; i < 2; ++i) {
    g.actor(
        "busy" + std::to_string(i), oa::Threading::Join(team), counts,
        [i](oa::Context& ctx, std::shared_ptr<std::array<std::atomic<std::uint64_t>, 2>>& c) -> oa::Behavior {
          while (ctx.is_running()) {
            (*c)[i].fetch_add(1, std::memory_order_relaxed);
            co_await omega::checkpoint();
          }
        },
        oa::ActorOptions{}.with_priority(prios[i]));
  }
  g.start();
  const std::uint64_t target = kSmall ? 64 * 20 : 64 * 200;
  CHECK(eventually(g, [&] { return (*counts)[0].load() >= target; }));
  g.request_shutdown();
  CHECK(g.block_until_stopped(20s));
  const double normal = static_cast<double>((*counts)[0].load());
  const double high = static_cast<double>((*counts)[1].load());
  CAPTURE(normal, high);
  CHECK(high >= 1.5 * normal);
  CHECK(high <= 2.5 * normal);
}

// ---- restarts -----------------------------------------------------------------------------

TEST_CASE("restarts keep state; with peek/advance 10^6 messages survive a throw every 10^4, none lost or repeated", "[actor]") {
  constexpr std::uint64_t kItems = 1'000'000;
  constexpr std::uint64_t kFaultEvery = 10'000;
  auto g = quiet().build();
  auto lenient = g.supervisor("lenient", oa::SupervisorStrategy::OneForOne,
                              oa::RestartPolicy{.max_restarts = 1000, .window = std::chrono::milliseconds(60'000)});
  CHECK(lenient.valid());
  CHECK(lenient.name() == "lenient");
  auto ch = g.channel<std::uint64_t>("numbers", 4096);
  auto* core = ch.first.core();
  auto team = g.team("consumers");

  struct ConsumerState {
    std::uint64_t next_expected = 0;
    std::uint64_t count = 0;
    std::uint64_t sum = 0;
    std::uint64_t out_of_order = 0;
    std::uint64_t next_fault = 0;  // the first batch throws at once
    std::uint64_t faults = 0;
    std::uint64_t generations = 0;
    std::uint64_t last_ctx_restarts = 0;
    const void* self = nullptr;
    bool moved = false;  // the state object is not the one the first generation had
  };
  struct Out {
    std::atomic<std::uint64_t> count{0};
    ConsumerState final_state;
    std::atomic<bool> done{false};
  };
  auto out = std::make_shared<Out>();

  g.actor("producer", oa::Threading::Spawn, std::uint64_t{0},
          [tx = std::move(ch.first)](oa::Context& ctx, std::uint64_t& next) mutable -> oa::Behavior {
            std::array<std::uint64_t, 256> batch{};
            while (next < kItems && ctx.is_running()) {
              co_await ctx.wait_for_all(tx.vacant(batch.size()));
              const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(batch.size(), kItems - next));
              for (std::size_t i = 0; i < want; ++i) batch[i] = next + i;
              next += tx.send_slice_until_full(std::span<const std::uint64_t>(batch.data(), want));
            }
          });
  auto consumer = g.actor(
      "consumer", oa::Threading::Join(team), ConsumerState{},
      [rx = std::move(ch.second), out](oa::Context& ctx, ConsumerState& s) mutable -> oa::Behavior {
        ++s.generations;
        s.last_ctx_restarts = ctx.restarts();
        if (s.self == nullptr) s.self = &s;
        if (s.self != &s) s.moved = true;
        std::array<std::uint64_t, 1024> buf{};
        while (ctx.is_running(rx)) {
          co_await ctx.wait_for_all(rx.avail(1));
          const std::size_t n = rx.peek_slice(buf);
          if (n > 0 && s.count >= s.next_fault) {
            s.next_fault += kFaultEvery;
            ++s.faults;
            throw std::runtime_error("consumer fault");  // between peek and advance
          }
          for (std::size_t i = 0; i < n; ++i) {
            s.out_of_order += buf[i] != s.next_expected;
            s.next_expected = buf[i] + 1;
            s.sum += buf[i];
          }
          s.count += n;
          rx.advance(n);
          out->count.store(s.count, std::memory_order_relaxed);
        }
        out->final_state = s;
        out->done.store(true);
      },
      oa::ActorOptions{}.with_supervisor(lenient));
  g.start();
  // The producer returns after the last item, closing the channel; the consumer drains it and
  // stops: the graph stops without being asked.
  REQUIRE(g.block_until_stopped(kSanitized ? 300s : 120s));
  REQUIRE(out->done.load());
  const ConsumerState& s = out->final_state;
  CHECK(s.count == kItems);
  CHECK(s.out_of_order == 0);
  CHECK(s.sum == kItems * (kItems - 1) / 2);
  CHECK(s.faults == kItems / kFaultEvery);
  CHECK(consumer.restarts() == kItems / kFaultEvery);
  CHECK(s.generations == kItems / kFaultEvery + 1);
  CHECK(s.last_ctx_restarts == kItems / kFaultEvery);
  CHECK_FALSE(s.moved);
  CHECK(consumer.state() == ActorState::Stopped);
  const oa::ChannelCounters c = core->counters();
  CHECK(c.sent == kItems);
  CHECK(c.taken == kItems);
}

TEST_CASE("past its restart intensity an actor backs off, doubling up to backoff_max, then fails", "[actor]") {
  const oa::RestartPolicy policy{.max_restarts = 3,
                                 .window = std::chrono::milliseconds(60'000),
                                 .backoff_initial = std::chrono::milliseconds(2),
                                 .backoff_max = std::chrono::milliseconds(9),
                                 .max_backoff_restarts = 5};
  REQUIRE(policy.validate().empty());
  EventLog log;
  auto g = quiet().with_restart_policy(policy).build();
  log.attach(g);
  auto team = g.team("t");
  auto doomed = g.actor("doomed", oa::Threading::Join(team), std::uint64_t{0},
                        [](oa::Context&, std::uint64_t& generations) -> oa::Behavior {
                          ++generations;
                          co_await omega::checkpoint();
                          throw std::runtime_error("boom");
                        });
  g.start();
  REQUIRE(g.block_until_stopped(30s));  // a Failed actor counts as stopped
  CHECK(doomed.state() == ActorState::Failed);
  CHECK(doomed.restarts() == policy.max_restarts + policy.max_backoff_restarts);

  const auto backoffs = log.of("doomed", ActorEvent::Kind::BackingOff);
  REQUIRE(backoffs.size() == policy.max_backoff_restarts);
  const std::int64_t ms = 1'000'000;
  const std::vector<std::int64_t> expected{2 * ms, 4 * ms, 8 * ms, 9 * ms, 9 * ms};
  std::vector<std::int64_t> got;
  for (const auto& e : backoffs) {
    got.push_back(e.backoff_ns);
    CHECK(e.what == "boom");
  }
  CHECK(got == expected);
  const auto failed = log.of("doomed", ActorEvent::Kind::Failed);
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].what == "boom");
  CHECK(failed[0].restarts == policy.max_restarts + policy.max_backoff_restarts);
  // The delays were served, never cut short: from the first BackingOff to Failed at least
  // their sum passed.
  CHECK(failed[0].at_ns - backoffs.front().at_ns >= 2 * ms + 4 * ms + 8 * ms + 9 * ms);
  // The immediate restarts were reported too.
  CHECK(log.count("doomed", ActorEvent::Kind::Restarted) >= policy.max_restarts);
  CHECK(log.count("doomed", ActorEvent::Kind::Stopped) == 0);
  // The same story is in recent_events.
  std::size_t recent_failed = 0;
  for (const auto& e : g.recent_events()) recent_failed += e.actor == "doomed" && e.kind == ActorEvent::Kind::Failed;
  CHECK(recent_failed == 1);
  const oa::Telemetry t = g.telemetry();
  REQUIRE(t.actor("doomed") != nullptr);
  CHECK(t.actor("doomed")->restarts == doomed.restarts());
  CHECK(t.actor("doomed")->state == ActorState::Failed);
}

TEST_CASE("an actor waiting out its backoff is BackingOff", "[actor]") {
  EventLog log;
  auto g = quiet()
               .with_restart_policy(oa::RestartPolicy{.max_restarts = 1,
                                                      .window = std::chrono::milliseconds(60'000),
                                                      .backoff_initial = std::chrono::milliseconds(400),
                                                      .backoff_max = std::chrono::milliseconds(400),
                                                      .max_backoff_restarts = 1})
               .build();
  log.attach(g);
  auto doomed = g.actor("doomed", oa::Threading::Spawn, 0, [](oa::Context&, int&) -> oa::Behavior {
    co_await omega::checkpoint();
    throw std::runtime_error("again");
  });
  g.start();
  CHECK(eventually(g, [&] { return doomed.state() == ActorState::BackingOff; }));
  REQUIRE(g.block_until_stopped(30s));
  CHECK(doomed.state() == ActorState::Failed);
  CHECK(doomed.restarts() == 2);
  CHECK(log.count("doomed", ActorEvent::Kind::BackingOff) == 1);
}

TEST_CASE("restarts spread wider than the window never back off", "[actor]") {
  EventLog log;
  auto g = quiet()
               .with_restart_policy(oa::RestartPolicy{.max_restarts = 2,
                                                      .window = std::chrono::milliseconds(5),
                                                      .backoff_initial = std::chrono::milliseconds(1),
                                                      .backoff_max = std::chrono::milliseconds(1),
                                                      .max_backoff_restarts = 1})
               .build();
  log.attach(g);
  auto team = g.team("t");
  // Each generation lives 30 ms (well past the 5 ms window) and then throws; the sixth returns.
  auto slow = g.actor("slow", oa::Threading::Join(team), std::uint64_t{0},
                      [](oa::Context&, std::uint64_t& generation) -> oa::Behavior {
                        ++generation;
                        co_await omega::sleep_for(30ms);
                        if (generation <= 6) throw std::runtime_error("later");
                      });
  g.start();
  REQUIRE(g.block_until_stopped(60s));
  CHECK(slow.state() == ActorState::Stopped);
  CHECK(slow.restarts() == 6);
  CHECK(log.count("slow", ActorEvent::Kind::BackingOff) == 0);
  CHECK(log.count("slow", ActorEvent::Kind::Failed) == 0);
  CHECK(log.count("slow", ActorEvent::Kind::Restarted) == 6);
}

namespace {

// An actor that waits for input forever and counts how often its behaviour was made.
struct SteadyState {
  std::uint64_t generations = 0;
  std::shared_ptr<std::atomic<std::uint64_t>> seen_generations = std::make_shared<std::atomic<std::uint64_t>>(0);
};

auto steady_behavior(oa::Rx<std::uint64_t> rx) {
  return [rx = std::move(rx)](oa::Context& ctx, SteadyState& s) mutable -> oa::Behavior {
    ++s.generations;
    s.seen_generations->store(s.generations);
    while (ctx.is_running(rx)) {
      co_await ctx.wait_for_all(rx.avail(1));
      while (rx.try_take()) {
      }
    }
  };
}

}  // namespace

TEST_CASE("AllForOne: when one actor throws, its siblings restart too, keeping their state", "[actor]") {
  EventLog log;
  auto g = quiet().build();
  log.attach(g);
  auto group = g.supervisor("group", oa::SupervisorStrategy::AllForOne,
                            oa::RestartPolicy{.max_restarts = 100, .window = std::chrono::milliseconds(60'000)});
  auto team = g.team("t");
  auto gate = g.channel<std::uint64_t>("gate", 4);
  auto idle = g.channel<std::uint64_t>("idle", 4);
  SteadyState steady_state;
  auto seen = steady_state.seen_generations;
  auto steady = g.actor("steady", oa::Threading::Spawn, steady_state, steady_behavior(std::move(idle.second)),
                        oa::ActorOptions{}.with_supervisor(group));
  auto faulty = g.actor(
      "faulty", oa::Threading::Join(team), false,
      [rx = std::move(gate.second)](oa::Context& ctx, bool& thrown) mutable -> oa::Behavior {
        while (ctx.is_running(rx)) {
          co_await ctx.wait_for_all(rx.avail(1));
          std::array<std::uint64_t, 4> buf{};
          const std::size_t n = rx.peek_slice(buf);
          if (n > 0 && !thrown) {
            thrown = true;
            throw std::runtime_error("once");
          }
          rx.advance(n);
        }
      },
      oa::ActorOptions{}.with_supervisor(group));
  g.start();
  REQUIRE(eventually(g, [&] { return is_waiting(steady) && is_waiting(faulty) && seen->load() == 1; }));
  REQUIRE(gate.first.try_send(1));
  REQUIRE(eventually(g, [&] { return faulty.restarts() == 1 && steady.restarts() == 1; }));
  REQUIRE(eventually(g, [&] { return seen->load() == 2 && is_waiting(steady) && is_waiting(faulty); }));
  CHECK(log.count("faulty", ActorEvent::Kind::Restarted) == 1);
  CHECK(log.count("faulty", ActorEvent::Kind::GroupRestart) + log.count("steady", ActorEvent::Kind::GroupRestart) >= 1);
  CHECK(log.count_any("steady") >= 1);  // the sibling's own restart is reported under its name
  CHECK(log.count("steady", ActorEvent::Kind::Failed) == 0);
  // Once restarted, both run as before: the faulty one took the gate item, nothing more restarts.
  idle_for(g, 50ms);
  CHECK(faulty.restarts() == 1);
  CHECK(steady.restarts() == 1);
  g.request_shutdown();
  gate.first.close();
  idle.first.close();
  CHECK(g.block_until_stopped(20s));
  CHECK(steady.state() == ActorState::Stopped);
  CHECK(faulty.state() == ActorState::Stopped);
}

TEST_CASE("AllForOne: a group fails together; OneForOne fails only the actor concerned", "[actor]") {
  const oa::SupervisorStrategy strategy = GENERATE(oa::SupervisorStrategy::AllForOne, oa::SupervisorStrategy::OneForOne);
  const bool all_for_one = strategy == oa::SupervisorStrategy::AllForOne;
  CAPTURE(all_for_one);
  EventLog log;
  auto g = quiet().build();
  log.attach(g);
  const oa::RestartPolicy policy{.max_restarts = 2,
                                 .window = std::chrono::milliseconds(60'000),
                                 .backoff_initial = std::chrono::milliseconds(1),
                                 .backoff_max = std::chrono::milliseconds(2),
                                 .max_backoff_restarts = 1};
  auto sup = g.supervisor("sup", strategy, policy);
  auto team = g.team("t");
  auto idle = g.channel<std::uint64_t>("idle", 4);
  auto from_faulty = g.channel<std::uint64_t>("from-faulty", 16);
  auto from_steady = g.channel<std::uint64_t>("from-steady", 16);
  auto* steady_out = from_steady.second.core();
  SteadyState st;
  auto seen = st.seen_generations;
  auto steady = g.actor("steady", oa::Threading::Join(team), st,
                        [rx = std::move(idle.second), tx = std::move(from_steady.first)](oa::Context& ctx,
                                                                                         SteadyState& s) mutable -> oa::Behavior {
                          ++s.generations;
                          s.seen_generations->store(s.generations);
                          (void)tx.try_send(s.generations);
                          while (ctx.is_running(rx)) {
                            co_await ctx.wait_for_all(rx.avail(1));
                            while (rx.try_take()) {
                            }
                          }
                        },
                        oa::ActorOptions{}.with_supervisor(sup));
  // Sends five items in its first life, then throws in every life.
  auto faulty = g.actor("faulty", oa::Threading::Spawn, false,
                        [tx = std::move(from_faulty.first)](oa::Context&, bool& sent) mutable -> oa::Behavior {
                          if (!sent) {
                            sent = true;
                            for (std::uint64_t i = 0; i < 5; ++i) (void)tx.try_send(i);
                          }
                          co_await omega::sleep_for(1ms);
                          throw std::runtime_error("always");
                        },
                        oa::ActorOptions{}.with_supervisor(sup));
  // Not supervised by `sup`: drains what the faulty actor sent and stops when its input closes.
  auto drained = std::make_shared<std::atomic<std::uint64_t>>(0);
  auto drain = g.actor("drain", oa::Threading::Join(team), drained,
                       [rx = std::move(from_faulty.second)](oa::Context& ctx,
                                                            std::shared_ptr<std::atomic<std::uint64_t>>& d) mutable -> oa::Behavior {
                         while (ctx.is_running(rx)) {
                           co_await ctx.wait_for_all(rx.avail(1));
                           while (rx.try_take()) d->fetch_add(1);
                         }
                       });
  g.start();
  REQUIRE(eventually(g, [&] { return faulty.state() == ActorState::Failed; }));
  CHECK(faulty.restarts() == policy.max_restarts + policy.max_backoff_restarts);
  CHECK(log.count("faulty", ActorEvent::Kind::Failed) == 1);
  // A Failed actor's channels close: its receiver drains the five items and stops on its own.
  REQUIRE(eventually(g, [&] { return drain.state() == ActorState::Stopped; }));
  CHECK(drained->load() == 5);
  if (all_for_one) {
    REQUIRE(eventually(g, [&] { return steady.state() == ActorState::Failed; }));
    CHECK(steady.restarts() == faulty.restarts());
    CHECK(seen->load() == faulty.restarts() + 1);  // state kept across the group's restarts
    CHECK(log.count("steady", ActorEvent::Kind::Failed) == 1);
    REQUIRE(eventually(g, [&] { return steady_out->tx_closed(); }));  // its channels close too
    // Nothing left running: the graph has stopped without being asked.
    CHECK(g.block_until_stopped(20s));
  } else {
    idle_for(g, 50ms);
    CHECK(steady.restarts() == 0);
    CHECK(seen->load() == 1);
    CHECK(is_waiting(steady));
    CHECK(log.count_any("steady") == 0);
    CHECK_FALSE(steady_out->tx_closed());
    CHECK_FALSE(g.stopped());
    g.request_shutdown();
    idle.first.close();
    CHECK(g.block_until_stopped(20s));
    CHECK(steady.state() == ActorState::Stopped);
  }
  CHECK(g.stopped());
}

// ---- shutdown -----------------------------------------------------------------------------

TEST_CASE("shutdown drains: items in flight when it is asked all reach the consumer", "[actor]") {
  auto g = quiet().build();
  constexpr std::size_t kCap = 1024;  // a whole number of the producer's batches of 64
  auto data = g.channel<std::uint64_t>("data", kCap);
  auto gate = g.channel<std::uint64_t>("gate", 1);
  auto* core = data.first.core();
  struct Totals {
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> taken{0};
    std::atomic<std::uint64_t> taken_sum{0};
    std::atomic<std::uint64_t> out_of_order{0};
  };
  auto totals = std::make_shared<Totals>();
  auto team = g.team("t");
  auto producer = g.actor("producer", oa::Threading::Join(team), totals,
                          [tx = std::move(data.first)](oa::Context& ctx, std::shared_ptr<Totals>& t) mutable -> oa::Behavior {
                            std::uint64_t next = 0;
                            std::array<std::uint64_t, 64> batch{};
                            while (ctx.is_running()) {
                              co_await ctx.wait_for_all(tx.vacant(batch.size()));
                              for (auto& v : batch) v = next++;
                              const std::size_t n = tx.send_slice_until_full(batch);
                              next -= batch.size() - n;
                              t->sent.store(next);
                            }
                          });
  // The consumer takes nothing until the gate opens, so the channel fills and stays full.
  auto consumer = g.actor("consumer", oa::Threading::Spawn, totals,
                          [rx = std::move(data.second), open = std::move(gate.second)](
                              oa::Context& ctx, std::shared_ptr<Totals>& t) mutable -> oa::Behavior {
                            co_await ctx.wait_for_all(open.avail(1));
                            std::uint64_t expected = 0;
                            std::array<std::uint64_t, 7> buf{};
                            while (ctx.is_running(rx)) {
                              co_await ctx.wait_for_all(rx.avail(1));
                              const std::size_t n = rx.peek_slice(buf);
                              for (std::size_t i = 0; i < n; ++i) {
                                t->out_of_order.fetch_add(buf[i] != expected);
                                expected = buf[i] + 1;
                                t->taken_sum.fetch_add(buf[i]);
                              }
                              rx.advance(n);
                              t->taken.fetch_add(n);
                            }
                          });
  g.start();
  REQUIRE(eventually(g, [&] { return totals->sent.load() == kCap && is_waiting(producer); }));
  CHECK(totals->taken.load() == 0);
  g.request_shutdown();
  gate.first.close();  // the consumer's first wait returns: it drains from here
  REQUIRE(g.block_until_stopped(20s));
  CHECK(producer.state() == ActorState::Stopped);
  CHECK(consumer.state() == ActorState::Stopped);
  const std::uint64_t sent = totals->sent.load();
  CHECK(sent >= kCap);
  CHECK(totals->taken.load() == sent);
  CHECK(totals->taken_sum.load() == sent * (sent - 1) / 2);
  CHECK(totals->out_of_order.load() == 0);
  CHECK(core->counters().sent == sent);
  CHECK(core->counters().taken == sent);
  const oa::Telemetry t = g.telemetry();
  CHECK(t.shutting_down);
  CHECK(t.stopped);
  REQUIRE(t.channel("data") != nullptr);
  CHECK(t.channel("data")->closed);
  CHECK(t.channel("data")->len == 0);
}

TEST_CASE("shutdown in the middle of traffic loses nothing that was sent", "[actor]") {
  auto g = quiet().build();
  // Room for the largest batch the producer waits for plus the most the consumer waits for
  // (300 + 50): otherwise both could wait at once, each for what the other cannot give.
  auto data = g.channel<std::uint64_t>("data", 350);
  auto* core = data.first.core();
  struct Totals {
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> taken{0};
    std::atomic<std::uint64_t> sent_sum{0};
    std::atomic<std::uint64_t> taken_sum{0};
  };
  auto totals = std::make_shared<Totals>();
  auto team = g.team("t");
  g.actor("producer", oa::Threading::Spawn, totals,
          [tx = std::move(data.first)](oa::Context& ctx, std::shared_ptr<Totals>& t) mutable -> oa::Behavior {
            std::mt19937 rng(5);
            std::uint64_t next = 0;
            std::vector<std::uint64_t> batch(300);
            while (ctx.is_running()) {
              const std::size_t want = 1 + rng() % batch.size();
              co_await ctx.wait_for_all(tx.vacant(want));
              for (std::size_t i = 0; i < want; ++i) batch[i] = next + i;
              const std::size_t n = tx.send_slice_until_full(std::span<const std::uint64_t>(batch.data(), want));
              for (std::size_t i = 0; i < n; ++i) t->sent_sum.fetch_add(batch[i], std::memory_order_relaxed);
              next += n;
              t->sent.store(next);
            }
          });
  g.actor("consumer", oa::Threading::Join(team), totals,
          [rx = std::move(data.second)](oa::Context& ctx, std::shared_ptr<Totals>& t) mutable -> oa::Behavior {
            std::mt19937 rng(6);
            std::vector<std::uint64_t> buf(500);
            while (ctx.is_running(rx)) {
              co_await ctx.wait_for_all(rx.avail(1 + rng() % 50));
              const std::size_t n = rx.take_slice(std::span<std::uint64_t>(buf.data(), 1 + rng() % buf.size()));
              for (std::size_t i = 0; i < n; ++i) t->taken_sum.fetch_add(buf[i], std::memory_order_relaxed);
              t->taken.fetch_add(n);
            }
          });
  g.start();
  const std::uint64_t target = kSmall ? 20'000 : 200'000;
  CHECK(eventually(g, [&] { return totals->taken.load() >= target; }));
  g.request_shutdown();
  REQUIRE(g.block_until_stopped(20s));
  CHECK(totals->taken.load() == totals->sent.load());
  CHECK(totals->taken_sum.load() == totals->sent_sum.load());
  CHECK(core->counters().sent == totals->sent.load());
  CHECK(core->counters().taken == totals->sent.load());
}

TEST_CASE("actors waiting when shutdown is asked are woken and stop", "[actor]") {
  auto g = quiet().build();
  auto unused = g.channel<std::uint64_t>("unused", 4);   // its sender (this test) never sends
  auto full = g.channel<std::uint64_t>("full", 4);       // nobody takes: its sender waits for room
  auto team = g.team("t");
  auto on_input = g.actor("on-input", oa::Threading::Join(team), 0,
                          [rx = std::move(unused.second)](oa::Context& ctx, int&) mutable -> oa::Behavior {
                            while (ctx.is_running()) co_await ctx.wait_for_all(rx.avail(1));
                          });
  auto on_room = g.actor("on-room", oa::Threading::Spawn, 0,
                         [tx = std::move(full.first)](oa::Context& ctx, int&) mutable -> oa::Behavior {
                           std::uint64_t next = 0;
                           while (ctx.is_running()) {
                             co_await ctx.wait_for_all(tx.vacant(1));
                             if (tx.try_send(next)) ++next;
                           }
                         });
  auto on_timer = g.actor("on-timer", oa::Threading::Join(team), 0, [](oa::Context& ctx, int&) -> oa::Behavior {
    while (ctx.is_running()) co_await ctx.wait_for_all(ctx.periodic(1h));
  });
  g.start();
  REQUIRE(eventually(g, [&] {
    return is_waiting(on_input) && is_waiting(on_room) && is_waiting(on_timer) && full.second.counters().sent == 4;
  }));
  CHECK_FALSE(g.shutdown_requested());
  g.request_shutdown();
  CHECK(g.shutdown_requested());
  CHECK(g.block_until_stopped(20s));
  CHECK(g.stopped());
  CHECK(on_input.state() == ActorState::Stopped);
  CHECK(on_room.state() == ActorState::Stopped);
  CHECK(on_timer.state() == ActorState::Stopped);
  // What the sender put in before it stopped is still there for the receiver.
  CHECK(full.second.avail() == 4);
  CHECK(full.second.is_closed());
}

TEST_CASE("shutdown keeps the output of an actor that has not sent yet open: what it accepts still arrives", "[actor]") {
  auto g = quiet().build();
  auto in = g.channel<std::uint64_t>("in", 16);
  auto mid = g.channel<std::uint64_t>("mid", 16);
  auto team = g.team("t");
  auto got = std::make_shared<std::atomic<std::uint64_t>>(0);
  // Forwards batches of five; until the first batch it has sent nothing on `mid`.
  auto relay = g.actor("relay", oa::Threading::Join(team), 0,
                       [rx = std::move(in.second), tx = std::move(mid.first)](oa::Context& ctx, int&) mutable -> oa::Behavior {
                         std::array<std::uint64_t, 5> buf{};
                         while (ctx.is_running(rx)) {
                           co_await ctx.wait_for_all(rx.avail(5), tx.vacant(5));
                           const std::size_t n = rx.peek_slice(buf);
                           rx.advance(tx.send_slice_until_full(std::span<const std::uint64_t>(buf.data(), n)));
                         }
                       });
  auto sink = g.actor("sink", oa::Threading::Spawn, got,
                      [rx = std::move(mid.second)](oa::Context& ctx, std::shared_ptr<std::atomic<std::uint64_t>>& n) mutable -> oa::Behavior {
                        while (ctx.is_running(rx)) {
                          co_await ctx.wait_for_all(rx.avail(1));
                          while (rx.try_take()) n->fetch_add(1);
                        }
                      });
  g.start();
  CHECK(in.first.send_slice_until_full(iota(0, 4)) == 4);  // not yet a batch: the relay waits
  REQUIRE(eventually(g, [&] { return is_waiting(relay) && is_waiting(sink); }));
  g.request_shutdown();
  idle_for(g, 50ms);
  // The relay is alive and its input open: its output must not have been closed under it.
  CHECK(sink.state() != ActorState::Stopped);
  CHECK(in.first.try_send(4));  // accepted: the relay's input was open
  in.first.close();
  CHECK(g.block_until_stopped(20s));
  CHECK(got->load() == 5);
  CHECK(relay.state() == ActorState::Stopped);
  CHECK(sink.state() == ActorState::Stopped);
}

TEST_CASE("~Graph returns after its grace even when actors never stop", "[actor]") {
  auto hog_loops = std::make_shared<std::atomic<std::uint64_t>>(0);
  {
    auto g = quiet().with_shutdown_grace(50ms).build();
    auto team = g.team("t");
    auto input = g.channel<std::uint64_t>("never-closed", 4);
    // Ignores is_running().
    g.actor("hog", oa::Threading::Join(team), hog_loops,
            [](oa::Context&, std::shared_ptr<std::atomic<std::uint64_t>>& n) -> oa::Behavior {
              for (;;) {
                n->fetch_add(1, std::memory_order_relaxed);
                co_await omega::checkpoint();
              }
            });
    // Waits for input whose sender (this test) sent once and never closes.
    auto stuck = g.actor("stuck", oa::Threading::Spawn, 0,
                         [rx = std::move(input.second)](oa::Context& ctx, int&) mutable -> oa::Behavior {
                           for (;;) co_await ctx.wait_for_all(rx.avail(2));
                         });
    REQUIRE(input.first.try_send(1));
    g.start();
    REQUIRE(eventually(g, [&] { return hog_loops->load() > 1000 && is_waiting(stuck); }));
    g.request_shutdown();
    CHECK_FALSE(g.block_until_stopped(100ms));
    CHECK_FALSE(g.stopped());
  }  // ~Graph: must not hang (ctest's timeout for this entry catches a hang)
  const std::uint64_t after = hog_loops->load();
  if constexpr (omega::kHasThreads) std::this_thread::sleep_for(20ms);
  CHECK(hog_loops->load() == after);  // nothing runs the hog any more
}

// ---- the seed's pipeline ------------------------------------------------------------------

TEST_CASE("the seed's pipeline logs every generated value exactly once", "[actor]") {
  const std::uint64_t fault_every = GENERATE(std::uint64_t{0}, std::uint64_t{10'000});
  CAPTURE(fault_every);
  oa::PipelineConfig c;
  c.rate = 1ms;
  c.beats = kSmall ? 10 : 40;
  c.beat_burst = 8;
  c.capacity = 2048;
  c.telemetry_period = 10ms;
  c.worker_fault_every = fault_every;
  REQUIRE(c.validate().empty());
  oa::Pipeline p(c);
  CHECK(p.config().beats == c.beats);
  p.start();
  const bool stopped = p.graph().block_until_stopped(kSanitized ? 120s : 60s);
  const oa::PipelineReport r = p.report();
  INFO(r.to_json());
  INFO((stopped ? std::string() : p.graph().telemetry().to_json()));  // who is still waiting, and on what
  REQUIRE(stopped);
  CHECK(r.finished);
  CHECK(r.exactly_once);
  CHECK(r.generated > 0);
  CHECK(r.logged == r.generated);
  CHECK(r.logged_checksum == r.generated_checksum);
  CHECK(r.out_of_order == 0);
  CHECK(r.bursts == c.beats);
  CHECK(r.heartbeats == c.beats * c.beat_burst);
  CHECK(r.fizz + r.buzz + r.fizzbuzz <= r.logged);
  if (fault_every == 0) {
    CHECK(r.worker_restarts == 0);
  } else {
    CHECK(r.worker_restarts <= r.generated / fault_every);
    if (r.generated >= 2 * fault_every) CHECK(r.worker_restarts >= 1);
  }
  CHECK_FALSE(r.to_json().empty());
}

// ---- configuration ------------------------------------------------------------------------

TEST_CASE("RestartPolicy::validate names the field it rejects", "[actor]") {
  CHECK(oa::RestartPolicy{}.validate().empty());
  auto reason = [](auto change) {
    oa::RestartPolicy p;
    change(p);
    return p.validate();
  };
  const std::string window = reason([](oa::RestartPolicy& p) { p.window = std::chrono::milliseconds(-1); });
  CHECK(window.find("window") != std::string::npos);
  const std::string initial = reason([](oa::RestartPolicy& p) { p.backoff_initial = std::chrono::milliseconds(-5); });
  CHECK(initial.find("backoff_initial") != std::string::npos);
  const std::string max = reason([](oa::RestartPolicy& p) {
    p.backoff_initial = std::chrono::milliseconds(100);
    p.backoff_max = std::chrono::milliseconds(10);
  });
  CHECK(max.find("backoff_max") != std::string::npos);
  const std::string negative_max = reason([](oa::RestartPolicy& p) { p.backoff_max = std::chrono::milliseconds(-1); });
  CHECK(negative_max.find("backoff_max") != std::string::npos);
}

TEST_CASE("Graph::Builder refuses a bad period, PulseConfig or RestartPolicy, naming it", "[actor]") {
  auto message = [](auto&& build) -> std::string {
    try {
      (void)build();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  const std::string pulse = message([] {
    return oa::Graph::builder().with_pulse(omega::PulseConfig::profile(omega::PulseProfile::Balanced).with_unit_budget(0)).build();
  });
  CHECK(pulse.find("unit_budget") != std::string::npos);
  const std::string restart = message([] {
    oa::RestartPolicy p;
    p.window = std::chrono::milliseconds(-1);
    return oa::Graph::builder().with_restart_policy(p).build();
  });
  CHECK(restart.find("window") != std::string::npos);
  const std::string period = message([] { return oa::Graph::builder().with_telemetry_period(-1ms).build(); });
  CHECK(period.find("telemetry") != std::string::npos);
  CHECK_NOTHROW(oa::Graph::builder().build());
}

TEST_CASE("teams and actors need unique, non-empty names, before start", "[actor]") {
  auto g = quiet().build();
  auto body = [](oa::Context&, int&) -> oa::Behavior { co_return; };
  CHECK_THROWS_AS(g.team(""), std::invalid_argument);
  auto team = g.team("t");
  CHECK_THROWS_AS(g.team("t"), std::invalid_argument);
  CHECK_THROWS_AS(g.actor("", oa::Threading::Join(team), 0, body), std::invalid_argument);
  auto a = g.actor("a", oa::Threading::Join(team), 0, body);
  CHECK(a.valid());
  CHECK_THROWS_AS(g.actor("a", oa::Threading::Spawn, 0, body), std::invalid_argument);
  CHECK(g.actor_count() == 1);
  g.start();
  CHECK_THROWS_AS(g.actor("late", oa::Threading::Join(team), 0, body), std::logic_error);
  CHECK_THROWS_AS(g.team("late"), std::logic_error);
  CHECK(g.actor_count() == 1);
  CHECK(g.block_until_stopped(20s));  // `a` returns at once
  CHECK(a.state() == ActorState::Stopped);
}

TEST_CASE("PipelineConfig::validate names the bad field; Pipeline refuses it", "[actor]") {
  CHECK(oa::PipelineConfig{}.validate().empty());
  struct Bad {
    const char* field;
    void (*change)(oa::PipelineConfig&);
  };
  const Bad bad[] = {
      {"generator_batch", [](oa::PipelineConfig& c) { c.generator_batch = 0; }},
      {"worker_batch", [](oa::PipelineConfig& c) { c.worker_batch = 0; }},
      {"logger_batch", [](oa::PipelineConfig& c) { c.logger_batch = 0; }},
      {"beat_burst", [](oa::PipelineConfig& c) { c.beat_burst = 0; }},
      {"values_per_beat", [](oa::PipelineConfig& c) { c.values_per_beat = 0; }},
      {"capacity", [](oa::PipelineConfig& c) { c.capacity = 0; }},
      {"capacity", [](oa::PipelineConfig& c) { c.capacity = (std::size_t{1} << 30) + 1; }},
      {"rate", [](oa::PipelineConfig& c) { c.rate = std::chrono::milliseconds(-1); }},
      {"telemetry_period", [](oa::PipelineConfig& c) { c.telemetry_period = std::chrono::milliseconds(-1); }},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.field);
    oa::PipelineConfig c;
    b.change(c);
    const std::string why = c.validate();
    CHECK(why.find(b.field) != std::string::npos);
    CHECK_THROWS_AS(oa::Pipeline(c), std::invalid_argument);
  }
}

// ---- stress -------------------------------------------------------------------------------

namespace {

constexpr std::size_t kChains = 8;
constexpr std::uint64_t kChainShift = 40;

struct StressStats {
  std::array<std::atomic<std::uint64_t>, kChains> sent{};
  std::array<std::atomic<std::uint64_t>, kChains> sent_sum{};
  std::array<std::atomic<std::uint64_t>, kChains> received{};
  std::array<std::atomic<std::uint64_t>, kChains> received_sum{};
  std::atomic<std::uint64_t> out_of_order{0};
  std::atomic<std::uint64_t> faults{0};
};

struct SourceState {
  std::uint64_t chain = 0;
  std::uint64_t next = 0;
  std::uint64_t sum = 0;
  std::uint64_t fault_every = 0;  // 0: never throws
  std::uint64_t next_fault = 0;
  std::mt19937 rng;
  std::shared_ptr<StressStats> stats;
};

auto source_behavior(oa::Tx<std::uint64_t> tx) {
  return [tx = std::move(tx)](oa::Context& ctx, SourceState& s) mutable -> oa::Behavior {
    std::vector<std::uint64_t> batch(300);
    while (ctx.is_running()) {
      const std::size_t want = 1 + s.rng() % batch.size();
      co_await ctx.wait_for_all(tx.vacant(want));
      if (s.fault_every != 0 && s.next >= s.next_fault) {
        s.next_fault = s.next + s.fault_every;
        s.stats->faults.fetch_add(1);
        throw std::runtime_error("source fault");
      }
      std::size_t n = 0;
      if (s.rng() % 4 == 0) {
        for (; n < want; ++n) {
          if (!tx.try_send((s.chain << kChainShift) | (s.next + n))) break;
        }
      } else {
        for (std::size_t i = 0; i < want; ++i) batch[i] = (s.chain << kChainShift) | (s.next + i);
        n = tx.send_slice_until_full(std::span<const std::uint64_t>(batch.data(), want));
      }
      for (std::size_t i = 0; i < n; ++i) s.sum += (s.chain << kChainShift) | (s.next + i);
      s.next += n;
      s.stats->sent[s.chain].store(s.next);
      s.stats->sent_sum[s.chain].store(s.sum);
    }
  };
}

struct RelayState {
  std::uint64_t moved = 0;
  std::uint64_t fault_every = 0;
  std::uint64_t next_fault = 0;
  std::mt19937 rng;
  std::shared_ptr<StressStats> stats;
};

// Forwards what fits downstream; peeks first, so a throw loses and repeats nothing.
auto relay_behavior(oa::Rx<std::uint64_t> rx, oa::Tx<std::uint64_t> tx) {
  return [rx = std::move(rx), tx = std::move(tx)](oa::Context& ctx, RelayState& s) mutable -> oa::Behavior {
    std::vector<std::uint64_t> buf(512);
    while (ctx.is_running(rx)) {
      co_await ctx.wait_for_all(rx.avail(1), tx.vacant(1));
      const std::size_t n = rx.peek_slice(std::span<std::uint64_t>(buf.data(), 1 + s.rng() % buf.size()));
      if (n > 0 && s.fault_every != 0 && s.moved >= s.next_fault) {
        s.next_fault = s.moved + s.fault_every;
        s.stats->faults.fetch_add(1);
        throw std::runtime_error("relay fault");
      }
      const std::size_t m = tx.send_slice_until_full(std::span<const std::uint64_t>(buf.data(), n));
      rx.advance(m);
      s.moved += m;
      if (m == 0) co_await omega::checkpoint();
    }
  };
}

// Two inputs into one output, whichever has items.
auto merge_behavior(oa::Rx<std::uint64_t> a, oa::Rx<std::uint64_t> b, oa::Tx<std::uint64_t> tx) {
  return [a = std::move(a), b = std::move(b), tx = std::move(tx)](oa::Context& ctx, RelayState& s) mutable -> oa::Behavior {
    std::vector<std::uint64_t> buf(256);
    while (ctx.is_running(a, b)) {
      co_await ctx.wait_for_any(a.avail(1), b.avail(1));
      co_await ctx.wait_for_all(tx.vacant(1));
      for (oa::Rx<std::uint64_t>* in : {&a, &b}) {
        const std::size_t n = in->peek_slice(std::span<std::uint64_t>(buf.data(), 1 + s.rng() % buf.size()));
        const std::size_t m = tx.send_slice_until_full(std::span<const std::uint64_t>(buf.data(), n));
        in->advance(m);
        s.moved += m;
      }
      co_await omega::checkpoint();
    }
  };
}

struct SinkState {
  std::array<std::uint64_t, kChains> expected{};
  std::uint64_t fault_every = 0;
  std::uint64_t taken = 0;
  std::uint64_t next_fault = 0;
  std::mt19937 rng;
  std::shared_ptr<StressStats> stats;
};

auto sink_behavior(oa::Rx<std::uint64_t> rx) {
  return [rx = std::move(rx)](oa::Context& ctx, SinkState& s) mutable -> oa::Behavior {
    std::vector<std::uint64_t> buf(700);
    while (ctx.is_running(rx)) {
      co_await ctx.wait_for_all(rx.avail(1));
      const std::size_t n = rx.peek_slice(std::span<std::uint64_t>(buf.data(), 1 + s.rng() % buf.size()));
      if (n > 0 && s.fault_every != 0 && s.taken >= s.next_fault) {
        s.next_fault = s.taken + s.fault_every;
        s.stats->faults.fetch_add(1);
        throw std::runtime_error("sink fault");
      }
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t chain = buf[i] >> kChainShift;
        const std::uint64_t seq = buf[i] & ((std::uint64_t{1} << kChainShift) - 1);
        if (chain >= kChains || seq != s.expected[chain]) {
          s.stats->out_of_order.fetch_add(1);
          continue;
        }
        ++s.expected[chain];
        s.stats->received[chain].fetch_add(1, std::memory_order_relaxed);
        s.stats->received_sum[chain].fetch_add(buf[i], std::memory_order_relaxed);
      }
      s.taken += n;
      rx.advance(n);
    }
  };
}

}  // namespace

TEST_CASE("stress: many actors in teams and threads, chained by channels, restarting, shut down mid-traffic",
          "[actor_stress]") {
  // Per sink before shutdown (the chain through capacities 1, 2 and 3 is the slowest).
  const std::uint64_t target = omega::kHasThreads ? 10'000 : 2'000;
  const auto budget = kSanitized ? 20s : (omega::kHasThreads ? 4s : 10s);
  auto stats = std::make_shared<StressStats>();
  auto g = quiet()
               .with_restart_policy(oa::RestartPolicy{.max_restarts = 1'000'000, .window = std::chrono::milliseconds(1000)})
               .build();
  std::vector<oa::Team> teams{g.team("t0"), g.team("t1"), g.team("t2")};
  std::size_t placed = 0;
  auto where = [&]() -> oa::Threading {
    const std::size_t k = placed++ % 5;
    return k == 4 ? oa::Threading::Spawn : oa::Threading::Join(teams[k % teams.size()]);
  };
  const std::size_t caps[] = {1, 2, 3, 7, 8, 16, 64, 100, 257, 1024};
  std::size_t channels = 0;
  std::vector<oa::detail::ChannelCore*> cores;
  auto channel = [&] {
    auto ch = g.channel<std::uint64_t>("c" + std::to_string(channels), caps[channels % std::size(caps)]);
    ++channels;
    cores.push_back(ch.first.core());
    return ch;
  };
  std::vector<oa::ActorRef> refs;
  std::uint32_t seed = 1;
  auto source = [&](std::uint64_t chain, oa::Tx<std::uint64_t> tx, std::uint64_t fault_every) {
    SourceState s;
    s.chain = chain;
    s.fault_every = fault_every;
    s.next_fault = fault_every;
    s.rng.seed(seed++);
    s.stats = stats;
    refs.push_back(g.actor("source" + std::to_string(chain), where(), std::move(s), source_behavior(std::move(tx))));
  };
  auto relay_state = [&](std::uint64_t fault_every) {
    RelayState s;
    s.fault_every = fault_every;
    s.next_fault = fault_every;
    s.rng.seed(seed++);
    s.stats = stats;
    return s;
  };
  std::vector<std::size_t> sinks;  // indices into refs
  auto sink = [&](const std::string& name, oa::Rx<std::uint64_t> rx, std::uint64_t fault_every) {
    SinkState s;
    s.fault_every = fault_every;
    s.next_fault = fault_every;
    s.rng.seed(seed++);
    s.stats = stats;
    sinks.push_back(refs.size());
    refs.push_back(g.actor(name, where(), std::move(s), sink_behavior(std::move(rx))));
  };

  // Chains 0-3: source -> relay -> relay -> sink.
  for (std::uint64_t c = 0; c < 4; ++c) {
    auto a = channel();
    auto b = channel();
    auto d = channel();
    source(c, std::move(a.first), c == 0 ? 7'001 : 0);
    refs.push_back(g.actor("relay" + std::to_string(c) + "a", where(), relay_state(c % 2 == 0 ? 3'001 : 0),
                           relay_behavior(std::move(a.second), std::move(b.first))));
    refs.push_back(g.actor("relay" + std::to_string(c) + "b", where(), relay_state(c == 3 ? 4'999 : 0),
                           relay_behavior(std::move(b.second), std::move(d.first))));
    sink("sink" + std::to_string(c), std::move(d.second), c == 1 ? 5'003 : 0);
  }
  // Chains 4-5: two sources -> a relay each -> merge -> sink.
  {
    auto a4 = channel();
    auto a5 = channel();
    auto b4 = channel();
    auto b5 = channel();
    auto m = channel();
    source(4, std::move(a4.first), 0);
    source(5, std::move(a5.first), 9'001);
    refs.push_back(g.actor("relay4", where(), relay_state(2'003), relay_behavior(std::move(a4.second), std::move(b4.first))));
    refs.push_back(g.actor("relay5", where(), relay_state(0), relay_behavior(std::move(a5.second), std::move(b5.first))));
    refs.push_back(g.actor("merge45", where(), relay_state(0),
                           merge_behavior(std::move(b4.second), std::move(b5.second), std::move(m.first))));
    sink("sink45", std::move(m.second), 6'007);
  }
  // Chains 6-7: two sources -> merge -> relay -> sink.
  {
    auto a6 = channel();
    auto a7 = channel();
    auto m = channel();
    auto r = channel();
    source(6, std::move(a6.first), 0);
    source(7, std::move(a7.first), 0);
    refs.push_back(g.actor("merge67", where(), relay_state(0),
                           merge_behavior(std::move(a6.second), std::move(a7.second), std::move(m.first))));
    refs.push_back(g.actor("relay67", where(), relay_state(1'009), relay_behavior(std::move(m.second), std::move(r.first))));
    sink("sink67", std::move(r.second), 0);
  }
  CHECK(g.actor_count() == refs.size());
  CHECK(refs.size() >= 24);

  g.start();
  auto sink_min = [&] {
    std::uint64_t per_sink[6] = {};
    for (std::size_t c = 0; c < kChains; ++c) {
      const std::size_t s = c < 4 ? c : (c < 6 ? 4 : 5);
      per_sink[s] += stats->received[c].load();
    }
    return *std::min_element(std::begin(per_sink), std::end(per_sink));
  };
  const bool reached = eventually(g, [&] { return sink_min() >= target; }, std::chrono::duration_cast<std::chrono::milliseconds>(budget));
  g.request_shutdown();  // mid-traffic: every source is still sending
  REQUIRE(g.block_until_stopped(60s));
  CAPTURE(sink_min(), target);
  CHECK(sink_min() > 0);  // every path moved data
  if (!reached) WARN("the sinks had not all reached " << target << " items when the time ran out (least: " << sink_min() << ")");

  CHECK(stats->out_of_order.load() == 0);
  std::uint64_t total = 0;
  for (std::size_t c = 0; c < kChains; ++c) {
    CAPTURE(c);
    CHECK(stats->received[c].load() == stats->sent[c].load());
    CHECK(stats->received_sum[c].load() == stats->sent_sum[c].load());
    total += stats->received[c].load();
  }
  std::uint64_t restarts = 0;
  for (const auto& r : refs) {
    CAPTURE(r.name());
    CHECK(r.state() == ActorState::Stopped);
    restarts += r.restarts();
  }
  CHECK(restarts == stats->faults.load());
  INFO("delivered " << total << " items, " << restarts << " restarts");
  CHECK(total > 0);
  if (total >= 8 * 10'000) CHECK(restarts > 0);
  for (auto* core : cores) {
    CAPTURE(core->name());
    const oa::ChannelCounters c = core->counters();
    CHECK(c.sent == c.taken);
    CHECK(c.dropped_newest + c.dropped_oldest + c.refused == 0);
    CHECK(core->tx_closed());
  }
}
