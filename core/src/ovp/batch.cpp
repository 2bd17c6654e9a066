#include <omega/ovp/batch.hpp>
#include <omega/ovp/frame.hpp>

#include <algorithm>
#include <cstring>

namespace omega::ovp {

BatchWriter::BatchWriter(std::span<std::uint8_t> buffer) noexcept
    : buffer_(buffer), capacity_(std::min<std::size_t>(buffer.size(), 0xFFFF)) {}

void BatchWriter::clear() noexcept {
  used_ = kBatchHeaderSize;
  count_ = 0;
}

bool BatchWriter::add(std::uint16_t channel, std::span<const std::uint8_t> body,
                      std::optional<std::uint32_t> sequence) noexcept {
  if (body.size() > 0xFFFF || count_ == 0xFFFF || capacity_ < kBatchHeaderSize) return false;
  const std::size_t need = batch_record_size(body.size(), sequence.has_value());
  if (need > capacity_ - used_) return false;
  std::uint8_t* p = buffer_.data() + used_;
  store_be16(p, static_cast<std::uint16_t>(body.size()));
  store_be16(p + 2, channel);
  p[4] = sequence ? kBatchFlagSequence : 0;
  p += kBatchRecordHeaderSize;
  if (sequence) {
    store_be32(p, *sequence);
    p += kBatchSequenceSize;
  }
  if (!body.empty()) std::memcpy(p, body.data(), body.size());
  used_ += need;
  ++count_;
  store_be16(buffer_.data(), static_cast<std::uint16_t>(count_));
  return true;
}

std::string_view to_string(BatchError error) noexcept {
  switch (error) {
    case BatchError::TooShort: return "TooShort";
    case BatchError::Empty: return "Empty";
    case BatchError::TruncatedRecord: return "TruncatedRecord";
    case BatchError::RecordPastEnd: return "RecordPastEnd";
    case BatchError::BadRecordFlags: return "BadRecordFlags";
    case BatchError::TrailingBytes: return "TrailingBytes";
  }
  return "BatchError(?)";
}

Result<BatchReader, BatchError> BatchReader::open(std::span<const std::uint8_t> payload) noexcept {
  if (payload.size() < kBatchHeaderSize) return Err(BatchError::TooShort);
  const std::size_t count = load_be16(payload.data());
  if (count == 0) return Err(BatchError::Empty);
  const std::size_t size = payload.size();
  std::size_t offset = kBatchHeaderSize;
  for (std::size_t i = 0; i < count; ++i) {
    // Every comparison is "needed <= size - offset", with offset <= size held as an
    // invariant, so no sum can overflow or step past the end.
    if (size - offset < kBatchRecordHeaderSize) return Err(BatchError::TruncatedRecord);
    const std::uint8_t* p = payload.data() + offset;
    const std::size_t length = load_be16(p);
    const std::uint8_t flags = p[4];
    if ((flags & ~kBatchFlagSequence) != 0) return Err(BatchError::BadRecordFlags);
    offset += kBatchRecordHeaderSize;
    if ((flags & kBatchFlagSequence) != 0) {
      if (size - offset < kBatchSequenceSize) return Err(BatchError::TruncatedRecord);
      offset += kBatchSequenceSize;
    }
    if (size - offset < length) return Err(BatchError::RecordPastEnd);
    offset += length;
  }
  if (offset != size) return Err(BatchError::TrailingBytes);
  return BatchReader(payload, count);
}

bool BatchReader::next(BatchRecord& record) noexcept {
  if (index_ == count_) return false;
  // Validated by open(): every read below is in bounds.
  const std::uint8_t* p = payload_.data() + offset_;
  const std::size_t length = load_be16(p);
  record.channel = load_be16(p + 2);
  const bool has_sequence = (p[4] & kBatchFlagSequence) != 0;
  offset_ += kBatchRecordHeaderSize;
  if (has_sequence) {
    record.sequence = load_be32(payload_.data() + offset_);
    offset_ += kBatchSequenceSize;
  } else {
    record.sequence.reset();
  }
  record.body = payload_.subspan(offset_, length);
  offset_ += length;
  ++index_;
  return true;
}

}  // namespace omega::ovp
