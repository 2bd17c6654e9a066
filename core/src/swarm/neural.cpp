#include <omega/swarm/neural.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include <omega/base/assert.hpp>
#include <omega/base/rng.hpp>

#include "swarm/kernels_simd.hpp"
#include "swarm/wire.hpp"

namespace omega::swarm {
namespace {

constexpr std::uint8_t kActivationCount = 5;

bool all_finite(std::span<const float> v) noexcept {
  return std::all_of(v.begin(), v.end(), [](float f) { return std::isfinite(f); });
}

void activate(Activation a, std::span<float> v) noexcept {
  switch (a) {
    case Activation::ReLU:
      for (float& f : v) f = f > 0.0f ? f : 0.0f;
      break;
    case Activation::Sigmoid:
      for (float& f : v) f = 1.0f / (1.0f + std::exp(-f));
      break;
    case Activation::Tanh:
      for (float& f : v) f = std::tanh(f);
      break;
    case Activation::Identity:
      break;
    case Activation::Softmax: {
      const float top = *std::max_element(v.begin(), v.end());
      float total = 0;
      for (float& f : v) total += (f = std::exp(f - top));
      for (float& f : v) f /= total;  // total >= 1: the maximum contributes exp(0)
      break;
    }
  }
}

// Two ping-pong buffers per thread, grown to the widest network this thread has run.
struct Scratch {
  std::vector<float> a, b;
};
Scratch& scratch(std::size_t width) {
  thread_local Scratch s;
  if (s.a.size() < width) {
    s.a.resize(width);
    s.b.resize(width);
  }
  return s;
}

}  // namespace

std::string_view to_string(Activation a) noexcept {
  switch (a) {
    case Activation::ReLU: return "relu";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Tanh: return "tanh";
    case Activation::Identity: return "identity";
    case Activation::Softmax: return "softmax";
  }
  return "unknown";
}

NeuralNetwork::NeuralNetwork(std::vector<DenseLayer> layers) : layers_(std::move(layers)) {
  for (const DenseLayer& l : layers_) max_width_ = std::max({max_width_, l.inputs, l.outputs});
}

Result<NeuralNetwork, std::string> NeuralNetwork::from_layers(std::vector<DenseLayer> layers) {
  if (layers.empty()) return Err(std::string("a network needs at least one layer"));
  if (layers.size() > kMaxLayers) return Err("more than " + std::to_string(kMaxLayers) + " layers");
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const DenseLayer& l = layers[i];
    const std::string at = "layer " + std::to_string(i) + ": ";
    if (l.inputs == 0 || l.outputs == 0) return Err(at + "0 inputs or outputs");
    if (l.inputs > kMaxWidth || l.outputs > kMaxWidth) return Err(at + "wider than " + std::to_string(kMaxWidth));
    if (l.weights.size() != l.inputs * l.outputs) return Err(at + "weights are not outputs x inputs");
    if (l.bias.size() != l.outputs) return Err(at + "bias size differs from outputs");
    if (static_cast<std::uint8_t>(l.activation) >= kActivationCount) return Err(at + "unknown activation");
    if (i > 0 && l.inputs != layers[i - 1].outputs) return Err(at + "inputs differ from the previous layer's outputs");
    if (!all_finite(l.weights) || !all_finite(l.bias)) return Err(at + "a weight or bias is not finite");
  }
  return NeuralNetwork(std::move(layers));
}

NeuralNetwork NeuralNetwork::random(std::span<const std::size_t> widths, std::uint64_t seed) {
  OMEGA_ASSERT(widths.size() >= 2 && widths.size() <= kMaxLayers + 1, "random(): 2..kMaxLayers+1 widths");
  OmegaRng rng(seed);
  std::vector<DenseLayer> layers;
  layers.reserve(widths.size() - 1);
  for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
    const std::size_t in = widths[i], out = widths[i + 1];
    OMEGA_ASSERT(in >= 1 && in <= kMaxWidth && out >= 1 && out <= kMaxWidth, "random(): widths in 1..kMaxWidth");
    DenseLayer l{.inputs = in, .outputs = out, .weights = std::vector<float>(in * out),
                 .bias = std::vector<float>(out, 0.0f),
                 .activation = i + 2 == widths.size() ? Activation::Identity : Activation::Tanh};
    // Glorot: keeps activations' variance roughly constant through Tanh layers. Computed in
    // double from 53 random bits, then rounded once: identical on every target.
    const double limit = std::sqrt(6.0 / static_cast<double>(in + out));
    for (float& w : l.weights) w = static_cast<float>((2.0 * rng.next_f64() - 1.0) * limit);
    layers.push_back(std::move(l));
  }
  return NeuralNetwork(std::move(layers));
}

std::size_t NeuralNetwork::parameters() const noexcept {
  std::size_t n = 0;
  for (const DenseLayer& l : layers_) n += l.weights.size() + l.bias.size();
  return n;
}

std::size_t NeuralNetwork::multiply_adds() const noexcept {
  std::size_t n = 0;
  for (const DenseLayer& l : layers_) n += l.inputs * l.outputs;
  return n;
}

Result<void, std::string> NeuralNetwork::infer(std::span<const float> input, std::span<float> output) const {
  if (input.size() != input_size()) {
    return Err("input has " + std::to_string(input.size()) + " values, the network takes " +
               std::to_string(input_size()));
  }
  if (output.size() != output_size()) {
    return Err("output has room for " + std::to_string(output.size()) + " values, the network gives " +
               std::to_string(output_size()));
  }
  Scratch& s = scratch(max_width_);
  const float* x = input.data();
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const DenseLayer& l = layers_[i];
    float* y = i + 1 == layers_.size() ? output.data() : (i % 2 == 0 ? s.a.data() : s.b.data());
    detail::dense_matvec(l.weights.data(), l.bias.data(), x, y, l.outputs, l.inputs);
    activate(l.activation, std::span<float>(y, l.outputs));
    x = y;
  }
  return {};
}

std::vector<float> NeuralNetwork::infer(std::span<const float> input) const {
  if (input.size() != input_size()) return {};
  std::vector<float> out(output_size());
  (void)infer(input, std::span<float>(out));
  return out;
}

std::vector<float> NeuralNetwork::infer_scalar(std::span<const float> input) const {
  if (input.size() != input_size()) return {};
  std::vector<float> x(input.begin(), input.end());
  for (const DenseLayer& l : layers_) {
    std::vector<float> y(l.outputs);
    for (std::size_t r = 0; r < l.outputs; ++r) {
      float acc = 0;
      for (std::size_t c = 0; c < l.inputs; ++c) acc += l.weights[r * l.inputs + c] * x[c];
      y[r] = l.bias[r] + acc;
    }
    activate(l.activation, y);
    x = std::move(y);
  }
  return x;
}

std::vector<std::byte> encode_floats(std::span<const float> values) {
  wire::Writer w(values.size() * 4);
  for (float f : values) w.f32(f);
  return std::move(w).take();
}

Result<std::vector<float>, std::string> decode_floats(std::span<const std::byte> bytes) {
  if (bytes.size() % 4 != 0) {
    return Err("float payload of " + std::to_string(bytes.size()) + " bytes, not a multiple of 4");
  }
  wire::Reader r(bytes);
  std::vector<float> out(bytes.size() / 4);
  for (std::size_t i = 0; i < out.size(); ++i) {
    (void)r.f32(out[i]);
    if (!std::isfinite(out[i])) return Err("float " + std::to_string(i) + " is not finite");
  }
  return out;
}

std::vector<std::byte> encode_network(const NeuralNetwork& network) {
  wire::Writer w(16 + network.parameters() * 4 + network.layers().size() * 9);
  w.tag("ONN1");
  w.u32(static_cast<std::uint32_t>(network.layers().size()));
  for (const DenseLayer& l : network.layers()) {
    w.u32(static_cast<std::uint32_t>(l.inputs));
    w.u32(static_cast<std::uint32_t>(l.outputs));
    w.u8(static_cast<std::uint8_t>(l.activation));
    for (float f : l.weights) w.f32(f);
    for (float f : l.bias) w.f32(f);
  }
  return std::move(w).take();
}

Result<NeuralNetwork, std::string> decode_network(std::span<const std::byte> bytes) {
  wire::Reader r(bytes);
  if (!r.tag("ONN1")) return Err(std::string("network payload does not start with \"ONN1\""));
  std::uint32_t count = 0;
  if (!r.u32(count)) return Err(std::string("network payload truncated in the layer count"));
  if (count == 0 || count > NeuralNetwork::kMaxLayers) {
    return Err("layer count " + std::to_string(count) + " out of 1..64");
  }
  std::vector<DenseLayer> layers;
  layers.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::string at = "layer " + std::to_string(i) + ": ";
    std::uint32_t in = 0, out = 0;
    std::uint8_t act = 0;
    if (!r.u32(in) || !r.u32(out) || !r.u8(act)) return Err(at + "truncated header");
    if (in == 0 || out == 0 || in > NeuralNetwork::kMaxWidth || out > NeuralNetwork::kMaxWidth) {
      return Err(at + "width out of 1.." + std::to_string(NeuralNetwork::kMaxWidth));
    }
    if (act >= kActivationCount) return Err(at + "unknown activation " + std::to_string(act));
    // Both widths are at most 2^16, so the product and the byte count fit in 64 bits; the
    // check comes before the allocation, which the bytes present therefore bound.
    const std::uint64_t values = std::uint64_t{in} * out + out;
    if (!r.has(values * 4)) return Err(at + "truncated weights");
    DenseLayer l{.inputs = in, .outputs = out, .weights = std::vector<float>(std::size_t{in} * out),
                 .bias = std::vector<float>(out), .activation = static_cast<Activation>(act)};
    for (float& f : l.weights) (void)r.f32(f);
    for (float& f : l.bias) (void)r.f32(f);
    layers.push_back(std::move(l));
  }
  if (r.remaining() != 0) return Err(std::to_string(r.remaining()) + " bytes after the last layer");
  return NeuralNetwork::from_layers(std::move(layers));
}

Result<std::vector<std::byte>, std::string> run_neural_task(const NeuralNetwork& network,
                                                           std::span<const std::byte> payload) {
  auto input = decode_floats(payload);
  if (!input) return Err(std::move(input.error()));
  std::vector<float> output(network.output_size());
  if (auto done = network.infer(*input, output); !done) return Err(std::move(done.error()));
  return encode_floats(output);
}

const char* kernels_simd_target() noexcept { return detail::simd_target_name(); }

}  // namespace omega::swarm
