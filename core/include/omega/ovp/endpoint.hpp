#pragma once
// One OVP endpoint: a drone's side of the protocol, shared by every transport (native raw
// Ethernet, the browser's WebSocket, the gateway). A pure state machine like reliable.hpp:
// no sockets, no threads, no clock. The transport passes time in, hands received frames to
// on_frame()/on_ethernet(), calls flush() to get the frames to send, and pops delivered
// messages.
//
//   ovp::Endpoint ep(ovp::EndpointConfig{.my_drone_id = 7, .groups = {100}});
//   ep.emit(std::vector<std::uint32_t>{9}, payload, /*channel*/ 0, now);   // or std::nullopt: all
//   ep.flush(now, [&](std::uint32_t to, std::span<const std::uint8_t> frame) { /* send */ });
//   ep.on_frame(bytes, now);                     // header + payload, as decode_ovp takes it
//   ovp::Message m; while (ep.pop(m)) { ... }    // payload, source, channel
//
// Contracts:
// - Frames handed to flush()'s sink are OVP frames (header + payload) without an Ethernet
//   header; the transport wraps them. The sink's destination is a drone id, or kBroadcast
//   for frames every drone on the segment should see (broadcasts and group frames). The
//   spans stay valid until the next flush().
// - Best effort (the default): each emit is queued per destination (a drone, a group, or
//   all) and numbered per destination; flush() packs consecutive queued messages to one
//   destination into BATCH frames (a lone message goes as a DATA frame). Receivers count
//   sequence gaps per (source, destination) as messages lost, and drop duplicates.
// - Reliable (config.reliable): unicast emits go through ReliableEndpoint (exactly once, in
//   order per sender, retransmitted); flush() coalesces the DATA frames it emits to one peer
//   into reliable BATCH frames whose records carry their own sequence numbers. Broadcast and
//   group emits stay best effort. Every endpoint answers reliable frames whatever its own
//   mode, so a best-effort drone can receive from a reliable one.
// - The receive queue holds config.receive_buffer messages. Best-effort messages beyond it
//   are dropped and counted (receive_overflow). Reliable messages are never dropped: every
//   ACK advertises the queue's room (ReliableEndpoint::set_receive_credit), senders send no
//   new message beyond it, and an ACK that says "no room" is counted (receive_backpressure).
//   Messages already in flight still arrive (and a sender that has not heard the room yet
//   may send a whole window), so the queue may exceed receive_buffer by up to
//   reliable_config.window per peer, plus one message per window probe (a stalled sender's
//   timer, backing off exponentially). When pop() brings the queue below half, the peers told
//   "no room" get an ACK with the new room at the next flush (a window update), so they
//   resume at once rather than at their next probe.
// - A message to our own id is delivered locally (looped back), never sent; broadcasts do
//   not come back to their sender.
// - Malformed input (any bytes) is rejected, counted by reason, and never trusted.
// - Peers: on_ethernet() learns each source drone's MAC address from frames that passed
//   every check (bounded by config.max_peers; a drone that moves is re-learned); mac_of()
//   tells the transport where to send. Unknown drones are reached by Ethernet broadcast
//   (their decoders drop frames that are not for them). The endpoint sends a HELLO broadcast
//   at its first flush so peers learn its address.
// - Counters are atomics: export_to() may run on another thread than the one driving the
//   endpoint, as long as the endpoint outlives the call.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <omega/base/metrics.hpp>
#include <omega/base/result.hpp>
#include <omega/ovp/batch.hpp>
#include <omega/ovp/frame.hpp>
#include <omega/ovp/reliable.hpp>

namespace omega::ovp {

struct EndpointConfig {
  std::uint32_t my_drone_id = 0;          // 1 .. 0xFFFFFFFE
  std::vector<std::uint32_t> groups{};    // group ids whose frames we also accept
  bool reliable = false;                  // unicast emits go through the reliable mode
  // This incarnation's session epoch: must grow across restarts of the same drone id (see
  // session_epoch()). Replaces reliable_config.epoch.
  std::uint32_t epoch = 1;
  std::size_t receive_buffer = 16384;     // messages waiting for pop(): 1 .. 2^24
  bool batching = true;                   // false: one DATA frame per message
  // Largest OVP frame (header + payload) the link carries: the interface MTU, at most
  // kMaxOvpSize. Emits whose payload does not fit fail with PayloadTooLarge.
  std::size_t max_frame = kMaxOvpSize;
  // Peers (MAC addresses), best-effort streams and outgoing destinations this endpoint keeps
  // state for; beyond it, new ones are refused and counted (forged ids cannot grow memory).
  std::size_t max_peers = 1024;
  Nanos heartbeat_interval{0};            // > 0: a HEARTBEAT broadcast this often
  // The reliable mode's settings (epoch and max_peers come from the fields above): up to
  // 1024 messages in flight per peer (well beyond the 64-message selective-ack bitmap);
  // in-order data is acked within 1 ms or every 128 messages, so one ACK frame covers many
  // messages (out-of-order data is acked at once); the retransmit timer never fires sooner
  // than 5 ms, above the ack delay, so a delayed ack never causes a resend.
  ReliableConfig reliable_config{.window = 1024,
                                 .min_rto = std::chrono::milliseconds(5),
                                 .ack_delay = std::chrono::milliseconds(1),
                                 .ack_every = 128};
};

// An epoch for an incarnation that starts at `unix_ms` (wall clock, milliseconds since
// 1970): 1/256-second ticks since 2020-01-01 (wraps in 2054), and always above `previous`
// (the last epoch this process used for the same id), so two incarnations in one tick
// still differ. Incarnations in different processes less than 4 ms apart may collide.
[[nodiscard]] std::uint32_t session_epoch(std::uint64_t unix_ms, std::uint32_t previous = 0) noexcept;

enum class EmitError : std::uint8_t {
  PayloadTooLarge,  // above the link's payload limit (max_frame - kHeaderSize)
  BadTarget,        // 0 or kBroadcast in a target list, or an empty list
  SendBufferFull,   // reliable: the peer's window and send queue are full (back off)
  TooManyPeers,     // max_peers destinations already have state
};
[[nodiscard]] std::string_view to_string(EmitError error) noexcept;

// Why a configuration cannot work, or empty.
[[nodiscard]] std::string validate(const EndpointConfig& config);

struct Message {
  std::uint32_t source = 0;
  std::uint16_t channel = 0;
  bool reliable = false;  // came through the reliable mode
  std::vector<std::uint8_t> payload;
};

struct EndpointCounters {
  Counter frames_sent;            // frames handed to the sink
  Counter bytes_sent;             // their OVP bytes
  Counter frames_received;        // frames handed to on_frame/on_ethernet (rejected ones too)
  Counter bytes_received;
  Counter batches_sent;           // BATCH frames among frames_sent
  Counter batches_received;       // BATCH frames accepted
  Counter batched_messages_sent;  // messages that travelled inside BATCH frames
  Counter messages_sent;          // emits accepted, one per target (broadcast: one)
  Counter messages_received;      // messages queued for pop() (looped back ones included)
  Counter messages_looped_back;   // emits to our own id, delivered locally
  Counter receive_overflow;       // best-effort messages dropped: receive queue full
  Counter receive_backpressure;   // reliable acks that said "no room": receive queue full
  Counter batches_rejected;       // BATCH payloads that failed to unpack (frame dropped whole)
  Counter duplicates;             // best-effort messages seen before (dropped)
  Counter too_old;                // best-effort messages too far behind their stream (dropped)
  Counter hellos_received;
  Counter heartbeats_received;
  Counter control_sent;           // HELLO and HEARTBEAT frames sent
  Counter peers_refused;          // new peers/streams/destinations past max_peers
  Gauge messages_lost;            // best effort: sequence numbers skipped and never seen
  Gauge receive_queue;            // messages waiting for pop()
  Gauge peers;                    // drones whose MAC address is known
};

class Endpoint {
 public:
  using FrameSink = FunctionRef<void(std::uint32_t destination, std::span<const std::uint8_t> frame)>;

  // Asserts that validate(config) is empty; use try_create for outside input.
  explicit Endpoint(EndpointConfig config);
  static Result<std::unique_ptr<Endpoint>, std::string> try_create(EndpointConfig config);
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // Queues `payload` for each listed drone, or for every drone (nullopt). All or nothing:
  // every check (sizes, targets, reliable send buffers) passes before anything is queued,
  // except TooManyPeers, which the reliable layer reports only when it creates a peer (the
  // targets before it then have their copy).
  Result<void, EmitError> emit(std::optional<std::span<const std::uint32_t>> targets,
                               std::span<const std::uint8_t> payload, std::uint16_t channel, Nanos now);
  // Best effort to every member of `group` (kFlagGroup frames).
  Result<void, EmitError> emit_group(std::uint32_t group, std::span<const std::uint8_t> payload,
                                     std::uint16_t channel, Nanos now);

  // One received frame: header + payload exactly (a WebSocket message).
  Result<void, DecodeError> on_frame(std::span<const std::uint8_t> ovp, Nanos now);
  // One received Ethernet frame (padding, one VLAN tag allowed); learns the sender's MAC.
  Result<void, DecodeError> on_ethernet(std::span<const std::uint8_t> frame, Nanos now);

  // Hands every frame due at `now` to `sink`: queued messages (batched), reliable data,
  // retransmissions and acks, HELLO/HEARTBEAT. The spans stay valid until the next flush().
  void flush(Nanos now, FrameSink sink);
  // When flush() next has something to do (at or before `now` if it has work now), or
  // nullopt when nothing is pending.
  [[nodiscard]] std::optional<Nanos> next_deadline() const noexcept;

  // The oldest delivered message, moved into `out`; false when none is waiting.
  bool pop(Message& out);
  [[nodiscard]] std::size_t queued() const noexcept { return queue_.size(); }

  [[nodiscard]] std::optional<MacAddress> mac_of(std::uint32_t drone) const;
  // Reliable mode has nothing in flight, queued or owed, and nothing waits for flush().
  [[nodiscard]] bool idle() const noexcept;

  [[nodiscard]] const EndpointConfig& config() const noexcept { return config_; }
  [[nodiscard]] std::uint32_t id() const noexcept { return config_.my_drone_id; }
  [[nodiscard]] const EndpointCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] const DecoderCounters& decoder_counters() const noexcept { return decoder_; }
  [[nodiscard]] const ReliableCounters& reliable_counters() const noexcept { return reliable_->counters(); }
  [[nodiscard]] PeerStats reliable_peer(std::uint32_t peer) const { return reliable_->peer_stats(peer); }

  // omega_ovp_* series (endpoint counters, decoder rejects by reason, reliable mode), each
  // with `labels` added.
  Result<void, MetricsError> export_to(MetricsSnapshot& snapshot, const MetricLabels& labels = {}) const;

 private:
  struct Destination;  // one outgoing best-effort stream
  struct StreamKey {
    std::uint32_t source;
    std::uint32_t destination;
    bool group;
    friend bool operator==(const StreamKey&, const StreamKey&) = default;
  };
  struct StreamKeyHash {
    std::size_t operator()(const StreamKey& k) const noexcept {
      return std::hash<std::uint64_t>()((std::uint64_t{k.source} << 32 | k.destination) ^ (k.group ? 0x9e3779b9u : 0));
    }
  };
  struct OutFrame {
    std::uint32_t destination;  // drone id or kBroadcast
    std::size_t offset;
    std::size_t size;
  };

  Result<void, DecodeError> handle(const FrameView& view, Nanos now);
  Destination* destination(std::uint32_t id, bool group);
  void stage(Destination& d, std::uint16_t channel, std::span<const std::uint8_t> payload);
  void deliver(std::uint32_t source, std::uint16_t channel, bool reliable, std::span<const std::uint8_t> payload);
  // The best-effort stream a frame belongs to (nullptr: past the bound, not accounted).
  LossTracker* tracker(const FrameHeader& h);
  // Best-effort accounting for one message; false if it is a duplicate (drop it).
  bool track(LossTracker* stream, std::uint32_t epoch, std::uint32_t sequence);
  void feed_reliable(const FrameView& view, Nanos now);
  // Frame building into arena_.
  std::uint8_t* open_frame(std::size_t payload_size);
  void close_frame(std::uint32_t sink_destination, const FrameHeader& header, std::size_t payload_size);
  void pack_destination(Destination& d);
  void on_reliable_packet(std::uint32_t peer, std::span<const std::uint8_t> packet);
  void close_reliable_batch();
  void send_control(FrameType type, Nanos now);

  EndpointConfig config_;
  std::size_t max_payload_;
  std::unique_ptr<ReliableEndpoint> reliable_;
  EndpointCounters counters_;
  DecoderCounters decoder_;

  // Outgoing best effort.
  std::vector<std::unique_ptr<Destination>> destinations_;
  std::unordered_map<std::uint64_t, std::uint32_t> destination_index_;  // (group << 32 | id) -> index
  std::vector<std::uint32_t> dirty_;  // destinations with staged messages, in first-emit order
  bool hello_due_ = true;
  Nanos next_heartbeat_{0};

  // Frames built by the current flush().
  std::vector<std::uint8_t> arena_;
  std::vector<OutFrame> frames_;
  // The reliable batch being filled during flush(): records with sequences, to one peer.
  struct ReliableBatch {
    std::uint32_t peer = 0;
    FrameHeader first{};  // header of the first DATA frame in it
    std::vector<std::uint8_t> records;  // BATCH records, each with its sequence
    std::size_t count = 0;
  } rbatch_;

  // Incoming.
  std::deque<Message> queue_;
  std::unordered_map<StreamKey, LossTracker, StreamKeyHash> streams_;
  std::unordered_map<std::uint32_t, MacAddress> macs_;
  std::vector<std::uint32_t> withheld_;  // peers told "no room", owed a window update
  [[nodiscard]] std::size_t credit() const noexcept {
    return queue_.size() >= config_.receive_buffer ? 0 : config_.receive_buffer - queue_.size();
  }
  bool window_update_due_ = false;
};

}  // namespace omega::ovp
