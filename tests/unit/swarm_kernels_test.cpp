// The swarm's built-in agent kernels: dense inference, the state-vector simulator, the
// annealer, and their payload codecs (which must refuse garbage without crashing).
#include <omega/base/config.hpp>
#include <omega/base/rng.hpp>
#include <omega/swarm/neural.hpp>
#include <omega/swarm/quantum.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <cstddef>
#include <numbers>
#include <vector>

#include "../support/threads.hpp"

namespace os = omega::swarm;
using omega::OmegaRng;

namespace {

std::vector<std::byte> random_bytes(OmegaRng& rng, std::size_t n) {
  std::vector<std::byte> b(n);
  for (auto& x : b) x = static_cast<std::byte>(rng.next_u64());
  return b;
}

// Mutations of a valid payload reach deeper into a decoder than uniform noise: flip bytes,
// cut it short, or append to it.
std::vector<std::byte> mutate(std::vector<std::byte> b, OmegaRng& rng) {
  switch (rng.gen_range(3)) {
    case 0:
      for (std::uint64_t k = 1 + rng.gen_range(4); k > 0 && !b.empty(); --k) {
        b[rng.gen_range(b.size())] = static_cast<std::byte>(rng.next_u64());
      }
      break;
    case 1:
      b.resize(b.empty() ? 0 : rng.gen_range(b.size()));
      break;
    default:
      for (std::uint64_t k = 1 + rng.gen_range(16); k > 0; --k) b.push_back(static_cast<std::byte>(rng.next_u64()));
  }
  return b;
}

// ---- a plain reference simulator: std::complex, one loop per gate ---------------------------

using Amps = std::vector<std::complex<double>>;
using C = std::complex<double>;

void ref_1q(Amps& s, unsigned q, C u00, C u01, C u10, C u11) {
  const std::size_t bit = std::size_t{1} << q;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i & bit) continue;
    const C a = s[i], b = s[i | bit];
    s[i] = u00 * a + u01 * b;
    s[i | bit] = u10 * a + u11 * b;
  }
}

void ref_gate(Amps& s, const os::Gate& g) {
  const double c = std::cos(g.theta / 2), sn = std::sin(g.theta / 2);
  const C i(0, 1);
  const double h = 1 / std::sqrt(2.0);
  switch (g.kind) {
    case os::Gate::Kind::H: ref_1q(s, g.a, h, h, h, -h); break;
    case os::Gate::Kind::X: ref_1q(s, g.a, 0, 1, 1, 0); break;
    case os::Gate::Kind::Y: ref_1q(s, g.a, 0, -i, i, 0); break;
    case os::Gate::Kind::Z: ref_1q(s, g.a, 1, 0, 0, -1); break;
    case os::Gate::Kind::RX: ref_1q(s, g.a, c, -i * sn, -i * sn, c); break;
    case os::Gate::Kind::RY: ref_1q(s, g.a, c, -sn, sn, c); break;
    case os::Gate::Kind::RZ: ref_1q(s, g.a, std::exp(-i * (g.theta / 2)), 0, 0, std::exp(i * (g.theta / 2))); break;
    case os::Gate::Kind::CNOT:
      for (std::size_t k = 0; k < s.size(); ++k) {
        if ((k >> g.a & 1) && !(k >> g.b & 1)) std::swap(s[k], s[k | (std::size_t{1} << g.b)]);
      }
      break;
    case os::Gate::Kind::Measure: FAIL("the reference has no measurement"); break;
  }
}

void apply(os::QuantumState& s, const os::Gate& g) {
  switch (g.kind) {
    case os::Gate::Kind::H: s.h(g.a); break;
    case os::Gate::Kind::X: s.x(g.a); break;
    case os::Gate::Kind::Y: s.y(g.a); break;
    case os::Gate::Kind::Z: s.z(g.a); break;
    case os::Gate::Kind::RX: s.rx(g.a, g.theta); break;
    case os::Gate::Kind::RY: s.ry(g.a, g.theta); break;
    case os::Gate::Kind::RZ: s.rz(g.a, g.theta); break;
    case os::Gate::Kind::CNOT: s.cnot(g.a, g.b); break;
    case os::Gate::Kind::Measure: FAIL("use measure()"); break;
  }
}

std::vector<os::Gate> random_gates(unsigned qubits, std::size_t count, OmegaRng& rng) {
  std::vector<os::Gate> gates;
  for (std::size_t k = 0; k < count; ++k) {
    os::Gate g;
    g.kind = static_cast<os::Gate::Kind>(rng.gen_range(qubits > 1 ? 8 : 7));
    g.a = static_cast<unsigned>(rng.gen_range(qubits));
    if (g.kind == os::Gate::Kind::CNOT) g.b = (g.a + 1 + static_cast<unsigned>(rng.gen_range(qubits - 1))) % qubits;
    g.theta = (rng.next_f64() * 2 - 1) * 2 * std::numbers::pi;
    gates.push_back(g);
  }
  return gates;
}

os::QuantumState random_state(unsigned qubits, std::uint64_t seed) {
  OmegaRng rng(seed);
  os::QuantumState s(qubits);
  for (const os::Gate& g : random_gates(qubits, 20 * qubits, rng)) apply(s, g);
  return s;
}

// |<a|b>|: 1 when the states are equal up to a global phase.
double overlap(const os::QuantumState& a, const os::QuantumState& b) {
  C dot = 0;
  for (std::size_t i = 0; i < a.dimension(); ++i) dot += std::conj(C(a.real(i), a.imag(i))) * C(b.real(i), b.imag(i));
  return std::abs(dot);
}

os::MaxCutProblem random_graph(unsigned n, double density, OmegaRng& rng) {
  os::MaxCutProblem p{.vertices = n, .edges = {}};
  for (unsigned u = 0; u < n; ++u) {
    for (unsigned v = u + 1; v < n; ++v) {
      if (rng.next_f64() < density) p.edges.emplace_back(u, v, 0.5 + rng.next_f64() * 4.5);
    }
  }
  return p;
}

}  // namespace

// ---- neural ---------------------------------------------------------------------------------

TEST_CASE("a three-layer network gives the hand-computed values", "[swarm_kernels]") {
  std::vector<os::DenseLayer> layers;
  layers.push_back({.inputs = 2, .outputs = 2, .weights = {1, -1, 0.5f, 2}, .bias = {0, -1},
                    .activation = os::Activation::ReLU});
  layers.push_back(
      {.inputs = 2, .outputs = 1, .weights = {2, -1}, .bias = {0.5f}, .activation = os::Activation::Identity});
  layers.push_back({.inputs = 1, .outputs = 1, .weights = {1}, .bias = {0}, .activation = os::Activation::Sigmoid});
  auto net = os::NeuralNetwork::from_layers(layers);
  REQUIRE(net.has_value());
  CHECK(net->input_size() == 2);
  CHECK(net->output_size() == 1);
  CHECK(net->parameters() == 6 + 3 + 2);
  // [3, 1] -> relu([3 - 1 + 0, 1.5 + 2 - 1]) = [2, 2.5] -> 4 - 2.5 + 0.5 = 2 -> sigmoid(2)
  const float in[2] = {3, 1};
  std::vector<float> out = net->infer(in);
  REQUIRE(out.size() == 1);
  CHECK(out[0] == Approx(1 / (1 + std::exp(-2.0))).epsilon(1e-6));
  // [-3, 1]: both ReLU units clamp to 0 -> 0.5 -> sigmoid(0.5)
  const float in2[2] = {-3, 1};
  CHECK(net->infer(in2)[0] == Approx(1 / (1 + std::exp(-0.5))).epsilon(1e-6));
}

TEST_CASE("tanh and softmax layers", "[swarm_kernels]") {
  os::DenseLayer t{.inputs = 3, .outputs = 3, .weights = {1, 0, 0, 0, 1, 0, 0, 0, 1}, .bias = {0, 0, 0},
                   .activation = os::Activation::Tanh};
  os::DenseLayer s = t;
  s.activation = os::Activation::Softmax;
  s.bias = {1000, 1001, 1002};  // max-subtraction keeps this finite
  auto net = os::NeuralNetwork::from_layers({t, s});
  REQUIRE(net.has_value());
  const float in[3] = {0.5f, -1, 2};
  const std::vector<float> out = net->infer(in);
  REQUIRE(out.size() == 3);
  const double z[3] = {1000 + std::tanh(0.5), 1001 + std::tanh(-1.0), 1002 + std::tanh(2.0)};
  double e[3], total = 0;
  for (int i = 0; i < 3; ++i) total += e[i] = std::exp(z[i] - z[2]);
  for (int i = 0; i < 3; ++i) CHECK(out[i] == Approx(e[i] / total).epsilon(1e-4));
  CHECK(out[0] + out[1] + out[2] == Approx(1.0).epsilon(1e-6));
}

TEST_CASE("from_layers refuses inconsistent shapes and values", "[swarm_kernels]") {
  os::DenseLayer ok{.inputs = 2, .outputs = 3, .weights = std::vector<float>(6, 0.1f),
                    .bias = std::vector<float>(3, 0.0f), .activation = os::Activation::ReLU};
  os::DenseLayer next{.inputs = 3, .outputs = 1, .weights = std::vector<float>(3, 1.0f), .bias = {0},
                      .activation = os::Activation::Identity};
  CHECK(os::NeuralNetwork::from_layers({ok, next}).has_value());
  CHECK_FALSE(os::NeuralNetwork::from_layers({}).has_value());
  auto bad = ok;
  bad.weights.pop_back();
  CHECK_FALSE(os::NeuralNetwork::from_layers({bad}).has_value());
  bad = ok;
  bad.bias.push_back(0);
  CHECK_FALSE(os::NeuralNetwork::from_layers({bad}).has_value());
  bad = ok;
  bad.weights[2] = std::nanf("");
  CHECK_FALSE(os::NeuralNetwork::from_layers({bad}).has_value());
  bad = ok;
  bad.activation = static_cast<os::Activation>(9);
  CHECK_FALSE(os::NeuralNetwork::from_layers({bad}).has_value());
  auto mismatch = next;
  mismatch.inputs = 2;
  mismatch.weights.resize(2);
  auto r = os::NeuralNetwork::from_layers({ok, mismatch});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().find("previous layer") != std::string::npos);
}

TEST_CASE("SIMD inference matches a double-precision reference on random networks", "[swarm_kernels]") {
  // Widths straddle every vector length (4, 8, 16 floats) and the four-row blocking.
  const std::vector<std::vector<std::size_t>> shapes = {
      {1, 1}, {3, 5, 2}, {17, 33, 7, 1}, {64, 128, 10}, {130, 67, 129, 3}, {257, 31}};
  OmegaRng rng(42);
  for (const auto& widths : shapes) {
    const auto net = os::NeuralNetwork::random(widths, 1000 + widths.size() * widths[0]);
    for (int trial = 0; trial < 5; ++trial) {
      std::vector<float> in(widths.front());
      for (float& f : in) f = static_cast<float>(rng.next_f64() * 4 - 2);
      const std::vector<float> got = net.infer(in);
      REQUIRE(got.size() == widths.back());
      // The reference: the same layers in double, which bounds the float error of both paths.
      std::vector<double> x(in.begin(), in.end());
      for (const os::DenseLayer& l : net.layers()) {
        std::vector<double> y(l.outputs);
        for (std::size_t r = 0; r < l.outputs; ++r) {
          double acc = l.bias[r];
          for (std::size_t c = 0; c < l.inputs; ++c) acc += double{l.weights[r * l.inputs + c]} * x[c];
          y[r] = l.activation == os::Activation::Tanh ? std::tanh(acc) : acc;
        }
        x = std::move(y);
      }
      const std::vector<float> scalar = net.infer_scalar(in);
      for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("widths[0] " << widths[0] << " output " << i);
        CHECK(std::abs(got[i] - x[i]) <= 1e-4 * (1 + std::abs(x[i])));
        CHECK(std::abs(got[i] - scalar[i]) <= 1e-4 * (1 + std::abs(scalar[i])));
      }
    }
  }
}

TEST_CASE("inference refuses wrong sizes and random() is deterministic", "[swarm_kernels]") {
  const std::size_t widths[] = {8, 16, 4};
  const auto a = os::NeuralNetwork::random(widths, 7);
  const auto b = os::NeuralNetwork::random(widths, 7);
  const auto c = os::NeuralNetwork::random(widths, 8);
  CHECK(a.parameters() == 8 * 16 + 16 + 16 * 4 + 4);
  CHECK(a.layers()[0].weights == b.layers()[0].weights);
  CHECK(a.layers()[1].weights == b.layers()[1].weights);
  CHECK(a.layers()[0].weights != c.layers()[0].weights);
  const double limit = std::sqrt(6.0 / 24.0);
  for (float w : a.layers()[0].weights) CHECK(std::abs(w) <= limit);
  std::vector<float> in(7, 1.0f), out(4);
  CHECK_FALSE(a.infer(in, out).has_value());
  CHECK(a.infer(in).empty());
  in.resize(8);
  std::vector<float> small(3);
  CHECK_FALSE(a.infer(in, small).has_value());
  CHECK(a.infer(in, out).has_value());
}

TEST_CASE("one network infers on several threads at once", "[swarm_kernels]") {
  if (!omega::kHasThreads) return;
  // Networks of different widths per thread: each thread's scratch grows on its own.
  const std::size_t small[] = {16, 48, 4};
  const std::size_t wide[] = {300, 700, 9};
  const auto a = os::NeuralNetwork::random(small, 1);
  const auto b = os::NeuralNetwork::random(wide, 2);
  std::vector<float> in_a(16, 0.25f), in_b(300, -0.125f);
  const std::vector<float> want_a = a.infer(in_a), want_b = b.infer(in_b);
  std::vector<int> mismatches(4, 0);
  omega::test::run_threads(4, [&](int t) {
    for (int i = 0; i < 200; ++i) {
      if ((i + t) % 2 == 0) {
        mismatches[t] += a.infer(in_a) != want_a;
      } else {
        mismatches[t] += b.infer(in_b) != want_b;
      }
    }
  });
  CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("random() draws the same weights on every target", "[swarm_kernels]") {
  // FNV-1a over the weights' bits, recorded natively: WASM must reproduce it exactly (the
  // draw is IEEE arithmetic on 53 random bits with one rounding to float, no libm).
  const std::size_t widths[] = {5, 7, 3};
  const auto net = os::NeuralNetwork::random(widths, 42);
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const os::DenseLayer& l : net.layers()) {
    for (const std::byte b : os::encode_floats(l.weights)) h = (h ^ static_cast<std::uint64_t>(b)) * 0x100000001b3ULL;
  }
  CHECK(h == 0xb22b6898ba8e54feULL);
}

TEST_CASE("float and network payloads round-trip and refuse garbage", "[swarm_kernels]") {
  const float values[] = {0.0f, -1.5f, 3.25e7f, 1e-30f};
  const auto bytes = os::encode_floats(values);
  REQUIRE(bytes.size() == 16);
  CHECK(bytes[4] == std::byte{0x00});
  CHECK(bytes[7] == std::byte{0xBF});  // -1.5f = 0xBFC00000, little-endian
  auto back = os::decode_floats(bytes);
  REQUIRE(back.has_value());
  CHECK(*back == std::vector<float>(std::begin(values), std::end(values)));
  CHECK_FALSE(os::decode_floats(std::span(bytes).first(15)).has_value());
  const float nan[] = {std::nanf("")};
  CHECK_FALSE(os::decode_floats(os::encode_floats(nan)).has_value());
  CHECK(os::decode_floats({}).has_value());

  const std::size_t widths[] = {5, 9, 3};
  const auto net = os::NeuralNetwork::random(widths, 3);
  const auto wire = os::encode_network(net);
  auto decoded = os::decode_network(wire);
  REQUIRE(decoded.has_value());
  const float in[5] = {1, -2, 0.5f, 0.25f, 3};
  CHECK(decoded->infer(in) == net.infer(in));
  auto trailing = wire;
  trailing.push_back(std::byte{0});
  CHECK_FALSE(os::decode_network(trailing).has_value());
  CHECK_FALSE(os::decode_network(std::span(wire).first(wire.size() - 1)).has_value());

  OmegaRng rng(2024);
  std::size_t accepted = 0;
  for (int i = 0; i < 4000; ++i) {
    const auto garbage = i % 2 ? random_bytes(rng, rng.gen_range(64)) : mutate(wire, rng);
    auto n = os::decode_network(garbage);
    if (n.has_value()) {
      ++accepted;
      std::vector<float> x(n->input_size(), 0.5f);
      CHECK(n->infer(x).size() == n->output_size());
    }
    (void)os::decode_floats(garbage);
  }
  CHECK(accepted < 4000);
}

// ---- quantum --------------------------------------------------------------------------------

TEST_CASE("a Bell pair has probabilities 1/2, 0, 0, 1/2", "[swarm_kernels]") {
  os::QuantumState s(2);
  s.h(0);
  s.cnot(0, 1);
  const auto p = s.probabilities();
  REQUIRE(p.size() == 4);
  CHECK(p[0] == Approx(0.5));
  CHECK(p[1] == Approx(0.0).margin(1e-15));
  CHECK(p[2] == Approx(0.0).margin(1e-15));
  CHECK(p[3] == Approx(0.5));
}

TEST_CASE("GHZ states on 3 and 20 qubits hold only |0..0> and |1..1>", "[swarm_kernels]") {
  for (unsigned n : {3u, 20u}) {
    os::QuantumState s(n);
    s.h(0);
    for (unsigned q = 1; q < n; ++q) s.cnot(q - 1, q);
    const auto p = s.probabilities();
    const std::size_t last = p.size() - 1;
    CHECK(p[0] == Approx(0.5));
    CHECK(p[last] == Approx(0.5));
    double elsewhere = 0;
    for (std::size_t i = 1; i < last; ++i) elsewhere += p[i];
    CHECK(elsewhere == 0.0);
    CHECK(s.norm_squared() == Approx(1.0).epsilon(1e-12));
  }
}

TEST_CASE("single-qubit gates give their known amplitudes", "[swarm_kernels]") {
  const double h = 1 / std::sqrt(2.0);
  const double pi = std::numbers::pi;
  {
    os::QuantumState s(1);
    s.x(0);
    CHECK(s.real(1) == 1.0);
    CHECK(s.probability(0) == 0.0);
  }
  {
    os::QuantumState s(1);
    s.y(0);  // Y|0> = i|1>
    CHECK(s.imag(1) == Approx(1.0));
    CHECK(s.real(1) == Approx(0.0).margin(1e-15));
  }
  {
    os::QuantumState s(1);
    s.h(0);
    s.z(0);  // Z|+> = |->
    CHECK(s.real(0) == Approx(h));
    CHECK(s.real(1) == Approx(-h));
  }
  {
    os::QuantumState s(1);
    s.ry(0, pi / 2);
    CHECK(s.probability(0) == Approx(0.5));
    CHECK(s.probability(1) == Approx(0.5));
    CHECK(s.real(0) == Approx(h));
    CHECK(s.real(1) == Approx(h));
  }
  {
    os::QuantumState s(1);
    s.rx(0, pi);  // -i|1>
    CHECK(s.imag(1) == Approx(-1.0));
    CHECK(s.probability(0) == Approx(0.0).margin(1e-30));
  }
  {
    os::QuantumState s(1);
    s.h(0);
    s.rz(0, pi / 2);  // (e^{-i pi/4}|0> + e^{i pi/4}|1>) / sqrt 2
    CHECK(s.real(0) == Approx(0.5));
    CHECK(s.imag(0) == Approx(-0.5));
    CHECK(s.real(1) == Approx(0.5));
    CHECK(s.imag(1) == Approx(0.5));
  }
  {
    os::QuantumState s(3);
    s.x(2);
    CHECK(s.probability(4) == 1.0);
    CHECK(s.probability(99) == 0.0);
  }
}

TEST_CASE("rotations by pi equal the Pauli gates up to a phase, on every qubit", "[swarm_kernels]") {
  const unsigned n = 9;  // low qubits take the scalar path, high ones the vector path
  for (unsigned q = 0; q < n; ++q) {
    os::QuantumState a = random_state(n, 11 + q), b = a, c = a, d = a, e = a, f = a;
    a.rx(q, std::numbers::pi);
    b.x(q);
    CHECK(overlap(a, b) == Approx(1.0).epsilon(1e-12));
    c.ry(q, std::numbers::pi);
    d.y(q);
    CHECK(overlap(c, d) == Approx(1.0).epsilon(1e-12));
    e.rz(q, std::numbers::pi);
    f.z(q);
    CHECK(overlap(e, f) == Approx(1.0).epsilon(1e-12));
    os::QuantumState g = random_state(n, 99), g0 = g;
    g.h(q);
    g.h(q);
    CHECK(overlap(g, g0) == Approx(1.0).epsilon(1e-12));
  }
}

TEST_CASE("random circuits match a plain complex reference and keep the norm", "[swarm_kernels]") {
  for (unsigned n : {1u, 2u, 5u, 8u}) {
    OmegaRng rng(500 + n);
    const auto gates = random_gates(n, 300, rng);
    os::QuantumState s(n);
    Amps ref(std::size_t{1} << n);
    ref[0] = 1;
    for (const os::Gate& g : gates) {
      apply(s, g);
      ref_gate(ref, g);
    }
    double worst = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(C(s.real(i), s.imag(i)) - ref[i]));
    INFO(n << " qubits");
    CHECK(worst < 1e-10);
    CHECK(s.norm_squared() == Approx(1.0).epsilon(1e-10));
  }
  os::QuantumState big = random_state(14, 3);
  CHECK(big.norm_squared() == Approx(1.0).epsilon(1e-10));
}

TEST_CASE("measurement follows the Born rule and collapses", "[swarm_kernels]") {
  // RY(theta)|0>: P(1) = sin^2(theta / 2) = 0.3.
  const double theta = 2 * std::asin(std::sqrt(0.3));
  OmegaRng rng(77);
  const int trials = 20000;
  int ones = 0;
  for (int t = 0; t < trials; ++t) {
    os::QuantumState s(1);
    s.ry(0, theta);
    const unsigned m = s.measure(0, rng);
    ones += static_cast<int>(m);
    CHECK(s.probability(m) == Approx(1.0));  // collapsed and renormalised
  }
  const double sigma = std::sqrt(trials * 0.3 * 0.7);
  CHECK(std::abs(ones - trials * 0.3) < 5 * sigma);

  // Measuring one half of a Bell pair fixes the other; measure_all on GHZ gives 0 or all ones.
  for (int t = 0; t < 200; ++t) {
    os::QuantumState s(6);
    s.h(0);
    for (unsigned q = 1; q < 6; ++q) s.cnot(q - 1, q);
    const unsigned first = s.measure(3, rng);
    CHECK(s.norm_squared() == Approx(1.0));
    for (unsigned q = 0; q < 6; ++q) CHECK(s.measure(q, rng) == first);
    os::QuantumState g(6);
    g.h(0);
    for (unsigned q = 1; q < 6; ++q) g.cnot(q - 1, q);
    const std::uint64_t all = g.measure_all(rng);
    CHECK((all == 0 || all == 63));
    CHECK(g.probability(all) == 1.0);
  }
}

TEST_CASE("run_circuit samples shots, deterministically per seed", "[swarm_kernels]") {
  os::Circuit bell{
      .qubits = 2, .gates = {{os::Gate::Kind::H, 0, 0, 0}, {os::Gate::Kind::CNOT, 0, 1, 0}}, .shots = 10000};
  auto r = os::run_circuit(bell, 5);
  REQUIRE(r.has_value());
  REQUIRE(r->counts.size() == 4);
  CHECK(r->counts[1] == 0);
  CHECK(r->counts[2] == 0);
  CHECK(r->counts[0] + r->counts[3] == 10000);
  CHECK(std::abs(static_cast<double>(r->counts[0]) - 5000) < 5 * 50);
  CHECK(r->probabilities[0] == Approx(0.5));
  auto again = os::run_circuit(bell, 5);
  REQUIRE(again.has_value());
  CHECK(again->counts == r->counts);

  // A mid-circuit measurement collapses the pair: the result is |00> or |11>.
  os::Circuit measured = bell;
  measured.gates.push_back({os::Gate::Kind::Measure, 1, 0, 0});
  measured.shots = 0;
  auto m = os::run_circuit(measured, 9);
  REQUIRE(m.has_value());
  CHECK(m->counts.empty());
  CHECK((m->probabilities[0] == Approx(1.0) || m->probabilities[3] == Approx(1.0)));

  os::Circuit bad = bell;
  bad.gates.push_back({os::Gate::Kind::X, 2, 0, 0});
  CHECK_FALSE(os::run_circuit(bad, 1).has_value());
  CHECK_FALSE(os::QuantumState::create(21).has_value());
  CHECK_FALSE(os::QuantumState::create(0).has_value());
  CHECK(os::QuantumState::create(20).has_value());
}

TEST_CASE("circuit and result payloads round-trip", "[swarm_kernels]") {
  OmegaRng rng(8);
  os::Circuit c{.qubits = 5, .gates = random_gates(5, 40, rng), .shots = 100};
  c.gates.push_back({os::Gate::Kind::Measure, 4, 0, 0});
  const auto wire = os::encode_circuit(c);
  CHECK(wire.size() == 13 + 41 * 11);
  auto back = os::decode_circuit(wire);
  REQUIRE(back.has_value());
  CHECK(back->qubits == 5);
  CHECK(back->shots == 100);
  REQUIRE(back->gates.size() == c.gates.size());
  for (std::size_t i = 0; i < c.gates.size(); ++i) {
    CHECK(back->gates[i].kind == c.gates[i].kind);
    CHECK(back->gates[i].a == c.gates[i].a);
    CHECK(back->gates[i].b == c.gates[i].b);
    CHECK(back->gates[i].theta == c.gates[i].theta);
  }
  auto r = os::run_circuit(*back, 4);
  REQUIRE(r.has_value());
  auto rb = os::decode_result(os::encode_result(*r));
  REQUIRE(rb.has_value());
  CHECK(rb->qubits == 5);
  CHECK(rb->probabilities == r->probabilities);
  CHECK(rb->counts == r->counts);
}

TEST_CASE("circuit decoder refuses each kind of bad circuit", "[swarm_kernels]") {
  auto encode = [](os::Circuit c) { return os::encode_circuit(c); };
  auto with = [](os::Gate g, unsigned qubits = 3) { return os::Circuit{.qubits = qubits, .gates = {g}, .shots = 0}; };
  CHECK(os::decode_circuit(encode(with({os::Gate::Kind::H, 2, 0, 0}))).has_value());
  CHECK_FALSE(os::decode_circuit(encode(with({os::Gate::Kind::H, 3, 0, 0}))).has_value());  // qubit out of range
  CHECK_FALSE(os::decode_circuit(encode(with({os::Gate::Kind::CNOT, 1, 1, 0}))).has_value());  // control == target
  CHECK_FALSE(os::decode_circuit(encode(with({os::Gate::Kind::CNOT, 0, 5, 0}))).has_value());
  CHECK_FALSE(os::decode_circuit(encode(with({os::Gate::Kind::RX, 0, 0, std::nan("")}))).has_value());
  CHECK_FALSE(os::decode_circuit(encode(with({os::Gate::Kind::RY, 0, 0, INFINITY}))).has_value());
  CHECK_FALSE(os::decode_circuit(encode(with({os::Gate::Kind::H, 0, 0, 0}, 21))).has_value());  // too many qubits
  CHECK_FALSE(os::decode_circuit(encode(with({os::Gate::Kind::H, 0, 0, 0}, 0))).has_value());
  auto wire = encode(with({os::Gate::Kind::Z, 1, 0, 0}));
  wire[13] = std::byte{9};  // kind past Measure
  CHECK_FALSE(os::decode_circuit(wire).has_value());
  wire = encode(with({os::Gate::Kind::Z, 1, 0, 0}));
  CHECK_FALSE(os::decode_circuit(std::span(wire).first(wire.size() - 1)).has_value());  // truncated
  wire.push_back(std::byte{0});
  CHECK_FALSE(os::decode_circuit(wire).has_value());  // trailing
  wire = encode(with({os::Gate::Kind::Z, 1, 0, 0}));
  wire[9] = std::byte{0xFF};  // gate count far past the bytes present: refused before allocating
  wire[12] = std::byte{0x7F};
  CHECK_FALSE(os::decode_circuit(wire).has_value());
  CHECK_FALSE(os::decode_circuit({}).has_value());
}

TEST_CASE("quantum decoders survive random and mutated bytes", "[swarm_kernels]") {
  OmegaRng rng(31337);
  os::Circuit c{.qubits = 4, .gates = random_gates(4, 12, rng), .shots = 8};
  const auto circuit_wire = os::encode_circuit(c);
  const auto result_wire = os::encode_result(*os::run_circuit(c, 1));
  os::MaxCutProblem g = random_graph(6, 0.6, rng);
  const auto maxcut_wire = os::encode_maxcut(g);
  const auto cut_wire = os::encode_cut(os::anneal_maxcut(g, 1, 20));
  std::size_t ran = 0;
  for (int i = 0; i < 5000; ++i) {
    const auto noise = random_bytes(rng, rng.gen_range(80));
    for (const auto& bytes : {noise, mutate(circuit_wire, rng)}) {
      auto d = os::decode_circuit(bytes);
      if (d.has_value() && d->qubits <= 10 && d->gates.size() <= 64) {
        CHECK(os::validate_circuit(*d).empty());
        CHECK(os::run_circuit(*d, 1).has_value());
        ++ran;
      }
    }
    for (const auto& bytes : {noise, mutate(result_wire, rng)}) (void)os::decode_result(bytes);
    for (const auto& bytes : {noise, mutate(maxcut_wire, rng)}) {
      auto d = os::decode_maxcut(bytes);
      if (d.has_value() && d->vertices <= 64) CHECK(os::anneal_maxcut(*d, 1, 5).side.size() == d->vertices);
    }
    for (const auto& bytes : {noise, mutate(cut_wire, rng)}) (void)os::decode_cut(bytes);
  }
  CHECK(ran > 0);  // mutations that keep a circuit valid exercise the simulator too
}

// ---- annealing ------------------------------------------------------------------------------

TEST_CASE("small MaxCut optima: a 5-cycle cuts 4, K4 cuts 4", "[swarm_kernels]") {
  os::MaxCutProblem cycle{.vertices = 5, .edges = {}};
  for (unsigned v = 0; v < 5; ++v) cycle.edges.emplace_back(v, (v + 1) % 5, 1.0);
  os::MaxCutProblem k4{.vertices = 4, .edges = {}};
  for (unsigned u = 0; u < 4; ++u) {
    for (unsigned v = u + 1; v < 4; ++v) k4.edges.emplace_back(u, v, 1.0);
  }
  CHECK(os::exact_maxcut(cycle) == 4.0);
  CHECK(os::exact_maxcut(k4) == 4.0);
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const auto a = os::anneal_maxcut(cycle, seed);
    CHECK(a.cut_value == 4.0);
    CHECK(a.side.size() == 5);
    CHECK(os::cut_value(cycle, a.side) == a.cut_value);
    CHECK(a.iterations == 1000 * 5);
    CHECK(os::anneal_maxcut(k4, seed).cut_value == 4.0);
  }
}

TEST_CASE("annealing a random weighted 12-vertex graph finds the exact optimum", "[swarm_kernels]") {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    OmegaRng rng(seed);
    const os::MaxCutProblem g = random_graph(12, 0.5, rng);
    const double exact = os::exact_maxcut(g);
    const auto a = os::anneal_maxcut(g, seed);
    INFO("graph seed " << seed);
    CHECK(a.cut_value == Approx(exact).epsilon(1e-12));
    CHECK(os::cut_value(g, a.side) == Approx(a.cut_value).epsilon(1e-12));
    const auto b = os::anneal_maxcut(g, seed);
    CHECK(b.side == a.side);  // same seed, same answer
  }
}

TEST_CASE("annealing a QUBO reaches the brute-force minimum", "[swarm_kernels]") {
  OmegaRng rng(606);
  for (int trial = 0; trial < 4; ++trial) {
    os::QuboProblem p{.variables = 10, .linear = {}, .couplings = {}};
    for (unsigned i = 0; i < 10; ++i) p.linear.push_back(rng.next_f64() * 4 - 2);
    for (unsigned i = 0; i < 10; ++i) {
      for (unsigned j = i + 1; j < 10; ++j) {
        if (rng.next_f64() < 0.4) p.couplings.emplace_back(i, j, rng.next_f64() * 6 - 3);
      }
    }
    double best = 0;
    for (unsigned mask = 0; mask < 1024; ++mask) {
      double e = 0;
      for (unsigned i = 0; i < 10; ++i) e += p.linear[i] * (mask >> i & 1);
      for (const auto& [i, j, w] : p.couplings) e += w * (mask >> i & 1) * (mask >> j & 1);
      best = std::min(best, e);
    }
    const auto s = os::anneal_qubo(p, 3 + trial);
    CHECK(s.energy == Approx(best).margin(1e-9));
  }
  CHECK(os::anneal_qubo({}, 1).x.empty());
}

TEST_CASE("maxcut and cut payloads round-trip and refuse bad problems", "[swarm_kernels]") {
  OmegaRng rng(12);
  const os::MaxCutProblem g = random_graph(9, 0.5, rng);
  auto back = os::decode_maxcut(os::encode_maxcut(g));
  REQUIRE(back.has_value());
  CHECK(back->vertices == 9);
  CHECK(back->edges == g.edges);
  const auto cut = os::anneal_maxcut(g, 2);
  auto cb = os::decode_cut(os::encode_cut(cut));
  REQUIRE(cb.has_value());
  CHECK(cb->side == cut.side);
  CHECK(cb->cut_value == cut.cut_value);
  CHECK(cb->iterations == cut.iterations);

  CHECK_FALSE(os::decode_maxcut(os::encode_maxcut({.vertices = 3, .edges = {{0, 3, 1.0}}})).has_value());
  CHECK_FALSE(os::decode_maxcut(os::encode_maxcut({.vertices = 3, .edges = {{1, 1, 1.0}}})).has_value());
  CHECK_FALSE(os::decode_maxcut(os::encode_maxcut({.vertices = 3, .edges = {{0, 1, std::nan("")}}})).has_value());
  CHECK(os::validate_maxcut({.vertices = 3, .edges = {{0, 2, -1.0}}}).empty());
  auto bad_side = os::encode_cut(cut);
  bad_side.back() = std::byte{2};
  CHECK_FALSE(os::decode_cut(bad_side).has_value());
  CHECK(std::isnan(os::exact_maxcut({.vertices = 25, .edges = {}})));
  CHECK(os::maxcut_work(g, 10) == 10 * (9 + 2 * g.edges.size()));
  CHECK_FALSE(os::decode_maxcut(os::encode_maxcut({.vertices = os::MaxCutProblem::kMaxVertices + 1, .edges = {}}))
                  .has_value());
}

TEST_CASE("circuit_work counts amplitude updates", "[swarm_kernels]") {
  os::Circuit c{.qubits = 10, .gates = std::vector<os::Gate>(5), .shots = 0};
  CHECK(os::circuit_work(c) == 1024 * 6);
  c.shots = 100;
  CHECK(os::circuit_work(c) == 1024 * 7 + 100 * 10);
  c.qubits = 20;
  c.gates.resize(os::Circuit::kMaxGates);
  CHECK(os::circuit_work(c) > (std::uint64_t{1} << 40));
}

// ---- the agents' task entry points ----------------------------------------------------------

TEST_CASE("the neural and quantum tasks take and return their payload encodings", "[swarm_kernels]") {
  const std::size_t widths[] = {4, 8, 2};
  const auto net = os::NeuralNetwork::random(widths, 9);
  const float in[4] = {0.1f, 0.2f, -0.3f, 0.4f};
  auto out = os::run_neural_task(net, os::encode_floats(in));
  REQUIRE(out.has_value());
  auto floats = os::decode_floats(*out);
  REQUIRE(floats.has_value());
  CHECK(*floats == net.infer(in));
  const float three[3] = {1, 2, 3};
  CHECK_FALSE(os::run_neural_task(net, os::encode_floats(three)).has_value());

  os::Circuit bell{.qubits = 2, .gates = {{os::Gate::Kind::H, 0, 0, 0}, {os::Gate::Kind::CNOT, 0, 1, 0}}, .shots = 0};
  auto res = os::run_quantum_task(os::encode_circuit(bell), 16, 1);
  REQUIRE(res.has_value());
  auto decoded = os::decode_result(*res);
  REQUIRE(decoded.has_value());
  CHECK(decoded->probabilities[3] == Approx(0.5));
  bell.qubits = 17;
  CHECK_FALSE(os::run_quantum_task(os::encode_circuit(bell), 16, 1).has_value());  // more than the agent has

  os::MaxCutProblem cycle{.vertices = 5, .edges = {}};
  for (unsigned v = 0; v < 5; ++v) cycle.edges.emplace_back(v, (v + 1) % 5, 1.0);
  auto cut = os::run_quantum_task(os::encode_maxcut(cycle), 16, 1);
  REQUIRE(cut.has_value());
  auto c = os::decode_cut(*cut);
  REQUIRE(c.has_value());
  CHECK(c->cut_value == 4.0);
  CHECK_FALSE(os::run_quantum_task(os::encode_floats(in), 16, 1).has_value());
  CHECK_FALSE(os::run_quantum_task({}, 16, 1).has_value());
}
