#pragma once
// The swarm agents' kernels, timed against plain scalar loops in the same process: dense
// inference (GFLOP/s), state-vector gates at 20 qubits (gates/s), MaxCut annealing (flips/s).
// swarm_bench calls run_swarm_kernels_bench(); swarm_kernels_bench is the same as a program.
namespace omega::bench {

// Prints a titled section to stdout. `runs`: repeats per figure (medians are reported).
void run_swarm_kernels_bench(int runs = 7);

}  // namespace omega::bench
