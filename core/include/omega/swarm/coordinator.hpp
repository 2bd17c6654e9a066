#pragma once
// SwarmCoordinator (seed 004, "distributed coordination"): proposals and signed votes with a
// quorum, a Byzantine mode, Raft-style leader election, heartbeats and failure detection.
//
//   omega::swarm::SwarmCoordinator coord(hub, {.mode = ConsensusMode::Byzantine});
//   coord.add_member(a); coord.add_member(b); ...
//   ProposalId p = *coord.submit_proposal(a, ProposalType::TaskAssignment, bytes);
//   coord.cast_vote(p, b, VoteDecision::Approve, "resources free");   // -> ProposalStatus
//   coord.tick();                        // heartbeats, elections, failure detection, expiry
//   LeaderInfo l = coord.leader();       // agent and term
//
// Contracts:
// - Time comes from the TimeSource, randomness from an OmegaRng seeded by config.seed: for a
//   given seed and call order every run is the same (the tests drive a fake clock).
// - Votes: every vote is signed with HMAC-SHA256 under its voter's key (derived from the
//   master key and the agent id); a vote from outside (submit_vote) is verified before it
//   counts, and a bad MAC is refused
//   (InvalidSignature, counted). A second identical vote is AlreadyVoted; a second different
//   one is equivocation: both signed votes are a transferable proof, so the voter is marked
//   faulty everywhere, its votes leave every open tally, and it may not vote again.
// - Quorum: Majority mode accepts when Approve votes are strictly more than quorum x the
//   eligible voters (members not faulty); it rejects as soon as that can no longer happen.
//   Byzantine mode accepts only with strictly more than two thirds of all members approving
//   (2f+1 of n = 3f+1, as PBFT), faulty members counting in n but never as approvals.
// - Byzantine mode gives every member its own view: a vote reaches the members it is sent to
//   (submit_vote's recipients: an equivocator may tell some Approve and others Reject), and
//   every honest member echoes each vote it sees first to all others (Bracha's reliable
//   broadcast, run to completion before the call returns), so every honest member holds the
//   same votes, detects the same equivocation and decides the same (decision()).
//   byzantine_tolerant() claims tolerance only while faulty members f satisfy 3f < n.
// - Election (Raft without a log): each member is Follower, Candidate or Leader with a term
//   and at most one vote per term. A follower that hears no leader for a randomised timeout
//   in [election_timeout_min, election_timeout_max) becomes a candidate of the next term and
//   asks every member over the hub; a majority of all members makes it leader. One vote per
//   member per term and majorities that must intersect make two leaders in one term
//   impossible, whatever the hub loses; the coordinator also records every (term, leader)
//   and counts any violation (stats().split_brain_terms, which stays 0).
// - Heartbeats: every live member sends one each heartbeat_interval over the hub to the next
//   three members in ring order that are not failed (so each member has watchers and the
//   traffic is O(n), not O(n^2)); a leader sends to all (its heartbeat is also Raft's
//   AppendEntries, carrying its term). A member not heard by
//   anyone for failure_threshold intervals is reported once through on_failure (within
//   failure_threshold intervals plus one tick of its last heartbeat) and reported recovered
//   when heard again.
// - Messages use hub kinds >= kCoordinationKinds; payloads are small fixed binary records and
//   malformed ones are dropped and counted. Each tick drains every live member's inbox
//   (see set_on_foreign_message for other kinds).
// - kill(agent) stops the member (the hub drops what it sends and what is sent to it, its
//   timers stop); revive(agent) restarts it as a follower that kept its term and vote (Raft's
//   persistent state).
// - Thread-safe: one mutex. Callbacks run after it is released, on the calling thread, so
//   they may call back into the coordinator.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <omega/base/metrics.hpp>
#include <omega/base/result.hpp>
#include <omega/swarm/hub.hpp>
#include <omega/swarm/types.hpp>

namespace omega::swarm {

// Hub message kinds from here up belong to the coordinator.
inline constexpr std::uint32_t kCoordinationKinds = 0xC000'0000u;

enum class ProposalType : std::uint8_t { TaskAssignment, ResourceAllocation, LeaderChange, ConfigChange, Custom };
enum class VoteDecision : std::uint8_t { Approve, Reject, Abstain };
enum class ProposalStatus : std::uint8_t { Open, Accepted, Rejected, Expired };
enum class ConsensusMode : std::uint8_t { Majority, Byzantine };
enum class MemberRole : std::uint8_t { Follower, Candidate, Leader };
[[nodiscard]] std::string_view to_string(ProposalType t) noexcept;
[[nodiscard]] std::string_view to_string(VoteDecision d) noexcept;
[[nodiscard]] std::string_view to_string(ProposalStatus s) noexcept;
[[nodiscard]] std::string_view to_string(ConsensusMode m) noexcept;
[[nodiscard]] std::string_view to_string(MemberRole r) noexcept;

struct LeaderInfo {
  AgentId agent;
  std::uint64_t term = 0;
  [[nodiscard]] bool valid() const noexcept { return agent.valid() && term != 0; }
  friend bool operator==(const LeaderInfo&, const LeaderInfo&) = default;
};

struct CoordinatorConfig {
  ConsensusMode mode = ConsensusMode::Majority;
  double quorum = 0.5;  // Majority: Approve votes must be strictly more than this fraction of eligible voters
  std::chrono::milliseconds heartbeat_interval{100};    // etcd's default
  std::chrono::milliseconds election_timeout_min{150};  // Raft's 150-300 ms
  std::chrono::milliseconds election_timeout_max{300};
  unsigned failure_threshold = 3;                  // missed heartbeat intervals before a failure
  std::chrono::milliseconds proposal_timeout{5000};
  std::uint64_t seed = 1;                          // election timeouts; the master key when none is given
  // Secret the per-agent vote keys derive from. Empty: derived from seed, which is
  // reproducible (tests, demos) but no secret; production gives 32 random bytes.
  std::vector<std::uint8_t> master_key{};
  std::size_t closed_history = 4096;               // decided proposals kept for status queries
  [[nodiscard]] std::string validate() const;      // empty when the config can work
};

struct Vote {
  ProposalId proposal;
  AgentId voter;
  VoteDecision decision = VoteDecision::Abstain;
  std::string reason;
  std::array<std::uint8_t, 32> mac{};  // HMAC-SHA256 under the voter's key
};

struct ProposalInfo {
  ProposalId id;
  AgentId proposer;
  ProposalType type = ProposalType::Custom;
  ProposalStatus status = ProposalStatus::Open;
  std::vector<std::byte> data;
  std::int64_t created_ns = 0;
  std::int64_t decided_ns = 0;     // 0 while open
  std::uint32_t approvals = 0;     // counted votes (faulty voters' excluded)
  std::uint32_t rejections = 0;
  std::uint32_t abstentions = 0;
};

struct MemberInfo {
  AgentId agent;
  MemberRole role = MemberRole::Follower;
  std::uint64_t term = 0;
  AgentId voted_for;
  AgentId leader;          // the leader this member follows in its term (itself when Leader)
  bool alive = true;       // not killed
  bool failed = false;     // reported through on_failure and not heard since
  bool faulty = false;     // equivocated
  std::int64_t last_heard_ns = 0;  // send time of its latest heartbeat a member received (or when it joined)
};

struct CoordinationStats {
  std::uint64_t proposals = 0;
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
  std::uint64_t expired = 0;
  std::uint64_t votes = 0;                    // counted votes
  std::uint64_t votes_refused_signature = 0;  // bad MAC
  std::uint64_t votes_refused_other = 0;      // duplicate, not eligible, closed, unknown
  std::uint64_t equivocations = 0;
  std::uint64_t faulty_agents = 0;
  std::uint64_t echoes = 0;                   // Byzantine: votes relayed member to member
  std::uint64_t elections = 0;                // candidacies started
  std::uint64_t terms = 0;                    // highest term any member reached
  std::uint64_t leader_changes = 0;           // elections won
  std::uint64_t split_brain_terms = 0;        // terms with two leaders: must stay 0
  std::uint64_t heartbeats_sent = 0;
  std::uint64_t heartbeats_missed = 0;        // heartbeat intervals skipped because ticks came slower than the interval
  std::uint64_t failures_detected = 0;
  std::uint64_t recoveries = 0;               // failed members heard again
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t messages_lost = 0;            // the hub refused the send
  std::uint64_t messages_malformed = 0;
  std::size_t members = 0;
  std::size_t alive = 0;
  std::size_t open_proposals = 0;
  bool byzantine_tolerant = false;
  std::uint64_t tick_gaps = 0;                // ticks that came more than a heartbeat interval after the previous one (the gap blames nobody)
};

class SwarmCoordinator {
 public:
  // An invalid config (validate() not empty) is clamped to the nearest valid one; callers
  // that want a refusal check validate() first.
  SwarmCoordinator(CommunicationHub& hub, CoordinatorConfig config, TimeSource time = TimeSource::system());
  ~SwarmCoordinator();
  SwarmCoordinator(const SwarmCoordinator&) = delete;
  SwarmCoordinator& operator=(const SwarmCoordinator&) = delete;

  [[nodiscard]] const CoordinatorConfig& config() const noexcept;

  // Adds the agent to the hub too when it is not there yet.
  Result<void, SwarmError> add_member(AgentId id);
  void remove_member(AgentId id);

  Result<ProposalId, SwarmError> submit_proposal(AgentId proposer, ProposalType type, std::span<const std::byte> data);
  // An honest member's vote: signed here with its key (authentic by construction, so not
  // verified again), delivered to every member.
  Result<ProposalStatus, SwarmError> cast_vote(ProposalId p, AgentId voter, VoteDecision d, std::string_view reason = {});
  // A vote from outside, verified first. `recipients` are the members it reaches directly
  // (empty: all); in Byzantine mode honest members echo it on to the rest.
  Result<ProposalStatus, SwarmError> submit_vote(const Vote& vote, std::span<const AgentId> recipients = {});
  // What `voter` would send: the vote signed with its key (tests forge and equivocate with it).
  [[nodiscard]] Vote sign_vote(ProposalId p, AgentId voter, VoteDecision d, std::string_view reason = {}) const;

  [[nodiscard]] Result<ProposalStatus, SwarmError> status(ProposalId p) const;
  [[nodiscard]] std::optional<ProposalInfo> proposal(ProposalId p) const;
  // Byzantine mode: what `member` decided from its own view (Open while undecided); the
  // proposal's status otherwise.
  [[nodiscard]] Result<ProposalStatus, SwarmError> decision(ProposalId p, AgentId member) const;

  // The live leader of the highest term; invalid when there is none.
  [[nodiscard]] LeaderInfo leader() const;
  [[nodiscard]] std::optional<MemberInfo> member(AgentId id) const;
  [[nodiscard]] std::vector<MemberInfo> members() const;

  void tick();

  void kill(AgentId id);
  void revive(AgentId id);

  // A member missed failure_threshold heartbeat intervals (once per failure).
  void set_on_failure(std::function<void(AgentId)> callback);
  // A member won an election (every win, so tests can check one leader per term).
  void set_on_leader(std::function<void(LeaderInfo)> callback);
  // tick() drains the members' whole inboxes: messages of other kinds (below
  // kCoordinationKinds) go here, or are discarded without a callback. Give the coordinator a
  // hub of its own where agents exchange other messages through the same hub.
  void set_on_foreign_message(std::function<void(Message&&)> callback);

  [[nodiscard]] bool byzantine_tolerant() const;
  [[nodiscard]] std::vector<AgentId> faulty() const;
  [[nodiscard]] CoordinationStats stats() const;
  // swarm_coordination_* counters and gauges.
  void append_metrics(MetricsSnapshot& out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace omega::swarm
