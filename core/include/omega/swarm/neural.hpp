#pragma once
// The neural agent's kernel: inference of a small dense (fully connected) network whose
// weights the agent is given. The matrix-vector products run on Highway (the best SIMD
// target the CPU has natively, SIMD128 in WASM); activations are scalar.
//
// Payload encodings (all little-endian, independent of the host):
//   floats   an array of IEEE-754 binary32 values, 4 bytes each, nothing else: the input of
//            an inference task and the output it returns. Length must be a multiple of 4 and
//            every value finite.
//   network  "ONN1", u32 layer count (1..kMaxLayers), then per layer: u32 inputs, u32 outputs,
//            u8 activation (Activation's value), outputs*inputs f32 weights (row-major: row o
//            holds output o's weights), outputs f32 biases. Each layer's inputs equal the
//            previous layer's outputs; every value finite; nothing after the last layer.
// Decoders never trust a length before checking that the bytes for it are present, so
// garbage is refused with a message and never allocates more than the input's size implies.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <omega/base/result.hpp>

namespace omega::swarm {

enum class Activation : std::uint8_t {
  ReLU = 0,
  Sigmoid = 1,
  Tanh = 2,
  Identity = 3,
  Softmax = 4,  // over the layer's whole output: non-negative, sums to 1 (max-subtracted, never overflows)
};
[[nodiscard]] std::string_view to_string(Activation a) noexcept;

struct DenseLayer {
  std::size_t inputs = 0;
  std::size_t outputs = 0;
  std::vector<float> weights;  // outputs x inputs, row-major
  std::vector<float> bias;     // outputs
  Activation activation = Activation::Identity;
};

class NeuralNetwork {
 public:
  static constexpr std::size_t kMaxLayers = 64;
  static constexpr std::size_t kMaxWidth = 1u << 16;  // per layer side; keeps inputs*outputs in range everywhere

  // Refuses: no layers, a layer with 0 inputs or outputs or wider than kMaxWidth, weight or
  // bias vectors of the wrong size, an activation out of range, non-finite values, or a
  // layer whose inputs differ from the previous layer's outputs.
  static Result<NeuralNetwork, std::string> from_layers(std::vector<DenseLayer> layers);

  // widths = {inputs, hidden..., outputs} (at least 2 entries, each 1..kMaxWidth: asserted).
  // Weights uniform in +-sqrt(6 / (fan_in + fan_out)) (Glorot), biases 0; hidden layers
  // Tanh, the last Identity. The same seed gives the same bits on every target.
  static NeuralNetwork random(std::span<const std::size_t> widths, std::uint64_t seed);

  [[nodiscard]] std::size_t input_size() const noexcept { return layers_.front().inputs; }
  [[nodiscard]] std::size_t output_size() const noexcept { return layers_.back().outputs; }
  [[nodiscard]] std::size_t parameters() const noexcept;
  // Multiply-adds of one inference (the sum of inputs*outputs), for FLOP/s figures.
  [[nodiscard]] std::size_t multiply_adds() const noexcept;
  [[nodiscard]] const std::vector<DenseLayer>& layers() const noexcept { return layers_; }

  // output.size() must equal output_size() and input.size() input_size(), else an error and
  // output untouched. Thread-safe: the network is read-only, scratch is per thread.
  Result<void, std::string> infer(std::span<const float> input, std::span<float> output) const;
  // Convenience: empty on a wrong input size.
  [[nodiscard]] std::vector<float> infer(std::span<const float> input) const;

  // The same computation in plain scalar loops: the reference the SIMD path is tested against.
  [[nodiscard]] std::vector<float> infer_scalar(std::span<const float> input) const;

 private:
  explicit NeuralNetwork(std::vector<DenseLayer> layers);
  std::vector<DenseLayer> layers_;  // never empty
  std::size_t max_width_ = 0;  // the widest layer side: the size of each scratch buffer
};

[[nodiscard]] std::vector<std::byte> encode_floats(std::span<const float> values);
[[nodiscard]] Result<std::vector<float>, std::string> decode_floats(std::span<const std::byte> bytes);

[[nodiscard]] std::vector<std::byte> encode_network(const NeuralNetwork& network);
[[nodiscard]] Result<NeuralNetwork, std::string> decode_network(std::span<const std::byte> bytes);

// The neural agent's task: decode `payload` as floats, infer, encode the output as floats.
[[nodiscard]] Result<std::vector<std::byte>, std::string> run_neural_task(const NeuralNetwork& network,
                                                                         std::span<const std::byte> payload);

// The Highway target the kernels dispatched to ("AVX2", "WASM", ...), for benchmark output.
[[nodiscard]] const char* kernels_simd_target() noexcept;

}  // namespace omega::swarm
