#pragma once
// BATCH frames: many small messages in one frame's payload, so small messages share one
// header, one CRC and one send call (TCP gets the same effect from write coalescing).
//
// Payload layout, big-endian:
//
//   u16 count                     number of records, >= 1
//   count records, back to back, each:
//     u16 length                  body bytes
//     u16 channel
//     u8  flags                   bit 0: a u32 sequence follows; other bits must be 0
//     [u32 sequence]              per-message sequence, when flag bit 0 is set
//     length bytes of body
//
// The records must fill the payload exactly. A record costs 5 bytes (9 with a sequence) on
// top of its body, so a 1468-byte payload holds e.g. 50 records of 24 bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <omega/base/result.hpp>

namespace omega::ovp {

inline constexpr std::size_t kBatchHeaderSize = 2;
inline constexpr std::size_t kBatchRecordHeaderSize = 5;
inline constexpr std::size_t kBatchSequenceSize = 4;
inline constexpr std::uint8_t kBatchFlagSequence = 0x01;

[[nodiscard]] constexpr std::size_t batch_record_size(std::size_t body, bool with_sequence) noexcept {
  return kBatchRecordHeaderSize + (with_sequence ? kBatchSequenceSize : 0) + body;
}

struct BatchRecord {
  std::uint16_t channel = 0;
  std::optional<std::uint32_t> sequence;
  std::span<const std::uint8_t> body;  // points into the unpacked payload
};

// Packs records into a caller-provided buffer (typically the payload area of a frame
// buffer, followed by seal_ovp). No allocation. The buffer is used up to
// min(its size, 0xFFFF) bytes.
class BatchWriter {
 public:
  explicit BatchWriter(std::span<std::uint8_t> buffer) noexcept;

  // Appends one record; false (and nothing written) if it does not fit, if the body is
  // longer than 0xFFFF bytes, or the batch already has 0xFFFF records.
  bool add(std::uint16_t channel, std::span<const std::uint8_t> body,
           std::optional<std::uint32_t> sequence = std::nullopt) noexcept;

  [[nodiscard]] std::size_t count() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  // Bytes of payload written so far (including the count), or 0 while empty: an empty
  // batch is not a valid payload.
  [[nodiscard]] std::size_t size() const noexcept { return count_ == 0 ? 0 : used_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return capacity_ - used_; }
  // Starts over on the same buffer.
  void clear() noexcept;

 private:
  std::span<std::uint8_t> buffer_;
  std::size_t capacity_;
  std::size_t used_ = kBatchHeaderSize;
  std::size_t count_ = 0;
};

enum class BatchError : std::uint8_t {
  TooShort,           // fewer than 2 bytes: no count
  Empty,              // count == 0
  TruncatedRecord,    // a record header (or its sequence) runs past the payload
  RecordPastEnd,      // a record's body runs past the payload
  BadRecordFlags,     // unknown record flag bits
  TrailingBytes,      // bytes left after `count` records
};
[[nodiscard]] std::string_view to_string(BatchError error) noexcept;

// Validates a whole batch before any record is handed out (all or nothing: a malformed
// batch yields no records at all), then iterates over it. Reads only within `payload`.
class BatchReader {
 public:
  static Result<BatchReader, BatchError> open(std::span<const std::uint8_t> payload) noexcept;

  [[nodiscard]] std::size_t count() const noexcept { return count_; }
  // The next record, or false after the last.
  bool next(BatchRecord& record) noexcept;

 private:
  BatchReader(std::span<const std::uint8_t> payload, std::size_t count) noexcept
      : payload_(payload), count_(count) {}
  std::span<const std::uint8_t> payload_;
  std::size_t count_;
  std::size_t offset_ = kBatchHeaderSize;
  std::size_t index_ = 0;
};

}  // namespace omega::ovp
