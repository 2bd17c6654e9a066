#pragma once
// CommunicationHub (seed 004): messages between agents, routed by the swarm's topology.
//
//   omega::swarm::CommunicationHub hub({.topology = SwarmTopology::Ring});
//   hub.add_agent(a); hub.add_agent(b);
//   hub.send(a, b, kMyKind, bytes, now_ns);        // Backpressure when b's channel from a is full
//   hub.join("sensors", b); hub.broadcast("sensors", a, kMyKind, bytes, now_ns);
//   std::vector<Message> in; hub.receive(b, in);   // then hub.ack(b, in.back()) once handled
//
// Contracts:
// - Point-to-point channels: one bounded FIFO per (sender, receiver) pair, channel_capacity
//   messages. A full channel refuses with Backpressure (counted); nothing is dropped silently.
//   Messages of one channel are received in send order.
// - Routing follows the topology: Mesh delivers directly (1 hop); Star and Centralized relay
//   through the hub agent (the first agent added, or set_center(); 2 hops unless one end is
//   the centre); Ring forwards along the ring in the shorter live direction; Hierarchical
//   climbs a tree of fan-out `fanout` (agents in the order added) to the common ancestor and
//   descends. A dead or isolated agent on the only path makes the send Unreachable.
// - Replay: each channel keeps its last replay_capacity messages. A receiver acknowledges
//   what it has handled (ack); after restart(agent) its inbox is rebuilt from every channel's
//   log with the messages past its last acknowledgement, so an agent restarted after a
//   failure gets what it missed. Messages older than the log are counted as replay gaps.
// - Faults (tests and chaos runs): a seeded drop probability per send, links cut both ways,
//   agents killed (kill: nothing reaches or leaves them until revive). Every loss is counted
//   by cause. Deterministic for a given seed and call order.
// - Thread-safe: any thread may send, receive and ack; one mutex per receiver keeps senders
//   to different receivers apart.
//
// The implementation's choices where the above leaves room (core/src/swarm/hub.cpp):
// - A send that is not refused either enters the channel (it gets the next seq, is queued and
//   logged: that is `sent`, and what broadcast() counts as accepted) or is lost on the way:
//   to the drop probability or a cut link on its path (dropped_fault), from or to a killed
//   agent (dropped_dead). A lost send still returns success, as a network would; it takes no
//   seq and is not logged, so no restart brings it back.
// - receive() serves the receiver's channels round robin, one message per sender per turn
//   (the turn carries over between calls): a chatty sender cannot starve the others.
// - Routing avoids dead agents where the topology gives a choice (Ring's two directions; ties
//   go to the successor); route() is empty when either end is dead. A cut link is a silent
//   fault: routes do not avoid it, messages crossing it are lost. Hierarchical's tree follows
//   the order of add_agent() as it is now (remove_agent closes the gap).
// - A killed agent keeps its inbox and receives nothing until revive(); restart() discards
//   the inbox (alive or not) and refills it from the logs: every message past the channel's
//   last ack, so messages received but not acknowledged come again. ack() never moves back
//   nor past the channel's last seq, and trims the log of what it covers. A restart may leave
//   a channel above channel_capacity; sends to it see Backpressure until it drains.
// - Sending to oneself is a 0-hop loopback. Payloads have no limit but memory.
// - Bad input: an invalid or unknown agent is UnknownAgent (add_agent: DuplicateAgent when
//   registered); an empty or memberless group is UnknownGroup; a group disappears with its
//   last member. receive/ack/restart/kill/revive/cut/set_center ignore unknown agents.
// - The constructor throws std::invalid_argument when config.validate() is not empty.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <omega/base/metrics.hpp>
#include <omega/base/result.hpp>
#include <omega/swarm/types.hpp>

namespace omega::swarm {

struct Message {
  AgentId from;
  AgentId to;
  std::uint32_t kind = 0;      // the sender's tag (coordination uses kinds >= kCoordinationKinds)
  std::uint64_t seq = 0;       // per (from, to) channel, from 1
  std::int64_t sent_ns = 0;
  std::uint32_t hops = 0;      // links the routing took
  std::string group;           // the broadcast group, empty for point-to-point
  std::vector<std::byte> payload;
};

struct HubConfig {
  SwarmTopology topology = SwarmTopology::Mesh;
  std::size_t channel_capacity = 1024;  // messages per (sender, receiver) channel
  std::size_t replay_capacity = 256;    // messages each channel keeps for replay
  std::uint32_t fanout = 4;             // Hierarchical: children per tree node
  [[nodiscard]] std::string validate() const;  // empty when the config can work
};

struct FaultPlan {
  double drop_probability = 0;  // each send (each broadcast copy) is lost with this probability
  std::uint64_t seed = 1;
};

struct HubStats {
  std::uint64_t sent = 0;                 // accepted sends (broadcast copies included)
  std::uint64_t delivered = 0;            // messages received
  std::uint64_t bytes = 0;                // payload bytes accepted
  std::uint64_t hops = 0;                 // links traversed by accepted messages
  std::uint64_t broadcasts = 0;
  std::uint64_t refused_backpressure = 0;
  std::uint64_t refused_unreachable = 0;
  std::uint64_t dropped_fault = 0;        // lost to the drop probability or a cut link
  std::uint64_t dropped_dead = 0;         // sent to or from a killed agent
  std::uint64_t replayed = 0;             // messages re-delivered after restart()
  std::uint64_t replay_gaps = 0;          // messages a restarted agent missed past the log
  std::size_t queued = 0;                 // waiting in inboxes now
  std::size_t channels = 0;
  std::size_t groups = 0;
  // Added with the implementation:
  std::uint64_t dropped_removed = 0;      // queued for or from an agent when remove_agent() ran
  std::size_t agents = 0;                 // registered now
  std::size_t dead = 0;                   // killed and not revived
  [[nodiscard]] double mean_hops() const noexcept { return sent ? static_cast<double>(hops) / static_cast<double>(sent) : 0; }
};

class CommunicationHub {
 public:
  explicit CommunicationHub(HubConfig config = {});
  ~CommunicationHub();
  CommunicationHub(const CommunicationHub&) = delete;
  CommunicationHub& operator=(const CommunicationHub&) = delete;

  [[nodiscard]] const HubConfig& config() const noexcept;
  Result<void, SwarmError> add_agent(AgentId agent);
  void remove_agent(AgentId agent);   // its queued messages and channels are dropped
  void set_center(AgentId agent);     // Star/Centralized relay (default: the first added)
  [[nodiscard]] AgentId center() const;  // the relay Star/Centralized use now (invalid when empty)

  Result<void, SwarmError> send(AgentId from, AgentId to, std::uint32_t kind, std::span<const std::byte> payload,
                                std::int64_t now_ns);
  Result<void, SwarmError> join(std::string_view group, AgentId agent);
  void leave(std::string_view group, AgentId agent);
  // One copy per live member except the sender; returns how many were accepted.
  Result<std::size_t, SwarmError> broadcast(std::string_view group, AgentId from, std::uint32_t kind,
                                            std::span<const std::byte> payload, std::int64_t now_ns);

  // Appends up to `max` waiting messages for `agent` to `out`; returns how many.
  std::size_t receive(AgentId agent, std::vector<Message>& out, std::size_t max = ~std::size_t{0});
  // The receiver has handled `m` and every earlier message of m's channel.
  void ack(AgentId agent, const Message& m);
  // The agent lost its inbox (restart): rebuild it from the replay logs; returns how many.
  std::size_t restart(AgentId agent);

  // The path a message would take now (sender first, receiver last); empty when unreachable.
  [[nodiscard]] std::vector<AgentId> route(AgentId from, AgentId to) const;

  void set_faults(FaultPlan plan);
  void kill(AgentId agent);
  void revive(AgentId agent);
  [[nodiscard]] bool alive(AgentId agent) const;
  void cut(AgentId a, AgentId b);
  void heal(AgentId a, AgentId b);

  [[nodiscard]] HubStats stats() const;
  // hub_* counters and gauges (labels: cause) for SwarmOrchestrator::metrics().
  void append_metrics(MetricsSnapshot& out) const;
  // The same with `labels` on every series (e.g. {"hub", "control"}), so that two hubs can
  // share one snapshot.
  void append_metrics(MetricsSnapshot& out, const MetricLabels& labels) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace omega::swarm
