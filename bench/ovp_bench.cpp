// OVP codec costs, each row against a baseline measured in the same process:
//  CRC32C:   SSE4.2 instruction (where the CPU has it) and slicing-by-8 vs. the textbook
//            bytewise table loop
//  encode:   encode_ethernet (header + CRC + copy) vs. a bare memcpy of the same frame
//  decode:   decode_ethernet (every check + CRC) vs. the same bare memcpy
//  batch:    BatchWriter/BatchReader for 24-byte records vs. memcpy of the same bytes
//  reliable: one send -> DATA -> deliver -> ACK -> acked cycle through two endpoints in
//            one process (no network), per message, one at a time and 32 per round trip
// Unit stated per row; medians of repeated runs; "x" column: baseline time / row time.
#include <omega/base/config.hpp>
#include <omega/ovp/batch.hpp>
#include <omega/ovp/crc32c.hpp>
#include <omega/ovp/frame.hpp>
#include <omega/ovp/reliable.hpp>

#include <cstring>
#include <random>
#include <vector>

#include "bench_util.hpp"

using namespace omega::bench;
using namespace omega::ovp;

namespace {

constexpr int kRuns = 11;

std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

// GB/s of f() over `bytes` bytes per call, `reps` calls per run.
template <class F>
Stat gbps(std::size_t bytes, int reps, F&& f) {
  const Stat ns = repeat(kRuns, [&] { return time_ns([&] { for (int i = 0; i < reps; ++i) f(); }) / reps; });
  return Stat{static_cast<double>(bytes) / ns.median, static_cast<double>(bytes) / ns.max,
              static_cast<double>(bytes) / ns.min};
}

void rate_row(const char* name, const Stat& s, const char* unit, double baseline) {
  // Higher is better for rates: the ratio is row / baseline.
  std::printf("  %-44s %10.2f %-9s (min %8.2f, max %8.2f)  x%.2f vs baseline\n", name, s.median, unit, s.min, s.max,
              s.median / baseline);
}

void crc_rows() {
  std::printf("CRC32C, GB/s (active implementation: %s):\n", std::string(to_string(crc32c_active())).c_str());
  for (std::size_t size : {std::size_t{64}, std::size_t{1024}, std::size_t{1500}, std::size_t{65536}}) {
    const auto data = random_bytes(size, size);
    const int reps = static_cast<int>(4'000'000 / size) + 1;
    std::uint32_t sink = 0;
    auto run = [&](CrcImpl impl) {
      return gbps(size, reps, [&] { sink += crc32c_with(impl, sink, data.data(), data.size()); });
    };
    const Stat base = run(CrcImpl::Bytewise);
    std::printf(" %zu bytes:\n", size);
    rate_row("bytewise table (baseline)", base, "GB/s", base.median);
    rate_row("slicing-by-8", run(CrcImpl::Slicing8), "GB/s", base.median);
    if (crc32c_available(CrcImpl::Hardware)) {
      rate_row("sse4.2 crc32 instruction", run(CrcImpl::Hardware), "GB/s", base.median);
    }
    keep(sink);
  }
}

void codec_rows() {
  const MacAddress dst{2, 0, 0, 0, 0, 9};
  const MacAddress src{2, 0, 0, 0, 0, 7};
  FrameHeader h;
  h.source = 7;
  h.destination = 9;
  h.epoch = 1;
  for (std::size_t size : {std::size_t{64}, std::size_t{1024}}) {
    const auto payload = random_bytes(size, 7);
    std::vector<std::uint8_t> frame(kMaxEthernetFrame);
    const std::size_t len = *encode_ethernet(dst, src, h, payload, frame);
    frame.resize(len);
    std::vector<std::uint8_t> copy(kMaxEthernetFrame);
    constexpr int kFrames = 200'000;
    std::printf("frames with a %zu-byte payload (%zu bytes on the wire), ns per frame:\n", size, len);
    const Stat memcpy_ns = repeat(kRuns, [&] {
      return time_ns([&] {
               for (int i = 0; i < kFrames; ++i) {
                 std::memcpy(copy.data(), frame.data(), len);
                 keep(copy.data());
               }
             }) /
             kFrames;
    });
    const Stat enc = repeat(kRuns, [&] {
      return time_ns([&] {
               for (int i = 0; i < kFrames; ++i) {
                 h.sequence = static_cast<std::uint32_t>(i);
                 keep(encode_ethernet(dst, src, h, payload, copy));
               }
             }) /
             kFrames;
    });
    const Stat dec = repeat(kRuns, [&] {
      return time_ns([&] {
               for (int i = 0; i < kFrames; ++i) keep(decode_ethernet(frame, DecodeFilter{9, {}}));
             }) /
             kFrames;
    });
    row("memcpy of the frame (baseline)", memcpy_ns, "ns/frame", memcpy_ns.median);
    row("encode_ethernet", enc, "ns/frame", memcpy_ns.median);
    row("decode_ethernet", dec, "ns/frame", memcpy_ns.median);
    std::printf("  => encode %.2f M frames/s, decode %.2f M frames/s\n", 1e3 / enc.median, 1e3 / dec.median);
  }
}

void batch_rows() {
  const auto body = random_bytes(24, 3);
  std::array<std::uint8_t, kMaxPayload> buf{};
  std::array<std::uint8_t, kMaxPayload> copy{};
  constexpr int kBatches = 50'000;
  BatchWriter probe(buf);
  while (probe.add(1, body)) {
  }
  const std::size_t per_batch = probe.count();
  const std::size_t bytes = probe.size();
  std::printf("BATCH of %zu records x 24 bytes (%zu-byte payload), ns per record:\n", per_batch, bytes);
  const Stat base = repeat(kRuns, [&] {
    return time_ns([&] {
             for (int i = 0; i < kBatches; ++i) {
               for (std::size_t r = 0; r < per_batch; ++r) std::memcpy(copy.data() + r * 29, body.data(), 24);
               keep(copy.data());
             }
           }) /
           (kBatches * static_cast<double>(per_batch));
  });
  const Stat pack = repeat(kRuns, [&] {
    return time_ns([&] {
             for (int i = 0; i < kBatches; ++i) {
               BatchWriter w(buf);
               while (w.add(static_cast<std::uint16_t>(i), body)) {
               }
               keep(w.size());
             }
           }) /
           (kBatches * static_cast<double>(per_batch));
  });
  const Stat unpack = repeat(kRuns, [&] {
    return time_ns([&] {
             for (int i = 0; i < kBatches; ++i) {
               auto r = BatchReader::open(std::span<const std::uint8_t>(buf.data(), bytes));
               BatchRecord rec;
               std::size_t sum = 0;
               while (r->next(rec)) sum += rec.body.size();
               keep(sum);
             }
           }) /
           (kBatches * static_cast<double>(per_batch));
  });
  row("memcpy of 24-byte bodies (baseline)", base, "ns/rec", base.median);
  row("BatchWriter::add", pack, "ns/rec", base.median);
  row("BatchReader::open + next (validated)", unpack, "ns/rec", base.median);
  std::printf("  => pack %.1f M records/s, unpack %.1f M records/s\n", 1e3 / pack.median, 1e3 / unpack.median);
}

void reliable_rows() {
  std::printf("reliable mode, one send -> DATA -> deliver -> ACK cycle, ns per 64-byte message:\n");
  const auto payload = random_bytes(64, 5);
  for (int per_round : {1, 32}) {
    constexpr int kMessages = 64'000;
    const Stat s = repeat(kRuns, [&] {
      std::uint64_t delivered = 0;
      ReliableEndpoint a(1, ReliableConfig{}, [](const Delivery&) {});
      ReliableEndpoint b(2, ReliableConfig{}, [&](const Delivery&) { ++delivered; });
      std::vector<std::vector<std::uint8_t>> to_b, to_a;
      to_b.reserve(64);
      to_a.reserve(64);
      std::chrono::nanoseconds now{0};
      const double ns = time_ns([&] {
        for (int m = 0; m < kMessages; m += per_round) {
          for (int i = 0; i < per_round; ++i) (void)a.send(2, 0, payload);
          a.poll(now, [&](std::uint32_t, std::span<const std::uint8_t> p) { to_b.emplace_back(p.begin(), p.end()); });
          for (auto& f : to_b) (void)b.on_packet(f, now);
          to_b.clear();
          b.poll(now, [&](std::uint32_t, std::span<const std::uint8_t> p) { to_a.emplace_back(p.begin(), p.end()); });
          for (auto& f : to_a) (void)a.on_packet(f, now);
          to_a.clear();
          now += std::chrono::microseconds(10);
        }
      });
      if (delivered != static_cast<std::uint64_t>(kMessages)) std::printf("  (delivered %llu!)\n", (unsigned long long)delivered);
      return ns / kMessages;
    });
    char name[64];
    std::snprintf(name, sizeof name, "%d message(s) per round trip", per_round);
    std::printf("  %-44s %10.2f %-9s (min %8.2f, max %8.2f)  => %.2f M msgs/s\n", name, s.median, "ns/msg", s.min,
                s.max, 1e3 / s.median);
  }
}

}  // namespace

int main() {
  std::printf("ovp_bench (%s): medians of %d runs\n", omega::kPlatformName, kRuns);
  crc_rows();
  codec_rows();
  batch_rows();
  reliable_rows();
  return 0;
}
