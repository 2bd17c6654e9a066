// libFuzzer target: the OVP frame decoder, and the reliable endpoint behind it, on arbitrary
// bytes. Besides "no crash, no out-of-bounds read, no UB" (ASan + UBSan), it checks that
// whatever decodes re-encodes to the same bytes.
#include <omega/ovp/batch.hpp>
#include <omega/ovp/frame.hpp>
#include <omega/ovp/reliable.hpp>

#include <array>
#include <cstdint>
#include <cstring>

using namespace omega::ovp;

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}

void walk_batch(std::span<const std::uint8_t> payload) {
  auto reader = BatchReader::open(payload);
  if (!reader) return;
  BatchRecord record;
  std::size_t n = 0;
  std::uint32_t sum = 0;
  while (reader->next(record)) {
    for (std::uint8_t b : record.body) sum += b;  // ASan sees any byte outside `payload`
    ++n;
  }
  check(n == reader->count());
  (void)sum;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  static constexpr std::uint32_t kGroups[] = {3, 42};

  auto eth = decode_ethernet(bytes, DecodeFilter{9, kGroups});
  if (eth) {
    check(eth->payload.data() >= data && eth->payload.data() + eth->payload.size() <= data + size);
    if (eth->header.type == FrameType::Batch) walk_batch(eth->payload);
  }

  auto raw = decode_ovp(bytes, DecodeFilter{0, {}});
  if (raw) {
    // decode_ovp accepts exactly header + payload: encoding the view gives the input back.
    std::array<std::uint8_t, kMaxOvpSize> out{};
    auto n = encode_ovp(raw->header, raw->payload, out);
    check(n.has_value() && *n == size && std::memcmp(out.data(), data, size) == 0);
    if (raw->header.type == FrameType::Batch) walk_batch(raw->payload);
  }

  // A fresh endpoint per input (no state carried between inputs, so crashes reproduce).
  ReliableEndpoint endpoint(9, ReliableConfig{}, [](const Delivery& d) {
    std::uint32_t sum = 0;
    for (std::uint8_t b : d.payload) sum += b;
    (void)sum;
  });
  (void)endpoint.on_packet(bytes, std::chrono::nanoseconds(1000));
  endpoint.poll(std::chrono::nanoseconds(2000), [](std::uint32_t, std::span<const std::uint8_t> packet) {
    check(decode_ovp(packet, DecodeFilter{0, {}}).has_value());  // what we emit is valid
  });
  return 0;
}
