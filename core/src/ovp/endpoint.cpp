#include <omega/base/assert.hpp>
#include <omega/ovp/endpoint.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace omega::ovp {
namespace {

// Staged best-effort message: u16 length, u16 channel, u32 sequence, then the body.
constexpr std::size_t kStagedHeader = 8;

}  // namespace

std::string_view to_string(EmitError error) noexcept {
  switch (error) {
    case EmitError::PayloadTooLarge: return "PayloadTooLarge";
    case EmitError::BadTarget: return "BadTarget";
    case EmitError::SendBufferFull: return "SendBufferFull";
    case EmitError::TooManyPeers: return "TooManyPeers";
  }
  return "EmitError(?)";
}

std::uint32_t session_epoch(std::uint64_t unix_ms, std::uint32_t previous) noexcept {
  constexpr std::uint64_t kBase = 1'577'836'800'000;  // 2020-01-01T00:00:00Z
  const std::uint64_t ticks = unix_ms > kBase ? (unix_ms - kBase) * 256 / 1000 : 0;
  std::uint32_t e = static_cast<std::uint32_t>(ticks);
  if (e <= previous) e = previous + 1;
  return e == 0 ? 1 : e;
}

std::string validate(const EndpointConfig& c) {
  if (c.my_drone_id == 0 || c.my_drone_id == kBroadcast) {
    return "my_drone_id must lie in 1..4294967294, got " + std::to_string(c.my_drone_id);
  }
  for (std::uint32_t g : c.groups) {
    if (g == 0 || g == kBroadcast) return "group id " + std::to_string(g) + " is not a group (1..4294967294)";
  }
  if (c.receive_buffer == 0 || c.receive_buffer > (std::size_t{1} << 24)) {
    return "receive_buffer must lie in 1..16777216 messages, got " + std::to_string(c.receive_buffer);
  }
  if (c.max_frame < kHeaderSize + 64 || c.max_frame > kMaxOvpSize) {
    return "max_frame (the link MTU) must lie in " + std::to_string(kHeaderSize + 64) + ".." +
           std::to_string(kMaxOvpSize) + " bytes, got " + std::to_string(c.max_frame);
  }
  if (c.max_peers == 0) return "max_peers must be at least 1";
  const ReliableConfig& r = c.reliable_config;
  if (r.window < 1 || r.window > kMaxReliableWindow) {
    return "reliable window must lie in 1.." + std::to_string(kMaxReliableWindow) + " messages, got " +
           std::to_string(r.window);
  }
  if (r.min_rto <= Nanos(0) || r.min_rto > r.max_rto) return "reliable RTOs need 0 < min_rto <= max_rto";
  if (c.heartbeat_interval < Nanos(0)) return "heartbeat_interval must not be negative";
  return {};
}

struct Endpoint::Destination {
  std::uint32_t index = 0;
  std::uint32_t id = 0;
  bool group = false;
  bool dirty = false;
  std::uint32_t next_sequence = 1;
  std::vector<std::uint8_t> staged;  // capacity kept across flushes: no allocation once warm
};

Endpoint::Endpoint(EndpointConfig config) : config_(std::move(config)) {
  const std::string why = validate(config_);
  OMEGA_ASSERT(why.empty(), "invalid OVP endpoint configuration (use Endpoint::try_create for outside input)");
  max_payload_ = config_.max_frame - kHeaderSize;
  ReliableConfig rc = config_.reliable_config;
  rc.epoch = config_.epoch;
  rc.max_peers = config_.max_peers;
  reliable_ = std::make_unique<ReliableEndpoint>(
      config_.my_drone_id, rc, [this](const Delivery& d) { deliver(d.source, d.channel, true, d.payload); });
  reliable_->set_receive_credit(static_cast<std::uint32_t>(config_.receive_buffer));
  arena_.reserve(64 * 1024);
  frames_.reserve(256);
}

Result<std::unique_ptr<Endpoint>, std::string> Endpoint::try_create(EndpointConfig config) {
  if (auto why = validate(config); !why.empty()) return Err(std::move(why));
  return std::make_unique<Endpoint>(std::move(config));
}

Endpoint::~Endpoint() = default;

// ---------------------------------------------------------------------------------------
// Emitting

Endpoint::Destination* Endpoint::destination(std::uint32_t id, bool group) {
  const std::uint64_t key = (group ? std::uint64_t{1} << 32 : 0) | id;
  auto it = destination_index_.find(key);
  if (it != destination_index_.end()) return destinations_[it->second].get();
  if (destinations_.size() >= config_.max_peers) {
    counters_.peers_refused.add();
    return nullptr;
  }
  auto d = std::make_unique<Destination>();
  d->index = static_cast<std::uint32_t>(destinations_.size());
  d->id = id;
  d->group = group;
  destination_index_.emplace(key, d->index);
  destinations_.push_back(std::move(d));
  return destinations_.back().get();
}

void Endpoint::stage(Destination& d, std::uint16_t channel, std::span<const std::uint8_t> payload) {
  const std::size_t at = d.staged.size();
  d.staged.resize(at + kStagedHeader + payload.size());
  std::uint8_t* p = d.staged.data() + at;
  store_be16(p, static_cast<std::uint16_t>(payload.size()));
  store_be16(p + 2, channel);
  store_be32(p + 4, d.next_sequence++);
  if (!payload.empty()) std::memcpy(p + kStagedHeader, payload.data(), payload.size());
  if (!d.dirty) {
    d.dirty = true;
    dirty_.push_back(d.index);
  }
}

Result<void, EmitError> Endpoint::emit(std::optional<std::span<const std::uint32_t>> targets,
                                       std::span<const std::uint8_t> payload, std::uint16_t channel, Nanos) {
  if (payload.size() > max_payload_) return Err(EmitError::PayloadTooLarge);
  if (!targets) {
    Destination* d = destination(kBroadcast, false);
    if (d == nullptr) return Err(EmitError::TooManyPeers);
    stage(*d, channel, payload);
    counters_.messages_sent.add();
    return {};
  }
  if (targets->empty()) return Err(EmitError::BadTarget);
  const std::uint32_t me = config_.my_drone_id;
  for (std::uint32_t t : *targets) {
    if (t == 0 || t == kBroadcast) return Err(EmitError::BadTarget);
    if (t == me) continue;
    if (config_.reliable) {
      const PeerStats ps = reliable_->peer_stats(t);
      const bool window_full = ps.queued > 0 || ps.in_flight >= config_.reliable_config.window;
      if (window_full && ps.queued >= config_.reliable_config.send_buffer) return Err(EmitError::SendBufferFull);
    } else if (destination(t, false) == nullptr) {
      return Err(EmitError::TooManyPeers);
    }
  }
  for (std::uint32_t t : *targets) {
    if (t == me) {
      counters_.messages_looped_back.add();
      deliver(me, channel, config_.reliable, payload);
    } else if (config_.reliable) {
      if (auto r = reliable_->send(t, channel, payload); !r) {
        return Err(r.error() == SendError::TooManyPeers ? EmitError::TooManyPeers : EmitError::SendBufferFull);
      }
    } else {
      stage(*destination(t, false), channel, payload);
    }
    counters_.messages_sent.add();
  }
  return {};
}

Result<void, EmitError> Endpoint::emit_group(std::uint32_t group, std::span<const std::uint8_t> payload,
                                             std::uint16_t channel, Nanos) {
  if (payload.size() > max_payload_) return Err(EmitError::PayloadTooLarge);
  if (group == 0 || group == kBroadcast) return Err(EmitError::BadTarget);
  Destination* d = destination(group, true);
  if (d == nullptr) return Err(EmitError::TooManyPeers);
  stage(*d, channel, payload);
  counters_.messages_sent.add();
  return {};
}

// ---------------------------------------------------------------------------------------
// Flushing: frames are built into arena_ first and handed out after, so arena_ may grow
// while they are built.

std::uint8_t* Endpoint::open_frame(std::size_t payload_size) {
  const std::size_t at = arena_.size();
  arena_.resize(at + kHeaderSize + payload_size);
  return arena_.data() + at + kHeaderSize;
}

void Endpoint::close_frame(std::uint32_t sink_destination, const FrameHeader& header, std::size_t payload_size) {
  const std::size_t size = kHeaderSize + payload_size;
  const std::size_t at = arena_.size() - size;
  auto sealed = seal_ovp(header, payload_size, std::span<std::uint8_t>(arena_.data() + at, size));
  OMEGA_ASSERT(sealed.has_value(), "frame sizes are checked when messages are accepted");
  frames_.push_back(OutFrame{sink_destination, at, size});
}

void Endpoint::pack_destination(Destination& d) {
  const std::uint8_t* const base = d.staged.data();
  const std::size_t end = d.staged.size();
  const std::uint32_t sink_to = (d.group || d.id == kBroadcast) ? kBroadcast : d.id;
  FrameHeader h;
  h.flags = d.group ? kFlagGroup : 0;
  h.source = config_.my_drone_id;
  h.destination = d.id;
  h.epoch = config_.epoch;
  std::size_t pos = 0;
  while (pos < end) {
    // How many staged messages from `pos` fit one BATCH payload.
    std::size_t n = 0;
    std::size_t batch_bytes = kBatchHeaderSize;
    if (config_.batching) {
      for (std::size_t p = pos; p < end;) {
        const std::size_t len = load_be16(base + p);
        const std::size_t rs = batch_record_size(len, false);
        if (batch_bytes + rs > max_payload_) break;
        batch_bytes += rs;
        ++n;
        p += kStagedHeader + len;
      }
    }
    h.sequence = load_be32(base + pos + 4);
    if (n <= 1) {
      const std::size_t len = load_be16(base + pos);
      h.type = FrameType::Data;
      h.channel = load_be16(base + pos + 2);
      std::uint8_t* out = open_frame(len);
      if (len != 0) std::memcpy(out, base + pos + kStagedHeader, len);
      close_frame(sink_to, h, len);
      pos += kStagedHeader + len;
      continue;
    }
    // Records need no sequence: they are numbered from the header's, one apart.
    std::uint8_t* out = open_frame(batch_bytes);
    BatchWriter writer(std::span<std::uint8_t>(out, batch_bytes));
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t len = load_be16(base + pos);
      const bool added = writer.add(load_be16(base + pos + 2), std::span<const std::uint8_t>(base + pos + kStagedHeader, len));
      OMEGA_DASSERT(added, "batch sized above");
      (void)added;
      pos += kStagedHeader + len;
    }
    h.type = FrameType::Batch;
    h.channel = 0;
    close_frame(sink_to, h, batch_bytes);
    counters_.batches_sent.add();
    counters_.batched_messages_sent.add(n);
  }
  d.staged.clear();
  d.dirty = false;
}

void Endpoint::on_reliable_packet(std::uint32_t peer, std::span<const std::uint8_t> packet) {
  // The reliable layer encoded this frame itself: its header is well formed (frame.hpp's
  // offsets: type 1, length 4, channel 6, epoch 16, sequence 20, ack 24).
  const std::uint8_t* p = packet.data();
  if (p[1] == static_cast<std::uint8_t>(FrameType::Ack) && load_be32(p + 20) == 1) {
    // This ACK tells the peer we have no room (credit 0): it stops sending new messages.
    // pop() remembers to tell it when there is room again.
    if (std::find(withheld_.begin(), withheld_.end(), peer) == withheld_.end()) withheld_.push_back(peer);
    counters_.receive_backpressure.add();
  }
  const bool data = p[1] == static_cast<std::uint8_t>(FrameType::Data);
  const std::size_t len = load_be16(p + 4);
  const std::size_t rs = batch_record_size(len, true);
  if (!data || !config_.batching || kBatchHeaderSize + rs > max_payload_) {
    close_reliable_batch();
    std::uint8_t* out = open_frame(packet.size() - kHeaderSize);
    std::memcpy(out - kHeaderSize, p, packet.size());
    frames_.push_back(OutFrame{peer, arena_.size() - packet.size(), packet.size()});
    return;
  }
  const std::uint32_t epoch = load_be32(p + 16);
  const std::uint32_t ack = load_be32(p + 24);
  if (rbatch_.count > 0 && (rbatch_.peer != peer || rbatch_.first.epoch != epoch || rbatch_.first.ack != ack ||
                            kBatchHeaderSize + rbatch_.records.size() + rs > max_payload_)) {
    close_reliable_batch();
  }
  if (rbatch_.count == 0) {
    rbatch_.peer = peer;
    rbatch_.first = FrameHeader{FrameType::Data, kFlagReliable, load_be16(p + 6), config_.my_drone_id, peer,
                                epoch,           load_be32(p + 20), ack};
  }
  // A BATCH record with its sequence (batch.hpp): u16 length, u16 channel, u8 flags, u32 sequence, body.
  const std::size_t at = rbatch_.records.size();
  rbatch_.records.resize(at + rs);
  std::uint8_t* r = rbatch_.records.data() + at;
  store_be16(r, static_cast<std::uint16_t>(len));
  std::memcpy(r + 2, p + 6, 2);  // channel
  r[4] = kBatchFlagSequence;
  std::memcpy(r + 5, p + 20, 4);  // sequence
  if (len != 0) std::memcpy(r + 9, p + kHeaderSize, len);
  ++rbatch_.count;
}

void Endpoint::close_reliable_batch() {
  if (rbatch_.count == 0) return;
  const std::uint8_t* r = rbatch_.records.data();
  if (rbatch_.count == 1) {
    // A batch of one is sent as the DATA frame it was.
    const std::size_t len = load_be16(r);
    std::uint8_t* out = open_frame(len);
    if (len != 0) std::memcpy(out, r + 9, len);
    close_frame(rbatch_.peer, rbatch_.first, len);
  } else {
    const std::size_t size = kBatchHeaderSize + rbatch_.records.size();
    std::uint8_t* out = open_frame(size);
    store_be16(out, static_cast<std::uint16_t>(rbatch_.count));
    std::memcpy(out + kBatchHeaderSize, r, rbatch_.records.size());
    FrameHeader h = rbatch_.first;
    h.type = FrameType::Batch;
    h.channel = 0;
    close_frame(rbatch_.peer, h, size);
    counters_.batches_sent.add();
    counters_.batched_messages_sent.add(rbatch_.count);
  }
  rbatch_.records.clear();
  rbatch_.count = 0;
}

void Endpoint::send_control(FrameType type, Nanos) {
  FrameHeader h;
  h.type = type;
  h.source = config_.my_drone_id;
  h.destination = kBroadcast;
  h.epoch = config_.epoch;
  open_frame(0);
  close_frame(kBroadcast, h, 0);
  counters_.control_sent.add();
}

void Endpoint::flush(Nanos now, FrameSink sink) {
  arena_.clear();
  frames_.clear();
  if (hello_due_) {
    hello_due_ = false;
    send_control(FrameType::Hello, now);
  }
  if (config_.heartbeat_interval > Nanos(0) && now >= next_heartbeat_) {
    send_control(FrameType::Heartbeat, now);
    next_heartbeat_ = now + config_.heartbeat_interval;
  }
  for (std::uint32_t index : dirty_) pack_destination(*destinations_[index]);
  dirty_.clear();
  if (window_update_due_) {
    window_update_due_ = false;
    // The reliable layer's own ACK, due now: it carries the room we have again.
    for (std::uint32_t peer : withheld_) reliable_->request_ack(peer, now);
    withheld_.clear();
  }
  // Only the acks that are due: one owed but not due yet waits for its delay, so it covers
  // every message that arrives meanwhile (see EndpointConfig::reliable_config).
  reliable_->poll(now, [this](std::uint32_t peer, std::span<const std::uint8_t> packet) { on_reliable_packet(peer, packet); });
  close_reliable_batch();
  if (frames_.empty()) return;
  counters_.frames_sent.add(frames_.size());
  std::size_t bytes = 0;
  for (const OutFrame& f : frames_) {
    bytes += f.size;
    sink(f.destination, std::span<const std::uint8_t>(arena_.data() + f.offset, f.size));
  }
  counters_.bytes_sent.add(bytes);
}

std::optional<Nanos> Endpoint::next_deadline() const noexcept {
  if (!dirty_.empty() || hello_due_ || window_update_due_) return Nanos::min();
  std::optional<Nanos> t = reliable_->next_timeout();
  if (config_.heartbeat_interval > Nanos(0)) t = t ? std::min(*t, next_heartbeat_) : next_heartbeat_;
  return t;
}

bool Endpoint::idle() const noexcept {
  return dirty_.empty() && !hello_due_ && withheld_.empty() && reliable_->idle();
}

// ---------------------------------------------------------------------------------------
// Receiving

Result<void, DecodeError> Endpoint::on_frame(std::span<const std::uint8_t> ovp, Nanos now) {
  counters_.frames_received.add();
  counters_.bytes_received.add(ovp.size());
  auto view = decoder_.record(decode_ovp(ovp, DecodeFilter{config_.my_drone_id, config_.groups}));
  if (!view) return Err(view.error());
  return handle(*view, now);
}

Result<void, DecodeError> Endpoint::on_ethernet(std::span<const std::uint8_t> frame, Nanos now) {
  counters_.frames_received.add();
  counters_.bytes_received.add(frame.size());
  auto view = decoder_.record(decode_ethernet(frame, DecodeFilter{config_.my_drone_id, config_.groups}));
  if (!view) return Err(view.error());
  auto it = macs_.find(view->header.source);
  if (it != macs_.end()) {
    it->second = view->source_mac;
  } else if (macs_.size() < config_.max_peers) {
    macs_.emplace(view->header.source, view->source_mac);
    counters_.peers.add(1);
  } else {
    counters_.peers_refused.add();
  }
  return handle(*view, now);
}

std::optional<MacAddress> Endpoint::mac_of(std::uint32_t drone) const {
  auto it = macs_.find(drone);
  if (it == macs_.end()) return std::nullopt;
  return it->second;
}

Result<void, DecodeError> Endpoint::handle(const FrameView& view, Nanos now) {
  const FrameHeader& h = view.header;
  switch (h.type) {
    case FrameType::Data:
      if ((h.flags & kFlagReliable) != 0) {
        feed_reliable(view, now);
      } else if (track(tracker(h), h.epoch, h.sequence)) {
        deliver(h.source, h.channel, false, view.payload);
      }
      break;
    case FrameType::Batch: {
      auto reader = BatchReader::open(view.payload);
      if (!reader) {
        counters_.batches_rejected.add();  // all or nothing: no record of it is used
        break;
      }
      counters_.batches_received.add();
      const bool reliable = (h.flags & kFlagReliable) != 0;
      LossTracker* stream = reliable ? nullptr : tracker(h);  // one stream per frame
      BatchRecord record;
      std::uint32_t sequence = h.sequence;
      while (reader->next(record)) {
        const std::uint32_t seq = record.sequence.value_or(sequence);
        ++sequence;
        if (reliable) {
          FrameView one;
          one.header = h;
          one.header.type = FrameType::Data;
          one.header.channel = record.channel;
          one.header.sequence = seq;
          one.payload = record.body;
          feed_reliable(one, now);
        } else if (track(stream, h.epoch, seq)) {
          deliver(h.source, record.channel, false, record.body);
        }
      }
      break;
    }
    case FrameType::Ack: reliable_->on_frame(view, now); break;
    case FrameType::Hello: counters_.hellos_received.add(); break;
    case FrameType::Heartbeat: counters_.heartbeats_received.add(); break;
  }
  return {};
}

void Endpoint::feed_reliable(const FrameView& view, Nanos now) { reliable_->on_frame(view, now); }

LossTracker* Endpoint::tracker(const FrameHeader& h) {
  const StreamKey key{h.source, h.destination, (h.flags & kFlagGroup) != 0};
  auto it = streams_.find(key);
  if (it == streams_.end()) {
    // Streams per peer: unicast, broadcast and each group; bounded like the peers.
    if (streams_.size() >= 2 * config_.max_peers + config_.groups.size()) {
      counters_.peers_refused.add();
      return nullptr;  // delivered, not accounted
    }
    it = streams_.emplace(key, LossTracker{}).first;
  }
  return &it->second;
}

bool Endpoint::track(LossTracker* t, std::uint32_t epoch, std::uint32_t sequence) {
  if (t == nullptr) return true;
  const std::uint64_t lost_before = t->lost();
  const std::uint64_t duplicates_before = t->duplicates();
  const bool fresh = t->on_sequence(epoch, sequence);
  const std::uint64_t lost_after = t->lost();
  if (lost_after != lost_before) counters_.messages_lost.add(static_cast<std::int64_t>(lost_after - lost_before));
  if (!fresh) (t->duplicates() != duplicates_before ? counters_.duplicates : counters_.too_old).add();
  return fresh;
}

void Endpoint::deliver(std::uint32_t source, std::uint16_t channel, bool reliable,
                       std::span<const std::uint8_t> payload) {
  // Reliable messages are never dropped here: withheld acks bound them (see the header).
  if (!reliable && queue_.size() >= config_.receive_buffer) {
    counters_.receive_overflow.add();
    return;
  }
  Message& m = queue_.emplace_back();
  m.source = source;
  m.channel = channel;
  m.reliable = reliable;
  m.payload.assign(payload.begin(), payload.end());
  counters_.messages_received.add();
  counters_.receive_queue.add(1);
  reliable_->set_receive_credit(static_cast<std::uint32_t>(credit()));
}

bool Endpoint::pop(Message& out) {
  if (queue_.empty()) return false;
  out = std::move(queue_.front());
  queue_.pop_front();
  counters_.receive_queue.add(-1);
  reliable_->set_receive_credit(static_cast<std::uint32_t>(credit()));
  // Room again (below half): the peers we told we had none hear at once, instead of at
  // their next probe.
  if (!withheld_.empty() && queue_.size() <= config_.receive_buffer / 2) window_update_due_ = true;
  return true;
}

// ---------------------------------------------------------------------------------------
// Metrics

Result<void, MetricsError> Endpoint::export_to(MetricsSnapshot& snapshot, const MetricLabels& labels) const {
  struct Row {
    const char* name;
    const char* help;
    const Counter* counter;
  };
  const EndpointCounters& c = counters_;
  const Row rows[] = {
      {"omega_ovp_frames_sent_total", "OVP frames handed to the transport", &c.frames_sent},
      {"omega_ovp_bytes_sent_total", "OVP bytes (header + payload) handed to the transport", &c.bytes_sent},
      {"omega_ovp_frames_received_total", "OVP frames received (rejected ones included)", &c.frames_received},
      {"omega_ovp_bytes_received_total", "OVP bytes received", &c.bytes_received},
      {"omega_ovp_batches_sent_total", "OVP BATCH frames sent", &c.batches_sent},
      {"omega_ovp_batches_received_total", "OVP BATCH frames accepted", &c.batches_received},
      {"omega_ovp_batched_messages_sent_total", "OVP messages sent inside BATCH frames", &c.batched_messages_sent},
      {"omega_ovp_messages_sent_total", "OVP messages emitted (one per target)", &c.messages_sent},
      {"omega_ovp_messages_received_total", "OVP messages queued for receivers", &c.messages_received},
      {"omega_ovp_messages_looped_back_total", "OVP messages to our own id, delivered locally",
       &c.messages_looped_back},
      {"omega_ovp_receive_overflow_total", "OVP best-effort messages dropped: receive buffer full",
       &c.receive_overflow},
      {"omega_ovp_receive_backpressure_total", "OVP reliable acks that told a peer the receive buffer was full",
       &c.receive_backpressure},
      {"omega_ovp_batches_rejected_total", "OVP BATCH payloads that failed to unpack", &c.batches_rejected},
      {"omega_ovp_duplicates_total", "OVP best-effort messages received twice (dropped)", &c.duplicates},
      {"omega_ovp_too_old_total", "OVP best-effort messages too far behind their stream (dropped)", &c.too_old},
      {"omega_ovp_hellos_received_total", "OVP HELLO frames received", &c.hellos_received},
      {"omega_ovp_heartbeats_received_total", "OVP HEARTBEAT frames received", &c.heartbeats_received},
      {"omega_ovp_control_sent_total", "OVP HELLO and HEARTBEAT frames sent", &c.control_sent},
      {"omega_ovp_peers_refused_total", "OVP peers, streams or destinations refused past max_peers",
       &c.peers_refused},
  };
  for (const Row& row : rows) {
    if (auto r = snapshot.add_counter(row.name, row.help, labels, row.counter->value()); !r) return r;
  }
  const std::pair<const char*, const Gauge*> gauges[] = {
      {"omega_ovp_messages_lost", &c.messages_lost},
      {"omega_ovp_receive_queue", &c.receive_queue},
      {"omega_ovp_peers", &c.peers},
  };
  const char* gauge_help[] = {"OVP best-effort messages lost (sequence gaps never filled)",
                              "OVP messages waiting for a receive", "OVP drones whose address is known"};
  for (std::size_t i = 0; i < std::size(gauges); ++i) {
    if (auto r = snapshot.add_gauge(gauges[i].first, gauge_help[i], labels,
                                    static_cast<double>(gauges[i].second->value()));
        !r) {
      return r;
    }
  }
  if (auto r = decoder_.export_to(snapshot, labels); !r) return r;
  return reliable_->counters().export_to(snapshot, labels);
}

}  // namespace omega::ovp
