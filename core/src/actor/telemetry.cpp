// Telemetry frames: sampled from counters the actors and channels keep anyway (so taking a
// frame costs the hot paths nothing), rendered as JSON, Prometheus text (through
// MetricsSnapshot, the house's one exposition writer) and Graphviz DOT.
#include <algorithm>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include <omega/base/clock.hpp>

#include "actor/graph.hpp"

namespace omega::actor {
namespace detail {

namespace {
std::string owner_name(const ActorRecord* a) {
  if (a == nullptr) return {};
  if (a == external_owner()) return "(outside)";
  return a->name;
}
}  // namespace

Telemetry GraphImpl::sample_now(const Telemetry* previous) const {
  Telemetry t;
  t.at_ns = now_ns();
  t.seq = previous != nullptr ? previous->seq + 1 : 1;
  const std::int64_t since = previous != nullptr ? previous->at_ns : started_ns;
  const double dt = started.load() && t.at_ns > since ? static_cast<double>(t.at_ns - since) / 1e9 : 0.0;
  t.period_s = dt;
  t.shutting_down = shutdown.load(std::memory_order_acquire);
  t.stopped = started.load() && live.load(std::memory_order_acquire) == 0;
  const bool aligned = previous != nullptr && previous->actors.size() == actors.size() &&
                       previous->channels.size() == channels.size();

  t.actors.reserve(actors.size());
  for (std::size_t i = 0; i < actors.size(); ++i) {
    const ActorRecord& a = *actors[i];
    ActorTelemetry x;
    x.name = a.name;
    x.team = a.team.name;
    x.own_thread = a.own_thread;
    x.state = a.state.load(std::memory_order_acquire);
    x.tier = a.tier.load(std::memory_order_relaxed);
    x.polls = a.polls.load(std::memory_order_relaxed);
    x.cpu_ns = a.cpu_ns.load(std::memory_order_relaxed);
    x.restarts = a.restarts.load(std::memory_order_relaxed);
    x.wakes = a.wakes.load(std::memory_order_relaxed);
    if (dt > 0) {
      const std::uint64_t before = aligned ? previous->actors[i].cpu_ns : 0;
      x.cpu_percent = x.cpu_ns >= before ? static_cast<double>(x.cpu_ns - before) / (dt * 1e9) * 100.0 : 0.0;
    }
    t.actors.push_back(std::move(x));
  }

  t.channels.reserve(channels.size());
  for (std::size_t i = 0; i < channels.size(); ++i) {
    ChannelCore& c = *channels[i];
    ChannelTelemetry x;
    x.name = c.name();
    x.from = owner_name(c.tx_owner());
    x.to = owner_name(c.rx_owner());
    x.capacity = c.capacity();
    x.len = c.len();
    x.fill_percent = x.capacity > 0 ? static_cast<double>(x.len) * 100.0 / static_cast<double>(x.capacity) : 0.0;
    x.overflow = c.overflow();
    x.counters = c.counters();
    x.closed = c.tx_closed();
    if (dt > 0) {
      const std::uint64_t before = aligned ? previous->channels[i].counters.taken : 0;
      x.msgs_per_sec = x.counters.taken >= before ? static_cast<double>(x.counters.taken - before) / dt : 0.0;
      if (x.msgs_per_sec > 0) x.latency_ms = static_cast<double>(x.len) / x.msgs_per_sec * 1000.0;
    }
    t.channels.push_back(std::move(x));
  }
  return t;
}

}  // namespace detail

const ActorTelemetry* Telemetry::actor(std::string_view name) const noexcept {
  for (const auto& a : actors) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

const ChannelTelemetry* Telemetry::channel(std::string_view name) const noexcept {
  for (const auto& c : channels) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string Telemetry::to_json() const {
  using nlohmann::json;
  json j;
  j["seq"] = seq;
  j["at_ns"] = at_ns;
  j["period_s"] = period_s;
  j["shutting_down"] = shutting_down;
  j["stopped"] = stopped;
  json as = json::array();
  for (const auto& a : actors) {
    as.push_back(json{{"name", a.name},
                      {"team", a.team},
                      {"own_thread", a.own_thread},
                      {"state", std::string(to_string(a.state))},
                      {"tier", std::string(omega::to_string(a.tier))},
                      {"polls", a.polls},
                      {"cpu_ns", a.cpu_ns},
                      {"cpu_percent", a.cpu_percent},
                      {"restarts", a.restarts},
                      {"wakes", a.wakes}});
  }
  j["actors"] = std::move(as);
  json cs = json::array();
  for (const auto& c : channels) {
    cs.push_back(json{{"name", c.name},
                      {"from", c.from},
                      {"to", c.to},
                      {"capacity", c.capacity},
                      {"len", c.len},
                      {"fill_percent", c.fill_percent},
                      {"msgs_per_sec", c.msgs_per_sec},
                      {"latency_ms", c.latency_ms},
                      {"overflow", std::string(to_string(c.overflow))},
                      {"sent", c.counters.sent},
                      {"taken", c.counters.taken},
                      {"dropped_newest", c.counters.dropped_newest},
                      {"dropped_oldest", c.counters.dropped_oldest},
                      {"refused", c.counters.refused},
                      {"full", c.counters.full},
                      {"closed", c.closed}});
  }
  j["channels"] = std::move(cs);
  return j.dump();
}

MetricsSnapshot Telemetry::to_metrics() const {
  MetricsSnapshot m;
  for (const auto& a : actors) {
    const MetricLabels l{{"actor", a.name}, {"team", a.team}};
    (void)m.add_counter("omega_actor_polls_total", "Polls of the actor's behaviour", l, a.polls);
    (void)m.add_gauge("omega_actor_busy_seconds", "Time spent in the actor's polls since the graph started", l,
                      static_cast<double>(a.cpu_ns) / 1e9);
    (void)m.add_gauge("omega_actor_cpu_percent", "Share of one core over the last telemetry period", l, a.cpu_percent);
    (void)m.add_counter("omega_actor_restarts_total", "Restarts by the actor's supervisor", l, a.restarts);
    (void)m.add_counter("omega_actor_wakes_total", "Times the actor was woken from a wait", l, a.wakes);
    (void)m.add_gauge("omega_actor_state", "0 Starting, 1 Running, 2 Waiting, 3 BackingOff, 4 Stopped, 5 Failed", l,
                      static_cast<double>(static_cast<int>(a.state)));
    (void)m.add_gauge("omega_actor_tier", "Pulse tier: 0 Monitor, 1 Warn, 2 Yield, 3 Isolate", l,
                      static_cast<double>(static_cast<int>(a.tier)));
  }
  for (const auto& c : channels) {
    const MetricLabels l{{"channel", c.name}, {"from", c.from}, {"to", c.to}};
    (void)m.add_gauge("omega_channel_capacity", "Items the channel can hold", l, static_cast<double>(c.capacity));
    (void)m.add_gauge("omega_channel_len", "Items in the channel", l, static_cast<double>(c.len));
    (void)m.add_gauge("omega_channel_fill_ratio", "len / capacity", l, c.fill_percent / 100.0);
    (void)m.add_gauge("omega_channel_rate", "Items taken per second over the last telemetry period", l, c.msgs_per_sec);
    (void)m.add_gauge("omega_channel_latency_seconds", "Time an item waits in the channel (Little's law)", l,
                      c.latency_ms / 1000.0);
    (void)m.add_counter("omega_channel_sent_total", "Items that went into the channel", l, c.counters.sent);
    (void)m.add_counter("omega_channel_taken_total", "Items the receiver took", l, c.counters.taken);
    (void)m.add_counter("omega_channel_dropped_total", "Items discarded by the overflow policy",
                        MetricLabels{{"channel", c.name}, {"from", c.from}, {"to", c.to}, {"which", "newest"}},
                        c.counters.dropped_newest);
    (void)m.add_counter("omega_channel_dropped_total", "Items discarded by the overflow policy",
                        MetricLabels{{"channel", c.name}, {"from", c.from}, {"to", c.to}, {"which", "oldest"}},
                        c.counters.dropped_oldest);
    (void)m.add_counter("omega_channel_refused_total", "Sends refused (Fail policy, or the channel closed)", l,
                        c.counters.refused);
    (void)m.add_counter("omega_channel_full_total", "Sends that found the channel full (Block policy)", l,
                        c.counters.full);
  }
  return m;
}

std::string Telemetry::to_prometheus() const { return to_metrics().to_prometheus(); }

namespace {
// A DOT string: quotes and backslashes escaped, line breaks as DOT's \n.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
std::string rate_text(double per_sec) {
  char buf[32];
  if (per_sec >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.1fM/s", per_sec / 1e6);
  } else if (per_sec >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.1fk/s", per_sec / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f/s", per_sec);
  }
  return buf;
}
}  // namespace

std::string Telemetry::to_dot() const {
  std::string out = "digraph omega_actors {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n";
  // Actors clustered by team (a spawned actor's team holds it alone).
  std::vector<std::string> teams;
  for (const auto& a : actors) {
    if (std::find(teams.begin(), teams.end(), a.team) == teams.end()) teams.push_back(a.team);
  }
  for (std::size_t i = 0; i < teams.size(); ++i) {
    out += "  subgraph cluster_" + std::to_string(i) + " {\n    label=" + quoted("team " + teams[i]) + ";\n";
    for (const auto& a : actors) {
      if (a.team != teams[i]) continue;
      char buf[96];
      std::snprintf(buf, sizeof buf, "\n%s, cpu %.0f%%, restarts %llu", std::string(to_string(a.state)).c_str(),
                    a.cpu_percent, static_cast<unsigned long long>(a.restarts));
      out += "    " + quoted(a.name) + " [label=" + quoted(a.name + buf) + "];\n";
    }
    out += "  }\n";
  }
  for (const auto& c : channels) {
    const std::string from = c.from.empty() ? "?" + c.name + "_in" : c.from;
    const std::string to = c.to.empty() ? "?" + c.name + "_out" : c.to;
    const char* colour = c.fill_percent >= 80 ? "red" : c.fill_percent >= 40 ? "orange" : "green";
    char fill[32];
    std::snprintf(fill, sizeof fill, "%.0f%%", c.fill_percent);
    out += "  " + quoted(from) + " -> " + quoted(to) + " [label=" +
           quoted(c.name + "\n" + rate_text(c.msgs_per_sec) + ", fill " + fill) + ", color=" + colour + "];\n";
  }
  out += "}\n";
  return out;
}

}  // namespace omega::actor
