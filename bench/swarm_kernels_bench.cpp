// Swarm agent kernels against their scalar twins (same process, same data):
//  inference: NeuralNetwork::infer (Highway) vs infer_scalar, one 2048x2048 layer and a
//             small 64-128-10 network; unit GFLOP/s (2 FLOP per multiply-add), higher is better
//  gates:     QuantumState (split re/im arrays, Highway) vs a std::complex loop, 20 qubits,
//             H/RX/RZ cycling over every qubit (CNOT has no baseline row: it moves amplitudes
//             without arithmetic in both); unit gates/s, higher is better
//  annealing: anneal_maxcut on a 2000-vertex random graph; unit million flip proposals/s
#include "swarm_kernels_bench.hpp"

#include <omega/base/config.hpp>
#include <omega/base/rng.hpp>
#include <omega/swarm/neural.hpp>
#include <omega/swarm/quantum.hpp>

#include <cmath>
#include <complex>
#include <cstdio>
#include <vector>

#include "bench_util.hpp"

namespace omega::bench {
namespace {

// baseline_median 0: a figure with no baseline of its kind, printed without a ratio.
void throughput_row(const char* name, const Stat& s, const char* unit, double baseline_median = 0) {
  std::printf("  %-44s %10.2f %-10s (min %8.2f, max %8.2f)", name, s.median, unit, s.min, s.max);
  if (baseline_median > 0) std::printf("  x%.2f vs baseline", s.median / baseline_median);
  std::printf("\n");
}

void inference(const std::vector<std::size_t>& widths, int runs, int reps) {
  const auto net = swarm::NeuralNetwork::random(widths, 1);
  std::vector<float> in(net.input_size()), out(net.output_size());
  OmegaRng rng(2);
  for (float& f : in) f = static_cast<float>(rng.next_f64() * 2 - 1);
  const double flop = 2.0 * static_cast<double>(net.multiply_adds()) * reps;
  std::string shape;
  for (std::size_t w : widths) {
    if (!shape.empty()) shape += '-';
    shape += std::to_string(w);
  }
  const Stat scalar = repeat(runs, [&] {
    const double ns = time_ns([&] {
      for (int r = 0; r < reps; ++r) keep(net.infer_scalar(in).data());
    });
    return flop / ns;
  });
  const Stat simd = repeat(runs, [&] {
    const double ns = time_ns([&] {
      for (int r = 0; r < reps; ++r) {
        (void)net.infer(in, out);
        keep(out.data());
      }
    });
    return flop / ns;
  });
  std::printf(" inference %s (%zu parameters):\n", shape.c_str(), net.parameters());
  throughput_row("baseline: scalar loops (infer_scalar)", scalar, "GFLOP/s", scalar.median);
  throughput_row("omega: Highway matvec (infer)", simd, "GFLOP/s", scalar.median);
}

// The textbook simulator a user would write: one std::complex vector, one pass per gate.
// Without -ffast-math each complex product honours C's NaN/infinity rules (a __muldc3
// call where the inline fast path cannot prove them moot), part of what it costs.
void complex_1q(std::vector<std::complex<double>>& s, unsigned q, const std::complex<double> (&u)[4]) {
  const std::size_t bit = std::size_t{1} << q;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i & bit) continue;
    const auto a = s[i], b = s[i | bit];
    s[i] = u[0] * a + u[1] * b;
    s[i | bit] = u[2] * a + u[3] * b;
  }
}

void gates(unsigned qubits, int runs) {
  const int gates_per_run = static_cast<int>(3 * qubits);
  swarm::QuantumState state(qubits);
  const Stat omega_1q = repeat(runs, [&] {
    const double ns = time_ns([&] {
      for (unsigned q = 0; q < qubits; ++q) {
        state.h(q);
        state.rx(q, 0.3);
        state.rz(q, 0.7);
      }
    });
    return gates_per_run / (ns * 1e-9);
  });
  keep(state.norm_squared());
  std::vector<std::complex<double>> ref(std::size_t{1} << qubits);
  ref[0] = 1;
  const double h = 1 / std::sqrt(2.0), c = std::cos(0.15), s = std::sin(0.15), c7 = std::cos(0.35), s7 = std::sin(0.35);
  const std::complex<double> uh[4] = {h, h, h, -h};
  const std::complex<double> urx[4] = {c, {0, -s}, {0, -s}, c};
  const std::complex<double> urz[4] = {{c7, -s7}, 0, 0, {c7, s7}};
  const Stat plain_1q = repeat(runs, [&] {
    const double ns = time_ns([&] {
      for (unsigned q = 0; q < qubits; ++q) {
        complex_1q(ref, q, uh);
        complex_1q(ref, q, urx);
        complex_1q(ref, q, urz);
      }
    });
    return gates_per_run / (ns * 1e-9);
  });
  keep(ref.data());
  const Stat cnot = repeat(runs, [&] {
    const double ns = time_ns([&] {
      for (unsigned q = 0; q + 1 < qubits; ++q) state.cnot(q, q + 1);
    });
    return (qubits - 1) / (ns * 1e-9);
  });
  const Stat probs = repeat(runs, [&] {
    const double ns = time_ns([&] {
      for (int r = 0; r < 20; ++r) keep(state.norm_squared());
    });
    return 20 / (ns * 1e-9);
  });
  std::printf(" gates on %u qubits (%zu amplitudes, %.0f MiB of state):\n", qubits, state.dimension(),
              static_cast<double>(state.dimension()) * 16 / (1 << 20));
  throughput_row("baseline: std::complex loop, H/RX/RZ", plain_1q, "gates/s", plain_1q.median);
  throughput_row("omega: QuantumState, H/RX/RZ", omega_1q, "gates/s", plain_1q.median);
  throughput_row("omega: QuantumState, CNOT", cnot, "gates/s");
  throughput_row("omega: norm (probability sum)", probs, "sums/s");
}

void annealing(int runs) {
  OmegaRng rng(5);
  swarm::MaxCutProblem p{.vertices = 2000, .edges = {}};
  for (unsigned e = 0; e < 20000; ++e) {
    const auto u = static_cast<unsigned>(rng.gen_range(2000));
    const auto v = static_cast<unsigned>((u + 1 + rng.gen_range(1999)) % 2000);
    p.edges.emplace_back(u, v, 1.0);
  }
  double cut = 0;
  const Stat flips = repeat(runs, [&] {
    swarm::CutSolution s;
    const double ns = time_ns([&] { s = swarm::anneal_maxcut(p, 1, 200); });
    cut = s.cut_value;
    return static_cast<double>(s.iterations) / ns * 1e3;
  });
  std::printf(" annealing MaxCut, 2000 vertices, 20000 unit edges, 200 sweeps (cut %.0f of 20000):\n", cut);
  throughput_row("omega: anneal_maxcut", flips, "Mflips/s");
}

}  // namespace

void run_swarm_kernels_bench(int runs) {
  std::printf("swarm kernels (%s, SIMD target %s, load %s): medians of %d runs, higher is better\n", kPlatformName,
              swarm::kernels_simd_target(), load_average().c_str(), runs);
  inference({2048, 2048}, runs, 20);
  inference({64, 128, 10}, runs, 20000);
  gates(20, runs);
  annealing(runs);
}

}  // namespace omega::bench

#ifdef OMEGA_SWARM_KERNELS_BENCH_MAIN
int main() { omega::bench::run_swarm_kernels_bench(); }
#endif
