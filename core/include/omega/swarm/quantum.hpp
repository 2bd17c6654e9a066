#pragma once
// The quantum agent's kernels: a state-vector simulator of up to 20 qubits and a simulated
// annealer for QUBO problems (MaxCut among them).
//
// State: 2^n complex amplitudes in double precision, real and imaginary parts in separate
// arrays so that single-qubit gates and probability sums run on Highway vectors. Basis index
// bit q is qubit q (qubit 0 is the least significant bit).
//
// Payload encodings (little-endian, independent of the host; decoders check every length
// before use, refuse trailing bytes, and never allocate more than the input implies):
//   circuit  "OQC1", u8 qubits (1..20), u32 shots (0..kMaxShots), u32 gate count
//            (0..kMaxGates), then per gate 11 bytes: u8 kind (Gate::Kind's value), u8 a,
//            u8 b, f64 theta. a < qubits always; for CNOT b < qubits and b != a (a is the
//            control), otherwise b == 0; theta finite (ignored except by RX/RY/RZ).
//   result   "OQR1", u8 qubits, then 2^qubits f64 probabilities, then u32 k and k pairs
//            (u32 basis, u64 count) of the non-zero counts in ascending basis order.
//   maxcut   "OMC1", u32 vertices (0..kMaxVertices), u32 edge count (0..kMaxEdges), then per
//            edge u32 u, u32 v, f64 weight: u, v < vertices, u != v, weight finite.
//   cut      "OCS1", u32 vertices, f64 cut value, u64 iterations, then one u8 side (0 or 1)
//            per vertex.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include <omega/base/result.hpp>
#include <omega/base/rng.hpp>

namespace omega::swarm {

inline constexpr unsigned kMaxQubits = 20;

// A value type (copyable); not thread-safe: one state per thread or task.
class QuantumState {
 public:
  // |0...0> on `qubits` qubits; 1..kMaxQubits (asserted; use create() for untrusted counts).
  explicit QuantumState(unsigned qubits);
  static Result<QuantumState, std::string> create(unsigned qubits);

  [[nodiscard]] unsigned qubits() const noexcept { return qubits_; }
  [[nodiscard]] std::size_t dimension() const noexcept { return re_.size(); }

  // Qubit indices must be < qubits() (asserted: a caller bug; decoded circuits are checked).
  void h(unsigned q);
  void x(unsigned q);
  void y(unsigned q);
  void z(unsigned q);
  void rx(unsigned q, double theta);  // exp(-i theta X / 2)
  void ry(unsigned q, double theta);  // exp(-i theta Y / 2)
  void rz(unsigned q, double theta);  // exp(-i theta Z / 2) = diag(e^{-i theta/2}, e^{i theta/2})
  void cnot(unsigned control, unsigned target);  // control != target

  [[nodiscard]] double probability(std::uint64_t basis) const;  // 0 for basis >= dimension()
  [[nodiscard]] std::vector<double> probabilities() const;
  [[nodiscard]] double norm_squared() const;
  [[nodiscard]] double real(std::uint64_t basis) const { return re_[basis]; }
  [[nodiscard]] double imag(std::uint64_t basis) const { return im_[basis]; }

  // Projective measurement of qubit q in the computational basis: returns 0 or 1 with the
  // Born probabilities, collapses the state onto the outcome and renormalises it.
  unsigned measure(unsigned q, OmegaRng& rng);
  // Measures every qubit: returns the basis index drawn; the state becomes that basis state.
  std::uint64_t measure_all(OmegaRng& rng);

 private:
  // [[u00, u01], [u10, u11]] as (re, im) pairs.
  void apply_1q(unsigned q, const double (&u)[8]);
  unsigned qubits_;
  std::vector<double> re_, im_;
};

struct Gate {
  enum class Kind : std::uint8_t { H = 0, X = 1, Y = 2, Z = 3, RX = 4, RY = 5, RZ = 6, CNOT = 7, Measure = 8 };
  Kind kind = Kind::H;
  unsigned a = 0;  // the qubit (CNOT: the control)
  unsigned b = 0;  // CNOT's target; 0 for every other kind
  double theta = 0;
};

struct Circuit {
  static constexpr std::size_t kMaxGates = 1u << 20;
  static constexpr unsigned kMaxShots = 1u << 24;
  unsigned qubits = 1;
  std::vector<Gate> gates;
  unsigned shots = 0;
};

// Empty when the circuit is valid, else why not (the rules of the circuit encoding above).
[[nodiscard]] std::string validate_circuit(const Circuit& circuit);

// Encodes a valid circuit (fields of an invalid one are truncated to their wire widths).
[[nodiscard]] std::vector<std::byte> encode_circuit(const Circuit& circuit);
[[nodiscard]] Result<Circuit, std::string> decode_circuit(std::span<const std::byte> bytes);

struct CircuitResult {
  unsigned qubits = 0;
  // The final state's Born probabilities (2^qubits). Measure gates collapse the state with
  // outcomes drawn from the seed, so a circuit with them reports the post-measurement state.
  std::vector<double> probabilities;
  // shots > 0: how many of `shots` measure_all samples of the final state gave each basis
  // index (2^qubits entries); empty when shots == 0.
  std::vector<std::uint64_t> counts;
};

// Runs the gates in order on |0...0>; deterministic for a seed on every target (up to the
// last bits of the floating point). Refuses an invalid circuit.
[[nodiscard]] Result<CircuitResult, std::string> run_circuit(const Circuit& circuit, std::uint64_t seed);
// What run_circuit costs, in amplitude updates: 2^qubits per gate (and for the result and
// the shots' prefix sum), plus qubits per shot for its binary search. A valid payload can ask
// for ~10^12 (2^20 amplitudes x 2^20 gates), so an agent that must answer in bounded time
// compares this with its budget before running a decoded circuit.
[[nodiscard]] std::uint64_t circuit_work(const Circuit& circuit) noexcept;

[[nodiscard]] std::vector<std::byte> encode_result(const CircuitResult& result);
[[nodiscard]] Result<CircuitResult, std::string> decode_result(std::span<const std::byte> bytes);

// ---- optimisation: simulated annealing on a QUBO ------------------------------------------

// Minimise E(x) = sum_i linear[i] x_i + sum_(i,j,w) in couplings w x_i x_j over x in {0,1}^n.
struct QuboProblem {
  unsigned variables = 0;
  std::vector<double> linear;                                  // `variables` entries
  std::vector<std::tuple<unsigned, unsigned, double>> couplings;  // i != j, both < variables
};

struct QuboSolution {
  std::vector<std::uint8_t> x;  // the best assignment seen
  double energy = 0;            // E(x)
  std::uint64_t iterations = 0;  // flip proposals made
};

// Single-flip Metropolis annealing, geometric cooling over `sweeps` sweeps of n proposals,
// keeping the best assignment seen and finishing with a greedy descent from it. The same
// seed gives the same answer. Invalid problems (wrong linear size, bad indices, non-finite
// values) are a caller bug (asserted).
[[nodiscard]] QuboSolution anneal_qubo(const QuboProblem& problem, std::uint64_t seed, std::uint64_t sweeps = 1000);

struct MaxCutProblem {
  static constexpr unsigned kMaxVertices = 1u << 16;
  static constexpr std::size_t kMaxEdges = 1u << 20;
  unsigned vertices = 0;
  std::vector<std::tuple<unsigned, unsigned, double>> edges;  // (u, v, weight), u != v
};

struct CutSolution {
  std::vector<std::uint8_t> side;  // 0 or 1 per vertex
  double cut_value = 0;            // the weight of edges whose ends lie on different sides
  std::uint64_t iterations = 0;
};

// Empty when valid, else why not (the rules of the maxcut encoding above).
[[nodiscard]] std::string validate_maxcut(const MaxCutProblem& problem);
// MaxCut as the QUBO min sum_(u,v,w) w (2 x_u x_v - x_u - x_v), annealed. Invalid problems
// are asserted (decode_maxcut and validate_maxcut refuse them first).
[[nodiscard]] CutSolution anneal_maxcut(const MaxCutProblem& problem, std::uint64_t seed, std::uint64_t sweeps = 1000);
// The value of the cut `side` gives.
[[nodiscard]] double cut_value(const MaxCutProblem& problem, std::span<const std::uint8_t> side);
// What anneal_maxcut costs, in flip proposals plus neighbour updates at worst (every flip
// accepted): sweeps x (vertices + 2 x edges). The counterpart of circuit_work.
[[nodiscard]] std::uint64_t maxcut_work(const MaxCutProblem& problem, std::uint64_t sweeps = 1000) noexcept;
// Brute force over every assignment (Gray code, O(2^n * degree)): for tests. NaN for more
// than 24 vertices.
[[nodiscard]] double exact_maxcut(const MaxCutProblem& problem);

[[nodiscard]] std::vector<std::byte> encode_maxcut(const MaxCutProblem& problem);
[[nodiscard]] Result<MaxCutProblem, std::string> decode_maxcut(std::span<const std::byte> bytes);
[[nodiscard]] std::vector<std::byte> encode_cut(const CutSolution& solution);
[[nodiscard]] Result<CutSolution, std::string> decode_cut(std::span<const std::byte> bytes);

// ---- the quantum agent's task --------------------------------------------------------------

// Runs one task payload, chosen by its tag: a circuit ("OQC1", at most max_qubits qubits)
// returns its result ("OQR1"); a MaxCut problem ("OMC1") is annealed for `sweeps` sweeps and
// returns its cut ("OCS1"). Anything else, or a payload its decoder refuses, is an error.
[[nodiscard]] Result<std::vector<std::byte>, std::string> run_quantum_task(std::span<const std::byte> payload,
                                                                          unsigned max_qubits, std::uint64_t seed,
                                                                          std::uint64_t sweeps = 1000);

}  // namespace omega::swarm
