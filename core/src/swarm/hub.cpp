// CommunicationHub: the contract and the choices made where it leaves room are in
// omega/swarm/hub.hpp. Locking: table_mutex (membership, liveness, cuts, groups) is held
// shared by every send, receive and ack and exclusively by changes to the table; under it,
// one receiver's Inbox mutex at a time. The drop generator has its own mutex, taken only
// while a drop probability is set.
#include <omega/swarm/hub.hpp>

#include <omega/base/rng.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace omega::swarm {

std::string HubConfig::validate() const {
  if (channel_capacity == 0) return "channel_capacity must be at least 1";
  if (fanout == 0) return "fanout must be at least 1";
  return {};
}

namespace {

// A FIFO on a power-of-two ring that allocates nothing until its first push (a full mesh of
// 256 agents has 65,280 channels, each with a queue and a log: std::deque's eager first
// block would cost ~1 KiB per channel before any traffic). Popped slots are reset, so the
// payload's memory goes back at once.
template <class T>
class RingQueue {
 public:
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  T& front() noexcept { return slots_[head_]; }
  const T& front() const noexcept { return slots_[head_]; }
  const T& operator[](std::size_t i) const noexcept { return slots_[(head_ + i) & (slots_.size() - 1)]; }
  void push_back(T value) {
    if (size_ == slots_.size()) grow();
    slots_[(head_ + size_) & (slots_.size() - 1)] = std::move(value);
    ++size_;
  }
  void pop_front() {
    slots_[head_] = T{};
    head_ = (head_ + 1) & (slots_.size() - 1);
    --size_;
  }
  void clear() {
    while (!empty()) pop_front();
    head_ = 0;
  }

 private:
  void grow() {
    std::vector<T> bigger(std::max<std::size_t>(4, slots_.size() * 2));
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move(slots_[(head_ + i) & (slots_.size() - 1)]);
    slots_ = std::move(bigger);
    head_ = 0;
  }
  std::vector<T> slots_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

// One (sender, receiver) pair. Guarded by the receiver's Inbox mutex.
struct Channel {
  AgentId from;
  RingQueue<Message> queue;  // waiting to be received, in seq order
  RingQueue<Message> log;    // the last replay_capacity accepted messages past `acked`
  std::uint64_t next_seq = 1;
  std::uint64_t acked = 0;    // the receiver has handled every seq <= acked
  bool ready = false;         // listed in Inbox::ready
};

struct Inbox {
  std::mutex mutex;
  std::vector<std::unique_ptr<Channel>> channels;  // in creation order (restart replays in it)
  std::unordered_map<AgentId, Channel*> by_sender;
  // Channels with queued messages, served one message per turn: round robin over senders.
  std::deque<Channel*> ready;
  std::size_t queued = 0;
};

struct Agent {
  std::size_t index = 0;  // position in insertion order: ring slot and tree node
  bool alive = true;
  std::shared_ptr<Inbox> inbox;
};

std::pair<std::uint32_t, std::uint32_t> link_key(AgentId a, AgentId b) {
  return a.value < b.value ? std::pair{a.value, b.value} : std::pair{b.value, a.value};
}

struct Counters {
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> hops{0};
  std::atomic<std::uint64_t> broadcasts{0};
  std::atomic<std::uint64_t> refused_backpressure{0};
  std::atomic<std::uint64_t> refused_unreachable{0};
  std::atomic<std::uint64_t> dropped_fault{0};
  std::atomic<std::uint64_t> dropped_dead{0};
  std::atomic<std::uint64_t> dropped_removed{0};
  std::atomic<std::uint64_t> replayed{0};
  std::atomic<std::uint64_t> replay_gaps{0};
  std::atomic<std::int64_t> queued{0};
  std::atomic<std::int64_t> channels{0};
};

void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }

}  // namespace

struct CommunicationHub::Impl {
  explicit Impl(HubConfig c) : config(std::move(c)) {}

  const HubConfig config;

  // Membership, liveness, cuts, groups and the centre. Sends and receives hold it shared;
  // changes to any of it hold it exclusively, so a send sees one consistent topology.
  mutable std::shared_mutex table_mutex;
  std::unordered_map<AgentId, Agent> agents;
  std::vector<AgentId> order;  // insertion order
  std::vector<Agent*> slots;   // order's agents (map nodes do not move): routing reads them by index
  AgentId center_override;
  std::set<std::pair<std::uint32_t, std::uint32_t>> cuts;
  std::map<std::string, std::vector<AgentId>, std::less<>> groups;  // members in join order

  // The fault plan's generator: one draw per send that reaches the roll, in call order.
  std::mutex rng_mutex;
  FaultPlan faults;
  OmegaRng rng{1};
  std::atomic<bool> lossy{false};

  Counters counters;

  // --- routing (table_mutex held) ---

  [[nodiscard]] AgentId center() const {
    if (center_override.valid() && agents.contains(center_override)) return center_override;
    return order.empty() ? AgentId{} : order.front();
  }

  [[nodiscard]] bool alive_at(std::size_t index) const { return slots[index]->alive; }

  // Writes the path from `from` to `to` (both registered) into `path`; false when every path
  // needs a dead relay. The ends' own liveness is the caller's business.
  bool route_into(AgentId from, AgentId to, std::vector<AgentId>& path) const {
    path.clear();
    path.push_back(from);
    if (from == to) return true;
    switch (config.topology) {
      case SwarmTopology::Mesh:
        break;
      case SwarmTopology::Star:
      case SwarmTopology::Centralized: {
        const AgentId c = center();
        if (from != c && to != c) {
          if (!agents.at(c).alive) return false;
          path.push_back(c);
        }
        break;
      }
      case SwarmTopology::Ring: {
        const std::size_t n = order.size();
        const std::size_t i = agents.at(from).index;
        const std::size_t j = agents.at(to).index;
        const std::size_t forward = (j + n - i) % n;  // links going to the successor
        const std::size_t backward = n - forward;
        // The shorter direction first (ties go forward); a dead agent blocks its direction.
        const bool forward_first = forward <= backward;
        for (int attempt = 0; attempt < 2; ++attempt) {
          const bool go_forward = (attempt == 0) == forward_first;
          const std::size_t steps = go_forward ? forward : backward;
          path.resize(1);
          bool blocked = false;
          for (std::size_t s = 1; s < steps; ++s) {
            const std::size_t k = go_forward ? (i + s) % n : (i + n - s) % n;
            if (!alive_at(k)) {
              blocked = true;
              break;
            }
            path.push_back(order[k]);
          }
          if (!blocked) {
            path.push_back(to);
            return true;
          }
        }
        path.clear();
        return false;
      }
      case SwarmTopology::Hierarchical: {
        // Node i's parent is (i - 1) / fanout: up from `from` to the common ancestor (pushed
        // as the climb reaches it), then down to `to`.
        const std::size_t k = config.fanout;
        std::size_t a = agents.at(from).index;
        std::size_t b = agents.at(to).index;
        std::vector<std::size_t> down;  // b's side, from b upwards, excluding the ancestor
        while (a != b) {
          // The deeper (larger index) node climbs: parents have smaller indices.
          if (a > b) {
            a = (a - 1) / k;
            path.push_back(order[a]);
          } else {
            down.push_back(b);
            b = (b - 1) / k;
          }
        }
        for (auto it = down.rbegin(); it != down.rend(); ++it) path.push_back(order[*it]);
        // Paths are O(log n) long: a lookup per relay is cheap.
        for (std::size_t h = 1; h + 1 < path.size(); ++h) {
          if (!agents.at(path[h]).alive) {
            path.clear();
            return false;
          }
        }
        return true;
      }
    }
    path.push_back(to);
    return true;
  }

  [[nodiscard]] bool crosses_cut(const std::vector<AgentId>& path) const {
    if (cuts.empty()) return false;
    for (std::size_t h = 1; h < path.size(); ++h) {
      if (cuts.contains(link_key(path[h - 1], path[h]))) return true;
    }
    return false;
  }

  bool roll_drop() {
    if (!lossy.load(std::memory_order_relaxed)) return false;
    std::lock_guard lock(rng_mutex);
    return faults.drop_probability > 0 && rng.next_f64() < faults.drop_probability;
  }

  // --- inboxes (the inbox mutex held) ---

  void enqueue(Inbox& inbox, Channel& ch, Message m) {
    if (config.replay_capacity > 0) {
      ch.log.push_back(m);
      if (ch.log.size() > config.replay_capacity) ch.log.pop_front();
    }
    ch.queue.push_back(std::move(m));
    ++inbox.queued;
    counters.queued.fetch_add(1, std::memory_order_relaxed);
    if (!ch.ready) {
      ch.ready = true;
      inbox.ready.push_back(&ch);
    }
  }

  Channel& channel(Inbox& inbox, AgentId from) {
    auto it = inbox.by_sender.find(from);
    if (it != inbox.by_sender.end()) return *it->second;
    auto& ch = inbox.channels.emplace_back(std::make_unique<Channel>());
    ch->from = from;
    inbox.by_sender.emplace(from, ch.get());
    counters.channels.fetch_add(1, std::memory_order_relaxed);
    return *ch;
  }

  // One copy to one receiver, table_mutex held shared. `path` is scratch space.
  Result<void, SwarmError> send_locked(AgentId from, AgentId to, std::uint32_t kind, std::string_view group,
                                       std::span<const std::byte> payload, std::int64_t now_ns,
                                       std::vector<AgentId>& path, bool& entered) {
    entered = false;
    const auto to_it = agents.find(to);
    if (to_it == agents.end()) return Err(SwarmError::UnknownAgent);
    const Agent& sender = agents.at(from);
    if (!sender.alive) {
      bump(counters.dropped_dead);
      return {};
    }
    if (!route_into(from, to, path)) {
      bump(counters.refused_unreachable);
      return Err(SwarmError::Unreachable);
    }
    if (crosses_cut(path) || roll_drop()) {
      bump(counters.dropped_fault);
      return {};
    }
    const Agent& receiver = to_it->second;
    if (!receiver.alive) {
      bump(counters.dropped_dead);
      return {};
    }
    Inbox& inbox = *receiver.inbox;
    std::lock_guard lock(inbox.mutex);
    Channel& ch = channel(inbox, from);
    if (ch.queue.size() >= config.channel_capacity) {
      bump(counters.refused_backpressure);
      return Err(SwarmError::Backpressure);
    }
    const auto hops = static_cast<std::uint32_t>(path.size() - 1);
    Message m{.from = from,
              .to = to,
              .kind = kind,
              .seq = ch.next_seq++,
              .sent_ns = now_ns,
              .hops = hops,
              .group = std::string(group),
              .payload = std::vector<std::byte>(payload.begin(), payload.end())};
    enqueue(inbox, ch, std::move(m));
    bump(counters.sent);
    bump(counters.hops, hops);
    bump(counters.bytes, payload.size());
    entered = true;
    return {};
  }

  // Drops every queued message of `inbox` (its mutex held); returns how many.
  std::size_t clear_queues(Inbox& inbox) {
    std::size_t n = 0;
    for (auto& ch : inbox.channels) {
      n += ch->queue.size();
      ch->queue.clear();
      ch->ready = false;
    }
    inbox.ready.clear();
    inbox.queued = 0;
    counters.queued.fetch_sub(static_cast<std::int64_t>(n), std::memory_order_relaxed);
    return n;
  }
};

namespace {
thread_local std::vector<AgentId> t_path;  // route scratch: sends do not allocate a path each
}  // namespace

CommunicationHub::CommunicationHub(HubConfig config) {
  if (std::string why = config.validate(); !why.empty()) throw std::invalid_argument("HubConfig: " + why);
  impl_ = std::make_unique<Impl>(std::move(config));
}

CommunicationHub::~CommunicationHub() = default;

const HubConfig& CommunicationHub::config() const noexcept { return impl_->config; }

Result<void, SwarmError> CommunicationHub::add_agent(AgentId agent) {
  if (!agent.valid()) return Err(SwarmError::UnknownAgent);
  std::unique_lock lock(impl_->table_mutex);
  if (impl_->agents.contains(agent)) return Err(SwarmError::DuplicateAgent);
  auto [it, _] =
      impl_->agents.emplace(agent, Agent{.index = impl_->order.size(), .alive = true, .inbox = std::make_shared<Inbox>()});
  impl_->order.push_back(agent);
  impl_->slots.push_back(&it->second);
  return {};
}

void CommunicationHub::remove_agent(AgentId agent) {
  std::unique_lock lock(impl_->table_mutex);
  auto it = impl_->agents.find(agent);
  if (it == impl_->agents.end()) return;
  Impl& s = *impl_;
  {
    // Its own inbox: queued messages are lost, its channels go.
    Inbox& own = *it->second.inbox;
    std::lock_guard inbox_lock(own.mutex);
    bump(s.counters.dropped_removed, s.clear_queues(own));
    s.counters.channels.fetch_sub(static_cast<std::int64_t>(own.channels.size()), std::memory_order_relaxed);
  }
  // Its channels into every other inbox.
  for (auto& [id, other] : s.agents) {
    if (id == agent) continue;
    Inbox& inbox = *other.inbox;
    std::lock_guard inbox_lock(inbox.mutex);
    auto ch_it = inbox.by_sender.find(agent);
    if (ch_it == inbox.by_sender.end()) continue;
    Channel* ch = ch_it->second;
    const std::size_t lost = ch->queue.size();
    inbox.queued -= lost;
    s.counters.queued.fetch_sub(static_cast<std::int64_t>(lost), std::memory_order_relaxed);
    bump(s.counters.dropped_removed, lost);
    std::erase(inbox.ready, ch);
    inbox.by_sender.erase(ch_it);
    std::erase_if(inbox.channels, [ch](const std::unique_ptr<Channel>& c) { return c.get() == ch; });
    s.counters.channels.fetch_sub(1, std::memory_order_relaxed);
  }
  const std::size_t index = it->second.index;
  s.agents.erase(it);
  s.order.erase(s.order.begin() + static_cast<std::ptrdiff_t>(index));
  s.slots.erase(s.slots.begin() + static_cast<std::ptrdiff_t>(index));
  for (std::size_t i = index; i < s.slots.size(); ++i) s.slots[i]->index = i;
  if (s.center_override == agent) s.center_override = {};
  std::erase_if(s.cuts, [agent](const auto& link) { return link.first == agent.value || link.second == agent.value; });
  for (auto g = s.groups.begin(); g != s.groups.end();) {
    std::erase(g->second, agent);
    g = g->second.empty() ? s.groups.erase(g) : std::next(g);
  }
}

void CommunicationHub::set_center(AgentId agent) {
  std::unique_lock lock(impl_->table_mutex);
  if (impl_->agents.contains(agent)) impl_->center_override = agent;
}

AgentId CommunicationHub::center() const {
  std::shared_lock lock(impl_->table_mutex);
  return impl_->center();
}

Result<void, SwarmError> CommunicationHub::send(AgentId from, AgentId to, std::uint32_t kind,
                                                std::span<const std::byte> payload, std::int64_t now_ns) {
  std::shared_lock lock(impl_->table_mutex);
  if (!impl_->agents.contains(from)) return Err(SwarmError::UnknownAgent);
  bool entered = false;
  return impl_->send_locked(from, to, kind, {}, payload, now_ns, t_path, entered);
}

Result<void, SwarmError> CommunicationHub::join(std::string_view group, AgentId agent) {
  if (group.empty()) return Err(SwarmError::UnknownGroup);
  std::unique_lock lock(impl_->table_mutex);
  if (!impl_->agents.contains(agent)) return Err(SwarmError::UnknownAgent);
  auto it = impl_->groups.find(group);
  if (it == impl_->groups.end()) it = impl_->groups.emplace(std::string(group), std::vector<AgentId>{}).first;
  if (std::find(it->second.begin(), it->second.end(), agent) == it->second.end()) it->second.push_back(agent);
  return {};
}

void CommunicationHub::leave(std::string_view group, AgentId agent) {
  std::unique_lock lock(impl_->table_mutex);
  auto it = impl_->groups.find(group);
  if (it == impl_->groups.end()) return;
  std::erase(it->second, agent);
  if (it->second.empty()) impl_->groups.erase(it);
}

Result<std::size_t, SwarmError> CommunicationHub::broadcast(std::string_view group, AgentId from, std::uint32_t kind,
                                                            std::span<const std::byte> payload, std::int64_t now_ns) {
  std::shared_lock lock(impl_->table_mutex);
  const auto it = impl_->groups.find(group);
  if (group.empty() || it == impl_->groups.end()) return Err(SwarmError::UnknownGroup);
  if (!impl_->agents.contains(from)) return Err(SwarmError::UnknownAgent);
  bump(impl_->counters.broadcasts);
  std::size_t accepted = 0;
  for (AgentId member : it->second) {
    if (member == from) continue;
    bool entered = false;
    // A refused copy (Backpressure, Unreachable) is counted and does not stop the others.
    (void)impl_->send_locked(from, member, kind, group, payload, now_ns, t_path, entered);
    accepted += entered ? 1 : 0;
  }
  return accepted;
}

std::size_t CommunicationHub::receive(AgentId agent, std::vector<Message>& out, std::size_t max) {
  std::shared_lock lock(impl_->table_mutex);
  const auto it = impl_->agents.find(agent);
  if (it == impl_->agents.end() || !it->second.alive) return 0;
  Inbox& inbox = *it->second.inbox;
  std::lock_guard inbox_lock(inbox.mutex);
  std::size_t n = 0;
  while (n < max && !inbox.ready.empty()) {
    Channel* ch = inbox.ready.front();
    inbox.ready.pop_front();
    out.push_back(std::move(ch->queue.front()));
    ch->queue.pop_front();
    if (ch->queue.empty()) {
      ch->ready = false;
    } else {
      inbox.ready.push_back(ch);
    }
    ++n;
  }
  inbox.queued -= n;
  impl_->counters.queued.fetch_sub(static_cast<std::int64_t>(n), std::memory_order_relaxed);
  bump(impl_->counters.delivered, n);
  return n;
}

void CommunicationHub::ack(AgentId agent, const Message& m) {
  std::shared_lock lock(impl_->table_mutex);
  const auto it = impl_->agents.find(agent);
  if (it == impl_->agents.end()) return;
  Inbox& inbox = *it->second.inbox;
  std::lock_guard inbox_lock(inbox.mutex);
  const auto ch_it = inbox.by_sender.find(m.from);
  if (ch_it == inbox.by_sender.end()) return;
  Channel& ch = *ch_it->second;
  // Acks only move forward, and never past what was sent.
  ch.acked = std::max(ch.acked, std::min(m.seq, ch.next_seq - 1));
  // Acknowledged messages can never be replayed: the log keeps only what restart may need.
  while (!ch.log.empty() && ch.log.front().seq <= ch.acked) ch.log.pop_front();
}

std::size_t CommunicationHub::restart(AgentId agent) {
  std::shared_lock lock(impl_->table_mutex);
  const auto it = impl_->agents.find(agent);
  if (it == impl_->agents.end()) return 0;
  Impl& s = *impl_;
  Inbox& inbox = *it->second.inbox;
  std::lock_guard inbox_lock(inbox.mutex);
  s.clear_queues(inbox);
  std::size_t replayed = 0;
  std::uint64_t gaps = 0;
  for (auto& ch : inbox.channels) {
    // Every seq in (acked, next_seq) should come back; those the log no longer holds are gaps.
    const std::uint64_t first_logged = ch->log.empty() ? ch->next_seq : ch->log.front().seq;
    if (first_logged > ch->acked + 1) gaps += first_logged - (ch->acked + 1);
    for (std::size_t i = 0; i < ch->log.size(); ++i) {
      if (ch->log[i].seq <= ch->acked) continue;
      ch->queue.push_back(ch->log[i]);
      ++replayed;
    }
    if (!ch->queue.empty()) {
      ch->ready = true;
      inbox.ready.push_back(ch.get());
    }
  }
  inbox.queued = replayed;
  s.counters.queued.fetch_add(static_cast<std::int64_t>(replayed), std::memory_order_relaxed);
  bump(s.counters.replayed, replayed);
  bump(s.counters.replay_gaps, gaps);
  return replayed;
}

std::vector<AgentId> CommunicationHub::route(AgentId from, AgentId to) const {
  std::shared_lock lock(impl_->table_mutex);
  const auto f = impl_->agents.find(from);
  const auto t = impl_->agents.find(to);
  if (f == impl_->agents.end() || t == impl_->agents.end() || !f->second.alive || !t->second.alive) return {};
  std::vector<AgentId> path;
  if (!impl_->route_into(from, to, path)) return {};
  return path;
}

void CommunicationHub::set_faults(FaultPlan plan) {
  std::lock_guard lock(impl_->rng_mutex);
  impl_->faults = plan;
  impl_->rng = OmegaRng::new_with_seed(plan.seed);
  impl_->lossy.store(plan.drop_probability > 0, std::memory_order_relaxed);
}

void CommunicationHub::kill(AgentId agent) {
  std::unique_lock lock(impl_->table_mutex);
  if (auto it = impl_->agents.find(agent); it != impl_->agents.end()) it->second.alive = false;
}

void CommunicationHub::revive(AgentId agent) {
  std::unique_lock lock(impl_->table_mutex);
  if (auto it = impl_->agents.find(agent); it != impl_->agents.end()) it->second.alive = true;
}

bool CommunicationHub::alive(AgentId agent) const {
  std::shared_lock lock(impl_->table_mutex);
  const auto it = impl_->agents.find(agent);
  return it != impl_->agents.end() && it->second.alive;
}

void CommunicationHub::cut(AgentId a, AgentId b) {
  std::unique_lock lock(impl_->table_mutex);
  if (a == b || !impl_->agents.contains(a) || !impl_->agents.contains(b)) return;
  impl_->cuts.insert(link_key(a, b));
}

void CommunicationHub::heal(AgentId a, AgentId b) {
  std::unique_lock lock(impl_->table_mutex);
  impl_->cuts.erase(link_key(a, b));
}

HubStats CommunicationHub::stats() const {
  const Counters& c = impl_->counters;
  const auto get = [](const std::atomic<std::uint64_t>& v) { return v.load(std::memory_order_relaxed); };
  HubStats s;
  s.sent = get(c.sent);
  s.delivered = get(c.delivered);
  s.bytes = get(c.bytes);
  s.hops = get(c.hops);
  s.broadcasts = get(c.broadcasts);
  s.refused_backpressure = get(c.refused_backpressure);
  s.refused_unreachable = get(c.refused_unreachable);
  s.dropped_fault = get(c.dropped_fault);
  s.dropped_dead = get(c.dropped_dead);
  s.dropped_removed = get(c.dropped_removed);
  s.replayed = get(c.replayed);
  s.replay_gaps = get(c.replay_gaps);
  s.queued = static_cast<std::size_t>(std::max<std::int64_t>(0, c.queued.load(std::memory_order_relaxed)));
  s.channels = static_cast<std::size_t>(std::max<std::int64_t>(0, c.channels.load(std::memory_order_relaxed)));
  std::shared_lock lock(impl_->table_mutex);
  s.groups = impl_->groups.size();
  s.agents = impl_->agents.size();
  s.dead = static_cast<std::size_t>(
      std::count_if(impl_->agents.begin(), impl_->agents.end(), [](const auto& a) { return !a.second.alive; }));
  return s;
}

void CommunicationHub::append_metrics(MetricsSnapshot& out) const { append_metrics(out, {}); }

void CommunicationHub::append_metrics(MetricsSnapshot& out, const MetricLabels& labels) const {
  const HubStats s = stats();
  const auto with = [&](const char* cause) {
    MetricLabels l = labels;
    if (cause != nullptr) l.push_back({"cause", cause});
    return l;
  };
  // Names are fixed and valid: a Result fails only when `out` already holds the same series
  // (another hub appended with the same labels), and then the first hub's figures stand.
  const auto counter = [&](const char* name, const char* help, std::uint64_t v, const char* cause = nullptr) {
    (void)out.add_counter(name, help, with(cause), v);
  };
  const auto gauge = [&](const char* name, const char* help, double v) { (void)out.add_gauge(name, help, with(nullptr), v); };
  counter("swarm_hub_messages_sent_total", "Messages that entered a channel (broadcast copies included)", s.sent);
  counter("swarm_hub_messages_delivered_total", "Messages handed to receivers", s.delivered);
  counter("swarm_hub_payload_bytes_total", "Payload bytes of sent messages", s.bytes);
  counter("swarm_hub_hops_total", "Links traversed by sent messages", s.hops);
  counter("swarm_hub_broadcasts_total", "Broadcasts to a known group", s.broadcasts);
  counter("swarm_hub_refused_total", "Sends refused, by cause", s.refused_backpressure, "backpressure");
  counter("swarm_hub_refused_total", "Sends refused, by cause", s.refused_unreachable, "unreachable");
  counter("swarm_hub_dropped_total", "Messages lost, by cause", s.dropped_fault, "fault");
  counter("swarm_hub_dropped_total", "Messages lost, by cause", s.dropped_dead, "dead");
  counter("swarm_hub_dropped_total", "Messages lost, by cause", s.dropped_removed, "removed");
  counter("swarm_hub_replayed_total", "Messages re-delivered after a restart", s.replayed);
  counter("swarm_hub_replay_gaps_total", "Unacknowledged messages a restart could not replay", s.replay_gaps);
  gauge("swarm_hub_queued", "Messages waiting in inboxes", static_cast<double>(s.queued));
  gauge("swarm_hub_channels", "Sender-receiver channels", static_cast<double>(s.channels));
  gauge("swarm_hub_groups", "Broadcast groups with members", static_cast<double>(s.groups));
  gauge("swarm_hub_agents", "Registered agents", static_cast<double>(s.agents));
  gauge("swarm_hub_dead_agents", "Agents killed and not revived", static_cast<double>(s.dead));
  gauge("swarm_hub_mean_hops", "Links per sent message", s.mean_hops());
}

}  // namespace omega::swarm
