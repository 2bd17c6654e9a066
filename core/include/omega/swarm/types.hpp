#pragma once
// The swarm layer's shared vocabulary (seed 004): ids, errors, topologies, time.
//
// Ids are small strong types: an AgentId cannot be passed where a TaskId is meant. Value 0
// is never issued, so a default-constructed id names nothing.
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <omega/time/scheduler.hpp>  // TimeSource: real clock in production, a fake in tests

namespace omega::swarm {

template <class Tag, class Rep>
struct StrongId {
  Rep value = 0;
  [[nodiscard]] constexpr bool valid() const noexcept { return value != 0; }
  friend constexpr auto operator<=>(StrongId, StrongId) = default;
};

using AgentId = StrongId<struct AgentTag, std::uint32_t>;
using TaskId = StrongId<struct TaskTag, std::uint64_t>;
using RegionId = StrongId<struct RegionTag, std::uint64_t>;
using ProposalId = StrongId<struct ProposalTag, std::uint64_t>;

// Every refusal the swarm reports. Nothing refused was accepted, so nothing is lost.
enum class SwarmError : std::uint8_t {
  InvalidConfig,       // a builder or config value cannot work (the reason is in last_error())
  NotInitialized,      // initialize() has not run
  ShuttingDown,        // shutdown began; new work is refused
  AgentLimitReached,   // max_agents agents are registered
  UnknownAgent,
  DuplicateAgent,      // an agent of that name is registered
  AgentUnavailable,    // the agent is failed, stopped or isolated
  UnknownTask,
  QueueFull,           // task_queue_size tasks are pending
  CycleDetected,       // the dependencies would form a cycle
  InvalidTask,         // empty name, self-dependency, bad payload for the agent kind
  NoCapableAgent,      // no registered agent has the capability
  TaskFinished,        // the task already finished (cancel after completion)
  OutOfMemory,         // no free region and nothing evictable
  QuotaExceeded,       // the agent's memory limit would be exceeded
  UnknownRegion,       // never allocated, freed, or evicted
  OutOfBounds,         // a read or write past the region's size
  NotOwner,            // the region belongs to another agent
  Backpressure,        // the receiver's channel is full
  Unreachable,         // the topology has no live path to the receiver
  UnknownGroup,
  UnknownProposal,
  ProposalClosed,      // decided or expired
  AlreadyVoted,        // a second, identical vote
  Equivocation,        // a second, different vote: the voter is marked faulty
  InvalidSignature,    // a vote whose HMAC does not verify
  NotEligible,         // the voter is faulty or not a member
  CircuitOpen,         // the agent's circuit breaker refuses calls
};
[[nodiscard]] std::string_view to_string(SwarmError e) noexcept;

// How agents talk (the hub's routing) and how the coordinator is organised.
enum class SwarmTopology : std::uint8_t {
  Centralized,   // one coordinator; every message goes through the hub
  Mesh,          // every agent reaches every other directly
  Hierarchical,  // a tree of fan-out k: up to the common ancestor, then down
  Ring,          // each agent forwards to its successor until the receiver
  Star,          // a central hub agent relays between edge agents
};
[[nodiscard]] std::string_view to_string(SwarmTopology t) noexcept;

}  // namespace omega::swarm

template <class Tag, class Rep>
struct std::hash<omega::swarm::StrongId<Tag, Rep>> {
  std::size_t operator()(omega::swarm::StrongId<Tag, Rep> id) const noexcept { return std::hash<Rep>{}(id.value); }
};
