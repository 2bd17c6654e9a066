// CRC32C implementations and the one-time choice between them. No OS header and no
// platform #ifdef beyond the compiler's own target macros: the hardware path exists only
// when compiling for x86-64, is compiled for SSE4.2 through a target attribute (the rest of
// the build stays baseline x86-64), and is used only when the CPU reports SSE4.2.
#include <omega/base/assert.hpp>
#include <omega/ovp/crc32c.hpp>

#include <array>
#include <cstring>

namespace omega::ovp {
namespace {

constexpr std::uint32_t kPoly = 0x82F63B78u;  // Castagnoli, bit-reflected

// kTables[0] is the classic byte table; kTables[k][b] is the CRC of byte b followed by k
// zero bytes, so eight table lookups advance the CRC by eight bytes at once.
constexpr std::array<std::array<std::uint32_t, 256>, 8> make_tables() {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t c = b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1u) ? kPoly : 0u);
    t[0][b] = c;
  }
  for (std::uint32_t b = 0; b < 256; ++b) {
    for (std::size_t k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
  }
  return t;
}
constexpr auto kTables = make_tables();

// The raw (pre/post-inverted by the caller) state is passed in and out.
std::uint32_t raw_bytewise(std::uint32_t c, const std::uint8_t* p, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) c = (c >> 8) ^ kTables[0][(c ^ p[i]) & 0xFFu];
  return c;
}

std::uint32_t raw_slicing8(std::uint32_t c, const std::uint8_t* p, std::size_t n) noexcept {
  while (n >= 8) {
    // Byte order is explicit, so this is correct on any host.
    const std::uint32_t lo = c ^ (std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
                                  std::uint32_t{p[3]} << 24);
    c = kTables[7][lo & 0xFFu] ^ kTables[6][(lo >> 8) & 0xFFu] ^ kTables[5][(lo >> 16) & 0xFFu] ^
        kTables[4][lo >> 24] ^ kTables[3][p[4]] ^ kTables[2][p[5]] ^ kTables[1][p[6]] ^ kTables[0][p[7]];
    p += 8;
    n -= 8;
  }
  return raw_bytewise(c, p, n);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
constexpr bool kHardwareCompiled = true;

// Advancing a raw CRC state over n zero bytes is linear over GF(2), so it is four table
// lookups once the tables for that n exist: ShiftTable(n).t[k][b] = the state b << 8k after
// n zero bytes. raw(c, X ++ Y) = shift_|Y|(raw(c, X)) ^ raw(0, Y) combines CRCs of adjacent blocks.
struct ShiftTable {
  explicit ShiftTable(std::size_t n) noexcept {
    std::array<std::uint8_t, 512> zeros{};
    OMEGA_DASSERT(n <= zeros.size(), "shift tables are built for short strides only");
    for (std::size_t k = 0; k < 4; ++k) {
      for (std::uint32_t b = 0; b < 256; ++b) t[k][b] = raw_bytewise(b << (8 * k), zeros.data(), n);
    }
  }
  [[nodiscard]] std::uint32_t shift(std::uint32_t c) const noexcept {
    return t[0][c & 0xFFu] ^ t[1][(c >> 8) & 0xFFu] ^ t[2][(c >> 16) & 0xFFu] ^ t[3][c >> 24];
  }
  std::uint32_t t[4][256];
};

// The crc32 instruction has a latency of 3 cycles and a throughput of 1 per cycle, so one
// dependent chain uses a third of it. Inputs of 3 x kStride bytes or more run three chains
// over adjacent blocks and combine them with two table shifts; the rest runs one chain.
constexpr std::size_t kStride = 128;

__attribute__((target("sse4.2"))) std::uint32_t raw_hardware(std::uint32_t c, const std::uint8_t* p,
                                                            std::size_t n) noexcept {
  if (n >= 3 * kStride) {
    static const ShiftTable by_stride(kStride);
    while (n >= 3 * kStride) {
      std::uint64_t a = c, b = 0, d = 0;
      for (std::size_t i = 0; i < kStride; i += 8) {
        std::uint64_t va, vb, vd;
        std::memcpy(&va, p + i, 8);  // little-endian host: byte 0 first, as the CRC consumes them
        std::memcpy(&vb, p + kStride + i, 8);
        std::memcpy(&vd, p + 2 * kStride + i, 8);
        a = __builtin_ia32_crc32di(a, va);
        b = __builtin_ia32_crc32di(b, vb);
        d = __builtin_ia32_crc32di(d, vd);
      }
      c = by_stride.shift(by_stride.shift(static_cast<std::uint32_t>(a)) ^ static_cast<std::uint32_t>(b)) ^
          static_cast<std::uint32_t>(d);
      p += 3 * kStride;
      n -= 3 * kStride;
    }
  }
  std::uint64_t c64 = c;
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = __builtin_ia32_crc32di(c64, v);
    p += 8;
    n -= 8;
  }
  c = static_cast<std::uint32_t>(c64);
  while (n > 0) {
    c = __builtin_ia32_crc32qi(c, *p++);
    --n;
  }
  return c;
}

bool cpu_has_hardware() noexcept {
  __builtin_cpu_init();  // required before __builtin_cpu_supports in code that may run early
  return __builtin_cpu_supports("sse4.2");
}
#else
constexpr bool kHardwareCompiled = false;
std::uint32_t raw_hardware(std::uint32_t c, const std::uint8_t*, std::size_t) noexcept { return c; }
bool cpu_has_hardware() noexcept { return false; }
#endif

using RawFn = std::uint32_t (*)(std::uint32_t, const std::uint8_t*, std::size_t) noexcept;

bool hardware_usable() noexcept {
  static const bool usable = kHardwareCompiled && cpu_has_hardware();
  return usable;
}

RawFn active_fn() noexcept {
  // A function-local static: initialised once, thread-safely, on first use (never during
  // another translation unit's static initialisation order).
  static const RawFn fn = hardware_usable() ? &raw_hardware : &raw_slicing8;
  return fn;
}

}  // namespace

std::string_view to_string(CrcImpl impl) noexcept {
  switch (impl) {
    case CrcImpl::Hardware: return "sse4.2";
    case CrcImpl::Slicing8: return "slicing-by-8";
    case CrcImpl::Bytewise: return "bytewise";
  }
  return "CrcImpl(?)";
}

bool crc32c_available(CrcImpl impl) noexcept { return impl != CrcImpl::Hardware || hardware_usable(); }

CrcImpl crc32c_active() noexcept { return active_fn() == &raw_hardware ? CrcImpl::Hardware : CrcImpl::Slicing8; }

std::uint32_t crc32c_update(std::uint32_t crc, const std::uint8_t* data, std::size_t size) noexcept {
  return ~active_fn()(~crc, data, size);
}

std::uint32_t crc32c_with(CrcImpl impl, std::uint32_t crc, const std::uint8_t* data, std::size_t size) noexcept {
  OMEGA_ASSERT(crc32c_available(impl), "CRC32C implementation not available on this CPU");
  switch (impl) {
    case CrcImpl::Hardware: return ~raw_hardware(~crc, data, size);
    case CrcImpl::Slicing8: return ~raw_slicing8(~crc, data, size);
    case CrcImpl::Bytewise: return ~raw_bytewise(~crc, data, size);
  }
  return crc;
}

}  // namespace omega::ovp
