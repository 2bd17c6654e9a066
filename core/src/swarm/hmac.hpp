#pragma once
// HMAC-SHA256 (RFC 2104, FIPS 180-4) for the coordinator's signed votes, from GNU Nettle on
// both targets: Debian's libnettle natively, the same 3.8.1 release compiled from source in
// WASM (cmake/OmegaDependencies.cmake). Nettle's headers stay inside hmac.cpp.
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

namespace omega::swarm::internal {

using Sha256Digest = std::array<std::uint8_t, 32>;

// A key with its inner and outer hash states precomputed, so each MAC costs the message's
// compressions plus one for the outer hash. Copyable; not thread-safe to share while
// mac() runs on several threads (each call copies the keyed state first, so it is const).
class HmacSha256Key {
 public:
  HmacSha256Key() noexcept;
  explicit HmacSha256Key(std::span<const std::uint8_t> key) noexcept;

  // MAC of the concatenation of `parts`.
  [[nodiscard]] Sha256Digest mac(std::initializer_list<std::span<const std::uint8_t>> parts) const noexcept;
  [[nodiscard]] Sha256Digest mac(std::span<const std::uint8_t> data) const noexcept { return mac({data}); }

 private:
  // Nettle's struct hmac_sha256_ctx (three sha256_ctx), held opaquely; hmac.cpp checks the size.
  alignas(8) std::array<std::byte, 384> ctx_{};
};

// One-shot HMAC-SHA256 of `data` under `key`.
[[nodiscard]] Sha256Digest hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) noexcept;

// Compares two MACs in time independent of where they differ (a forger learns nothing from timing).
[[nodiscard]] bool mac_equal(const Sha256Digest& a, const Sha256Digest& b) noexcept;

}  // namespace omega::swarm::internal
