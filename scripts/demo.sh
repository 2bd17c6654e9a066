#!/usr/bin/env bash
# The main job: installs what is missing, builds both targets (native release and the two
# WASM builds), then serves the live demo with COOP/COEP on a local port and prints its URL.
#   scripts/demo.sh [--port 8080] [--host 127.0.0.1] [--no-isolation]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
for preset in native-release wasm-mt wasm-st; do
  echo "=== build ${preset}"
  cmake --preset "${preset}" >/dev/null
  cmake --build --preset "${preset}"
done
exec node scripts/serve.mjs "$@"
