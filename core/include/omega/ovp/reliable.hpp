#pragma once
// OVP reliable mode: a pure state machine. No sockets, no threads, no clock: the caller
// passes time in (nanoseconds on any steady timeline), feeds received bytes to
// on_packet(), and calls poll() to get the frames to send. Best effort stays the default;
// this layer is opt-in, per peer, for unicast DATA.
//
// Semantics (docs/ovp.md, "Reliable mode"):
// - Per peer and direction, a stream of DATA frames flagged kFlagReliable, numbered from
//   first_sequence (1 by default) in 32-bit serial arithmetic (RFC 1982: numbers may wrap).
// - The receiver delivers each message exactly once and in order per sender; messages that
//   arrive early (within the receive window) wait in a buffer of `window` slots; later ones
//   are dropped and counted. It answers with ACK frames: cumulative ack in the header, the
//   acked stream's epoch and a 64-bit selective-ack bitmap in the payload (the 64 sequences
//   after ack + 1; a larger window is acknowledged cumulatively beyond them).
// - The sender keeps at most `window` messages in flight, queues up to `send_buffer` more,
//   and retransmits: on timeout (RFC 6298 SRTT/RTTVAR/RTO, exponential backoff, Karn's rule:
//   no RTT sample from a retransmitted message), the oldest unacknowledged message and
//   those not selectively acked within the bitmap's reach after it; beyond that reach,
//   until the stream passes where the timeout found it, what each cumulative-ack advance
//   shows missing; and early ("fast retransmit") a message that `fast_retransmit_after`
//   later messages were selectively acked past, once per smoothed RTT.
// - Session epochs: every frame carries its sender's epoch, which must grow across restarts.
//   A larger epoch from a peer means the peer restarted: its stream to us starts over. Our
//   stream to it keeps its numbers: every reliable DATA frame carries our lowest
//   unacknowledged sequence (in the header's ack field), where a fresh receiver starts; what the old incarnation acknowledged counts as delivered, the rest is
//   sent again (at-least-once across a receiver restart, exactly once within an
//   incarnation). Frames with a smaller epoch are stale and dropped; so are ACKs that name
//   another epoch of ours.
// - The endpoint never gives up on a peer: a silent peer keeps its window full and send()
//   eventually returns SendBufferFull. What to do then is the caller's decision.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <omega/base/function_ref.hpp>
#include <omega/base/metrics.hpp>
#include <omega/base/result.hpp>
#include <omega/ovp/frame.hpp>

namespace omega::ovp {

using Nanos = std::chrono::nanoseconds;

// RFC 6298 retransmission timeout: SRTT/RTTVAR from samples, RTO = SRTT + max(G, 4 RTTVAR)
// clamped to [min, max]; before the first sample, the initial RTO; each timeout doubles it
// (up to max) until the next sample recomputes it.
class RtoEstimator {
 public:
  RtoEstimator(Nanos initial, Nanos min, Nanos max, Nanos granularity) noexcept;
  void on_sample(Nanos rtt) noexcept;
  void on_timeout() noexcept;
  [[nodiscard]] Nanos rto() const noexcept { return rto_; }
  [[nodiscard]] Nanos srtt() const noexcept { return srtt_; }
  [[nodiscard]] Nanos rttvar() const noexcept { return rttvar_; }
  [[nodiscard]] bool has_sample() const noexcept { return has_sample_; }

 private:
  Nanos clamp(Nanos v) const noexcept;
  Nanos min_, max_, granularity_;
  Nanos srtt_{0}, rttvar_{0}, rto_;
  bool has_sample_ = false;
};

// The ACK's selective-ack bitmap covers the 64 sequences after cumulative ack + 1. The
// window may be larger: messages beyond the bitmap's reach are acknowledged cumulatively
// only, and their losses are repaired once the cumulative ack comes within 64 of them (fast
// retransmit) or by the retransmission timer.
inline constexpr std::uint32_t kSackBits = 64;
// Largest window: each peer with data in flight, or arrivals waiting for a gap, holds that
// many slots (and up to that many payloads) per direction.
inline constexpr std::uint32_t kMaxReliableWindow = 16384;

struct ReliableConfig {
  std::uint32_t epoch = 1;        // this incarnation; must be larger after every restart
  // Messages in flight per peer, and the receive buffer for early arrivals: 1..16384. Both
  // sides should agree; a receiver never advertises more room than its window, so a sender
  // with a larger one is held to the receiver's after the first ACK.
  std::uint32_t window = 64;
  std::size_t send_buffer = 4096;  // messages queued per peer behind a full window
  // RFC 6298 asks for 1 s initial and minimum RTOs, for the Internet. OVP runs on one
  // Ethernet segment with RTTs in microseconds, so the defaults are LAN-sized.
  Nanos initial_rto = std::chrono::milliseconds(50);
  Nanos min_rto = std::chrono::milliseconds(1);
  Nanos max_rto = std::chrono::seconds(2);
  Nanos clock_granularity = std::chrono::microseconds(1);
  // How long an owed ACK may wait for more data to cover; out-of-order or duplicate data, and
  // in-order data that completes half a window since the last ACK, are acked at the next
  // poll regardless.
  Nanos ack_delay = Nanos(0);
  // In-order messages delivered since the last ACK that make the next ACK due at once,
  // whatever ack_delay says (0: half the window). A sender limited by its window then
  // hears back before it runs dry, without an ACK per message. An ACK is also due at once
  // when as many messages arrived since the last one as set_receive_credit's room still
  // allows: a sender limited by the room it was told hears the new room without the delay.
  std::uint32_t ack_every = 0;
  std::uint32_t fast_retransmit_after = 3;  // selectively acked successors; 0 disables
  // Sequence number of the first message to each peer. Receivers start wherever the sender
  // does (they sync on its lowest unacked sequence), so any value works; tests start near
  // 2^32 to cross the wrap.
  std::uint32_t first_sequence = 1;
  // Peers this endpoint keeps state for (a few KiB each). Frames from further sources are
  // dropped and counted, so forged source ids cannot grow memory without bound.
  std::size_t max_peers = 1024;
};

enum class SendError : std::uint8_t {
  BadPeer,          // 0, kBroadcast or ourselves: reliable mode is unicast
  PayloadTooLarge,  // above kMaxPayload
  SendBufferFull,   // window and queue to this peer are full: back off
  TooManyPeers,     // a new peer, and max_peers already have state
};
[[nodiscard]] std::string_view to_string(SendError error) noexcept;

struct Delivery {
  std::uint32_t source;
  std::uint32_t epoch;  // the source's incarnation: a new value means it restarted
  std::uint16_t channel;
  std::uint32_t sequence;
  std::span<const std::uint8_t> payload;  // valid during the callback only
};

struct ReliableCounters {
  Counter messages_accepted;   // send() calls that succeeded
  Counter data_sent;           // first transmissions
  Counter retransmissions;     // every later transmission
  Counter fast_retransmits;    // of which triggered by selective acks
  Counter timeouts;            // retransmission timer expiries
  Counter acks_sent;
  Counter acks_received;
  Counter delivered;           // messages handed to the delivery callback
  Counter duplicates;          // DATA already delivered or already buffered
  Counter out_of_window;       // DATA beyond the receive window (dropped)
  Counter stale_epoch;         // frames from an older incarnation, or ACKs for one of ours
  Counter invalid_acks;        // ACKs for messages never sent
  Counter peer_restarts;       // a peer's epoch grew
  Counter not_reliable;        // frames this layer does not handle (best-effort, HELLO, ...)
  Counter peers_refused;       // frames dropped because max_peers was reached, or ACKs from strangers
  Result<void, MetricsError> export_to(MetricsSnapshot& snapshot, const MetricLabels& labels = {}) const;
};

struct PeerStats {
  std::optional<std::uint32_t> epoch;  // the peer's, once seen
  std::uint32_t in_flight = 0;         // sent, not cumulatively acked
  std::size_t queued = 0;              // behind the window
  std::uint32_t next_sequence = 1;
  std::uint32_t delivered_through = 0;  // cumulative: last in-order sequence delivered
  Nanos srtt{0};
  Nanos rto{0};
  bool rtt_sampled = false;
};

class ReliableEndpoint {
 public:
  using DeliverFn = std::function<void(const Delivery&)>;
  using EmitFn = FunctionRef<void(std::uint32_t destination, std::span<const std::uint8_t> packet)>;

  // `my_id`: this drone (not 0 or kBroadcast, asserted). `on_deliver` runs inside
  // on_packet()/on_frame(); it may call send(), but not on_packet() or poll(). poll()'s
  // `emit` may not call into this endpoint at all.
  ReliableEndpoint(std::uint32_t my_id, const ReliableConfig& config, DeliverFn on_deliver);
  ~ReliableEndpoint();
  ReliableEndpoint(const ReliableEndpoint&) = delete;
  ReliableEndpoint& operator=(const ReliableEndpoint&) = delete;

  // Queues one message to `peer`; poll() sends it when the window allows. The payload is copied.
  Result<void, SendError> send(std::uint32_t peer, std::uint16_t channel, std::span<const std::uint8_t> payload);

  // Decodes (counting rejections in decoder_counters()) and handles one received OVP packet
  // (header + payload, as decode_ovp takes it). Returns the decode error, if any.
  Result<void, DecodeError> on_packet(std::span<const std::uint8_t> packet, Nanos now);
  // Handles an already decoded frame; false if it is not for this layer (counted as
  // not_reliable): best-effort DATA, HELLO, HEARTBEAT, BATCH.
  bool on_frame(const FrameView& frame, Nanos now);

  // Emits every frame due at `now`: owed ACKs, new messages, retransmissions. Each packet
  // is valid during the emit call only. all_acks: also every ACK owed but not yet due
  // (ack_delay), for a caller that is sending anyway, so they share its send call.
  void poll(Nanos now, EmitFn emit, bool all_acks = false);
  // The earliest time poll() has something to do (at or before `now` if it has work now),
  // or nullopt when nothing is pending.
  [[nodiscard]] std::optional<Nanos> next_timeout() const noexcept;

  // Flow control: how many more messages the owner can take (its receive queue's room; no
  // limit by default), advertised in every ACK, capped at the window (header sequence field
  // = min(credit, window) + 1; a received 0 still means no limit). Senders send no new
  // message past the acked sequence + that; when only such messages are waiting, their
  // retransmission timer sends one as a probe.
  static constexpr std::uint32_t kNoCredit = 0xFFFFFFFFu;
  void set_receive_credit(std::uint32_t credit) noexcept { credit_ = credit; }
  // Owes `peer` an ACK due at `now` (the next poll sends it, with the current credit): a
  // window update for a sender that was told there was no room. No-op for a peer we have
  // not heard from.
  void request_ack(std::uint32_t peer, Nanos now);

  // Nothing in flight, queued or owed to anyone.
  [[nodiscard]] bool idle() const noexcept;
  [[nodiscard]] PeerStats peer_stats(std::uint32_t peer) const;
  [[nodiscard]] const ReliableCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] const DecoderCounters& decoder_counters() const noexcept { return decoder_; }
  [[nodiscard]] std::uint32_t id() const noexcept { return my_id_; }
  [[nodiscard]] std::uint32_t epoch() const noexcept { return config_.epoch; }

 private:
  struct Peer;
  // The peer's state, created if there is room (nullptr if max_peers is reached).
  Peer* peer(std::uint32_t id, bool create);
  // Returns false if the frame is stale (older epoch) and must be dropped.
  bool observe_epoch(Peer& p, std::uint32_t epoch);
  void restart_streams(Peer& p);
  void on_data(Peer& p, const FrameView& frame, Nanos now);
  void deliver_waiting(Peer& p);
  void on_ack(Peer& p, const FrameView& frame, Nanos now);
  void fill_window(Peer& p);
  void owe_ack(Peer& p, Nanos due);
  void emit_ack(Peer& p, EmitFn& emit);
  void emit_data(Peer& p, std::uint32_t sequence, EmitFn& emit);
  void mark_retransmit(Peer& p, std::uint32_t sequence);

  [[nodiscard]] std::uint32_t ring_index(std::uint32_t sequence) const noexcept { return sequence & ring_mask_; }

  std::uint32_t my_id_;
  ReliableConfig config_;
  DeliverFn on_deliver_;
  std::unordered_map<std::uint32_t, std::unique_ptr<Peer>> peers_;
  ReliableCounters counters_;
  DecoderCounters decoder_;
  std::array<std::uint8_t, kMaxOvpSize> scratch_{};  // frames are encoded here for emit
  std::uint32_t credit_ = kNoCredit;
  std::uint32_t ring_mask_ = 0;    // slot rings hold a power of two >= window slots
  std::uint32_t ack_every_ = 1;    // config.ack_every, resolved
};

// Best-effort receive accounting per source: what arrived, what was duplicated or late, and
// what was lost (sequence numbers skipped and never seen). A late frame up to 64 sequence
// numbers behind the newest is recognised (and no longer counted lost); older ones count as
// too_old and stay counted lost. Losses after the newest frame seen cannot be known.
class LossTracker {
 public:
  // Returns false for a duplicate or too-old frame (the caller may drop it).
  bool on_sequence(std::uint32_t epoch, std::uint32_t sequence) noexcept;
  [[nodiscard]] std::uint64_t received() const noexcept { return received_; }  // unique
  [[nodiscard]] std::uint64_t duplicates() const noexcept { return duplicates_; }
  [[nodiscard]] std::uint64_t late() const noexcept { return late_; }  // arrived after a successor
  [[nodiscard]] std::uint64_t too_old() const noexcept { return too_old_; }
  [[nodiscard]] std::uint64_t lost() const noexcept;  // over every epoch seen
  [[nodiscard]] std::uint64_t restarts() const noexcept { return restarts_; }

 private:
  bool started_ = false;
  std::uint32_t epoch_ = 0;
  std::uint32_t base_ = 0;     // first sequence of this epoch's span
  std::uint32_t highest_ = 0;  // newest sequence seen
  std::uint64_t seen_ = 0;     // bit i: highest_ - i seen
  std::uint64_t span_unique_ = 0;
  std::uint64_t lost_before_ = 0;  // from earlier epochs
  std::uint64_t received_ = 0, duplicates_ = 0, late_ = 0, too_old_ = 0, restarts_ = 0;
};

}  // namespace omega::ovp
