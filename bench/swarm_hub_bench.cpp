#include "swarm_hub_bench.hpp"

#include <omega/base/config.hpp>
#include <omega/swarm/hub.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "bench_util.hpp"

namespace omega::bench {

namespace {

namespace os = omega::swarm;

constexpr std::size_t kPayload = 16;

std::vector<os::AgentId> ids_for(std::uint32_t n) {
  std::vector<os::AgentId> ids;
  for (std::uint32_t v = 1; v <= n; ++v) ids.push_back(os::AgentId{v});
  return ids;
}

// The receiver of sender `i`'s message in round `round`: every other agent in turn, so the
// traffic covers all pairs evenly and nobody sends to itself.
std::size_t peer(std::size_t i, std::uint64_t round, std::size_t n) {
  return (i + 1 + static_cast<std::size_t>(round % (n - 1))) % n;
}

// Messages per second through the hub: rounds of one send per agent, then every agent drains.
double hub_p2p_once(os::SwarmTopology topology, std::uint32_t agents, std::uint64_t messages) {
  os::CommunicationHub hub({.topology = topology, .channel_capacity = 1024, .replay_capacity = 64});
  const auto ids = ids_for(agents);
  for (auto id : ids) (void)hub.add_agent(id);
  std::vector<std::byte> payload(kPayload, std::byte{1});
  std::vector<os::Message> in;
  in.reserve(agents);
  std::uint64_t received = 0;
  const auto rounds_from = [&](std::uint64_t first, std::uint64_t count) {
    for (std::uint64_t r = first; r < first + count; ++r) {
      for (std::size_t i = 0; i < ids.size(); ++i) {
        if (!hub.send(ids[i], ids[peer(i, r, ids.size())], 1, payload, static_cast<std::int64_t>(r))) {
          throw std::runtime_error("swarm_hub_bench: a send was refused");
        }
      }
      for (auto id : ids) {
        in.clear();
        received += hub.receive(id, in);
        // Acknowledging is part of the work an agent does with each batch.
        if (!in.empty()) hub.ack(id, in.back());
      }
    }
  };
  // Steady state: every channel exists before the clock starts (one round per peer).
  rounds_from(0, agents - 1);
  received = 0;
  const std::uint64_t rounds = std::max<std::uint64_t>(1, messages / agents);
  const double ns = time_ns([&] { rounds_from(agents - 1, rounds); });
  if (received != rounds * agents) throw std::runtime_error("swarm_hub_bench: messages went missing");
  return static_cast<double>(received) / (ns * 1e-9);
}

// The baseline: the same messages, built the same way, through one std::mutex + std::deque
// per receiver.
double baseline_once(std::uint32_t agents, std::uint64_t messages) {
  struct Queue {
    std::mutex mutex;
    std::deque<os::Message> items;
  };
  std::vector<std::unique_ptr<Queue>> queues;
  for (std::uint32_t i = 0; i < agents; ++i) queues.push_back(std::make_unique<Queue>());
  const auto ids = ids_for(agents);
  std::vector<std::byte> payload(kPayload, std::byte{1});
  std::vector<os::Message> in;
  in.reserve(agents);
  const std::uint64_t rounds = std::max<std::uint64_t>(1, messages / agents);
  std::uint64_t received = 0;
  const double ns = time_ns([&] {
    for (std::uint64_t r = 0; r < rounds; ++r) {
      for (std::size_t i = 0; i < ids.size(); ++i) {
        const std::size_t to = peer(i, r, ids.size());
        Queue& q = *queues[to];
        std::lock_guard lock(q.mutex);
        q.items.push_back(os::Message{.from = ids[i],
                                      .to = ids[to],
                                      .kind = 1,
                                      .seq = r + 1,
                                      .sent_ns = static_cast<std::int64_t>(r),
                                      .hops = 1,
                                      .group = {},
                                      .payload = std::vector<std::byte>(payload.begin(), payload.end())});
      }
      for (auto& q : queues) {
        in.clear();
        std::lock_guard lock(q->mutex);
        while (!q->items.empty()) {
          in.push_back(std::move(q->items.front()));
          q->items.pop_front();
        }
        received += in.size();
      }
    }
  });
  keep(received);
  return static_cast<double>(received) / (ns * 1e-9);
}

// Broadcast copies delivered per second: each round one agent (in turn) to a group of every
// agent, then every agent drains. The first round per sender creates its channels.
double broadcast_once(std::uint32_t agents, std::uint64_t messages) {
  os::CommunicationHub hub({.topology = os::SwarmTopology::Mesh, .channel_capacity = 1024, .replay_capacity = 64});
  const auto ids = ids_for(agents);
  for (auto id : ids) {
    (void)hub.add_agent(id);
    (void)hub.join("all", id);
  }
  std::vector<std::byte> payload(kPayload, std::byte{2});
  std::vector<os::Message> in;
  const std::uint64_t rounds = std::max<std::uint64_t>(1, messages / (agents - 1));
  std::uint64_t received = 0;
  const double ns = time_ns([&] {
    for (std::uint64_t r = 0; r < rounds; ++r) {
      const auto sent = hub.broadcast("all", ids[r % ids.size()], 2, payload, static_cast<std::int64_t>(r));
      if (!sent || *sent != agents - 1) throw std::runtime_error("swarm_hub_bench: a broadcast copy was refused");
      for (auto id : ids) {
        in.clear();
        received += hub.receive(id, in);
        if (!in.empty()) hub.ack(id, in.back());
      }
    }
  });
  return static_cast<double>(received) / (ns * 1e-9);
}

// One sender thread, the receiver on this one; channel capacity 1024, retries on Backpressure.
double threaded_once(std::uint64_t messages) {
  os::CommunicationHub hub({.topology = os::SwarmTopology::Mesh, .channel_capacity = 1024, .replay_capacity = 64});
  const os::AgentId tx{1};
  const os::AgentId rx{2};
  (void)hub.add_agent(tx);
  (void)hub.add_agent(rx);
  std::vector<std::byte> payload(kPayload, std::byte{3});
  std::uint64_t received = 0;
  const double ns = time_ns([&] {
    std::thread sender([&] {
      for (std::uint64_t i = 0; i < messages;) {
        if (hub.send(tx, rx, 3, payload, static_cast<std::int64_t>(i))) {
          ++i;
        } else {
          std::this_thread::yield();
        }
      }
    });
    std::vector<os::Message> in;
    in.reserve(256);
    while (received < messages) {
      in.clear();
      const std::size_t n = hub.receive(rx, in, 256);
      if (n == 0) {
        std::this_thread::yield();
        continue;
      }
      hub.ack(rx, in.back());
      received += n;
    }
    sender.join();
  });
  return static_cast<double>(received) / (ns * 1e-9);
}

}  // namespace

SwarmHubFigures run_swarm_hub_bench(const SwarmHubBenchOptions& options) {
  if (options.agents < 2) throw std::invalid_argument("swarm_hub_bench: at least 2 agents");
  const std::uint32_t n = options.agents;
  const std::uint64_t m = options.messages;
  const int runs = std::max(1, options.runs);
  SwarmHubFigures f;
  std::printf("swarm hub: %u agents, %zu-byte payloads, messages/s (median of %d; load %s)\n", n, kPayload, runs,
              load_average().c_str());

  const Stat base = repeat(runs, [&] { return baseline_once(n, m); });
  const Stat p2p = repeat(runs, [&] { return hub_p2p_once(os::SwarmTopology::Mesh, n, m); });
  f.baseline_per_s = base.median;
  f.p2p_per_s = p2p.median;
  std::printf("  %-44s %12.0f msg/s (min %.0f, max %.0f)\n", "baseline: std::mutex + std::deque per receiver",
              base.median, base.min, base.max);
  std::printf("  %-44s %12.0f msg/s (min %.0f, max %.0f)  x%.2f of baseline\n", "hub point to point (Mesh), send+receive",
              p2p.median, p2p.min, p2p.max, p2p.median / base.median);

  const Stat bc = repeat(runs, [&] { return broadcast_once(n, m); });
  f.broadcast_copies_per_s = bc.median;
  std::printf("  %-44s %12.0f copies/s (min %.0f, max %.0f)  x%.2f of baseline\n", "hub broadcast to all, copies delivered",
              bc.median, bc.min, bc.max, bc.median / base.median);

  std::printf("  per topology: mean / largest hops over all %u x %u ordered pairs; point to point rate\n", n, n - 1);
  for (os::SwarmTopology t : {os::SwarmTopology::Mesh, os::SwarmTopology::Star, os::SwarmTopology::Centralized,
                              os::SwarmTopology::Ring, os::SwarmTopology::Hierarchical}) {
    os::CommunicationHub hub({.topology = t});
    const auto ids = ids_for(n);
    for (auto id : ids) (void)hub.add_agent(id);
    std::uint64_t hops = 0;
    std::uint64_t pairs = 0;
    std::uint32_t largest = 0;
    for (auto a : ids) {
      for (auto b : ids) {
        if (a == b) continue;
        const auto path = hub.route(a, b);
        const auto h = static_cast<std::uint32_t>(path.size() - 1);
        hops += h;
        largest = std::max(largest, h);
        ++pairs;
      }
    }
    const Stat rate = repeat(runs, [&] { return hub_p2p_once(t, n, m); });
    SwarmHubFigures::Topology row{t, static_cast<double>(hops) / static_cast<double>(pairs), largest, rate.median};
    f.topologies.push_back(row);
    const std::string name = std::string(os::to_string(t)) + (t == os::SwarmTopology::Hierarchical ? " (fan-out 4)" : "");
    std::printf("    %-26s mean %6.2f hops, largest %3u   %12.0f msg/s  x%.2f of baseline\n", name.c_str(),
                row.mean_hops, row.max_hops, row.messages_per_s, row.messages_per_s / base.median);
  }

  if constexpr (omega::kHasThreads) {
    const Stat th = repeat(runs, [&] { return threaded_once(m); });
    f.threaded_per_s = th.median;
    std::printf("  %-44s %12.0f msg/s (min %.0f, max %.0f)\n", "hub, one sender thread -> one receiver thread",
                th.median, th.min, th.max);
  } else {
    std::printf("  %-44s skipped: no threads in this build\n", "hub, one sender thread -> one receiver thread");
  }
  return f;
}

}  // namespace omega::bench
