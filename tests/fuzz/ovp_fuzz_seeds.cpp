// Writes a small seed corpus for the OVP fuzz targets: valid frames of every type (Ethernet,
// tagged and OVP-only) and valid batches, so the fuzzers start from inputs that pass the
// early checks. Usage: ovp_fuzz_seeds <frames-dir> <batches-dir>
#include <omega/ovp/batch.hpp>
#include <omega/ovp/frame.hpp>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

using namespace omega::ovp;

namespace {
bool write(const std::string& path, std::span<const std::uint8_t> bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <frames-dir> <batches-dir>\n", argv[0]);
    return 2;
  }
  const std::string frames = argv[1];
  const std::string batches = argv[2];
  int written = 0;
  bool ok = true;

  std::array<std::uint8_t, kMaxPayload> batch{};
  BatchWriter w(batch);
  const std::uint8_t body[] = {1, 2, 3, 4, 5, 6, 7, 8};
  for (std::uint16_t i = 0; i < 6; ++i) {
    if (i % 2 == 0) {
      w.add(i, std::span<const std::uint8_t>(body, i), 1000u + i);
    } else {
      w.add(i, std::span<const std::uint8_t>(body, i));
    }
    ok &= write(batches + "/batch" + std::to_string(i), std::span<const std::uint8_t>(batch.data(), w.size()));
    ++written;
  }
  const std::vector<std::uint8_t> batch_payload(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(w.size()));

  const MacAddress dst{2, 0, 0, 0, 0, 9};
  const MacAddress src{2, 0, 0, 0, 0, 7};
  for (std::uint8_t t = 1; t <= kMaxFrameType; ++t) {
    FrameHeader h;
    h.type = static_cast<FrameType>(t);
    h.source = 7;
    h.destination = t == 3 ? kBroadcast : 9;
    h.epoch = 1;
    h.sequence = t;
    std::vector<std::uint8_t> payload(body, body + 8);
    if (h.type == FrameType::Ack) {
      h.flags = kFlagAckValid;
      payload.assign(kAckPayloadSize, 0);
      payload[3] = 1;  // acked epoch 1
    } else if (h.type == FrameType::Batch) {
      payload = batch_payload;
    } else if (h.type == FrameType::Data) {
      h.flags = kFlagReliable;
      h.ack = 1;
    }
    std::array<std::uint8_t, kMaxEthernetFrame + kVlanTagSize> out{};
    auto n = encode_ethernet(dst, src, h, payload, out);
    auto m = n ? encode_ovp(h, payload, std::span<std::uint8_t>(out).subspan(0, kMaxOvpSize)) : n;
    if (!n || !m) return 1;
    ok &= write(frames + "/ovp" + std::to_string(t), std::span<const std::uint8_t>(out.data(), *m));
    n = encode_ethernet(dst, src, h, payload, out);
    ok &= write(frames + "/eth" + std::to_string(t), std::span<const std::uint8_t>(out.data(), *n));
    written += 2;
  }
  std::printf("ovp_fuzz_seeds: %d seeds\n", written);
  return ok ? 0 : 1;
}
