#pragma once
// Little-endian byte writing and bounds-checked reading for the swarm kernels' payloads
// (internal). Values are assembled byte by byte, so the encoding is the same on every host.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace omega::swarm::wire {

// std::bit_cast, which Emscripten 3.1.6's libc++ lacks.
template <class To, class From>
To bits_of(const From& from) noexcept {
  static_assert(sizeof(To) == sizeof(From));
  To to;
  std::memcpy(&to, &from, sizeof(To));
  return to;
}

class Writer {
 public:
  explicit Writer(std::size_t reserve = 0) { bytes_.reserve(reserve); }
  void u8(std::uint8_t v) { bytes_.push_back(static_cast<std::byte>(v)); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void f32(float v) { u32(bits_of<std::uint32_t>(v)); }
  void f64(double v) { u64(bits_of<std::uint64_t>(v)); }
  void tag(std::string_view four) {
    for (char c : four) u8(static_cast<std::uint8_t>(c));
  }
  std::vector<std::byte> take() && { return std::move(bytes_); }

 private:
  std::vector<std::byte> bytes_;
};

// Every read checks the remaining length first and reports false instead of reading past
// the end; after a failed read the reader stays failed.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> bytes) : bytes_(bytes) {}
  [[nodiscard]] std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
  [[nodiscard]] bool has(std::size_t n) const noexcept { return n <= remaining(); }
  bool u8(std::uint8_t& v) noexcept {
    if (!has(1)) return false;
    v = static_cast<std::uint8_t>(bytes_[pos_++]);
    return true;
  }
  bool u32(std::uint32_t& v) noexcept {
    if (!has(4)) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(bytes_[pos_++]) << (8 * i);
    return true;
  }
  bool u64(std::uint64_t& v) noexcept {
    if (!has(8)) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(bytes_[pos_++]) << (8 * i);
    return true;
  }
  bool f32(float& v) noexcept {
    std::uint32_t bits = 0;
    if (!u32(bits)) return false;
    v = bits_of<float>(bits);
    return true;
  }
  bool f64(double& v) noexcept {
    std::uint64_t bits = 0;
    if (!u64(bits)) return false;
    v = bits_of<double>(bits);
    return true;
  }
  bool tag(std::string_view four) noexcept {
    if (!has(four.size())) return false;
    for (char c : four) {
      if (static_cast<std::uint8_t>(bytes_[pos_]) != static_cast<std::uint8_t>(c)) return false;
      ++pos_;
    }
    return true;
  }

 private:
  std::span<const std::byte> bytes_;
  std::size_t pos_ = 0;
};

}  // namespace omega::swarm::wire
