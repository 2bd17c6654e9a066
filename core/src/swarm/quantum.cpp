#include <omega/swarm/quantum.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include <omega/base/assert.hpp>

#include "swarm/kernels_simd.hpp"
#include "swarm/wire.hpp"

namespace omega::swarm {
namespace {

constexpr std::uint8_t kGateKinds = 9;
constexpr double kSqrtHalf = 0.70710678118654752440;

std::size_t checked_dimension(unsigned qubits) {
  OMEGA_ASSERT(qubits >= 1 && qubits <= kMaxQubits, "QuantumState: 1..20 qubits (create() reports instead)");
  return std::size_t{1} << qubits;
}

}  // namespace

// ---- state ----------------------------------------------------------------------------------

QuantumState::QuantumState(unsigned qubits)
    : qubits_(qubits),
      re_(checked_dimension(qubits)),
      im_(re_.size()) {
  re_[0] = 1.0;
}

Result<QuantumState, std::string> QuantumState::create(unsigned qubits) {
  if (qubits < 1 || qubits > kMaxQubits) return Err("qubit count " + std::to_string(qubits) + " out of 1..20");
  return QuantumState(qubits);
}

void QuantumState::apply_1q(unsigned q, const double (&u)[8]) {
  OMEGA_ASSERT(q < qubits_, "qubit index out of range");
  detail::apply_1q(re_.data(), im_.data(), re_.size(), q, u);
}

void QuantumState::h(unsigned q) {
  const double u[8] = {kSqrtHalf, 0, kSqrtHalf, 0, kSqrtHalf, 0, -kSqrtHalf, 0};
  apply_1q(q, u);
}

void QuantumState::x(unsigned q) {
  const double u[8] = {0, 0, 1, 0, 1, 0, 0, 0};
  apply_1q(q, u);
}

void QuantumState::y(unsigned q) {
  const double u[8] = {0, 0, 0, -1, 0, 1, 0, 0};  // [[0, -i], [i, 0]]
  apply_1q(q, u);
}

void QuantumState::z(unsigned q) {
  const double u[8] = {1, 0, 0, 0, 0, 0, -1, 0};
  apply_1q(q, u);
}

void QuantumState::rx(unsigned q, double theta) {
  const double c = std::cos(theta / 2), s = std::sin(theta / 2);
  const double u[8] = {c, 0, 0, -s, 0, -s, c, 0};  // [[c, -i s], [-i s, c]]
  apply_1q(q, u);
}

void QuantumState::ry(unsigned q, double theta) {
  const double c = std::cos(theta / 2), s = std::sin(theta / 2);
  const double u[8] = {c, 0, -s, 0, s, 0, c, 0};  // [[c, -s], [s, c]]
  apply_1q(q, u);
}

void QuantumState::rz(unsigned q, double theta) {
  const double c = std::cos(theta / 2), s = std::sin(theta / 2);
  const double u[8] = {c, -s, 0, 0, 0, 0, c, s};  // diag(e^{-i t/2}, e^{i t/2})
  apply_1q(q, u);
}

void QuantumState::cnot(unsigned control, unsigned target) {
  OMEGA_ASSERT(control < qubits_ && target < qubits_ && control != target, "cnot: two distinct qubits in range");
  // Visit each index with the control bit set and the target bit clear once: count k over a
  // quarter of the space and insert the two fixed bits, lowest first.
  const unsigned lo = std::min(control, target), hi = std::max(control, target);
  const std::size_t cbit = std::size_t{1} << control, tbit = std::size_t{1} << target;
  const std::size_t quarter = re_.size() >> 2;
  for (std::size_t k = 0; k < quarter; ++k) {
    std::size_t i = ((k >> lo) << (lo + 1)) | (k & ((std::size_t{1} << lo) - 1));
    i = ((i >> hi) << (hi + 1)) | (i & ((std::size_t{1} << hi) - 1));
    i |= cbit;
    std::swap(re_[i], re_[i | tbit]);
    std::swap(im_[i], im_[i | tbit]);
  }
}

double QuantumState::probability(std::uint64_t basis) const {
  if (basis >= re_.size()) return 0;
  return re_[basis] * re_[basis] + im_[basis] * im_[basis];
}

std::vector<double> QuantumState::probabilities() const {
  std::vector<double> p(re_.size());
  detail::squares(re_.data(), im_.data(), p.data(), p.size());
  return p;
}

double QuantumState::norm_squared() const { return detail::sum_squares(re_.data(), im_.data(), re_.size()); }

unsigned QuantumState::measure(unsigned q, OmegaRng& rng) {
  OMEGA_ASSERT(q < qubits_, "qubit index out of range");
  // Against the actual norm rather than 1, so rounding drift never biases the draw.
  const double total = norm_squared();
  const double p1 = detail::sum_squares_bit(re_.data(), im_.data(), re_.size(), q);
  const double p0 = std::max(total - p1, 0.0);
  unsigned outcome = rng.next_f64() * total < p1 ? 1u : 0u;
  // A draw can only land on an outcome of zero weight through rounding; take the other one.
  if (outcome == 1 && p1 <= 0) outcome = 0;
  if (outcome == 0 && p0 <= 0) outcome = 1;
  const double kept = outcome ? p1 : p0;
  detail::collapse(re_.data(), im_.data(), re_.size(), q, outcome, 1.0 / std::sqrt(kept));
  return outcome;
}

std::uint64_t QuantumState::measure_all(OmegaRng& rng) {
  const double total = norm_squared();
  const double target = rng.next_f64() * total;
  std::size_t chosen = 0;
  double running = 0;
  for (std::size_t i = 0; i < re_.size(); ++i) {
    const double p = re_[i] * re_[i] + im_[i] * im_[i];
    if (p <= 0) continue;
    chosen = i;  // the last index of non-zero weight, if rounding leaves target past the sum
    running += p;
    if (target < running) break;
  }
  std::fill(re_.begin(), re_.end(), 0.0);
  std::fill(im_.begin(), im_.end(), 0.0);
  re_[chosen] = 1.0;
  return chosen;
}

// ---- circuits -------------------------------------------------------------------------------

std::string validate_circuit(const Circuit& c) {
  if (c.qubits < 1 || c.qubits > kMaxQubits) return "qubit count " + std::to_string(c.qubits) + " out of 1..20";
  if (c.shots > Circuit::kMaxShots) return "more than " + std::to_string(Circuit::kMaxShots) + " shots";
  if (c.gates.size() > Circuit::kMaxGates) return "more than " + std::to_string(Circuit::kMaxGates) + " gates";
  for (std::size_t i = 0; i < c.gates.size(); ++i) {
    const Gate& g = c.gates[i];
    const std::string at = "gate " + std::to_string(i) + ": ";
    if (static_cast<std::uint8_t>(g.kind) >= kGateKinds) return at + "unknown kind";
    if (g.a >= c.qubits) return at + "qubit " + std::to_string(g.a) + " out of range";
    if (g.kind == Gate::Kind::CNOT) {
      if (g.b >= c.qubits) return at + "target " + std::to_string(g.b) + " out of range";
      if (g.b == g.a) return at + "control and target are the same qubit";
    } else if (g.b != 0) {
      return at + "second qubit set on a single-qubit gate";
    }
    if (!std::isfinite(g.theta)) return at + "angle is not finite";
  }
  return {};
}

std::vector<std::byte> encode_circuit(const Circuit& c) {
  wire::Writer w(13 + c.gates.size() * 11);
  w.tag("OQC1");
  w.u8(static_cast<std::uint8_t>(c.qubits));
  w.u32(c.shots);
  w.u32(static_cast<std::uint32_t>(c.gates.size()));
  for (const Gate& g : c.gates) {
    w.u8(static_cast<std::uint8_t>(g.kind));
    w.u8(static_cast<std::uint8_t>(g.a));
    w.u8(static_cast<std::uint8_t>(g.b));
    w.f64(g.theta);
  }
  return std::move(w).take();
}

Result<Circuit, std::string> decode_circuit(std::span<const std::byte> bytes) {
  wire::Reader r(bytes);
  if (!r.tag("OQC1")) return Err(std::string("circuit payload does not start with \"OQC1\""));
  std::uint8_t qubits = 0;
  std::uint32_t shots = 0, count = 0;
  if (!r.u8(qubits) || !r.u32(shots) || !r.u32(count)) {
    return Err(std::string("circuit payload truncated in the header"));
  }
  if (count > Circuit::kMaxGates) return Err("gate count " + std::to_string(count) + " over the limit");
  if (r.remaining() != std::size_t{count} * 11) {
    return Err("circuit payload holds " + std::to_string(r.remaining()) + " bytes of gates, " + std::to_string(count) +
               " gates need " + std::to_string(std::size_t{count} * 11));
  }
  Circuit c;
  c.qubits = qubits;
  c.shots = shots;
  c.gates.resize(count);
  for (Gate& g : c.gates) {
    std::uint8_t kind = 0, a = 0, b = 0;
    (void)r.u8(kind);
    (void)r.u8(a);
    (void)r.u8(b);
    (void)r.f64(g.theta);
    // Out-of-range kinds are caught by validate_circuit before any switch sees them.
    g.kind = kind < kGateKinds ? static_cast<Gate::Kind>(kind) : Gate::Kind{kGateKinds};
    g.a = a;
    g.b = b;
  }
  if (std::string why = validate_circuit(c); !why.empty()) return Err(std::move(why));
  return c;
}

Result<CircuitResult, std::string> run_circuit(const Circuit& c, std::uint64_t seed) {
  if (std::string why = validate_circuit(c); !why.empty()) return Err(std::move(why));
  OmegaRng rng(seed);
  QuantumState s(c.qubits);
  for (const Gate& g : c.gates) {
    switch (g.kind) {
      case Gate::Kind::H: s.h(g.a); break;
      case Gate::Kind::X: s.x(g.a); break;
      case Gate::Kind::Y: s.y(g.a); break;
      case Gate::Kind::Z: s.z(g.a); break;
      case Gate::Kind::RX: s.rx(g.a, g.theta); break;
      case Gate::Kind::RY: s.ry(g.a, g.theta); break;
      case Gate::Kind::RZ: s.rz(g.a, g.theta); break;
      case Gate::Kind::CNOT: s.cnot(g.a, g.b); break;
      case Gate::Kind::Measure: (void)s.measure(g.a, rng); break;
    }
  }
  CircuitResult out;
  out.qubits = c.qubits;
  out.probabilities = s.probabilities();
  if (c.shots > 0) {
    // Inverse-CDF sampling: one prefix sum, then a binary search per shot.
    std::vector<double> cdf(out.probabilities.size());
    double running = 0;
    for (std::size_t i = 0; i < cdf.size(); ++i) cdf[i] = running += out.probabilities[i];
    out.counts.assign(cdf.size(), 0);
    for (unsigned shot = 0; shot < c.shots; ++shot) {
      const double target = rng.next_f64() * running;
      auto it = std::upper_bound(cdf.begin(), cdf.end(), target);
      std::size_t i = it == cdf.end() ? cdf.size() - 1 : static_cast<std::size_t>(it - cdf.begin());
      ++out.counts[i];
    }
  }
  return out;
}

std::uint64_t circuit_work(const Circuit& c) noexcept {
  const std::uint64_t dim = std::uint64_t{1} << std::min(c.qubits, kMaxQubits);
  return dim * (c.gates.size() + 1 + (c.shots > 0 ? 1 : 0)) + std::uint64_t{c.shots} * c.qubits;
}

std::vector<std::byte> encode_result(const CircuitResult& res) {
  std::size_t nonzero = 0;
  for (std::uint64_t n : res.counts) nonzero += n != 0;
  wire::Writer w(9 + res.probabilities.size() * 8 + nonzero * 12);
  w.tag("OQR1");
  w.u8(static_cast<std::uint8_t>(res.qubits));
  for (double p : res.probabilities) w.f64(p);
  w.u32(static_cast<std::uint32_t>(nonzero));
  for (std::size_t i = 0; i < res.counts.size(); ++i) {
    if (res.counts[i] == 0) continue;
    w.u32(static_cast<std::uint32_t>(i));
    w.u64(res.counts[i]);
  }
  return std::move(w).take();
}

Result<CircuitResult, std::string> decode_result(std::span<const std::byte> bytes) {
  wire::Reader r(bytes);
  if (!r.tag("OQR1")) return Err(std::string("result payload does not start with \"OQR1\""));
  std::uint8_t qubits = 0;
  if (!r.u8(qubits)) return Err(std::string("result payload truncated in the header"));
  if (qubits < 1 || qubits > kMaxQubits) return Err("qubit count " + std::to_string(qubits) + " out of 1..20");
  const std::size_t dim = std::size_t{1} << qubits;
  if (!r.has(dim * 8 + 4)) return Err(std::string("result payload truncated in the probabilities"));
  CircuitResult res;
  res.qubits = qubits;
  res.probabilities.resize(dim);
  for (double& p : res.probabilities) {
    (void)r.f64(p);
    if (!(p >= 0.0 && p <= 1.0 + 1e-9)) return Err(std::string("a probability outside [0, 1]"));
  }
  std::uint32_t k = 0;
  (void)r.u32(k);
  if (k > dim) return Err(std::string("more non-zero counts than basis states"));
  if (r.remaining() != std::size_t{k} * 12) {
    return Err(std::string("result payload's counts do not match their number"));
  }
  if (k > 0) res.counts.assign(dim, 0);
  std::uint64_t previous = 0;
  for (std::uint32_t j = 0; j < k; ++j) {
    std::uint32_t basis = 0;
    std::uint64_t n = 0;
    (void)r.u32(basis);
    (void)r.u64(n);
    if (basis >= dim) return Err(std::string("a count's basis index is out of range"));
    if (j > 0 && basis <= previous) return Err(std::string("counts are not in ascending basis order"));
    if (n == 0) return Err(std::string("a listed count is zero"));
    previous = basis;
    res.counts[basis] = n;
  }
  return res;
}

// ---- annealing ------------------------------------------------------------------------------

namespace {

// Couplings as adjacency lists (compressed rows), each pair listed at both ends.
struct Adjacency {
  std::vector<std::size_t> start;  // variables + 1
  std::vector<unsigned> other;
  std::vector<double> weight;
};

Adjacency adjacency(unsigned n, const std::vector<std::tuple<unsigned, unsigned, double>>& couplings) {
  Adjacency a;
  a.start.assign(std::size_t{n} + 1, 0);
  for (const auto& [i, j, w] : couplings) {
    ++a.start[i + 1];
    ++a.start[j + 1];
  }
  for (std::size_t v = 0; v < n; ++v) a.start[v + 1] += a.start[v];
  a.other.resize(a.start[n]);
  a.weight.resize(a.start[n]);
  std::vector<std::size_t> fill(a.start.begin(), a.start.end() - 1);
  for (const auto& [i, j, w] : couplings) {
    a.other[fill[i]] = j;
    a.weight[fill[i]++] = w;
    a.other[fill[j]] = i;
    a.weight[fill[j]++] = w;
  }
  return a;
}

double qubo_energy(const QuboProblem& p, std::span<const std::uint8_t> x) {
  double e = 0;
  for (unsigned i = 0; i < p.variables; ++i) e += p.linear[i] * x[i];
  for (const auto& [i, j, w] : p.couplings) e += w * x[i] * x[j];
  return e;
}

}  // namespace

QuboSolution anneal_qubo(const QuboProblem& p, std::uint64_t seed, std::uint64_t sweeps) {
  const unsigned n = p.variables;
  OMEGA_ASSERT(p.linear.size() == n, "anneal_qubo: one linear term per variable");
  for (const auto& [i, j, w] : p.couplings) {
    OMEGA_ASSERT(i < n && j < n && i != j && std::isfinite(w), "anneal_qubo: couplings join two distinct variables");
  }
  QuboSolution best;
  if (n == 0) return best;
  const Adjacency adj = adjacency(n, p.couplings);
  OmegaRng rng(seed);
  std::vector<std::uint8_t> x(n);
  for (auto& b : x) b = static_cast<std::uint8_t>(rng.next_u64() >> 63);
  // field[i] = linear[i] + sum_j J_ij x_j: flipping x_i changes the energy by (1 - 2 x_i) field[i].
  std::vector<double> field(p.linear);
  for (unsigned i = 0; i < n; ++i) {
    for (std::size_t k = adj.start[i]; k < adj.start[i + 1]; ++k) field[i] += adj.weight[k] * x[adj.other[k]];
  }
  auto flip = [&](unsigned i) {
    const double d = x[i] ? -1.0 : 1.0;
    x[i] ^= 1u;
    for (std::size_t k = adj.start[i]; k < adj.start[i + 1]; ++k) field[adj.other[k]] += adj.weight[k] * d;
  };
  // The start temperature is the mean largest energy change of a flip, so early sweeps accept
  // most uphill moves; the end one a thousandth of it, where they are all but frozen out.
  double scale = 0;
  for (unsigned i = 0; i < n; ++i) {
    double s = std::abs(p.linear[i]);
    for (std::size_t k = adj.start[i]; k < adj.start[i + 1]; ++k) s += std::abs(adj.weight[k]);
    scale += s;
  }
  scale = scale > 0 ? scale / n : 1.0;
  const double t_start = scale, t_end = scale * 1e-3;
  const double cool = sweeps > 1 ? std::pow(t_end / t_start, 1.0 / static_cast<double>(sweeps - 1)) : 1.0;
  double energy = qubo_energy(p, x);
  best.x = x;
  best.energy = energy;
  double t = t_start;
  for (std::uint64_t sweep = 0; sweep < sweeps; ++sweep, t *= cool) {
    for (unsigned i = 0; i < n; ++i) {
      const double delta = (x[i] ? -1.0 : 1.0) * field[i];
      if (delta <= 0 || rng.next_f64() < std::exp(-delta / t)) {
        flip(i);
        energy += delta;
      }
    }
    if (energy < best.energy) {
      best.energy = energy;
      best.x = x;
    }
  }
  best.iterations = sweeps * n;
  // Greedy descent from the best assignment: every flip strictly lowers the energy, so it
  // ends in a local minimum (the cap guards against rounding ping-pong only).
  x = best.x;
  std::copy(p.linear.begin(), p.linear.end(), field.begin());
  for (unsigned i = 0; i < n; ++i) {
    for (std::size_t k = adj.start[i]; k < adj.start[i + 1]; ++k) field[i] += adj.weight[k] * x[adj.other[k]];
  }
  for (int pass = 0; pass < 1000; ++pass) {
    bool improved = false;
    for (unsigned i = 0; i < n; ++i) {
      const double delta = (x[i] ? -1.0 : 1.0) * field[i];
      if (delta < -1e-12 * (1.0 + std::abs(field[i]))) {
        flip(i);
        improved = true;
      }
    }
    if (!improved) break;
  }
  // Recomputed from scratch: the running sum carries the rounding of every accepted move.
  best.energy = qubo_energy(p, x);
  best.x = std::move(x);
  return best;
}

std::string validate_maxcut(const MaxCutProblem& p) {
  if (p.vertices > MaxCutProblem::kMaxVertices) {
    return "more than " + std::to_string(MaxCutProblem::kMaxVertices) + " vertices";
  }
  if (p.edges.size() > MaxCutProblem::kMaxEdges) {
    return "more than " + std::to_string(MaxCutProblem::kMaxEdges) + " edges";
  }
  for (std::size_t e = 0; e < p.edges.size(); ++e) {
    const auto& [u, v, w] = p.edges[e];
    const std::string at = "edge " + std::to_string(e) + ": ";
    if (u >= p.vertices || v >= p.vertices) return at + "vertex out of range";
    if (u == v) return at + "a loop";
    if (!std::isfinite(w)) return at + "weight is not finite";
  }
  return {};
}

double cut_value(const MaxCutProblem& p, std::span<const std::uint8_t> side) {
  double cut = 0;
  for (const auto& [u, v, w] : p.edges) {
    if (u < side.size() && v < side.size() && side[u] != side[v]) cut += w;
  }
  return cut;
}

std::uint64_t maxcut_work(const MaxCutProblem& p, std::uint64_t sweeps) noexcept {
  return sweeps * (std::uint64_t{p.vertices} + 2 * std::uint64_t{p.edges.size()});
}

CutSolution anneal_maxcut(const MaxCutProblem& p, std::uint64_t seed, std::uint64_t sweeps) {
  OMEGA_ASSERT(validate_maxcut(p).empty(), "anneal_maxcut: invalid problem (validate_maxcut says why)");
  // cut(x) = sum w (x_u + x_v - 2 x_u x_v); minimising its negation is the QUBO below.
  QuboProblem q{.variables = p.vertices, .linear = std::vector<double>(p.vertices, 0.0), .couplings = {}};
  q.couplings.reserve(p.edges.size());
  for (const auto& [u, v, w] : p.edges) {
    q.linear[u] -= w;
    q.linear[v] -= w;
    q.couplings.emplace_back(u, v, 2 * w);
  }
  QuboSolution s = anneal_qubo(q, seed, sweeps);
  CutSolution out;
  out.cut_value = cut_value(p, s.x);
  out.side = std::move(s.x);
  out.iterations = s.iterations;
  return out;
}

double exact_maxcut(const MaxCutProblem& p) {
  const unsigned n = p.vertices;
  if (n > 24) return std::numeric_limits<double>::quiet_NaN();
  if (n < 2) return 0;
  const Adjacency adj = adjacency(n, p.edges);
  // Vertex n-1 stays on side 0 (a cut and its mirror are worth the same); a Gray code walks
  // the other 2^(n-1) assignments one flip at a time.
  std::vector<std::uint8_t> side(n, 0);
  double cut = 0, best = 0;
  const std::uint64_t steps = std::uint64_t{1} << (n - 1);
  for (std::uint64_t k = 1; k < steps; ++k) {
    const unsigned v = static_cast<unsigned>(std::countr_zero(k));
    for (std::size_t e = adj.start[v]; e < adj.start[v + 1]; ++e) {
      cut += side[adj.other[e]] == side[v] ? adj.weight[e] : -adj.weight[e];
    }
    side[v] ^= 1u;
    best = std::max(best, cut);
  }
  return best;
}

std::vector<std::byte> encode_maxcut(const MaxCutProblem& p) {
  wire::Writer w(12 + p.edges.size() * 16);
  w.tag("OMC1");
  w.u32(p.vertices);
  w.u32(static_cast<std::uint32_t>(p.edges.size()));
  for (const auto& [u, v, weight] : p.edges) {
    w.u32(u);
    w.u32(v);
    w.f64(weight);
  }
  return std::move(w).take();
}

Result<MaxCutProblem, std::string> decode_maxcut(std::span<const std::byte> bytes) {
  wire::Reader r(bytes);
  if (!r.tag("OMC1")) return Err(std::string("maxcut payload does not start with \"OMC1\""));
  std::uint32_t vertices = 0, count = 0;
  if (!r.u32(vertices) || !r.u32(count)) return Err(std::string("maxcut payload truncated in the header"));
  if (count > MaxCutProblem::kMaxEdges) return Err("edge count " + std::to_string(count) + " over the limit");
  if (r.remaining() != std::size_t{count} * 16) {
    return Err(std::string("maxcut payload's edges do not match their number"));
  }
  MaxCutProblem p;
  p.vertices = vertices;
  p.edges.resize(count);
  for (auto& [u, v, w] : p.edges) {
    (void)r.u32(u);
    (void)r.u32(v);
    (void)r.f64(w);
  }
  if (std::string why = validate_maxcut(p); !why.empty()) return Err(std::move(why));
  return p;
}

std::vector<std::byte> encode_cut(const CutSolution& s) {
  wire::Writer w(24 + s.side.size());
  w.tag("OCS1");
  w.u32(static_cast<std::uint32_t>(s.side.size()));
  w.f64(s.cut_value);
  w.u64(s.iterations);
  for (std::uint8_t b : s.side) w.u8(b);
  return std::move(w).take();
}

Result<CutSolution, std::string> decode_cut(std::span<const std::byte> bytes) {
  wire::Reader r(bytes);
  if (!r.tag("OCS1")) return Err(std::string("cut payload does not start with \"OCS1\""));
  std::uint32_t vertices = 0;
  CutSolution s;
  if (!r.u32(vertices) || !r.f64(s.cut_value) || !r.u64(s.iterations)) {
    return Err(std::string("cut payload truncated in the header"));
  }
  if (!std::isfinite(s.cut_value)) return Err(std::string("cut value is not finite"));
  if (r.remaining() != vertices) return Err(std::string("cut payload's sides do not match the vertex count"));
  s.side.resize(vertices);
  for (auto& b : s.side) {
    (void)r.u8(b);
    if (b > 1) return Err(std::string("a side other than 0 or 1"));
  }
  return s;
}

// ---- the quantum agent's task --------------------------------------------------------------

Result<std::vector<std::byte>, std::string> run_quantum_task(std::span<const std::byte> payload, unsigned max_qubits,
                                                            std::uint64_t seed, std::uint64_t sweeps) {
  auto starts_with = [&](const char* tag) {
    if (payload.size() < 4) return false;
    for (int i = 0; i < 4; ++i) {
      if (static_cast<char>(payload[i]) != tag[i]) return false;
    }
    return true;
  };
  if (starts_with("OQC1")) {
    auto circuit = decode_circuit(payload);
    if (!circuit) return Err(std::move(circuit.error()));
    if (circuit->qubits > max_qubits) {
      return Err("circuit needs " + std::to_string(circuit->qubits) + " qubits, the agent simulates " +
                 std::to_string(max_qubits));
    }
    auto result = run_circuit(*circuit, seed);
    if (!result) return Err(std::move(result.error()));
    return encode_result(*result);
  }
  if (starts_with("OMC1")) {
    auto problem = decode_maxcut(payload);
    if (!problem) return Err(std::move(problem.error()));
    return encode_cut(anneal_maxcut(*problem, seed, sweeps));
  }
  return Err(std::string("quantum task payload is neither a circuit (\"OQC1\") nor a MaxCut problem (\"OMC1\")"));
}

}  // namespace omega::swarm
