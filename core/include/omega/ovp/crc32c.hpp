#pragma once
// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of OVP frames. The
// same function as iSCSI (RFC 3720), ext4 and SCTP: CRC32C("123456789") = 0xE3069283.
//
// crc32c() runs the fastest implementation this process may use, chosen once at first use:
// the SSE4.2 crc32 instruction on x86-64 CPUs that have it, else slicing-by-8 tables (the
// only choice in WASM, which has no CRC instruction). Every implementation gives the same
// result for the same input; crc32c_with() runs a given one (tests and benchmarks).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace omega::ovp {

enum class CrcImpl : std::uint8_t {
  Hardware,  // SSE4.2 crc32 instruction, 8 bytes per step (x86-64 only)
  Slicing8,  // eight 256-entry tables, 8 bytes per step (portable)
  Bytewise,  // one 256-entry table, 1 byte per step (the textbook baseline)
};
[[nodiscard]] std::string_view to_string(CrcImpl impl) noexcept;

// Whether this process can run `impl` (Hardware needs an x86-64 CPU with SSE4.2).
[[nodiscard]] bool crc32c_available(CrcImpl impl) noexcept;
// The implementation crc32c() uses.
[[nodiscard]] CrcImpl crc32c_active() noexcept;

// Extends a finished CRC with more bytes, like zlib's crc32(): crc32c(a ++ b) ==
// crc32c_update(crc32c(a), b), and crc32c(empty) == 0.
[[nodiscard]] std::uint32_t crc32c_update(std::uint32_t crc, const std::uint8_t* data, std::size_t size) noexcept;
[[nodiscard]] inline std::uint32_t crc32c_update(std::uint32_t crc, std::span<const std::uint8_t> data) noexcept {
  return crc32c_update(crc, data.data(), data.size());
}
[[nodiscard]] inline std::uint32_t crc32c(std::span<const std::uint8_t> data) noexcept {
  return crc32c_update(0, data.data(), data.size());
}

// The same with a chosen implementation; `impl` must be available (asserted).
[[nodiscard]] std::uint32_t crc32c_with(CrcImpl impl, std::uint32_t crc, const std::uint8_t* data,
                                        std::size_t size) noexcept;

}  // namespace omega::ovp
