#pragma once
// OVP v1 frames: pure bytes in, bytes out, identical on every target.
//
// On raw Ethernet a frame is the 14-byte Ethernet header (destination MAC, source MAC,
// EtherType 0x88B5, IEEE "local experimental"), optionally one 802.1Q/802.1ad VLAN tag, the
// 32-byte OVP header and the payload, padded by the sender to the 60-byte Ethernet minimum.
// Over a WebSocket (the browser gateway) a frame is only the OVP header and payload, with
// no padding. The header, big-endian:
//
//   offset size field
//    0     1   version           1
//    1     1   type              FrameType
//    2     2   flags             FrameFlags; unknown bits are rejected
//    4     2   payload length    bytes of payload (Ethernet pads short frames, so the
//                                frame's own length cannot tell)
//    6     2   channel           application multiplexing
//    8     4   source drone      never 0 or kBroadcast
//   12     4   destination       drone id, group id (kFlagGroup), or kBroadcast (all)
//   16     4   session epoch     the sender's incarnation; must grow across restarts
//   20     4   sequence          per sender: reliable stream or best-effort counter;
//                                ACK: the receiver's room, credit + 1 (0: not advertised)
//   24     4   ack               ACK: cumulative ack (last in-order sequence received);
//                                reliable DATA: the sender's lowest unacknowledged sequence
//   28     4   CRC32C            over bytes 0..27 of the header, then the payload
//
// The CRC does not cover the MAC addresses (the Ethernet FCS does, and the gateway may
// rewrite them) nor the EtherType/VLAN tag (checked by value). Decoding validates every
// field before a FrameView is handed out; every rejection has its own DecodeError, and a
// DecoderCounters counts them.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <omega/base/metrics.hpp>
#include <omega/base/result.hpp>

namespace omega::ovp {

inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::uint16_t kEtherType = 0x88B5;
inline constexpr std::uint16_t kEtherTypeVlan = 0x8100;  // IEEE 802.1Q customer tag
inline constexpr std::uint16_t kEtherTypeQinQ = 0x88A8;  // IEEE 802.1ad service tag
inline constexpr std::size_t kEthernetHeaderSize = 14;
inline constexpr std::size_t kVlanTagSize = 4;
inline constexpr std::size_t kHeaderSize = 32;
// Shortest Ethernet frame without FCS; shorter frames are padded by the sender (or NIC).
inline constexpr std::size_t kEthernetMinFrame = 60;
// Ethernet MTU (1500) minus the OVP header.
inline constexpr std::size_t kMaxPayload = 1500 - kHeaderSize;
inline constexpr std::size_t kMaxOvpSize = kHeaderSize + kMaxPayload;                  // 1500
inline constexpr std::size_t kMaxEthernetFrame = kEthernetHeaderSize + kMaxOvpSize;    // 1514 (untagged)
inline constexpr std::uint32_t kBroadcast = 0xFFFFFFFFu;                               // destination: all

enum class FrameType : std::uint8_t {
  Data = 1,       // one application message
  Ack = 2,        // reliable mode: cumulative ack + selective-ack bitmap (kAckPayloadSize)
  Hello = 3,      // announce: a drone joined (payload: free-form, e.g. capabilities)
  Heartbeat = 4,  // liveness
  Batch = 5,      // many small messages in one frame (see batch.hpp)
};
inline constexpr std::uint8_t kMaxFrameType = 5;
[[nodiscard]] std::string_view to_string(FrameType type) noexcept;

// Flag bits. Any other bit set is BadFlags, so later versions can add flags safely only
// together with a new version number.
inline constexpr std::uint16_t kFlagReliable = 0x0001;  // DATA/BATCH in the reliable stream (unicast only)
inline constexpr std::uint16_t kFlagGroup = 0x0002;     // destination is a group id, not a drone id
inline constexpr std::uint16_t kFlagAckValid = 0x0004;  // cumulative ack field is meaningful (ACK frames)
inline constexpr std::uint16_t kKnownFlags = kFlagReliable | kFlagGroup | kFlagAckValid;

// ACK payload: the acked stream's epoch (u32: the data sender's epoch as the receiver knows
// it, so acks for an earlier incarnation are never applied to a later one) and a 64-bit
// selective-ack bitmap: bit i set = sequence ack+2+i received (ack+1 is missing by definition).
inline constexpr std::size_t kAckPayloadSize = 12;

using MacAddress = std::array<std::uint8_t, 6>;
inline constexpr MacAddress kBroadcastMac{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

// The header's fields, without the length (the payload's size) and the CRC (computed).
struct FrameHeader {
  FrameType type = FrameType::Data;
  std::uint16_t flags = 0;
  std::uint16_t channel = 0;
  std::uint32_t source = 0;
  std::uint32_t destination = kBroadcast;
  std::uint32_t epoch = 0;
  std::uint32_t sequence = 0;
  std::uint32_t ack = 0;
  friend bool operator==(const FrameHeader&, const FrameHeader&) = default;
};

// A decoded frame. `payload` points into the decoded buffer: valid while it is.
struct FrameView {
  MacAddress destination_mac{};  // zero for frames decoded without an Ethernet header
  MacAddress source_mac{};
  std::optional<std::uint16_t> vlan_tci;  // the stripped 802.1Q/802.1ad tag's TCI, if any
  FrameHeader header;
  std::span<const std::uint8_t> payload;
};

enum class DecodeError : std::uint8_t {
  TooShort,          // shorter than the Ethernet (+ VLAN) header plus the OVP header
  WrongEtherType,    // not 0x88B5 (after at most one VLAN tag)
  VlanStacked,       // more than one VLAN tag (QinQ inside QinQ): not ours to unwrap
  BadVersion,        // version != 1
  BadType,           // type 0 or above kMaxFrameType
  BadFlags,          // unknown flag bits, or a combination that makes no sense (see decode)
  BadSource,         // source 0 or kBroadcast
  PayloadTooLarge,   // declared length above kMaxPayload
  LengthPastEnd,     // declared length runs past the received bytes
  TrailingBytes,     // bytes after the payload that are not Ethernet minimum-size padding
  BadPayload,        // payload size wrong for the type (ACK: exactly kAckPayloadSize)
  CrcMismatch,       // CRC32C disagrees: corrupted in flight
  OwnFrame,          // source == my id: our own frame echoed back
  NotForMe,          // unicast to another drone, or a group we are not in
};
inline constexpr std::size_t kDecodeErrorCount = static_cast<std::size_t>(DecodeError::NotForMe) + 1;
[[nodiscard]] std::string_view to_string(DecodeError error) noexcept;

// Who is decoding: frames from `my_id` are OwnFrame, unicast frames to anyone else and
// group frames for groups not listed are NotForMe. my_id == 0 accepts every destination
// and source (a gateway or sniffer's view).
struct DecodeFilter {
  std::uint32_t my_id = 0;
  std::span<const std::uint32_t> groups{};
};

enum class EncodeError : std::uint8_t {
  PayloadTooLarge,  // above kMaxPayload
  BufferTooSmall,   // the output span cannot hold the frame (with padding, for Ethernet)
};
[[nodiscard]] std::string_view to_string(EncodeError error) noexcept;

// Bytes an encoded frame takes: OVP-only, and Ethernet (padded to kEthernetMinFrame).
[[nodiscard]] constexpr std::size_t ovp_size(std::size_t payload) noexcept { return kHeaderSize + payload; }
[[nodiscard]] constexpr std::size_t ethernet_size(std::size_t payload) noexcept {
  const std::size_t n = kEthernetHeaderSize + kHeaderSize + payload;
  return n < kEthernetMinFrame ? kEthernetMinFrame : n;
}

// Writes header + payload into `out` (no allocation); returns the bytes written.
Result<std::size_t, EncodeError> encode_ovp(const FrameHeader& header, std::span<const std::uint8_t> payload,
                                            std::span<std::uint8_t> out) noexcept;
// Writes the Ethernet header, the OVP header and payload, and zero padding up to 60 bytes.
Result<std::size_t, EncodeError> encode_ethernet(const MacAddress& destination, const MacAddress& source,
                                                 const FrameHeader& header, std::span<const std::uint8_t> payload,
                                                 std::span<std::uint8_t> out) noexcept;
// Zero-copy variant: the caller has already written `payload_size` payload bytes at
// out[kHeaderSize...] (e.g. with a BatchWriter); this writes the header and the CRC.
Result<std::size_t, EncodeError> seal_ovp(const FrameHeader& header, std::size_t payload_size,
                                          std::span<std::uint8_t> out) noexcept;

// Checks and decodes. decode_ovp takes exactly one header + payload (no padding: the
// WebSocket message's length is exact). decode_ethernet takes a received Ethernet frame
// (without FCS); one VLAN tag (0x8100 or 0x88A8) is stripped and reported in vlan_tci —
// the kernel usually strips it already, but a frame that still has it is for the same
// segment — while two tags are rejected as VlanStacked. Bytes after the payload are
// accepted only as padding of a minimum-size frame (total length <= 60, or 64 when tagged);
// their contents are not checked (NICs pad with whatever they have).
//
// Order of checks: sizes and fields first, then the CRC, then OwnFrame/NotForMe: a corrupted
// frame is counted as corrupted, whatever its corrupted address says.
//
// Rejected combinations (BadFlags): kFlagReliable with a group or broadcast destination
// (reliable mode is unicast); kFlagGroup with kBroadcast; ACK without kFlagAckValid or
// kFlagAckValid on a non-ACK frame.
Result<FrameView, DecodeError> decode_ovp(std::span<const std::uint8_t> bytes, const DecodeFilter& filter) noexcept;
Result<FrameView, DecodeError> decode_ethernet(std::span<const std::uint8_t> frame,
                                               const DecodeFilter& filter) noexcept;

// Per-reason counts of a decoder's outcomes, for export.
struct DecoderCounters {
  Counter accepted;
  std::array<Counter, kDecodeErrorCount> rejected;

  // Counts the outcome and passes it through: `auto r = counters.record(decode_ovp(...));`
  Result<FrameView, DecodeError> record(Result<FrameView, DecodeError> r) noexcept {
    if (r) {
      accepted.add();
    } else {
      rejected[static_cast<std::size_t>(r.error())].add();
    }
    return r;
  }
  [[nodiscard]] std::uint64_t rejected_total() const noexcept;
  // omega_ovp_frames_accepted_total and omega_ovp_frames_rejected_total{reason="CrcMismatch",...}
  // (every reason, zeros included, so dashboards see the series before the first error).
  Result<void, MetricsError> export_to(MetricsSnapshot& snapshot, const MetricLabels& labels = {}) const;
};

// Big-endian helpers for the wire formats (header, batch, ack payload).
[[nodiscard]] constexpr std::uint16_t load_be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(std::uint16_t{p[0]} << 8 | p[1]);
}
[[nodiscard]] constexpr std::uint32_t load_be32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
[[nodiscard]] constexpr std::uint64_t load_be64(const std::uint8_t* p) noexcept {
  return std::uint64_t{load_be32(p)} << 32 | load_be32(p + 4);
}
constexpr void store_be16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
constexpr void store_be32(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}
constexpr void store_be64(std::uint8_t* p, std::uint64_t v) noexcept {
  store_be32(p, static_cast<std::uint32_t>(v >> 32));
  store_be32(p + 4, static_cast<std::uint32_t>(v));
}

}  // namespace omega::ovp
