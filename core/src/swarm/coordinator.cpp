#include <omega/swarm/coordinator.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <omega/base/rng.hpp>

#include "swarm/hmac.hpp"

namespace omega::swarm {

std::string_view to_string(ProposalType t) noexcept {
  switch (t) {
    case ProposalType::TaskAssignment: return "task_assignment";
    case ProposalType::ResourceAllocation: return "resource_allocation";
    case ProposalType::LeaderChange: return "leader_change";
    case ProposalType::ConfigChange: return "config_change";
    case ProposalType::Custom: return "custom";
  }
  return "unknown";
}
std::string_view to_string(VoteDecision d) noexcept {
  switch (d) {
    case VoteDecision::Approve: return "approve";
    case VoteDecision::Reject: return "reject";
    case VoteDecision::Abstain: return "abstain";
  }
  return "unknown";
}
std::string_view to_string(ProposalStatus s) noexcept {
  switch (s) {
    case ProposalStatus::Open: return "open";
    case ProposalStatus::Accepted: return "accepted";
    case ProposalStatus::Rejected: return "rejected";
    case ProposalStatus::Expired: return "expired";
  }
  return "unknown";
}
std::string_view to_string(ConsensusMode m) noexcept {
  switch (m) {
    case ConsensusMode::Majority: return "majority";
    case ConsensusMode::Byzantine: return "byzantine";
  }
  return "unknown";
}
std::string_view to_string(MemberRole r) noexcept {
  switch (r) {
    case MemberRole::Follower: return "follower";
    case MemberRole::Candidate: return "candidate";
    case MemberRole::Leader: return "leader";
  }
  return "unknown";
}

std::string CoordinatorConfig::validate() const {
  if (!(quorum >= 0.0 && quorum < 1.0)) return "quorum must be in [0, 1)";
  if (heartbeat_interval.count() <= 0) return "heartbeat_interval must be positive";
  if (election_timeout_min.count() <= 0) return "election_timeout_min must be positive";
  if (election_timeout_max <= election_timeout_min) return "election_timeout_max must exceed election_timeout_min";
  if (election_timeout_min <= heartbeat_interval)
    return "election_timeout_min must exceed heartbeat_interval (a leader's heartbeats must arrive before followers time out)";
  if (failure_threshold == 0) return "failure_threshold must be at least 1";
  if (proposal_timeout.count() <= 0) return "proposal_timeout must be positive";
  if (closed_history == 0) return "closed_history must be at least 1";
  return {};
}

namespace {

using internal::HmacSha256Key;
using internal::Sha256Digest;

enum MessageKind : std::uint32_t {
  kHeartbeat = kCoordinationKinds + 1,    // [version][term u64][role u8]
  kRequestVote = kCoordinationKinds + 2,  // [version][term u64]
  kVoteReply = kCoordinationKinds + 3,    // [version][term u64][granted u8]
};
constexpr std::uint8_t kWireVersion = 1;

void put_u64(std::byte* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<std::byte>(v & 0xFF);
}
std::uint64_t get_u64(const std::byte* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint64_t>(in[i]);
  return v;
}

struct Wire {
  std::uint64_t term = 0;
  std::uint8_t flag = 0;  // role (heartbeat) or granted (vote reply)
};

// Fixed-size records: anything else (wrong length, version, flag out of range) is malformed.
std::optional<Wire> decode(std::uint32_t kind, std::span<const std::byte> p) {
  const std::size_t want = kind == kRequestVote ? 9 : 10;
  if (p.size() != want || static_cast<std::uint8_t>(p[0]) != kWireVersion) return std::nullopt;
  Wire w;
  w.term = get_u64(p.data() + 1);
  // Heartbeats flow before the first election (term 0); votes always carry a real term.
  if (w.term == 0 && kind != kHeartbeat) return std::nullopt;
  if (want == 10) {
    w.flag = static_cast<std::uint8_t>(p[9]);
    const std::uint8_t limit = kind == kHeartbeat ? 2 : 1;
    if (w.flag > limit) return std::nullopt;
  }
  return w;
}

std::array<std::byte, 10> encode(std::uint64_t term, std::uint8_t flag) {
  std::array<std::byte, 10> out{};
  out[0] = static_cast<std::byte>(kWireVersion);
  put_u64(out.data() + 1, term);
  out[9] = static_cast<std::byte>(flag);
  return out;
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

constexpr std::string_view kVoteDomain = "omega.swarm.vote.v1";
constexpr std::string_view kAgentKeyDomain = "omega.swarm.agent-key.v1";
constexpr std::string_view kMasterDomain = "omega.swarm.master.v1";

Sha256Digest vote_mac(const HmacSha256Key& key, ProposalId p, AgentId voter, VoteDecision d, std::string_view reason) {
  std::array<std::uint8_t, 8 + 4 + 1 + 4> header{};
  for (int i = 0; i < 8; ++i) header[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(p.value >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) header[8 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(voter.value >> (24 - 8 * i));
  header[12] = static_cast<std::uint8_t>(d);
  const auto len = static_cast<std::uint32_t>(reason.size());
  for (int i = 0; i < 4; ++i) header[13 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(len >> (24 - 8 * i));
  return key.mac({bytes_of(kVoteDomain), header, bytes_of(reason)});
}

struct Member {
  AgentId id;
  HmacSha256Key key;
  MemberRole role = MemberRole::Follower;
  std::uint64_t term = 0;
  AgentId voted_for;
  AgentId leader;
  std::vector<AgentId> granted;  // Candidate: votes received this term (itself included)
  std::int64_t election_deadline_ns = 0;
  std::int64_t next_heartbeat_ns = 0;
  std::int64_t last_heard_ns = 0;  // send time of the latest heartbeat any member received from it
  bool alive = true;
  bool failed = false;
  bool faulty = false;
};

struct CastVote {
  AgentId voter;
  VoteDecision decision;
};

// One member's view of a proposal in Byzantine mode.
struct View {
  std::vector<Vote> votes;         // the first vote seen from each voter
  std::vector<AgentId> convicted;  // voters it holds two different signed votes from
  ProposalStatus decided = ProposalStatus::Open;
};

struct Proposal {
  ProposalInfo info;
  std::vector<CastVote> votes;  // one per voter (late ones after the decision too); faulty voters' removed while open
  std::vector<Vote> signed_votes;  // Byzantine: the first signed vote of each voter (equivocation proof)
  std::unordered_map<AgentId, View> views;  // Byzantine only
};

}  // namespace

struct SwarmCoordinator::Impl {
  CommunicationHub& hub;
  CoordinatorConfig config;
  TimeSource time;
  HmacSha256Key master;
  OmegaRng rng;

  mutable std::mutex mutex;
  std::vector<std::unique_ptr<Member>> members;
  std::unordered_map<AgentId, Member*> by_id;
  std::unordered_map<ProposalId, Proposal> proposals;
  std::deque<ProposalId> open_order;    // creation order: expiry pops from the front
  std::deque<ProposalId> closed_order;  // decision order: history trimming pops from the front
  std::uint64_t next_proposal = 1;
  std::unordered_map<std::uint64_t, AgentId> term_leaders;  // every (term, leader) ever elected
  std::vector<Message> inbox;
  CoordinationStats stats;

  std::function<void(AgentId)> on_failure;
  std::function<void(LeaderInfo)> on_leader;
  std::vector<AgentId> pending_failures;
  std::int64_t last_tick_ns = 0;  // the previous tick(), 0 before the first
  std::vector<LeaderInfo> pending_leaders;
  std::function<void(Message&&)> on_foreign;
  std::vector<Message> pending_foreign;

  Impl(CommunicationHub& h, CoordinatorConfig c, TimeSource t)
      : hub(h), config(std::move(c)), time(t), rng(OmegaRng::new_with_seed(config.seed)) {
    // A config validate() refuses is clamped to the nearest one that works.
    config.heartbeat_interval = std::max(config.heartbeat_interval, std::chrono::milliseconds{1});
    config.election_timeout_min = std::max(config.election_timeout_min, config.heartbeat_interval + std::chrono::milliseconds{1});
    config.election_timeout_max = std::max(config.election_timeout_max, config.election_timeout_min + std::chrono::milliseconds{1});
    config.failure_threshold = std::max(config.failure_threshold, 1u);
    config.proposal_timeout = std::max(config.proposal_timeout, std::chrono::milliseconds{1});
    config.closed_history = std::max<std::size_t>(config.closed_history, 1);
    if (!(config.quorum >= 0.0 && config.quorum < 1.0)) config.quorum = 0.5;
    if (config.master_key.empty()) {
      std::array<std::uint8_t, 8> seed{};
      for (int i = 0; i < 8; ++i) seed[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(config.seed >> (8 * i));
      const Sha256Digest derived = internal::hmac_sha256(seed, bytes_of(kMasterDomain));
      master = HmacSha256Key(derived);
    } else {
      master = HmacSha256Key(config.master_key);
    }
  }

  [[nodiscard]] std::int64_t interval_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(config.heartbeat_interval).count();
  }
  std::int64_t random_timeout_ns() {
    const auto lo = std::chrono::duration_cast<std::chrono::nanoseconds>(config.election_timeout_min).count();
    const auto hi = std::chrono::duration_cast<std::chrono::nanoseconds>(config.election_timeout_max).count();
    return lo + static_cast<std::int64_t>(rng.gen_range(static_cast<std::uint64_t>(hi - lo)));
  }

  HmacSha256Key key_for(AgentId id) const {
    std::array<std::uint8_t, 4> idb{};
    for (int i = 0; i < 4; ++i) idb[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(id.value >> (24 - 8 * i));
    const Sha256Digest k = master.mac({bytes_of(kAgentKeyDomain), idb});
    return HmacSha256Key(k);
  }

  Member* find(AgentId id) const {
    auto it = by_id.find(id);
    return it == by_id.end() ? nullptr : it->second;
  }

  std::size_t faulty_count() const {
    return static_cast<std::size_t>(std::count_if(members.begin(), members.end(), [](const auto& m) { return m->faulty; }));
  }

  // ---- voting -------------------------------------------------------------------------

  // Decides from counts: `approvals` of non-faulty voters, `voted` non-faulty voters so far.
  ProposalStatus judge(std::size_t approvals, std::size_t voted) const {
    const std::size_t n = members.size();
    const std::size_t eligible = n - faulty_count();
    const std::size_t outstanding = eligible > voted ? eligible - voted : 0;
    if (config.mode == ConsensusMode::Byzantine) {
      // Strictly more than 2n/3 approvals (2f+1 of 3f+1).
      if (3 * approvals > 2 * n) return ProposalStatus::Accepted;
      if (3 * (approvals + outstanding) <= 2 * n) return ProposalStatus::Rejected;
      return ProposalStatus::Open;
    }
    const double need = config.quorum * static_cast<double>(eligible);
    if (eligible > 0 && static_cast<double>(approvals) > need) return ProposalStatus::Accepted;
    if (static_cast<double>(approvals + outstanding) <= need) return ProposalStatus::Rejected;
    return ProposalStatus::Open;
  }

  void close(Proposal& p, ProposalStatus s, std::int64_t now) {
    p.info.status = s;
    p.info.decided_ns = now;
    switch (s) {
      case ProposalStatus::Accepted: ++stats.accepted; break;
      case ProposalStatus::Rejected: ++stats.rejected; break;
      case ProposalStatus::Expired: ++stats.expired; break;
      case ProposalStatus::Open: break;
    }
    closed_order.push_back(p.info.id);
    while (closed_order.size() > config.closed_history) {
      proposals.erase(closed_order.front());
      closed_order.pop_front();
    }
  }

  void evaluate(Proposal& p, std::int64_t now) {
    if (p.info.status != ProposalStatus::Open) return;
    p.info.approvals = p.info.rejections = p.info.abstentions = 0;
    for (const CastVote& v : p.votes) {
      if (v.decision == VoteDecision::Approve) ++p.info.approvals;
      if (v.decision == VoteDecision::Reject) ++p.info.rejections;
      if (v.decision == VoteDecision::Abstain) ++p.info.abstentions;
    }
    const ProposalStatus s = judge(p.info.approvals, p.votes.size());
    if (s != ProposalStatus::Open) close(p, s, now);
  }

  bool is_faulty(AgentId id) const {
    const Member* m = find(id);
    return m && m->faulty;
  }

  // Both signed votes are in hand: the voter is faulty for every member, its votes leave
  // every open tally, and open proposals are judged again (eligibility shrank).
  void convict(AgentId voter, std::int64_t now) {
    Member* m = find(voter);
    ++stats.equivocations;
    if (!m || m->faulty) return;
    m->faulty = true;
    ++stats.faulty_agents;
    for (ProposalId id : open_order) {
      auto it = proposals.find(id);
      if (it == proposals.end() || it->second.info.status != ProposalStatus::Open) continue;
      auto& votes = it->second.votes;
      votes.erase(std::remove_if(votes.begin(), votes.end(), [&](const CastVote& v) { return v.voter == voter; }),
                  votes.end());
      evaluate(it->second, now);
      if (config.mode == ConsensusMode::Byzantine) decide_views(it->second);
    }
  }

  // Byzantine: each member's own tally, faulty voters excluded.
  void decide_views(Proposal& p) {
    for (auto& [member, view] : p.views) {
      if (view.decided != ProposalStatus::Open || is_faulty(member)) continue;
      std::size_t approvals = 0;
      std::size_t voted = 0;
      for (const Vote& v : view.votes) {
        if (is_faulty(v.voter) ||
            std::find(view.convicted.begin(), view.convicted.end(), v.voter) != view.convicted.end())
          continue;
        ++voted;
        if (v.decision == VoteDecision::Approve) ++approvals;
      }
      view.decided = judge(approvals, voted);
    }
    if (p.info.status == ProposalStatus::Expired) {
      for (auto& [member, view] : p.views)
        if (view.decided == ProposalStatus::Open) view.decided = ProposalStatus::Expired;
    }
  }

  // Byzantine dissemination: `vote` reaches `recipients`; each honest member echoes what it
  // sees first (and a conflicting vote that convicts) to every other member, until nothing
  // new moves. Then each member judges its view.
  void disseminate(Proposal& p, const Vote& vote, std::span<const AgentId> recipients) {
    std::deque<std::pair<AgentId, const Vote*>> queue;
    std::vector<Vote> held;  // stable copies the queue points into
    held.reserve(2);
    held.push_back(vote);
    if (recipients.empty()) {
      for (const auto& m : members) queue.emplace_back(m->id, &held[0]);
    } else {
      for (AgentId r : recipients)
        if (find(r)) queue.emplace_back(r, &held[0]);
    }
    while (!queue.empty()) {
      const AgentId to = queue.front().first;
      const Vote* v = queue.front().second;
      queue.pop_front();
      View& view = p.views[to];
      auto it = std::find_if(view.votes.begin(), view.votes.end(), [&](const Vote& x) { return x.voter == v->voter; });
      bool echo = false;
      if (it == view.votes.end()) {
        view.votes.push_back(*v);
        echo = true;
      } else if (it->decision != v->decision &&
                 std::find(view.convicted.begin(), view.convicted.end(), v->voter) == view.convicted.end()) {
        view.convicted.push_back(v->voter);
        echo = true;
      }
      // A faulty member is not trusted to relay; an honest one relays once per new fact.
      if (!echo || is_faulty(to) || to == v->voter) continue;
      for (const auto& m : members) {
        if (m->id == to) continue;
        queue.emplace_back(m->id, v);
        ++stats.echoes;
      }
    }
    decide_views(p);
  }

  // `signed_here`: cast_vote signed it with the voter's key a moment ago, so checking the MAC
  // again would only repeat the same computation.
  Result<ProposalStatus, SwarmError> accept(const Vote& vote, std::span<const AgentId> recipients, bool signed_here) {
    const std::int64_t now = time.read();
    auto it = proposals.find(vote.proposal);
    if (it == proposals.end()) {
      ++stats.votes_refused_other;
      return Err(SwarmError::UnknownProposal);
    }
    Proposal& p = it->second;
    Member* voter = find(vote.voter);
    if (!voter) {
      ++stats.votes_refused_other;
      return Err(SwarmError::NotEligible);
    }
    // Authenticate first: nothing unsigned may convict anyone or close anything.
    if (!signed_here &&
        !internal::mac_equal(vote.mac, vote_mac(voter->key, vote.proposal, vote.voter, vote.decision, vote.reason))) {
      ++stats.votes_refused_signature;
      return Err(SwarmError::InvalidSignature);
    }
    if (voter->faulty) {
      ++stats.votes_refused_other;
      return Err(SwarmError::NotEligible);
    }
    // A conflicting vote convicts even after the decision: the two signed votes are proof.
    auto prior = std::find_if(p.votes.begin(), p.votes.end(), [&](const CastVote& v) { return v.voter == vote.voter; });
    if (prior != p.votes.end()) {
      if (prior->decision == vote.decision) {
        ++stats.votes_refused_other;
        return Err(p.info.status == ProposalStatus::Open ? SwarmError::AlreadyVoted : SwarmError::ProposalClosed);
      }
      if (config.mode == ConsensusMode::Byzantine) disseminate(p, vote, recipients);
      convict(vote.voter, now);
      return Err(SwarmError::Equivocation);
    }
    if (p.info.status != ProposalStatus::Open) {
      // Refused, but remembered: a later conflicting vote still convicts.
      p.votes.push_back(CastVote{vote.voter, vote.decision});
      ++stats.votes_refused_other;
      return Err(SwarmError::ProposalClosed);
    }
    p.votes.push_back(CastVote{vote.voter, vote.decision});
    ++stats.votes;
    evaluate(p, now);
    if (config.mode == ConsensusMode::Byzantine) disseminate(p, vote, recipients);
    return p.info.status;
  }

  // ---- election and heartbeats -------------------------------------------------------

  void send(Member& from, AgentId to, std::uint32_t kind, std::span<const std::byte> payload, std::int64_t now) {
    ++stats.messages_sent;
    if (!hub.send(from.id, to, kind, payload, now)) ++stats.messages_lost;
  }

  void become_follower(Member& m, std::uint64_t term) {
    if (term > m.term) {
      m.term = term;
      m.voted_for = AgentId{};
      m.leader = AgentId{};
    }
    m.role = MemberRole::Follower;
    m.granted.clear();
    stats.terms = std::max(stats.terms, m.term);
  }

  void become_leader(Member& m, std::int64_t now) {
    m.role = MemberRole::Leader;
    m.leader = m.id;
    m.granted.clear();
    ++stats.leader_changes;
    auto [it, fresh] = term_leaders.emplace(m.term, m.id);
    if (!fresh && it->second != m.id) ++stats.split_brain_terms;
    pending_leaders.push_back(LeaderInfo{m.id, m.term});
    // Announce at once, so followers stop their own elections.
    m.next_heartbeat_ns = now;
    send_heartbeats(m, now);
  }

  void start_election(Member& m, std::int64_t now) {
    ++m.term;
    stats.terms = std::max(stats.terms, m.term);
    ++stats.elections;
    m.role = MemberRole::Candidate;
    m.voted_for = m.id;
    m.leader = AgentId{};
    m.granted.assign(1, m.id);
    m.election_deadline_ns = now + random_timeout_ns();
    if (2 * m.granted.size() > members.size()) {
      become_leader(m, now);
      return;
    }
    const auto payload = encode(m.term, 0);
    for (const auto& peer : members)
      if (peer->id != m.id) send(m, peer->id, kRequestVote, std::span(payload).first(9), now);
  }

  // Every member heartbeats to the next kHeartbeatFanout members (ring order, skipping the
  // failed), so each is watched by several; a leader heartbeats to all (Raft's AppendEntries).
  static constexpr std::size_t kHeartbeatFanout = 3;

  void send_heartbeats(Member& m, std::int64_t now) {
    const auto payload = encode(m.term, static_cast<std::uint8_t>(m.role));
    const std::size_t n = members.size();
    std::size_t self = 0;
    while (self < n && members[self].get() != &m) ++self;
    std::size_t sent_to = 0;
    for (std::size_t step = 1; step < n; ++step) {
      Member& peer = *members[(self + step) % n];
      const bool watcher = sent_to < kHeartbeatFanout && !peer.failed;
      if (m.role != MemberRole::Leader && !watcher) continue;
      if (watcher) ++sent_to;
      send(m, peer.id, kHeartbeat, payload, now);
      ++stats.heartbeats_sent;
    }
    m.next_heartbeat_ns += interval_ns();
    if (m.next_heartbeat_ns <= now) {
      // Ticks came slower than the interval: the heartbeats in between never left.
      stats.heartbeats_missed += static_cast<std::uint64_t>((now - m.next_heartbeat_ns) / interval_ns() + 1);
      m.next_heartbeat_ns = now + interval_ns();
    }
  }

  void heard(AgentId from, std::int64_t sent_ns) {
    Member* s = find(from);
    if (!s) return;
    s->last_heard_ns = std::max(s->last_heard_ns, sent_ns);
    if (s->failed) {
      s->failed = false;
      ++stats.recoveries;
    }
  }

  void handle(Member& m, const Message& msg, std::int64_t now) {
    ++stats.messages_received;
    const bool known = msg.kind == kHeartbeat || msg.kind == kRequestVote || msg.kind == kVoteReply;
    const std::optional<Wire> decoded = known ? decode(msg.kind, msg.payload) : std::optional<Wire>{};
    if (!decoded || !find(msg.from)) {
      ++stats.messages_malformed;
      return;
    }
    const Wire* w = &*decoded;
    if (w->term > m.term) become_follower(m, w->term);
    switch (msg.kind) {
      case kHeartbeat: {
        heard(msg.from, msg.sent_ns);
        if (w->flag == static_cast<std::uint8_t>(MemberRole::Leader) && w->term == m.term) {
          if (m.role == MemberRole::Leader && msg.from != m.id) {
            ++stats.split_brain_terms;  // impossible by construction; counted if it ever happens
            break;
          }
          m.role = MemberRole::Follower;
          m.granted.clear();
          m.leader = msg.from;
          m.election_deadline_ns = now + random_timeout_ns();
        }
        break;
      }
      case kRequestVote: {
        const bool grant = w->term == m.term && (!m.voted_for.valid() || m.voted_for == msg.from);
        if (grant) {
          m.voted_for = msg.from;
          m.election_deadline_ns = now + random_timeout_ns();
        }
        const auto reply = encode(m.term, grant ? 1 : 0);
        send(m, msg.from, kVoteReply, reply, now);
        break;
      }
      case kVoteReply: {
        if (m.role != MemberRole::Candidate || w->term != m.term || w->flag != 1) break;
        if (std::find(m.granted.begin(), m.granted.end(), msg.from) == m.granted.end()) m.granted.push_back(msg.from);
        if (2 * m.granted.size() > members.size()) become_leader(m, now);
        break;
      }
      default: break;
    }
  }

  void tick() {
    const std::int64_t now = time.read();
    // Every member's heartbeats leave from tick(): while the coordinator itself was not ticking
    // (a paused event loop, a stalled owner thread) nobody could send or be heard, so that
    // gap is nobody's silence. Failure detection and election timers count ticking time.
    if (last_tick_ns != 0 && now - last_tick_ns > interval_ns()) {
      const std::int64_t gap = now - last_tick_ns - interval_ns();
      for (auto& mp : members) {
        mp->last_heard_ns += gap;
        mp->election_deadline_ns += gap;
      }
      ++stats.tick_gaps;
    }
    last_tick_ns = now;
    for (auto& mp : members) {
      Member& m = *mp;
      if (!m.alive) continue;
      inbox.clear();
      hub.receive(m.id, inbox);
      for (Message& msg : inbox) {
        hub.ack(m.id, msg);
        if (msg.kind < kCoordinationKinds) {
          if (on_foreign) pending_foreign.push_back(std::move(msg));
          continue;
        }
        handle(m, msg, now);
      }
    }
    for (auto& mp : members) {
      Member& m = *mp;
      if (!m.alive) continue;
      if (m.role != MemberRole::Leader && now >= m.election_deadline_ns) start_election(m, now);
      if (now >= m.next_heartbeat_ns) send_heartbeats(m, now);
    }
    // Failures are what live peers stop hearing. A member with no live peer has nobody to miss
    // its heartbeats: its silence proves nothing, so its clock restarts instead.
    std::size_t alive_members = 0;
    for (const auto& mp : members) alive_members += mp->alive ? 1 : 0;
    if (members.size() >= 2) {
      const std::int64_t bound = static_cast<std::int64_t>(config.failure_threshold) * interval_ns();
      for (auto& mp : members) {
        Member& m = *mp;
        if (m.alive && alive_members < 2) {
          m.last_heard_ns = now;
          continue;
        }
        if (m.failed || now - m.last_heard_ns <= bound) continue;
        m.failed = true;
        ++stats.failures_detected;
        pending_failures.push_back(m.id);
      }
    }
    const auto timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(config.proposal_timeout).count();
    while (!open_order.empty()) {
      auto it = proposals.find(open_order.front());
      if (it != proposals.end() && it->second.info.status == ProposalStatus::Open) {
        if (now - it->second.info.created_ns < timeout) break;
        close(it->second, ProposalStatus::Expired, now);
        if (config.mode == ConsensusMode::Byzantine) decide_views(it->second);
      }
      open_order.pop_front();
    }
  }

  LeaderInfo leader() const {
    LeaderInfo best;
    for (const auto& m : members)
      if (m->alive && m->role == MemberRole::Leader && m->term > best.term) best = LeaderInfo{m->id, m->term};
    return best;
  }

  MemberInfo info(const Member& m) const {
    return MemberInfo{m.id, m.role, m.term, m.voted_for, m.leader, m.alive, m.failed, m.faulty, m.last_heard_ns};
  }
};

SwarmCoordinator::SwarmCoordinator(CommunicationHub& hub, CoordinatorConfig config, TimeSource time)
    : impl_(std::make_unique<Impl>(hub, std::move(config), time)) {}
SwarmCoordinator::~SwarmCoordinator() = default;

const CoordinatorConfig& SwarmCoordinator::config() const noexcept { return impl_->config; }

Result<void, SwarmError> SwarmCoordinator::add_member(AgentId id) {
  if (!id.valid()) return Err(SwarmError::UnknownAgent);
  std::lock_guard lock(impl_->mutex);
  if (impl_->find(id)) return Err(SwarmError::DuplicateAgent);
  if (auto added = impl_->hub.add_agent(id); !added && added.error() != SwarmError::DuplicateAgent)
    return Err(added.error());
  const std::int64_t now = impl_->time.read();
  auto m = std::make_unique<Member>();
  m->id = id;
  m->key = impl_->key_for(id);
  m->election_deadline_ns = now + impl_->random_timeout_ns();
  m->next_heartbeat_ns = now;
  m->last_heard_ns = now;
  m->alive = impl_->hub.alive(id);
  // Ticking starts from the first member: a long wait before the first tick() (a big
  // submission, a slow start) is a gap like any other, not the members' silence.
  if (impl_->last_tick_ns == 0) impl_->last_tick_ns = now;
  impl_->by_id.emplace(id, m.get());
  impl_->members.push_back(std::move(m));
  return {};
}

void SwarmCoordinator::remove_member(AgentId id) {
  std::lock_guard lock(impl_->mutex);
  auto it = std::find_if(impl_->members.begin(), impl_->members.end(), [&](const auto& m) { return m->id == id; });
  if (it == impl_->members.end()) return;
  impl_->by_id.erase(id);
  impl_->members.erase(it);
  const std::int64_t now = impl_->time.read();
  for (ProposalId pid : impl_->open_order) {
    auto p = impl_->proposals.find(pid);
    if (p == impl_->proposals.end() || p->second.info.status != ProposalStatus::Open) continue;
    auto& votes = p->second.votes;
    votes.erase(std::remove_if(votes.begin(), votes.end(), [&](const CastVote& v) { return v.voter == id; }), votes.end());
    p->second.views.erase(id);
    impl_->evaluate(p->second, now);
  }
}

Result<ProposalId, SwarmError> SwarmCoordinator::submit_proposal(AgentId proposer, ProposalType type,
                                                                  std::span<const std::byte> data) {
  std::lock_guard lock(impl_->mutex);
  const Member* m = impl_->find(proposer);
  if (!m) return Err(SwarmError::UnknownAgent);
  if (m->faulty) return Err(SwarmError::NotEligible);
  const ProposalId id{impl_->next_proposal++};
  Proposal p;
  p.info.id = id;
  p.info.proposer = proposer;
  p.info.type = type;
  p.info.data.assign(data.begin(), data.end());
  p.info.created_ns = impl_->time.read();
  impl_->proposals.emplace(id, std::move(p));
  impl_->open_order.push_back(id);
  ++impl_->stats.proposals;
  return id;
}

Vote SwarmCoordinator::sign_vote(ProposalId p, AgentId voter, VoteDecision d, std::string_view reason) const {
  Vote v{p, voter, d, std::string(reason), {}};
  std::lock_guard lock(impl_->mutex);
  const Member* m = impl_->find(voter);
  v.mac = m ? vote_mac(m->key, p, voter, d, reason) : vote_mac(impl_->key_for(voter), p, voter, d, reason);
  return v;
}

Result<ProposalStatus, SwarmError> SwarmCoordinator::cast_vote(ProposalId p, AgentId voter, VoteDecision d,
                                                               std::string_view reason) {
  std::lock_guard lock(impl_->mutex);
  const Member* m = impl_->find(voter);
  if (!m) {
    ++impl_->stats.votes_refused_other;
    return Err(SwarmError::NotEligible);
  }
  Vote v{p, voter, d, std::string(reason), vote_mac(m->key, p, voter, d, reason)};
  return impl_->accept(v, {}, true);
}

Result<ProposalStatus, SwarmError> SwarmCoordinator::submit_vote(const Vote& vote, std::span<const AgentId> recipients) {
  std::lock_guard lock(impl_->mutex);
  return impl_->accept(vote, recipients, false);
}

Result<ProposalStatus, SwarmError> SwarmCoordinator::status(ProposalId p) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->proposals.find(p);
  if (it == impl_->proposals.end()) return Err(SwarmError::UnknownProposal);
  return it->second.info.status;
}

std::optional<ProposalInfo> SwarmCoordinator::proposal(ProposalId p) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->proposals.find(p);
  if (it == impl_->proposals.end()) return std::nullopt;
  return it->second.info;
}

Result<ProposalStatus, SwarmError> SwarmCoordinator::decision(ProposalId p, AgentId member) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->proposals.find(p);
  if (it == impl_->proposals.end()) return Err(SwarmError::UnknownProposal);
  if (!impl_->find(member)) return Err(SwarmError::UnknownAgent);
  if (impl_->config.mode != ConsensusMode::Byzantine) return it->second.info.status;
  auto v = it->second.views.find(member);
  if (v == it->second.views.end())
    return it->second.info.status == ProposalStatus::Expired ? ProposalStatus::Expired : ProposalStatus::Open;
  return v->second.decided;
}

LeaderInfo SwarmCoordinator::leader() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->leader();
}

std::optional<MemberInfo> SwarmCoordinator::member(AgentId id) const {
  std::lock_guard lock(impl_->mutex);
  const Member* m = impl_->find(id);
  if (!m) return std::nullopt;
  return impl_->info(*m);
}

std::vector<MemberInfo> SwarmCoordinator::members() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<MemberInfo> out;
  out.reserve(impl_->members.size());
  for (const auto& m : impl_->members) out.push_back(impl_->info(*m));
  return out;
}

void SwarmCoordinator::tick() {
  std::vector<AgentId> failures;
  std::vector<LeaderInfo> leaders;
  std::function<void(AgentId)> on_failure;
  std::function<void(LeaderInfo)> on_leader;
  std::vector<Message> foreign;
  std::function<void(Message&&)> on_foreign;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->tick();
    failures.swap(impl_->pending_failures);
    leaders.swap(impl_->pending_leaders);
    foreign.swap(impl_->pending_foreign);
    on_failure = impl_->on_failure;
    on_leader = impl_->on_leader;
    on_foreign = impl_->on_foreign;
  }
  if (on_foreign)
    for (Message& m : foreign) on_foreign(std::move(m));
  if (on_leader)
    for (const LeaderInfo& l : leaders) on_leader(l);
  if (on_failure)
    for (AgentId a : failures) on_failure(a);
}

void SwarmCoordinator::kill(AgentId id) {
  std::lock_guard lock(impl_->mutex);
  Member* m = impl_->find(id);
  if (!m || !m->alive) return;
  m->alive = false;
  impl_->hub.kill(id);
}

void SwarmCoordinator::revive(AgentId id) {
  std::lock_guard lock(impl_->mutex);
  Member* m = impl_->find(id);
  if (!m || m->alive) return;
  impl_->hub.revive(id);
  // A restarted process: volatile state gone, term and vote kept (Raft persists them).
  const std::int64_t now = impl_->time.read();
  m->alive = true;
  m->role = MemberRole::Follower;
  m->leader = AgentId{};
  m->granted.clear();
  m->election_deadline_ns = now + impl_->random_timeout_ns();
  m->next_heartbeat_ns = now;
  std::vector<Message> stale;
  impl_->hub.receive(id, stale);  // what queued before the kill is not for the new process
}

void SwarmCoordinator::set_on_failure(std::function<void(AgentId)> callback) {
  std::lock_guard lock(impl_->mutex);
  impl_->on_failure = std::move(callback);
}

void SwarmCoordinator::set_on_foreign_message(std::function<void(Message&&)> callback) {
  std::lock_guard lock(impl_->mutex);
  impl_->on_foreign = std::move(callback);
}

void SwarmCoordinator::set_on_leader(std::function<void(LeaderInfo)> callback) {
  std::lock_guard lock(impl_->mutex);
  impl_->on_leader = std::move(callback);
}

bool SwarmCoordinator::byzantine_tolerant() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->config.mode == ConsensusMode::Byzantine && 3 * impl_->faulty_count() < impl_->members.size();
}

std::vector<AgentId> SwarmCoordinator::faulty() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<AgentId> out;
  for (const auto& m : impl_->members)
    if (m->faulty) out.push_back(m->id);
  return out;
}

CoordinationStats SwarmCoordinator::stats() const {
  std::lock_guard lock(impl_->mutex);
  CoordinationStats s = impl_->stats;
  s.members = impl_->members.size();
  s.alive = static_cast<std::size_t>(
      std::count_if(impl_->members.begin(), impl_->members.end(), [](const auto& m) { return m->alive; }));
  s.open_proposals = 0;
  for (ProposalId id : impl_->open_order) {
    auto it = impl_->proposals.find(id);
    if (it != impl_->proposals.end() && it->second.info.status == ProposalStatus::Open) ++s.open_proposals;
  }
  s.byzantine_tolerant =
      impl_->config.mode == ConsensusMode::Byzantine && 3 * impl_->faulty_count() < impl_->members.size();
  return s;
}

void SwarmCoordinator::append_metrics(MetricsSnapshot& out) const {
  const CoordinationStats s = stats();
  const LeaderInfo l = leader();
  const std::string mode(to_string(config().mode));
  auto counter = [&](std::string_view name, std::string_view help, MetricLabels labels, std::uint64_t v) {
    (void)out.add_counter(name, help, std::move(labels), v);
  };
  auto gauge = [&](std::string_view name, std::string_view help, MetricLabels labels, double v) {
    (void)out.add_gauge(name, help, std::move(labels), v);
  };
  counter("swarm_coordination_proposals_total", "Proposals submitted", {}, s.proposals);
  const char* kDecided = "Proposals closed, by outcome";
  counter("swarm_coordination_decided_total", kDecided, {{"outcome", "accepted"}}, s.accepted);
  counter("swarm_coordination_decided_total", kDecided, {{"outcome", "rejected"}}, s.rejected);
  counter("swarm_coordination_decided_total", kDecided, {{"outcome", "expired"}}, s.expired);
  counter("swarm_coordination_votes_total", "Votes counted", {}, s.votes);
  const char* kRefused = "Votes refused, by cause";
  counter("swarm_coordination_votes_refused_total", kRefused, {{"cause", "signature"}}, s.votes_refused_signature);
  counter("swarm_coordination_votes_refused_total", kRefused, {{"cause", "other"}}, s.votes_refused_other);
  counter("swarm_coordination_equivocations_total", "Second, different signed votes seen", {}, s.equivocations);
  gauge("swarm_coordination_faulty_agents", "Members marked faulty (equivocated)", {}, static_cast<double>(s.faulty_agents));
  gauge("swarm_coordination_byzantine_tolerant",
        "1 while the Byzantine mode tolerates its faulty members (3f < n), else 0", {{"mode", mode}},
        s.byzantine_tolerant ? 1.0 : 0.0);
  counter("swarm_coordination_elections_total", "Candidacies started", {}, s.elections);
  counter("swarm_coordination_leader_changes_total", "Elections won", {}, s.leader_changes);
  counter("swarm_coordination_split_brain_terms_total", "Terms with two leaders (must stay 0)", {}, s.split_brain_terms);
  gauge("swarm_coordination_term", "Highest term reached", {}, static_cast<double>(s.terms));
  gauge("swarm_coordination_leader", "Agent id of the current leader (0: none)", {}, static_cast<double>(l.agent.value));
  counter("swarm_coordination_heartbeats_total", "Heartbeats sent", {}, s.heartbeats_sent);
  counter("swarm_coordination_heartbeats_missed_total", "Heartbeat intervals skipped by slow ticks", {}, s.heartbeats_missed);
  counter("swarm_coordination_failures_detected_total", "Members reported failed", {}, s.failures_detected);
  counter("swarm_coordination_tick_gaps_total", "Ticks more than a heartbeat interval apart (the gap blames nobody)", {}, s.tick_gaps);
  counter("swarm_coordination_recoveries_total", "Failed members heard again", {}, s.recoveries);
  const char* kMsgs = "Coordination messages, by fate";
  counter("swarm_coordination_messages_total", kMsgs, {{"fate", "sent"}}, s.messages_sent);
  counter("swarm_coordination_messages_total", kMsgs, {{"fate", "received"}}, s.messages_received);
  counter("swarm_coordination_messages_total", kMsgs, {{"fate", "refused"}}, s.messages_lost);
  counter("swarm_coordination_messages_total", kMsgs, {{"fate", "malformed"}}, s.messages_malformed);
  gauge("swarm_coordination_members", "Members", {}, static_cast<double>(s.members));
  gauge("swarm_coordination_members_alive", "Members not killed", {}, static_cast<double>(s.alive));
  gauge("swarm_coordination_open_proposals", "Proposals still open", {}, static_cast<double>(s.open_proposals));
}

}  // namespace omega::swarm
