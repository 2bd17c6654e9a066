#!/usr/bin/env bash
# Runs every test of Ultra Omega, installing what is missing first:
#   native: debug (+ install/find_package test), ASan+UBSan, TSan        (ctest)
#   fuzz: the OVP decoder and batch fuzzers, 20 s each (clang, libFuzzer) (ctest)
#   WASM under Node: threaded and single-threaded core suites            (ctest)
#   JS: the package imported by an out-of-tree Node project, the demo page in
#       headless Chromium with and without cross-origin isolation, and WASM OVP drones
#       (Node and Chromium) through a fake gateway and native-debug's omega-gateway (node --test)
#   docs: every relative link and #anchor in README.md and docs/*.md resolves
# Every step runs even when an earlier one fails; the exit status says whether all passed.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1

presets=(native-debug native-asan native-tsan native-fuzz wasm-mt wasm-st)
failed=()
for preset in "${presets[@]}"; do
  echo "=== ${preset}: configure, build, test"
  cmake --workflow --preset "${preset}" || failed+=("${preset}")
done

echo "=== docs: every relative link in README.md and docs/ resolves"
python3 scripts/check_links.py || failed+=(docs)

echo "=== js: Node import and headless Chromium"
if [ -f build/omega-js/mt/omega.mjs ] && [ -f build/omega-js/st/omega.mjs ]; then
  node --test tests/js/ || failed+=(js)
else
  echo "js: the WASM builds are missing"
  failed+=(js)
fi

if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all test suites passed: ${presets[*]} docs js"
