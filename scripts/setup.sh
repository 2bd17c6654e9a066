#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, test and demo Ultra Omega.
# Idempotent: packages already present are not fetched again; npm installs from the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
  cmake ninja-build g++ clang        # native toolchain
  libclang-rt-14-dev                 # clang's libFuzzer/sanitizer runtimes (only recommended by clang-14)
  emscripten                         # WASM toolchain (Debian's emscripten 3.1.6; brings Node)
  libhwy-dev                         # Google Highway: SIMD for histogram scans
  libexpected-dev                    # tl::expected: base of omega::Result
  nlohmann-json3-dev                 # JSON rendering of metrics snapshots
  catch2                             # Catch2 v2 tests
  libtbb-dev libboost-dev            # benchmark peers: oneTBB task_group, Boost.Asio thread_pool
  libconcurrentqueue-dev             # benchmark peer: moodycamel::BlockingConcurrentQueue
  libreaderwriterqueue-dev           # benchmark peer: moodycamel::ReaderWriterQueue (SPSC, vs actor channels)
  libcaf-dev                         # benchmark peer: the C++ Actor Framework 0.17 (the seed pipeline in CAF)
  prometheus                         # promtool: omega-pipeline's Prometheus text is checked by the real parser
  chromium                           # headless browser tests (driven by playwright-core)
  libwslay-dev nettle-dev pkg-config # omega-gateway: WebSocket framing; SHA-1/base64 for the handshake
  python3-websockets                 # omega-gateway's end-to-end tests (a real WebSocket client)
  iproute2                           # ip netns / veth pairs: omega-harness and the OVP namespace tests
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm may come from another packaging of Node (whose nodejs conflicts with
# Debian's npm); install Debian's only where the commands are absent.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# playwright-core drives /usr/bin/chromium; it never downloads a browser of its own.
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi
echo "setup: ok"
