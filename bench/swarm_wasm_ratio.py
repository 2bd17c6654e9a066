#!/usr/bin/env python3
"""WASM against native for swarm_bench: divides the "summary" figures of two runs.

    build/native-release/bench/swarm_bench > native.txt
    node --no-experimental-fetch build/wasm-bench/bench/swarm_bench.js > wasm.txt
    python3 bench/swarm_wasm_ratio.py native.txt wasm.txt

Prints, for every figure both runs have, how many times slower WASM is (above 1: slower):
native/WASM for rates (keys ending in _per_s), WASM/native for times. The issue's target is
"WASM within 2x of native": a slowdown of at most 2.
"""
import sys


def summary(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("summary "):
                return dict(kv.split("=", 1) for kv in line.split(":", 1)[1].split())
    sys.exit(f"{path}: no summary line (did the run finish?)")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    native, wasm = summary(sys.argv[1]), summary(sys.argv[2])
    print("| figure | native | WASM | WASM slowdown | within 2x? |")
    print("|---|---|---|---|---|")
    for key, n in native.items():
        if key not in wasm:
            continue
        n, w = float(n), float(wasm[key])
        if n <= 0 or w <= 0:
            slowdown = float("nan")
        elif key.endswith("_per_s"):
            slowdown = n / w
        else:
            slowdown = w / n
        met = "yes" if slowdown <= 2 else "no"
        print(f"| {key} | {n:.4g} | {w:.4g} | {slowdown:.2f} | {met} |")


if __name__ == "__main__":
    main()
