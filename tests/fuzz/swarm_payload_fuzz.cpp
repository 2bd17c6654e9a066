// libFuzzer target: the swarm's task payload decoders (floats, network, circuit, result,
// maxcut, cut) and, for what decodes and is cheap, the kernels behind them. The first byte
// picks the decoder. Contract under test: garbage is refused with a message, never a crash,
// an out-of-bounds read (ASan) or an allocation the input does not justify (rss limit).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <omega/base/rng.hpp>
#include <omega/swarm/neural.hpp>
#include <omega/swarm/quantum.hpp>

namespace os = omega::swarm;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  switch (data[0] % 6) {
    case 0: (void)os::decode_floats(bytes); break;
    case 1:
      if (auto net = os::decode_network(bytes); net && net->parameters() < (1u << 16)) {
        std::vector<float> in(net->input_size(), 0.5f), out(net->output_size());
        (void)net->infer(in, out);
      }
      break;
    case 2:
      if (auto c = os::decode_circuit(bytes); c && os::circuit_work(*c) < (1u << 20)) (void)os::run_circuit(*c, 7);
      break;
    case 3: (void)os::decode_result(bytes); break;
    case 4:
      if (auto p = os::decode_maxcut(bytes); p && os::maxcut_work(*p, 10) < (1u << 20)) (void)os::anneal_maxcut(*p, 7, 10);
      break;
    default: (void)os::decode_cut(bytes); break;
  }
  return 0;
}
