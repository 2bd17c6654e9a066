// OVP v1 codec: CRC32C, frame encode/decode, BATCH packing. Runs natively and in WASM.
#include <omega/base/rng.hpp>
#include <omega/ovp/batch.hpp>
#include <omega/ovp/crc32c.hpp>
#include <omega/ovp/frame.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <string_view>
#include <vector>

using namespace omega::ovp;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes random_bytes(omega::OmegaRng& rng, std::size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng.next_u64());
  return b;
}

const MacAddress kDstMac{0x02, 0, 0, 0, 0, 0x09};
const MacAddress kSrcMac{0x02, 0, 0, 0, 0, 0x07};

FrameHeader sample_header(FrameType type = FrameType::Data) {
  FrameHeader h;
  h.type = type;
  h.flags = type == FrameType::Ack ? kFlagAckValid : 0;
  h.channel = 0xBEEF;
  h.source = 7;
  h.destination = 9;
  h.epoch = 0x01020304;
  h.sequence = 0xA0B0C0D0;
  h.ack = type == FrameType::Ack ? 41 : 0;
  return h;
}

Bytes encode_eth(const FrameHeader& h, const Bytes& payload) {
  Bytes out(kMaxEthernetFrame);
  auto n = encode_ethernet(kDstMac, kSrcMac, h, payload, out);
  REQUIRE(n.has_value());
  out.resize(*n);
  return out;
}

Bytes encode_raw(const FrameHeader& h, const Bytes& payload) {
  Bytes out(kMaxOvpSize);
  auto n = encode_ovp(h, payload, out);
  REQUIRE(n.has_value());
  out.resize(*n);
  return out;
}

// Rewrites the CRC after a deliberate header edit, so the test reaches the check it targets.
void fix_crc(Bytes& frame, std::size_t ovp_offset) {
  const std::size_t len = load_be16(frame.data() + ovp_offset + 4);
  std::size_t payload_avail = frame.size() - ovp_offset - kHeaderSize;
  if (len < payload_avail) payload_avail = len;
  const std::uint32_t crc = crc32c_update(crc32c_update(0, frame.data() + ovp_offset, 28),
                                          frame.data() + ovp_offset + kHeaderSize, payload_avail);
  store_be32(frame.data() + ovp_offset + 28, crc);
}

DecodeError eth_error(const Bytes& frame, DecodeFilter filter = {9, {}}) {
  auto r = decode_ethernet(frame, filter);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

}  // namespace

TEST_CASE("CRC32C matches the RFC 3720 and well-known test vectors", "[ovp_codec][crc]") {
  for (CrcImpl impl : {CrcImpl::Hardware, CrcImpl::Slicing8, CrcImpl::Bytewise}) {
    if (!crc32c_available(impl)) continue;
    INFO(to_string(impl));
    auto crc = [impl](const Bytes& b) { return crc32c_with(impl, 0, b.data(), b.size()); };
    CHECK(crc(bytes_of("123456789")) == 0xE3069283u);
    CHECK(crc(Bytes{}) == 0u);
    // RFC 3720 B.4: 32 bytes of zeros, of 0xFF, ascending, descending.
    CHECK(crc(Bytes(32, 0x00)) == 0x8A9136AAu);
    CHECK(crc(Bytes(32, 0xFF)) == 0x62A8AB43u);
    Bytes up(32), down(32);
    for (int i = 0; i < 32; ++i) {
      up[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
      down[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(31 - i);
    }
    CHECK(crc(up) == 0x46DD794Eu);
    CHECK(crc(down) == 0x113FDB5Cu);
  }
  CHECK(crc32c(bytes_of("123456789")) == 0xE3069283u);
  CHECK(crc32c_available(CrcImpl::Slicing8));
  CHECK(crc32c_available(crc32c_active()));
}

TEST_CASE("CRC32C implementations agree on random data, any length and split", "[ovp_codec][crc]") {
  omega::OmegaRng rng(2024);
  for (int round = 0; round < 300; ++round) {
    const Bytes data = random_bytes(rng, rng.gen_range(2000));
    const std::uint32_t reference = crc32c_with(CrcImpl::Bytewise, 0, data.data(), data.size());
    CHECK(crc32c_with(CrcImpl::Slicing8, 0, data.data(), data.size()) == reference);
    if (crc32c_available(CrcImpl::Hardware)) {
      CHECK(crc32c_with(CrcImpl::Hardware, 0, data.data(), data.size()) == reference);
    }
    CHECK(crc32c(data) == reference);
    // Incremental: any split point gives the same result, also from unaligned starts.
    const std::size_t cut = data.empty() ? 0 : rng.gen_range(data.size() + 1);
    CHECK(crc32c_update(crc32c_update(0, data.data(), cut), data.data() + cut, data.size() - cut) == reference);
  }
}

TEST_CASE("every frame type round-trips through Ethernet and OVP-only encodings", "[ovp_codec]") {
  omega::OmegaRng rng(5);
  for (std::uint8_t t = 1; t <= kMaxFrameType; ++t) {
    const auto type = static_cast<FrameType>(t);
    INFO(to_string(type));
    std::vector<std::size_t> sizes{0, 1, 13, 14, 15, 64, 1024, kMaxPayload};
    if (type == FrameType::Ack) sizes = {kAckPayloadSize};
    for (std::size_t size : sizes) {
      INFO("payload " << size);
      FrameHeader h = sample_header(type);
      const Bytes payload = random_bytes(rng, size);

      const Bytes eth = encode_eth(h, payload);
      CHECK(eth.size() == ethernet_size(size));
      CHECK(eth.size() >= kEthernetMinFrame);
      CHECK(load_be16(eth.data() + 12) == kEtherType);
      auto v = decode_ethernet(eth, DecodeFilter{9, {}});
      REQUIRE(v.has_value());
      CHECK(v->header == h);
      CHECK(v->destination_mac == kDstMac);
      CHECK(v->source_mac == kSrcMac);
      CHECK_FALSE(v->vlan_tci.has_value());
      CHECK(Bytes(v->payload.begin(), v->payload.end()) == payload);

      const Bytes raw = encode_raw(h, payload);
      CHECK(raw.size() == kHeaderSize + size);
      CHECK(std::memcmp(raw.data(), eth.data() + kEthernetHeaderSize, raw.size()) == 0);
      auto w = decode_ovp(raw, DecodeFilter{9, {}});
      REQUIRE(w.has_value());
      CHECK(w->header == h);
      CHECK(Bytes(w->payload.begin(), w->payload.end()) == payload);
    }
  }
}

TEST_CASE("the header is laid out as documented, big-endian", "[ovp_codec]") {
  FrameHeader h = sample_header();
  h.flags = kFlagReliable;
  const Bytes raw = encode_raw(h, Bytes{0xAA, 0xBB});
  const Bytes expected_prefix{
      0x01,                    // version
      0x01,                    // type DATA
      0x00, 0x01,              // flags
      0x00, 0x02,              // payload length
      0xBE, 0xEF,              // channel
      0x00, 0x00, 0x00, 0x07,  // source
      0x00, 0x00, 0x00, 0x09,  // destination
      0x01, 0x02, 0x03, 0x04,  // epoch
      0xA0, 0xB0, 0xC0, 0xD0,  // sequence
      0x00, 0x00, 0x00, 0x00,  // ack
  };
  REQUIRE(raw.size() == 34);
  CHECK(Bytes(raw.begin(), raw.begin() + 28) == expected_prefix);
  Bytes covered(raw.begin(), raw.begin() + 28);
  covered.push_back(0xAA);
  covered.push_back(0xBB);
  CHECK(load_be32(raw.data() + 28) == crc32c(covered));
  CHECK(raw[32] == 0xAA);
  CHECK(raw[33] == 0xBB);
}

TEST_CASE("encoding refuses oversize payloads and small buffers; seal_ovp writes in place", "[ovp_codec]") {
  const Bytes big(kMaxPayload + 1, 1);
  Bytes out(2000);
  CHECK(encode_ovp(sample_header(), big, out).error() == EncodeError::PayloadTooLarge);
  CHECK(encode_ethernet(kDstMac, kSrcMac, sample_header(), big, out).error() == EncodeError::PayloadTooLarge);
  Bytes small(kHeaderSize + 9);
  CHECK(encode_ovp(sample_header(), Bytes(10, 1), small).error() == EncodeError::BufferTooSmall);
  // Ethernet needs room for the padding too.
  Bytes fifty(50);
  CHECK(encode_ethernet(kDstMac, kSrcMac, sample_header(), Bytes{}, fifty).error() == EncodeError::BufferTooSmall);

  Bytes buf(kMaxOvpSize);
  const Bytes payload{1, 2, 3, 4, 5};
  std::memcpy(buf.data() + kHeaderSize, payload.data(), payload.size());
  auto n = seal_ovp(sample_header(), payload.size(), buf);
  REQUIRE(n.has_value());
  buf.resize(*n);
  CHECK(buf == encode_raw(sample_header(), payload));
}

TEST_CASE("malformed frames are rejected, each with its own reason", "[ovp_codec]") {
  const Bytes payload{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
  const Bytes good = encode_eth(sample_header(), payload);  // 66 bytes: no padding
  const std::size_t o = kEthernetHeaderSize;
  REQUIRE(decode_ethernet(good, {9, {}}).has_value());

  SECTION("too short") {
    for (std::size_t n : {std::size_t{0}, std::size_t{13}, std::size_t{14}, kEthernetHeaderSize + kHeaderSize - 1}) {
      CHECK(eth_error(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n))) == DecodeError::TooShort);
    }
    CHECK(decode_ovp(Bytes(good.begin() + o, good.begin() + o + 31), {}).error() == DecodeError::TooShort);
  }
  SECTION("length past the end") {
    Bytes f(good.begin(), good.end() - 1);
    CHECK(eth_error(f) == DecodeError::LengthPastEnd);
    Bytes g = good;
    store_be16(g.data() + o + 4, static_cast<std::uint16_t>(payload.size() + 1));
    fix_crc(g, o);
    CHECK(eth_error(g) == DecodeError::LengthPastEnd);
  }
  SECTION("declared length above the maximum") {
    Bytes g = good;
    store_be16(g.data() + o + 4, static_cast<std::uint16_t>(kMaxPayload + 1));
    CHECK(eth_error(g) == DecodeError::PayloadTooLarge);
  }
  SECTION("trailing bytes: accepted only as minimum-size padding") {
    Bytes g = good;
    g.push_back(0);
    CHECK(eth_error(g) == DecodeError::TrailingBytes);
    const Bytes raw(good.begin() + o, good.end());
    Bytes r = raw;
    r.push_back(0);
    CHECK(decode_ovp(r, {}).error() == DecodeError::TrailingBytes);
    // A short frame padded to 60 bytes, with any padding contents, decodes.
    Bytes padded = encode_eth(sample_header(), Bytes{1, 2, 3});
    REQUIRE(padded.size() == kEthernetMinFrame);
    padded.back() = 0x5A;
    auto v = decode_ethernet(padded, {9, {}});
    REQUIRE(v.has_value());
    CHECK(v->payload.size() == 3);
    // ... but not padding beyond 60 bytes.
    padded.push_back(0);
    CHECK(eth_error(padded) == DecodeError::TrailingBytes);
  }
  SECTION("bad version, type, flags, source") {
    Bytes g = good;
    g[o] = 2;
    fix_crc(g, o);
    CHECK(eth_error(g) == DecodeError::BadVersion);
    g = good;
    g[o] = 0;
    CHECK(eth_error(g) == DecodeError::BadVersion);
    for (std::uint8_t t : {std::uint8_t{0}, std::uint8_t{kMaxFrameType + 1}, std::uint8_t{0xFF}}) {
      g = good;
      g[o + 1] = t;
      fix_crc(g, o);
      CHECK(eth_error(g) == DecodeError::BadType);
    }
    for (std::uint16_t flags : {std::uint16_t{0x0008}, std::uint16_t{0x8000}, std::uint16_t{kFlagAckValid}}) {
      g = good;
      store_be16(g.data() + o + 2, flags);
      fix_crc(g, o);
      CHECK(eth_error(g) == DecodeError::BadFlags);
    }
    // Reliable to a group or to everyone; a group id of "all".
    FrameHeader h = sample_header();
    h.flags = kFlagReliable;
    h.destination = kBroadcast;
    CHECK(eth_error(encode_eth(h, payload)) == DecodeError::BadFlags);
    h.flags = kFlagReliable | kFlagGroup;
    h.destination = 3;
    CHECK(eth_error(encode_eth(h, payload)) == DecodeError::BadFlags);
    h.flags = kFlagGroup;
    h.destination = kBroadcast;
    CHECK(eth_error(encode_eth(h, payload)) == DecodeError::BadFlags);
    // An ACK without its flag.
    h = sample_header(FrameType::Ack);
    h.flags = 0;
    CHECK(eth_error(encode_eth(h, Bytes(kAckPayloadSize))) == DecodeError::BadFlags);
    for (std::uint32_t source : {0u, kBroadcast}) {
      h = sample_header();
      h.source = source;
      CHECK(eth_error(encode_eth(h, payload)) == DecodeError::BadSource);
    }
  }
  SECTION("ACK payload must be exactly its size") {
    for (std::size_t n : {std::size_t{0}, kAckPayloadSize - 1, kAckPayloadSize + 1}) {
      CHECK(eth_error(encode_eth(sample_header(FrameType::Ack), Bytes(n))) == DecodeError::BadPayload);
    }
  }
  SECTION("CRC mismatch") {
    Bytes g = good;
    g[o + 28] ^= 0x01;
    CHECK(eth_error(g) == DecodeError::CrcMismatch);
    g = good;
    g.back() ^= 0x80;
    CHECK(eth_error(g) == DecodeError::CrcMismatch);
  }
  SECTION("wrong EtherType") {
    for (std::uint16_t et : {std::uint16_t{0x0800}, std::uint16_t{0x86DD}, std::uint16_t{0x88B6}}) {
      Bytes g = good;
      store_be16(g.data() + 12, et);
      CHECK(eth_error(g) == DecodeError::WrongEtherType);
    }
  }
  SECTION("one VLAN tag is stripped, two are rejected") {
    for (std::uint16_t tpid : {kEtherTypeVlan, kEtherTypeQinQ}) {
      Bytes tagged(good.begin(), good.begin() + 12);
      tagged.push_back(static_cast<std::uint8_t>(tpid >> 8));
      tagged.push_back(static_cast<std::uint8_t>(tpid));
      tagged.push_back(0x20);  // PCP 1, VID 0x005
      tagged.push_back(0x05);
      tagged.insert(tagged.end(), good.begin() + 12, good.end());
      auto v = decode_ethernet(tagged, {9, {}});
      REQUIRE(v.has_value());
      CHECK(v->vlan_tci == std::optional<std::uint16_t>(0x2005));
      CHECK(v->header == sample_header());
      CHECK(Bytes(v->payload.begin(), v->payload.end()) == payload);

      Bytes stacked(tagged.begin(), tagged.begin() + 16);
      stacked.push_back(0x81);
      stacked.push_back(0x00);
      stacked.push_back(0x00);
      stacked.push_back(0x07);
      stacked.insert(stacked.end(), tagged.begin() + 16, tagged.end());
      CHECK(eth_error(stacked) == DecodeError::VlanStacked);

      // A tagged minimum frame may carry padding up to 64 bytes.
      Bytes small = encode_eth(sample_header(), Bytes{});
      Bytes small_tagged(small.begin(), small.begin() + 12);
      small_tagged.insert(small_tagged.end(), tagged.begin() + 12, tagged.begin() + 16);
      small_tagged.insert(small_tagged.end(), small.begin() + 12, small.end());
      small_tagged.resize(64, 0);
      CHECK(decode_ethernet(small_tagged, {9, {}}).has_value());
      small_tagged.push_back(0);
      CHECK(eth_error(small_tagged) == DecodeError::TrailingBytes);
    }
  }
  SECTION("own echoed frames and frames for someone else") {
    CHECK(eth_error(good, {7, {}}) == DecodeError::OwnFrame);
    CHECK(eth_error(good, {8, {}}) == DecodeError::NotForMe);
    FrameHeader h = sample_header();
    h.flags = kFlagGroup;
    h.destination = 42;
    const Bytes group = encode_eth(h, payload);
    const std::uint32_t mine[] = {5, 42};
    const std::uint32_t other[] = {5, 43};
    CHECK(decode_ethernet(group, {9, mine}).has_value());
    CHECK(eth_error(group, {9, other}) == DecodeError::NotForMe);
    h.flags = 0;
    h.destination = kBroadcast;
    CHECK(decode_ethernet(encode_eth(h, payload), {9, {}}).has_value());
    // my_id 0: a gateway sees everything.
    CHECK(decode_ethernet(good, {0, {}}).has_value());
    CHECK(decode_ethernet(group, {0, {}}).has_value());
  }
}

TEST_CASE("every single-bit flip from the EtherType on is rejected", "[ovp_codec]") {
  // The MACs are the Ethernet FCS's to protect (and the socket's to filter); every other bit
  // is either checked by value or covered by the CRC.
  omega::OmegaRng rng(77);
  for (std::size_t size : {std::size_t{0}, std::size_t{3}, std::size_t{14}, std::size_t{100}, std::size_t{1024}}) {
    FrameHeader h = sample_header();
    h.flags = kFlagReliable;
    const Bytes good = encode_eth(h, random_bytes(rng, size));
    REQUIRE(decode_ethernet(good, {9, {}}).has_value());
    // In a padded frame the padding is not covered (NICs pad with anything): flip up to
    // the end of the payload.
    const std::size_t end = kEthernetHeaderSize + kHeaderSize + size;
    std::size_t accepted = 0;
    Bytes f = good;
    for (std::size_t bit = 12 * 8; bit < end * 8; ++bit) {
      f[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      accepted += decode_ethernet(f, {9, {}}).has_value() ? 1 : 0;
      accepted += decode_ethernet(f, {0, {}}).has_value() ? 1 : 0;
      f[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    }
    INFO("payload " << size);
    CHECK(accepted == 0);
    CHECK(f == good);
  }
}

TEST_CASE("decoder counters count each outcome by reason and export them", "[ovp_codec]") {
  DecoderCounters counters;
  const Bytes good = encode_eth(sample_header(), Bytes{1, 2, 3});
  Bytes bad = good;
  bad[20] ^= 1;
  CHECK(counters.record(decode_ethernet(good, {9, {}})).has_value());
  CHECK_FALSE(counters.record(decode_ethernet(bad, {9, {}})).has_value());
  CHECK_FALSE(counters.record(decode_ethernet(good, {7, {}})).has_value());
  CHECK_FALSE(counters.record(decode_ethernet(Bytes(10), {9, {}})).has_value());
  CHECK(counters.accepted.value() == 1);
  CHECK(counters.rejected[static_cast<std::size_t>(DecodeError::CrcMismatch)].value() == 1);
  CHECK(counters.rejected[static_cast<std::size_t>(DecodeError::OwnFrame)].value() == 1);
  CHECK(counters.rejected[static_cast<std::size_t>(DecodeError::TooShort)].value() == 1);
  CHECK(counters.rejected_total() == 3);

  omega::MetricsSnapshot snap;
  REQUIRE(counters.export_to(snap, {{"drone", "9"}}).has_value());
  const std::string text = snap.to_prometheus();
  CHECK(text.find("omega_ovp_frames_accepted_total{drone=\"9\"} 1") != std::string::npos);
  CHECK(text.find("omega_ovp_frames_rejected_total{drone=\"9\",reason=\"CrcMismatch\"} 1") != std::string::npos);
  CHECK(text.find("omega_ovp_frames_rejected_total{drone=\"9\",reason=\"NotForMe\"} 0") != std::string::npos);
  for (std::size_t i = 0; i < kDecodeErrorCount; ++i) {
    CHECK(to_string(static_cast<DecodeError>(i)).find('?') == std::string_view::npos);
  }
}

TEST_CASE("the decoder never crashes or reads out of bounds on random and mutated input", "[ovp_codec]") {
  // Bounded (about a second in a debug build); the libFuzzer targets go further.
  omega::OmegaRng rng(31337);
  std::vector<Bytes> seeds;
  for (std::uint8_t t = 1; t <= kMaxFrameType; ++t) {
    FrameHeader h = sample_header(static_cast<FrameType>(t));
    seeds.push_back(encode_eth(h, random_bytes(rng, t == 2 ? kAckPayloadSize : rng.gen_range(200))));
  }
  std::size_t accepted = 0;
  for (int i = 0; i < 200'000; ++i) {
    Bytes f;
    if (i % 4 == 0) {
      f = random_bytes(rng, rng.gen_range(120));
    } else {
      f = seeds[rng.gen_range(seeds.size())];
      const int edits = 1 + static_cast<int>(rng.gen_range(4));
      for (int e = 0; e < edits && !f.empty(); ++e) {
        switch (rng.gen_range(4)) {
          case 0: f[rng.gen_range(f.size())] ^= static_cast<std::uint8_t>(1u << rng.gen_range(8)); break;
          case 1: f[rng.gen_range(f.size())] = static_cast<std::uint8_t>(rng.next_u64()); break;
          case 2: f.resize(rng.gen_range(f.size() + 1)); break;
          default: f.insert(f.begin() + static_cast<std::ptrdiff_t>(rng.gen_range(f.size() + 1)), 0x81); break;
        }
      }
    }
    // Decode from an exactly sized heap copy, so ASan sees any read past the end.
    auto v = decode_ethernet(f, {9, {}});
    auto w = decode_ovp(f, {0, {}});
    if (v) {
      ++accepted;
      REQUIRE(v->payload.data() >= f.data());
      REQUIRE(v->payload.data() + v->payload.size() <= f.data() + f.size());
      REQUIRE(crc32c_update(0, v->payload.data(), v->payload.size()) == crc32c(v->payload));
    }
    if (w) REQUIRE(w->payload.data() + w->payload.size() <= f.data() + f.size());
  }
  // Mutations that only shorten padding or rewrite a MAC keep a frame valid: some pass.
  CHECK(accepted > 0);
}

// ---------------------------------------------------------------------------------------
// BATCH

TEST_CASE("batches round-trip records of every size, with and without sequences", "[ovp_codec][batch]") {
  omega::OmegaRng rng(8);
  for (int round = 0; round < 200; ++round) {
    std::array<std::uint8_t, kMaxPayload> buf{};
    BatchWriter w(buf);
    struct Rec {
      std::uint16_t channel;
      std::optional<std::uint32_t> seq;
      Bytes body;
    };
    std::vector<Rec> recs;
    for (;;) {
      Rec r{static_cast<std::uint16_t>(rng.next_u64()), std::nullopt, random_bytes(rng, rng.gen_range(80))};
      if (rng.gen_range(2) == 0) r.seq = static_cast<std::uint32_t>(rng.next_u64());
      const std::size_t before = w.remaining();
      if (!w.add(r.channel, r.body, r.seq)) {
        CHECK(batch_record_size(r.body.size(), r.seq.has_value()) > before);
        CHECK(w.remaining() == before);
        break;
      }
      recs.push_back(std::move(r));
    }
    REQUIRE(w.count() == recs.size());
    auto reader = BatchReader::open(std::span<const std::uint8_t>(buf.data(), w.size()));
    REQUIRE(reader.has_value());
    CHECK(reader->count() == recs.size());
    BatchRecord rec;
    std::size_t i = 0;
    while (reader->next(rec)) {
      REQUIRE(i < recs.size());
      CHECK(rec.channel == recs[i].channel);
      CHECK(rec.sequence == recs[i].seq);
      CHECK(Bytes(rec.body.begin(), rec.body.end()) == recs[i].body);
      ++i;
    }
    CHECK(i == recs.size());
  }
}

TEST_CASE("a batch inside a frame, written in place and sealed", "[ovp_codec][batch]") {
  std::array<std::uint8_t, kMaxOvpSize> frame{};
  BatchWriter w(std::span<std::uint8_t>(frame).subspan(kHeaderSize));
  CHECK(w.empty());
  CHECK(w.size() == 0);
  const Bytes a{1, 2, 3}, empty{};
  REQUIRE(w.add(1, a, 100));
  REQUIRE(w.add(2, empty));
  FrameHeader h = sample_header(FrameType::Batch);
  auto n = seal_ovp(h, w.size(), frame);
  REQUIRE(n.has_value());
  CHECK(*n == kHeaderSize + 2 + (5 + 4 + 3) + 5);
  auto v = decode_ovp(std::span<const std::uint8_t>(frame.data(), *n), {9, {}});
  REQUIRE(v.has_value());
  auto r = BatchReader::open(v->payload);
  REQUIRE(r.has_value());
  BatchRecord rec;
  REQUIRE(r->next(rec));
  CHECK(rec.channel == 1);
  CHECK(rec.sequence == std::optional<std::uint32_t>(100));
  CHECK(rec.body.size() == 3);
  REQUIRE(r->next(rec));
  CHECK(rec.channel == 2);
  CHECK_FALSE(rec.sequence.has_value());
  CHECK(rec.body.empty());
  CHECK_FALSE(r->next(rec));
  // 50 records of 24 bytes fill a full payload (the figure in batch.hpp), a 51st does not fit.
  std::array<std::uint8_t, kMaxPayload> buf{};
  BatchWriter full(buf);
  int fitted = 0;
  while (full.add(0, Bytes(24, 7))) ++fitted;
  CHECK(fitted == 50);
  w.clear();
  CHECK(w.empty());
}

TEST_CASE("malformed batches are rejected whole, each with its reason", "[ovp_codec][batch]") {
  std::array<std::uint8_t, 256> buf{};
  BatchWriter w(buf);
  REQUIRE(w.add(1, Bytes{1, 2, 3}, 9));
  REQUIRE(w.add(2, Bytes{4, 5}));
  const Bytes good(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(w.size()));
  REQUIRE(BatchReader::open(good).has_value());
  auto err = [](const Bytes& b) {
    auto r = BatchReader::open(b);
    REQUIRE_FALSE(r.has_value());
    return r.error();
  };
  CHECK(err(Bytes{}) == BatchError::TooShort);
  CHECK(err(Bytes{0}) == BatchError::TooShort);
  CHECK(err(Bytes{0, 0}) == BatchError::Empty);
  Bytes b = good;
  b[1] = 3;  // claims a third record
  CHECK(err(b) == BatchError::TruncatedRecord);
  b = good;
  b[1] = 1;  // claims only one: the second is left over
  CHECK(err(b) == BatchError::TrailingBytes);
  b = good;
  b[6] = 0x02;  // unknown record flag
  CHECK(err(b) == BatchError::BadRecordFlags);
  b = good;
  b[3] = 200;  // first body runs past the end
  CHECK(err(b) == BatchError::RecordPastEnd);
  b = Bytes(good.begin(), good.begin() + 9);  // first record's sequence cut
  b[1] = 1;
  CHECK(err(b) == BatchError::TruncatedRecord);
  b = Bytes(good.begin(), good.end() - 1);
  CHECK(err(b) == BatchError::RecordPastEnd);
  b = good;
  b.push_back(0);
  CHECK(err(b) == BatchError::TrailingBytes);
  // Random corruption: either a clean rejection or records that stay inside the buffer.
  omega::OmegaRng rng(4);
  for (int i = 0; i < 20'000; ++i) {
    Bytes m = good;
    m[rng.gen_range(m.size())] = static_cast<std::uint8_t>(rng.next_u64());
    if (rng.gen_range(3) == 0) m.resize(rng.gen_range(m.size() + 1));
    auto r = BatchReader::open(m);
    if (!r) continue;
    BatchRecord rec;
    std::size_t n = 0;
    while (r->next(rec)) {
      ++n;
      REQUIRE(rec.body.data() >= m.data());
      REQUIRE(rec.body.data() + rec.body.size() <= m.data() + m.size());
    }
    REQUIRE(n == r->count());
  }
}
