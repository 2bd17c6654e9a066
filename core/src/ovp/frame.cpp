#include <omega/ovp/crc32c.hpp>
#include <omega/ovp/frame.hpp>

#include <algorithm>
#include <cstring>
#include <string>

namespace omega::ovp {
namespace {

// Header offsets (see the table in frame.hpp).
constexpr std::size_t kOffVersion = 0;
constexpr std::size_t kOffType = 1;
constexpr std::size_t kOffFlags = 2;
constexpr std::size_t kOffLength = 4;
constexpr std::size_t kOffChannel = 6;
constexpr std::size_t kOffSource = 8;
constexpr std::size_t kOffDestination = 12;
constexpr std::size_t kOffEpoch = 16;
constexpr std::size_t kOffSequence = 20;
constexpr std::size_t kOffAck = 24;
constexpr std::size_t kOffCrc = 28;
static_assert(kOffCrc + 4 == kHeaderSize);

void write_header(const FrameHeader& h, std::size_t payload_size, std::uint8_t* out) noexcept {
  out[kOffVersion] = kVersion;
  out[kOffType] = static_cast<std::uint8_t>(h.type);
  store_be16(out + kOffFlags, h.flags);
  store_be16(out + kOffLength, static_cast<std::uint16_t>(payload_size));
  store_be16(out + kOffChannel, h.channel);
  store_be32(out + kOffSource, h.source);
  store_be32(out + kOffDestination, h.destination);
  store_be32(out + kOffEpoch, h.epoch);
  store_be32(out + kOffSequence, h.sequence);
  store_be32(out + kOffAck, h.ack);
  const std::uint32_t crc = crc32c_update(crc32c_update(0, out, kOffCrc), out + kHeaderSize, payload_size);
  store_be32(out + kOffCrc, crc);
}

bool in_groups(std::uint32_t group, std::span<const std::uint32_t> groups) noexcept {
  return std::find(groups.begin(), groups.end(), group) != groups.end();
}

// Decodes the OVP part: `bytes` starts at the OVP header; `padding_ok` says whether bytes
// after the payload may be minimum-frame padding.
Result<FrameView, DecodeError> decode_body(std::span<const std::uint8_t> bytes, bool padding_ok,
                                           const DecodeFilter& filter) noexcept {
  if (bytes.size() < kHeaderSize) return Err(DecodeError::TooShort);
  const std::uint8_t* p = bytes.data();
  if (p[kOffVersion] != kVersion) return Err(DecodeError::BadVersion);
  const std::uint8_t type = p[kOffType];
  if (type == 0 || type > kMaxFrameType) return Err(DecodeError::BadType);
  FrameView view;
  FrameHeader& h = view.header;
  h.type = static_cast<FrameType>(type);
  h.flags = load_be16(p + kOffFlags);
  h.channel = load_be16(p + kOffChannel);
  h.source = load_be32(p + kOffSource);
  h.destination = load_be32(p + kOffDestination);
  h.epoch = load_be32(p + kOffEpoch);
  h.sequence = load_be32(p + kOffSequence);
  h.ack = load_be32(p + kOffAck);

  if ((h.flags & ~kKnownFlags) != 0) return Err(DecodeError::BadFlags);
  const bool group = (h.flags & kFlagGroup) != 0;
  if (group && h.destination == kBroadcast) return Err(DecodeError::BadFlags);
  if ((h.flags & kFlagReliable) != 0 && (group || h.destination == kBroadcast)) return Err(DecodeError::BadFlags);
  if (((h.flags & kFlagAckValid) != 0) != (h.type == FrameType::Ack)) return Err(DecodeError::BadFlags);
  if (h.source == 0 || h.source == kBroadcast) return Err(DecodeError::BadSource);

  const std::size_t length = load_be16(p + kOffLength);
  if (length > kMaxPayload) return Err(DecodeError::PayloadTooLarge);
  const std::size_t available = bytes.size() - kHeaderSize;
  if (length > available) return Err(DecodeError::LengthPastEnd);
  if (length < available && !padding_ok) return Err(DecodeError::TrailingBytes);
  if (h.type == FrameType::Ack && length != kAckPayloadSize) return Err(DecodeError::BadPayload);

  const std::uint32_t crc = crc32c_update(crc32c_update(0, p, kOffCrc), p + kHeaderSize, length);
  if (crc != load_be32(p + kOffCrc)) return Err(DecodeError::CrcMismatch);

  if (filter.my_id != 0) {
    if (h.source == filter.my_id) return Err(DecodeError::OwnFrame);
    if (h.destination != kBroadcast) {
      if (group ? !in_groups(h.destination, filter.groups) : h.destination != filter.my_id) {
        return Err(DecodeError::NotForMe);
      }
    }
  }
  view.payload = bytes.subspan(kHeaderSize, length);
  return view;
}

}  // namespace

std::string_view to_string(FrameType type) noexcept {
  switch (type) {
    case FrameType::Data: return "DATA";
    case FrameType::Ack: return "ACK";
    case FrameType::Hello: return "HELLO";
    case FrameType::Heartbeat: return "HEARTBEAT";
    case FrameType::Batch: return "BATCH";
  }
  return "FrameType(?)";
}

std::string_view to_string(DecodeError error) noexcept {
  switch (error) {
    case DecodeError::TooShort: return "TooShort";
    case DecodeError::WrongEtherType: return "WrongEtherType";
    case DecodeError::VlanStacked: return "VlanStacked";
    case DecodeError::BadVersion: return "BadVersion";
    case DecodeError::BadType: return "BadType";
    case DecodeError::BadFlags: return "BadFlags";
    case DecodeError::BadSource: return "BadSource";
    case DecodeError::PayloadTooLarge: return "PayloadTooLarge";
    case DecodeError::LengthPastEnd: return "LengthPastEnd";
    case DecodeError::TrailingBytes: return "TrailingBytes";
    case DecodeError::BadPayload: return "BadPayload";
    case DecodeError::CrcMismatch: return "CrcMismatch";
    case DecodeError::OwnFrame: return "OwnFrame";
    case DecodeError::NotForMe: return "NotForMe";
  }
  return "DecodeError(?)";
}

std::string_view to_string(EncodeError error) noexcept {
  switch (error) {
    case EncodeError::PayloadTooLarge: return "PayloadTooLarge";
    case EncodeError::BufferTooSmall: return "BufferTooSmall";
  }
  return "EncodeError(?)";
}

Result<std::size_t, EncodeError> seal_ovp(const FrameHeader& header, std::size_t payload_size,
                                          std::span<std::uint8_t> out) noexcept {
  if (payload_size > kMaxPayload) return Err(EncodeError::PayloadTooLarge);
  if (out.size() < ovp_size(payload_size)) return Err(EncodeError::BufferTooSmall);
  write_header(header, payload_size, out.data());
  return ovp_size(payload_size);
}

Result<std::size_t, EncodeError> encode_ovp(const FrameHeader& header, std::span<const std::uint8_t> payload,
                                            std::span<std::uint8_t> out) noexcept {
  if (payload.size() > kMaxPayload) return Err(EncodeError::PayloadTooLarge);
  if (out.size() < ovp_size(payload.size())) return Err(EncodeError::BufferTooSmall);
  // memmove: the caller may pass a payload that already sits in `out` (seal_ovp is the
  // cheaper way to do that, but overlapping must not corrupt it).
  if (!payload.empty()) std::memmove(out.data() + kHeaderSize, payload.data(), payload.size());
  write_header(header, payload.size(), out.data());
  return ovp_size(payload.size());
}

Result<std::size_t, EncodeError> encode_ethernet(const MacAddress& destination, const MacAddress& source,
                                                 const FrameHeader& header, std::span<const std::uint8_t> payload,
                                                 std::span<std::uint8_t> out) noexcept {
  if (payload.size() > kMaxPayload) return Err(EncodeError::PayloadTooLarge);
  const std::size_t total = ethernet_size(payload.size());
  if (out.size() < total) return Err(EncodeError::BufferTooSmall);
  std::memcpy(out.data(), destination.data(), 6);
  std::memcpy(out.data() + 6, source.data(), 6);
  store_be16(out.data() + 12, kEtherType);
  auto body = out.subspan(kEthernetHeaderSize);
  if (!encode_ovp(header, payload, body)) return Err(EncodeError::BufferTooSmall);  // sizes checked above
  const std::size_t used = kEthernetHeaderSize + ovp_size(payload.size());
  std::fill(out.data() + used, out.data() + total, std::uint8_t{0});
  return total;
}

Result<FrameView, DecodeError> decode_ovp(std::span<const std::uint8_t> bytes, const DecodeFilter& filter) noexcept {
  return decode_body(bytes, /*padding_ok=*/false, filter);
}

Result<FrameView, DecodeError> decode_ethernet(std::span<const std::uint8_t> frame,
                                               const DecodeFilter& filter) noexcept {
  if (frame.size() < kEthernetHeaderSize + kHeaderSize) return Err(DecodeError::TooShort);
  std::size_t offset = 12;
  std::uint16_t ether_type = load_be16(frame.data() + offset);
  std::optional<std::uint16_t> tci;
  if (ether_type == kEtherTypeVlan || ether_type == kEtherTypeQinQ) {
    if (frame.size() < kEthernetHeaderSize + kVlanTagSize + kHeaderSize) return Err(DecodeError::TooShort);
    tci = load_be16(frame.data() + offset + 2);
    offset += kVlanTagSize;
    ether_type = load_be16(frame.data() + offset);
    if (ether_type == kEtherTypeVlan || ether_type == kEtherTypeQinQ) return Err(DecodeError::VlanStacked);
  }
  if (ether_type != kEtherType) return Err(DecodeError::WrongEtherType);
  const std::size_t ovp_offset = offset + 2;
  // Padding may bring the frame up to the minimum size (+ the tag's 4 bytes when tagged:
  // a switch that inserts a tag into a padded frame keeps the padding).
  const std::size_t min_frame = kEthernetMinFrame + (tci ? kVlanTagSize : 0);
  const bool padding_ok = frame.size() <= min_frame;
  auto view = decode_body(frame.subspan(ovp_offset), padding_ok, filter);
  if (!view) return view;
  std::memcpy(view->destination_mac.data(), frame.data(), 6);
  std::memcpy(view->source_mac.data(), frame.data() + 6, 6);
  view->vlan_tci = tci;
  return view;
}

std::uint64_t DecoderCounters::rejected_total() const noexcept {
  std::uint64_t total = 0;
  for (const Counter& c : rejected) total += c.value();
  return total;
}

Result<void, MetricsError> DecoderCounters::export_to(MetricsSnapshot& snapshot, const MetricLabels& labels) const {
  if (auto r = snapshot.add_counter("omega_ovp_frames_accepted_total", "OVP frames that decoded and passed checks",
                                    labels, accepted.value());
      !r) {
    return r;
  }
  for (std::size_t i = 0; i < kDecodeErrorCount; ++i) {
    MetricLabels l = labels;
    l.push_back({"reason", std::string(to_string(static_cast<DecodeError>(i)))});
    if (auto r = snapshot.add_counter("omega_ovp_frames_rejected_total", "OVP frames rejected, by reason",
                                      std::move(l), rejected[i].value());
        !r) {
      return r;
    }
  }
  return {};
}

}  // namespace omega::ovp
