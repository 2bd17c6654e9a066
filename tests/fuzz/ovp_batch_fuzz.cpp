// libFuzzer target: BATCH unpacking on arbitrary bytes. A batch that opens must yield
// exactly `count` records inside the input, and packing them again must give the input back
// (the format has one encoding per content).
#include <omega/ovp/batch.hpp>
#include <omega/ovp/frame.hpp>

#include <array>
#include <cstdint>
#include <cstring>

using namespace omega::ovp;

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  auto reader = BatchReader::open(bytes);
  if (!reader) return 0;
  std::array<std::uint8_t, 0xFFFF> out{};
  BatchWriter writer(out);
  BatchRecord record;
  std::size_t n = 0;
  while (reader->next(record)) {
    check(record.body.data() >= data && record.body.data() + record.body.size() <= data + size);
    check(writer.add(record.channel, record.body, record.sequence));
    ++n;
  }
  check(n == reader->count());
  check(writer.size() == size && std::memcmp(out.data(), data, size) == 0);
  return 0;
}
