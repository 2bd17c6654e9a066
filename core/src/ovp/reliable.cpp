#include <omega/base/assert.hpp>
#include <omega/ovp/reliable.hpp>

#include <algorithm>
#include <string>

namespace omega::ovp {
namespace {

// RFC 1982 serial-number difference: positive when a is after b.
constexpr std::int32_t seq_diff(std::uint32_t a, std::uint32_t b) noexcept {
  return static_cast<std::int32_t>(a - b);
}
// Slot rings: a power of two of slots, so that sequence & mask stays consistent across the
// 2^32 wrap, and at least the window, so that a window's sequences never share a slot.
constexpr std::uint32_t ring_size(std::uint32_t window) noexcept {
  std::uint32_t n = 1;
  while (n < window) n <<= 1;
  return n;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// RtoEstimator

RtoEstimator::RtoEstimator(Nanos initial, Nanos min, Nanos max, Nanos granularity) noexcept
    : min_(min), max_(max), granularity_(granularity), rto_(initial) {
  rto_ = clamp(rto_);
}

Nanos RtoEstimator::clamp(Nanos v) const noexcept { return std::clamp(v, min_, max_); }

void RtoEstimator::on_sample(Nanos rtt) noexcept {
  if (rtt < Nanos(0)) rtt = Nanos(0);
  if (!has_sample_) {
    // RFC 6298 2.2
    srtt_ = rtt;
    rttvar_ = rtt / 2;
    has_sample_ = true;
  } else {
    // RFC 6298 2.3, alpha = 1/8, beta = 1/4; RTTVAR first, with the old SRTT.
    const Nanos err = srtt_ > rtt ? srtt_ - rtt : rtt - srtt_;
    rttvar_ = (3 * rttvar_ + err) / 4;
    srtt_ = (7 * srtt_ + rtt) / 8;
  }
  rto_ = clamp(srtt_ + std::max(granularity_, 4 * rttvar_));
}

void RtoEstimator::on_timeout() noexcept {
  // RFC 6298 5.5: back off; the next sample (from a message sent once) recomputes it.
  rto_ = rto_ >= max_ / 2 ? max_ : rto_ * 2;
}

// ---------------------------------------------------------------------------------------
// Per-peer state

struct ReliableEndpoint::Peer {
  struct OutSlot {
    std::vector<std::uint8_t> payload;  // capacity kept across reuse: no allocation once warm
    std::uint16_t channel = 0;
    std::uint32_t transmissions = 0;  // 0: not sent yet
    Nanos sent_at{0};                  // last transmission
    bool sacked = false;
    bool retransmit = false;  // due at the next poll
    bool probed = false;      // first sent as a window probe: gives no RTT sample
  };
  struct InSlot {
    std::vector<std::uint8_t> payload;
    std::uint16_t channel = 0;
    std::uint32_t sequence = 0;
    bool present = false;
  };
  struct Queued {
    std::uint16_t channel;
    std::vector<std::uint8_t> payload;
  };

  explicit Peer(std::uint32_t peer_id, const ReliableConfig& c)
      : id(peer_id),
        snd_una(c.first_sequence),
        snd_new(c.first_sequence),
        snd_nxt(c.first_sequence),
        rtx_end(c.first_sequence),
        rto(c.initial_rto, c.min_rto, c.max_rto, c.clock_granularity),
        send_limit(c.first_sequence - 1 + std::min(c.window, kSackBits)) {}

  std::uint32_t id;
  std::optional<std::uint32_t> epoch;
  // Sending: [snd_una, snd_nxt) in flight, in out[seq & mask]; of those, [snd_una, snd_new)
  // were transmitted at least once and [snd_new, snd_nxt) wait for their first (window
  // room at the peer). Retransmissions are marked only below rtx_end. The ring is
  // allocated with the first message, so peers we only hear from cost no slots.
  std::uint32_t snd_una;
  std::uint32_t snd_new;
  std::uint32_t snd_nxt;
  std::uint32_t rtx_end;
  std::vector<OutSlot> out;
  std::deque<Queued> queue;
  RtoEstimator rto;
  std::optional<Nanos> rto_deadline;
  // After a timeout that left messages beyond the bitmap's reach unsent again: until snd_una
  // reaches `recover`, each ACK that moves snd_una resends what its bitmap now shows missing
  // among the messages last sent before `recover_since`.
  std::optional<std::uint32_t> recover;
  Nanos recover_since{0};
  bool send_pending = false;  // a slot waits for its first transmission or a retransmission
  // Receiving: delivered through rcv_cum; (rcv_cum, rcv_cum + window] may wait in in[]
  // (allocated with the first early arrival: a peer whose data comes in order needs none).
  std::uint32_t rcv_cum = 0;
  bool rcv_synced = false;  // rcv_cum was set from this sender incarnation's DATA
  std::vector<InSlot> in;
  std::uint32_t buffered = 0;  // slots of in[] present: arrived early, waiting for a gap
  bool ack_owed = false;
  std::uint32_t acked_cum = 0;  // rcv_cum as of the last ACK sent
  // Flow control: the highest sequence the peer's last ACK said it has room for (none: it
  // advertised no limit). New messages past it wait; a timer expiry probes with one. Until
  // the first ACK tells the peer's room, at most one bitmap's reach (64) goes out: a large
  // window does not land on a receiver whose queue may be nearly full.
  std::optional<std::uint32_t> send_limit;
  Nanos ack_due{0};

  [[nodiscard]] std::uint32_t in_flight() const noexcept { return snd_nxt - snd_una; }
};

ReliableEndpoint::ReliableEndpoint(std::uint32_t my_id, const ReliableConfig& config, DeliverFn on_deliver)
    : my_id_(my_id), config_(config), on_deliver_(std::move(on_deliver)) {
  OMEGA_ASSERT(my_id != 0 && my_id != kBroadcast, "a drone id is neither 0 nor the broadcast id");
  OMEGA_ASSERT(config.window >= 1 && config.window <= kMaxReliableWindow, "window must be 1..kMaxReliableWindow");
  OMEGA_ASSERT(config.min_rto > Nanos(0) && config.min_rto <= config.max_rto, "0 < min_rto <= max_rto");
  OMEGA_ASSERT(static_cast<bool>(on_deliver_), "a delivery callback is required");
  ring_mask_ = ring_size(config.window) - 1;
  ack_every_ = config.ack_every != 0 ? std::min(config.ack_every, config.window) : (config.window + 1) / 2;
}

ReliableEndpoint::~ReliableEndpoint() = default;

ReliableEndpoint::Peer* ReliableEndpoint::peer(std::uint32_t id, bool create) {
  auto it = peers_.find(id);
  if (it != peers_.end()) return it->second.get();
  if (!create || peers_.size() >= config_.max_peers) return nullptr;
  return peers_.emplace(id, std::make_unique<Peer>(id, config_)).first->second.get();
}

std::string_view to_string(SendError error) noexcept {
  switch (error) {
    case SendError::BadPeer: return "BadPeer";
    case SendError::PayloadTooLarge: return "PayloadTooLarge";
    case SendError::SendBufferFull: return "SendBufferFull";
    case SendError::TooManyPeers: return "TooManyPeers";
  }
  return "SendError(?)";
}

// ---------------------------------------------------------------------------------------
// Sending

Result<void, SendError> ReliableEndpoint::send(std::uint32_t peer_id, std::uint16_t channel,
                                               std::span<const std::uint8_t> payload) {
  if (peer_id == 0 || peer_id == kBroadcast || peer_id == my_id_) return Err(SendError::BadPeer);
  if (payload.size() > kMaxPayload) return Err(SendError::PayloadTooLarge);
  Peer* pp = peer(peer_id, /*create=*/true);
  if (pp == nullptr) return Err(SendError::TooManyPeers);
  Peer& p = *pp;
  if (p.queue.empty() && p.in_flight() < config_.window) {
    if (p.out.empty()) p.out.resize(ring_mask_ + 1);
    Peer::OutSlot& s = p.out[ring_index(p.snd_nxt)];
    s.payload.assign(payload.begin(), payload.end());
    s.channel = channel;
    s.transmissions = 0;
    s.probed = false;
    s.sacked = false;
    s.retransmit = false;
    ++p.snd_nxt;
    p.send_pending = true;
  } else if (p.queue.size() < config_.send_buffer) {
    p.queue.push_back({channel, std::vector<std::uint8_t>(payload.begin(), payload.end())});
  } else {
    return Err(SendError::SendBufferFull);
  }
  counters_.messages_accepted.add();
  return {};
}

void ReliableEndpoint::fill_window(Peer& p) {
  while (!p.queue.empty() && p.in_flight() < config_.window) {
    if (p.out.empty()) p.out.resize(ring_mask_ + 1);
    Peer::OutSlot& s = p.out[ring_index(p.snd_nxt)];
    Peer::Queued& q = p.queue.front();
    s.payload.swap(q.payload);
    s.channel = q.channel;
    s.transmissions = 0;
    s.probed = false;
    s.sacked = false;
    s.retransmit = false;
    ++p.snd_nxt;
    p.send_pending = true;
    p.queue.pop_front();
  }
}

void ReliableEndpoint::emit_data(Peer& p, std::uint32_t sequence, EmitFn& emit) {
  const Peer::OutSlot& s = p.out[ring_index(sequence)];
  FrameHeader h;
  h.type = FrameType::Data;
  h.flags = kFlagReliable;
  h.channel = s.channel;
  h.source = my_id_;
  h.destination = p.id;
  h.epoch = config_.epoch;
  h.sequence = sequence;
  h.ack = p.snd_una;  // reliable DATA: our lowest unacknowledged sequence
  auto n = encode_ovp(h, s.payload, scratch_);
  OMEGA_ASSERT(n.has_value(), "payload size was checked by send()");
  emit(p.id, std::span<const std::uint8_t>(scratch_.data(), *n));
}

void ReliableEndpoint::emit_ack(Peer& p, EmitFn& emit) {
  std::array<std::uint8_t, kAckPayloadSize> payload{};
  store_be32(payload.data(), p.epoch.value_or(0));
  std::uint64_t bitmap = 0;
  // Bit i: rcv_cum + 2 + i is buffered. Only the receive window can hold anything; what
  // waits beyond the bitmap's reach is acknowledged once the cumulative ack comes near.
  for (std::uint32_t i = 0; p.buffered > 0 && i + 2 <= config_.window && i < kSackBits; ++i) {
    const std::uint32_t seq = p.rcv_cum + 2 + i;
    const Peer::InSlot& s = p.in[ring_index(seq)];
    if (s.present && s.sequence == seq) bitmap |= std::uint64_t{1} << i;
  }
  store_be64(payload.data() + 4, bitmap);
  FrameHeader h;
  h.type = FrameType::Ack;
  h.flags = kFlagAckValid;
  h.source = my_id_;
  h.destination = p.id;
  h.epoch = config_.epoch;
  h.ack = p.rcv_cum;
  // Never more room than the receive window: a sender with a larger window would send
  // what this side can only drop.
  h.sequence = std::min(credit_, config_.window) + 1;
  auto n = encode_ovp(h, payload, scratch_);
  OMEGA_ASSERT(n.has_value(), "ACK frames always fit");
  p.ack_owed = false;
  p.acked_cum = p.rcv_cum;
  counters_.acks_sent.add();
  emit(p.id, std::span<const std::uint8_t>(scratch_.data(), *n));
}

void ReliableEndpoint::mark_retransmit(Peer& p, std::uint32_t sequence) {
  p.out[ring_index(sequence)].retransmit = true;
  if (seq_diff(sequence + 1, p.rtx_end) > 0) p.rtx_end = sequence + 1;
  p.send_pending = true;
}

void ReliableEndpoint::poll(Nanos now, EmitFn emit, bool all_acks) {
  for (auto& [id, ptr] : peers_) {
    Peer& p = *ptr;
    bool probe = false;
    if (p.ack_owed && (all_acks || p.ack_due <= now)) emit_ack(p, emit);

    if (p.rto_deadline && *p.rto_deadline <= now) {
      if (p.in_flight() == 0) {
        p.rto_deadline.reset();
      } else {
        counters_.timeouts.add();
        p.rto.on_timeout();
        // What the ACKs can tell about: the oldest and the bitmap's reach after it. The oldest
        // goes again even if selectively acked: a receiver may lose what it buffered
        // (restart), and the stream cannot move on without it. Further messages may sit in
        // the receiver's buffer unreported; they go again only if the ACKs that answer this
        // leave them behind (recover_ below), so a late ACK does not cost a whole window.
        const std::uint32_t reach = p.snd_una + kSackBits + 1;
        for (std::uint32_t seq = p.snd_una; seq != p.snd_new && seq != reach; ++seq) {
          if (!p.out[ring_index(seq)].sacked || seq == p.snd_una) mark_retransmit(p, seq);
        }
        if (seq_diff(p.snd_new, reach) > 0) {
          p.recover = p.snd_new;
          p.recover_since = now;
        }
        // Nothing sent is outstanding: everything waits for room at the peer, whose window
        // update may have been lost. Probe with the first waiting message.
        probe = p.snd_new == p.snd_una;
        p.send_pending = true;
        p.rto_deadline = now + p.rto.rto();
      }
    }

    if (p.send_pending) {
      p.send_pending = false;
      // Retransmissions first (all below snd_new), then first transmissions: sequence order.
      if (seq_diff(p.rtx_end, p.snd_una) > 0) {
        for (std::uint32_t seq = p.snd_una; seq != p.rtx_end; ++seq) {
          Peer::OutSlot& s = p.out[ring_index(seq)];
          if (!s.retransmit) continue;
          counters_.retransmissions.add();
          s.retransmit = false;
          s.sent_at = now;
          ++s.transmissions;
          emit_data(p, seq, emit);
        }
      }
      p.rtx_end = p.snd_una;
      while (p.snd_new != p.snd_nxt) {
        Peer::OutSlot& s = p.out[ring_index(p.snd_new)];
        if (p.send_limit && seq_diff(p.snd_new, *p.send_limit) > 0) {
          if (!probe) break;  // no room at the peer yet
          probe = false;
          s.probed = true;
        }
        counters_.data_sent.add();
        s.retransmit = false;
        s.sent_at = now;
        s.transmissions = 1;
        emit_data(p, p.snd_new, emit);
        ++p.snd_new;
      }
      // RFC 6298 5.1: start the timer when data goes out and it is not running.
      if (!p.rto_deadline && p.in_flight() > 0) p.rto_deadline = now + p.rto.rto();
    }
  }
}

std::optional<Nanos> ReliableEndpoint::next_timeout() const noexcept {
  std::optional<Nanos> t;
  auto consider = [&t](Nanos v) { t = t ? std::min(*t, v) : v; };
  for (const auto& [id, ptr] : peers_) {
    const Peer& p = *ptr;
    if (p.send_pending) consider(Nanos::min());
    if (p.ack_owed) consider(p.ack_due);
    if (p.rto_deadline) consider(*p.rto_deadline);
  }
  return t;
}

bool ReliableEndpoint::idle() const noexcept {
  for (const auto& [id, ptr] : peers_) {
    const Peer& p = *ptr;
    if (p.in_flight() > 0 || !p.queue.empty() || p.ack_owed) return false;
  }
  return true;
}

PeerStats ReliableEndpoint::peer_stats(std::uint32_t peer_id) const {
  PeerStats st;
  auto it = peers_.find(peer_id);
  if (it == peers_.end()) return st;
  const Peer& p = *it->second;
  st.epoch = p.epoch;
  st.in_flight = p.in_flight();
  st.queued = p.queue.size();
  st.next_sequence = p.snd_nxt;
  st.delivered_through = p.rcv_cum;
  st.srtt = p.rto.srtt();
  st.rto = p.rto.rto();
  st.rtt_sampled = p.rto.has_sample();
  return st;
}

// ---------------------------------------------------------------------------------------
// Receiving

Result<void, DecodeError> ReliableEndpoint::on_packet(std::span<const std::uint8_t> packet, Nanos now) {
  auto view = decoder_.record(decode_ovp(packet, DecodeFilter{my_id_, {}}));
  if (!view) return Err(view.error());
  on_frame(*view, now);
  return {};
}

bool ReliableEndpoint::on_frame(const FrameView& frame, Nanos now) {
  const FrameHeader& h = frame.header;
  const bool reliable_data = h.type == FrameType::Data && (h.flags & kFlagReliable) != 0;
  if (!reliable_data && h.type != FrameType::Ack) {
    counters_.not_reliable.add();
    return false;
  }
  if (h.source == my_id_ || h.destination != my_id_) {
    // Decoded without our filter (a gateway's view): not addressed to this endpoint.
    counters_.not_reliable.add();
    return false;
  }
  // An ACK from a peer we never sent to acknowledges nothing: no state for it.
  Peer* pp = peer(h.source, /*create=*/reliable_data);
  if (pp == nullptr) {
    counters_.peers_refused.add();
    return true;
  }
  Peer& p = *pp;
  if (!observe_epoch(p, h.epoch)) return true;
  if (reliable_data) {
    on_data(p, frame, now);
  } else {
    on_ack(p, frame, now);
  }
  return true;
}

bool ReliableEndpoint::observe_epoch(Peer& p, std::uint32_t epoch) {
  if (!p.epoch) {
    p.epoch = epoch;
    return true;
  }
  if (epoch == *p.epoch) return true;
  if (epoch < *p.epoch) {
    counters_.stale_epoch.add();
    return false;
  }
  counters_.peer_restarts.add();
  p.epoch = epoch;
  restart_streams(p);
  return true;
}

void ReliableEndpoint::restart_streams(Peer& p) {
  // Our stream to it keeps its numbering: the new incarnation learns where it stands from
  // the lowest-unacked field of our DATA frames. What the old incarnation acknowledged was
  // delivered there; everything else is sent again now (its buffer, and with it what it had
  // selectively acked, is gone).
  for (std::uint32_t seq = p.snd_una; seq != p.snd_new; ++seq) {
    p.out[ring_index(seq)].sacked = false;
    mark_retransmit(p, seq);
  }
  if (p.in_flight() > 0) p.send_pending = true;
  // Its stream to us starts over: the next DATA frame says where.
  p.recover.reset();
  p.rcv_synced = false;
  p.rcv_cum = 0;
  for (Peer::InSlot& s : p.in) s.present = false;
  p.buffered = 0;
  p.ack_owed = false;
}

void ReliableEndpoint::request_ack(std::uint32_t peer_id, Nanos now) {
  Peer* p = peer(peer_id, false);
  if (p && p->epoch) owe_ack(*p, now);
}

void ReliableEndpoint::owe_ack(Peer& p, Nanos due) {
  if (!p.ack_owed || due < p.ack_due) p.ack_due = due;
  p.ack_owed = true;
}

void ReliableEndpoint::deliver_waiting(Peer& p) {
  while (p.buffered > 0) {
    Peer::InSlot& s = p.in[ring_index(p.rcv_cum + 1)];
    if (!s.present || s.sequence != p.rcv_cum + 1) return;
    s.present = false;
    --p.buffered;
    p.rcv_cum = s.sequence;
    counters_.delivered.add();
    on_deliver_(Delivery{p.id, *p.epoch, s.channel, s.sequence, s.payload});
  }
}

void ReliableEndpoint::on_data(Peer& p, const FrameView& frame, Nanos now) {
  const std::uint32_t seq = frame.header.sequence;
  // The sender never sends again below its lowest unacknowledged sequence: everything
  // before it was delivered, here or (after our restart) by our previous incarnation. A
  // fresh receiver starts there; an established one is already there, unless acks from our
  // previous incarnation moved the sender on, in which case it skips ahead. The slots it
  // skips hold only what that incarnation delivered.
  const std::uint32_t sender_una = frame.header.ack;
  if (!p.rcv_synced || seq_diff(sender_una - 1, p.rcv_cum) > 0) {
    p.rcv_synced = true;
    p.rcv_cum = sender_una - 1;
    for (Peer::InSlot& s : p.in) {
      if (p.buffered == 0) break;
      if (s.present && seq_diff(s.sequence, p.rcv_cum) <= 0) {
        s.present = false;
        --p.buffered;
      }
    }
    deliver_waiting(p);
  }
  const std::int32_t d = seq_diff(seq, p.rcv_cum);
  if (d <= 0) {
    // Already delivered: our ACK was probably lost. Re-ack now.
    counters_.duplicates.add();
    owe_ack(p, now);
    return;
  }
  if (static_cast<std::uint32_t>(d) > config_.window) {
    counters_.out_of_window.add();
    owe_ack(p, now);
    return;
  }
  if (d == 1) {
    p.rcv_cum = seq;
    counters_.delivered.add();
    on_deliver_(Delivery{p.id, *p.epoch, frame.header.channel, seq, frame.payload});
    deliver_waiting(p);
    // In order and nothing else waiting: the ack may wait for ack_delay; otherwise the
    // sender needs the selective-ack picture now.
    // ack_every messages delivered since the last ACK: ack now, or a sender limited by the
    // window waits for the delay on every window. Likewise once as many arrived since the
    // last ACK as our receive queue still has room for: a sender limited by the room we
    // advertised needs to hear the new room now, not after the delay.
    const std::uint32_t since = p.rcv_cum - p.acked_cum;
    const bool enough = since >= ack_every_ || since >= credit_;
    owe_ack(p, p.buffered > 0 || enough ? now : now + config_.ack_delay);
    return;
  }
  if (p.in.empty()) p.in.resize(ring_mask_ + 1);
  Peer::InSlot& s = p.in[ring_index(seq)];
  if (s.present && s.sequence == seq) {
    counters_.duplicates.add();
  } else {
    // Slots hold sequences in (rcv_cum, rcv_cum + window], distinct modulo the ring size.
    OMEGA_DASSERT(!s.present, "receive slot aliased");
    s.payload.assign(frame.payload.begin(), frame.payload.end());
    s.channel = frame.header.channel;
    s.sequence = seq;
    s.present = true;
    ++p.buffered;
  }
  owe_ack(p, now);
}

void ReliableEndpoint::on_ack(Peer& p, const FrameView& frame, Nanos now) {
  counters_.acks_received.add();
  // Payload size was checked by the decoder (kAckPayloadSize).
  const std::uint32_t acked_epoch = load_be32(frame.payload.data());
  const std::uint64_t bitmap = load_be64(frame.payload.data() + 4);
  if (acked_epoch != config_.epoch) {
    counters_.stale_epoch.add();
    return;
  }
  const std::uint32_t cum = frame.header.ack;
  if (seq_diff(cum, p.snd_new - 1) > 0) {
    counters_.invalid_acks.add();  // acknowledges what was never sent
    return;
  }
  // Karn's rule: only messages sent exactly once give RTT samples; of those newly acked,
  // the most recently sent gives the freshest one.
  std::optional<Nanos> sample_sent_at;
  auto sample = [&](const Peer::OutSlot& s) {
    // A probe's answer came when the peer had room, not after one network round trip; and
    // a sample would reset the backed-off timer that paces the probes.
    if (s.transmissions == 1 && !s.sacked && !s.probed && (!sample_sent_at || s.sent_at > *sample_sent_at)) {
      sample_sent_at = s.sent_at;
    }
  };
  bool advanced = false;
  while (seq_diff(cum, p.snd_una) >= 0 && p.snd_una != p.snd_new) {
    Peer::OutSlot& s = p.out[ring_index(p.snd_una)];
    sample(s);
    s.retransmit = false;
    ++p.snd_una;
    advanced = true;
  }
  for (std::uint32_t i = 0; i < kSackBits && bitmap != 0; ++i) {
    if ((bitmap >> i & 1u) == 0) continue;
    const std::uint32_t seq = cum + 2 + i;
    if (seq_diff(seq, p.snd_una) < 0 || seq_diff(seq, p.snd_new) >= 0) continue;
    Peer::OutSlot& s = p.out[ring_index(seq)];
    if (!s.sacked) {
      sample(s);
      s.sacked = true;
      s.retransmit = false;
    }
  }
  if (sample_sent_at) p.rto.on_sample(now - *sample_sent_at);

  if (p.recover) {
    if (seq_diff(p.snd_una, *p.recover) >= 0) {
      p.recover.reset();
    } else if (advanced) {
      const std::uint32_t reach = p.snd_una + kSackBits + 1;
      for (std::uint32_t seq = p.snd_una; seq != *p.recover && seq != reach; ++seq) {
        Peer::OutSlot& s = p.out[ring_index(seq)];
        if (!s.sacked && !s.retransmit && s.sent_at < p.recover_since) mark_retransmit(p, seq);
      }
    }
  }

  // The peer's room (ACK sequence field: credit + 1; 0: no limit). More room than before
  // lets waiting messages go.
  const std::uint32_t credit_field = frame.header.sequence;
  const std::optional<std::uint32_t> before = p.send_limit;
  if (credit_field == 0) {
    p.send_limit.reset();
  } else {
    p.send_limit = cum + (credit_field - 1);
  }
  if (p.in_flight() > 0 && (!p.send_limit || !before || seq_diff(*p.send_limit, *before) > 0)) p.send_pending = true;

  // Fast retransmit: a message with enough selectively acked successors is presumed lost
  // once it is older than SRTT + RTTVAR (jitter reorders frames sent together; the margin
  // keeps that from looking like loss), and resent at most once per such period.
  // Only the bitmap's reach can be selectively acked (every mark was made within 65 of a
  // cumulative ack at or below today's), so the scan starts there, not at the window's end.
  if (config_.fast_retransmit_after > 0 && p.snd_new != p.snd_una) {
    std::uint32_t sacked_above = 0;
    const Nanos min_age = p.rto.has_sample() ? p.rto.srtt() + p.rto.rttvar() : p.rto.rto();
    const std::uint32_t top = seq_diff(p.snd_new, p.snd_una) > static_cast<std::int32_t>(kSackBits + 2)
                                  ? p.snd_una + kSackBits + 1
                                  : p.snd_new - 1;
    for (std::uint32_t seq = top;; --seq) {
      Peer::OutSlot& s = p.out[ring_index(seq)];
      if (s.sacked) {
        ++sacked_above;
      } else if (sacked_above >= config_.fast_retransmit_after && !s.retransmit && now - s.sent_at >= min_age) {
        mark_retransmit(p, seq);
        counters_.fast_retransmits.add();
      }
      if (seq == p.snd_una) break;
    }
  }

  if (advanced) {
    // RFC 6298 5.2/5.3: all acked stops the timer; new data acked restarts it.
    p.rto_deadline.reset();
    if (p.in_flight() > 0) p.rto_deadline = now + p.rto.rto();
    fill_window(p);
  }
}

// ---------------------------------------------------------------------------------------
// Counters

Result<void, MetricsError> ReliableCounters::export_to(MetricsSnapshot& snapshot, const MetricLabels& labels) const {
  const std::pair<const char*, const Counter*> rows[] = {
      {"messages_accepted", &messages_accepted}, {"data_sent", &data_sent},
      {"retransmissions", &retransmissions},     {"fast_retransmits", &fast_retransmits},
      {"timeouts", &timeouts},                   {"acks_sent", &acks_sent},
      {"acks_received", &acks_received},         {"delivered", &delivered},
      {"duplicates", &duplicates},               {"out_of_window", &out_of_window},
      {"stale_epoch", &stale_epoch},             {"invalid_acks", &invalid_acks},
      {"peer_restarts", &peer_restarts},         {"not_reliable", &not_reliable},
      {"peers_refused", &peers_refused},
  };
  for (const auto& [name, counter] : rows) {
    if (auto r = snapshot.add_counter(std::string("omega_ovp_reliable_") + name + "_total",
                                      "OVP reliable mode event count", labels, counter->value());
        !r) {
      return r;
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------
// LossTracker

bool LossTracker::on_sequence(std::uint32_t epoch, std::uint32_t sequence) noexcept {
  if (started_ && epoch != epoch_) {
    if (epoch < epoch_) {
      ++too_old_;  // a frame from an earlier incarnation
      return false;
    }
    lost_before_ += (std::uint64_t{highest_ - base_} + 1) - span_unique_;
    ++restarts_;
    started_ = false;
  }
  if (!started_) {
    started_ = true;
    epoch_ = epoch;
    base_ = highest_ = sequence;
    seen_ = 1;
    span_unique_ = 1;
    ++received_;
    return true;
  }
  const std::int32_t d = static_cast<std::int32_t>(sequence - highest_);
  if (d > 0) {
    seen_ = d >= 64 ? 0 : seen_ << d;
    seen_ |= 1;
    highest_ = sequence;
    ++span_unique_;
    ++received_;
    return true;
  }
  const std::uint32_t back = static_cast<std::uint32_t>(-static_cast<std::int64_t>(d));
  if (back >= 64) {
    ++too_old_;
    return false;
  }
  if ((seen_ >> back & 1u) != 0) {
    ++duplicates_;
    return false;
  }
  seen_ |= std::uint64_t{1} << back;
  if (static_cast<std::int32_t>(sequence - base_) < 0) base_ = sequence;  // earlier than the first seen
  ++span_unique_;
  ++received_;
  ++late_;
  return true;
}

std::uint64_t LossTracker::lost() const noexcept {
  if (!started_) return lost_before_;
  return lost_before_ + (std::uint64_t{highest_ - base_} + 1) - span_unique_;
}

}  // namespace omega::ovp
