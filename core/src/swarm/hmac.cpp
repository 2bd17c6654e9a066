#include "swarm/hmac.hpp"

#include <nettle/hmac.h>

#include <cstring>

namespace omega::swarm::internal {

namespace {
static_assert(sizeof(hmac_sha256_ctx) <= 384, "HmacSha256Key::ctx_ is too small for Nettle's hmac_sha256_ctx");
static_assert(alignof(hmac_sha256_ctx) <= 8, "HmacSha256Key::ctx_ is under-aligned for Nettle's hmac_sha256_ctx");
static_assert(SHA256_DIGEST_SIZE == 32);
}  // namespace

HmacSha256Key::HmacSha256Key() noexcept : HmacSha256Key(std::span<const std::uint8_t>{}) {}

HmacSha256Key::HmacSha256Key(std::span<const std::uint8_t> key) noexcept {
  hmac_sha256_ctx ctx;
  hmac_sha256_set_key(&ctx, key.size(), key.data());
  std::memcpy(ctx_.data(), &ctx, sizeof ctx);
}

Sha256Digest HmacSha256Key::mac(std::initializer_list<std::span<const std::uint8_t>> parts) const noexcept {
  // Nettle's digest leaves the context keyed again, but this object is shared read-only,
  // so each MAC works on a copy of the keyed state.
  hmac_sha256_ctx ctx;
  std::memcpy(&ctx, ctx_.data(), sizeof ctx);
  for (std::span<const std::uint8_t> part : parts) hmac_sha256_update(&ctx, part.size(), part.data());
  Sha256Digest out;
  hmac_sha256_digest(&ctx, out.size(), out.data());
  return out;
}

Sha256Digest hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) noexcept {
  return HmacSha256Key(key).mac(data);
}

bool mac_equal(const Sha256Digest& a, const Sha256Digest& b) noexcept {
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = static_cast<std::uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

}  // namespace omega::swarm::internal
